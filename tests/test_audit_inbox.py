"""The batch sees every file: each file of an inbox is audited or listed with what to do, a
template returned blank is 未填写 (not 26 必须修改), a unit that sent only a PDF is not 未提交,
and the exit code and the last lines say what happened and where the results are."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from batch_inbox import CLUTTER, NOT_WORKBOOKS, audited_inbox, sheet_rows
from helpers import COMMITTED_FILLED, COMMITTED_TEMPLATE, corrected_file, scratch, zh_locale  # noqa: F401
from typer.testing import CliRunner

from xltool.cli import app


def _units(audited) -> dict[str, dict]:
    return {row["单位名称"] or row["文件"]: row for row in sheet_rows(audited.summary, "汇总") if row["序号"]}


def _problem_files(audited) -> dict[str, dict]:
    return {row["文件"]: row for row in sheet_rows(audited.summary, "异常文件")}


def _named(files: dict[str, dict], name: str) -> dict:
    """The 异常文件 row of *name* (a path inside the inbox, or archive!member)."""
    if "!" in name:
        archive, member = name.split("!", 1)
        found = [row for source, row in files.items() if source.endswith(f"{archive}!{member}")]
    else:
        found = [row for source, row in files.items() if Path(source).as_posix().endswith(name)]
    assert len(found) == 1, (name, list(files))
    return found[0]


def test_every_file_is_audited_or_listed_with_what_to_do():
    audited = audited_inbox()
    units, files = _units(audited), _problem_files(audited)
    checked = {row["文件"] for row in units.values()} - {None}  # a unit whose files were unreadable names none
    assert checked == {"芦淞区机关事务服务中心.xlsx", "渌口区教育局_自评表.xlsx", "石峰区财政局.xlsx"}
    for name, advice in NOT_WORKBOOKS.items():
        row = _named(files, name)
        assert row["问题类型"] in ("不是工作簿", "无法读取"), row
        assert advice in row["原因和处理办法"] and Path(name.split("!")[-1]).name in row["原因和处理办法"], row
    et = _named(files, "其他/旧表格.et")["原因和处理办法"]
    assert "WPS 表格" in et and ".xls）" not in et, "a WPS user knows the file as .et"
    # System clutter is nobody's submission: counted, not listed.
    listed = " ".join(files)
    for clutter in CLUTTER:
        assert clutter.rsplit("!", 1)[-1].rsplit("/", 1)[-1] not in listed, clutter
    assert "跳过系统文件3个" in audited.flat_output
    # Nothing else in the inbox went unmentioned.
    on_disk = {p for p in audited.inbox.rglob("*") if p.is_file() and p.suffix != ".zip"}
    mentioned = {p for p in on_disk if p.name in checked or any(s.endswith(p.name) for s in files)}
    assert on_disk - mentioned == {audited.inbox / "~$芦淞区.xlsx", audited.inbox / "Thumbs.db"}


def test_a_template_returned_blank_is_not_filled_in_not_must_fix():
    audited = audited_inbox()
    units = _units(audited)
    for name in ("渌口区教育局", "石峰区财政局"):  # its own template; the generic one under its name
        row = units[name]
        assert row["审核结果"] == "未填写", row
        assert row["必须修改"] is None and row["需要说明"] is None, row
        assert "空白模板" in row["备注"]
    findings = sheet_rows(audited.summary, "问题明细")
    assert findings and not [f for f in findings if f["单位名称"] in ("渌口区教育局", "石峰区财政局")]
    assert units["株洲市芦淞区机关事务服务中心"]["审核结果"] == "需修改"
    # Submitted but empty is not 未提交, and gets no issue list of the template's required entries.
    missing = [row["单位名称"] for row in sheet_rows(audited.summary, "未提交")]
    assert missing == ["荷塘区司法局"]
    unit_folders = sorted(p.name for p in (audited.out / "units").iterdir())
    assert len(unit_folders) == 1 and list((audited.out / "units" / unit_folders[0]).glob("问题清单.xlsx"))
    assert "空白未填写2" in audited.flat_output and "未提交1" in audited.flat_output


def test_a_unit_that_sent_only_a_pdf_is_not_missing():
    audited = audited_inbox()
    row = _units(audited)["攸县商务局"]
    assert row["审核结果"] == "无法读取" and "PDF" in row["备注"], row
    listed = _named(_problem_files(audited), "攸县商务局_扫描件.pdf")
    assert listed["单位名称"] == "攸县商务局" and listed["单位编码"] == "430299"


def test_exit_code_and_last_lines_say_what_happened_and_where():
    audited = audited_inbox()
    assert audited.exit_code == 3, audited.output  # done, but some files could not be checked
    flat = audited.flat_output
    for part in (str(audited.out.resolve()), "审核汇总.xlsx", "汇总数据.csv", "units/"):
        assert "".join(part.split()) in flat, part
    assert f"有{len(NOT_WORKBOOKS)}个文件未能审核" in flat and "异常文件" in flat


@pytest.mark.parametrize("files, code", [
    (("corrected",), 0),  # every file checked, nothing to fix
    (("filled",), 1),  # something must be fixed
    (("blank",), 1),  # a unit returned its template blank
    (("filled", "pdf"), 3),  # checked, but one file could not be
    (("pdf", "empty"), 2),  # not one file could be checked
    ((), 2),  # nothing to audit
], ids=["clean", "findings", "blank", "some-unreadable", "none-readable", "empty"])
def test_audit_exit_codes(files, code, zh_locale):  # noqa: F811
    inbox = scratch(f"exit-{'-'.join(files) or 'empty'}") / "inbox"
    inbox.mkdir()
    sources = {"corrected": corrected_file(), "filled": COMMITTED_FILLED, "blank": COMMITTED_TEMPLATE}
    for name in files:
        if name in sources:
            shutil.copy(sources[name], inbox / f"{name}.xlsx")
        elif name == "pdf":
            (inbox / "scan.pdf").write_bytes(b"%PDF-1.4\n")
        else:
            (inbox / "empty.xlsx").write_bytes(b"")
    result = CliRunner().invoke(app, ["audit", str(inbox), "--out", str(inbox.parent / "out"), "--jobs", "1"])
    assert result.exit_code == code, result.output
    flat = "".join(result.output.split())
    assert "审核汇总.xlsx" in flat and "units/" in flat
    if code == 2:
        assert "没有" in flat  # says that nothing could be checked


def test_exit_codes_are_documented_in_every_checking_command(zh_locale):  # noqa: F811
    for command in ("audit", "check-workbook", "check-report"):
        help_text = "".join(CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output.split())
        assert "退出码：0" in help_text and "3部分文件未能审核" in help_text, command


def test_check_report_with_several_files_exit_codes(zh_locale):  # noqa: F811
    from xltool.word.writer import make_report

    folder = scratch("report-exit")
    report, _errors = make_report(corrected_file(), folder / "报告.docx")
    broken = folder / "坏报告.docx"
    broken.write_bytes(b"PK\x03\x04 not a document")
    runner = CliRunner()
    assert runner.invoke(app, ["check-report", str(report)]).exit_code == 0
    assert runner.invoke(app, ["check-report", str(report), str(broken)]).exit_code == 3
    assert runner.invoke(app, ["check-report", str(broken)]).exit_code == 2


def test_members_of_unknown_type_that_are_workbooks_are_checked(tmp_path):
    """A workbook saved under a wrong name (no or another extension) is checked, not refused by name."""
    from xltool.audit.inputs import collect

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(COMMITTED_FILLED, inbox / "芦淞区报表")  # no extension
    shutil.copy(COMMITTED_FILLED, inbox / "芦淞区报表.xlsx.bak")
    with zipfile.ZipFile(inbox / "a.zip", "w") as zf:
        zf.write(COMMITTED_FILLED, "单位/报表.dat")
        zf.writestr("单位/说明.dat", b"plain words")
    collected = collect([inbox], tmp_path / "work")
    assert sorted(Path(f.source.split("!")[-1]).name for f in collected.files) == ["报表.dat", "芦淞区报表", "芦淞区报表.xlsx.bak"]
    assert [r.source.rsplit("!", 1)[-1] for r in collected.rejected] == ["单位/说明.dat"]


def test_no_mail_for_a_template_returned_blank(zh_locale):  # noqa: F811
    audited = audited_inbox()
    out = audited.out.parent / "审核结果-邮件"
    result = CliRunner().invoke(app, ["audit", str(audited.inbox), "--roster", str(audited.inbox.parent / "单位名册.csv"),
                                      "--out", str(out), "--jobs", "1", "--email", "--dry-run"])
    flat = "".join(result.output.split())
    assert result.exit_code == 3, result.output
    assert "未发送：报回的是空白模板2" in flat and "试运行1" in flat, result.output  # only the unit with findings
