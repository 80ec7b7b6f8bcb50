"""The 部门（单位）整体支出绩效自评 form for one year, laid out from its form pack.

The form is data: ``form/packs/example/1.0.toml`` (the default) and the other packs declare
sheets, rows, fields, formulas, lists, the indicator tree and the scoring rule set;
layout.py computes every cell. This module keeps the names the rest of xltool imports
(build_form, the default form's list sizes and indicator tree) so nothing else changes.
"""

from __future__ import annotations

from functools import lru_cache

from xltool.form.declared import Pack
from xltool.form.model import Form
from xltool.form.registry import DEFAULT_FORM, get_pack
from xltool.form.scoring import ScoringConfig


def _default() -> Pack:
    return get_pack(DEFAULT_FORM)


# The default pack's names are read from its data as declared: the pack is shipped (and checked
# by the tests), so reading them needs no validation (pydantic) at start-up.
_DATA = _default().data
_ROWS = [row for sheet in _DATA["sheet"] for row in sheet.get("row", [])]


def _list_rows(name: str) -> int:
    return {row["list"]: row["count"] for row in _ROWS if row.get("list") and row.get("count")}[name]


@lru_cache(maxsize=1)
def _default_form() -> Form:
    return build_form(2023)


TEMPLATE_ID = _default().info("template_id")
VERSION = _default().info("form_version")

PROJECT_ROWS = _list_rows("proj")  # 收支情况 and 项目绩效 project lists
SPECIAL_ROWS = _list_rows("base_zx")  # 附件2 专项资金 rows
BUILDING_ROWS = _list_rows("base_bld")  # 附件2 楼堂馆所 rows
INDICATOR_ROWS = next((row.get("count") or 0 for row in _ROWS if row.get("indicators")), 0)  # 附件3 三级 rows / 二级

_CHOICES = _DATA.get("choices", {})
DIRECTIONS = tuple(_CHOICES["directions"])
QUALITATIVE = tuple(_CHOICES["judgements"])
YES_NO = tuple(_CHOICES["yes_no"])

# 一级 → (weight key, label, [(二级 key, label)])
INDICATOR_TREE: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = tuple(
    (ind["key"], ind["label"], tuple((c[0], c[1]) for c in ind["children"])) for ind in _DATA.get("indicator", []))

# 附件2: rows that state only the final figure (the adjustment happens during the year).
FINAL_ONLY = {"basic_adjust"}
BASE_COLUMNS = (("prev", "B"), ("budget", "C"), ("final", "D"))


def base_column_labels(year: int) -> dict[str, str]:
    return {"prev": f"{year - 1}年决算数", "budget": f"{year}年预算数", "final": f"{year}年决算数"}


def indicator_ids(l1: str, l2: str, j: int) -> dict[str, str]:
    stem = f"eval_{l1}_{l2}_{j}"
    return {k: f"{stem}_{k}" for k in ("name", "dir", "target", "actual", "unit", "weight", "score", "reason")}


def indicator_rows(form: Form | None = None) -> list[tuple[str, str, int]]:
    form = form or _default_form()
    return [(l1, l2, j) for l1, l2, _label, j in form.indicator_places()]


def l1_weight_label(l1: str, cfg: ScoringConfig, form: Form | None = None) -> str:
    form = form or _default_form()
    label = next(lbl for key, lbl, _ in form.tree if key == l1)
    return f"{label}（{getattr(cfg.weights, l1):g}分）"


_FORMS: dict[tuple, Form] = {}


def _build(pack: Pack, year: int, cfg_json: str) -> Form:
    key = (pack.ref, pack.digest, year, cfg_json)
    form = _FORMS.get(key)
    if form is None and year == 2023 and pack.trial is not None and pack.trial.scoring_json == cfg_json:
        form = _FORMS[key] = pack.trial
    if form is None:
        if len(_FORMS) > 32:
            _FORMS.clear()
        from xltool.form import derived

        form = derived.load_form(pack.ref, pack.digest, year, cfg_json)
        if form is None:
            from xltool.form.layout import layout

            form = layout(pack, year, ScoringConfig.from_json(cfg_json))
            derived.store_form(form, pack.ref, pack.digest, year, cfg_json)
        _FORMS[key] = form
    return form


def build_form(year: int, cfg: ScoringConfig | None = None, form: str | Pack | None = None) -> Form:
    """The form for *year* under scoring configuration *cfg* (the pack's own when None);
    *form* is a registered pack id or a loaded Pack (the default form when None)."""
    pack = form if isinstance(form, Pack) else get_pack(form)
    cfg = cfg or default_scoring(pack)
    return _build(pack, year, cfg.to_json())


def default_scoring(form: str | Pack | None = None) -> ScoringConfig:
    """The scoring rule set a pack states (ScoringConfig's stated defaults for the default form)."""
    pack = form if isinstance(form, Pack) else get_pack(form)
    return ScoringConfig() if pack.id == DEFAULT_FORM else pack.scoring


def config_values(cfg: ScoringConfig, form: Form | None = None) -> dict[str, float]:
    """Values of the CONFIG fields the bureau sets in the template (those *form* has)."""
    values = {f"guide_w_{k}": float(v) for k, v in cfg.weights.to_dict().items()}
    if form is not None:
        values = {k: v for k, v in values.items() if k in form.by_id}
    return values
