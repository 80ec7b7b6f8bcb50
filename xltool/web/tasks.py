"""Background work of the desk that takes longer than a page should wait: the templates zip for a
roster, and the actions on many units (results, submission codes, reminders by mail).

A task runs in a thread and reports progress the way an audit does (the page polls
``/api/tasks/<id>`` with the same script); when it is done its page shows a Chinese summary, a
row per unit, and a download link when it made a file. One task of each kind runs at a time.
Tasks live in memory: a restart forgets them (their files in ``tasks/`` are removed at start);
what they sent is in the outbox, which is the durable record.
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from xltool.i18n import _

log = logging.getLogger("xltool.web")


@dataclass
class Task:
    id: int
    kind: str  # templates, mail-results, mail-codes, reminders
    title: str  # what the page heads it with (Chinese)
    back: str  # the page to go back to
    round_id: int | None = None
    back_label: str = ""  # the round's name, for the page's crumbs
    phase: str = ""
    total: int = 0
    done: int = 0
    state: str = "running"  # running, done, failed
    message: str = ""  # the reason when it failed
    summary: list[str] = field(default_factory=list)  # Chinese sentences: what happened
    rows: list[dict] = field(default_factory=list)  # one per unit: unit, to, outcome, detail, ok
    file: Path | None = None  # a download (the templates zip)
    file_name: str = ""
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    def progress(self, done: int, total: int, phase: str | None = None) -> None:
        self.done, self.total = done, total
        if phase is not None:
            self.phase = phase

    def as_dict(self) -> dict:
        percent = round(100 * self.done / self.total) if self.total else (100 if self.state == "done" else 0)
        end = self.finished if self.finished is not None else time.monotonic()
        return {"task_id": self.id, "kind": self.kind, "title": self.title, "round_id": self.round_id,
                "phase": self.phase, "total": self.total, "done": self.done, "percent": percent,
                "state": self.state, "message": self.message, "summary": list(self.summary),
                "rows": list(self.rows), "download": self.file is not None,
                "seconds": round(end - self.started, 1)}


class Tasks:
    """Starts tasks in threads, one of each kind at a time; keeps the last ones for their pages."""

    def __init__(self, folder: Path, keep: int = 50) -> None:
        self.folder = folder
        self.keep = keep
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._tasks: dict[int, Task] = {}
        self._clear_files()

    def _clear_files(self) -> None:
        """The files of tasks a previous server made: nobody can reach them any more."""
        try:
            for path in self.folder.glob("*"):
                path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("clearing %s failed: %r", self.folder, exc)

    def busy(self, kind: str) -> Task | None:
        return next((t for t in self._tasks.values() if t.kind == kind and t.state == "running"), None)

    def get(self, task_id: int) -> Task | None:
        return self._tasks.get(task_id)

    def start(self, kind: str, title: str, work: Callable[[Task], None], *, back: str,
              round_id: int | None = None, back_label: str = "") -> Task | None:
        """Run ``work(task)`` in a thread; None when a task of this *kind* is already running."""
        with self._lock:
            if self.busy(kind) is not None:
                return None
            task = Task(next(self._ids), kind, title, back, round_id=round_id, back_label=back_label,
                        phase=_("Waiting to start"))
            self._tasks[task.id] = task
            self._forget_old()
        threading.Thread(target=self._run, args=(task, work), name=f"task-{task.id}", daemon=True).start()
        return task

    def _run(self, task: Task, work: Callable[[Task], None]) -> None:
        from xltool.web.errors import storage_message

        try:
            work(task)
            task.state = "done"
            task.done = task.total
        except TaskRefused as exc:
            task.state, task.message = "failed", str(exc)
        except (OSError, sqlite3.Error) as exc:  # a full or read-only data folder: said, never a trace
            log.warning("task %s (%s): %r", task.id, task.kind, exc)
            task.state, task.message = "failed", storage_message(exc)
        except Exception as exc:  # noqa: BLE001 - the desk goes on serving; the reason is logged
            log.error("task %s (%s) failed", task.id, task.kind, exc_info=exc)
            task.state = "failed"
            task.message = _("The task stopped with an internal error: {error}").format(error=type(exc).__name__)
        finally:
            task.finished = time.monotonic()

    def _forget_old(self) -> None:
        finished = [t for t in self._tasks.values() if t.state != "running"]
        for old in sorted(finished, key=lambda t: t.id)[: max(0, len(self._tasks) - self.keep)]:
            if old.file is not None:
                old.file.unlink(missing_ok=True)
            del self._tasks[old.id]


class TaskRefused(Exception):
    """A task that cannot go on, with the Chinese sentence to show."""
