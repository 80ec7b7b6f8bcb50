"""The very hidden metadata sheet: which template this is, for whom, and a fingerprint.

The fingerprint is a SHA-256 of the form declaration (layout, field map, formulas and
configuration). The reader rebuilds the form from the stored year and configuration and
compares fingerprints: a mismatch means the workbook came from another template build.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from datetime import datetime, timezone

from typing import TYPE_CHECKING

from pydantic import BaseModel

from xltool import __version__
from xltool.form.model import Form

if TYPE_CHECKING:
    from openpyxl.workbook.workbook import Workbook

META_SHEET = "_xltool_meta"


class TemplateMeta(BaseModel):
    template_id: str
    version: str
    year: int
    unit_name: str = ""
    unit_code: str = ""
    scoring: str = "{}"  # ScoringConfig as JSON
    fingerprint: str = ""
    generated_at: str = ""
    generator: str = ""
    # Rows added later go last, so earlier templates' rows keep their places.
    unit_email: str = ""
    form: str = ""  # the form pack's id (empty: the default form); looked up among registered packs only
    form_version: str = ""
    # The unit's submission code for the bureau's web 报送 (written only when the desk made the
    # template; not part of the fingerprint: the server checks it against its own key).
    submit_code: str = ""


def fingerprint(form: Form, unit_name: str = "", unit_code: str = "", unit_email: str = "") -> str:
    """Hash of everything the template locks: layout, fields, formulas and live checks, and
    the scoring settings and unit the hidden sheet names.

    Every setting the checker relies on is hashed, not only those that show in a formula or
    check. The default settings and a template without a unit keep the hash earlier
    templates stored (they are the form's hash alone), so shipped workbooks stay valid.
    """
    base = _base(form)
    settings = canonical_settings(form.scoring_json)
    identity = [str(unit_name), str(unit_code)] + ([str(unit_email)] if unit_email else [])
    if settings == canonical_settings("{}") and not any(identity):
        return base
    blob = json.dumps([base, settings, *identity], ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def _base(form: Form) -> str:
    """The form's own hash: from the on-disk cache (xltool.form.derived) when this very form,
    code and pack computed it before, otherwise computed (≈50 ms) and kept."""
    from xltool.form import derived

    base = derived.load(form, "fingerprint")
    if not isinstance(base, str):
        base = _fingerprint(form.pack_id, form.template_id, form.version, form.year, form.scoring_json)
        derived.store(form, "fingerprint", base)
    return base


@lru_cache(maxsize=64)
def canonical_settings(scoring_json: str) -> str:
    """The scoring settings as one canonical text (defaults filled in, keys sorted)."""
    from xltool.form.scoring import ScoringConfig

    return json.dumps(ScoringConfig.model_validate_json(scoring_json or "{}").model_dump(mode="json"),
                      ensure_ascii=False, sort_keys=True)


@lru_cache(maxsize=16)
def _fingerprint(form_id: str, template_id: str, version: str, year: int, scoring_json: str) -> str:
    from xltool.form.scoring import ScoringConfig
    from xltool.form.selfeval import build_form

    form = build_form(year, ScoringConfig.model_validate_json(scoring_json), form_id or None)
    from xltool.check.instances import build_checks

    checks = [
        [c.key, c.op, c.lhs.to_excel(lambda i: i), c.rhs.to_excel(lambda i: i), c.tolerance]
        for c in build_checks(form.year, _cfg_of(form), form_id=form.pack_id) if c.rule.live
    ]
    payload = {
        "checks": checks,
        "template": [form.template_id, form.version, form.year],
        "pack": [form.pack_id, form.pack_version],
        "sheets": [s.model_dump(mode="json") for s in form.sheets],
        "fields": [
            [f.id, f.sheet, f.cell, f.kind.value, f.role.value, list(f.choices),
             f.formula.to_excel(lambda i: i) if f.formula is not None else None]
            for f in form.fields
        ],
    }
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def _cfg_of(form: Form):
    from xltool.form.scoring import ScoringConfig

    return ScoringConfig.model_validate_json(form.scoring_json)


def write_meta(wb: Workbook, meta: TemplateMeta) -> None:
    ws = wb.create_sheet(META_SHEET)
    ws.sheet_state = "veryHidden"
    data = meta.model_dump()
    data["generated_at"] = data["generated_at"] or datetime.now(timezone.utc).isoformat(timespec="seconds")
    data["generator"] = data["generator"] or f"xltool {__version__}"
    if not data["submit_code"]:
        del data["submit_code"]  # templates without a code keep the rows they always had
    for row, (key, value) in enumerate(data.items(), start=1):
        ws.cell(row=row, column=1, value=key)
        ws.cell(row=row, column=2, value=str(value)).data_type = "s"


def read_meta(rows: dict[str, object]) -> TemplateMeta:
    return TemplateMeta.model_validate({k: ("" if v is None else v) for k, v in rows.items()})
