"""A neutral view of a workbook: sheets, cells (value, formula), names, protection.

Three backends fill it: ``from_xml`` reads the .xlsx parts directly (fast, the
default), ``from_openpyxl`` goes through openpyxl (the reference the fast path is
tested against), and ``read.payload`` builds one from the JSON an xlwings client
sends (values only). Everything downstream reads a Book and nothing else.

``from_xml`` streams the package the safety gate opened (``safety.open_package``): each
part is decompressed once, checked as it goes by, parsed if the Book needs it, and the
reader bounds what it holds itself (cells per sheet and in all, elements of workbook.xml
and the shared strings), which is why it needs no cell-counting scan in front of it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pyexpat import ExpatError, ParserCreate
from xml.etree.ElementTree import ParseError

from defusedxml import EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import fromstring

from xltool.digests import blake2b
from xltool.form.address import column_index, column_letters
from xltool.lazyre import lazy_compile
from xltool.record import field, record

if TYPE_CHECKING:  # pragma: no cover
    from xltool.read.safety import FileFacts, Limits, Package

NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


@record(frozen=False)
class CellData:
    value: object = None  # the literal, or the cached result of a formula
    formula: str | None = None  # without the leading "="

    def __init__(self, value: object = None, formula: str | None = None) -> None:
        # Written out (the record keeps it): one per cell read, the hottest record of a check.
        self.value = value
        self.formula = formula


@record(frozen=False)
class SheetData:
    title: str
    state: str = "visible"
    protected: bool | None = None  # None: unknown (values-only source)
    cells: dict[str, CellData] = field(default_factory=dict)
    # What integrity checks compare with the template (None: unknown, e.g. values-only source).
    merges: list[str] | None = None  # merged ranges, as written
    validations: list[tuple[str, str]] | None = None  # (type, sqref) of every data validation
    styles: dict[str, str] | None = None  # cell → its style index as written (cells that name one)
    col_styles: list[tuple[str, str, str]] | None = None  # (min, max, style) of each styled <col>
    row_styles: dict[int, str] | None = None  # row → its style, for rows with customFormat
    raw: bytes | None = None  # the part's bytes, for a sheet whose cells were not parsed (skip)

    def get(self, ref: str) -> CellData:
        return self.cells.get(ref) or CellData()


@record(frozen=False)
class Book:
    sheets: dict[str, SheetData]
    names: dict[str, str] | None = None  # defined name → reference text; None: unknown
    structure_protected: bool | None = None
    source: str = "xml"
    has_formulas: bool = True
    has_cached: bool = True
    duplicate_sheets: list[str] = field(default_factory=list)  # titles given to more than one sheet
    local_names: dict[tuple[str, str], str] = field(default_factory=dict)  # (sheet title, name) → text
    duplicate_names: list[str] = field(default_factory=list)  # names defined twice in one scope
    locked_styles: list[bool] | None = None  # cellXfs index → locked (None: unknown)
    strings: list[str] = field(default_factory=list)  # the shared strings (to parse a raw sheet later)


# -- direct XML ---------------------------------------------------------------------

_CELL_RE = lazy_compile(r"^([A-Z]+)(\d+)$")


def _rels(package: Package, part: str) -> dict[str, str]:
    folder, name = posixpath.split(part)
    rels_path = posixpath.join(folder, "_rels", name + ".rels")
    if rels_path not in package:
        return {}
    root = fromstring(package.read(rels_path))
    out = {}
    for rel in root.iter(f"{NS_PKG_REL}Relationship"):
        target = rel.get("Target", "")
        if target.startswith("/"):
            out[rel.get("Id")] = target.lstrip("/")
        else:
            out[rel.get("Id")] = posixpath.normpath(posixpath.join(folder, target))
    return out


# The parts read on every check (shared strings, worksheets, workbook.xml) go through
# pyexpat directly with small handler objects: ElementTree's iterparse builds an Element per
# cell in Python and took three quarters of the reading time. The handlers keep exactly the
# semantics of the ElementTree code they replaced (first <v> and <f> child of a cell, the
# text of every <t> inside it, names as "{namespace}local"), and refuse entity declarations
# and external references as defusedxml does.

_SEP = "}"  # expat reports "uri}local"; with "{" in front that is ElementTree's tag


class _StopParsing(Exception):
    """Raised by a handler once the rest of a part does not matter."""


class _Overflow(Exception):
    """Raised by a handler that has counted more than its limit (cells or elements)."""


def _entity_decl(name, is_parameter_entity, value, base, sysid, pubid, notation_name):
    raise EntitiesForbidden(name, value, base, sysid, pubid, notation_name)


def _unparsed_entity_decl(name, base, sysid, pubid, notation_name):
    raise EntitiesForbidden(name, None, base, sysid, pubid, notation_name)


def _external_entity_ref(context, base, sysid, pubid):
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


def _parser(handler) -> object:
    parser = ParserCreate(namespace_separator=_SEP)
    parser.buffer_text = True
    parser.EntityDeclHandler = _entity_decl
    parser.UnparsedEntityDeclHandler = _unparsed_entity_decl
    parser.ExternalEntityRefHandler = _external_entity_ref
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    parser.CharacterDataHandler = handler.chars
    return parser


def _parse_part(package: Package, path: str, handler) -> None:
    """Feed a part to *handler* as it is decompressed; a handler may stop early (_StopParsing),
    and the rest of the part is then still read, for its CRC.

    Malformed XML raises ElementTree's ParseError, as the ElementTree code did.
    """
    parser = _parser(handler)
    handler.parser = parser  # a handler may swap in leaner callbacks for the rest of the part
    head = getattr(handler, "head_handlers", None)
    if head is not None:  # the handler tracks the part's head itself, then swaps back
        parser.StartElementHandler, parser.EndElementHandler = head()
    chunks = package.stream(path)
    offset, chunk = 0, b""  # bytes fed before the current chunk, and the chunk
    try:
        for chunk in chunks:
            if not offset and head is not None:
                handler.first = chunk  # the prolog and the root's start tag: part of the tail's memo key
            parser.Parse(chunk, False)
            offset += len(chunk)
        parser.Parse(b"", True)
    except _StopParsing:
        wants = getattr(handler, "rest", None)
        if wants is not None and handler.rest_from is not None:  # the handler reads the rest itself
            start = max(0, handler.rest_from - offset)
            wants(chunk[start:] + b"".join(chunks))
        for _rest in chunks:
            pass
    except ExpatError as exc:
        error = ParseError(exc)
        error.code, error.position = exc.code, (exc.lineno, exc.offset)
        raise error from None


class _Counted:
    """Counts the elements of parts other than worksheets (workbook.xml, shared strings)
    against one budget for the workbook: what ``inspect`` counts with a scan. Handlers
    count inline (``elements += 1``; a method call per element costs more than the test)."""

    __slots__ = ("elements", "limit")

    def __init__(self, package: Package) -> None:
        self.elements, self.limit = 0, package.limits.max_xml_elements


_M = NS_MAIN[1:]  # "uri}" as expat spells the main namespace
_T_SI, _T_T, _T_C, _T_V, _T_F = (f"{_M}{t}" for t in ("si", "t", "c", "v", "f"))
_T_RPH, _T_ROW, _T_COL = (f"{_M}{t}" for t in ("rPh", "row", "col"))


class _StringsHandler:
    """Each <si>: the text of its <t> descendants outside phonetic runs (<rPh>), as Excel shows
    it: the plain text, or the rich-text runs concatenated. The furigana/pinyin of an <rPh>
    (Excel writes them for East Asian text) are not part of the cell's value."""

    def __init__(self, counter: _Counted) -> None:
        self.out: list[str] = []
        self.parts: list[str] = []
        self.in_si = self.in_t = False
        self.in_rph = 0
        self.counter = counter

    def start(self, name: str, attrs: dict) -> None:
        counter = self.counter
        counter.elements += 1
        if counter.elements > counter.limit:
            raise _Overflow
        if name == _T_T:
            self.in_t = self.in_si and not self.in_rph
        elif name == _T_SI:
            self.in_si, self.parts, self.in_rph = True, [], 0
        elif name == _T_RPH:
            self.in_rph += 1

    def end(self, name: str) -> None:
        if name == _T_T:
            self.in_t = False
        elif name == _T_SI:
            self.out.append("".join(self.parts))
            self.in_si = False
        elif name == _T_RPH:
            self.in_rph -= 1

    def chars(self, text: str) -> None:
        if self.in_t:
            self.parts.append(text)


