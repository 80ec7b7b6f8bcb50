"""Write failures of an audit's output folder, told in a sentence a clerk can act on.

A full disk, a read-only or vanished output folder surface as OSError (errno ENOSPC, EROFS,
EACCES, ...) from file writes and as sqlite3 errors ("database or disk is full", "attempt to
write a readonly database") from the history. Either way nothing already recorded is lost:
the history commits in small transactions (a failed one rolls back), outputs are written
atomically, and the same command run again resumes the round.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from xltool.i18n import _

_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def write_error_kind(exc: BaseException) -> str | None:
    """"full", "read_only", "other" for a write failure; None if *exc* is not one."""
    if isinstance(exc, sqlite3.Error):
        text = str(exc).lower()
        if "full" in text:
            return "full"
        if "readonly" in text or "read-only" in text or "unable to open" in text:
            return "read_only"
        return "other"
    if isinstance(exc, OSError):
        if exc.errno in _FULL:
            return "full"
        if exc.errno in _READ_ONLY or isinstance(exc, PermissionError):
            return "read_only"
        return "other"
    return None


def write_error_message(exc: BaseException, out: Path) -> str:
    kind = write_error_kind(exc)
    if kind == "full":
        text = _("The disk holding the output folder {out} is full, so the audit could not write all its results. "
                 "Free some space (or choose another folder with --out) and run the same command again: every "
                 "result saved so far is kept and will not be checked again.")
    elif kind == "read_only":
        text = _("The output folder {out} cannot be written (it is read-only or you lack permission). Choose a "
                 "folder you can write to with --out, or ask for write access, and run the command again.")
    else:
        text = _("Writing to the output folder {out} failed ({error}). Check the folder and run the same command "
                 "again: every result saved so far is kept.")
    return text.format(out=out, error=f"{type(exc).__name__}: {exc}"[:200])
