"""The data validation type each input field gets, without openpyxl: the reader checks a
returned workbook's validations against it (``read.integrity``, XT033). ``template.validation``
builds the rules themselves; tests/test_reliability_read.py holds the two to the same types."""

from __future__ import annotations

from xltool.form.model import Field, Kind


def validation_type(field: Field) -> str:
    kind = field.kind
    if kind in (Kind.AMOUNT, Kind.RATE):
        return "decimal"
    if kind is Kind.INTEGER:
        return "whole"
    if kind is Kind.NUMBER:
        return "custom" if field.choices else "decimal"
    if kind is Kind.DATE:
        return "date"
    if kind is Kind.CHOICE:
        return "list"
    if field.id == "info_email":
        return "custom"
    return "textLength"
