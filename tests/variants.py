"""Valid variants of a filled workbook, written the way Excel, WPS and LibreOffice (and other
OOXML writers) write the same content, and tampering mutants of its locked parts.

Each variant or mutant is a function from the package's parts (name → bytes) to the edited
parts. ``VARIANTS`` must read exactly as the original does (the differential test holds the
fast reader, openpyxl and LibreOffice to that); ``TAMPER`` must each raise a must-fix
integrity finding (or be refused as unreadable), never pass silently. Both lists are plain
data so that a fuzz campaign can draw from them.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

Parts = dict[str, bytes]
MAIN = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SST_CT = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SST_REL = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


def read_parts(path: Path) -> Parts:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i.filename) for i in zf.infolist()}


def write_parts(parts: Parts, path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def worksheets(parts: Parts) -> list[str]:
    return sorted(n for n in parts if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))


def sheet_of(parts: Parts, title: str) -> str:
    """The worksheet part of the tab *title* (the template writes them in tab order)."""
    wb = parts["xl/workbook.xml"].decode()
    titles = re.findall(r'<sheet\b[^>]*?\sname="([^"]*)"', wb)
    return f"xl/worksheets/sheet{titles.index(title) + 1}.xml"


def _each_sheet(parts: Parts, edit: Callable[[bytes], bytes], *, audit: bool = True) -> Parts:
    out = dict(parts)
    audit_part = sheet_of(parts, "审核")
    for name in worksheets(parts):
        if audit or name != audit_part:
            out[name] = edit(parts[name])
    return out


_INLINE = re.compile(rb'<c ([^>]*?)t="inlineStr"([^>]*?)>(?:<is>(.*?)</is>)?</c>|<c ([^>]*?)t="inlineStr"([^>]*?)/>', re.S)


def _si_items(parts: Parts, wrap: Callable[[bytes], bytes]) -> Parts:
    """Inline strings moved into a shared string table, as Excel and LibreOffice keep them;
    *wrap* turns an <is> body into the <si> body."""
    table: list[bytes] = []
    index: dict[bytes, int] = {}

    def to_shared(m: re.Match) -> bytes:
        if m[4] is not None or m[3] is None:  # an empty inline string: Excel writes no value
            head = (m[4] or m[1] or b"") + (m[5] or m[2] or b"")
            return b"<c " + head.rstrip() + b"/>"
        body = wrap(m[3])
        if body not in index:
            index[body] = len(table)
            table.append(body)
        return b"<c " + (m[1] + m[2]).rstrip() + b' t="s"><v>' + str(index[body]).encode() + b"</v></c>"

    out = _each_sheet(parts, lambda x: _INLINE.sub(to_shared, x))
    sst = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<sst xmlns="' + MAIN + b'" count="'
           + str(len(table)).encode() + b'" uniqueCount="' + str(len(table)).encode() + b'">'
           + b"".join(b"<si>" + body + b"</si>" for body in table) + b"</sst>")
    out["xl/sharedStrings.xml"] = sst
    out["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="' + SST_CT + b'"/></Types>')
    out["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rIdSst" Type="' + SST_REL + b'" Target="sharedStrings.xml"/></Relationships>')
    return out


def _text_of(body: bytes) -> bytes:
    return b"".join(re.findall(rb"<t[^>]*>(.*?)</t>", body, re.S))


def _split_runs(body: bytes) -> bytes:
    from html import unescape

    text = unescape(_text_of(body).decode())
    if len(text) < 2:
        return body
    half = len(text) // 2
    a, b = escape(text[:half]), escape(text[half:])
    return (b'<r><rPr><sz val="11"/><rFont val="\xe5\xae\x8b\xe4\xbd\x93"/><charset val="134"/></rPr><t xml:space="preserve">'
            + a.encode() + b'</t></r><r><rPr><b/><sz val="11"/></rPr><t xml:space="preserve">' + b.encode() + b"</t></r>")


def _phonetic(body: bytes) -> bytes:
    """Excel's East Asian strings: the text, then a phonetic run and its properties."""
    text = _text_of(body)
    if not text:
        return body
    return (b"<t>" + text + b'</t><rPh sb="0" eb="1"><t>\xe3\x83\x94\xe3\x83\xb3</t></rPh>'
            b'<phoneticPr fontId="1" type="noConversion"/>')


def excel_shared_strings(parts: Parts) -> Parts:
    return _si_items(parts, lambda body: body)


