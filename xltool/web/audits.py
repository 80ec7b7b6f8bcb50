"""Running ``xltool audit`` for a round from the desk: one audit at a time, in a thread, with progress.

The audit itself is :func:`xltool.audit.run.run_audit` over the round's files folder; its
outputs go to ``rounds/<id>/audit/`` and its outcome is kept in web.sqlite as plain JSON (what
the desk's pages and the API show), so the pages survive a restart.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from xltool.audit.model import KEY_FIGURES, AnomalyKind, AuditOutcome, Status
from xltool.audit.run import AuditOptions, Progress, run_audit
from xltool.audit.summary import RATE_BINS, SCORE_BINS, csv_name, summary_line, summary_name
from xltool.i18n import _
from xltool.web.store import Store, StoredFile


@dataclass
class Job:
    """The live state of the audit the desk is running (polled by the page)."""

    audit_id: int
    round_id: int
    phase: str = ""
    total: int = 0
    done: int = 0
    state: str = "running"  # running, done, failed
    message: str = ""
    started: float = field(default_factory=time.monotonic)

    def as_dict(self) -> dict:
        percent = round(100 * self.done / self.total) if self.total else (100 if self.state == "done" else 0)
        return {"audit_id": self.audit_id, "round_id": self.round_id, "phase": self.phase, "total": self.total,
                "done": self.done, "percent": percent, "state": self.state, "message": self.message,
                "seconds": round(time.monotonic() - self.started, 1)}


class _JobProgress(Progress):
    def __init__(self, job: Job) -> None:
        self.job = job

    def start(self, total: int, done: int) -> None:
        self.job.total, self.job.done = total, done
        self.job.phase = _("Checking")

    def advance(self, n: int = 1) -> None:
        self.job.done = min(self.job.total, self.job.done + n)

    def phase(self, text: str) -> None:
        self.job.phase = text

    def stop(self) -> None:
        pass


class Auditor:
    """Starts audits in a background thread, one at a time across all rounds."""

    def __init__(self, store: Store, jobs: int = 1, mail_config: Path | None = None) -> None:
        self.store, self.jobs, self.mail_config = store, jobs, mail_config
        self._lock = threading.Lock()
        self.current: Job | None = None
        self.finished: dict[int, Job] = {}

    def busy(self) -> bool:
        return self.current is not None and self.current.state == "running"

    def job(self, audit_id: int) -> Job | None:
        if self.current is not None and self.current.audit_id == audit_id:
            return self.current
        if audit_id in self.finished:
            return self.finished[audit_id]
        stored = self.store.audit(audit_id)
        if stored is None:
            return None
        state = {"done": "done", "failed": "failed"}.get(stored.status, "failed")
        return Job(audit_id, stored.round_id, state=state, message=stored.error, done=1, total=1)

    def start(self, round_id: int, *, email: bool = False, wait: bool = False) -> Job | None:
        """A new audit of the round, or None when one is already running."""
        with self._lock:
            if self.busy():
                return None
            job = Job(self.store.start_audit(round_id), round_id, phase=_("Waiting to start"))
            self.current = job
        thread = threading.Thread(target=self._run, args=(job, email), name=f"audit-{job.audit_id}", daemon=True)
        thread.start()
        if wait:
            thread.join()
        return job

    def _run(self, job: Job, email: bool) -> None:
        from xltool.audit.previous import PreviousError
        from xltool.audit.roster import RosterError

        store = self.store
        r = store.round(job.round_id)
        try:
            assert r is not None
            files = store.files(r.id)
            options = AuditOptions(inputs=[store.files_dir(r.id)], out=store.audit_dir(r.id),
                                   roster=store.roster_path(r), jobs=self.jobs, email=email,
                                   mail_config=self.mail_config)
            outcome = run_audit(options, _JobProgress(job))
            result = outcome_dict(outcome, files, store.files_dir(r.id), store.audit_dir(r.id),
                                  roster=options.roster is not None)
            store.finish_audit(job.audit_id, result)
            job.state, job.message = "done", result["summary_line"]
        except (RosterError, PreviousError) as exc:
            job.state, job.message = "failed", str(exc)
            store.finish_audit(job.audit_id, None, str(exc))
        except Exception as exc:  # the desk must go on serving; the reason is shown and logged
            traceback.print_exc()
            message = _("The audit stopped with an internal error: {error}").format(error=type(exc).__name__)
            job.state, job.message = "failed", message
            store.finish_audit(job.audit_id, None, message)
        finally:
            job.done = job.total if job.state == "done" else job.done
            self.finished[job.audit_id] = job


# -- the outcome as JSON ------------------------------------------------------------------------------------

def display_source(source: str, by_stored: dict[str, StoredFile]) -> tuple[str, int | None]:
    """The name the user gave the file (and its id) for an audit source path inside the files folder."""
    path, _sep, member = source.partition("!")
    stored = by_stored.get(Path(path).name)
    if stored is None:
        return Path(path).name + (f"!{member}" if member else ""), None
    return stored.name + (f" → {member}" if member else ""), stored.id


def unread(kind: AnomalyKind) -> bool:
    """A problem file whose content never reached the checks: what the summary line counts as 无法读取."""
    flag = getattr(kind, "unread", None)  # the audit's own definition, where it has one
    return bool(flag) if flag is not None else kind in (AnomalyKind.UNREADABLE, AnomalyKind.NOT_OURS,
                                                           AnomalyKind.REJECTED)


def status_counts(outcome: AuditOutcome) -> dict[str, int]:
    """The counts every page shows, the summary line's own: units by status, except 无法读取,
    which counts the files that could not be read (a broken file names no unit), as
    ``xltool.audit.summary.summary_line`` does; the desk's 无法读取 tab lists those files."""
    counts = {s.value: outcome.count(s) for s in Status}
    files = sum(unread(a.kind) for a in outcome.anomalies)
    counts[Status.UNREADABLE.value] = max(counts[Status.UNREADABLE.value], files)
    return counts


