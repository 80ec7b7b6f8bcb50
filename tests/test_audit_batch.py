"""Batch audit of a generated batch: every injected fault and broken file is reported, no clean
workbook is flagged, the roster logic holds, and the outputs are complete and safe.

The batch comes from benchmarks/generate.py (small N); its manifest says what each file is.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path

import openpyxl
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import generate  # noqa: E402

from xltool.audit.model import AnomalyKind, Status  # noqa: E402
from xltool.audit.run import AuditOptions, run_audit  # noqa: E402
from xltool.audit.summary import csv_name, summary_name  # noqa: E402

N = 20  # 15 workbooks with one fault kind each, 5 clean, plus 6 broken files and 2 older drafts


@cache
def batch(tmp_root: str) -> tuple[Path, dict]:
    folder = Path(tmp_root) / "batch"
    manifest = generate.generate(N, folder, seed=3, fault_share=15 / N, duplicates=2)
    return folder, manifest


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    root = tmp_path_factory.mktemp("audit")
    folder, manifest = batch(str(root))
    out = root / "out"
    outcome = run_audit(AuditOptions(inputs=[folder], out=out, roster=folder / manifest["roster"], jobs=2))
    return folder, manifest, out, outcome


def _by_file(outcome) -> dict:
    return {Path(u.submission.source).name: u for u in outcome.units if u.submission}


def test_every_fault_is_reported_and_no_clean_workbook_flagged(audited):
    _folder, manifest, _out, outcome = audited
    units = _by_file(outcome)
    faults = [e for e in manifest["files"] if e["kind"] == "fault"]
    assert len({e["fault"] for e in faults}) == len(generate.FAULTS), "the batch covers every fault kind"
    for entry in faults:
        unit = units[entry["file"]]
        codes = {f.code for f in unit.report.findings}
        assert entry["rule"] in codes, f"{entry['fault']} in {entry['file']}: {entry['rule']} not in {codes}"
    for entry in manifest["files"]:
        if entry["kind"] == "clean":
            unit = units[entry["file"]]
            assert unit.report.findings == [], f"{entry['file']}: {[f.key for f in unit.report.findings]}"
            assert unit.status is Status.PASSED


def test_every_broken_file_is_a_problem_file_with_its_reason(audited):
    _folder, manifest, _out, outcome = audited
    anomalies = {Path(a.source).name: a for a in outcome.anomalies}
    for entry in manifest["files"]:
        if entry["kind"] != "broken":
            continue
        anomaly = anomalies[entry["file"]]
        assert anomaly.kind in (AnomalyKind.UNREADABLE, AnomalyKind.NOT_OURS)
        assert anomaly.message and any("\u4e00" <= ch <= "\u9fff" for ch in anomaly.message), anomaly.message
    stored = {Path(u.submission.source).name for u in outcome.units if u.submission}
    assert not stored & {e["file"] for e in manifest["files"] if e["kind"] == "broken"}


def test_roster_missing_duplicates_and_units_not_on_the_roster(audited):
    _folder, manifest, _out, outcome = audited
    assert sorted(u.code for u in outcome.not_submitted) == sorted(manifest["not_submitted"])
    not_on_roster = [a for a in outcome.anomalies if a.kind is AnomalyKind.NOT_ON_ROSTER]
    assert [a.code for a in not_on_roster] == manifest["not_on_roster"]
    duplicates = {Path(a.source).name: a for a in outcome.anomalies if a.kind is AnomalyKind.DUPLICATE}
    for dup in manifest["duplicates"]:
        assert Path(duplicates[dup["set_aside"]].kept).name == dup["kept"]
        assert "填报日期" in duplicates[dup["set_aside"]].message
        kept = next(u for u in outcome.units if u.code == dup["code"])
        assert Path(kept.submission.source).name == dup["kept"]
    assert len(outcome.units) == N  # one row per unit, duplicates folded


def test_summary_workbook_sheets_charts_and_dataset(audited):
    _folder, manifest, out, outcome = audited
    wb = openpyxl.load_workbook(out / summary_name())
    assert wb.sheetnames == ["汇总", "问题明细", "未提交", "异常文件", "变化", "全部数据", "图表"]
    summary = wb["汇总"]
    header = [c.value for c in summary[1]]
    for label in ("单位名称", "单位编码", "文件", "模板版本", "审核结果", "必须修改", "需要说明", "全年预算数", "全年执行数",
                  "执行率", "三公经费", "总分"):
        assert label in header
    statuses = {summary.cell(row=r, column=header.index("审核结果") + 1).value for r in range(2, N + 2)}
    assert statuses <= {"通过", "需说明", "需修改", "无法读取"} and "通过" in statuses and "需修改" in statuses
    findings = wb["问题明细"]
    assert findings.auto_filter.ref.startswith("A1:")
    assert findings.max_row - 1 == sum(len(u.report.findings) for u in outcome.units if u.report)
    assert wb["未提交"].max_row - 1 == len(manifest["not_submitted"])
    assert wb["异常文件"].max_row - 1 == len(outcome.anomalies)
    assert len(wb["图表"]._charts) == 3
    data = wb["全部数据"]
    ids = [c.value for c in data[1]]
    assert ids[:4] == ["unit", "unit_code", "file", "status"] and "eval_total_score" in ids
    assert data[2][ids.index("eval_total_score")].value == "附件3 总分 得分"
    assert data.max_row == 2 + sum(1 for u in outcome.units if u.report)
    text = (out / csv_name()).read_bytes()
    assert text.startswith(b"\xef\xbb\xbf")  # Excel opens it as UTF-8
    rows = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    # One header row, the Chinese labels (the field ids are 全部数据's first row only).
    assert rows[0] == [c.value for c in data[2]] and rows[0][:4] == ["单位名称", "单位编码", "文件", "审核结果"]
    assert len(rows) == data.max_row - 1 and not any(r[0] == "unit" for r in rows)


def _sheets(path: Path) -> dict:
    wb = openpyxl.load_workbook(path)
    return {ws.title: ([[c.value for c in row] for row in ws.iter_rows()], ws.auto_filter.ref, ws.freeze_panes,
                       len(ws._charts)) for ws in wb.worksheets}


def test_summary_built_in_a_worker_is_the_same_workbook(audited, tmp_path):
    """The big-batch path (openpyxl's half in a pool worker, rows rendered here) writes the
    same sheets, cells, filters and charts as the serial path."""
    from xltool.audit.summary import SummaryWriter, write_summary

    _folder, _manifest, out, outcome = audited
    serial = write_summary(outcome, tmp_path / "serial.xlsx")
    with ProcessPoolExecutor(max_workers=1) as pool:
        writer = SummaryWriter(outcome, pool)
        assert writer.future is not None
        parallel = writer.write(tmp_path / "parallel.xlsx")
    expected = _sheets(serial)
    assert _sheets(parallel) == expected == _sheets(out / summary_name())
    assert len(expected["全部数据"][0]) == 2 + sum(1 for u in outcome.units if u.report)

    # A worker lost while it builds the summary (killed, out of memory): the summary is still written.
    with ProcessPoolExecutor(max_workers=1) as pool:
        pool.submit(time.sleep, 30)  # keeps the only worker busy, so the summary waits in the queue
        writer = SummaryWriter(outcome, pool)
        for process in list(pool._processes.values()):
            process.kill()
        assert _sheets(writer.write(tmp_path / "lost.xlsx")) == expected
        assert writer.future.exception() is not None
        broken = SummaryWriter(outcome, pool)  # the pool is broken now: nothing is submitted
        assert broken.future is None and _sheets(broken.write(tmp_path / "broken.xlsx")) == expected


def test_the_audit_reads_within_its_limits(tmp_path):
    """AuditOptions.limits bound the reading, not only the collecting: with a cell limit below
    what 附件3 holds, every workbook is a problem file that says so."""
    from xltool.read.safety import Limits

    folder = tmp_path / "in"
    generate.generate(3, folder, seed=5, fault_share=0, broken=False)
    outcome = run_audit(AuditOptions(inputs=[folder], out=tmp_path / "out", jobs=1,
                                     limits=Limits(max_cells_per_sheet=500)))
    assert not [u for u in outcome.units if u.report is not None]
    problems = [a for a in outcome.anomalies if a.kind is AnomalyKind.UNREADABLE]
    assert len(problems) == 3 and all("上限 500" in a.message for a in problems), problems


def test_per_unit_outputs_only_for_units_with_findings(audited):
    _folder, _manifest, out, outcome = audited
    for unit in outcome.units:
        folder = out / "units" / unit.folder_name
        if unit.report and unit.report.findings:
            names = sorted(p.name for p in folder.iterdir())
            assert names == sorted(["问题清单.xlsx", f"审核标注_{Path(unit.submission.source).stem}.xlsx"])
            ws = openpyxl.load_workbook(folder / "问题清单.xlsx").active
            assert ws.max_row == 5 + len(unit.report.findings)
        else:
            assert not folder.exists()
    assert not (out / ".staging").exists()


def test_fast_reader_and_openpyxl_reader_agree_on_every_generated_workbook(audited):
    folder, manifest, _out, _outcome = audited
    files = [str(folder / e["file"]) for e in manifest["files"] if e["kind"] in ("clean", "fault", "duplicate")]
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_both_paths, files))
    for path, xml, reference in results:
        assert xml == reference, path


def _both_paths(path: str) -> tuple[str, list, list]:
    from xltool.check.checker import check_path

    def key(report):
        return [(f.code, f.instance, f.severity.value, f.message, f.expected, f.actual, f.difference) for f in report.findings]

    _r1, fast = check_path(Path(path))
    _r2, reference = check_path(Path(path), backend="openpyxl")
    return path, key(fast), key(reference)


def test_text_from_workbooks_never_becomes_a_formula(tmp_path):
    factory = generate.shared_factory(2023)
    import random

    rng = random.Random(5)
    evil = generate.Unit(name='=HYPERLINK("http://example.com","点击")', code="+430299", email="u@example.com")
    values = generate.consistent_values(factory.form, evil, rng)
    values["info_preparer"] = "@SUM(1+1)"
    values["eval_exec_score"] = 1.0  # a finding, so the unit gets its lists
    folder = tmp_path / "in"
    factory.render(values, folder / "evil.xlsx", unit=evil)
    out = tmp_path / "out"
    outcome = run_audit(AuditOptions(inputs=[folder], out=out, jobs=1))
    unit = outcome.units[0]
    assert unit.unit.startswith("=HYPERLINK")
    wb = openpyxl.load_workbook(out / summary_name())
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} became a formula: {cell.value}"
    names = [c.value for c in wb["全部数据"][3]]
    assert "'=HYPERLINK(\"http://example.com\",\"点击\")" in names
    assert "'+430299" in names and "'@SUM(1+1)" in names
    rows = list(csv.reader(io.StringIO((out / csv_name()).read_text(encoding="utf-8-sig"))))
    assert rows[1][0] == "'=HYPERLINK(\"http://example.com\",\"点击\")" and rows[1][1] == "'+430299"
    for text in (c for row in rows[1:] for c in row):
        assert not text.startswith(("=", "+", "@", "\t", "\r")), text
    negative = [c for c in rows[1] if c.startswith("'-")]
    assert not negative, "numbers (e.g. a negative 年中调整) stay numbers"
    issues = openpyxl.load_workbook(out / "units" / unit.folder_name / "问题清单.xlsx").active
    for row in issues.iter_rows():
        for cell in row:
            assert cell.data_type != "f", f"问题清单!{cell.coordinate}: {cell.value}"


def _own_corpus() -> Path:
    from helpers import scratch
    from odd_files import corpus_dir

    return corpus_dir(scratch("odd-files"))


def _extra_corpus() -> Path | None:
    from extra_cases import extra_corpus

    files = extra_corpus()
    return files[0].parent if files else None


@pytest.mark.parametrize("corpus", [
    pytest.param(_own_corpus, id="own"),
    pytest.param(_extra_corpus, id="extra", marks=[pytest.mark.extra, pytest.mark.skipif(
        _extra_corpus() is None, reason="no foreign corpus beside the checkout")]),
])
def test_corpus_files_are_problem_files_and_never_stop_the_batch(tmp_path, corpus):
    corpus = corpus()
    files = sorted(p for p in corpus.iterdir() if p.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"))
    others = sorted(p for p in corpus.iterdir() if p.is_file() and p not in files and not p.name.startswith("."))
    outcome = run_audit(AuditOptions(inputs=[corpus], out=tmp_path / "out", jobs=2))
    assert outcome.units == []
    reported = {Path(a.source).name: a for a in outcome.anomalies}
    assert set(reported) == {p.name for p in files + others}  # every file, a workbook or not
    for name, anomaly in reported.items():
        expected = (AnomalyKind.NOT_AUDITED,) if name in {p.name for p in others} else (
            AnomalyKind.UNREADABLE, AnomalyKind.NOT_OURS)
        assert anomaly.kind in expected, anomaly
        assert anomaly.message
    assert outcome.exit_code == 2  # not one file could be checked
    ws = openpyxl.load_workbook(tmp_path / "out" / summary_name())["异常文件"]
    assert ws.max_row - 1 == len(files) + len(others)


def test_manifest_is_json(audited):
    folder, manifest, _out, _outcome = audited
    assert json.loads((folder / "manifest.json").read_text(encoding="utf-8")) == manifest
    shutil.rmtree(folder / "does-not-exist", ignore_errors=True)
