"""One audit at a time per output folder: a lock file naming its owner.

Two audits writing the same ``--out`` would interleave the summary, the per-unit files and the
history, and could each mail the same unit. The first takes ``<out>/.xltool-audit.lock``
(created with O_EXCL, holding the owner's PID, host and start time); the second waits for
it up to a limit, then refuses with a message naming the owner. A lock whose owner process is
gone (same host, PID not running) is stale: it is broken and taken over, so a killed audit
never blocks the next one.
"""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import datetime
from pathlib import Path

from xltool.i18n import _

LOCK_NAME = ".xltool-audit.lock"
POLL_SECONDS = 0.1


class AuditLocked(Exception):
    """Another audit holds the output folder; the message is a translated sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        return _alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    except OSError:
        return False
    return True


def _alive_windows(pid: int) -> bool:  # pragma: no cover - exercised on Windows only
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return kernel32.GetLastError() == 5  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


class AuditLock:
    """``with AuditLock(out, wait=30):`` holds *out* for this process or raises AuditLocked."""

    def __init__(self, out: Path, wait: float = 0.0) -> None:
        self.path = Path(out) / LOCK_NAME
        self.wait = max(0.0, float(wait))
        self.held = False

    def owner(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _stale(self) -> bool:
        owner = self.owner()
        if not owner:
            # Being written right now, or garbage: garbage older than a minute is stale.
            try:
                return time.time() - self.path.stat().st_mtime > 60
            except OSError:
                return False
        if owner.get("host") != socket.gethostname():
            return False  # another machine's process cannot be seen from here: never broken
        try:
            pid = int(owner.get("pid", 0))
        except (TypeError, ValueError):
            return True
        return pid == os.getpid() and not self.held or not _alive(pid)

    def _try(self) -> bool:
        if self._create():
            return True
        if not self._stale():
            return False
        # Break the stale lock under a second O_EXCL file, re-checking while holding it, so
        # that two processes breaking it at once cannot remove a lock the other just took.
        breaker = self.path.with_name(LOCK_NAME + ".break")
        try:
            fd = os.open(breaker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:  # a breaker killed half-way
                if time.time() - breaker.stat().st_mtime > 10:
                    breaker.unlink(missing_ok=True)
            except OSError:
                pass
            return False
        os.close(fd)
        try:
            if self._stale():
                self.path.unlink(missing_ok=True)
            return self._create()
        finally:
            breaker.unlink(missing_ok=True)

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        return self._write(fd)

    def _write(self, fd: int) -> bool:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"pid": os.getpid(), "host": socket.gethostname(),
                       "since": datetime.now().isoformat(timespec="seconds")}, fh)
        self.held = True
        return True

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.wait
        while not self._try():
            if time.monotonic() >= deadline:
                owner = self.owner()
                raise AuditLocked(_(
                    "Another audit (process {pid} on {host}, started {since}) is writing to {out}; "
                    "wait until it has finished, or give another --out. If no audit is running, delete {lock}."
                ).format(pid=owner.get("pid", "?"), host=owner.get("host", "?"), since=owner.get("since", "?"),
                         out=self.path.parent, lock=self.path))
            time.sleep(POLL_SECONDS)

    def release(self) -> None:
        if self.held:
            if self.owner().get("pid") == os.getpid():
                self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> AuditLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
