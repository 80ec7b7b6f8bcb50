"""Workbook text made safe to show as a title or in a sentence: one line, no bidirectional or
control characters, bounded length.

A unit types its 单位名称 itself, so it may hold a right-to-left override (U+202E) that makes a
title read backwards, a zero-width isolate, a bell or a line break; and a hostile workbook may
carry 100 KB where a form id belongs. Titles (page titles, the 问题清单 heading, the Word
report's title, the terminal table) go through :func:`plain`; a value echoed inside an error
message goes through :func:`clip` as well.
"""

from __future__ import annotations

import re

from xltool.safenames import strip_bidi

# C0/C1 controls, line/paragraph separators, zero-width and other invisible format characters
# besides the bidi controls safenames already knows (U+200B-U+200D, U+2060-U+2064, U+FEFF).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200d\u2060-\u2064\ufeff]")
_SPACE = re.compile(r"\s+")


def plain(text: object, max_length: int = 200) -> str:
    """*text* on one line without bidi/control characters, at most *max_length* characters."""
    if text is None:
        return ""
    cleaned = _SPACE.sub(" ", _CONTROL.sub(" ", strip_bidi(text))).strip()
    return clip(cleaned, max_length)


def clip(text: object, max_length: int = 60) -> str:
    """*text* shortened to *max_length* characters with an ellipsis (for echoing hostile values)."""
    text = "" if text is None else str(text)
    return text if len(text) <= max_length else text[: max_length - 1] + "…"


def plain_or_none(text: object, max_length: int = 200) -> str | None:
    """:func:`plain`, keeping None (and what becomes empty) as None."""
    return (plain(text, max_length) or None) if text is not None else None
