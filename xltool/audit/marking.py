"""The annotated copy of a returned workbook, written by editing its package directly.

``xltool.report.annotate`` loads and saves the workbook with openpyxl (about half a second
for our template); a batch of a thousand units cannot afford that. This module produces
the same marks (each flagged cell filled red or yellow and given a comment listing its
findings, see ``comments_by_cell``) by copying the original zip and changing only:

* ``xl/styles.xml``: two fills appended, and one cell format per (original format, severity)
  appended to ``cellXfs``, a copy of the original with the new fill;
* each marked worksheet: the ``s`` attribute of the marked cells, and a ``<legacyDrawing>``;
* new parts for the comments and their VML shapes (written by openpyxl's own serialisers),
  with their relationships and content types.

Everything else keeps its original bytes. Anything unexpected (a prefixed namespace, a sheet
that already has comments, a marked cell missing from the XML) falls back to ``annotate``.
The original file is never modified; the copy is written atomically.
"""

from __future__ import annotations

from xltool.atomic import write_bytes_atomic

import io
import posixpath
import re
import struct
import zipfile
import zlib
from pathlib import Path

from xltool.check.finding import Severity, WorkbookReport
from xltool.report.annotate import AUTHOR, comments_by_cell
from xltool.template.styles import FAIL_RGB, WARN_RGB

FILL_RGB = {Severity.ERROR: "00" + FAIL_RGB, Severity.WARNING: "00" + WARN_RGB}
CT_COMMENTS = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"
REL_COMMENTS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments"
REL_VML = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/vmlDrawing"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
# Elements that follow <legacyDrawing> in a worksheet (ECMA-376 CT_Worksheet order).
_AFTER_LEGACY = ("legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems",
                 "tableParts", "extLst")
_AFTER_LEGACY_RE = re.compile(r"<(?:" + "|".join(_AFTER_LEGACY) + r")\b")


class _Unsupported(Exception):
    """The package is not in the shape this editor handles; use openpyxl instead."""


def annotate_fast(original: Path, report: WorkbookReport, out: Path) -> Path:
    """Write the annotated copy of *original* to *out*; same marks as ``annotate``."""
    if Path(out).resolve() == Path(original).resolve():
        raise ValueError("the annotated copy must not overwrite the original")
    data = Path(original).read_bytes()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zin:
            changed = _edit(zin, report)
            package = _repack(data, zin, changed)
    except (_Unsupported, KeyError, ValueError, IndexError, zipfile.BadZipFile, UnicodeDecodeError, struct.error):
        from xltool.report.annotate import annotate

        return annotate(original, report, out)
    _write_atomic(Path(out), package)
    return Path(out)


# -- reading the package --------------------------------------------------------------------

def _attr(tag: str, name: str) -> str | None:
    m = re.search(r"\s" + re.escape(name) + r"\s*=\s*(\"[^\"]*\"|'[^']*')", tag)
    return m.group(1)[1:-1] if m else None


def _rels(zin: zipfile.ZipFile, part: str) -> tuple[str, list[tuple[str, str, str]]]:
    """(rels part name, [(Id, Type, absolute target)])."""
    folder, name = posixpath.split(part)
    rels_part = posixpath.join(folder, "_rels", name + ".rels")
    if rels_part not in zin.namelist():
        return rels_part, []
    xml = zin.read(rels_part).decode("utf-8")
    out = []
    for tag in re.findall(r"<Relationship\b[^>]*>", xml):
        target = _attr(tag, "Target") or ""
        target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out.append((_attr(tag, "Id") or "", _attr(tag, "Type") or "", target))
    return rels_part, out


