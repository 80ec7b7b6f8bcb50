"""Form → locked openpyxl workbook: layout, styles, formulas, validation, names, protection."""

from __future__ import annotations

import os
from pathlib import Path

from openpyxl import Workbook
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

from xltool.atomic import write_atomic
from xltool.form.cells import CellMap, absolute, quote_sheet
from xltool.form.model import Form, Role
from xltool.form.scoring import ScoringConfig
from xltool.form.selfeval import build_form, config_values
from xltool.template import styles
from xltool.template.cellvalue import put
from xltool.template.meta import TemplateMeta, write_meta
from xltool.template.protection import protect_sheet, protect_workbook
from xltool.template.splice import xml_safe
from xltool.template.validation import add_validations

DEFAULT_PASSWORD = "xltool"
LISTS_SHEET = "_xltool_lists"


def template_password(password: str | None = None) -> str:
    """The sheet protection password: given, else $XLTOOL_PASSWORD, else the default."""
    return password or os.environ.get("XLTOOL_PASSWORD") or DEFAULT_PASSWORD


def _layout(ws: Worksheet, form: Form, key: str) -> None:
    sheet = form.sheet(key)
    for col, width in sheet.col_widths.items():
        ws.column_dimensions[col].width = width
    for text in sheet.texts:
        cell = ws[text.cell]
        put(cell, text.text)  # a pack's text that starts with "=" stays text, never a formula
        cell.font = styles.text_font(text.style)
        cell.alignment = styles.text_alignment(text.style, text.indent)
        if text.style is styles.Style.HEADER:
            cell.fill = styles.HEADER_FILL
        if text.style is not styles.Style.TITLE and text.style is not styles.Style.NOTE:
            cell.border = styles.BORDER
        if text.merge_to:
            ws.merge_cells(f"{text.cell}:{text.merge_to}")
    for rng in sheet.merges:
        ws.merge_cells(rng)
    for row, height in sheet.tall_rows.items():
        ws.row_dimensions[row].height = height
    for text in sheet.texts:
        _fit(ws, text)
    if sheet.freeze:
        ws.freeze_panes = sheet.freeze
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if sheet.landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    if sheet.print_title_rows:
        ws.print_title_rows = sheet.print_title_rows


LINE_HEIGHT = 13.5  # points per line of 10 pt 宋体
DEFAULT_WIDTH = 8.43


def _fit(ws: Worksheet, text) -> None:
    """Headers and labels break where a reader expects, and their rows are tall enough.

    Spreadsheets break Chinese at any character (``（万元⏎）``, ``填表人⏎：``) and do not
    grow a generated row for wrapped text (项目绩效's header overlapped its neighbours). A label
    slightly too wide shrinks to one line; a longer one gets explicit line breaks (the reader
    compares labels without whitespace) and its row the height those lines need.
    """
    from openpyxl.styles import Alignment
    from openpyxl.utils.cell import range_boundaries

    from xltool.linebreak import break_lines, cells

    if text.style in (styles.Style.TITLE, styles.Style.NOTE) or not text.text:
        return
    min_col, min_row, max_col, max_row = range_boundaries(f"{text.cell}:{text.merge_to or text.cell}")
    from openpyxl.utils import get_column_letter

    width = sum(ws.column_dimensions[get_column_letter(c)].width or DEFAULT_WIDTH
                for c in range(min_col, max_col + 1)) - 1
    need = cells(text.text)
    if need <= width:
        return
    cell = ws[text.cell]
    rows = max_row - min_row + 1
    if rows == 1 and need <= width * 1.35 and "\n" not in text.text:
        cell.alignment = Alignment(horizontal=cell.alignment.horizontal, vertical="center", shrink_to_fit=True,
                                   indent=cell.alignment.indent)
        return
    lines = break_lines(text.text, width)
    put(cell, "\n".join(lines))
    cell.alignment = Alignment(horizontal=cell.alignment.horizontal, vertical="center", wrap_text=True,
                               indent=cell.alignment.indent)
    available = sum((ws.row_dimensions[r].height or 15.0) for r in range(min_row, max_row + 1))
    needed = len(lines) * LINE_HEIGHT + 4
    if needed > available:
        extra = (needed - available) / rows
        for r in range(min_row, max_row + 1):
            ws.row_dimensions[r].height = round((ws.row_dimensions[r].height or 15.0) + extra, 1)


def _fields(ws: Worksheet, form: Form, key: str, cells: CellMap, values: dict[str, object]) -> None:
    for field in form.fields:
        if field.sheet != key:
            continue
        cell = ws[field.cell]
        if field.role is Role.DERIVED:
            cell.value = cells.formula(field)
        elif field.id in values:
            put(cell, values[field.id])  # a unit named "=…" stays text
        cell.number_format = styles.NUMBER_FORMATS[field.kind]
        cell.fill = styles.field_fill(field)
        cell.font = styles.text_font(styles.Style.LABEL)
        cell.alignment = styles.field_alignment(field)
        cell.border = styles.BORDER
        locked = field.role is not Role.INPUT or (field.bureau_fill and field.id in values)
        cell.protection = styles.LOCKED if locked else styles.UNLOCKED


