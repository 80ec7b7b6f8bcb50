"""Cell addresses as Excel writes them: A1 ↔ (column, row), $A$1, quoted sheet titles."""

from __future__ import annotations

from xltool.lazyre import lazy_compile

_CELL = lazy_compile(r"^([A-Z]{1,3})(\d+)$")


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
