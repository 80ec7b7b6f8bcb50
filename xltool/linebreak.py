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
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def break_lines(text: str, width: float, measure: Callable[[str], float] = cells, indent: str = "") -> list[str]:
    """*text* as lines no wider than *width* (a single token wider than that keeps its own line)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = indent
        for token in _TOKEN.findall(paragraph):
            if measure(line) + measure(token) > width and line.strip():
                lines.append(line.rstrip())
                line = indent
                if token.isspace():
                    continue
            line += token
        lines.append(line.rstrip())
    return lines