def _outputs(paths: list[Path], out_dir: Path | None) -> list[str]:
    """A unit's 问题清单 and annotated copy, relative to the audit's output folder (for mailing later)."""
    if out_dir is None:
        return []
    shown = []
    for p in paths:
        try:
            shown.append(Path(p).resolve().relative_to(out_dir.resolve()).as_posix())
        except (OSError, ValueError):
            return []
    return shown


def _bins(values: list[float | None], bins) -> list[dict]:
    counts = Counter()
    for v in values:
        if v is None:
            continue
        for low, high, label in bins:
            if (low is None or v >= low) and (high is None or v < high):
                counts[label] += 1
                break
    return [{"label": label, "count": counts.get(label, 0)} for _lo, _hi, label in bins]


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def outcome_dict(outcome: AuditOutcome, files: list[StoredFile], files_dir: Path, out_dir: Path | None = None,
                 *, roster: bool = False) -> dict:
    """The audit's outcome as the JSON the desk keeps: what its pages and the API show, and what
    mailing each unit its result needs later without running the audit again (each unit's
    report details and output files)."""
    by_stored = {f.stored_name: f for f in files}
    units = []
    by_rule: Counter = Counter()
    for u in outcome.units:
        source, file_id = display_source(u.submission.source, by_stored) if u.submission else ("", None)
        report = u.report  # read back from the round's database once per unit
        if report is not None:
            by_rule.update(f.code for f in report.findings)
        units.append({
            "key": u.key, "unit": u.unit, "code": u.code, "email": u.email, "department": u.department,
            "on_roster": u.on_roster, "status": u.status.value, "status_label": u.status.label,
            "errors": u.errors, "warnings": u.warnings, "file": source, "file_id": file_id, "note": u.note,
            "changes": u.changes.summary() if u.changes else "",
            "figures": {fid: _number(u.values.get(fid)) for fid, _label, _kind in KEY_FIGURES},
            "findings": [f.to_dict() for f in report.findings] if report else [],
            "report": report.to_dict(exclude={"findings"}) if report else None,
            "outputs": _outputs(u.outputs, out_dir) if report else [],
        })
    readable = [u for u in outcome.units if u.has_report]
    return {
        "run_id": outcome.run_id, "year": outcome.year, "files": outcome.files, "checked": outcome.checked,
        "reused": outcome.reused, "seconds": round(outcome.seconds, 2), "summary_line": summary_line(outcome),
        "counts": status_counts(outcome), "units": units, "roster": roster,
        "not_submitted": [{"unit": n.name, "code": n.code, "email": n.email, "department": n.department}
                          for n in outcome.not_submitted],
        "anomalies": [{"file": display_source(a.source, by_stored)[0], "kind": a.kind.value, "kind_label": a.kind.label,
                       "message": a.message, "unit": a.unit, "code": a.code, "unread": unread(a.kind)}
                      for a in outcome.anomalies],
        "charts": {
            "rate": _bins([_number(u.values.get("eval_exec_rate")) for u in readable], RATE_BINS),
            "score": _bins([_number(u.values.get("eval_total_score")) for u in readable], SCORE_BINS),
            "rules": [{"label": code, "count": n} for code, n in sorted(by_rule.items())],
        },
        "outputs": {"summary": summary_name(), "csv": csv_name()},
        "mail": outcome.mail, "mail_error": outcome.mail_error,
    }
