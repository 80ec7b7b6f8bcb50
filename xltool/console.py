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
