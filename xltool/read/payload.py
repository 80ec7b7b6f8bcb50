"""Values-only mode: the JSON an xlwings client sends → a neutral ``Book``.

The Office.js, VBA and Office Scripts clients of xlwings (0.37.8, see
``xlwings/pro/_xlremote.py`` and ``xlwings/addin/Remote.bas``) all POST the same shape::

    {"client": "Office.js" | "VBA" | "Microsoft Office Scripts", "version": "0.37.8",
     "book": {"name": "...", "active_sheet_index": 0, "selection": "B5"},
     "names": [{"name", "sheet_index", "address", "book_scope", ...}],
     "sheets": [{"name": "基本情况", "values": [[...], ...],    # A1 .. last used cell
                 "pictures": [], "tables": [], "notes": [{"address": "B5"}]?}]}

Only values travel: no formulas, formats, protection or defined-name targets. Dates come
as ISO strings (``2024-03-31T00:00:00.000Z``; Office.js converts date-formatted cells on
ExcelApi 1.12+, VBA converts its Date values without a time zone) or as plain serial
numbers (older Excel); both end up as the Excel serial the file reader also produces.
Empty cells are ``""`` (Office.js) or ``null`` (VBA).

The very hidden ``_xltool_meta`` sheet is normally part of the payload (Office.js and VBA
list very hidden sheets too). When a client leaves it out, the template is recognised
from its sheet titles, the version printed on 填报说明 and the year (the locked title of
填报说明, else 基本情况's 年度 cell), and an equivalent meta sheet is synthesised so that
``read_book`` runs unchanged. Anything else is reported as not our template.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from openpyxl.utils.cell import get_column_letter

from xltool.i18n import _
from xltool.read.book import Book, CellData, SheetData
from xltool.read.safety import Reason, UnreadableWorkbook

SOURCE = "addin"  # Book.source of a payload that carried the meta sheet
SOURCE_BY_LAYOUT = "addin-layout"  # ... that did not: recognised from the sheets
MAX_CELLS = 2_000_000  # non-empty cells over all sheets; the template holds a few thousand

# Dates as the clients write them: JavaScript's toISOString() (Office.js, Office Scripts)
# and VBA-JSON's ConvertToIso both give "2024-03-31T00:00:00.000Z", in the workbook's own
# clock (no zone conversion happens on the way: the "Z" is decoration). Other ISO-looking
# text, e.g. "2024-03-31T08:00:00+08:00" typed by a user, stays text.
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
_EPOCH = datetime(1899, 12, 30)
_VISIBILITY = {"visible": "visible", "hidden": "hidden", "veryhidden": "veryHidden"}
_LAYOUT_YEAR = 2023


def excel_serial(value: datetime | date) -> int | float:
    """The Excel serial of a date or naive date-time (integral for midnight)."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    days = (value.replace(tzinfo=None) - _EPOCH) / timedelta(days=1)
    return int(days) if days == int(days) else days


def cell_value(value: object) -> object:
    """A payload value as the file reader would see it (None for an empty cell)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        m = _ISO.match(value)
        if m:
            try:
                parsed = datetime.fromisoformat(value[:19])
            except ValueError:
                return value
            return excel_serial(parsed)
        return value
    if isinstance(value, (datetime, date)):  # the classic (COM) path hands over datetimes
        return excel_serial(value)
    return str(value)


def _bad(detail: str) -> UnreadableWorkbook:
    return UnreadableWorkbook(
        Reason.parse_error,
        _("The add-in sent data that xltool cannot read; update the add-in or check the file with check-workbook."),
        detail,
    )


def _sheet(entry: object, budget: list[int], raw_text: bool = False) -> SheetData:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise _bad("sheet entry without a name")
    visibility = str(entry.get("visibility") or "visible").lower()
    sheet = SheetData(title=entry["name"], state=_VISIBILITY.get(visibility, "visible"), protected=None)
    rows = entry.get("values")
    if rows is None:
        return sheet
    if not isinstance(rows, list):
        raise _bad(f"values of {entry['name']!r} is not a list")
    for r, row in enumerate(rows, start=1):
        if not isinstance(row, list):
            raise _bad(f"row {r} of {entry['name']!r} is not a list")
        for c, raw in enumerate(row, start=1):
            value = raw if raw_text and isinstance(raw, str) and raw else cell_value(raw)
            if value is None:
                continue
            budget[0] -= 1
            if budget[0] < 0:
                raise UnreadableWorkbook(
                    Reason.too_many_cells,
                    _("The workbook holds far more cells than the template; check it with check-workbook."),
                    f"more than {MAX_CELLS} non-empty cells",
                )
            sheet.cells[f"{get_column_letter(c)}{r}"] = CellData(value=value)
    return sheet


def book_from_payload(payload: dict) -> Book:
    """Map an xlwings client payload to a values-only Book (no formulas, names, protection)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("sheets"), list):
        raise _bad("payload without a sheets list")
    budget = [MAX_CELLS]
    sheets: dict[str, SheetData] = {}
    from xltool.template.meta import META_SHEET

    for entry in payload["sheets"]:
        # The meta sheet holds text only (its timestamps must stay text).
        sheet = _sheet(entry, budget, raw_text=isinstance(entry, dict) and entry.get("name") == META_SHEET)
        sheets[sheet.title] = sheet
    book = Book(sheets=sheets, names=None, structure_protected=None, source=SOURCE,
                has_formulas=False, has_cached=False)
    if META_SHEET not in sheets or not sheets[META_SHEET].cells:
        sheets[META_SHEET] = _meta_from_layout(sheets)
        book.source = SOURCE_BY_LAYOUT
    return book