def _shared_strings(package: Package, path: str | None, counter: _Counted) -> list[str]:
    if not path or path not in package:
        return []
    handler = _StringsHandler(counter)
    try:
        _parse_part(package, path, handler)
    except _Overflow:
        raise package.too_many_elements(path, counter.elements) from None
    return handler.out


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "E" not in text.upper() else value


_T_PROTECTION = f"{_M}sheetProtection"
_T_SHEETDATA, _T_MERGE = f"{_M}sheetData", f"{_M}mergeCell"
_DV_LOCAL, _SQREF_LOCAL = "}dataValidation", "}sqref"  # main or x14 (Excel moves cross-sheet lists there)


class _SheetHandler:
    """Cells of one worksheet: value (typed as the cell's t says) and formula text.

    For each <c>: the text of its first <v> child, of its first <f> child (with the
    shared-formula attributes), and of every <t> inside it outside phonetic runs (inline
    strings, rich or plain). A <row> or <c> without its ``r`` attribute (the schema allows
    it) takes the position after the previous one, as Excel places it. After sheetData, the
    merged ranges and data validations (main and x14) are collected for the integrity checks.
    """

    __slots__ = ("strings", "sheet", "shared", "ref", "kind", "value", "formula", "f_type", "f_si",
                 "has_v", "has_f", "texts", "in_c", "collect", "buf", "cells", "limit", "row", "row_text",
                 "col", "in_rph", "style", "styles", "after", "dv", "in_sqref", "parser", "rest_from",
                 "memo", "first", "depth", "first_child", "sd_start", "tail_memo")

    def __init__(self, strings: list[str], sheet: SheetData, limit: int) -> None:
        self.strings, self.sheet = strings, sheet
        self.cells, self.limit = 0, limit  # <c> elements: the reader's own bound on what it holds
        self.shared: dict[str, tuple[str, str]] = {}  # si → (anchor cell, formula)
        self.in_c = False
        self.collect: str | None = None  # "v", "f" or "t" while inside that element
        self.buf: list[str] = []
        self.texts: list[str] | None = None  # the <t> texts of the current cell, once it has one
        self.row, self.row_text, self.col = 0, "0", 0  # col: -1 while unknown (the last cell named its r)
        self.ref = None
        self.in_rph = 0
        self.styles: dict[str, int] = {}
        self.after = False  # past sheetData
        self.dv: list[str] | None = None  # [type, sqref] of the data validation being read
        self.in_sqref = False
        self.parser = None
        self.rest_from: int | None = None  # where the part's tail was left to ``rest``
        self.memo = False  # memoise the tail (set by _read_sheet): see ``head_handlers``
        self.first: bytes = b""  # the part's first chunk (memo only)
        self.depth = 0  # open elements, counted only before sheetData (memo only)
        self.first_child: int | None = None  # where the root's first child starts
        self.sd_start: int | None = None  # where sheetData starts, if a child of the root
        self.tail_memo = False  # ``rest`` gets everything from </sheetData> on
        self.has_v = self.has_f = False
        self.kind = "n"
        sheet.merges, sheet.validations, sheet.styles = [], [], self.styles
        sheet.col_styles, sheet.row_styles = [], {}

    def start(self, name: str, attrs: dict) -> None:
        if self.in_c:  # a cell's children: only <v>, <f> and the <t> of inline strings matter
            if name == _T_V:
                if not self.has_v:
                    self.has_v, self.collect, self.buf = True, "v", []
            elif name == _T_F:
                if not self.has_f:
                    self.has_f, self.collect, self.buf = True, "f", []
                    self.f_type, self.f_si = attrs.get("t"), attrs.get("si", "")
            elif name == _T_T:
                if not self.in_rph:
                    self.collect = "t"
                    if self.texts is None:
                        self.texts = []
            elif name == _T_RPH:
                self.in_rph += 1
        elif name == _T_C:
            self.cells += 1
            if self.cells > self.limit:
                raise _Overflow
            self.in_c = True
            ref = attrs.get("r")
            if ref is None:  # implicit: the column after the previous cell of this row
                if self.col < 0:
                    m = _CELL_RE.match(self.ref or "")
                    self.col = column_index(m.group(1)) if m else 0
                self.col += 1
                ref = column_letters(self.col) + self.row_text
            else:
                self.col = -1
            self.ref, self.kind = ref, attrs.get("t", "n")
            self.has_v = self.has_f = False
            self.in_rph = 0
            self.texts = None  # most cells are empty and styled: nothing is allocated for them
            style = attrs.get("s")
            if style is not None:
                self.styles[ref] = style
        elif name == _T_ROW:
            r = attrs.get("r")
            self.row = int(r) if r is not None and r.isdigit() else self.row + 1
            self.row_text, self.col, self.ref = str(self.row), 0, None
            if attrs.get("customFormat") in ("1", "true") and attrs.get("s") is not None:
                self.sheet.row_styles[self.row] = attrs.get("s")
        elif self.after:
            self._tail(name, attrs)
        elif name == _T_COL:
            if attrs.get("style") is not None:
                self.sheet.col_styles.append((attrs.get("min", "0"), attrs.get("max", "0"), attrs.get("style")))
        elif name == _T_PROTECTION:
            self.sheet.protected = attrs.get("sheet") in ("1", "true")

    # The tail (everything after </sheetData>: merges, conditional formats, data validations,
    # protection) is the template's, byte for byte, in nearly every workbook of a batch. With
    # ``memo``, the cells are parsed as always and the tail's outcome is looked up by a digest
    # of the tail and of what gives it its context (the prolog and the root's start tag: the
    # namespaces, any DTD), and parsed on its own only when new. The context is the same
    # only when sheetData is a child of the root, which the head handlers check.

    def head_handlers(self):
        return (self._head_start, self._head_end) if self.memo else (self.start, self.end)

    def _head_start(self, name: str, attrs: dict) -> None:
        if self.depth == 1:
            if self.first_child is None:
                self.first_child = self.parser.CurrentByteIndex
            if name == _T_SHEETDATA:  # the cells: no more counting
                self.sd_start = self.parser.CurrentByteIndex
                self.parser.StartElementHandler, self.parser.EndElementHandler = self.start, self.end
        self.depth += 1
        self.start(name, attrs)

    def _head_end(self, name: str) -> None:
        self.depth -= 1
        self.end(name)

    def _memo_tail(self, data: bytes) -> None:
        close = data.find(b">")  # data starts with sheetData's end tag (it had cells)
        tail = memoryview(data)[close + 1:] if close >= 0 else b""
        prefix = self.first[: self.first_child]
        digest = blake2b(len(prefix).to_bytes(8, "little"))
        digest.update(prefix)
        digest.update(tail)
        key = digest.digest()
        hit = _TAILS.get(key)
        if hit is None:
            doc = prefix + tail
            probe = _SheetHandler(self.strings, SheetData(title=self.sheet.title), 0)
            probe.after = True
            parser = _parser(probe)
            probe.parser = parser
            parser.StartElementHandler, parser.EndElementHandler = probe._tail, probe._tail_end
            try:
                parser.Parse(doc, True)
            except _StopParsing:
                probe.rest(doc[probe.rest_from:])
            except ExpatError as exc:
                error = ParseError(exc)
                error.code, error.position = exc.code, (exc.lineno, exc.offset)
                raise error from None
            found = probe.sheet
            hit = (tuple(found.merges), tuple(found.validations), found.protected)
            if len(_TAILS) > 256:
                _TAILS.clear()
            _TAILS[key] = hit
        self.sheet.merges.extend(hit[0])
        self.sheet.validations.extend(hit[1])
        if self.sheet.protected is None:
            self.sheet.protected = hit[2]

    def _tail(self, name: str, attrs: dict) -> None:
        if name == _T_CF and self.parser is not None and self.dv is None:
            # Conditional formats are most of a sheet's bytes and nothing here needs them:
            # the data validations after them are found by ``rest`` without parsing them.
            self.rest_from = self.parser.CurrentByteIndex
            raise _StopParsing
        if name == _T_PROTECTION:
            if self.sheet.protected is None:  # the schema allows one; a second changes nothing
                self.sheet.protected = attrs.get("sheet") in ("1", "true")
        elif name == _T_MERGE:
            self.sheet.merges.append(attrs.get("ref", ""))
        elif name.endswith(_DV_LOCAL):
            self.dv = [attrs.get("type", "none"), attrs.get("sqref", "")]
        elif self.dv is not None and name.endswith(_SQREF_LOCAL):
            self.in_sqref, self.buf = True, []

    def rest(self, data: bytes) -> None:
        """The data validations (main and x14) in the tail of the part, from the conditional
        formats on: each <dataValidations> block is cut out and parsed on its own (or, with
        ``tail_memo``, the whole tail from </sheetData> on: ``_memo_tail``)."""
        if self.tail_memo:
            self._memo_tail(data)
            return
        for m in _DVS_RE.finditer(data):
            # The block's end: the element closed where it starts, else its end tag (searched
            # from there in *data* itself, not in a copy of the rest of it).
            start = m.start()
            end = _DVS_EMPTY_RE.match(data, start) or _DVS_END_RE.search(data, start)
            if end is None:
                break
            handler = _BlockHandler()
            parser = ParserCreate()  # no namespaces: the block's prefixes are declared on the root
            parser.EntityDeclHandler = _entity_decl
            parser.UnparsedEntityDeclHandler = _unparsed_entity_decl
            parser.ExternalEntityRefHandler = _external_entity_ref
            parser.StartElementHandler, parser.EndElementHandler = handler.start, handler.end
            parser.CharacterDataHandler = handler.chars
            parser.buffer_text = True
            try:
                parser.Parse(data[start:end.end()], True)
            except ExpatError as exc:
                raise ParseError(exc) from None
            self.sheet.validations.extend(handler.found)

    def _tail_end(self, name: str) -> None:
        if self.dv is not None:
            self.end(name)

    def chars(self, text: str) -> None:
        if self.collect == "t":
            self.texts.append(text)
        elif self.collect is not None or self.in_sqref:
            self.buf.append(text)

    def end(self, name: str) -> None:
        if name == _T_C:
            self.in_c = False
            if self.has_v or self.has_f or self.kind == "inlineStr":
                self._cell()
        elif self.collect == "v" and name == _T_V:
            self.value, self.collect = ("".join(self.buf) if self.buf else None), None
        elif self.collect == "f" and name == _T_F:
            self.formula, self.collect = ("".join(self.buf) if self.buf else None), None
        elif self.collect == "t" and name == _T_T:
            self.collect = None
        elif name == _T_RPH and self.in_c:
            self.in_rph -= 1
        elif name == _T_SHEETDATA:
            self.after = True
            if self.sd_start is not None and self.cells and self.first_child is not None \
                    and self.first_child < len(self.first) and not self.tail_memo:
                self.tail_memo = True  # the tail's outcome is memoised: ``_memo_tail``
                self.rest_from = self.parser.CurrentByteIndex
                raise _StopParsing
            if self.parser is not None:  # past the cells: only the tail's few elements matter
                self.parser.StartElementHandler = self._tail
                self.parser.EndElementHandler = self._tail_end
        elif self.in_sqref and name.endswith(_SQREF_LOCAL):
            self.in_sqref = False
            self.dv[1] = " ".join(filter(None, (self.dv[1], "".join(self.buf).strip())))
        elif self.dv is not None and name.endswith(_DV_LOCAL):
            self.sheet.validations.append((self.dv[0], self.dv[1]))
            self.dv = None

    def _cell(self) -> None:
        ref, kind = self.ref, self.kind
        text = self.value if self.has_v else None
        value: object = None
        if kind == "inlineStr":
            value = "".join(self.texts) if self.texts else ""
        elif text is not None:
            if kind == "s":
                index = int(text)
                value = self.strings[index] if 0 <= index < len(self.strings) else ""
            elif kind in ("str", "e"):
                value = text
            elif kind == "b":
                value = text == "1"
            else:
                try:
                    value = _number(text)
                except ValueError:
                    value = text
        formula = None
        if self.has_f:
            formula = self.formula
            if self.f_type == "shared":
                si = self.f_si
                if formula:
                    self.shared[si] = (ref, formula)
                elif si in self.shared:
                    formula = _translate(self.shared[si][1], self.shared[si][0], ref)
            if formula is None:
                formula = ""
        if ref and (value is not None or formula is not None):
            self.sheet.cells[ref] = CellData(value=value, formula=formula)


