"""Atomic output: write beside the target and rename, so no half-written file is ever left."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def write_atomic(out: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` for a temporary path beside *out*, then rename it to *out*."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out


def write_bytes_atomic(out: Path, data: bytes) -> Path:
    return write_atomic(out, lambda tmp: tmp.write_bytes(data))
