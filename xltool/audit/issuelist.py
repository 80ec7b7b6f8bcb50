"""The per-unit 问题清单, written without openpyxl's per-file cost.

``xltool.report.xlsx_list.write_issue_list`` builds the list with openpyxl: about 11 ms per
workbook, most of it fixed cost (a new Workbook, styles, theme, serialisation). A batch
writes hundreds of lists, all alike but for their rows. So the list is made once per process
by ``write_issue_list`` itself from a two-finding sample (a *prototype*): its package, its
styles and the style index of every column are taken from that file, and each unit's list
is the prototype with its own rows (built by the same ``finding_rows``) and title lines
spliced into the sheet XML, cell by cell as openpyxl writes them (inline strings, numbers as
``%.16g``, ``xml:space`` like openpyxl's ``whitespace``). A test compares the result with
``write_issue_list`` cell by cell, styles included.
"""

from __future__ import annotations

from xltool.atomic import write_bytes_atomic

import io
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from xltool.check.finding import CellRef, Finding, Severity, WorkbookReport
from xltool.i18n import _, current_locale
from xltool.report.terminal import coverage_line
from xltool.report.xlsx_list import (DIFFERENCE_COLUMN, FINDING_WIDTHS, NUMBER_FORMATS, finding_rows, header_footer_text,
                                     issue_list_file, issue_list_title, page_numbers, row_height, safe_text)

SHEET_PART = "xl/worksheets/sheet1.xml"
FIRST_ROW = 5  # header row of the findings table, as write_issue_list lays it out
COLUMNS = "ABCDEFGHI"


@dataclass
class _Prototype:
    parts: dict[str, bytes]  # every other part of the package, as written by openpyxl
    order: list[str]
    head: str  # the sheet XML up to and including <sheetData>
    tail: str  # from </sheetData> to the end, autoFilter removed
    title_style: str  # ' s="n"' of A1, or ""
    line_styles: tuple[str, str]  # of A2 and A3
    header_row: str  # the whole header row element
    styles: list[str]  # per column of a data row
    severity_styles: dict[Severity, str]  # column C of an error row and of a warning row
    number_styles: dict[str, str]  # the 差额 column, by the finding's kind (its number format)


_PROTOTYPES: dict[str, _Prototype] = {}


_KINDS = tuple(NUMBER_FORMATS)


def _sample() -> WorkbookReport:
    """An error and a warning finding (rows 6 and 7), then one finding of every other kind: the
    styles of every column, of each severity and of each number format of the 差额."""
    cell = CellRef(field_id="x", sheet="S", cell="A1", label="L", value=1.5)
    kinds = (_KINDS[0],) + _KINDS
    findings = [Finding(code="XT000", severity=Severity.WARNING if n == 1 else Severity.ERROR, message="m", fix="f",
                        cells=[cell], difference=1.5, attribution=["a"], instance=str(n), kind=kind)
                for n, kind in enumerate(kinds)]
    return WorkbookReport(path="sample.xlsx", unit="U", year=2000, findings=findings)


def _cell_style(xml: str, ref: str) -> str:
    m = re.search(rf'<c r="{ref}"([^>]*?)/?>', xml)
    if m is None:
        raise ValueError(f"prototype cell {ref} missing")
    s = re.search(r'\ss="(\d+)"', m.group(1))
    return f' s="{s.group(1)}"' if s else ""


def _prototype() -> _Prototype:
    locale = current_locale()
    if locale in _PROTOTYPES:
        return _PROTOTYPES[locale]
    from xltool.report.xlsx_list import write_issue_list

    with tempfile.TemporaryDirectory() as tmp:
        path = write_issue_list(_sample(), Path(tmp) / "prototype.xlsx")
        with zipfile.ZipFile(path) as zf:
            order = [i.filename for i in zf.infolist()]
            parts = {name: zf.read(name) for name in order}
    xml = parts[SHEET_PART].decode("utf-8")
    start = xml.index("<sheetData>") + len("<sheetData>")
    end = xml.index("</sheetData>")
    header = re.search(rf'<row r="{FIRST_ROW}"[^>]*>.*?</row>', xml[start:end], re.S)
    if header is None:
        raise ValueError("prototype header row missing")
    data_row = FIRST_ROW + 1
    tail = re.sub(r"<autoFilter\b[^>]*/>", "", xml[end:])
    tail = re.sub(r"<headerFooter\b.*?</headerFooter>|<headerFooter\b[^>]*/>", _HEADER_FOOTER, tail, count=1, flags=re.S)
    if _HEADER_FOOTER not in tail:
        raise ValueError("prototype page header missing")
    column = COLUMNS[DIFFERENCE_COLUMN - 1]
    proto = _Prototype(
        parts=parts, order=order, head=xml[:start], tail=tail,
        title_style=_cell_style(xml, "A1"), line_styles=(_cell_style(xml, "A2"), _cell_style(xml, "A3")),
        header_row=header.group(0),
        styles=[_cell_style(xml, f"{col}{data_row}") for col in COLUMNS],
        severity_styles={Severity.ERROR: _cell_style(xml, f"C{data_row}"),
                         Severity.WARNING: _cell_style(xml, f"C{data_row + 1}")},
        number_styles={kind: _cell_style(xml, f"{column}{data_row + 1 + n}") for n, kind in enumerate(_KINDS)},
    )
    _PROTOTYPES[locale] = proto
    return proto