_T_CF = f"{_M}conditionalFormatting"
_TAILS: dict[bytes, tuple[tuple[str, ...], tuple[tuple[str, str], ...], bool | None]] = {}  # see _memo_tail
_DVS_RE = re.compile(rb"<(?:[A-Za-z_][\w.\-]{0,64}:)?dataValidations[\s>/]")
_DVS_END_RE = re.compile(rb"</(?:[A-Za-z_][\w.\-]{0,64}:)?dataValidations\s*>")
_DVS_EMPTY_RE = re.compile(rb"<[^<>]*/>")  # a block that is one empty element, where it starts


class _BlockHandler:
    """One <dataValidations> block, parsed without namespaces: (type, sqref) of each validation,
    the sqref an attribute (main) or an <xm:sqref> child (x14)."""

    def __init__(self) -> None:
        self.found: list[tuple[str, str]] = []
        self.dv: list[str] | None = None
        self.buf: list[str] | None = None

    def start(self, name: str, attrs: dict) -> None:
        local = name.rsplit(":", 1)[-1]
        if local == "dataValidation":
            self.dv = [attrs.get("type", "none"), attrs.get("sqref", "")]
        elif local == "sqref" and self.dv is not None:
            self.buf = []

    def end(self, name: str) -> None:
        local = name.rsplit(":", 1)[-1]
        if local == "sqref" and self.buf is not None:
            self.dv[1] = " ".join(filter(None, (self.dv[1], "".join(self.buf).strip())))
            self.buf = None
        elif local == "dataValidation" and self.dv is not None:
            self.found.append((self.dv[0], self.dv[1]))
            self.dv = None

    def chars(self, text: str) -> None:
        if self.buf is not None:
            self.buf.append(text)


