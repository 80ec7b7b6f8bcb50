"""What a field holds, in words for people (the `fields` table); the form model keeps the codes."""

from __future__ import annotations

from xltool.form.model import Field, Kind, Role
from xltool.i18n import _

_KINDS = {
    Kind.AMOUNT: "Field type: amount (10,000 yuan)",
    Kind.INTEGER: "Field type: whole number",
    Kind.RATE: "Field type: rate",
    Kind.NUMBER: "Field type: number",
    Kind.TEXT: "Field type: text",
    Kind.DATE: "Field type: date",
    Kind.CHOICE: "Field type: choice",
}
_ROLES = {Role.DERIVED: "Field type: formula", Role.CONFIG: "Field type: set by the bureau"}


def kind_label(field: Field) -> str:
    """E.g. 金额（万元） for an input, 金额（万元）/公式 for a derived figure."""
    text = _(_KINDS[field.kind])
    return text if field.role not in _ROLES else f"{text}/{_(_ROLES[field.role])}"


def _msgids() -> None:  # pragma: no cover - listed so the extractor sees these msgids
    _("Field type: amount (10,000 yuan)")
    _("Field type: whole number")
    _("Field type: rate")
    _("Field type: number")
    _("Field type: text")
    _("Field type: date")
    _("Field type: choice")
    _("Field type: formula")
    _("Field type: set by the bureau")
