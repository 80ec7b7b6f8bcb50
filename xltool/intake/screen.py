"""Every attachment through the audit's own check before anybody is answered.

The files of a message are collected exactly as ``xltool audit`` collects a folder (zip archives
opened member by member under the same bounds), each file is checked by the audit worker's
``check_file`` (the same safety gate, reader and rules, in the audit's worker processes), and the
result is kept in the audit's history under the audit's rules key. The round that later takes
the files of an answered message finds every result there and checks nothing twice; the files of
a held message never enter a round.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from xltool.audit.history import DB_NAME, History, Stored
from xltool.audit.inputs import collect
from xltool.audit.lock import AuditLock
from xltool.audit.pool import Workers, batches, map_unordered  # the audit's own pool
from xltool.audit.run import file_digest, rules_key
from xltool.audit.worker import check_files
from xltool.check.finding import WorkbookReport
from xltool.form.scoring import ScoringConfig
from xltool.read.safety import Limits

LOCK_WAIT = 300.0  # seconds to wait for an audit of the same output folder (the clerk's, or the desk's)


@dataclass
class Checked:
    """One file of a message after the check: a workbook, a Word report or a zip member."""

    attachment: int  # the attachment it came in (its n)
    name: str  # as the sender knows it: "附件.xlsx" or "附件.zip → 成员.xlsx"
    path: Path | None  # where its bytes are now (for the annotated copy); None when refused unread
    sha256: str
    status: str  # "ok", "unreadable" (the gate or the reader refused it) or "rejected" (never read)
    header: dict
    report: WorkbookReport | None
    message: str  # why it could not be checked

    @property
    def unit(self) -> str:
        return str(self.header.get("unit") or "")


@dataclass
class Folder:
    """A message's attachments on disk: stored file name → (attachment n, name as sent)."""

    path: Path
    names: dict[str, tuple[int, str]]


class Screen:
    def __init__(self, out: Path, *, cfg: ScoringConfig | None = None, limits: Limits | None = None,
                 jobs: int = 1) -> None:
        self.out = Path(out)
        self.limits = limits or Limits()
        bureau = cfg if cfg is not None else ScoringConfig()
        self.rules_key = rules_key(bureau, self.limits)  # exactly the audit's, so its round reuses the results
        self.cfg_json = bureau.stated_json()
        self.jobs = max(1, jobs)

    @contextmanager
    def check(self, folders: dict[str, Folder]) -> Iterator[dict[str, list[Checked]]]:
        """The files of each message checked (or found checked); their paths live until the block ends."""
        workdir = Path(tempfile.mkdtemp(prefix="xltool-intake-"))
        try:
            yield self._check(folders, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _check(self, folders: dict[str, Folder], workdir: Path) -> dict[str, list[Checked]]:
        if not folders:
            return {}
        found: dict[str, list[tuple]] = {}
        for n, (key, folder) in enumerate(sorted(folders.items())):
            collected = collect([folder.path], workdir / f"{n:05d}", limits=self.limits)
            items = [(item.path, item.source, file_digest(item, self.limits)) for item in collected.files]
            found[key] = [("file", *item) for item in items] + [("rejected", r) for r in collected.rejected]
        self.out.mkdir(parents=True, exist_ok=True)
        with AuditLock(self.out, wait=LOCK_WAIT):
            history = History(self.out / DB_NAME)
            try:
                results = self._results(history, found)
            finally:
                history.close()
        checked: dict[str, list[Checked]] = {}
        for key, entries in found.items():
            folder = folders[key]
            checked[key] = [self._checked(entry, folder, results) for entry in entries]
            checked[key].sort(key=lambda c: (c.attachment, c.name))
        return checked

    def _results(self, history: History, found: dict[str, list[tuple]]) -> dict[str, Stored]:
        results: dict[str, Stored] = {}
        todo: dict[str, tuple[str, str]] = {}
        for entries in found.values():
            for entry in entries:
                if entry[0] != "file":
                    continue
                _kind, path, source, sha = entry
                if sha in results or sha in todo:
                    continue
                stored = history.cached(sha, self.rules_key)
                if stored is not None:
                    results[sha] = stored
                else:
                    todo[sha] = (str(path), source)
        if todo:
            tasks = [(path, source, self.cfg_json, None, self.limits) for path, source in todo.values()]
            shas = {task[0]: sha for sha, task in zip(todo, tasks)}
            workers = Workers(self.jobs if len(tasks) > 4 else 1)
            interrupted = True

            def on_result(batch: tuple, answers: list) -> None:
                for task, (status, header, body) in zip(batch[0], answers):
                    sha = shas[task[0]]
                    stored = Stored(sha, status, header, body)
                    results[sha] = stored
                    history.remember(self.rules_key, stored)

            try:
                size = max(1, min(4, len(tasks) // (8 * workers.jobs)))
                map_unordered(check_files, batches(tasks, size), workers.get(len(tasks)), on_result,
                               workers.in_flight)
                interrupted = False
            finally:
                workers.stop(interrupted=interrupted)
                history.commit()
        return results

    @staticmethod
    def _checked(entry: tuple, folder: Folder, results: dict[str, Stored]) -> Checked:
        if entry[0] == "rejected":
            rejected = entry[1]
            stored_name, member = _split(rejected.source, folder.path)
            n, name = folder.names.get(stored_name, (0, stored_name))
            return Checked(attachment=n, name=f"{name} → {member}" if member else name, path=None, sha256="",
                           status="rejected", header={}, report=None, message=rejected.message)
        _kind, path, source, sha = entry
        stored_name, member = _split(source, folder.path)
        n, name = folder.names.get(stored_name, (0, stored_name))
        display = f"{name} → {member}" if member else name
        stored = results.get(sha)
        if stored is None or stored.status != "ok":
            header = stored.header if stored is not None else {}
            return Checked(attachment=n, name=display, path=Path(path), sha256=sha, status="unreadable",
                           header=header, report=None, message=str(header.get("message") or ""))
        body = json.loads(stored.body) if stored.body else {}
        report = WorkbookReport.from_dict(body.get("report", {"path": display}))
        report.path = display  # what the sender calls the file
        return Checked(attachment=n, name=display, path=Path(path), sha256=sha, status="ok", header=stored.header,
                       report=report, message="")


def _split(source: str, folder: Path) -> tuple[str, str]:
    """(the stored file's name, the archive member or "") of an audit source inside *folder*."""
    path, _sep, member = source.partition("!")
    return Path(path).name, member
