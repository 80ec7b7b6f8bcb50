"""xltool: the 部门（单位）整体支出绩效自评 workbook, from template to audit."""

__version__ = "0.1.0"
