"""Out of disk, a read-only output folder, an input that vanishes mid-round: a clear Chinese
message and exit 2 (or the file listed as a problem file), the history database intact, and
the same command run again completes.

The full disk is a small tmpfs the test mounts (root); the read-only folder is that tmpfs
remounted read-only. Where mounting is impossible the tests skip and say so.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from helpers import ROOT, edit_inputs, filled_file, form, scratch  # noqa: F401
from helpers import zh_locale  # noqa: F401 - autouse

UNITS = [(f"株洲市单位{n}", f"43020300{n}") for n in range(3)]


@pytest.fixture(scope="module")
def inputs(form) -> Path:
    folder = scratch("fault_inputs")
    for n, (name, code) in enumerate(UNITS):
        edit_inputs(filled_file(), folder / f"unit{n}.xlsx", form, {"info_unit_name": name, "info_unit_code": code})
    return folder


class Tmpfs:
    """A tmpfs of a given size mounted on a fresh folder; remount to resize or make read-only."""

    def __init__(self, size: str) -> None:
        self.path = scratch("mnt") / uuid.uuid4().hex[:8]
        self.path.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(self.path)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            message = f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}): disk-full test skipped"
            print(message)
            pytest.skip(message)

    def remount(self, options: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{options}", str(self.path)], check=True)

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=False)


@pytest.fixture
def tmpfs():
    mounted: list[Tmpfs] = []

    def make(size: str) -> Tmpfs:
        if os.geteuid() != 0 or shutil.which("mount") is None:
            message = "not root (or no mount command): cannot mount a tmpfs, disk-full test skipped"
            print(message)
            pytest.skip(message)
        fs = Tmpfs(size)
        mounted.append(fs)
        return fs

    yield make
    for fs in mounted:
        fs.unmount()


def _audit(inputs: Path, out: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, XLTOOL_LANG="zh_CN", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "xltool", "audit", str(inputs), "--out", str(out), "--jobs", "1"],
                          capture_output=True, text=True, env=env, timeout=300)


def _history_ok(out: Path) -> None:
    db = out / "history.sqlite"
    assert db.is_file()
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.execute("SELECT count(*) FROM results").fetchone()
    finally:
        con.close()


def test_full_disk_is_a_clear_message_and_a_rerun_completes(inputs, tmpfs, capsys) -> None:
    failures = 0
    for size in ("160k", "320k", "640k"):
        fs = tmpfs(size)
        out = fs.path / "out"
        done = _audit(inputs, out)
        assert "Traceback" not in done.stderr + done.stdout
        if done.returncode == 2:
            failures += 1
            assert "磁盘已满" in done.stderr and "重新运行" in done.stderr, done.stderr
            if (out / "history.sqlite").exists():
                fs.remount("size=64m")  # room again; the database as the failed run left it
                _history_ok(out)
        else:
            assert done.returncode == 1, done.stderr[-2000:]
            fs.remount("size=64m")
        fs.remount("size=64m")
        again = _audit(inputs, out)
        assert again.returncode == 1, again.stderr[-2000:]
        assert (out / "审核汇总.xlsx").is_file() and (out / "汇总数据.csv").is_file()
        _history_ok(out)
    with capsys.disabled():
        print(f"\n[reliability] full disk: {failures} of 3 runs ran out of space, 3 reruns completed")
    assert failures >= 1, "no size was small enough to fill the disk"


def test_read_only_output_folder_is_a_clear_message(inputs, tmpfs) -> None:
    fs = tmpfs("64m")
    out = fs.path / "out"
    assert _audit(inputs, out).returncode == 1
    extra = scratch("fault_inputs_more")
    for path in inputs.glob("*.xlsx"):
        shutil.copy(path, extra / path.name)
    shutil.copy(inputs / "unit0.xlsx", extra / "unit0_again.xlsx")  # something new to record
    fs.remount("ro")
    for target in (out, fs.path / "fresh"):  # an existing round, and a folder not made yet
        done = _audit(extra, target)
        assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
        assert "无法写入输出文件夹" in done.stderr and "Traceback" not in done.stderr
    fs.remount("rw")
    _history_ok(out)
    again = _audit(extra, out)
    assert again.returncode == 1, again.stderr[-2000:]
    assert (out / "审核汇总.xlsx").is_file()


def test_input_deleted_before_its_annotated_copy_is_a_problem_file(form) -> None:
    """The round reuses stored results, then writes each unit's outputs; the input of one unit
    is deleted just as that phase starts (a real deletion, timed by the runner's phase report)."""
    import openpyxl

    from xltool.audit.run import AuditOptions, Progress, run_audit
    from xltool.audit.summary import summary_name
    from xltool.i18n import _

    folder = scratch("vanish_inputs")
    for n, (name, code) in enumerate(UNITS):
        edit_inputs(filled_file(), folder / f"unit{n}.xlsx", form, {"info_unit_name": name, "info_unit_code": code})
    out = scratch("vanish_out")
    options = AuditOptions(inputs=[folder], out=out, jobs=1)
    run_audit(options)
    shutil.rmtree(out / "units")  # the per-unit outputs must be written again from the inputs
    victim = folder / "unit1.xlsx"

    class DeleteWhileWriting(Progress):
        def phase(self, text: str) -> None:
            if text == _("Writing the outputs") and victim.exists():  # checking is over, outputs next
                victim.unlink()

    outcome = run_audit(options, DeleteWhileWriting())
    assert not victim.exists()
    gone = [a for a in outcome.anomalies if "unit1" in a.source]
    assert len(gone) == 1 and "被删除或移走" in gone[0].message
    summary = out / summary_name()
    assert summary.is_file()
    texts = {str(c.value) for ws in openpyxl.load_workbook(summary, read_only=True).worksheets
             for row in ws.iter_rows() for c in row if c.value is not None}
    assert any("被删除或移走" in t for t in texts)
    others = [u for u in outcome.units if u.code != UNITS[1][1]]
    assert all(len(u.outputs) == 2 and all(p.is_file() for p in u.outputs) for u in others)