def _read_sheet(package: Package, path: str, strings: list[str], sheet: SheetData) -> None:
    handler = _SheetHandler(strings, sheet, package.cell_limit())
    handler.memo = True
    try:
        _parse_part(package, path, handler)
    except _Overflow:
        raise package.too_many_cells(path, sheet.title, handler.cells, handler.ref or "") from None
    package.cells += handler.cells
    if sheet.protected is None:
        sheet.protected = False


def parse_raw(sheet: SheetData, strings: list[str], limit: int = 2_000_000) -> SheetData:
    """The cells of a sheet read raw (``skip``), parsed now: a copy of *sheet* with them.

    Raises ValueError for malformed XML or more than *limit* cells (the raw bytes already
    passed the gate's checks when the package was read)."""
    parsed = SheetData(title=sheet.title, state=sheet.state)
    handler = _SheetHandler(strings, parsed, limit)
    parser = _parser(handler)
    handler.parser = parser
    try:
        parser.Parse(sheet.raw or b"", True)
    except (_Overflow, ExpatError) as exc:
        raise ValueError(f"{sheet.title}: {type(exc).__name__}") from None
    except _StopParsing:
        if handler.rest_from is not None:
            try:
                handler.rest((sheet.raw or b"")[handler.rest_from:])
            except ParseError:
                raise ValueError(f"{sheet.title}: ParseError") from None
    if parsed.protected is None:
        parsed.protected = sheet.protected if sheet.protected is not None else False
    return parsed