# -- recognising the template without its meta sheet --------------------------------

_VERSION_TEXT = re.compile(r"^\s*(\S+)\s+v(\d[\w.]*)\s*$")
# The stamp of a non-default form pack: "xltool-jxzp v1.0 · central-2020 v1.0".
_PACK_STAMP = re.compile(r"^\s*(\S+)\s+v(\d[\w.]*)\s*·\s*([a-z][a-z0-9-]{1,40})\s+v(\d[\w.]*)\s*$")
_TITLE_YEAR = re.compile(r"^\s*(\d{4})\s*年度")


def _year(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and value == int(value):
        year = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        year = int(value.strip())
    else:
        return None
    return year if 2000 <= year <= 2100 else None


def _pack_stamp(guide: SheetData | None) -> str | None:
    """The ``id@version`` a guide sheet's version stamp names (None: the default form's first
    version, whose stamp names no pack)."""
    if guide is None:
        return None
    for cell in guide.cells.values():
        m = _PACK_STAMP.match(cell.value) if isinstance(cell.value, str) else None
        if m:
            return f"{m[3]}@{m[4]}"
    return None


def _meta_from_layout(sheets: dict[str, SheetData]) -> SheetData:
    """A stand-in meta sheet, or NotOurWorkbook with the reason in plain words."""
    from xltool.record import fields

    from xltool.form.scoring import ScoringConfig, Weights
    from xltool.form.selfeval import TEMPLATE_ID, VERSION, build_form
    from xltool.read.reader import NotOurWorkbook
    from xltool.template.meta import META_SHEET, TemplateMeta, meta_rows

    layout = build_form(_LAYOUT_YEAR)  # sheet titles and cells do not depend on the year
    form_id = _pack_stamp(sheets.get(layout.sheet_title("guide"))) or "example@1.0"
    from xltool.form.pack import PackError
    from xltool.form.registry import UnknownForm, get_pack

    try:  # looked up by id and version among the registered packs only
        pack = get_pack(form_id, session=False)
        layout = build_form(_LAYOUT_YEAR, None, pack)
    except UnknownForm as exc:
        raise NotOurWorkbook(str(exc)) from None
    except PackError as exc:
        raise NotOurWorkbook(_("The form pack {ref} of this workbook is not valid here: {problem}").format(
            ref=form_id, problem=str(exc.problems[0]) if exc.problems else "")) from None
    missing = [s.title for s in layout.sheets if s.title not in sheets]
    if missing:
        raise NotOurWorkbook(_(
            "This workbook is not the self-evaluation template sent by the finance bureau "
            "(the sheets {names} are missing). Fill in the template and check again."
        ).format(names="、".join(missing)))
    guide = sheets[layout.sheet_title("guide")]
    template_id, version = TEMPLATE_ID, VERSION
    stamp = next((t for t in layout.sheet("guide").texts if t.text.startswith(TEMPLATE_ID)), None)
    if stamp is not None:
        m = _VERSION_TEXT.match(str(guide.get(stamp.cell).value or "")) or _PACK_STAMP.match(
            str(guide.get(stamp.cell).value or ""))
        if m:
            template_id, version = m[1], m[2]
    if template_id != TEMPLATE_ID:
        raise NotOurWorkbook(_("This workbook is a different template ({found}), not the self-evaluation workbook.").format(
            found=template_id))
    title = layout.sheet("guide").texts[0]
    m = _TITLE_YEAR.match(str(guide.get(title.cell).value or ""))
    info = sheets[layout.sheet_title("info")]
    year = int(m[1]) if m else _year(info.get(layout.field("info_year").cell).value)
    if year is None:
        raise NotOurWorkbook(_(
            "The year of this workbook cannot be found (基本情况, 年度). "
            "Use the template sent by the finance bureau and fill in the year."
        ))
    # The bureau's weights are locked in the template: take them from there.
    weights = {}
    for key in (f.name for f in fields(Weights)):
        f = layout.by_id.get(f"guide_w_{key}")
        value = guide.get(f.cell).value if f else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            weights[key] = float(value)
    default_region = ScoringConfig.from_json(layout.scoring_json).region
    region_text = next((t for t in layout.sheet("guide").texts if t.text == default_region), None)
    cfg = ScoringConfig(weights=Weights(**weights))
    if form_id:  # the pack's own rule set; weights its guide does not show (成本 merged into 产出) keep its value
        from xltool.form.selfeval import default_scoring

        pack_cfg = default_scoring(form_id)
        cfg = pack_cfg.replace(weights=Weights(**{**pack_cfg.weights.to_dict(), **weights}))
    region = guide.get(region_text.cell).value if region_text else None
    if isinstance(region, str) and region.strip():
        cfg = cfg.replace(region=region.strip())
    # The settings were read from the locked cells just now: the stand-in vouches for them.
    rows = meta_rows(TemplateMeta(template_id=template_id, version=version, year=year, scoring=cfg.to_json(),
                                  form=pack.id, form_version=pack.version, form_digest=pack.digest))
    meta = SheetData(title=META_SHEET, state="veryHidden")
    for r, (key, value) in enumerate(rows.items(), start=1):
        meta.cells[f"A{r}"] = CellData(value=key)
        meta.cells[f"B{r}"] = CellData(value=value)
    return meta
