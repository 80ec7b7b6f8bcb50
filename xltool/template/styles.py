"""Cell styles of the template: colour legend, borders, number formats by field kind."""

from __future__ import annotations

from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

from xltool.form.model import Field, Kind, Role, Style

FONT_NAME = "宋体"
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")  # light yellow: type here
DERIVED_FILL = PatternFill("solid", fgColor="E7E6E6")  # grey: formula
CONFIG_FILL = PatternFill("solid", fgColor="DDEBF7")  # light blue: set by the bureau
HEADER_FILL = PatternFill("solid", fgColor="F2F2F2")
# The two finding colours, used by every output (template, 问题清单, annotated copies, 审核汇总, add-in).
FAIL_RGB = "FFC7CE"  # pink: 必须修改
WARN_RGB = "F4B183"  # orange: 需要说明 (Excel's FFEB9C is too close to the input yellow FFF2CC)
FAIL_FILL = PatternFill("solid", fgColor=FAIL_RGB)  # 审核不通过 (must fix)
WARN_FILL = PatternFill("solid", fgColor=WARN_RGB)  # 需要说明
FAIL_FONT_COLOR = "9C0006"

THIN = Side(style="thin", color="808080")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)

NUMBER_FORMATS = {
    Kind.AMOUNT: "#,##0.00",
    Kind.RATE: "0.00%",
    Kind.INTEGER: "0",
    Kind.NUMBER: "General",
    Kind.DATE: "yyyy-mm-dd",
    Kind.TEXT: "@",
    Kind.CHOICE: "General",
}

LOCKED = Protection(locked=True)
UNLOCKED = Protection(locked=False)


def text_font(style: Style) -> Font:
    if style is Style.TITLE:
        return Font(name=FONT_NAME, size=14, bold=True)
    if style in (Style.HEADER, Style.SECTION):
        return Font(name=FONT_NAME, size=10, bold=True)
    return Font(name=FONT_NAME, size=10)


def text_alignment(style: Style, indent: int = 0) -> Alignment:
    if style is Style.TITLE:
        return Alignment(horizontal="center", vertical="center")
    if style is Style.HEADER:
        return Alignment(horizontal="center", vertical="center", wrap_text=True)
    return Alignment(vertical="center", wrap_text=True, indent=indent)


def field_fill(field: Field) -> PatternFill:
    return {Role.INPUT: INPUT_FILL, Role.DERIVED: DERIVED_FILL, Role.CONFIG: CONFIG_FILL}[field.role]


def field_alignment(field: Field) -> Alignment:
    if field.kind is Kind.TEXT:
        return Alignment(vertical="center", wrap_text=True)
    return Alignment(horizontal="right", vertical="center")