def excel_rich_text(parts: Parts) -> Parts:
    return _si_items(parts, _split_runs)


def excel_phonetic_runs(parts: Parts) -> Parts:
    out = _si_items(parts, _phonetic)
    return _each_sheet(out, lambda x: x.replace(b' t="s">', b' ph="1" t="s">'))


def inline_phonetic_runs(parts: Parts) -> Parts:
    return _each_sheet(parts, lambda x: re.sub(rb"<is>(.*?)</is>", lambda m: b"<is>" + _phonetic(m[1]) + b"</is>", x,
                                               flags=re.S))


def inline_rich_text(parts: Parts) -> Parts:
    return _each_sheet(parts, lambda x: re.sub(rb"<is>(.*?)</is>", lambda m: b"<is>" + _split_runs(m[1]) + b"</is>",
                                               x, flags=re.S))


def _col(ref: bytes) -> int:
    n = 0
    for ch in re.match(rb"[A-Z]+", ref)[0]:
        n = n * 26 + ch - 64
    return n


def _drop_refs(xml: bytes, rows: bool) -> bytes:
    """Writers that omit r where the position follows from the previous cell (or row)."""
    def row(m: re.Match) -> bytes:
        head, body = m[1], m[2]
        last = 0

        def cell(c: re.Match) -> bytes:
            nonlocal last
            col = _col(c[1])
            out = c[0] if col != last + 1 else c[0].replace(b' r="' + c[1] + b'"', b"", 1)
            last = col
            return out

        return b"<row" + head + b">" + re.sub(rb'<c r="([A-Z]+\d+)"[^>]*?/?>', cell, body) + b"</row>"

    xml = re.sub(rb"<row([^>]*)>(.*?)</row>", row, xml, flags=re.S)
    if rows:
        last = 0

        def strip_row(m: re.Match) -> bytes:
            nonlocal last
            number = int(m[1])
            out = m[0] if number != last + 1 else m[0].replace(b' r="' + m[1] + b'"', b"", 1)
            last = number
            return out

        xml = re.sub(rb'<row r="(\d+)"[^>]*>', strip_row, xml)
    return xml


def implicit_cell_positions(parts: Parts) -> Parts:
    return _each_sheet(parts, lambda x: _drop_refs(x, rows=False))


def implicit_row_positions(parts: Parts) -> Parts:
    return _each_sheet(parts, lambda x: _drop_refs(x, rows=True))


def _prefix(xml: bytes) -> bytes:
    xml = xml.replace(b'xmlns="' + MAIN + b'"', b'xmlns:x="' + MAIN + b'"', 1)
    xml = re.sub(rb"<(/?)(?!\?)([A-Za-z][\w]*)([\s/>])", lambda m: b"<" + m[1] + b"x:" + m[2] + m[3], xml)
    return xml


def sdk_prefixed_namespace(parts: Parts) -> Parts:
    """The Open XML SDK (and tools built on it) write every element with an x: prefix."""
    out = _each_sheet(parts, _prefix)
    out["xl/workbook.xml"] = re.sub(rb"<(/?)(?!\?)(?!x:)([A-Za-z][\w]*)([\s/>])",
                                    lambda m: b"<" + m[1] + b"x:" + m[2] + m[3],
                                    parts["xl/workbook.xml"].replace(b'xmlns="' + MAIN + b'"', b'xmlns:x="' + MAIN + b'"', 1))
    return out


def libreoffice_formula_attrs(parts: Parts) -> Parts:
    """LibreOffice writes <f aca="false"> and a cached value for every formula, and shared strings."""
    out = excel_shared_strings(parts)
    return _each_sheet(out, lambda x: x.replace(b"<f>", b'<f aca="false">'))


def excel_row_attributes(parts: Parts) -> Parts:
    """Excel's rows: spans, x14ac:dyDescent under mc:Ignorable, and an XML declaration with CRLF."""
    def edit(xml: bytes) -> bytes:
        xml = xml.replace(b'<worksheet xmlns="' + MAIN + b'"',
                          b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<worksheet xmlns="' + MAIN
                          + b'" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
                          b' xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac" mc:Ignorable="x14ac"', 1)
        return re.sub(rb'<row r="(\d+)"', rb'<row r="\1" spans="1:16" x14ac:dyDescent="0.25"', xml)

    return _each_sheet(parts, edit)


