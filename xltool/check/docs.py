"""Rule documentation: the table of ``xltool rules``, JSON, and Markdown (ruff-style)."""

from __future__ import annotations

import json

from rich.table import Table

from xltool.check.catalogue import RULES
from xltool.check.rule import Rule
from xltool.i18n import _


def rules_table(width: int = 160) -> Table:
    """The catalogue; below 120 columns only code, severity and title (``xltool rules XT301`` has the rest)."""
    wide = width >= 120
    table = Table(title=_("Rule catalogue ({n} rules)").format(n=len(RULES)), show_lines=wide)
    table.add_column(_("Code"), no_wrap=True)
    table.add_column(_("Severity"), no_wrap=True)
    table.add_column(_("Rule"), overflow="fold")
    if wide:
        table.add_column(_("What it checks"), overflow="fold", ratio=2)
        table.add_column(_("Example"), overflow="fold", ratio=2)
    for rule in sorted(RULES.values(), key=lambda r: r.code):
        cells = [rule.code, rule.severity.label, rule.title()]
        table.add_row(*(cells + [rule.what(), rule.example()] if wide else cells))
    return table


def rules_json() -> str:
    data = [
        {"code": r.code, "severity": r.severity.value, "severity_label": r.severity.label, "title": r.title(),
         "what": r.what(), "why": r.why(), "source": r.source(), "example": r.example(), "fix": r.fix(),
         "message": r.message(), "live": r.live}
        for r in sorted(RULES.values(), key=lambda r: r.code)
    ]
    return json.dumps(data, ensure_ascii=False, indent=2)


def rule_docs(rules: list[Rule] | None = None) -> str:
    parts = []
    for r in rules or sorted(RULES.values(), key=lambda r: r.code):
        parts.append(
            f"## {r.code} {r.title()}（{r.severity.label}）\n\n"
            f"**{_('What it does')}**：{r.what()}\n\n"
            f"**{_('Why')}**：{r.why()}\n\n"
            + (f"**{_('Source')}**：{r.source()}\n\n" if r.source() else "")
            + f"**{_('Example')}**：{r.example()}\n\n"
            f"**{_('How to fix')}**：{r.fix()}\n"
        )
    return "\n".join(parts)
