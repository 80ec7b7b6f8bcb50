"""Console output that never fails on a character the console cannot show.

A Chinese Windows console, or output redirected to a file there, is GBK (cp936); some servers
run with ASCII. Python's streams raise UnicodeEncodeError on the first character outside the
encoding (the minus sign "−" of a 差额, "↔", "✗") and the command dies with nothing written.
``tolerant_streams`` makes stdout and stderr replace such characters instead: first by a
plain look-alike where one exists ("−" → "-", "↔" → "<->"), else by "?". The command's
output and exit code stay what they are.
"""

from __future__ import annotations

import codecs
import sys
import unicodedata

ERRORS = "xltool-replace"
# Look-alikes for characters outside GBK or ASCII that xltool's messages use.
LOOK_ALIKES = {
    "\u2212": "-",  # − minus sign
    "\u2013": "-", "\u2014": "--", "\u2026": "...",
    "\u2194": "<->", "\u2192": "->", "\u2190": "<-",
    "\u2717": "x", "\u2713": "v", "\u2714": "v", "\u00b7": "-",
    "\u2265": ">=", "\u2264": "<=", "\u00d7": "x", "\u00f7": "/",
    "\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'",
}


def _replace(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = []
    for ch in exc.object[exc.start:exc.end]:
        for candidate in (LOOK_ALIKES.get(ch), unicodedata.normalize("NFKC", ch), "?"):
            if not candidate:
                continue
            try:
                candidate.encode(exc.encoding)
            except (UnicodeEncodeError, LookupError):
                continue
            out.append(candidate)
            break
        else:
            out.append("?")
    return "".join(out), exc.end


codecs.register_error(ERRORS, _replace)


def tolerant_streams() -> None:
    """Let stdout and stderr replace what their encoding cannot show (called at the CLI's entry)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None or getattr(stream, "errors", "strict") != "strict":
            continue  # not a text stream, or the user chose an error handler (PYTHONIOENCODING=gbk:ignore)
        try:
            reconfigure(errors=ERRORS)
        except (ValueError, OSError):  # a stream that cannot change (closed, detached)
            pass


# -- plain output without rich ------------------------------------------------------------------
# Output that is not a terminal (a pipe, a file, a CI log) carries no colours: rich writes plain
# text there. ``PlainConsole`` writes the plain lines itself when it can tell they come out
# exactly as rich would write them, and hands everything else to a rich Console made on first
# need, so a command that prints only plain lines and tables never imports rich.

# Ranges where a character's width is 2 for East Asian Wide/Full-width and 1 otherwise, exactly as
# rich counts it (tests/test_light_cli.py compares every character of them with rich.cells).
_KNOWN = ((0x20, 0x7E), (0xA0, 0x2FF), (0x2010, 0x2027), (0x2030, 0x205E), (0x2100, 0x214F),
          (0x2190, 0x22FF), (0x2460, 0x25FF), (0x2700, 0x27BF), (0x2E80, 0x2FDF), (0x3000, 0x3163), (0x3165, 0x33FF),
          (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFE30, 0xFE4F), (0xFF01, 0xFF60),
          (0xFFE0, 0xFFE6))
_WIDTHS: dict[str, int | None] = {}


def _char_width(ch: str) -> int | None:
    width = _WIDTHS.get(ch, 0)
    if width == 0:
        code = ord(ch)
        width = None
        if any(lo <= code <= hi for lo, hi in _KNOWN) and unicodedata.category(ch)[0] not in "MC":
            width = 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        _WIDTHS[ch] = width
    return width


def cell_width(text: str) -> int | None:
    """*text*'s width in terminal cells as rich counts it; None when a character is one this
    module does not judge (control, combining, zero-width, emoji, …)."""
    if text.isascii():
        return len(text) if text.isprintable() else None
    total = 0
    known = _WIDTHS.get  # a character seen before: one lookup, not a call per character
    for ch in text:
        width = known(ch, 0)
        if width == 0:
            width = _char_width(ch)
        if width is None:
            return None
        total += width
    return total


_EMOJI = None


def plain_markup(text: str) -> bool:
    """True when rich would print *text* (a str with markup and emoji codes) unchanged: no
    markup tag, no ``:name:``, every character of known width."""
    global _EMOJI
    if "[" in text or cell_width(text) is None:
        return False
    if ":" in text:
        if _EMOJI is None:
            import re

            _EMOJI = re.compile(r"(:(\S*?)(?:(?:\-)(emoji|text))?:)")  # rich's own emoji pattern
        return not _EMOJI.search(text)
    return True


def plain_now(stream) -> bool:
    """True when rich would write plain text to *stream* now: not a terminal by rich's own rules
    (TTY_COMPATIBLE, FORCE_COLOR, isatty), a UTF encoding (else rich draws ASCII boxes), not
    Windows' legacy console or Jupyter (rich's own rules there)."""
    import builtins
    import os

    environ = os.environ
    if os.name == "nt" or hasattr(builtins, "get_ipython"):
        return False
    if not (getattr(stream, "encoding", "utf-8") or "utf-8").lower().startswith("utf"):
        return False
    compatible = environ.get("TTY_COMPATIBLE", "")
    if compatible == "0":
        return True
    if compatible == "1" or environ.get("FORCE_COLOR") is not None:
        return False  # rich's answer is not "plain" for certain: let it decide
    isatty = getattr(stream, "isatty", None)
    try:
        return isatty is None or not isatty()
    except ValueError:
        return True  # a closed stream: rich says "not a terminal" too


def rich_width(width: int | None) -> int | None:
    """The width a rich Console made with *width* has: *width*, else COLUMNS when a number,
    else None (rich asks the terminal each time)."""
    import os

    if width is not None:
        return width
    columns = os.environ.get("COLUMNS")
    return int(columns) if columns is not None and columns.isdigit() else None


class PlainConsole:
    """A stand-in for ``rich.console.Console(stderr=…, width=…)`` that writes plain lines itself.

    ``print`` of one str that rich would print unchanged and that fits, and ``write_lines`` of
    text laid out by the caller, are written directly while the stream is plain (not a terminal,
    as rich would judge it now); anything else goes to the rich Console, made once."""

    def __init__(self, stderr: bool, width: int | None, fixed: int) -> None:
        self.stderr = stderr
        self._args = width  # what the rich Console is made with
        self._fixed = fixed  # the width it has (rich_width)
        self._rich = None

    @property
    def file(self):
        return sys.stderr if self.stderr else sys.stdout

    def rich(self):
        if self._rich is None:
            from rich.console import Console

            self._rich = Console(stderr=self.stderr, width=self._args)
        return self._rich

    def plain_width(self) -> int | None:
        """The width to lay plain text out in; None when rich must write (a terminal now)."""
        return self._fixed if plain_now(self.file) else None

    @property
    def is_terminal(self) -> bool:
        return False if plain_now(self.file) else self.rich().is_terminal

    @property
    def width(self) -> int:
        return self._fixed  # rich's too: a Console made with a width keeps it

    def write_lines(self, lines: list[str]) -> None:
        stream = self.file
        stream.write("".join(line + "\n" for line in lines))
        stream.flush()

    def print(self, *objects, **kwargs) -> None:
        width = self.plain_width()
        if (width is not None and not kwargs and len(objects) == 1 and isinstance(objects[0], str)
                and "\n" not in objects[0] and objects[0] == objects[0].strip() and plain_markup(objects[0])
                and (cell_width(objects[0]) or 0) <= width):
            self.write_lines([objects[0]])
            return
        self.rich().print(*objects, **kwargs)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.rich(), name)

    def __enter__(self):
        return self.rich().__enter__()

    def __exit__(self, *exc):
        return self.rich().__exit__(*exc)


def make_console(stderr: bool = False, width: int | None = None):
    """``PlainConsole`` when the Console would have a fixed width, else a rich Console made with
    the same arguments."""
    fixed = rich_width(width)
    if fixed is not None:
        return PlainConsole(stderr, width, fixed)
    from rich.console import Console

    return Console(stderr=stderr, width=width)
