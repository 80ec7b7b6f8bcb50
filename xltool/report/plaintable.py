"""The findings table as plain text, laid out as rich lays out ``xltool.report.terminal``'s table.

Output that is not a terminal has no colours, so the table is lines of text: this module
computes them directly (rich's column widths for an expanding table with ratio columns, the
heavy-headed box, one space of padding, cells wrapped by ``xltool.linebreak``) in a fraction of
rich's time and without importing it. It answers None for whatever it does not reproduce for
certain (a character of unknown width, markup, a header or code wider than its column, a title
that wraps, widths that do not add up without rich's shrinking), and the caller lets rich draw
the table then. tests/test_light_cli.py compares the two on generated reports and widths.
"""

from __future__ import annotations

import re
from math import ceil

from xltool.console import cell_width, plain_markup
from xltool.linebreak import break_lines
from xltool.record import record

_TOKEN = re.compile(r"[-+−]?[0-9A-Za-z_.,:%!/]+|\S")  # terminal.Wrapped's measure


@record
class Column:
    header: str
    no_wrap: bool = False
    ratio: int | None = None  # a column with a ratio takes its share of the spare width
    justify: str = "left"


class _Unsure(Exception):
    pass


def _width(text: str) -> int:
    width = cell_width(text)
    if width is None:
        raise _Unsure
    return width


def _measure_wrapped(text: str, limit: int) -> tuple[int, int]:
    """terminal.Wrapped.__rich_measure__, normalised as rich's Measurement.get does."""
    lines = text.split("\n") or [""]
    longest = max((_width(t) for t in _TOKEN.findall(text)), default=1)
    low, high = min(longest + 1, limit), min(max(_width(line) for line in lines), limit)
    low = min(max(0, low), high)
    return max(0, low), max(0, max(low, high))


def _measure_text(text: str) -> tuple[int, int]:
    """rich Text.__rich_measure__ of a plain string."""
    lines = text.splitlines()
    high = max((_width(line) for line in lines), default=0)
    words = text.split()
    low = max((_width(word) for word in words), default=high)
    low = min(max(0, low), high)
    return max(0, low), max(0, max(low, high))


def _distribute(total: int, ratios: list[int], minimums: list[int]) -> list[int]:
    """rich._ratio.ratio_distribute."""
    ratios = [ratio if minimum else 0 for ratio, minimum in zip(ratios, minimums)]
    total_ratio = sum(ratios)
    if total_ratio <= 0:
        raise _Unsure
    remaining, out = total, []
    for ratio, minimum in zip(ratios, minimums):
        part = max(minimum, ceil(ratio * remaining / total_ratio)) if total_ratio > 0 else remaining
        out.append(part)
        total_ratio -= ratio
        remaining -= part
    return out


def _fit(text: str, width: int, justify: str) -> str:
    pad = width - _width(text)
    if pad < 0:
        raise _Unsure  # rich would crop or fold it
    return " " * pad + text if justify == "right" else text + " " * pad


def render(title: str, columns: list[Column], rows: list[list[tuple[bool, str]]], width: int) -> list[str] | None:
    """The table's lines at *width* cells, or None. A cell is (wrapped, text): wrapped cells
    break with ``break_lines`` (terminal.Wrapped), the others are single-line plain strings."""
    try:
        return _render(title, columns, rows, width)
    except _Unsure:
        return None


def _render(title, columns, rows, width) -> list[str]:
    for row in rows:
        for wrapped, text in row:
            if not wrapped and ("\n" in text or not plain_markup(text)):
                raise _Unsure
            if wrapped and "\t" in text:
                raise _Unsure
    if any(not plain_markup(c.header) or "\n" in c.header for c in columns):
        raise _Unsure
    extra = 2 + len(columns) - 1  # the outer edges and the dividers
    limit = width - extra
    if limit < 1:
        raise _Unsure
    ranges = []
    for index, column in enumerate(columns):
        lows, highs = [], []
        for cell in [(False, column.header)] + [row[index] for row in rows]:
            if limit - 2 < 1:
                raise _Unsure
            low, high = _measure_wrapped(cell[1], limit) if cell[0] else _measure_text(cell[1])
            low, high = min(low, limit), min(high, limit)  # Measurement.get's with_maximum
            lows.append(min(low + 2, limit))
            highs.append(min(high + 2, limit))
        ranges.append((min(max(lows), limit), min(max(highs), limit)))
    widths = [high or 1 for _low, high in ranges]
    flexible = [c.ratio is not None for c in columns]
    if any(c.ratio for c in columns):
        fixed = [0 if flex else high for (_low, high), flex in zip(ranges, flexible)]
        parts = iter(_distribute(limit - sum(fixed), [c.ratio or 0 for c in columns if c.ratio is not None],
                                 [1 + 2 for c in columns if c.ratio is not None]))
        widths = [fixed[i] + next(parts) if flexible[i] else widths[i] for i in range(len(columns))]
    if sum(widths) != limit:
        raise _Unsure  # rich would shrink or pad the columns: its own layout
    if not title or title != title.strip() or "\n" in title:
        raise _Unsure
    lines = []
    spare = width - _width(title)
    if spare < 0:
        raise _Unsure  # a title that wraps
    lines.append(" " * (spare // 2) + title + " " * (spare - spare // 2))
    lines.append("┏" + "┳".join("━" * w for w in widths) + "┓")

    def cell_lines(cell: tuple[bool, str], w: int, column: Column) -> list[str]:
        inner = w - 2
        if inner < 1:
            raise _Unsure
        wrapped, text = cell
        if wrapped:
            return [" " + _fit(line, inner, "left") + " " for line in break_lines(text, inner)]
        if column.no_wrap or _width(text) <= inner:
            return [" " + _fit(text, inner, column.justify) + " "]
        raise _Unsure

    def row_lines(cells: list[list[str]], edge: str) -> list[str]:
        height = max(len(c) for c in cells)
        return [edge + edge.join(c[n] if n < len(c) else " " * w for c, w in zip(cells, widths)) + edge
                for n in range(height)]

    header = [cell_lines((False, c.header), w, c) for c, w in zip(columns, widths)]
    lines += row_lines(header, "┃")
    lines.append("┡" + "╇".join("━" * w for w in widths) + "┩")
    for n, row in enumerate(rows):
        if n:
            lines.append("├" + "┼".join("─" * w for w in widths) + "┤")
        lines += row_lines([cell_lines(cell, w, c) for cell, w, c in zip(row, widths, columns)], "│")
    lines.append("└" + "┴".join("─" * w for w in widths) + "┘")
    return lines