def _sheet_parts(zin: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title → worksheet part."""
    from html import unescape

    workbook = zin.read("xl/workbook.xml").decode("utf-8")
    if re.search(r"<\w+:workbook\b", workbook):
        raise _Unsupported("prefixed workbook namespace")
    _, rels = _rels(zin, "xl/workbook.xml")
    targets = {rid: target for rid, _type, target in rels}
    out = {}
    for tag in re.findall(r"<sheet\b[^>]*>", workbook):
        rid = next((v for _k, v in re.findall(r"\s([\w.-]+:id)\s*=\s*[\"']([^\"']*)[\"']", tag)), None)
        name = _attr(tag, "name")
        if name is None or rid not in targets:
            raise _Unsupported("a sheet without a resolvable relationship")
        out[unescape(name)] = targets[rid]
    return out


# -- styles -------------------------------------------------------------------------------------

class _Styles:
    def __init__(self, xml: str) -> None:
        if re.search(r"<\w+:styleSheet\b", xml):
            raise _Unsupported("prefixed styles namespace")
        self.xml = xml
        fills = re.search(r"<fills\b[^>]*?(?:/>|>(.*?)</fills>)", xml, re.S)
        xfs = re.search(r"<cellXfs\b[^>]*?(?:/>|>(.*?)</cellXfs>)", xml, re.S)
        if not fills or not xfs:
            raise _Unsupported("no fills or cellXfs")
        self.fill_count = len(re.findall(r"<fill\b", fills.group(1) or ""))
        self.xfs = re.findall(r"<xf\b[^>]*?/>|<xf\b[^>]*?>.*?</xf>", xfs.group(1) or "", re.S)
        self.new_fills: list[str] = []
        self.fill_ids: dict[Severity, int] = {}
        self.new_xfs: list[str] = []
        self.mapped: dict[tuple[int, Severity], int] = {}
        self.bold_font: int | None = None
        self.font_count = 0
        self.new_num_fmts: dict[str, int] = {}  # format code → id, appended to <numFmts>

    def num_fmt_id(self, code: str) -> int:
        """The id of number format *code*: a built-in one, one the workbook declares, or a new one."""
        from openpyxl.styles.numbers import BUILTIN_FORMATS_REVERSE

        if code in BUILTIN_FORMATS_REVERSE:
            return BUILTIN_FORMATS_REVERSE[code]
        if code in self.new_num_fmts:
            return self.new_num_fmts[code]
        from html import unescape

        declared = [(_attr(tag, "numFmtId"), _attr(tag, "formatCode")) for tag in re.findall(r"<numFmt\b[^>]*>", self.xml)]
        for num_id, declared_code in declared:
            if declared_code is not None and num_id is not None and unescape(declared_code) == code:
                return int(num_id)
        used = [int(i) for i, _c in declared if i and i.isdigit()] + list(self.new_num_fmts.values())
        self.new_num_fmts[code] = max([163, *used]) + 1
        return self.new_num_fmts[code]

    def style_for(self, original: int, severity: Severity) -> int:
        key = (original, severity)
        if key not in self.mapped:
            if severity not in self.fill_ids:
                self.fill_ids[severity] = self.fill_count + len(self.new_fills)
                self.new_fills.append(f'<fill><patternFill patternType="solid"><fgColor rgb="{FILL_RGB[severity]}"/>'
                                      f'<bgColor rgb="00000000"/></patternFill></fill>')
            base = self.xfs[original] if 0 <= original < len(self.xfs) else '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            head_end = base.index(">")
            head, rest = base[:head_end], base[head_end:]
            head = re.sub(r'\s(fillId|applyFill)\s*=\s*("[^"]*"|\'[^\']*\')', "", head)
            closing = "/" if head.endswith("/") else ""
            head = head[:-1] if closing else head
            head += f' fillId="{self.fill_ids[severity]}" applyFill="1"' + closing
            self.mapped[key] = len(self.xfs) + len(self.new_xfs)
            self.new_xfs.append(head + rest)
        return self.mapped[key]

    def add_xf(self, *, bold: bool = False, fill_rgb: str | None = None, wrap: bool = False,
               num_fmt: str | None = None) -> int:
        """A new cell style (for the 问题 sheet): optional bold font, solid fill, wrapped top-aligned
        text, number format."""
        font_id = 0
        if bold:
            if self.bold_font is None:
                fonts = re.search(r"<fonts\b[^>]*?(?:/>|>(.*?)</fonts>)", self.xml, re.S)
                if not fonts:
                    raise _Unsupported("no fonts")
                self.font_count = len(re.findall(r"<font\b", fonts.group(1) or ""))
                self.bold_font = self.font_count
            font_id = self.bold_font
        fill_id = 0
        if fill_rgb:
            fill_id = self.fill_count + len(self.new_fills)
            self.new_fills.append(f'<fill><patternFill patternType="solid"><fgColor rgb="00{fill_rgb}"/>'
                                  f'<bgColor rgb="00000000"/></patternFill></fill>')
        num_id = self.num_fmt_id(num_fmt) if num_fmt else 0
        xf = (f'<xf numFmtId="{num_id}" fontId="{font_id}" fillId="{fill_id}" borderId="0" xfId="0"'
              + (' applyNumberFormat="1"' if num_id else "")
              + (' applyFont="1"' if bold else "") + (' applyFill="1"' if fill_rgb else ""))
        xf += ' applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>' if wrap else "/>"
        self.new_xfs.append(xf)
        return len(self.xfs) + len(self.new_xfs) - 1

    def render(self) -> bytes:
        xml = self.xml
        if self.new_num_fmts:
            from xml.sax.saxutils import quoteattr

            formats = [f'<numFmt numFmtId="{i}" formatCode={quoteattr(code)}/>'
                       for code, i in self.new_num_fmts.items()]
            if re.search(r"<numFmts\b", xml):
                count = len(re.findall(r"<numFmt\b", xml)) + len(formats)
                xml = _append_children(xml, "numFmts", formats, count)
            else:  # the first child of <styleSheet>
                start = re.search(r"<styleSheet\b[^>]*>", xml)
                if start is None:
                    raise _Unsupported("no styleSheet")
                xml = (xml[:start.end()] + f'<numFmts count="{len(formats)}">' + "".join(formats) + "</numFmts>"
                       + xml[start.end():])
        if self.bold_font is not None:
            xml = _append_children(xml, "fonts", ['<font><b/><sz val="11"/><name val="Calibri"/></font>'],
                                   self.font_count + 1)
        if self.new_fills:
            xml = _append_children(xml, "fills", self.new_fills, self.fill_count + len(self.new_fills))
        if self.new_xfs:
            xml = _append_children(xml, "cellXfs", self.new_xfs, len(self.xfs) + len(self.new_xfs))
        return xml.encode("utf-8")


def _append_children(xml: str, tag: str, children: list[str], count: int) -> str:
    m = re.search(rf"<{tag}\b([^>]*?)(/?)>", xml)
    assert m is not None
    attrs = re.sub(r'\scount\s*=\s*("[^"]*"|\'[^\']*\')', "", m.group(1)) + f' count="{count}"'
    if m.group(2):  # <fills/> — empty
        return xml[:m.start()] + f"<{tag}{attrs}>" + "".join(children) + f"</{tag}>" + xml[m.end():]
    close = xml.index(f"</{tag}>", m.end())
    return xml[:m.start()] + f"<{tag}{attrs}>" + xml[m.end():close] + "".join(children) + xml[close:]


# -- worksheets ------------------------------------------------------------------------------------

_CELL_RE = r'<c\b[^>]*?\sr\s*=\s*["\']{ref}["\'][^>]*?(/?)>'


def _cells_in_merges(xml: str) -> set[str]:
    """Cells inside merged ranges other than the top-left one (openpyxl's MergedCell)."""
    from openpyxl.utils.cell import range_boundaries, get_column_letter

    out = set()
    for ref in re.findall(r"<mergeCell\b[^>]*?\sref\s*=\s*[\"']([^\"']+)[\"']", xml):
        try:
            min_col, min_row, max_col, max_row = range_boundaries(ref)
        except ValueError:
            continue
        if (max_col - min_col + 1) * (max_row - min_row + 1) > 10_000:
            raise _Unsupported("huge merged range")
        for row in range(min_row, max_row + 1):
            for col in range(min_col, max_col + 1):
                if (row, col) != (min_row, min_col):
                    out.add(f"{get_column_letter(col)}{row}")
    return out


def _restyle(xml: str, ref: str, styles: _Styles, severity: Severity) -> str:
    m = re.search(_CELL_RE.format(ref=re.escape(ref)), xml)
    if m is None:
        raise _Unsupported(f"cell {ref} not in the sheet XML")
    tag = m.group(0)
    original = int(_attr(tag, "s") or 0)
    new = styles.style_for(original, severity)
    if _attr(tag, "s") is not None:
        tag = re.sub(r'(\ss\s*=\s*)("[^"]*"|\'[^\']*\')', rf'\1"{new}"', tag, count=1)
    else:
        tag = tag.replace("<c", f'<c s="{new}"', 1)
    return xml[:m.start()] + tag + xml[m.end():]


def _add_legacy_drawing(xml: str, rid: str) -> str:
    if re.search(r"<legacyDrawing\b", xml):
        raise _Unsupported("sheet already has comments or VML")
    element = f'<legacyDrawing xmlns:r="{NS_R}" r:id="{rid}"/>'
    # The place is before the first child of <worksheet> that follows legacyDrawing in
    # CT_Worksheet order. Only children of <worksheet> count: Excel nests <extLst> in a
    # data-bar <cfRule> and wraps <controls> in <mc:AlternateContent>.
    start = xml.rfind("</sheetData>")
    if start < 0:
        start = xml.find("<sheetData")
        if start < 0:
            raise _Unsupported("no sheetData")
    for name, position, inner in _children(xml, start):
        if name in _AFTER_LEGACY or (name == "AlternateContent" and inner in _AFTER_LEGACY):
            return xml[:position] + element + xml[position:]
    end = xml.rindex("</worksheet>")
    return xml[:end] + element + xml[end:]


_TAG_RE = re.compile(r"<!--.*?-->|<\?.*?\?>|<!\[CDATA\[.*?\]\]>|<(/?)(?:[\w.-]+:)?([\w.-]+)\b[^>]*?(/?)>", re.S)


def _children(xml: str, start: int):
    """(local name, position, local name of its first element child) of each element at the
    depth of the tag found at *start* or after it (the children of <worksheet>)."""
    depth, current = 0, None
    for m in _TAG_RE.finditer(xml, start):
        closing, name, empty = m.group(1), m.group(2), m.group(3)
        if name is None:  # comment, processing instruction, CDATA
            continue
        if closing:
            depth -= 1
            if depth < 0:  # </worksheet> (or </sheetData> when start points at it)
                if name == "worksheet":
                    if current is not None:
                        yield current
                    return
                depth = 0
            continue
        if depth == 0:
            if current is not None:
                yield current
            current = [name, m.start(), None]
        elif depth == 1 and current is not None and current[0] == "AlternateContent" and current[2] is None:
            pass  # mc:Choice / mc:Fallback: look one level further down
        elif depth == 2 and current is not None and current[2] is None:
            current[2] = name
        if not empty:
            depth += 1
    if current is not None:
        yield current


def _comment_parts(marks: list[tuple[str, Severity, list[str]]]) -> tuple[bytes, bytes]:
    from openpyxl.comments.comment_sheet import CommentRecord, CommentSheet
    from openpyxl.xml.functions import tostring

    records = []
    for ref, _severity, lines in marks:
        record = CommentRecord(ref=ref, author=AUTHOR, width=420, height=min(600, 60 + 40 * len(lines)))
        record.text.t = "\n".join(lines)[:2000]
        records.append(record)
    sheet = CommentSheet.from_comments(records)
    return tostring(sheet.to_tree()), sheet.write_shapes(None)


# -- the edit -----------------------------------------------------------------------------------------

def _edit(zin: zipfile.ZipFile, report: WorkbookReport) -> dict[str, bytes]:
    """New or changed parts by name."""
    names = set(zin.namelist())
    sheets = _sheet_parts(zin)
    styles = _Styles(zin.read("xl/styles.xml").decode("utf-8"))
    by_sheet: dict[str, list[tuple[str, Severity, list[str]]]] = {}
    for (sheet, cell), (severity, lines) in comments_by_cell(report).items():
        if sheet in sheets:
            by_sheet.setdefault(sheet, []).append((cell, severity, lines))
    changed: dict[str, bytes] = {}
    content_types = zin.read("[Content_Types].xml").decode("utf-8")
    n = 0
    for title, marks in by_sheet.items():
        part = sheets[title]
        xml = zin.read(part).decode("utf-8")
        if re.search(r"<\w+:worksheet\b", xml):
            raise _Unsupported("prefixed worksheet namespace")
        merged = _cells_in_merges(xml)
        marks = [m for m in marks if m[0] not in merged]
        if not marks:
            continue
        for ref, severity, _lines in marks:
            xml = _restyle(xml, ref, styles, severity)
        while True:
            n += 1
            comments_part, vml_part = f"xl/comments/comment_xltool{n}.xml", f"xl/drawings/commentsDrawing_xltool{n}.vml"
            if comments_part not in names and vml_part not in names:
                break
        rels_part, rels = _rels(zin, part)
        if any(t.endswith("/comments") for _id, t, _target in rels):
            raise _Unsupported("sheet already has comments")
        ids = {rid for rid, _t, _target in rels}
        rid_comments = next(f"rIdXlt{k}" for k in range(1, 10_000) if f"rIdXlt{k}" not in ids)
        ids.add(rid_comments)
        rid_vml = next(f"rIdXlt{k}" for k in range(1, 10_000) if f"rIdXlt{k}" not in ids)
        new_rels = (f'<Relationship Id="{rid_comments}" Type="{REL_COMMENTS}" Target="/{comments_part}"/>'
                    f'<Relationship Id="{rid_vml}" Type="{REL_VML}" Target="/{vml_part}"/>')
        if rels_part in names:
            rels_xml = zin.read(rels_part).decode("utf-8")
            end = rels_xml.rindex("</Relationships>")
            rels_xml = rels_xml[:end] + new_rels + rels_xml[end:]
        else:
            rels_xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                        + new_rels + "</Relationships>")
        changed[rels_part] = rels_xml.encode("utf-8")
        changed[part] = _add_legacy_drawing(xml, rid_vml).encode("utf-8")
        changed[comments_part], changed[vml_part] = _comment_parts(marks)
        override = f'<Override PartName="/{comments_part}" ContentType="{CT_COMMENTS}"/>'
        end = content_types.rindex("</Types>")
        content_types = content_types[:end] + override + content_types[end:]
    if report.findings:
        content_types = _add_issues_sheet(zin, report, styles, changed, content_types)
    if 'Extension="vml"' not in content_types and "Extension='vml'" not in content_types and any(
            name.endswith(".vml") for name in changed):
        m = re.search(r"<Types\b[^>]*>", content_types)
        assert m is not None
        content_types = (content_types[:m.end()] + f'<Default Extension="vml" ContentType="{CT_VML}"/>'
                         + content_types[m.end():])
    if changed:
        changed["[Content_Types].xml"] = content_types.encode("utf-8")
        changed["xl/styles.xml"] = styles.render()
    return changed


CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
REL_SHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _add_issues_sheet(zin: zipfile.ZipFile, report: WorkbookReport, styles: _Styles, changed: dict[str, bytes],
                      content_types: str) -> str:
    """The printable 问题 sheet report.annotate adds, written as XML: same cells, same page setup."""
    from openpyxl.utils import get_column_letter

    from xltool.audit.issuelist import _cell, _header_footer
    from xltool.report.annotate import ISSUES_SHEET
    from xltool.report.xlsx_list import (COUNT_FORMAT, DIFFERENCE_COLUMN, FINDING_HEADERS, FINDING_WIDTHS, HEADER_FILL,
                                         SEVERITY_FILL, finding_rows, number_format, row_height)

    part = "xl/worksheets/sheet_xltool_issues.xml"
    workbook = changed.get("xl/workbook.xml", zin.read("xl/workbook.xml")).decode("utf-8")
    if part in zin.namelist() or f'name="{ISSUES_SHEET}"' in workbook:
        raise _Unsupported("the workbook already has a 问题 sheet")
    head = f' s="{styles.add_xf(bold=True, fill_rgb=HEADER_FILL.fgColor.rgb[-6:])}"'
    body = f' s="{styles.add_xf(wrap=True)}"'
    count = f' s="{styles.add_xf(wrap=True, num_fmt=COUNT_FORMAT)}"'  # the 序号
    severity = {s: f' s="{styles.add_xf(wrap=True, fill_rgb=fill.fgColor.rgb[-6:])}"' for s, fill in SEVERITY_FILL.items()}
    numbers: dict[str, str] = {}  # the 差额's style by its number format
    rows = finding_rows(report)
    cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(FINDING_WIDTHS, 1))
    lines = ['<row r="1">' + "".join(_cell(f"{get_column_letter(c)}1", head, h)
                                     for c, h in enumerate(FINDING_HEADERS, 1)) + "</row>"]
    for r, (row, finding) in enumerate(zip(rows, report.findings), start=2):
        code = number_format(finding.kind)
        if code not in numbers:
            numbers[code] = f' s="{styles.add_xf(wrap=True, num_fmt=code)}"'
        cells = "".join(_cell(f"{get_column_letter(c)}{r}", severity[finding.severity] if c == 3 else
                              numbers[code] if c == DIFFERENCE_COLUMN else count if c == 1 else body, v)
                        for c, v in enumerate(row, 1))
        lines.append(f'<row r="{r}" ht="{row_height(row, FINDING_WIDTHS):g}" customHeight="1">{cells}</row>')
    last = get_column_letter(len(FINDING_HEADERS))
    sheet = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_R}">'
             '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
             f'<dimension ref="A1:{last}{len(rows) + 1}"/>'
             '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
             'state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
             f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>{"".join(lines)}</sheetData>'
             '<sheetProtection sheet="1" autoFilter="0"/>'
             '<pageMargins left="0.4" right="0.4" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
             '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
             f'{_header_footer(report)}</worksheet>')
    changed[part] = sheet.encode("utf-8")
    # The workbook: a last <sheet>, its relationship, and the header row repeated on every printed page.
    rels_part, rels = _rels(zin, "xl/workbook.xml")
    ids = {rid for rid, _t, _target in rels}
    rid = next(f"rIdXltS{k}" for k in range(1, 10_000) if f"rIdXltS{k}" not in ids)
    rels_xml = changed.get(rels_part, zin.read(rels_part)).decode("utf-8")
    end = rels_xml.rindex("</Relationships>")
    changed[rels_part] = (rels_xml[:end] + f'<Relationship Id="{rid}" Type="{REL_SHEET}" Target="/{part}"/>'
                          + rels_xml[end:]).encode("utf-8")
    sheet_ids = [int(v) for v in re.findall(r'<sheet\b[^>]*?\ssheetId="(\d+)"', workbook)]
    index = len(re.findall(r"<sheet\b", workbook))
    end = workbook.index("</sheets>")
    workbook = (workbook[:end] + f'<sheet xmlns:r="{NS_R}" name="{ISSUES_SHEET}" sheetId="{max(sheet_ids, default=0) + 1}" '
                f'r:id="{rid}"/>' + workbook[end:])
    titles = f'<definedName name="_xlnm.Print_Titles" localSheetId="{index}">\'{ISSUES_SHEET}\'!$1:$1</definedName>'
    if "</definedNames>" in workbook:
        end = workbook.index("</definedNames>")
        workbook = workbook[:end] + titles + workbook[end:]
    else:
        end = workbook.index("</sheets>") + len("</sheets>")
        workbook = workbook[:end] + f"<definedNames>{titles}</definedNames>" + workbook[end:]
    changed["xl/workbook.xml"] = workbook.encode("utf-8")
    end = content_types.rindex("</Types>")
    return content_types[:end] + f'<Override PartName="/{part}" ContentType="{CT_SHEET}"/>' + content_types[end:]


