"""The audit's memory stays flat as the batch grows: the round holds no list of its units (each is
stored in history.sqlite once its outcome is known and read back a few at a time), the summary
worker is sent the database's name rather than the units, and the work folders of killed rounds
do not pile up. Asserted structurally (weak references, sizes of what is sent), never by timing
or by a memory threshold."""

from __future__ import annotations

import gc
import os
import pickle
import subprocess
import sys
import time
import weakref
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _unit(n: int):
    from xltool.audit.model import Changes, Status, Submission, UnitResult

    s = Submission(source=f"returns/单位{n}.xlsx", sha256=f"{n:064x}", size=1000 + n, mtime=1.5 + n, status="ok",
                   header={"unit": f"单位{n}", "year": 2025, "template_version": "1.3", "blank": False,
                           "scoring": '{"a": 1}'}, path=Path(f"/tmp/in/单位{n}.xlsx"))
    word = Submission(source=f"returns/单位{n}.docx", sha256="f" * 64, size=9, mtime=0.0, status="ok",
                      header={"kind": "report"})
    return UnitResult(key=f"code:{n}", unit=f"单位{n}", code=str(n), email=f"u{n}@example.com", department="科",
                      on_roster=bool(n % 2), status=Status.FIX if n % 3 else Status.PASSED, submission=s,
                      values={"eval_exec_rate": 0.1 + 0.2, "eval_total_score": n, "eval_exec": None},
                      errors=n % 3, warnings=1, changes=Changes(fixed=[{"key": "XT1:a", "severity": "error",
                                                                        "message": "甲"}], first=False),
                      outputs=[Path(f"/out/units/{n}/问题清单.xlsx")], note="＝说明", reports=[word],
                      finding_keys=[{"key": "XT301:x", "severity": "error", "message": "乙"}])


class Reports:
    """Stands for the round's report store (a unit's report is read back from it)."""

    def load(self, unit):
        return None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reports)


def _stored(tmp_path: Path, n: int):
    from xltool.audit.history import History
    from xltool.audit.unitstore import StoredUnits, clear_units, save_unit

    history = History(tmp_path / f"h{n}.sqlite")
    clear_units(history.db)
    for position in range(n):
        unit = _unit(position)
        unit.stash(Reports())  # its report lives in a store
        save_unit(history.db, 7, position, unit)
    history.commit()
    return history, StoredUnits(history.path, 7, n, reports=Reports(), db=history.db)


def test_a_stored_unit_comes_back_exactly_and_afresh_each_time(tmp_path):
    history, units = _stored(tmp_path, 5)
    try:
        first, again = list(units), list(units)
        assert len(units) == 5 and [u.key for u in first] == [f"code:{n}" for n in range(5)]
        for n, (u, v) in enumerate(zip(first, again)):
            want = _unit(n)
            assert u is not v and u == v  # a fresh object each walk, the same values
            assert (u.submission, u.values, u.changes, u.outputs, u.note, u.reports, u.finding_keys, u.status) == (
                want.submission, want.values, want.changes, want.outputs, want.note, want.reports, want.finding_keys,
                want.status)
            assert type(u.values["eval_exec_rate"]) is float and u.has_report
            assert isinstance(u.__dict__["_stored"], Reports)  # its report is read back from there
        assert units[3].key == "code:3" and units[-1].key == "code:4" and [u.key for u in units[1:3]] == ["code:1", "code:2"]
        with pytest.raises(IndexError):
            units[5]
        from xltool.audit.model import AuditOutcome, Status

        outcome = AuditOutcome(run_id=7, year=2025, units=units, not_submitted=[], anomalies=[])
        listed = AuditOutcome(run_id=7, year=2025, units=list(units), not_submitted=[], anomalies=[])
        for status in Status:  # counted in one walk, as over a list
            assert outcome.count(status) == listed.count(status)
        assert (outcome.checked_files, outcome.changes_total) == (listed.checked_files, listed.changes_total) == (5, (5, 0, 0))
        changed = units[2]
        changed.note, changed.status = "邮件未发送", Status.EXPLAIN
        units.update([changed])  # whoever changes a unit writes it back
        assert units[2].note == "邮件未发送" and units[1].note == "＝说明"
        assert outcome.count(Status.EXPLAIN) == 1  # the counts follow
    finally:
        history.close()


def test_walking_the_units_holds_one_at_a_time(tmp_path):
    history, units = _stored(tmp_path, 150)  # more than one chunk read from the database
    try:
        alive = []
        refs = []
        for unit in units:
            refs.append(weakref.ref(unit))
            alive.append(sum(r() is not None for r in refs))
        assert len(refs) == 150 and max(alive) == 1
    finally:
        history.close()


