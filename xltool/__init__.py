"""xltool: the 部门（单位）整体支出绩效自评 workbook, from template to audit."""

# MAJOR.MINOR.PATCH (PEP 440); ".devN" between releases. What each part means: docs/install.md.
__version__ = "0.2.0.dev0"
