"""An audit killed halfway (SIGKILL of the whole process group) and run again produces the same
outputs as one uninterrupted run: results are committed in groups of at most 16 and every output is
regenerated from the history database."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import generate  # noqa: E402

from xltool.audit.run import AuditOptions, run_audit  # noqa: E402
from xltool.audit.summary import csv_name, summary_name  # noqa: E402

pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")


def _snapshot(out: Path) -> dict:
    """Everything the outputs say, without timestamps (xlsx docProps) or absolute output paths."""
    snap: dict = {"csv": (out / csv_name()).read_bytes()}
    wb = openpyxl.load_workbook(out / summary_name())
    snap["summary"] = {ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    snap["charts"] = len(wb["图表"]._charts)
    units = out / "units"
    files = sorted(p.relative_to(units) for p in units.rglob("*") if p.is_file())
    snap["unit_files"] = [str(p) for p in files]
    for rel in files:
        path = units / rel
        if rel.name == "问题清单.xlsx":
            snap[str(rel)] = [list(r) for r in openpyxl.load_workbook(path).active.iter_rows(values_only=True)]
        else:
            snap[str(rel)] = path.read_bytes()  # the annotated copy is written deterministically
    db = sqlite3.connect(out / "history.sqlite")
    snap["rounds"] = sorted(db.execute("SELECT unit_key, unit, unit_code, source, sha256, status, findings FROM rounds"))
    snap["submissions"] = sorted(db.execute("SELECT source, sha256, status, findings FROM submissions"))
    snap["runs"] = db.execute("SELECT count(*), count(finished) FROM runs").fetchone()
    db.close()
    return snap


def _count(db_path: Path) -> int:
    try:
        db = sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True, timeout=0.1)
        try:
            return db.execute("SELECT count(*) FROM submissions").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def test_killed_audit_resumes_with_the_same_outputs(tmp_path):
    folder = tmp_path / "in"
    manifest = generate.generate(60, folder, seed=9, fault_share=0.5, duplicates=2)
    roster = folder / manifest["roster"]
    total = len(manifest["files"])

    clean = tmp_path / "clean"
    run_audit(AuditOptions(inputs=[folder], out=clean, roster=roster, jobs=2))

    out = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-m", "xltool", "audit", str(folder), "--roster", str(roster), "--out", str(out), "--jobs", "2"],
        cwd=tmp_path, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    db_path = out / "history.sqlite"
    deadline = time.monotonic() + 120
    seen = 0
    while time.monotonic() < deadline and proc.poll() is None:
        seen = _count(db_path)
        if seen >= 8:
            break
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    seen = _count(db_path)
    assert 0 < seen < total, f"the audit was not killed halfway ({seen} of {total} results)"
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT count(*), count(finished) FROM runs").fetchone() == (1, 0)
    db.close()

    resumed = run_audit(AuditOptions(inputs=[folder], out=out, roster=roster, jobs=2))
    assert resumed.run_id == 1, "the interrupted round is resumed, not counted as a new one"
    assert resumed.reused >= seen and resumed.checked == total - resumed.reused
    assert _snapshot(out) == _snapshot(clean)
    assert not list(out.glob(".*.tmp")) and not (out / ".staging").exists()