def _legend(ws: Worksheet) -> None:
    """Colour samples beside the legend labels of 填报说明."""
    for row, fill in ((12, styles.INPUT_FILL), (13, styles.DERIVED_FILL), (14, styles.FAIL_FILL)):
        ws[f"B{row}"].fill = fill
        ws[f"B{row}"].border = styles.BORDER


class _Lists:
    """Long validation lists live as ranges on a hidden sheet (inline lists cap at 255)."""

    def __init__(self, wb: Workbook) -> None:
        self.wb = wb
        self.ws: Worksheet | None = None
        self.column = 0

    def __call__(self, choices: tuple[str, ...]) -> str:
        if self.ws is None:
            self.ws = self.wb.create_sheet(LISTS_SHEET)
            self.ws.sheet_state = "hidden"
        self.column += 1
        for row, choice in enumerate(choices, start=1):
            put(self.ws.cell(row=row, column=self.column), choice)
        from openpyxl.utils import get_column_letter

        col = get_column_letter(self.column)
        return f"{quote_sheet(LISTS_SHEET)}!${col}$1:${col}${len(choices)}"


def build_workbook(
    year: int,
    *,
    cfg: ScoringConfig | None = None,
    unit_name: str = "",
    unit_code: str = "",
    unit_email: str = "",
    password: str | None = None,
    form_id: str | None = None,
    submit_code: str = "",
) -> Workbook:
    """The blank (or unit-personalised) locked template of the form pack *form_id* (the
    default form when None) as an openpyxl Workbook. *submit_code*: the unit's code for the
    web 报送, kept in the hidden identification sheet."""
    from xltool.form.selfeval import default_scoring

    cfg = cfg or default_scoring(form_id)
    form = build_form(year, cfg, form_id)
    cells = CellMap(form)
    unit_name, unit_code, unit_email = (xml_safe(t or "") for t in (unit_name, unit_code, unit_email))
    values: dict[str, object] = {**config_values(cfg, form), "info_year": year}
    for fid, value in (("info_unit_name", unit_name), ("info_unit_code", unit_code), ("info_email", unit_email)):
        if value:
            values[fid] = value

    wb = Workbook()
    wb.remove(wb.active)
    lists = _Lists(wb)
    secret = template_password(password)
    for sheet in form.sheets:
        ws = wb.create_sheet(sheet.title)
        _layout(ws, form, sheet.key)
        _fields(ws, form, sheet.key, cells, values)
        add_validations(ws, (f for f in form.fields if f.sheet == sheet.key and f.is_input), lists)
        if sheet.key == "guide":
            _legend(ws)
    from xltool.template.audit_sheet import AUDIT_SHEET, add_audit_sheet

    add_audit_sheet(wb, form, cells, cfg, prefilled=frozenset(values))
    # Printing the workbook prints the forms; of the 审核 sheet only its counts, not hundreds of formula rows.
    wb[AUDIT_SHEET].print_area = "A1:I3"
    for field in form.fields:
        # Workbook-level names equal to the field ids, so formulas and tools can say B_x.
        ref = f"{quote_sheet(form.sheet_title(field.sheet))}!{absolute(field.cell)}"
        wb.defined_names[field.id] = DefinedName(field.id, attr_text=ref)
    write_meta(wb, template_meta(form, cfg, unit_name, unit_code, unit_email, submit_code))
    wb.properties.title = document_title(form, unit_name)
    for ws in wb.worksheets:
        protect_sheet(ws, secret)
    protect_workbook(wb, secret)
    wb.active = 0
    return wb


def template_meta(form: Form, cfg: ScoringConfig, unit_name: str = "", unit_code: str = "", unit_email: str = "",
                  submit_code: str = "", generated_at: str = "") -> TemplateMeta:
    """What the hidden identification sheet of a template of *form* for this unit says."""
    return TemplateMeta(
        template_id=form.template_id,
        version=form.version,
        year=form.year,
        unit_name=unit_name,
        unit_code=unit_code,
        scoring=cfg.to_json(),
        generated_at=generated_at,
        form=form.pack_id,
        form_version=form.pack_version,
        form_digest=form.pack_digest,
        unit_email=unit_email,
        submit_code=xml_safe(submit_code or ""),
    )


def document_title(form: Form, unit_name: str = "") -> str:
    """The document title (file properties) of a template: the year, the form and the unit."""
    from xltool.i18n import _

    title = _("{form} ({year})").format(year=form.year, form=form.pack_name or form.template_id)
    return f"{title} — {unit_name}" if unit_name else title


def save_atomic(wb: Workbook, out: Path) -> Path:
    """Save *wb* to *out* atomically (a temporary file beside it, then a rename)."""
    return write_atomic(out, wb.save)

def write_template(out: Path, year: int, **kw: object) -> Path:
    return save_atomic(build_workbook(year, **kw), out)
