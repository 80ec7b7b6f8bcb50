"""Scoring and tolerance settings: configuration with stated defaults, never code branches.

Defaults follow the example report (10/40/20/10/20) and the widely deployed 一体化
performance module described in domain.md. A region overrides them with a TOML file
(``--rules-config``); see ``scoring_default.toml`` for every key.

The settings are records (xltool.record): every check holds them, and settings equal to the defaults
(the common case) need no validation. Whatever a file, a pack or a workbook states is validated
by pydantic (``validate_scoring``), which reads these same records and is imported only then.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Union

from xltool.plaindata import plain
from xltool.record import field, fields, record

DEFAULT_FILE = Path(__file__).with_name("scoring_default.toml")

# What the annotations below name. The validator (``_adapter``) replaces the three with the
# pydantic types that also check them (a pattern; a threshold that is a number or false).
Threshold = Union[float, bool, None]  # a threshold a region may turn off: false (in TOML) or None (off)
Method = str
BelowRule = str


def _off_only(value: object) -> object:
    if value is True:
        raise ValueError("a threshold is a number, or false to turn its rule off")
    return value


def _num(value: object) -> object:
    """A whole number given where a float is declared reads as the float (as the validator does)."""
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _pairs(value: Any) -> list:
    return [(_num(a), _num(b)) for a, b in value]


# How each declared type is made uniform when the settings are built in code (validated input
# already is): by the annotation's text, as written below.
_COERCE = {
    "float": _num,
    "Threshold": _num,
    "list[tuple[float, float]]": _pairs,
    "list[tuple[float, str]]": lambda v: [(_num(a), b) for a, b in v],
    "dict[str, tuple[float, float]]": lambda v: {k: (_num(a), _num(b)) for k, (a, b) in v.items()},
}


class _Settings:
    """Coercion, comparison-safe serialisation and the stated keys shared by the settings' tables."""

    __pydantic_config__ = {"extra": "forbid"}  # read by pydantic when it validates the settings

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, dict) and f.type in _TABLES:
                setattr(self, f.name, validate_scoring(value, _TABLES[f.type]))  # e.g. ScoringConfig(caps={...})
            elif f.type in _COERCE:
                setattr(self, f.name, _COERCE[f.type](value))  # type: ignore[operator]
            if f.type == "Threshold":
                _off_only(getattr(self, f.name))

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape (tuples as lists), every key."""
        return {f.name: plain(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    def stated(self) -> dict[str, Any]:
        """The settings that were stated (given to the validator or the constructor), as pydantic's
        ``exclude_unset`` gave them: what a bureau's file overrides and nothing else."""
        given = self.__dict__.get("_stated")
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if given is None:
                if value == f.default or (f.default_factory is not _MISSING and value == f.default_factory()):
                    if not (isinstance(value, _Settings) and value.stated()):
                        continue
            elif f.name not in given:
                continue
            out[f.name] = value.stated() if isinstance(value, _Settings) else plain(value)
        return out

    def stated_json(self) -> str:
        return json.dumps(self.stated(), ensure_ascii=False, separators=(",", ":"))

    def replace(self, **changes: Any):
        """A copy with *changes* (the stated keys: the original's and the changed)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]
        new = type(self)(**{**data, **changes})
        given = self.__dict__.get("_stated")
        if given is not None:
            new._stated = given | set(changes)
        return new


from xltool.record import MISSING as _MISSING  # noqa: E402


@record(frozen=False, kw_only=True)
class Weights(_Settings):
    execution: float = 10.0
    output: float = 40.0
    benefit: float = 20.0
    satisfaction: float = 10.0
    cost: float = 20.0


@record(frozen=False, kw_only=True)
class ExecutionScoring(_Settings):
    """得分 for 预算执行率: ``linear`` = 分值 × 执行率 capped at 分值, or ``thresholds``."""

    method: Method = "linear"
    # (minimum rate, share of the weight), highest first; used when method = thresholds.
    thresholds: list[tuple[float, float]] = field(
        default_factory=lambda: [(1.0, 1.0), (0.9, 0.9), (0.8, 0.8), (0.6, 0.6), (0.0, 0.0)])


@record(frozen=False, kw_only=True)
class IndicatorScoring(_Settings):
    # 定性 bands: share of the weight allowed for each judgement.
    qualitative: dict[str, tuple[float, float]] = field(default_factory=lambda: {
        "达成": (0.8, 1.0),
        "部分达成": (0.6, 0.8),
        "未达成": (0.0, 0.6),
    })
    # Some provinces deduct points when an actual exceeds its target by a wide margin.
    deviation_deduction: float = 0.0
    deviation_threshold: float = 0.3
    # 定性 actual values worded otherwise than the judgements above (read with less certainty).
    judgement_words: dict[str, list[str]] = field(default_factory=lambda: {
        "达成": ["完成", "已完成", "全部完成", "全部达成", "达到", "已达到", "达标", "实现", "已实现", "达成预期指标",
                 "达到预期", "达到预期目标", "效果明显", "效果显著", "合格", "是", "满足", "符合"],
        "部分达成": ["基本达成", "基本完成", "基本实现", "基本达到", "部分完成", "部分实现", "基本满足", "基本合格",
                     "效果一般"],
        "未达成": ["未完成", "未实现", "未达到", "未达标", "不合格", "否", "效果不明显"],
    })


@record(frozen=False, kw_only=True)
class Caps(_Settings):
    """Optional cap of the 总分 by 执行率: (minimum rate, maximum total), highest first."""

    enabled: bool = False
    bands: list[tuple[float, float]] = field(
        default_factory=lambda: [(0.8, 100.0), (0.7, 89.0), (0.6, 79.0), (0.5, 69.0), (0.0, 59.0)])


@record(frozen=False, kw_only=True)
class Plausibility(_Settings):
    """Thresholds of the 需要说明 checks on year-over-year and budget-vs-final changes."""

    change_ratio: float = 0.5
    change_amount: float = 10.0
    income_gap_ratio: float = 0.2


@record(frozen=False, kw_only=True)
class Ratios(_Settings):
    """Thresholds of the 财预〔2013〕53号 附件2 department ratios (XT503–XT509), each recomputed
    from the figures the form holds; a threshold of false (None by default) turns its rule off."""

    staff_control_max: Threshold = None  # XT503 在职人员控制率 (off: XT704 reports 超编)
    sgjf_change_max: Threshold = 0.0  # XT504 三公经费变动率: “三公”经费只减不增
    public_control_max: Threshold = 1.0  # XT505 公用经费控制率 = 决算 ÷ 预算
    procurement_min: Threshold = None  # XT506 政府采购执行率 (off: XT707 reports large gaps)
    carryover_max: Threshold = 0.2  # XT507 结转结余率 (the 一体化 module's yellow warning)
    adjustment_max: Threshold = None  # XT508 预算调整率 |全年 − 年初| ÷ 年初 (no national norm)
    sgjf_control_max: Threshold = None  # XT509 三公经费控制率 (off: XT708 reports each item)


@record(frozen=False, kw_only=True)
class Policy(_Settings):
    """Reviewers' checks from the policy texts (XT612–XT616); see scoring_default.toml."""

    # XT613: indicator score rate − 执行率 above this is 自评得分虚高 (false: off).
    inflation_margin: Threshold = 0.05
    # XT614: grade bands (minimum total score, grade), highest first (财预〔2020〕10号 第十八条).
    grades: list[tuple[float, str]] = field(
        default_factory=lambda: [(90.0, "优"), (80.0, "良"), (60.0, "中"), (0.0, "差")])
    # XT615: the fewest named 三级指标 a table may have (0: off).
    min_indicators: int = 3
    # XT616: a score below what the rule gives (the unit was stricter): "warning" or "error".
    below_rule: BelowRule = "warning"
    ratios: Ratios = field(default_factory=Ratios)


