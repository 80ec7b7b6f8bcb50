"""Giving freed memory back to the system during a long round.

The round's parent receives every file's result (tens of kilobytes of JSON each) from the
workers on a background thread and frees it at once; glibc's allocator keeps such freed blocks
spread over its per-thread arenas, so without a trim the resident size of the process creeps
up with the number of files although nothing is kept. ``release`` asks the allocator to return
what is free (malloc_trim); elsewhere it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

EVERY = 128  # results between two trims: each costs well under a millisecond

_trim = None
if sys.platform.startswith("linux"):
    try:
        _trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        _trim.argtypes, _trim.restype = [ctypes.c_size_t], ctypes.c_int
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        _trim = None


def release() -> bool:
    """Return freed memory to the system; True when the allocator could be asked."""
    if _trim is None:
        return False
    _trim(0)
    return True


class Every:
    """Calls ``release`` once per *n* calls of ``tick``."""

    def __init__(self, n: int = EVERY) -> None:
        self.n, self.count = n, 0

    def tick(self, k: int = 1) -> None:
        before, self.count = self.count, self.count + k
        if before // self.n != self.count // self.n:
            release()
