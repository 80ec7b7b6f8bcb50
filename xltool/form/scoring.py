"""Scoring and tolerance settings: configuration with stated defaults, never code branches.

Defaults follow the example report (10/40/20/10/20) and the widely deployed 一体化
performance module described in domain.md. A region overrides them with a TOML file
(``--rules-config``); see ``scoring_default.toml`` for every key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool


def _off_only(value: object) -> object:
    if value is True:
        raise ValueError("a threshold is a number, or false to turn its rule off")
    return value


# A threshold a region may turn off: false (in TOML) or None (the default of a rule that is off).
Threshold = Annotated[float | StrictBool | None, AfterValidator(_off_only)]

DEFAULT_FILE = Path(__file__).with_name("scoring_default.toml")


class Weights(BaseModel):
    model_config = ConfigDict(extra="forbid")

    execution: float = 10
    output: float = 40
    benefit: float = 20
    satisfaction: float = 10
    cost: float = 20


class ExecutionScoring(BaseModel):
    """得分 for 预算执行率: ``linear`` = 分值 × 执行率 capped at 分值, or ``thresholds``."""

    model_config = ConfigDict(extra="forbid")

    method: str = Field("linear", pattern="^(linear|thresholds)$")
    # (minimum rate, share of the weight), highest first; used when method = thresholds.
    thresholds: list[tuple[float, float]] = [(1.0, 1.0), (0.9, 0.9), (0.8, 0.8), (0.6, 0.6), (0.0, 0.0)]


class IndicatorScoring(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # 定性 bands: share of the weight allowed for each judgement.
    qualitative: dict[str, tuple[float, float]] = {
        "达成": (0.8, 1.0),
        "部分达成": (0.6, 0.8),
        "未达成": (0.0, 0.6),
    }
    # Some provinces deduct points when an actual exceeds its target by a wide margin.
    deviation_deduction: float = 0.0
    deviation_threshold: float = 0.3
    # 定性 actual values worded otherwise than the judgements above (read with less certainty).
    judgement_words: dict[str, list[str]] = {
        "达成": ["完成", "已完成", "全部完成", "全部达成", "达到", "已达到", "达标", "实现", "已实现", "达成预期指标",
                 "达到预期", "达到预期目标", "效果明显", "效果显著", "合格", "是", "满足", "符合"],
        "部分达成": ["基本达成", "基本完成", "基本实现", "基本达到", "部分完成", "部分实现", "基本满足", "基本合格",
                     "效果一般"],
        "未达成": ["未完成", "未实现", "未达到", "未达标", "不合格", "否", "效果不明显"],
    }


class Caps(BaseModel):
    """Optional cap of the 总分 by 执行率: (minimum rate, maximum total), highest first."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    bands: list[tuple[float, float]] = [(0.8, 100), (0.7, 89), (0.6, 79), (0.5, 69), (0.0, 59)]


class Plausibility(BaseModel):
    """Thresholds of the 需要说明 checks on year-over-year and budget-vs-final changes."""

    model_config = ConfigDict(extra="forbid")

    change_ratio: float = 0.5
    change_amount: float = 10.0
    income_gap_ratio: float = 0.2


class Ratios(BaseModel):
    """Thresholds of the 财预〔2013〕53号 附件2 department ratios (XT503–XT509), each recomputed
    from the figures the form holds; a threshold of false (None by default) turns its rule off."""

    model_config = ConfigDict(extra="forbid")

    staff_control_max: Threshold = None  # XT503 在职人员控制率 (off: XT704 reports 超编)
    sgjf_change_max: Threshold = 0.0  # XT504 三公经费变动率: “三公”经费只减不增
    public_control_max: Threshold = 1.0  # XT505 公用经费控制率 = 决算 ÷ 预算
    procurement_min: Threshold = None  # XT506 政府采购执行率 (off: XT707 reports large gaps)
    carryover_max: Threshold = 0.2  # XT507 结转结余率 (the 一体化 module's yellow warning)
    adjustment_max: Threshold = None  # XT508 预算调整率 |全年 − 年初| ÷ 年初 (no national norm)
    sgjf_control_max: Threshold = None  # XT509 三公经费控制率 (off: XT708 reports each item)


class Policy(BaseModel):
    """Reviewers' checks from the policy texts (XT612–XT616); see scoring_default.toml."""

    model_config = ConfigDict(extra="forbid")

    # XT613: indicator score rate − 执行率 above this is 自评得分虚高 (false: off).
    inflation_margin: Threshold = 0.05
    # XT614: grade bands (minimum total score, grade), highest first (财预〔2020〕10号 第十八条).
    grades: list[tuple[float, str]] = [(90, "优"), (80, "良"), (60, "中"), (0, "差")]
    # XT615: the fewest named 三级指标 a table may have (0: off).
    min_indicators: int = 3
    # XT616: a score below what the rule gives (the unit was stricter): "warning" or "error".
    below_rule: str = Field("warning", pattern="^(warning|error)$")
    ratios: Ratios = Ratios()


class ScoringConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str = "默认（示例报告口径）"
    weights: Weights = Weights()
    execution: ExecutionScoring = ExecutionScoring()
    indicator: IndicatorScoring = IndicatorScoring()
    caps: Caps = Caps()
    plausibility: Plausibility = Plausibility()
    policy: Policy = Policy()
    score_tolerance: float = 0.01


def load_scoring(path: Path | None = None, base: ScoringConfig | None = None) -> ScoringConfig:
    """*base* (the defaults when None), overridden key by key by the TOML file at *path*."""
    base = base or ScoringConfig()
    if path is None:
        return base
    with Path(path).open("rb") as fh:
        data = tomllib.load(fh)
    if base == ScoringConfig():
        return ScoringConfig.model_validate(data)
    return ScoringConfig.model_validate(_merge(base.model_dump(), data))


def overlay(base: ScoringConfig, over: ScoringConfig) -> ScoringConfig:
    """*over*'s stated settings (those it was given, e.g. by a bureau's TOML) over *base* (a form
    pack's own rule set); a configuration that states nothing leaves *base* as it is."""
    stated = over.model_dump(exclude_unset=True)
    if not stated:
        return base
    return ScoringConfig.model_validate(_merge(base.model_dump(), stated))


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def threshold(value: object) -> float | None:
    """A Threshold as a number, or None when the rule is off."""
    return None if value is None or value is False else float(value)  # type: ignore[arg-type]