@record(frozen=False, kw_only=True)
class ScoringConfig(_Settings):
    region: str = "默认（示例报告口径）"
    weights: Weights = field(default_factory=Weights)
    execution: ExecutionScoring = field(default_factory=ExecutionScoring)
    indicator: IndicatorScoring = field(default_factory=IndicatorScoring)
    caps: Caps = field(default_factory=Caps)
    plausibility: Plausibility = field(default_factory=Plausibility)
    policy: Policy = field(default_factory=Policy)
    score_tolerance: float = 0.01

    @classmethod
    def from_json(cls, text: str | bytes) -> ScoringConfig:
        """Settings stored as JSON (a template's, a form's, a worker's): validated unless they are
        the defaults, which most are."""
        return validate_scoring(json.loads(text))


_TABLES = {"Weights": Weights, "ExecutionScoring": ExecutionScoring, "IndicatorScoring": IndicatorScoring,
           "Caps": Caps, "Plausibility": Plausibility, "Ratios": Ratios, "Policy": Policy,
           "ScoringConfig": ScoringConfig}

def _states_defaults(data: object, table: _Settings) -> bool:
    """*data* states nothing but *table*'s own values (some of them, or all)."""
    if not isinstance(data, dict):
        return False
    for key, value in data.items():
        if not isinstance(key, str) or key not in table.__record_names__:
            return False
        current = getattr(table, key)
        if isinstance(current, _Settings):
            if not _states_defaults(value, current):
                return False
        elif not _same(value, plain(current)):  # a dict-valued setting is replaced whole, not merged
            return False
    return True


