"""The audit at the floor: form packs resolved once per round, the dataset kept out of memory."""

from __future__ import annotations

import pytest

from tests.test_pack_versions import COUNTY_10


@pytest.fixture()
def bureau(monkeypatch, tmp_path):
    folder = tmp_path / "forms"
    (folder / "county").mkdir(parents=True)
    (folder / "county" / "1.0.toml").write_text(COUNTY_10, encoding="utf-8")
    monkeypatch.setenv("XLTOOL_FORMS_DIR", str(folder))
    return folder


def test_within_a_round_a_pack_is_resolved_once_and_afterwards_afresh(bureau):
    from xltool.form.registry import UnknownForm, get_pack, pinned

    with pinned():
        first = get_pack("county")
        (bureau / "county" / "1.0.toml").rename(bureau / "gone.bak")  # the bureau removes it mid-round
        assert get_pack("county") is first  # the round goes on with the packs it started with
        with pytest.raises(UnknownForm):
            get_pack("nosuch")  # an unknown pack is refused inside as outside
    with pytest.raises(UnknownForm):
        get_pack("county")  # the next lookup sees the folder as it is


def test_a_round_does_not_pin_other_threads():
    import threading

    from xltool.form import registry

    seen = []
    with registry.pinned():
        assert registry._PINNED.get() is not None
        thread = threading.Thread(target=lambda: seen.append(registry._PINNED.get()))
        thread.start()
        thread.join()
    assert seen == [None] and registry._PINNED.get() is None  # the web server's other requests resolve afresh


def test_dataset_rows_come_back_exactly_from_their_file_however_often_read():
    from xltool.audit.summary import Rows

    rows = Rows()
    written = [["芦淞区财政局", "430203", "a.xlsx", "通过", 0.1 + 0.2, 12, None, True, "=1+1", ""],
               ["x" * 5000, "", "b.xlsx", "需修改", -1e-7, 2**40, None, False, "", 3.0]]
    for row in written:
        rows.append(row)
    assert len(rows) == 2
    outer = iter(rows)
    assert next(outer) == written[0]
    assert list(rows) == written  # a second reader while the first is halfway
    rows.append(["late", "", "", "", 1.5, 1, None, False, "", ""])
    assert next(outer) == written[1] and len(rows) == 3
    assert [type(v) for v in list(rows)[0]] == [type(v) for v in written[0]]


def test_the_round_keeps_no_report_and_the_summary_reads_them_back_one_at_a_time(tmp_path):
    """Memory flat as the batch grows: after the round no unit's report is held in memory (each is
    read back from the history database when asked for), and 审核汇总.xlsx holds at most one
    report at a time while it lists every finding."""
    import sys
    import weakref
    from pathlib import Path

    import openpyxl

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import generate

    from xltool.audit.run import AuditOptions, run_audit
    from xltool.audit.summary import write_summary

    folder = tmp_path / "batch"
    manifest = generate.generate(6, folder, seed=5, fault_share=0.7, duplicates=0)
    outcome = run_audit(AuditOptions(inputs=[folder], out=tmp_path / "out", roster=folder / manifest["roster"], jobs=1))
    checked = [u for u in outcome.units if u.has_report]
    assert len(checked) >= 6 and all(u.__dict__.get("_report") is None for u in outcome.units)
    with_findings = [u for u in checked if u.finding_keys]
    assert with_findings and len(with_findings) < len(checked)  # some units have nothing to list

    store, refs, loads = outcome.store, [], []

    class Counting:  # the round's store, counting the reports alive whenever one is read back
        def load(self, unit):
            report = store.load(unit)
            refs.append(weakref.ref(report))
            loads.append(sum(r() is not None for r in refs))
            return report

    outcome.units.reports = Counting()  # each unit read back from the round's database is stashed with it
    wb = openpyxl.load_workbook(write_summary(outcome, tmp_path / "summary.xlsx"))
    total = sum(len(u.finding_keys) for u in checked)
    assert wb["问题明细"].max_row == 1 + total
    assert sorted(c.value for c in wb["问题明细"]["D"][1:]) == sorted(k["key"].split(":")[0] for u in checked for k in u.finding_keys)
    assert len(loads) == len(with_findings)  # a unit without findings is not read back at all
    assert max(loads) == 1  # each report let go before the next is read


def test_every_dataset_row_reaches_the_sheet_in_small_chunks():
    """全部数据 is rendered a few rows at a time (a row is a thousand cells), every row kept."""
    from xltool.audit.summary import ROWS_PER_CHUNK, _rows_xml

    rows = [[f"单位{n}", n, 0.5 + n, None, "=x", ""] for n in range(3 * ROWS_PER_CHUNK + 1)]
    chunks = list(_rows_xml(rows, first_row=3, formats=None, width=6))
    xml = b"".join(chunks).decode()
    assert len(chunks) == 4 and xml.count("<row ") == len(rows) and f'<row r="{len(rows) + 2}">' in xml
    assert all(f">单位{n}<" in xml and f'<v>{0.5 + n!r}</v>' in xml for n in range(len(rows)))
    assert "'=x" in xml and xml.count("<c ") == 4 * len(rows)  # blank and None write no cell
