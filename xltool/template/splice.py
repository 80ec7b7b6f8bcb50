"""Workbooks by splicing: one template built, each variant's cells written into its bytes.

A bureau sends every unit its own template (a province: 10⁴–2×10⁴ units). Building one with
openpyxl costs about 1.5 s, most of it laying out the 审核 sheet, which is the same for every
unit. So the template is built once by the writer (template/writer.py) and a unit's file is
that template's bytes with the unit's cells, its hidden identification sheet and its document
properties written in:

* a worksheet part holding cells that vary is kept as constant byte segments around the
  ``<c>`` elements of those cells; a variant joins the segments and its own cells;
* every other part (the 审核 sheet, styles, theme, workbook, …) is compressed once, and its
  compressed bytes are reused by a small zip writer.

A cell is written exactly as openpyxl writes it (inline string, number, empty styled cell), so
a spliced file is the workbook the writer would have made with the same data: the tests
compare both part by part and read both back.
"""

from __future__ import annotations

import math
import re
import struct
import time
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from io import BytesIO
from pathlib import Path

from xltool.atomic import write_atomic

_CELL_RE = re.compile(rb'<c r="([A-Z]{1,3}[0-9]{1,7})"([^>]*?)(?:/>|>.*?</c>)', re.S)
_STYLE_RE = re.compile(rb'\ss="([0-9]+)"')
_SHEET_RE = re.compile(rb'<sheet\b[^>]*?\bname="([^"]+)"[^>]*?\br:id="([^"]+)"')
_REL_RE = re.compile(rb'<Relationship\b[^>]*>')
_ATTR_RE = re.compile(rb'\b(Id|Target)="([^"]*)"')
# Characters XML 1.0 cannot hold (openpyxl refuses them in a cell): dropped from people's text.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
CORE_PART = "docProps/core.xml"


class Raw(bytes):
    """A cell's XML after its reference and style, given as is (e.g. a formula with its cached
    value): ``' t="n"><v>1</v></c>'``."""


def xml_safe(text: str) -> str:
    """*text* without the control characters an XML document cannot hold."""
    return _ILLEGAL_XML.sub("", text)


def xml_text(text: str) -> bytes:
    """Character data as openpyxl (lxml) serialises it: markup escaped, anything beyond ASCII
    and the carriage return as character references."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return text.encode("ascii", "xmlcharrefreplace")


def _number(value: float | int) -> bytes:
    """A number as openpyxl writes it (``%.16g``; NaN and infinities as nothing)."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return b""
    return ("%.16g" % value).encode("ascii")


def cell_tail(value: object) -> bytes:
    """A cell's XML after ``<c r="…" s="…"`` for *value*, as openpyxl writes it: text is an
    inline string (never a formula, whatever it starts with), numbers ``t="n"``, booleans
    ``t="b"``, dates their serial number, nothing an empty cell."""
    if value is None:
        return b' t="n"></c>'
    if isinstance(value, str):
        if value == "":
            return b' t="inlineStr"></c>'
        space = b' xml:space="preserve"' if value != value.strip() else b""
        return b' t="inlineStr"><is><t' + space + b">" + xml_text(value) + b"</t></is></c>"
    if isinstance(value, bool):
        return b' t="b"><v>' + (b"1" if value else b"0") + b"</v></c>"
    if isinstance(value, (int, float)):
        return b' t="n"><v>' + _number(value) + b"</v></c>"
    if isinstance(value, date):  # a datetime too
        from openpyxl.utils.datetime import to_excel

        return b' t="n"><v>' + _number(to_excel(value)) + b"</v></c>"
    raise TypeError(f"no cell for a {type(value).__name__}")