def _same(a: object, b: object) -> bool:
    """*a* (parsed JSON) states exactly *b*: a whole number equals its float, but false is not 0."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


_ADAPTERS: dict[type, Any] = {}


def _adapter(cls: type):
    if cls not in _ADAPTERS:
        from typing import Annotated

        from pydantic import AfterValidator, Field, StrictBool

        from xltool.record import type_adapter

        g = globals()
        g["Threshold"] = Annotated[Union[float, StrictBool, None], AfterValidator(_off_only)]
        g["Method"] = Annotated[str, Field(pattern="^(linear|thresholds)$")]
        g["BelowRule"] = Annotated[str, Field(pattern="^(warning|error)$")]
        _ADAPTERS[cls] = type_adapter(cls)
    return _ADAPTERS[cls]


# pydantic names the same faults of a dataclass (as it reads records) otherwise than of a model; the messages
# (xltool.form.pack, xltool.web.errors) know the models' names.
_AS_MODEL = {"unexpected_keyword_argument": "extra_forbidden", "dataclass_type": "model_type",
             "dataclass_exact_type": "model_type"}


def validate_scoring(data: object, cls: type = ScoringConfig):
    """*data* (a TOML table, parsed JSON) as settings, every value checked (pydantic's
    ValidationError when one is wrong). The stated keys are remembered (see ``stated``)."""
    default = cls()
    if _states_defaults(data, default):  # most settings: the defaults, or a part of them
        _remember(default, data)
        return default
    from pydantic import ValidationError

    try:
        cfg = _adapter(cls).validate_python(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if not any(e["type"] in _AS_MODEL for e in errors):
            raise
        raise ValidationError.from_exception_data(exc.title, [
            {"type": _AS_MODEL.get(e["type"], e["type"]), "loc": e["loc"], "input": e["input"],
             **({"ctx": e["ctx"]} if "ctx" in e else {})} for e in errors]) from None
    _remember(cfg, data)
    return cfg


def _remember(cfg: object, data: object) -> None:
    if isinstance(cfg, _Settings) and isinstance(data, dict):
        cfg._stated = set(data)  # type: ignore[attr-defined]
        for key, value in data.items():
            _remember(getattr(cfg, key, None), value)


def load_scoring(path: Path | None = None, base: ScoringConfig | None = None) -> ScoringConfig:
    """*base* (the defaults when None), overridden key by key by the TOML file at *path*."""
    base = base or ScoringConfig()
    if path is None:
        return base
    with Path(path).open("rb") as fh:
        import tomllib

        data = tomllib.load(fh)
    if base == ScoringConfig():
        return validate_scoring(data)
    return validate_scoring(_merge(base.to_dict(), data))


def overlay(base: ScoringConfig, over: ScoringConfig) -> ScoringConfig:
    """*over*'s stated settings (those it was given, e.g. by a bureau's TOML) over *base* (a form
    pack's own rule set); a configuration that states nothing leaves *base* as it is."""
    stated = over.stated()
    if not stated:
        return base
    return validate_scoring(_merge(base.to_dict(), stated))


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def threshold(value: object) -> float | None:
    """A Threshold as a number, or None when the rule is off."""
    return None if value is None or value is False else float(value)  # type: ignore[arg-type]