_HEADER_FOOTER = "\x00page-furniture\x00"  # where the prototype's page header and footer were


def _header_footer(report: WorkbookReport) -> str:
    """The <headerFooter> element of *report*'s list, as write_issue_list sets it (page_furniture:
    the title left, the file right, the page numbers centred below), written by hand: openpyxl's
    objects cost more than the rest of the list."""
    header = "&L" + header_footer_text(issue_list_title(report)) + "&R" + header_footer_text(issue_list_file(report))
    return (f"<headerFooter><oddHeader>{escape(header)}</oddHeader>"
            f"<oddFooter>{escape('&C' + page_numbers())}</oddFooter></headerFooter>")


_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")  # openpyxl's ILLEGAL_CHARACTERS_RE


def _cell(ref: str, style: str, value: object) -> str:
    """One <c> as openpyxl's etree writer writes it (write_cell: text is a string cell)."""
    if value is None:
        return f'<c r="{ref}"{style} t="n" />'
    if isinstance(value, bool):
        return f'<c r="{ref}"{style} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        from openpyxl.compat import safe_string

        return f'<c r="{ref}"{style} t="n"><v>{safe_string(value)}</v></c>'
    text = str(safe_text(value)) if isinstance(value, str) else str(value)
    if _ILLEGAL.search(text):
        from openpyxl.utils.exceptions import IllegalCharacterError

        raise IllegalCharacterError(f"{text} cannot be used in worksheets.")
    if text == "":
        return f'<c r="{ref}"{style} t="inlineStr" />'
    stripped = text.strip()
    space = ' xml:space="preserve"' if stripped and text != stripped else ""
    return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'


def issue_list_bytes(report: WorkbookReport) -> bytes:
    """The 问题清单 package of *report*, as write_issue_list would write it."""
    proto = _prototype()
    rows = finding_rows(report)
    lines = [
        f'<row r="1">{_cell("A1", proto.title_style, issue_list_title(report))}</row>',
        f'<row r="2">{_cell("A2", proto.line_styles[0], _("Must fix: {errors}; needs explanation: {warnings}.").format(errors=report.errors, warnings=report.warnings))}</row>',
        f'<row r="3">{_cell("A3", proto.line_styles[1], issue_list_file(report))}</row>',
    ]
    covered = coverage_line(report)
    if covered:
        lines.append(f'<row r="4">{_cell("A4", "", covered)}</row>')
    lines.append(proto.header_row)
    for r, (row, finding) in enumerate(zip(rows, report.findings), start=FIRST_ROW + 1):
        cells = []
        for c, value in enumerate(row):
            style = (proto.severity_styles[finding.severity] if c == 2 else
                     proto.number_styles.get(finding.kind, proto.number_styles["number"]) if c == DIFFERENCE_COLUMN - 1
                     else proto.styles[c])
            cells.append(_cell(f"{COLUMNS[c]}{r}", style, value))
        height = row_height(row, FINDING_WIDTHS)
        lines.append(f'<row r="{r}" ht="{height:g}" customHeight="1">{"".join(cells)}</row>')
    last = FIRST_ROW + len(rows)
    head = re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="A1:I{last}"', proto.head, count=1)
    tail = proto.tail.replace(_HEADER_FOOTER, _header_footer(report), 1)
    if rows:
        tail = tail.replace("</sheetData>", f'</sheetData><autoFilter ref="A{FIRST_ROW}:I{last}" />', 1)
    sheet = (head + "".join(lines) + tail).encode("utf-8")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in proto.order:
            zf.writestr(name, sheet if name == SHEET_PART else proto.parts[name])
    return out.getvalue()


def write_issue_list_fast(report: WorkbookReport, out: Path) -> Path:
    return write_bytes_atomic(Path(out), issue_list_bytes(report))