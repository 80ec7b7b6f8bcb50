"""Line breaking for Chinese text with numbers: never inside a number, never before ） or ，.

Terminals (rich folds Chinese at any character) and spreadsheets (LibreOffice breaks
``（万元）`` after ``（万元``) both break Chinese badly; xltool breaks lines itself.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

# Closing punctuation stays with what it closes; opening punctuation with what it opens.
CLOSING = "）」』】》〉”’，。；：、！？)"
OPENING = "（「『【《〈“‘("
_TOKEN = re.compile(
    rf"[{OPENING}]*(?:[-+−]?[0-9A-Za-z_.,:%!/]*[0-9A-Za-z][0-9A-Za-z_.,:%!/]*|[^\s])[{CLOSING}]*|\s+", re.S)


def cells(text: str) -> int:
    """Width in terminal cells / spreadsheet character units: CJK and full-width count two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def break_lines(text: str, width: float, measure: Callable[[str], float] = cells, indent: str = "") -> list[str]:
    """*text* as lines no wider than *width* (a single token wider than that keeps its own line)."""
    lines: list[str] = []
    # ``cells`` adds up character by character: the line's width is kept as it grows rather
    # than measured again for every token (another measure is asked for the whole line).
    additive = measure is cells
    start = measure(indent)
    for paragraph in text.split("\n"):
        line, used = indent, start
        for token in _TOKEN.findall(paragraph):
            size = measure(token)
            if (used if additive else measure(line)) + size > width and line.strip():
                lines.append(line.rstrip())
                line, used = indent, start
                if token.isspace():
                    continue
            line += token
            used += size
        lines.append(line.rstrip())
    return lines