def test_what_the_summary_worker_is_sent_does_not_grow_with_the_units(tmp_path):
    from xltool.audit.model import AuditOutcome
    from xltool.audit.summary import _for_summary

    sizes = []
    for n in (3, 300):
        history, units = _stored(tmp_path, n)
        outcome = AuditOutcome(run_id=7, year=2025, units=units, not_submitted=[], anomalies=[])
        sent = pickle.dumps(_for_summary(outcome))
        sizes.append(len(sent))
        history.close()
        received = pickle.loads(sent)  # as the worker has it: its own read-only connection
        assert [u.key for u in received.units] == [f"code:{k}" for k in range(n)]
        received.units.close()
    assert abs(sizes[1] - sizes[0]) < 16  # the database's name and a count, not the units


@pytest.fixture(scope="module")
def small_batch(tmp_path_factory):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import generate

    folder = tmp_path_factory.mktemp("flat") / "batch"
    manifest = generate.generate(6, folder, seed=11, fault_share=0.5, duplicates=1)
    return folder, folder / manifest["roster"]


def test_the_round_lets_go_of_each_unit_once_it_is_stored(small_batch, tmp_path, monkeypatch):
    """No per-unit list grows in the round: every unit the round resolved is let go as soon as it
    is stored, and none is alive when the round is over (the outcome reads them back)."""
    from xltool.audit import run, unitstore
    from xltool.audit.unitstore import StoredUnits

    folder, roster = small_batch
    resolved: list[weakref.ref] = []
    alive_at_store: list[int] = []
    real_resolve, real_save = run.resolve, unitstore.save_unit

    def resolve(*args, **kwargs):
        outcome = real_resolve(*args, **kwargs)
        resolved.extend(weakref.ref(u) for u in outcome.units)
        return outcome

    def save_unit(db, run_id, position, unit):
        alive_at_store.append(sum(r() is not None for r in resolved))
        return real_save(db, run_id, position, unit)

    monkeypatch.setattr(run, "resolve", resolve)
    monkeypatch.setattr(unitstore, "save_unit", save_unit)
    outcome = run.run_audit(run.AuditOptions(inputs=[folder], out=tmp_path / "out", roster=roster, jobs=1))
    count = len(resolved)
    assert count >= 6 and isinstance(outcome.units, StoredUnits) and len(outcome.units) == count
    # When the k-th unit is stored, the k before it are gone already (later calls: units written back).
    assert alive_at_store[:count] == [count - k for k in range(count)]
    gc.collect()
    assert all(r() is None for r in resolved)
    assert [u.key for u in outcome.units] == [u.key for u in outcome.units]  # read back in the round's order
    assert sum(1 for u in outcome.units if u.outputs) >= 1  # the outputs written back to the stored units


def test_a_killed_rounds_work_folder_is_removed_when_the_next_round_starts(tmp_path):
    from xltool.audit.inputs import make_workdir

    env = dict(os.environ, TMPDIR=str(tmp_path), PYTHONPATH=str(ROOT))
    # A real round's process, killed while its work folder exists (SIGKILL: nothing of it runs after).
    child = subprocess.Popen([sys.executable, "-c", "from xltool.audit.inputs import make_workdir; "
                              "print(make_workdir(), flush=True); import time; time.sleep(120)"],
                             env=env, stdout=subprocess.PIPE, text=True)
    left = Path(child.stdout.readline().strip())
    child.kill()
    child.wait()
    child.stdout.close()
    assert left.is_dir() and left.parent == tmp_path and left.name.startswith(f"xltool-audit-{child.pid}-")
    (left / "00001").mkdir()
    (left / "00001" / "member.xlsx").write_bytes(b"PK")

    alive = tmp_path / f"xltool-audit-{os.getppid()}-running"  # another round still at work
    alive.mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "keep.txt").write_text("x")
    link = tmp_path / f"xltool-audit-{child.pid}-link"
    link.symlink_to(outside, target_is_directory=True)
    old_empty, old_full, new_empty = (tmp_path / "xltool-audit-ab12_cd3", tmp_path / "xltool-audit-zz99_aa1",
                                      tmp_path / "xltool-audit-qq11_rr2")
    for folder in (old_empty, old_full, new_empty):
        folder.mkdir()
    (old_full / "x.xlsx").write_bytes(b"PK")
    week_ago = time.time() - 7 * 24 * 3600
    for folder in (old_empty, old_full):
        os.utime(folder, (week_ago, week_ago))
    other = tmp_path / "xltool-office-abc"
    other.mkdir()

    mine = make_workdir(tmp_path)
    assert not left.exists()  # its owner is gone: removed with what it held
    assert alive.is_dir() and other.is_dir() and mine.is_dir() and mine.name.startswith(f"xltool-audit-{os.getpid()}-")
    assert link.is_symlink() and (outside / "keep.txt").is_file()  # never through a link
    assert not old_empty.exists() and old_full.is_dir() and new_empty.is_dir()  # an older version's: empty and old only
    make_workdir(tmp_path)
    assert mine.is_dir()  # this process's own folder stays while it runs