def exponent_numbers(parts: Parts) -> Parts:
    """Numbers in exponent form (xsd:double allows it; some writers use it for every number)."""
    def edit(xml: bytes) -> bytes:
        def number(m: re.Match) -> bytes:
            value = float(m[2])
            return m[1] + (f"{value:.15E}".encode()) + b"</v>"
        return re.sub(rb'(<c r="[A-Z]+\d+"(?: s="\d+")? t="n"><v>)(-?\d+(?:\.\d+)?)</v>', number, xml)

    return _each_sheet(parts, edit)


def local_filter_name(parts: Parts) -> Parts:
    """Excel adds a hidden sheet-level _xlnm._FilterDatabase name after an autofilter."""
    out = dict(parts)
    out["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        b"</definedNames>", b'<definedName name="_xlnm._FilterDatabase" localSheetId="5" hidden="1">'
                            b"'\xe9\x99\x84\xe4\xbb\xb63'!$A$13:$K$68</definedName></definedNames>")
    return out


def absolute_targets_and_bom(parts: Parts) -> Parts:
    """Relationship targets without the leading / and XML parts with a UTF-8 byte order mark."""
    out = dict(parts)
    out["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(b'Target="/xl/', b'Target="')
    for name in worksheets(parts):
        out[name] = b"\xef\xbb\xbf" + parts[name]
    return out


def x14_list_validations(parts: Parts) -> Parts:
    """Excel 2010+ moves list validations that point at another sheet into the x14 extension."""
    def edit(xml: bytes) -> bytes:
        moved = []

        def take(m: re.Match) -> bytes:
            if b"_xltool_lists" not in m[0]:
                return m[0]
            sqref = re.search(rb'sqref="([^"]*)"', m[0])[1]
            formula = re.search(rb"<formula1>(.*?)</formula1>", m[0], re.S)[1]
            moved.append(b'<x14:dataValidation type="list" allowBlank="1" showInputMessage="1" showErrorMessage="1">'
                         b"<x14:formula1><xm:f>" + formula + b"</xm:f></x14:formula1><xm:sqref>" + sqref
                         + b"</xm:sqref></x14:dataValidation>")
            return b""

        xml = re.sub(rb"<dataValidation [^>]*>.*?</dataValidation>", take, xml, flags=re.S)
        if not moved:
            return xml
        xml = re.sub(rb'<dataValidations count="\d+">\s*</dataValidations>', b"", xml)
        ext = (b'<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
               b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
               b'<x14:dataValidations xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main" count="'
               + str(len(moved)).encode() + b'">' + b"".join(moved) + b"</x14:dataValidations></ext></extLst>")
        return xml.replace(b"</worksheet>", ext + b"</worksheet>")

    return _each_sheet(parts, edit)


VARIANTS: dict[str, Callable[[Parts], Parts]] = {
    "excel_shared_strings": excel_shared_strings,
    "excel_rich_text": excel_rich_text,
    "excel_phonetic_runs": excel_phonetic_runs,
    "inline_phonetic_runs": inline_phonetic_runs,
    "inline_rich_text": inline_rich_text,
    "implicit_cell_positions": implicit_cell_positions,
    "implicit_row_positions": implicit_row_positions,
    "sdk_prefixed_namespace": sdk_prefixed_namespace,
    "libreoffice_formula_attrs": libreoffice_formula_attrs,
    "excel_row_attributes": excel_row_attributes,
    "exponent_numbers": exponent_numbers,
    "local_filter_name": local_filter_name,
    "absolute_targets_and_bom": absolute_targets_and_bom,
    "x14_list_validations": x14_list_validations,
}


# -- tampering with locked parts ------------------------------------------------------------------

def _sheet_edit(title: str, edit: Callable[[bytes], bytes]) -> Callable[[Parts], Parts]:
    def mutate(parts: Parts) -> Parts:
        out = dict(parts)
        name = sheet_of(parts, title)
        new = edit(parts[name])
        assert new != parts[name], f"mutation did not apply to {title}"
        out[name] = new
        return out
    return mutate


def _add_merge(ref: bytes) -> Callable[[bytes], bytes]:
    def edit(xml: bytes) -> bytes:
        xml = re.sub(rb'<mergeCells count="(\d+)">', lambda m: b'<mergeCells count="' + str(int(m[1]) + 1).encode()
                     + b'"><mergeCell ref="' + ref + b'"/>', xml, count=1)
        return xml
    return edit


def _audit_value(cell: bytes, text: bytes) -> Callable[[bytes], bytes]:
    def edit(xml: bytes) -> bytes:
        return re.sub(rb'<c r="' + cell + rb'"([^>]*?)>(.*?)</c>',
                      lambda m: b'<c r="' + cell + b'"' + re.sub(rb'\st="[^"]*"', b"", m[1]) + b' t="inlineStr"><is><t>'
                      + text + b"</t></is></c>", xml, count=1, flags=re.S)
    return edit


def _audit_formula_moved(xml: bytes) -> bytes:
    """I21's formula moved into K21, the next cell of the row, and I21 typed over with 通过:
    the formulas keep their order, only their cells change."""
    m = re.search(rb'<c r="I21"([^>]*?)><f>([^<]*)</f>(?:<v\s*/>|<v>[^<]*</v>)?</c>', xml)
    k = re.search(rb'<c r="K21"[^>]*?(?:/>|>(?:<v>[^<]*</v>)?</c>)', xml)
    assert m and k
    moved = b'<c r="K21"><f>' + m[2] + b"</f></c>"
    typed = b'<c r="I21"' + re.sub(rb'\st="[^"]*"', b"", m[1]) + b' t="inlineStr"><is><t>\xe9\x80\x9a\xe8\xbf\x87</t></is></c>'
    return xml[:m.start()] + typed + xml[m.end():k.start()] + moved + xml[k.end():]


def _all_audit_values(xml: bytes) -> bytes:
    return re.sub(rb'<c r="(I\d+)"([^>]*?)><f>[^<]*</f><v\s*/?>(?:[^<]*</v>)?</c>',
                  lambda m: b'<c r="' + m[1] + b'"' + m[2] + b' t="inlineStr"><is><t>\xe9\x80\x9a\xe8\xbf\x87</t></is></c>',
                  xml)


def _replace_text(xml: bytes, old: str, new: str, count: int) -> bytes:
    """Replace text written as UTF-8 or as character references (openpyxl writes either)."""
    for encode in (lambda t: t.encode(), lambda t: "".join(f"&#{ord(c)};" for c in t).encode()):
        if encode(old) in xml:
            return xml.replace(encode(old), encode(new), count)
    return xml


def _style_of(xml: bytes, cell: bytes) -> int:
    return int(re.search(rb'<c r="' + cell + rb'" s="(\d+)"', xml)[1])


def _restyle(title: str, cell: bytes, locked: bool) -> Callable[[Parts], Parts]:
    """Give *cell* a new cell format, a copy of its own with the protection flipped."""
    def mutate(parts: Parts) -> Parts:
        out = dict(parts)
        name = sheet_of(parts, title)
        style = _style_of(parts[name], cell)
        styles = parts["xl/styles.xml"]
        xfs = re.search(rb'<cellXfs count="(\d+)">(.*?)</cellXfs>', styles, re.S)
        items = re.findall(rb"<xf\b[^>]*/>|<xf\b[^>]*>.*?</xf>", xfs[2], re.S)
        copy = re.sub(rb"<protection[^>]*/>", b"", items[style])
        copy = copy.replace(b"/>", b">", 1) if copy.endswith(b"/>") and b"</xf>" not in copy else copy.replace(b"</xf>", b"")
        copy += b'<protection locked="' + (b"1" if locked else b"0") + b'" hidden="0"/></xf>'
        copy = copy.replace(b"<xf ", b'<xf applyProtection="1" ', 1) if b"applyProtection" not in copy else copy
        new_xfs = b'<cellXfs count="' + str(len(items) + 1).encode() + b'">' + b"".join(items) + copy + b"</cellXfs>"
        out["xl/styles.xml"] = styles[: xfs.start()] + new_xfs + styles[xfs.end():]
        out[name] = parts[name].replace(b'<c r="' + cell + b'" s="' + str(style).encode() + b'"',
                                        b'<c r="' + cell + b'" s="' + str(len(items)).encode() + b'"', 1)
        return out
    return mutate


def _drop_validation(cell: bytes) -> Callable[[bytes], bytes]:
    def edit(xml: bytes) -> bytes:
        return re.sub(rb'sqref="([^"]*)"', lambda m: b'sqref="' + b" ".join(
            p for p in m[1].split() if p != cell) + b'"', xml)
    return edit


def _drop_all_validations(xml: bytes) -> bytes:
    return re.sub(rb"<dataValidations\b.*?</dataValidations>", b"", xml, flags=re.S)


def _without(name: str) -> Callable[[Parts], Parts]:
    def mutate(parts: Parts) -> Parts:
        out = dict(parts)
        del out[name]
        return out
    return mutate


def _duplicate_sheet(parts: Parts) -> Parts:
    """A second tab named 附件3, first in the tab order, pointing at a copy with other figures."""
    out = dict(parts)
    original = sheet_of(parts, "附件3")
    out["xl/worksheets/sheet99.xml"] = parts[original].replace(b"<v>2450.21</v>", b"<v>2510.99</v>", 1)
    out["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                             b'relationships/worksheet" Target="/xl/worksheets/sheet99.xml"/></Relationships>')
    out["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/worksheets/sheet99.xml" ContentType="application/vnd.openxmlformats-'
                     b'officedocument.spreadsheetml.worksheet+xml"/></Types>')
    out["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        b"<sheets>", b'<sheets><sheet xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
                        b'name="\xe9\x99\x84\xe4\xbb\xb63" sheetId="99" r:id="rId99"/>', 1)
    return out


def _names_edit(old: bytes, new: bytes) -> Callable[[Parts], Parts]:
    def mutate(parts: Parts) -> Parts:
        out = dict(parts)
        assert old in parts["xl/workbook.xml"]
        out["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(old, new, 1)
        return out
    return mutate


# (name, mutation, the finding codes of which at least one must appear; "unreadable": refused)
TAMPER: list[tuple[str, Callable[[Parts], Parts], set[str]]] = [
    ("merge_over_inputs", _sheet_edit("附件3", _add_merge(b"C5:E5")), {"XT030"}),
    ("merge_over_label_and_input", _sheet_edit("收支情况", _add_merge(b"A4:B4")), {"XT030"}),
    ("unmerge_title", _sheet_edit("附件3", lambda x: re.sub(rb'<mergeCell ref="A2:K2"\s*/>', b"", x, count=1)), {"XT030"}),
    ("audit_result_typed_over", _sheet_edit("审核", _audit_value(b"I21", "通过".encode())), {"XT031"}),
    ("audit_all_results_passed", _sheet_edit("审核", _all_audit_values), {"XT031"}),
    ("audit_formula_moved", _sheet_edit("审核", _audit_formula_moved), {"XT031"}),
    ("audit_count_zeroed", _sheet_edit("审核", _audit_value(b"D2", b"0")), {"XT031"}),
    ("audit_formula_edited", _sheet_edit("审核", lambda x: _replace_text(x, "不通过", "通过", 3)), {"XT031"}),
    ("audit_unprotected", _sheet_edit("审核", lambda x: re.sub(rb"<sheetProtection[^>]*/>", b"", x)), {"XT002"}),
    ("no_content_types", _without("[Content_Types].xml"), {"unreadable"}),
    ("derived_cell_unlocked", _restyle("附件3", b"G5", locked=False), {"XT032"}),
    ("label_unlocked", _restyle("附件3", b"B5", locked=False), {"XT032"}),
    ("input_locked", _restyle("附件3", b"C5", locked=True), {"XT032"}),
    ("config_unlocked", _restyle("填报说明", b"B19", locked=False), {"XT032"}),
    ("validation_removed_one", _sheet_edit("附件3", _drop_validation(b"C5")), {"XT033"}),
    ("validation_removed_all", _sheet_edit("收支情况", _drop_all_validations), {"XT033"}),
    ("duplicate_sheet_name", _duplicate_sheet, {"XT003"}),
    ("local_name_shadows_field", _names_edit(b"<definedName name=\"fin_budget\">",
                                             b"<definedName name=\"fin_budget\" localSheetId=\"5\">'\xe6\x94\xb6\xe6"
                                             b"\x94\xaf\xe6\x83\x85\xe5\x86\xb5'!$C$4</definedName>"
                                             b"<definedName name=\"fin_budget\">"), {"XT004"}),
    ("duplicate_workbook_name", _names_edit(b"<definedName name=\"fin_budget\">",
                                            b"<definedName name=\"fin_budget\">'\xe6\x94\xb6\xe6\x94\xaf\xe6\x83\x85"
                                            b"\xe5\x86\xb5'!$C$4</definedName><definedName name=\"fin_budget\">"),
     {"XT004"}),
]


def escape_text(text: str) -> bytes:
    return escape(text).encode()
