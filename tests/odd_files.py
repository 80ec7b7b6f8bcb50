"""A corpus of odd workbooks made by the project's own generators, so the safety tests run on
a fresh clone: what real files in the wild do (encrypted OLE files, BIFF5/BIFF8 .xls, .xlsb,
.ods, shared formulas, rich text with phonetics, 1904 dates, malformed shared strings,
pictures, charts, tables, macros, a namespace prefix) and what hostile ones do (huge
declared sizes, truncated archives, bad CRCs, zip bombs, DTDs, endless sheets, cyclic OLE
chains).

Each file states what must become of it (``CORPUS``): loaded (``LOADS``), refused with a
given reason, or refused for any clear reason (``REFUSED``), or either (``ANY``). A folder
beside the checkout may add foreign files to the same tests (tests/extra_cases.py).
"""

from __future__ import annotations

import random
import re
import struct
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cache
from pathlib import Path
from typing import Callable

from xltool.read.safety import Reason

LOADS = "loads"  # must be read
REFUSED = "refused"  # must be refused, for any clear reason
ANY = "any"  # may be read or refused (clearly)

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_MAIN = "http://purl.oclc.org/ooxml/spreadsheetml/main"
SHEET = "xl/worksheets/sheet1.xml"


# -- building blocks ------------------------------------------------------------------------

def make_workbook(path: Path, rows: int = 3, title: str = "数据") -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    ws.append(["项目", "年初预算数", "全年执行数"])
    for i in range(rows):
        ws.append([f"项目{i}", 100.25 + i, 99.5 + i])
    wb.save(path)
    return path


def rewrite_zip(src: Path, dst: Path, replace: dict[str, bytes | None] | None = None,
                add: dict[str, bytes] | None = None) -> Path:
    """Copy a zip, replacing (or with None dropping) entries and adding new ones."""
    replace = replace or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in replace:
                if replace[info.filename] is not None:
                    zout.writestr(info.filename, replace[info.filename])
            else:
                zout.writestr(info.filename, zin.read(info.filename))
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dst


def read_part(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)


def patch_declared_size(path: Path, entry: str, size: int) -> None:
    """Patch an entry's uncompressed size in its local and central directory headers."""
    data = bytearray(path.read_bytes())
    name = entry.encode()
    for sig, size_off, name_len_off, header_len in ((b"PK\x01\x02", 24, 28, 46), (b"PK\x03\x04", 22, 26, 30)):
        pos = 0
        while (pos := data.find(sig, pos)) != -1:
            n = struct.unpack_from("<H", data, pos + name_len_off)[0]
            if bytes(data[pos + header_len:pos + header_len + n]) == name:
                struct.pack_into("<I", data, pos + size_off, size)
            pos += 4
    path.write_bytes(bytes(data))


