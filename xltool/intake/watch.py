"""Watching the mailbox: a pass, then IDLE (or a pause when the server has no IDLE), again and again.

SIGTERM (systemd's stop) and Ctrl-C set a flag: IDLE ends within half a second, a pass stops
after the message it is on, the connection is logged out and the command exits 0. Everything a
pass did is in the ledger, so stopping at any other moment is as safe, only less tidy.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

from xltool.audit.lock import AuditLocked
from xltool.intake.imap import ImapError, Mailbox
from xltool.intake.process import Intake, PassReport

RETRY_FIRST = 5.0  # seconds before reconnecting after the server was lost; doubles up to RETRY_MAX
RETRY_MAX = 300.0


class Stopper:
    """A flag set by SIGTERM and SIGINT (in the main thread), with a wait that notices it.

    A plain flag, not a threading.Event: a signal handler that takes a lock the interrupted code
    holds would deadlock."""

    def __init__(self) -> None:
        self._stopped = False
        self._previous: dict[int, object] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, _signum: int, _frame: object) -> None:
        self._stopped = True

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def set(self) -> None:
        self._stopped = True

    def is_set(self) -> bool:
        return self._stopped

    def wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stopped and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(0.2, left))


def watch(intake: Intake, on_pass: Callable[[PassReport], None], on_problem: Callable[[str], None],
          stopper: Stopper) -> None:
    """Passes until *stopper* is set. A lost connection is retried with a growing pause; a refused
    login (or another permanent error) ends the watch by raising ImapError."""
    settings = intake.settings
    pause = RETRY_FIRST
    while not stopper.is_set():
        try:
            with Mailbox(settings) as box:
                pause = RETRY_FIRST
                while not stopper.is_set():
                    try:
                        report = intake.run(box, stopper.is_set)
                    except Exception:
                        if stopper.is_set():  # the stop signal reached the audit's workers too: stop here
                            return
                        raise
                    on_pass(report)
                    if stopper.is_set():
                        break
                    if box.can_idle:
                        box.idle(settings.idle_timeout, stopper.is_set)
                    else:
                        stopper.wait(settings.poll_interval)
                        if not stopper.is_set():
                            box.noop()
        except ImapError as exc:
            if exc.permanent:
                raise
            on_problem(exc.message)
            stopper.wait(pause)
            pause = min(pause * 2, RETRY_MAX)
        except AuditLocked as exc:  # a long audit of the same folder (the clerk's): the next pass takes it
            on_problem(exc.message)
            stopper.wait(pause)
            pause = min(pause * 2, RETRY_MAX)