def _translate(formula: str, origin: str, dest: str) -> str:
    from openpyxl.formula.translate import Translator

    return Translator("=" + formula, origin=origin).translate_formula(dest)[1:]


def from_xml(path: Path, skip: frozenset[str] = frozenset(), limits: Limits | None = None) -> Book:
    """Read an .xlsx package directly (no openpyxl): about ten times faster.

    Sheets named in *skip* are listed but their cells are not read (the 审核 sheet). The file
    goes through the safety gate's container checks first (``open_package``).
    """
    from xltool.read.safety import open_package

    return read_package(open_package(path, limits), skip)[0]


def read_package(package: Package, skip: frozenset[str] = frozenset(), *, first: str | None = None,
                 accept: Callable[[Book], object] | None = None) -> tuple[Book, FileFacts]:
    """The Book of a package that passed ``open_package``, and the file's facts; every part is
    decompressed once, and the parts the Book does not need are only checked.

    With *first* and *accept*, the sheet titled *first* is read before the others and
    ``accept`` sees a Book holding only that sheet (or none): it raises to refuse the
    workbook before anything else is parsed (a workbook that is not ours, however big).
    """
    try:
        wb_part = package.workbook_part
        wb_rels = _rels(package, wb_part)
        counter = _Counted(package)
        workbook = _read_workbook(package, wb_part, counter)
        strings_path = next(
            (t for t in wb_rels.values() if t.endswith("sharedStrings.xml")), "xl/sharedStrings.xml"
        )
        strings = _shared_strings(package, strings_path, counter)

        def read(attrs: dict[str, str]) -> SheetData:
            title = attrs.get("name", "")
            target = wb_rels.get(attrs.get(_REL_ID, ""), "")
            sheet = SheetData(title=title, state=attrs.get("state", "visible"))
            if target in package and "worksheets/" in target:
                if title in skip:  # kept raw: only the integrity checks look into it, cheaply
                    sheet.raw = b"".join(package.stream(target))
                else:
                    _read_sheet(package, target, strings, sheet)
            return sheet

        head = next((attrs for attrs in workbook.sheets if first is not None and attrs.get("name", "") == first), None)
        early = read(head) if head is not None else None
        if accept is not None:
            accept(Book(sheets={first: early} if early is not None else {}, names=workbook.names,
                        structure_protected=workbook.structure))
        sheets: dict[str, SheetData] = {}
        seen: set[str] = set()
        duplicates: list[str] = []
        for attrs in workbook.sheets:
            title = attrs.get("name", "")
            if title.casefold() in seen:  # Excel compares tab names without case: the first is shown
                duplicates.append(title)
                continue
            seen.add(title.casefold())
            sheets[title] = early if attrs is head else read(attrs)
        styles_path = next((t for t in wb_rels.values() if t.endswith("styles.xml")), "xl/styles.xml")
        locked = _locked_styles(package, styles_path, counter)
        facts = package.close()
    finally:
        package.discard()
    titles = [attrs.get("name", "") for attrs in workbook.sheets]
    local = {}
    for index, name, text in workbook.local:
        if index.isdigit() and int(index) < len(titles):
            local[(titles[int(index)], name)] = text
    book = Book(sheets=sheets, names=workbook.names, structure_protected=workbook.structure, source="xml",
                duplicate_sheets=duplicates, local_names=local, duplicate_names=workbook.duplicates,
                locked_styles=locked, strings=strings)
    return book, facts


