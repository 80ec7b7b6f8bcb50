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


def open_shared(config, env: str, prefix: str, attr: str) -> None:
    """The controller (or a run without workers) makes a folder when the session starts; the
    workers it starts inherit its path through the environment variable *env*."""
    if hasattr(config, "workerinput"):
        return
    made = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ[env] = str(made)
    setattr(config, attr, made)


def close_shared(config, attr: str) -> None:
    made = getattr(config, attr, None)
    if made is not None:
        shutil.rmtree(made, ignore_errors=True)


def open_folder(config) -> None:
    open_shared(config, ENV, "xltool-session-files-", "_session_files")


def close_folder(config) -> None:
    close_shared(config, "_session_files")


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
