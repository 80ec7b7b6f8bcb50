"""Human descriptions of rule instances (审核 sheet rows, rule listings)."""

from __future__ import annotations

from xltool.check.rule import Check
from xltool.form.model import Form

_OPS = {"=": "＝", "<=": "≤", ">=": "≥"}


def describe(check: Check, form: Form) -> str:
    """E.g. “同一数字多处填报不一致：收支情况 本年支出合计 ＝ 附件3 全年执行数”."""
    title = check.rule.title()
    name = check.params.get("name", "")
    if check.lhs_label and check.rhs_label:
        body = f"{check.lhs_label} {_OPS[check.op]} {check.rhs_label}"
    elif check.lhs_label:
        body = check.lhs_label
    else:
        labels = [form.field(f).label for f in check.fields[:3]]
        body = "、".join(labels)
    if name and name not in body:
        body = f"{name}：{body}"
    return f"{title}：{body}"