_T_XF, _T_CELLXFS, _T_CELL_PROT = (f"{_M}{t}" for t in ("xf", "cellXfs", "protection"))


class _StylesHandler:
    """styles.xml: for each <xf> of <cellXfs>, whether it locks its cells (Excel's default)."""

    def __init__(self, counter: _Counted) -> None:
        self.counter = counter
        self.locked: list[bool] = []
        self.in_xfs = False

    def start(self, name: str, attrs: dict) -> None:
        counter = self.counter
        counter.elements += 1
        if counter.elements > counter.limit:
            raise _Overflow
        if name == _T_CELLXFS:
            self.in_xfs = True
        elif self.in_xfs:
            if name == _T_XF:
                self.locked.append(True)
            elif name == _T_CELL_PROT and self.locked:
                self.locked[-1] = attrs.get("locked", "1") not in ("0", "false")

    def end(self, name: str) -> None:
        if name == _T_CELLXFS:
            raise _StopParsing

    def chars(self, text: str) -> None:
        pass


_STYLES: dict[bytes, tuple[int, tuple[bool, ...]]] = {}  # digest of styles.xml → (elements counted, locked)


def _feed_part(package: Package, path: str, handler, data: bytes, final: bool) -> None:
    """Parse *data* (the part, or what came of it before the stream failed) as ``_parse_part`` would."""
    parser = _parser(handler)
    try:
        parser.Parse(data, final)
    except _StopParsing:
        pass
    except _Overflow:
        raise package.too_many_elements(path, handler.counter.elements) from None
    except ExpatError as exc:
        error = ParseError(exc)
        error.code, error.position = exc.code, (exc.lineno, exc.offset)
        raise error from None