def build_cfb(streams: dict[str, bytes]) -> bytes:
    """A minimal compound file (MS-CFB v3, 512-byte sectors) holding *streams*.

    Streams under 4096 bytes go to the mini stream, as Office writes them.
    """
    ss, endc, free, fatsect = 512, 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    sectors: list[bytes] = []
    fat: dict[int, int] = {}

    def alloc(data: bytes, pad: bytes = b"\0") -> int:
        chunks = [data[i:i + ss].ljust(ss, pad) for i in range(0, max(len(data), 1), ss)]
        start = len(sectors)
        for k, chunk in enumerate(chunks):
            sectors.append(chunk)
            fat[start + k] = start + k + 1 if k < len(chunks) - 1 else endc
        return start

    mini, minifat, starts = bytearray(), [], {}
    for name, data in streams.items():
        if len(data) < 4096:
            n = max(1, -(-len(data) // 64))
            first = len(mini) // 64
            minifat += [first + k + 1 if k < n - 1 else endc for k in range(n)]
            mini += data.ljust(n * 64, b"\0")
            starts[name] = first
    root_start = alloc(bytes(mini)) if mini else endc
    minifat_start = alloc(struct.pack(f"<{len(minifat)}I", *minifat), b"\xff") if minifat else endc
    n_minifat = -(-len(minifat) * 4 // ss) if minifat else 0
    for name, data in streams.items():
        if len(data) >= 4096:
            starts[name] = alloc(data)

    def entry(name: str, kind: int, start: int, size: int, child: int = free, right: int = free) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        return (raw.ljust(64, b"\0") + struct.pack("<HBBIII", len(raw), kind, 1, free, right, child)
                + b"\0" * 36 + struct.pack("<IQ", start, size))

    names = list(streams)
    dir_entries = [entry("Root Entry", 5, root_start, len(mini), child=1 if names else free)]
    for i, name in enumerate(names):  # a degenerate tree: each entry's right sibling is the next
        right = i + 2 if i + 1 < len(names) else free
        dir_entries.append(entry(name, 2, starts[name], len(streams[name]), right=right))
    dir_blob = b"".join(dir_entries)
    dir_blob += b"\0" * (-len(dir_blob) % ss)
    dir_start = alloc(dir_blob)

    n_fat = 1
    while len(sectors) + n_fat > n_fat * (ss // 4):
        n_fat += 1
    fat_start = len(sectors)
    for i in range(n_fat):
        fat[fat_start + i] = fatsect
    table = [fat.get(i, free) for i in range(n_fat * ss // 4)]
    for i in range(n_fat):
        sectors.append(struct.pack(f"<{ss // 4}I", *table[i * ss // 4:(i + 1) * ss // 4]))
    difat = [fat_start + i for i in range(n_fat)] + [free] * (109 - n_fat)
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<IIIIIIIII", 0, n_fat, dir_start, 0, 4096, minifat_start, n_minifat, endc, 0)
              + struct.pack("<109I", *difat))
    assert len(header) == 512
    return header + b"".join(sectors)


def biff_stream(filepass: bool, pad_to: int = 0, version: int = 0x0600) -> bytes:
    """A BIFF workbook stream: BOF (BIFF8 0x0600 or BIFF5 0x0500), FILEPASS if asked, a sheet, EOF."""
    bof = struct.pack("<HH", 0x0809, 16) + struct.pack("<HHHHII", version, 0x0005, 0x0DBB, 0x07CC, 0, 0x06)
    records = bof
    if filepass:
        records += struct.pack("<HH", 0x002F, 54) + struct.pack("<HHH", 1, 1, 1) + bytes(range(48))
    records += struct.pack("<HH", 0x0085, 8) + b"\0" * 8  # BOUNDSHEET
    records += struct.pack("<HH", 0x000A, 0)  # EOF
    return records.ljust(pad_to, b"\0")


def png(width: int = 2, height: int = 2) -> bytes:
    """A valid RGB PNG of one colour."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\0" + b"\xff\xc0\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _add_types(types: bytes, *entries: str) -> bytes:
    return types.replace(b"</Types>", "".join(entries).encode() + b"</Types>")


# -- the files ------------------------------------------------------------------------------

def _book(build: Callable) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        import openpyxl

        wb = openpyxl.Workbook()
        build(wb)
        wb.save(path)
    return make


def _sheets(wb) -> None:
    wb.active.title = "附件2"
    wb.active["A1"] = "项目支出"
    wb.create_sheet("隐藏").sheet_state = "hidden"
    very = wb.create_sheet("Meta")
    very.sheet_state = "veryHidden"
    very["A1"] = "x"
    wb.create_sheet("空表")


def _dates(wb) -> None:
    ws = wb.active
    ws.append([date(2023, 12, 31), datetime(2024, 1, 2, 9, 30), time(13, 45), 45291])
    ws["A1"].number_format = "yyyy年m月d日"


def _dates_1904(wb) -> None:
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    wb.epoch = CALENDAR_MAC_1904
    _dates(wb)


def _merged(wb) -> None:
    ws = wb.active
    ws["A1"] = "年度预算申请（万元）"
    ws.merge_cells("A1:A6")
    ws.merge_cells("B1:H1")
    ws["B2"] = 2701.57


def _chart(wb) -> None:
    from openpyxl.chart import BarChart, Reference

    ws = wb.active
    for row in (["单位", "执行率"], ["甲", 0.9], ["乙", 0.97]):
        ws.append(row)
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=3), titles_from_data=True)
    ws.add_chart(chart, "D2")


def _table(wb) -> None:
    from openpyxl.worksheet.table import Table

    ws = wb.active
    for row in (["单位", "预算数", "执行数"], ["甲", 10, 9], ["乙", 20, 19.5]):
        ws.append(row)
    ws.add_table(Table(displayName="汇总表", ref="A1:C3"))


def _annotated(wb) -> None:
    from openpyxl.comments import Comment
    from openpyxl.worksheet.datavalidation import DataValidation

    ws = wb.active
    ws["A1"] = "说明"
    ws["A1"].comment = Comment("批注：请填写万元数", "财政局")
    ws["A2"] = "网址"
    ws["A2"].hyperlink = "https://example.gov.cn/"
    dv = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
    ws.add_data_validation(dv)
    dv.add("B1:B10")


def _errors(wb) -> None:
    ws = wb.active
    for k, value in enumerate(("#DIV/0!", "#N/A", "#VALUE!", "#REF!"), start=1):
        ws.cell(row=k, column=1, value=value).data_type = "e"
    ws["B1"] = "=1/0"


def _picture(path: Path) -> None:
    src = make_workbook(path.with_suffix(".src.xlsx"))
    sheet = read_part(src, SHEET).replace(
        b"</worksheet>", b'<drawing xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
                         b'r:id="rIdPic"/></worksheet>')
    rel = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/")
    drawing = ('<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
               'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
               'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><xdr:oneCellAnchor>'
               '<xdr:from><xdr:col>4</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row><xdr:rowOff>0</xdr:rowOff>'
               '</xdr:from><xdr:ext cx="190500" cy="190500"/><xdr:pic><xdr:nvPicPr><xdr:cNvPr id="2" name="印章"/>'
               '<xdr:cNvPicPr/></xdr:nvPicPr><xdr:blipFill><a:blip r:embed="rId1"/><a:stretch><a:fillRect/></a:stretch>'
               '</xdr:blipFill><xdr:spPr><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr></xdr:pic>'
               '<xdr:clientData/></xdr:oneCellAnchor></xdr:wsDr>')
    rels = '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{}</Relationships>'
    types = _add_types(read_part(src, "[Content_Types].xml"), '<Default Extension="png" ContentType="image/png"/>',
                       '<Override PartName="/xl/drawings/drawing1.xml" '
                       'ContentType="application/vnd.openxmlformats-officedocument.drawing+xml"/>')
    rewrite_zip(src, path, {SHEET: sheet, "[Content_Types].xml": types}, add={
        "xl/worksheets/_rels/sheet1.xml.rels": rels.format(
            f'<Relationship Id="rIdPic" Type="{rel}drawing" Target="../drawings/drawing1.xml"/>').encode(),
        "xl/drawings/drawing1.xml": drawing.encode(),
        "xl/drawings/_rels/drawing1.xml.rels": rels.format(
            f'<Relationship Id="rId1" Type="{rel}image" Target="../media/image1.png"/>').encode(),
        "xl/media/image1.png": png(),
    })
    src.unlink()


def _with_strings(path: Path, sst: bytes, cells: dict[str, int]) -> None:
    """A workbook with a shared-strings part (openpyxl writes inline strings): *cells* point into it."""
    src = make_workbook(path.with_suffix(".src.xlsx"), rows=1)
    sheet = read_part(src, SHEET)
    row = b"".join(b'<c r="' + ref.encode() + b'" t="s"><v>' + str(i).encode() + b"</v></c>" for ref, i in cells.items())
    sheet = sheet.replace(b"</sheetData>", b'<row r="9">' + row + b"</row></sheetData>")
    types = _add_types(read_part(src, "[Content_Types].xml"), '<Override PartName="/xl/sharedStrings.xml" ContentType='
                       '"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')
    rels = read_part(src, "xl/_rels/workbook.xml.rels").replace(
        b"</Relationships>", b'<Relationship Id="rIdSst" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                             b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
    rewrite_zip(src, path, {SHEET: sheet, "[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels},
                add={"xl/sharedStrings.xml": b'<sst xmlns="' + MAIN.encode() + b'" ' + sst})
    src.unlink()


def _rich_text(path: Path) -> None:
    """Rich text runs and a phonetic guide (<rPh>, which a reader must not read as text)."""
    _with_strings(path, ('count="2" uniqueCount="2"><si><r><rPr><b/><sz val="11"/></rPr><t>项</t></r>'
                         '<r><t xml:space="preserve">目 </t></r><rPh sb="0" eb="1"><t>こう</t></rPh>'
                         '<phoneticPr fontId="1"/></si><si><t>普通</t></si></sst>').encode(), {"A9": 0, "B9": 1})


def _shared_formulas(path: Path) -> None:
    src = make_workbook(path.with_suffix(".src.xlsx"), rows=3)
    sheet = read_part(src, SHEET)
    formulas = {b"D2": b'<f t="shared" ref="D2:D4" si="0">B2-C2</f><v>0.75</v>', b"D3": b'<f t="shared" si="0"/><v>0.75</v>',
                b"D4": b'<f t="shared" si="0"/>'}
    for cell, body in formulas.items():
        row = cell[1:]
        sheet = re.sub(rb'(<row r="' + row + rb'"[^>]*>.*?)</row>', lambda m: m.group(1) + b'<c r="' + cell + b'">'
                       + body + b"</c></row>", sheet, count=1, flags=re.S)
    rewrite_zip(src, path, {SHEET: sheet})
    src.unlink()


def _inline_strings(path: Path) -> None:
    src = make_workbook(path.with_suffix(".src.xlsx"), rows=1)
    sheet = read_part(src, SHEET).replace(
        b"</sheetData>", b'<row r="9"><c r="A9" t="inlineStr"><is><t>\xe7\xac\xac\xe4\xb8\x80\xe8\xa1\x8c_x000D_'
                         b'\xe7\xac\xac\xe4\xba\x8c\xe8\xa1\x8c</t></is></c><c r="B9" t="inlineStr"><is><r><t>a</t></r>'
                         b'<r><t>b</t></r></is></c><c r="C9" t="str"><f>"x"&amp;"y"</f><v>xy</v></c></row></sheetData>')
    rewrite_zip(src, path, {SHEET: sheet})
    src.unlink()


def _miscounted_strings(path: Path) -> None:
    """Shared strings as some writers leave them: counts that lie, an empty <si/>, a <t/>."""
    _with_strings(path, b'count="99" uniqueCount="1"><si><t>a</t></si><si/><si><t/></si></sst>',
                  {"A9": 0, "B9": 1, "C9": 2})


def _prefixed(path: Path) -> None:
    """Every SpreadsheetML part written with an ``x:`` prefix instead of the default namespace."""
    src = make_workbook(path.with_suffix(".src.xlsx"))

    def prefix(xml: bytes) -> bytes:
        xml = xml.replace(b'xmlns="' + MAIN.encode() + b'"', b'xmlns:x="' + MAIN.encode() + b'"', 1)
        return re.sub(rb"<(/?)([A-Za-z][\w]*)(?=[\s/>])", rb"<\1x:\2", xml)

    parts = {name: prefix(read_part(src, name)) for name in ("xl/workbook.xml", SHEET, "xl/styles.xml")}
    rewrite_zip(src, path, parts)
    src.unlink()


def _macro(path: Path) -> None:
    src = make_workbook(path.with_suffix(".src.xlsx"))
    types = read_part(src, "[Content_Types].xml").replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    types = _add_types(types, '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>')
    rels = read_part(src, "xl/_rels/workbook.xml.rels").replace(
        b"</Relationships>", b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/relationships/'
                             b'vbaProject" Target="vbaProject.bin"/></Relationships>')
    rewrite_zip(src, path, {"[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels},
                add={"xl/vbaProject.bin": build_cfb({"PROJECT": b"ID=\"{00000000}\"\r\n" * 10})})
    src.unlink()


def _absolute_targets(path: Path) -> None:
    src = make_workbook(path.with_suffix(".src.xlsx"))
    rels = read_part(src, "xl/_rels/workbook.xml.rels").replace(b'Target="worksheets/', b'Target="/xl/worksheets/')
    rewrite_zip(src, path, {"xl/_rels/workbook.xml.rels": rels})
    src.unlink()


def _edit_part(name: str, edit: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        src = make_workbook(path.with_suffix(".src.xlsx"), rows=20)
        rewrite_zip(src, path, {name: edit(read_part(src, name))})
        src.unlink()
    return make


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def _zip(members: dict[str, bytes | str]) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members.items():
                zf.writestr(name, data)
    return make


def _encrypted_ods(path: Path) -> None:
    manifest = ('<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.'
                'spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">'
                '<manifest:encryption-data manifest:checksum-type="SHA1/1K" manifest:checksum="AAAA">'
                '<manifest:algorithm manifest:algorithm-name="Blowfish CFB" manifest:initialisation-vector="AAAA"/>'
                '</manifest:encryption-data></manifest:file-entry></manifest:manifest>')
    _zip({"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "META-INF/manifest.xml": manifest,
          "content.xml": random.Random(5).randbytes(600)})(path)


def _ods(path: Path) -> None:
    content = ('<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet>'
               '<table:table table:name="附件2"><table:table-row><table:table-cell><text:p>项目支出</text:p>'
               '</table:table-cell></table:table-row></table:table></office:spreadsheet></office:body>'
               '</office:document-content>')
    _zip({"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": content,
          "META-INF/manifest.xml": '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:'
                                   'manifest:1.0"/>'})(path)


def _xlsb(path: Path) -> None:
    types = ('<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             '<Default Extension="bin" ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/>'
             '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/></Types>')
    _zip({"[Content_Types].xml": types, "xl/workbook.bin": b"\x83\x01\x00\x84\x01\x00",
          "xl/worksheets/sheet1.bin": b"\x81\x01\x00\x82\x01\x00"})(path)


def _huge_ole_stream(path: Path) -> None:
    """An .xls whose directory claims a 4 GB workbook stream (files found by fuzzing do this)."""
    blob = bytearray(build_cfb({"Workbook": biff_stream(False, 8192)}))
    at = blob.find("Workbook".encode("utf-16-le"))
    struct.pack_into("<Q", blob, at + 120, 0xFFFFFFFF)  # the entry's stream size
    path.write_bytes(bytes(blob))


def _cyclic_ole(path: Path) -> None:
    blob = bytearray(build_cfb({"Workbook": biff_stream(False, 8192)}))
    fat_sid = struct.unpack_from("<I", blob, 0x4C)[0]
    fat_off = (fat_sid + 1) * 512
    for i in range(128):
        struct.pack_into("<I", blob, fat_off + 4 * i, 0)  # every sector points at sector 0
    path.write_bytes(bytes(blob))


def _truncated(path: Path) -> None:
    src = make_workbook(path.with_suffix(".src.xlsx"))
    path.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    src.unlink()


def _bad_crc(path: Path) -> None:
    src = make_workbook(path.with_suffix(".src.xlsx"))
    sheet = read_part(src, SHEET)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
    path.write_bytes(path.read_bytes().replace(sheet, sheet.replace(b"100.25", b"900.25"), 1))
    src.unlink()


def _declared_huge(path: Path) -> None:
    make_workbook(path)
    patch_declared_size(path, SHEET, 300 * 1024 * 1024)


def _bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open(SHEET, "w") as fh:
        zero = bytes(1024 * 1024)
        for _ in range(5):
            fh.write(zero)


def _duplicates(path: Path) -> None:
    src = make_workbook(path.with_suffix(".src.xlsx"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rewrite_zip(src, path, add={SHEET: b"<worksheet/>"})
    src.unlink()


LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
          b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><worksheet xmlns="' + MAIN.encode() + b'"><sheetData><row r="1">'
          b'<c r="A1" t="inlineStr"><is><t>&lol3;</t></is></c></row></sheetData></worksheet>')


@dataclass(frozen=True)
class Odd:
    make: Callable[[Path], None]
    expect: str | Reason  # LOADS, REFUSED, ANY or the reason it is refused for
    what: str


CORPUS: dict[str, Odd] = {
    # readable workbooks that are not ours
    "sheets.xlsx": Odd(_book(_sheets), LOADS, "hidden, very hidden and empty sheets"),
    "dates.xlsx": Odd(_book(_dates), LOADS, "dates, times, a Chinese date format"),
    "dates_1904.xlsx": Odd(_book(_dates_1904), LOADS, "the 1904 date system"),
    "merged.xlsx": Odd(_book(_merged), LOADS, "merged ranges"),
    "chart.xlsx": Odd(_book(_chart), LOADS, "a chart in a drawing"),
    "picture.xlsx": Odd(_picture, LOADS, "a picture in a drawing"),
    "table.xlsx": Odd(_book(_table), LOADS, "an Excel table with a Chinese name"),
    "annotated.xlsx": Odd(_book(_annotated), LOADS, "a comment, a hyperlink, data validation"),
    "errors.xlsx": Odd(_book(_errors), LOADS, "error values and a formula"),
    "rich_text.xlsx": Odd(_rich_text, LOADS, "rich text with a phonetic guide in the shared strings"),
    "shared_formulas.xlsx": Odd(_shared_formulas, LOADS, "shared formulas"),
    "inline_strings.xlsx": Odd(_inline_strings, LOADS, "inline rich strings, _x000D_, a string formula"),
    "prefixed.xlsx": Odd(_prefixed, LOADS, "SpreadsheetML under an x: prefix"),
    "macro.xlsm": Odd(_macro, LOADS, "a macro-enabled workbook"),
    "absolute_targets.xlsx": Odd(_absolute_targets, LOADS, "absolute relationship targets"),
    "miscounted_strings.xlsx": Odd(_miscounted_strings, ANY, "shared-string counts that lie, empty strings"),
    # what xltool does not read
    "encrypted.xlsx": Odd(_bytes(build_cfb({"EncryptionInfo": b"\x04\x00\x04\x00" + b"\0" * 200,
                                            "EncryptedPackage": b"\0" * 5000})), Reason.encrypted,
                          "a password-protected workbook (OLE EncryptedPackage)"),
    "encrypted.xlsb": Odd(_bytes(build_cfb({"EncryptionInfo": b"\x04\x00\x04\x00" + b"\0" * 200,
                                            "EncryptedPackage": b"\0" * 5000})), Reason.encrypted,
                          "a password-protected binary workbook"),
    "encrypted.ods": Odd(_encrypted_ods, Reason.encrypted, "a password-protected OpenDocument spreadsheet"),
    "filepass.xls": Odd(_bytes(build_cfb({"Workbook": biff_stream(True, 4096)})), Reason.encrypted,
                        "a BIFF8 workbook with FILEPASS"),
    "biff8.xls": Odd(_bytes(build_cfb({"Workbook": biff_stream(False, 4096), "\x05SummaryInformation": b"\0" * 200})),
                     Reason.legacy_xls, "Excel 97–2003"),
    "biff5.xls": Odd(_bytes(build_cfb({"Book": biff_stream(False, 4096, version=0x0500)})), Reason.legacy_xls,
                     "Excel 5.0/95"),
    "damaged_ole.xls": Odd(_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + random.Random(3).randbytes(20000)),
                           Reason.legacy_xls, "an OLE header over noise"),
    "huge_ole_stream.xls": Odd(_huge_ole_stream, Reason.legacy_xls, "a 4 GB stream declared in a 10 KB file"),
    "cyclic_ole.xls": Odd(_cyclic_ole, REFUSED, "an OLE allocation table whose chains loop"),
    "word97.xls": Odd(_bytes(build_cfb({"WordDocument": b"\xec\xa5" + b"\0" * 5000})), Reason.not_a_workbook,
                      "a Word 97 document named .xls"),
    "binary.xlsb": Odd(_xlsb, Reason.xlsb, "an Excel binary workbook"),
    "plain.ods": Odd(_ods, Reason.ods, "an OpenDocument spreadsheet"),
    "too_small.xls": Odd(_bytes(b"This is not a workbook, only sixty-eight bytes of plain text.\n"[:68]),
                         Reason.not_a_zip, "a few bytes of text"),
    "notes.md": Odd(_bytes("# 说明\n\n这不是工作簿。\n".encode()), Reason.not_a_zip, "a text file"),
    "csv_gbk.xlsx": Odd(_bytes("项目,年初预算数\n业务工作经费,12.50\n".encode("gbk")), Reason.not_a_zip,
                        "a GBK csv named .xlsx"),
    "archive.xlsx": Odd(_zip({"附件2.txt": "hello"}), Reason.not_a_workbook, "a plain zip"),
    "whole_sheet.xlsx": Odd(_edit_part(SHEET, lambda x: re.sub(rb'<dimension ref="[^"]*"\s*/>',
                                                               b'<dimension ref="A1:XFD1048576"/>', x)),
                            Reason.too_many_cells, "a dimension of the whole sheet"),
    "strict.xlsx": Odd(_edit_part("xl/workbook.xml", lambda x: x.replace(MAIN.encode(), STRICT_MAIN.encode())),
                       Reason.strict_ooxml, "Strict Open XML"),
    "laughs.xlsx": Odd(_edit_part(SHEET, lambda x: LAUGHS), Reason.unsafe_xml, "entity expansion in a DTD"),
    "bad_crc.xlsx": Odd(_bad_crc, Reason.corrupt_zip, "a damaged entry (CRC-32)"),
    "truncated.xlsx": Odd(_truncated, Reason.corrupt_zip, "half of a workbook"),
    "declared_huge.xlsx": Odd(_declared_huge, Reason.zip_bomb, "an entry declaring 300 MB"),
    "bomb.xlsx": Odd(_bomb, Reason.zip_bomb, "5 MB of zeros in a few KB"),
    "duplicate_entries.xlsx": Odd(_duplicates, Reason.unsafe_entry, "two entries with one name"),
}


@cache
def corpus_dir(folder: Path) -> Path:
    """Write every file of the corpus into *folder* (once per process) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, odd in CORPUS.items():
        odd.make(folder / name)
    return folder
