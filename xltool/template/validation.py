"""Data validation for every input cell, within Excel's limits.

Excel silently rejects a workbook whose validation title exceeds 32 characters, whose
prompt or error exceeds 255, or whose inline list exceeds 255 characters; openpyxl does
not check. Everything here is clipped or moved to a list range accordingly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from xltool.form.model import Field, Kind
from xltool.i18n import _

TITLE_MAX = 32
MESSAGE_MAX = 255
INLINE_LIST_MAX = 255


_KIND_TITLES = {
    Kind.AMOUNT: lambda: _("Amount"),
    Kind.INTEGER: lambda: _("Whole number"),
    Kind.RATE: lambda: _("Percentage"),
    Kind.NUMBER: lambda: _("Number"),
    Kind.DATE: lambda: _("Date"),
    Kind.CHOICE: lambda: _("Choice"),
    Kind.TEXT: lambda: _("Text"),
}


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _signature(field: Field) -> tuple:
    return (field.kind, field.choices, field.unit, field.hint, field.id == "info_email", _signed(field))


def _signed(field: Field) -> bool:
    # 年中调整 is signed: a reduction is entered as a negative amount.
    return field.id.endswith("_adjust") and field.sheet == "proj"


def _messages(field: Field, title_text: str) -> tuple[str, str, str]:
    """(title, prompt, error) for a field's validation."""
    unit = f"（{field.unit}）" if field.unit else ""
    if field.kind is Kind.AMOUNT:
        if _signed(field):
            prompt = _("Amount in 10,000 yuan with two decimals; enter a reduction as a negative number.")
        else:
            prompt = _("Amount in 10,000 yuan with two decimals.")
        error = _("Enter a number (10,000 yuan, two decimals), not text.")
    elif field.kind is Kind.INTEGER:
        prompt, error = _("Enter a whole number."), _("Only a whole number of zero or more is allowed.")
    elif field.kind is Kind.RATE:
        prompt, error = _("Enter a percentage, e.g. 97.58%."), _("Enter a percentage between 0% and 1000%.")
    elif field.kind is Kind.NUMBER and field.choices:
        prompt = _("Enter a number or a target with its comparator and unit (≥50个, ≤90万元); for a qualitative "
                   "indicator one of {choices}, or the target's wording.").format(choices="、".join(field.choices))
        error = _("Enter a number, a target such as ≥50个, or a short text (at most 200 characters).")
    elif field.kind is Kind.NUMBER:
        prompt, error = _("Enter a number of zero or more."), _("Only a number of zero or more is allowed.")
    elif field.kind is Kind.DATE:
        prompt, error = _("Enter a date, e.g. 2024-03-31."), _("Enter a valid date between 2000 and 2100.")
    elif field.kind is Kind.CHOICE:
        prompt = _("Choose from the list: {choices}.").format(choices="、".join(field.choices))
        error = _("Choose a value from the drop-down list.")
    elif field.id == "info_email":
        prompt, error = _("The e-mail address that receives the review result."), _("Enter a valid e-mail address.")
    else:
        prompt, error = _("Enter text (at most 2,000 characters)."), _("The text is too long.")
    if field.hint:
        prompt = f"{field.hint}。{prompt}"
    title = clip(f"{title_text}{unit}", TITLE_MAX)
    return title, clip(prompt, MESSAGE_MAX), clip(error, MESSAGE_MAX)


def _rule(field: Field, first: str, list_range: Callable[[tuple[str, ...]], str]) -> DataValidation:
    kind = field.kind
    if kind is Kind.AMOUNT:
        low = "-1000000000" if _signed(field) else "0"
        return DataValidation(type="decimal", operator="between", formula1=low, formula2="1000000000")
    if kind is Kind.INTEGER:
        return DataValidation(type="whole", operator="between", formula1="0", formula2="10000000")
    if kind is Kind.RATE:
        return DataValidation(type="decimal", operator="between", formula1="0", formula2="10")
    if kind is Kind.NUMBER and field.choices:
        # An indicator value: a number, ≥50个, 达成 or the target's wording (published forms write all).
        return DataValidation(type="custom", formula1=f"OR(ISNUMBER({first}),LEN({first})<=200)")
    if kind is Kind.NUMBER:
        return DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0")
    if kind is Kind.DATE:
        return DataValidation(type="date", operator="between", formula1="36526", formula2="73415")
    if kind is Kind.CHOICE:
        inline = '"' + ",".join(field.choices) + '"'
        source = inline if len(inline) <= INLINE_LIST_MAX else list_range(field.choices)
        return DataValidation(type="list", formula1=source)
    if field.id == "info_email":
        return DataValidation(type="custom", formula1=f'ISNUMBER(FIND("@",{first}))')
    return DataValidation(type="textLength", operator="lessThanOrEqual", formula1="2000")


def add_validations(ws: Worksheet, fields: Iterable[Field], list_range: Callable[[tuple[str, ...]], str]) -> int:
    """Attach one validation per group of alike input fields; returns how many were added."""
    groups: dict[tuple, list[Field]] = defaultdict(list)
    for field in fields:
        # Custom formulas are relative to the first cell: give each its own rule.
        key = _signature(field) + ((field.cell,) if field.kind is Kind.NUMBER and field.choices else ())
        groups[key].append(field)
    for members in groups.values():
        head = members[0]
        dv = _rule(head, head.cell, list_range)
        dv.allow_blank = True
        dv.showInputMessage = True
        dv.showErrorMessage = True
        dv.errorStyle = "stop"
        names = {m.label.split(" ")[-1] for m in members}
        title_text = names.pop() if len(names) == 1 else _KIND_TITLES[head.kind]()
        dv.promptTitle, dv.prompt, dv.error = _messages(head, title_text)
        dv.errorTitle = clip(_("Invalid entry"), TITLE_MAX)
        for member in members:
            dv.add(member.cell)
        ws.add_data_validation(dv)
    return len(groups)