def _memoised(package: Package, path: str, handler, counter: _Counted, cache: dict, keep, restore):
    """Parse the part at *path* with *handler*, or take its outcome from *cache*: a batch sees
    the template's parts again and again, so ``keep(handler)`` is memoised by a digest of the
    part's bytes, with the elements it counted against the budget (charged again on a hit, and
    overflowing where the parse would have stopped). Returns ``restore(kept)`` on a hit, else None
    (the outcome is then in *handler*)."""
    got: list[bytes] = []
    try:
        for chunk in package.stream(path):
            got.append(chunk)
    except BaseException:
        # A damaged part: what the streaming parse would have raised first still comes first.
        _feed_part(package, path, handler, b"".join(got), False)
        raise
    data = b"".join(got)
    key = blake2b(data).digest()
    hit = cache.get(key)
    if hit is not None:
        counter.elements += hit[0]
        if counter.elements > counter.limit:  # where the parse would have stopped
            counter.elements = counter.limit + 1
            raise package.too_many_elements(path, counter.elements)
        return restore(hit[1])
    before = counter.elements
    _feed_part(package, path, handler, data, True)
    if len(cache) > 64:
        cache.clear()
    cache[key] = (counter.elements - before, keep(handler))
    return None


def _locked_styles(package: Package, path: str, counter: _Counted) -> list[bool] | None:
    """The cellXfs' locks (memoised by the styles part's digest)."""
    if path not in package:
        return None
    handler = _StylesHandler(counter)
    hit = _memoised(package, path, handler, counter, _STYLES, lambda h: tuple(h.locked), list)
    return hit if hit is not None else handler.locked


_WORKBOOKS: dict[bytes, tuple[int, _WorkbookHandler]] = {}  # digest of workbook.xml → (elements, parsed)


def _read_workbook(package: Package, path: str, counter: _Counted) -> _WorkbookHandler:
    """workbook.xml, parsed (memoised by its digest)."""
    def keep(h: _WorkbookHandler) -> _WorkbookHandler:
        h.names, h.duplicates  # built once, for every copy  # noqa: B018
        return h.copy(counter)

    handler = _WorkbookHandler(counter)
    hit = _memoised(package, path, handler, counter, _WORKBOOKS, keep, lambda kept: kept.copy(counter))
    return hit if hit is not None else handler


_REL_ID = f"{NS_REL[1:]}id"  # r:id as expat names the attribute
_T_SHEET, _T_NAME, _T_WB_PROTECTION = (f"{_M}{t}" for t in ("sheet", "definedName", "workbookProtection"))


