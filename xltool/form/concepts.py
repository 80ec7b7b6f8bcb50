"""Concepts: the figures that xltool knows by meaning, whatever cell states them.

Fields of a pack sharing a concept state the same figure in different places and must
agree (rule XT301). A pack may only use these, or concepts it declares in its own
``[concepts]`` table, so that a misspelt concept is refused instead of silently checking
nothing.
"""

from __future__ import annotations

CONCEPTS: dict[str, str] = {
    "budget_initial": "年初预算数（预算资金总额）",
    "spending_total": "本年支出合计（全年执行数）",
    "project_spending": "项目支出（实际支出）",
    "project_budget_initial": "项目支出年初预算",
    "public_cost": "公用经费",
    "staff_active": "实际在职人数",
}