class _Sheet:
    """One worksheet part as constant segments around the cells that vary."""

    def __init__(self, xml: bytes, cells: Iterable[str]) -> None:
        wanted = set(cells)
        self.segments: list[bytes] = []
        self.slots: list[tuple[str, bytes, bytes]] = []  # (cell, its start up to the style, the cell as built)
        pos = 0
        for m in _CELL_RE.finditer(xml):
            ref = m.group(1).decode()
            if ref not in wanted:
                continue
            self.segments.append(xml[pos:m.start()])
            style = _STYLE_RE.search(m.group(2))
            head = b'<c r="' + m.group(1) + b'"' + (b' s="' + style.group(1) + b'"' if style else b"")
            self.slots.append((ref, head, m.group(0)))
            pos = m.end()
        self.segments.append(xml[pos:])
        missing = wanted - {ref for ref, _head, _rest in self.slots}
        if missing:
            raise ValueError(f"cells not in the template's sheet XML: {sorted(missing)[:5]}")

    def render(self, cells: Mapping[str, object]) -> bytes:
        out = [self.segments[0]]
        for (ref, head, built), seg in zip(self.slots, self.segments[1:]):
            if ref in cells:
                value = cells[ref]
                out.append(head)
                out.append(value if isinstance(value, Raw) else cell_tail(value))
            else:
                out.append(built)
            out.append(seg)
        return b"".join(out)


class _Meta:
    """The hidden identification sheet: its rows are written whole for each variant."""

    def __init__(self, xml: bytes) -> None:
        start, end = xml.find(b"<sheetData"), xml.find(b"</sheetData>")
        dimension = re.search(rb'<dimension ref="[^"]*"/>', xml)
        if start < 0 or dimension is None or dimension.end() > start:
            raise ValueError("the identification sheet has no rows to splice")
        if end < 0:  # no rows: <sheetData/>
            end = start + len(b"<sheetData/>")
            assert xml[start:end] == b"<sheetData/>"
            self.tail = xml[end:]
        else:
            self.tail = xml[end + len(b"</sheetData>"):]
        self.head, self.middle = xml[:dimension.start()], xml[dimension.end():start]

    def render(self, rows: Mapping[str, str]) -> bytes:
        out = [self.head, b'<dimension ref="A1:B%d"/>' % max(1, len(rows)), self.middle, b"<sheetData>"]
        for n, (key, value) in enumerate(rows.items(), start=1):
            out.append(b'<row r="%d"><c r="A%d"' % (n, n) + cell_tail(str(key)) + b'<c r="B%d"' % n
                       + cell_tail("" if value is None else str(value)) + b"</row>")
        out.append(b"</sheetData>")
        out.append(self.tail)
        return b"".join(out)


class _Core:
    """docProps/core.xml with the title and the created and modified times of each variant."""

    _TIMES = re.compile(rb"(<dcterms:(created|modified)\b[^>]*>)[^<]*(</dcterms:\2>)")
    _TITLE = re.compile(rb"(<dc:title\b[^>]*>)[^<]*(</dc:title>)")

    def __init__(self, xml: bytes) -> None:
        self.xml = xml

    def render(self, title: str | None, when: datetime) -> bytes:
        """The properties with *title* (None: the built one; the template must have one) and *when*."""
        stamp = when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
        xml = self._TIMES.sub(lambda m: m.group(1) + stamp + m.group(3), self.xml)
        if title is not None:
            xml, found = self._TITLE.subn(lambda m: m.group(1) + xml_text(title) + m.group(2), xml, count=1)
            if not found:
                raise ValueError("the template has no title to replace")
        return xml


@dataclass
class _Entry:
    info: zipfile.ZipInfo
    data: bytes | None  # uncompressed, kept for parts that vary
    crc: int = 0
    size: int = 0
    deflated: bytes = b""


def _deflate(data: bytes, level: int = 6) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def _dos_time(when: datetime) -> tuple[int, int]:
    t = when.astimezone().timetuple() if when.tzinfo else when.timetuple()
    year = min(max(t.tm_year, 1980), 2107)
    return (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2), ((year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday


def zip_bytes(entries: list[tuple[zipfile.ZipInfo, int, int, bytes]], when: datetime) -> bytes:
    """A zip of deflated parts: (info of the part, crc, uncompressed size, deflated bytes)."""
    tm, dt = _dos_time(when)
    local, central = [], []
    offset = 0
    for info, crc, size, deflated in entries:
        name = info.filename.encode("utf-8")
        flags = 0 if name.isascii() else 0x800
        head = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, zipfile.ZIP_DEFLATED, tm, dt, crc,
                           len(deflated), size, len(name), 0)
        local += (head, name, deflated)
        central.append(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", (info.create_system << 8) | 20, 20, flags,
                                   zipfile.ZIP_DEFLATED, tm, dt, crc, len(deflated), size, len(name), 0, 0, 0, 0,
                                   info.external_attr & 0xFFFFFFFF, offset) + name)
        offset += len(head) + len(name) + len(deflated)
    directory = b"".join(central)
    if offset > 0xFFFFFFFF or len(entries) > 0xFFFF:
        raise ValueError("a workbook this large is not spliced")
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), offset, 0)
    return b"".join(local) + directory + end


