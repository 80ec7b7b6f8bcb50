"""Amounts and rates formatted and parsed as babel's zh_CN locale does.

Staff type figures as text in many shapes: ``2,450.02``, ``2450.02万元``, full-width
digits ``２４５０．０２``, ``97.58%``. ``parse_number`` reads them all and says whether
the text was a clean number; the reader reports typed-as-text numbers as findings.
"""

from __future__ import annotations

import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from xltool.lazyre import lazy_compile

# “150万” in a 万元 column is 150 万元 (a published Hubei table prints its amounts so): 万 is read as 万元.
_UNITS = ("万元", "万", "个月", "元", "人", "个", "次", "平方米", "㎡", "分", "年", "月", "天", "%", "％")
_SPACES = lazy_compile(r"[\s\u3000]+")


def _absurd(value: float) -> bool:
    """Too large for babel's patterns (it raises); such figures are typing errors anyway."""
    return not math.isfinite(value) or abs(value) >= 1e15


def _fmt(value: float | None, render) -> str:
    if value is None:
        return "—"
    if _absurd(value):
        return f"{value:.6g}"
    return render(value)


def format_decimal(value: float | int | Decimal, format: str) -> str:  # noqa: A002 - babel's name
    """*value* by a babel number pattern (``#,##0.00``, ``#,##0.####``, ``#,##0.00%``) in zh_CN:
    what ``babel.numbers.format_decimal`` gives, without loading babel's locale data (a tenth of
    the start-up of a check). zh_CN groups with ``,`` and marks decimals with ``.``; babel rounds
    the decimal the float prints as, half to even. tests/test_light_check_path.py compares the two."""
    percent = format.endswith("%")
    frac = format.rstrip("%").partition(".")[2]
    low, high = frac.count("0"), len(frac)
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if percent:
        number = number.scaleb(2)
    negative = number.is_signed()
    rounded = abs(number).normalize().quantize(Decimal(1).scaleb(-high))
    whole, _sep, part = f"{rounded:f}".partition(".")
    part = (part or "0").ljust(low, "0")
    if high == 0 or (low == 0 and int(part) == 0):
        part = ""
    else:
        while len(part) > low and part[-1] == "0":
            part = part[:-1]
        part = "." + part
    return f"{'-' if negative else ''}{int(whole):,}{part}{'%' if percent else ''}"


def fmt_amount(value: float | None) -> str:
    return _fmt(value, lambda v: format_decimal(v, "#,##0.00"))


def fmt_rate(value: float | None) -> str:
    return _fmt(value, lambda v: format_decimal(v, "#,##0.00%"))


def fmt_number(value: float | None) -> str:
    return _fmt(value, lambda v: format_decimal(v, "#,##0.####"))


def fmt_stated(value: float | None) -> str:
    """A figure with every decimal it was typed with (9,265.353442), for a message that quotes the cell."""
    return _fmt(value, lambda v: format_decimal(v, "#,##0.##########"))


# What the forms themselves print in a cell with no figure (“——”), and what units type there:
# read as an empty cell by every reader (workbook and Word alike), never as “not a number”.
NO_FIGURE = frozenset(("-", "--", "——", "—", "－", "－－", "/", "／", "无", "…", "……", "......"))


def no_figure(text: str) -> bool:
    """Whether *text* is only the mark of a cell with no figure (spaces ignored)."""
    return _SPACES.sub("", text) in NO_FIGURE


def parse_number(text: str) -> tuple[float, bool] | None:
    """Parse *text* as a number; returns (value, was_percent) or None when it is not one.

    Full-width characters are folded (NFKC), thousands separators and a trailing unit
    are accepted. ``97.58%`` yields (0.9758, True).
    """
    s = unicodedata.normalize("NFKC", str(text))
    s = _SPACES.sub("", s).replace("，", ",")
    if not s:
        return None
    percent = s.endswith("%")
    for unit in _UNITS:
        if s.endswith(unit):
            s = s[: -len(unit)]
            break
    if s.startswith("(") and s.endswith(")"):
        s = "-" + s[1:-1]
    if not re.fullmatch(r"[-+]?[\d,]*\.?\d+", s):
        return None
    try:  # as babel's parse_decimal in zh_CN, not strict: the group marks dropped
        value = float(Decimal(s.lstrip("+").replace(",", "")))
    except (InvalidOperation, ValueError):
        return None
    return (value / 100.0, True) if percent else (value, False)


def too_precise(value: object, places: int = 2) -> bool:
    """A figure stated with more than *places* decimals (2701.574 for an amount in 万元)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    return abs(value - round(value, places)) > 1e-9 * max(1.0, abs(value))


def fmt_year(value: float | None) -> str:
    """A year reads as written: 2023, never 2,023."""
    if value is None:
        return "—"
    if _absurd(float(value)) or float(value) != int(value):
        return fmt_number(value)
    return str(int(value))


def fmt_integer(value: float | None) -> str:
    if value is not None and not _absurd(float(value)) and float(value) != int(value):
        return fmt_number(value)
    return _fmt(value, lambda v: format_decimal(v, "#,##0"))


def fmt_figure(value: float | None) -> str:
    """A figure of unknown kind: 1,234 / 12.50 / 0.1235 (at most four decimals)."""
    if value is None or _absurd(float(value)):
        return _fmt(value, str)
    if float(value) == round(float(value)):
        return fmt_integer(value)
    if abs(float(value) - round(float(value), 2)) < 1e-9:
        return fmt_amount(value)
    return fmt_number(value)


def fmt_count(value: float | None) -> str:
    """How many (files, units, findings): a plain integer, as the audit's summary line writes it."""
    if value is None or _absurd(float(value)) or float(value) != int(value):
        return fmt_figure(value)
    return str(int(value))


# A score (得分, 总分) reads with two decimals, 100.00 beside 9.76, as the scoring rules round it.
_BY_KIND = {"amount": fmt_amount, "rate": fmt_rate, "year": fmt_year, "integer": fmt_integer, "score": fmt_amount,
            "count": fmt_count}


def fmt_kind(kind: str | None, value: object) -> str:
    """Any figure a person reads, by what it is (``Kind`` values, ``year``, ``score``, ``count``);
    text passes through.

    Every output (terminal, 问题清单, 审核汇总, mail, annotated copy, every web page) formats
    through this one function, so a figure reads the same everywhere and no float shows as 1236.9099999999999.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return _BY_KIND.get(kind or "", fmt_figure)(float(value))
    return str(value)
