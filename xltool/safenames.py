"""File names made from workbook text, and the folder they must stay in.

A workbook's 单位名称 or 单位编码 is typed by the unit, so it is hostile: ``../../x``, an
absolute path, ``CON``, a NUL byte, 300 characters, or a right-to-left override that makes
``报告‮xslx.exe`` look like something else. Every output xltool names after workbook text
goes through :func:`component` (one path component, never a path) and is joined to its
folder with :func:`inside`, which refuses anything that would land outside it.
:class:`Names` hands out names unique within one folder (case- and normalisation-blind,
as Windows and macOS compare them).
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from xltool.lazyre import lazy_compile

# Bidirectional controls (embeddings, overrides, isolates, marks): they reorder what a
# person sees, so a name or subject could read differently from what it is.
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
# C0/C1 controls, line/paragraph separators, and what Windows forbids in a name.
_UNSAFE = lazy_compile(r'[\x00-\x1f\x7f-\x9f\u2028\u2029/\\:*?"<>|]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
             *(f"COM{i}" for i in "123456789¹²³"), *(f"LPT{i}" for i in "123456789¹²³")}
MAX_COMPONENT = 80  # characters: leaves room for a folder and a suffix under Windows' 260


def strip_bidi(text: object) -> str:
    """*text* without bidirectional control characters (for headers, subjects, names)."""
    return _BIDI.sub("", "" if text is None else str(text))


def component(text: object, *, fallback: str = "unit", max_length: int = MAX_COMPONENT) -> str:
    """One safe path component made from *text*: no separator, no ``..``, no control or
    bidirectional character, not a reserved Windows device name, at most *max_length*
    characters; *fallback* when nothing usable is left."""
    name = unicodedata.normalize("NFC", strip_bidi(text))
    name = _UNSAFE.sub("_", name)
    name = re.sub(r"\s+", " ", name)
    name = re.sub(r"\.{2,}", ".", name)  # no ".." anywhere, even inside a name
    name = re.sub(r"_{2,}", "_", name).strip(" .")
    name = name[:max_length].rstrip(" .")  # Windows drops trailing dots and spaces
    if not name or set(name) <= {"."}:
        name = fallback
    return "_" + name if reserved(name) else name


def reserved(name: str) -> bool:
    """Whether Windows takes *name* for a device (CON, NUL, COM1, ... with any extension)."""
    return name.split(".", 1)[0].rstrip(" ").upper() in _RESERVED


def file_name(text: object, suffix: str = "", *, fallback: str = "unit", max_length: int = MAX_COMPONENT) -> str:
    """``component(text) + suffix`` within *max_length* characters; *suffix* is xltool's
    own (an extension or a fixed ending such as ``_问题清单.xlsx``), never workbook text."""
    return component(text, fallback=fallback, max_length=max(1, max_length - len(suffix))) + suffix


def fold(name: str) -> str:
    """The key two names collide under (NFKC, case-blind), as a file system may compare."""
    return unicodedata.normalize("NFKC", name).casefold()


class OutsideFolder(ValueError):
    """A name would put a file outside the folder it belongs in."""


def inside(folder: Path | str, name: str) -> Path:
    """``folder / name``, refused unless *name* is one safe component of *folder*."""
    folder = Path(folder)
    if name != component(name, fallback="\0", max_length=max(len(name), 1)):
        raise OutsideFolder(f"unsafe file name {name!r}")
    target = folder / name
    base = os.path.abspath(folder)
    if os.path.dirname(os.path.abspath(target)) != base:
        raise OutsideFolder(f"{name!r} leaves {folder}")
    return target


class Names:
    """Unique safe names within one folder: the second ``x.xlsx`` becomes ``x_2.xlsx``."""

    def __init__(self, taken: object = ()) -> None:
        self._taken: set[str] = {fold(str(t)) for t in taken}  # type: ignore[attr-defined]

    def take(self, text: object, suffix: str = "", *, fallback: str = "unit",
             max_length: int = MAX_COMPONENT) -> str:
        """A safe name for *text* + *suffix* not yet handed out (nor in *taken*)."""
        stem = component(text, fallback=fallback, max_length=max(1, max_length - len(suffix)))
        candidate, n = stem + suffix, 1
        while fold(candidate) in self._taken:
            n += 1
            tail = f"_{n}"
            candidate = stem[: max(1, max_length - len(suffix) - len(tail))].rstrip(" .") + tail + suffix
        self._taken.add(fold(candidate))
        return candidate
