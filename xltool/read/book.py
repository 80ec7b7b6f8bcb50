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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pyexpat import ExpatError, ParserCreate
from xml.etree.ElementTree import ParseError

from defusedxml import EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import fromstring

if TYPE_CHECKING:  # pragma: no cover
    from xltool.read.safety import FileFacts, Limits, Package

NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


@dataclass
class CellData:
    value: object = None  # the literal, or the cached result of a formula
    formula: str | None = None  # without the leading "="


@dataclass
class SheetData:
    title: str
    state: str = "visible"
    protected: bool | None = None  # None: unknown (values-only source)
    cells: dict[str, CellData] = field(default_factory=dict)

    def get(self, ref: str) -> CellData:
        return self.cells.get(ref) or CellData()


@dataclass
class Book:
    sheets: dict[str, SheetData]
    names: dict[str, str] | None = None  # defined name → reference text; None: unknown
    structure_protected: bool | None = None
    source: str = "xml"
    has_formulas: bool = True
    has_cached: bool = True


# -- direct XML ---------------------------------------------------------------------

_CELL_RE = re.compile(r"^([A-Z]+)(\d+)$")


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
    chunks = package.stream(path)
    try:
        for chunk in chunks:
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _StopParsing:
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


class _StringsHandler:
    """Each <si>: the text of all its <t> descendants (rich-text runs and phonetic runs alike)."""

    def __init__(self, counter: _Counted) -> None:
        self.out: list[str] = []
        self.parts: list[str] = []
        self.in_si = self.in_t = False
        self.counter = counter

    def start(self, name: str, attrs: dict) -> None:
        counter = self.counter
        counter.elements += 1
        if counter.elements > counter.limit:
            raise _Overflow
        if name == _T_T:
            self.in_t = self.in_si
        elif name == _T_SI:
            self.in_si, self.parts = True, []

    def end(self, name: str) -> None:
        if name == _T_T:
            self.in_t = False
        elif name == _T_SI:
            self.out.append("".join(self.parts))
            self.in_si = False

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


# Parts of a worksheet that come after sheetData and sheetProtection (ECMA-376 order):
# nothing in them matters to the reader, and conditional formats are most of the bytes.
_STOP = {f"{NS_MAIN}{t}" for t in ("protectedRanges", "scenarios", "autoFilter", "sortState", "mergeCells",
                                    "phoneticPr", "conditionalFormatting", "dataValidations", "hyperlinks",
                                    "printOptions", "pageMargins", "pageSetup", "drawing", "legacyDrawing")}


_T_PROTECTION = f"{_M}sheetProtection"
_STOP_NAMES = frozenset(tag[1:] for tag in _STOP)


class _SheetHandler:
    """Cells of one worksheet: value (typed as the cell's t says) and formula text.

    For each <c>: the text of its first <v> child, of its first <f> child (with the
    shared-formula attributes), and of every <t> inside it (inline strings).
    """

    __slots__ = ("strings", "sheet", "shared", "ref", "kind", "value", "formula", "f_type", "f_si",
                 "has_v", "has_f", "texts", "in_c", "collect", "buf", "cells", "limit")

    def __init__(self, strings: list[str], sheet: SheetData, limit: int) -> None:
        self.strings, self.sheet = strings, sheet
        self.cells, self.limit = 0, limit  # <c> elements: the reader's own bound on what it holds
        self.shared: dict[str, tuple[str, str]] = {}  # si → (anchor cell, formula)
        self.in_c = False
        self.collect: str | None = None  # "v", "f" or "t" while inside that element
        self.buf: list[str] = []
        self.texts: list[str] | None = None  # the <t> texts of the current cell, once it has one

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
                self.collect = "t"
                if self.texts is None:
                    self.texts = []
        elif name == _T_C:
            self.cells += 1
            if self.cells > self.limit:
                raise _Overflow
            self.in_c = True
            self.ref, self.kind = attrs.get("r"), attrs.get("t", "n")
            self.has_v = self.has_f = False
            self.texts = None  # most cells are empty and styled: nothing is allocated for them
        elif name == _T_PROTECTION:
            self.sheet.protected = attrs.get("sheet") in ("1", "true")
        elif name in _STOP_NAMES:
            raise _StopParsing

    def chars(self, text: str) -> None:
        if self.collect == "t":
            self.texts.append(text)
        elif self.collect is not None:
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


def _read_sheet(package: Package, path: str, strings: list[str], sheet: SheetData) -> None:
    handler = _SheetHandler(strings, sheet, package.cell_limit())
    try:
        _parse_part(package, path, handler)
    except _Overflow:
        raise package.too_many_cells(path, sheet.title, handler.cells, handler.ref or "") from None
    package.cells += handler.cells
    if sheet.protected is None:
        sheet.protected = False


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
        workbook = _WorkbookHandler(counter)
        try:
            _parse_part(package, wb_part, workbook)
        except _Overflow:
            raise package.too_many_elements(wb_part, counter.elements) from None
        strings_path = next(
            (t for t in wb_rels.values() if t.endswith("sharedStrings.xml")), "xl/sharedStrings.xml"
        )
        strings = _shared_strings(package, strings_path, counter)

        def read(attrs: dict[str, str]) -> SheetData:
            title = attrs.get("name", "")
            target = wb_rels.get(attrs.get(_REL_ID, ""), "")
            sheet = SheetData(title=title, state=attrs.get("state", "visible"))
            if target in package and "worksheets/" in target and title not in skip:
                _read_sheet(package, target, strings, sheet)
            return sheet

        head = next((attrs for attrs in workbook.sheets if first is not None and attrs.get("name", "") == first), None)
        early = read(head) if head is not None else None
        if accept is not None:
            accept(Book(sheets={first: early} if early is not None else {}, names=workbook.names,
                        structure_protected=workbook.structure))
        sheets: dict[str, SheetData] = {}
        for attrs in workbook.sheets:
            sheets[attrs.get("name", "")] = early if attrs is head else read(attrs)
        facts = package.close()
    finally:
        package.discard()
    book = Book(sheets=sheets, names=workbook.names, structure_protected=workbook.structure, source="xml")
    return book, facts


_REL_ID = f"{NS_REL[1:]}id"  # r:id as expat names the attribute
_T_SHEET, _T_NAME, _T_WB_PROTECTION = (f"{_M}{t}" for t in ("sheet", "definedName", "workbookProtection"))


class _WorkbookHandler:
    """workbook.xml: every <sheet>, every workbook-level <definedName> (its text up to any
    child element, later duplicates winning) and the lockStructure of the first
    <workbookProtection> child of the root."""

    def __init__(self, counter: _Counted) -> None:
        self.counter = counter
        self.sheets: list[dict[str, str]] = []
        self._names: list[tuple[str, list[str]]] = []  # in document order
        self._parts: list[str] | None = None  # text parts of the definedName being read
        self._depth = 0
        self.structure: bool = False
        self._structure_seen = False

    @property
    def names(self) -> dict[str, str]:
        return {name: "".join(parts) for name, parts in self._names}

    def start(self, name: str, attrs: dict) -> None:
        counter = self.counter
        counter.elements += 1
        if counter.elements > counter.limit:
            raise _Overflow
        self._depth += 1
        self._parts = None  # an element's text ends where its first child starts
        if name == _T_NAME:
            if attrs.get("localSheetId") is None:
                self._parts = []
                self._names.append((attrs.get("name", ""), self._parts))
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
