"""Files built once per test session and shared by the xdist workers (the example's template,
filled copies, LibreOffice's recalculation of it, the conformance corpus's templates).

The controller makes one folder when the session starts and removes it when it ends
(tests/conftest.py); workers inherit its path. The first process to need a file builds it
under a file lock, every other process waits for it and reads it. Nobody changes such a
file: a test that edits one copies it first. Without the folder (a module run outside
pytest) each process builds its own in its scratch folder.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

ENV = "XLTOOL_TEST_SESSION_FILES"


def open_folder(config) -> None:
    """Called by the controller (or a run without workers) when the session starts."""
    if hasattr(config, "workerinput"):
        return
    folder = Path(tempfile.mkdtemp(prefix="xltool-session-files-"))
    os.environ[ENV] = str(folder)
    config._session_files = folder


def close_folder(config) -> None:
    folder = getattr(config, "_session_files", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def folder() -> Path:
    shared = os.environ.get(ENV)
    if shared and Path(shared).is_dir():
        return Path(shared)
    from helpers import scratch

    return scratch("session_files")


def shared_file(name: str, build: Callable[[Path], object]) -> Path:
    """The session's file *name*, made by ``build(path)`` (which writes it atomically) if no
    process has made it yet."""
    out = folder() / name
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not out.is_file():
            build(out)
    return out
