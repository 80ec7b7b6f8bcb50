"""Cell addresses of the form's fields as Excel formulas write them (no openpyxl needed)."""

from __future__ import annotations

from xltool.form.address import absolute, column_index, column_letters, quote_sheet, split_cell  # noqa: F401
from xltool.form.model import Field, Form

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
