"""Helpers for the add-in tests (no tests here): payloads shaped like the Office.js client's, and a
replay of the returned actions on a model of the workbook (no Excel here)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import openpyxl
from openpyxl.utils.cell import get_column_letter

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

ROOT = Path(__file__).resolve().parents[1]
YEAR = 2023
ALLOWED = {"setRangeColor", "addNote", "deleteNote", "setValues", "rangeClearContents"}
_STATES = {"visible": "Visible", "hidden": "Hidden", "veryHidden": "VeryHidden"}


def client_value(value: object) -> object:
    """A cell value as Office.js sends it: "" for empty, dates as toISOString()."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%dT00:00:00.000Z")
    return value


def payload_from_xlsx(path: Path, *, cached: bool = False, **kw) -> dict:
    """The payload an xlwings client sends for the workbook at *path* (see payload_from_workbook)."""
    return payload_from_workbook(openpyxl.load_workbook(path, data_only=cached), Path(path).name, cached=cached, **kw)


def payload_from_workbook(wb, name: str, *, computed: dict[tuple[str, str], object] | None = None,
                          cached: bool = False, client: str = "Office.js", notes: dict[str, list[str]] | None = None,
                          drop: tuple[str, ...] = (), values: dict[tuple[str, str], object] | None = None) -> dict:
    """The payload an xlwings client sends for the openpyxl workbook *wb*.

    Formulas become their result: the cached one (*cached*, after LibreOffice
    recalculation) or the value in *computed* ((sheet, cell) → value), else "".
    *notes*: sheet → cells that carry a note. *values*: cells to override (the 审核 list a
    previous run left). *drop*: sheets the client leaves out.
    """
    import xlwings as xw

    sheets = []
    names = []
    for index, ws in enumerate(wb.worksheets):
        if ws.title in drop:
            continue
        rows = []
        for r, row in enumerate(ws.iter_rows(min_row=1, min_col=1, max_row=ws.max_row, max_col=ws.max_column,
                                             values_only=True), start=1):
            out = []
            for c, value in enumerate(row, start=1):
                ref = f"{get_column_letter(c)}{r}"
                if values and (ws.title, ref) in values:
                    value = values[(ws.title, ref)]
                elif not cached and isinstance(value, str) and value.startswith("="):
                    value = (computed or {}).get((ws.title, ref), "")
                elif not cached and type(value).__name__ in ("ArrayFormula", "DataTableFormula"):
                    value = ""
                out.append(client_value(value))
            rows.append(out)
        entry = {"name": ws.title, "visibility": _STATES.get(ws.sheet_state, "Visible"), "values": rows or [[]],
                 "pictures": [], "tables": []}
        if client == "Office.js" and notes is not None:
            entry["notes"] = [{"address": a} for a in notes.get(ws.title, [])]
        sheets.append(entry)
    for defined, dn in wb.defined_names.items():
        for title, ref in dn.destinations:
            if title in wb.sheetnames:
                names.append({"name": defined, "sheet_index": wb.sheetnames.index(title), "address": ref.replace("$", ""),
                              "book_scope": True, "scope_sheet_name": None, "scope_sheet_index": None})
    payload = {"client": client, "version": xw.__version__,
               "book": {"name": name, "active_sheet_index": 0, "selection": "B3"},
               "names": names, "sheets": sheets}
    if client == "Office.js" and notes is not None:
        payload["xltool_pane"] = True  # what xltool's own task pane sends (it reports notes, too)
    return payload


def computed_values(path: Path, result=None) -> dict[tuple[str, str], object]:
    """(sheet, cell) → the value Excel would show for each derived field (computed by xltool).

    *result*: the ReadResult of *path* when the caller has it already.
    """
    from xltool.read.reader import read_path

    result = result or read_path(path)
    out = {}
    for f in result.form.fields:
        if f.derived:
            value = result.values.get(f.id)
            out[(result.form.sheet_title(f.sheet), f.cell)] = value if isinstance(value, (int, float, str)) else ""
    return out


