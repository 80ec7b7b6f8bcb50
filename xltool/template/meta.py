"""The very hidden metadata sheet: which template this is, for whom, from which pack version.

Template format 6 (this xltool) seals the sheet with a fingerprint over the rows exactly as
stored: every key and value, in order. A later xltool recomputes it from the sheet alone,
so a genuine template stays genuine forever, and any edit of the sheet (a weight, the unit,
the year, the pack version) breaks it (XT020). ``form_digest`` is the digest of the pack
declaration that laid the template out; the reader compares it with the registered pack of
that id and version, so a pack version edited in place is never used silently.

Formats 1–5 (earlier xltool versions) hashed the layout as their own code produced it;
legacy.py recognises them with the hashes those versions wrote.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from xltool import __version__
from xltool.digests import sha256
from xltool.record import fields, record

if TYPE_CHECKING:
    from openpyxl.workbook.workbook import Workbook

META_SHEET = "_xltool_meta"
FORMAT = 6  # the template format this xltool writes; 1–5 are earlier versions' (legacy.py)


@record(frozen=False, kw_only=True)
class TemplateMeta:
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
    # The unit's submission code for the bureau's web 报送 (a row only when the desk made the
    # template; sealed with the others, and the server checks it against its own key).
    submit_code: str = ""
    format: str = ""  # the template format (empty: 5 or earlier)
    form_digest: str = ""  # of the pack declaration that laid the template out

    @property
    def pack_ref(self) -> str:
        """``id@version`` of the pack that made the template (formats 1–5 of the default form: example@1.0)."""
        return f"{self.form or 'example'}@{self.form_version or '1.0'}"

    @property
    def format_number(self) -> int | None:
        """The format stated (None: none stated, an earlier format; 0: not a number)."""
        if not self.format:
            return None
        return int(self.format) if self.format.isdigit() and len(self.format) < 6 else 0


def seal(rows: dict[str, object]) -> str:
    """The fingerprint of a format-6 meta sheet: every row but the fingerprint's, as stored."""
    items = [[str(k), "" if v is None else str(v)] for k, v in rows.items() if k != "fingerprint"]
    blob = json.dumps(["xltool-meta", FORMAT, items], ensure_ascii=False).encode("utf-8")
    return sha256(blob).hexdigest()


def meta_rows(meta: TemplateMeta) -> dict[str, str]:
    """The rows write_meta stores for *meta*, sealed: key → text, in sheet order."""
    data = {f.name: "" if getattr(meta, f.name) is None else str(getattr(meta, f.name)) for f in fields(meta)}
    data["generated_at"] = data["generated_at"] or datetime.now(timezone.utc).isoformat(timespec="seconds")
    data["generator"] = data["generator"] or f"xltool {__version__}"
    if not data["submit_code"]:
        del data["submit_code"]  # templates without a code keep the rows they always had
    data["format"] = str(FORMAT)
    data["fingerprint"] = seal(data)
    return data


def write_meta(wb: Workbook, meta: TemplateMeta) -> None:
    ws = wb.create_sheet(META_SHEET)
    ws.sheet_state = "veryHidden"
    for row, (key, value) in enumerate(meta_rows(meta).items(), start=1):
        ws.cell(row=row, column=1, value=key)
        ws.cell(row=row, column=2, value=value).data_type = "s"


_NAMES = frozenset(f.name for f in fields(TemplateMeta))
_REQUIRED = ("template_id", "version", "year")


def read_meta(rows: dict[str, object]) -> TemplateMeta:
    """The meta sheet's rows as TemplateMeta (ValueError when they cannot be). Rows as xltool
    writes them (text, a year of digits) are taken directly; anything else is validated by
    pydantic, imported only then, as it always was: the sheet comes with the workbook."""
    data = {k: ("" if v is None else v) for k, v in rows.items() if k in _NAMES}
    year = data.get("year")
    if (all(k in data for k in _REQUIRED) and all(type(v) is str for k, v in data.items() if k != "year")
            and ((type(year) is str and year.isascii() and year.isdigit() and len(year) < 10) or type(year) is int)):
        return TemplateMeta(**{**data, "year": int(year)})  # type: ignore[arg-type]
    from xltool.record import type_adapter

    return type_adapter(TemplateMeta).validate_python(data)
