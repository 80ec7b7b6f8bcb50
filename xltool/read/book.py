"""A neutral view of a workbook: sheets, cells (value, formula), names, protection.

Three backends fill it: ``from_xml`` reads the .xlsx parts directly (fast, the
default), ``from_openpyxl`` goes through openpyxl (the reference the fast path is
tested against), and ``addin.payload`` builds one from the JSON an xlwings client
sends (values only). Everything downstream reads a Book and nothing else.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from defusedxml.ElementTree import fromstring, iterparse

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


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, str]:
    folder, name = posixpath.split(part)
    rels_path = posixpath.join(folder, "_rels", name + ".rels")
    if rels_path not in zf.namelist():
        return {}
    root = fromstring(zf.read(rels_path))
    out = {}
    for rel in root.iter(f"{NS_PKG_REL}Relationship"):
        target = rel.get("Target", "")
        if target.startswith("/"):
            out[rel.get("Id")] = target.lstrip("/")
        else:
            out[rel.get("Id")] = posixpath.normpath(posixpath.join(folder, target))
    return out


def _shared_strings(zf: zipfile.ZipFile, path: str | None) -> list[str]:
    if not path or path not in zf.namelist():
        return []
    out = []
    for _event, elem in iterparse(zf.open(path), events=("end",)):
        if elem.tag == f"{NS_MAIN}si":
            out.append("".join(t.text or "" for t in elem.iter(f"{NS_MAIN}t")))
            elem.clear()
    return out


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "E" not in text.upper() else value


# Parts of a worksheet that come after sheetData and sheetProtection (ECMA-376 order):
# nothing in them matters to the reader, and conditional formats are most of the bytes.
_STOP = {f"{NS_MAIN}{t}" for t in ("protectedRanges", "scenarios", "autoFilter", "sortState", "mergeCells",
                                    "phoneticPr", "conditionalFormatting", "dataValidations", "hyperlinks",
                                    "printOptions", "pageMargins", "pageSetup", "drawing", "legacyDrawing")}


def _read_sheet(zf: zipfile.ZipFile, path: str, strings: list[str], sheet: SheetData) -> None:
    shared: dict[str, tuple[str, str]] = {}  # si → (anchor cell, formula)
    for event, elem in iterparse(zf.open(path), events=("start", "end")):
        tag = elem.tag
        if event == "start":
            if tag in _STOP:
                break
            continue
        if tag == f"{NS_MAIN}c":
            ref = elem.get("r")
            kind = elem.get("t", "n")
            v = elem.find(f"{NS_MAIN}v")
            f = elem.find(f"{NS_MAIN}f")
            value: object = None
            if kind == "inlineStr":
                value = "".join(t.text or "" for t in elem.iter(f"{NS_MAIN}t"))
            elif v is not None and v.text is not None:
                text = v.text
                if kind == "s":
                    index = int(text)
                    value = strings[index] if 0 <= index < len(strings) else ""
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
            if f is not None:
                formula = f.text
                if f.get("t") == "shared":
                    si = f.get("si", "")
                    if formula:
                        shared[si] = (ref, formula)
                    elif si in shared:
                        formula = _translate(shared[si][1], shared[si][0], ref)
                if formula is None:
                    formula = ""
            if ref and (value is not None or formula is not None):
                sheet.cells[ref] = CellData(value=value, formula=formula)
            elem.clear()
        elif tag == f"{NS_MAIN}sheetProtection":
            sheet.protected = elem.get("sheet") in ("1", "true")
        elif tag == f"{NS_MAIN}row":
            elem.clear()
    if sheet.protected is None:
        sheet.protected = False


def _translate(formula: str, origin: str, dest: str) -> str:
    from openpyxl.formula.translate import Translator

    return Translator("=" + formula, origin=origin).translate_formula(dest)[1:]


def from_xml(path: Path, skip: frozenset[str] = frozenset()) -> Book:
    """Read an .xlsx package directly (no openpyxl): about ten times faster.

    Sheets named in *skip* are listed but their cells are not read (the 审核 sheet).
    """
    with zipfile.ZipFile(path) as zf:
        wb_rels = _rels(zf, "xl/workbook.xml")
        root = fromstring(zf.read("xl/workbook.xml"))
        strings_path = next(
            (t for t in wb_rels.values() if t.endswith("sharedStrings.xml")), "xl/sharedStrings.xml"
        )
        strings = _shared_strings(zf, strings_path)
        sheets: dict[str, SheetData] = {}
        for node in root.iter(f"{NS_MAIN}sheet"):
            title = node.get("name", "")
            target = wb_rels.get(node.get(f"{NS_REL}id", ""), "")
            sheet = SheetData(title=title, state=node.get("state", "visible"))
            if target in zf.namelist() and "worksheets/" in target and title not in skip:
                _read_sheet(zf, target, strings, sheet)
            sheets[title] = sheet
        names = {}
        for node in root.iter(f"{NS_MAIN}definedName"):
            if node.get("localSheetId") is None:
                names[node.get("name", "")] = node.text or ""
        prot = root.find(f"{NS_MAIN}workbookProtection")
        structure = prot is not None and prot.get("lockStructure") in ("1", "true")
    return Book(sheets=sheets, names=names, structure_protected=structure, source="xml")


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
                    sheet.cells[cell.coordinate] = CellData(value=cws[cell.coordinate].value, formula=text.lstrip("="))
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
