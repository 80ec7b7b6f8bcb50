"""Values written into template cells: text is always a string cell.

openpyxl turns any string that starts with "=" into a formula; a unit called
``=HYPERLINK("http://…","点此")`` (from ``--unit``, a roster or a data file) would then become a
live formula in a locked cell. Text from people is data, never a formula.
"""

from __future__ import annotations

from openpyxl.cell.cell import Cell


def put(cell: Cell, value: object) -> None:
    """Set *cell* to *value*; a str stays a string cell whatever it starts with."""
    cell.value = value
    if isinstance(value, str) and cell.data_type != "s":
        cell.data_type = "s"
