"""Cell addresses of the form's fields as Excel formulas write them (no openpyxl needed)."""

from __future__ import annotations

import re

from xltool.form.model import Field, Form

_CELL = re.compile(r"^([A-Z]{1,3})(\d+)$")


def split_cell(cell: str) -> tuple[str, int]:
    m = _CELL.match(cell)
    if not m:
        raise ValueError(f"not a cell reference: {cell}")
    return m[1], int(m[2])


def column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def column_letters(n: int) -> str:
    """1 → A, 27 → AA: the inverse of column_index."""
    out = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def absolute(cell: str) -> str:
    col, row = split_cell(cell)
    return f"${col}${row}"


def quote_sheet(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


class CellMap:
    """Field id → Excel reference, as a formula on a given sheet would write it."""

    def __init__(self, form: Form) -> None:
        self.form = form

    def ref(self, field_id: str, from_sheet: str | None) -> str:
        field = self.form.field(field_id)
        if field.sheet == from_sheet:
            return field.cell
        return f"{quote_sheet(self.form.sheet_title(field.sheet))}!{absolute(field.cell)}"

    def formula(self, field: Field) -> str:
        assert field.formula is not None
        return "=" + field.formula.to_excel(lambda i: self.ref(i, field.sheet))

    def name_ref(self, field_id: str) -> str:
        """What the workbook-level defined name of a field points at."""
        field = self.form.field(field_id)
        return f"{quote_sheet(self.form.sheet_title(field.sheet))}!{absolute(field.cell)}"