def _repack(data: bytes, zin: zipfile.ZipFile, changed: dict[str, bytes]) -> bytes:
    """The package with *changed* parts replaced or added. Unchanged parts are copied with
    their compressed bytes as they are (no inflate/deflate round trip: the 审核 sheet alone
    is over half a megabyte of XML)."""
    entries: list[tuple[str, int, int, int, int, bytes]] = []  # name, method, crc, size, flags, payload
    for info in zin.infolist():
        if info.flag_bits & 0x1 or info.file_size >= 0xFFFFFFFF or info.compress_size >= 0xFFFFFFFF:
            raise _Unsupported("encrypted or zip64 member")
        if info.filename in changed:
            continue
        offset = info.header_offset
        signature, *_fields, name_len, extra_len = struct.unpack_from("<4sHHHHHIIIHH", data, offset)
        if signature != b"PK\x03\x04":
            raise _Unsupported("bad local header")
        start = offset + 30 + name_len + extra_len
        payload = data[start:start + info.compress_size]
        if len(payload) != info.compress_size:
            raise _Unsupported("truncated member")
        entries.append((info.filename, info.compress_type, info.CRC, info.file_size, 0, payload))
    for name, content in changed.items():
        packer = zlib.compressobj(1, zlib.DEFLATED, -15)  # level 1: a few percent larger, three times faster
        entries.append((name, zipfile.ZIP_DEFLATED, zlib.crc32(content), len(content), 0,
                        packer.compress(content) + packer.flush()))
    local, central = bytearray(), bytearray()
    dos_time, dos_date = 0, (1 << 5) | 1  # 1980-01-01 00:00
    for name, method, crc, size, _flags, payload in entries:
        raw_name = name.encode("utf-8")
        flags = 0x800 if not name.isascii() else 0
        offset = len(local)
        local += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, method, dos_time, dos_date, crc,
                             len(payload), size, len(raw_name), 0) + raw_name + payload
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, flags, method, dos_time, dos_date, crc,
                               len(payload), size, len(raw_name), 0, 0, 0, 0, 0, offset) + raw_name
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), len(local), 0)
    return bytes(local + central + end)


def _write_atomic(out: Path, package: bytes) -> None:
    write_bytes_atomic(out, package)