def office_payload(path: Path, result=None, **kw) -> dict:
    return payload_from_xlsx(path, computed=computed_values(path, result), **kw)


@dataclass
class Workbook:
    """What the replayed actions leave: fills, notes and the values written."""

    sheets: list[str]
    fills: dict[tuple[str, str], str | None] = field(default_factory=dict)
    notes: dict[tuple[str, str], str] = field(default_factory=dict)
    values: dict[tuple[str, str], object] = field(default_factory=dict)
    funcs: list[str] = field(default_factory=list)
    writes: list[tuple[str, str]] = field(default_factory=list)  # (sheet, cell) of setValues / clear

    def cells(self, action: dict) -> list[tuple[str, str]]:
        sheet = self.sheets[action["sheet_position"]]
        return [(sheet, f"{get_column_letter(action['start_column'] + 1 + c)}{action['start_row'] + 1 + r}")
                for r in range(action["row_count"]) for c in range(action["column_count"])]

    def replay(self, actions: list[dict]) -> "Workbook":
        for action in actions:
            func = action["func"]
            self.funcs.append(func)
            cells = self.cells(action) if action.get("start_row") is not None else []
            if func == "setRangeColor":
                for key in cells:
                    self.fills[key] = action["args"][0]
            elif func == "addNote":
                (key,) = cells
                assert key not in self.notes, f"note added twice on {key}"
                self.notes[key] = action["args"][1]
            elif func == "deleteNote":
                (key,) = cells
                assert key in self.notes, f"deleting a note that is not there: {key}"
                del self.notes[key]
            elif func == "setValues":
                for (key, value) in zip(cells, [v for row in action["values"] for v in row]):
                    self.values[key] = value
                    self.writes.append(key)
            elif func == "rangeClearContents":
                for key in cells:
                    self.values[key] = ""
                    self.writes.append(key)
        return self

    def list_rows(self) -> list[list[object]]:
        rows = []
        for r in range(5, 305):
            row = [self.values.get(("审核", f"{c}{r}"), "") for c in "KLMNOP"]
            if any(v not in ("", None) for v in row):
                rows.append(row)
        return rows


@lru_cache(maxsize=1)
def make_workbooks() -> dict[str, Path]:
    """The blank template, the example and the corrected example as files (made once per run)."""
    from xltool.template.fill import fill_workbook, load_data
    from xltool.template.writer import build_workbook, save_atomic

    tmp = Path(tempfile.mkdtemp(prefix="xltool-addin-"))
    atexit.register(shutil.rmtree, tmp, True)
    blank = save_atomic(build_workbook(YEAR), tmp / "blank.xlsx")
    data = load_data(ROOT / "examples/luosong_2023.yaml")
    corrections = load_data(ROOT / "examples/luosong_2023_corrections.yaml")
    return {
        "blank": blank,
        "example": fill_workbook(blank, data, tmp / "example.xlsx"),
        "corrected": fill_workbook(blank, {**data, **corrections}, tmp / "corrected.xlsx"),
    }


@contextmanager
def changed(wb, changes: dict[str, object]):
    """Inputs of the openpyxl workbook *wb* changed by field id (any value, even text in a
    number cell) for the duration of the block."""
    from xltool.form.selfeval import build_form

    form = build_form(YEAR)
    before = {}
    for fid, value in changes.items():
        f = form.field(fid)
        cell = wb[form.sheet_title(f.sheet)][f.cell]
        before.setdefault(cell, cell.value)
        cell.value = value
    try:
        yield wb
    finally:
        for cell, value in before.items():
            cell.value = value


def perturb(src: Path, changes: dict[str, object], out: Path) -> Path:
    """A copy of the workbook at *src* with single inputs changed by field id."""
    from xltool.template.writer import save_atomic

    with changed(openpyxl.load_workbook(src), changes) as wb:
        return save_atomic(wb, out)