def sheet_parts(parts: Mapping[str, bytes]) -> dict[str, str]:
    """Sheet title → its part name, from the workbook and its relationships."""
    rels = {}
    for rel in _REL_RE.findall(parts["xl/_rels/workbook.xml.rels"]):
        attrs = dict(_ATTR_RE.findall(rel))
        if b"Id" in attrs and b"Target" in attrs:
            rels[attrs[b"Id"].decode()] = attrs[b"Target"].decode()
    out = {}
    for name, rid in _SHEET_RE.findall(parts["xl/workbook.xml"]):
        target = rels[rid.decode()].lstrip("/")
        title = _unescape(name.decode("utf-8"))
        out[title] = target if target.startswith("xl/") else "xl/" + target
    return out


def _unescape(text: str) -> str:
    from html import unescape

    return unescape(text) if "&" in text else text


class Splicer:
    """One workbook's bytes, ready to write variants of: cells of given sheets, the rows of the
    identification sheet *meta_sheet* and the title and times of the document properties."""

    def __init__(self, data: bytes, cells: Mapping[str, Iterable[str]], meta_sheet: str | None = None) -> None:
        with zipfile.ZipFile(BytesIO(data)) as zf:
            infos = zf.infolist()
            parts = {i.filename: zf.read(i) for i in infos}
        by_title = sheet_parts(parts)
        self.sheets: dict[str, tuple[str, _Sheet]] = {}  # title → (part, its segments)
        for title, refs in cells.items():
            refs = list(refs)
            if refs:
                self.sheets[title] = (by_title[title], _Sheet(parts[by_title[title]], refs))
        self.meta: tuple[str, _Meta] | None = None
        if meta_sheet is not None:
            self.meta = (by_title[meta_sheet], _Meta(parts[by_title[meta_sheet]]))
        self.core = _Core(parts[CORE_PART]) if CORE_PART in parts else None
        varying = {part for part, _s in self.sheets.values()} | ({self.meta[0]} if self.meta else set()) | {CORE_PART}
        self.entries: list[_Entry] = []
        for info in infos:  # each part compressed once; a variant compresses only the parts it changes
            data = parts[info.filename]
            self.entries.append(_Entry(info, data if info.filename in varying else None, zlib.crc32(data), len(data),
                                       _deflate(data)))
        self.size = len(data)

    def render(self, cells: Mapping[str, Mapping[str, object]] | None = None, *, meta: Mapping[str, str] | None = None,
               title: str | None = None, when: datetime | None = None) -> bytes:
        """The workbook with *cells* (sheet title → cell → value, or Raw XML) written, the
        identification sheet holding *meta* (key → text, in order; None: as built), the
        document title *title* (None: as built) and *when* as its created and modified time."""
        when = when or datetime.now(timezone.utc)
        new: dict[str, bytes] = {}
        for sheet_title, values in (cells or {}).items():
            if values:
                part, sheet = self.sheets[sheet_title]
                new[part] = sheet.render(values)
        if meta is not None and self.meta is not None:
            new[self.meta[0]] = self.meta[1].render(meta)
        if self.core is not None:
            new[CORE_PART] = self.core.render(title, when)
        out = []
        for e in self.entries:
            data = new.get(e.info.filename)
            if data is None or data == e.data:
                out.append((e.info, e.crc, e.size, e.deflated))
            else:
                out.append((e.info, zlib.crc32(data), len(data), _deflate(data, 1 if len(data) > 1 << 16 else 6)))
        return zip_bytes(out, when)

    def write(self, out: Path, cells: Mapping[str, Mapping[str, object]] | None = None, **kw: object) -> Path:
        """``render`` into *out*, atomically (a temporary file beside it, then a rename)."""
        data = self.render(cells, **kw)  # type: ignore[arg-type]
        return write_atomic(Path(out), lambda tmp: tmp.write_bytes(data))


def now() -> datetime:
    return datetime.fromtimestamp(time.time(), timezone.utc).replace(microsecond=0)