class _WorkbookHandler:
    """workbook.xml: every <sheet>, every <definedName> (its text up to any child element) by
    scope, the names defined twice in one scope, and the lockStructure of the first
    <workbookProtection> child of the root. Of a workbook-level name defined twice, the
    first counts (as Excel keeps it); the duplicate itself is reported."""

    def __init__(self, counter: _Counted) -> None:
        self.counter = counter
        self.sheets: list[dict[str, str]] = []
        self._names: list[tuple[str | None, str, list[str]]] = []  # (localSheetId, name, text) in order
        self._names_out: dict[str, str] | None = None  # ``names``, once built
        self._dups_out: list[str] | None = None  # ``duplicates``, once built
        self._parts: list[str] | None = None  # text parts of the definedName being read
        self._depth = 0
        self.structure: bool = False
        self._structure_seen = False

    def copy(self, counter: _Counted) -> _WorkbookHandler:
        """The outcome of a parsed part, for another workbook with the same bytes (the names'
        texts are shared: nothing changes them once parsed)."""
        other = _WorkbookHandler(counter)
        other.sheets = [dict(attrs) for attrs in self.sheets]
        other._names = self._names
        other._names_out, other._dups_out = self._names_out, self._dups_out
        other.structure, other._structure_seen = self.structure, self._structure_seen
        return other

    @property
    def names(self) -> dict[str, str]:
        """(Read once the part is parsed; each call gets its own dict.)"""
        if self._names_out is None:
            out: dict[str, str] = {}
            for scope, name, parts in self._names:
                if scope is None and name not in out:
                    out[name] = "".join(parts)
            self._names_out = out
        return dict(self._names_out)

    @property
    def local(self) -> list[tuple[str, str, str]]:
        return [(scope, name, "".join(parts)) for scope, name, parts in self._names if scope is not None]

    @property
    def duplicates(self) -> list[str]:
        if self._dups_out is None:
            seen: set[tuple[str | None, str]] = set()
            out = []
            for scope, name, _parts in self._names:
                key = (scope, name.casefold())
                if key in seen:
                    out.append(name)
                seen.add(key)
            self._dups_out = out
        return list(self._dups_out)

    def start(self, name: str, attrs: dict) -> None:
        counter = self.counter
        counter.elements += 1
        if counter.elements > counter.limit:
            raise _Overflow
        self._depth += 1
        self._parts = None  # an element's text ends where its first child starts
        if name == _T_NAME:
            self._parts = []
            self._names.append((attrs.get("localSheetId"), attrs.get("name", ""), self._parts))
        elif name == _T_SHEET:
            self.sheets.append(attrs)
        elif name == _T_WB_PROTECTION and self._depth == 2 and not self._structure_seen:
            self._structure_seen = True
            self.structure = attrs.get("lockStructure") in ("1", "true")

    def end(self, name: str) -> None:
        self._depth -= 1
        self._parts = None

    def chars(self, text: str) -> None:
        if self._parts is not None:
            self._parts.append(text)


# -- openpyxl (reference) -----------------------------------------------------------

def from_openpyxl(path: Path) -> Book:
    """The same view through openpyxl: two loads, formulas and cached values."""
    import openpyxl

    formulas = openpyxl.load_workbook(path, data_only=False, keep_links=False)
    cached = openpyxl.load_workbook(path, data_only=True, keep_links=False)
    sheets: dict[str, SheetData] = {}
    for ws in formulas.worksheets:
        cws = cached[ws.title]
        sheet = SheetData(title=ws.title, state=ws.sheet_state, protected=bool(ws.protection.sheet))
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if value is None:
                    continue
                if cell.data_type == "f" or (isinstance(value, str) and value.startswith("=")):
                    text = value.text if hasattr(value, "text") else str(value)
                    sheet.cells[cell.coordinate] = CellData(value=_plain(cws[cell.coordinate].value), formula=text.lstrip("="))
                else:
                    sheet.cells[cell.coordinate] = CellData(value=_plain(value))
        sheets[ws.title] = sheet
    names = {name: dn.attr_text for name, dn in formulas.defined_names.items()}
    prot = formulas.security
    structure = bool(prot and prot.lockStructure)
    return Book(sheets=sheets, names=names, structure_protected=structure, source="openpyxl")


def _plain(value: object) -> object:
    """openpyxl converts date-formatted numbers to datetime; keep the Excel serial instead."""
    from datetime import date, datetime

    from openpyxl.utils.datetime import to_excel

    if isinstance(value, (datetime, date)):
        return to_excel(value)
    return value
