"""An inbox as a bureau receives it, audited once per test session with ``xltool audit``.

Built from the project's own files only (the committed example and template, a template
written for one unit): a filled workbook with findings (negative differences among them), a
unit's own template returned blank, the generic template returned blank under a unit's name,
a unit that sent only a scanned PDF, a roster unit that sent nothing, and the other things an
inbox holds: a photo, a .doc report, a text note, a WPS .et file, a RAR archive inside a zip,
a saved e-mail, and system clutter (an Office lock file, Thumbs.db, a macOS fork).
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from helpers import COMMITTED_FILLED, COMMITTED_TEMPLATE, chinese, scratch

ROSTER = [  # 单位名称, 单位编码, 电子邮箱
    ("株洲市芦淞区机关事务服务中心", "", "jg@example.cn"),  # the example (it states no code)
    ("渌口区教育局", "430201", "jy@example.cn"),  # its own template, returned blank
    ("石峰区财政局", "430213", "cz@example.cn"),  # the generic template, returned blank under its name
    ("攸县商务局", "430299", "sw@example.cn"),  # only a scanned PDF
    ("荷塘区司法局", "430206", "sf@example.cn"),  # nothing at all
]
NOT_WORKBOOKS = {  # file → a word the advice must contain
    "攸县商务局_扫描件.pdf": ".xlsx",
    "其他/表格照片.jpg": ".xlsx",
    "其他/自评报告.doc": ".docx",
    "其他/说明.txt": ".xlsx",
    "其他/旧表格.et": ".xlsx",
    "其他/来信.eml": "附件",
    "第二批.zip!附件/报表.rar": ".zip",
}
CLUTTER = ("~$芦淞区.xlsx", "Thumbs.db", "第二批.zip!__MACOSX/._报表.rar")


@dataclass(frozen=True)
class Audited:
    inbox: Path
    out: Path
    exit_code: int
    output: str  # stdout and stderr of the command, as a clerk reads it

    @property
    def summary(self) -> Path:
        return self.out / "审核汇总.xlsx"

    @property
    def flat_output(self) -> str:
        """The output without the line breaks a narrow console adds."""
        return "".join(self.output.split())


def build_inbox(folder: Path) -> Path:
    from xltool.template.writer import write_template

    inbox = folder / "收件箱"
    (inbox / "其他").mkdir(parents=True)
    shutil.copy(COMMITTED_FILLED, inbox / "芦淞区机关事务服务中心.xlsx")
    with chinese():
        write_template(inbox / "渌口区教育局_自评表.xlsx", 2023, unit_name="渌口区教育局", unit_code="430201",
                       unit_email="jy@example.cn")
    shutil.copy(COMMITTED_TEMPLATE, inbox / "石峰区财政局.xlsx")
    (inbox / "攸县商务局_扫描件.pdf").write_bytes(b"%PDF-1.4\n% a scan\n")
    (inbox / "其他" / "表格照片.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    (inbox / "其他" / "自评报告.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    (inbox / "其他" / "说明.txt").write_text("附件3 请见邮件正文", encoding="utf-8")
    (inbox / "其他" / "旧表格.et").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    (inbox / "其他" / "来信.eml").write_text("Subject: 自评表\r\n\r\n见附件\r\n", encoding="utf-8")
    (inbox / "~$芦淞区.xlsx").write_bytes(b"\x00lock")
    (inbox / "Thumbs.db").write_bytes(b"\x00thumbs")
    with zipfile.ZipFile(inbox / "第二批.zip", "w") as zf:
        zf.writestr("附件/报表.rar", b"Rar!\x1a\x07\x00 archive")
        zf.writestr("__MACOSX/._报表.rar", b"fork")
    roster = folder / "单位名册.csv"
    roster.write_text("单位名称,单位编码,电子邮箱\n" + "".join(f"{n},{c},{e}\n" for n, c, e in ROSTER), encoding="utf-8")
    return inbox


@cache
def audited_inbox() -> Audited:
    from typer.testing import CliRunner

    from xltool.cli import app

    folder = scratch("batch-inbox")
    inbox = build_inbox(folder)
    out = folder / "审核结果"
    with chinese():
        result = CliRunner().invoke(app, ["audit", str(inbox), "--roster", str(folder / "单位名册.csv"),
                                          "--out", str(out), "--jobs", "1"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return Audited(inbox=inbox, out=out, exit_code=result.exit_code, output=result.output)


def sheet_rows(path: Path, title: str) -> list[dict]:
    """The rows of a summary sheet as {header: value}."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb[title]
    head = [c.value for c in ws[1]]
    return [dict(zip(head, (c.value for c in row))) for row in ws.iter_rows(min_row=2) if any(c.value for c in row)]
