"""Dataclass values as plain JSON-shaped data: the one walk behind every ``to_dict``
(findings and reports, the form's fields and sheets, the scoring settings)."""

from __future__ import annotations

import math
from enum import Enum


def plain(value: object, *, finite: bool = True) -> object:
    """Enums as their values, records (anything with ``to_dict``) as their dicts, lists and
    tuples as lists, dicts walked; with *finite*, inf and nan become None (JSON has neither)."""
    if isinstance(value, Enum):
        return value.value
    if finite and isinstance(value, float) and not math.isfinite(value):
        return None
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None:
        return to_dict()
    if isinstance(value, (list, tuple)):
        return [plain(v, finite=finite) for v in value]
    if isinstance(value, dict):
        return {k: plain(v, finite=finite) for k, v in value.items()}
    return value
