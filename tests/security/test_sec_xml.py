"""Parts of .docx and .xlsx files are scanned for a DTD in full, in whatever encoding they declare.

Attack (docs/security.md): A17 a DOCTYPE hidden after a long comment, or in UTF-16 (with or
without a byte order mark), UTF-32, GBK, EBCDIC or UTF-7, in a Word report or a workbook.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from secsupport import EXAMPLE
from helpers import zh_locale  # noqa: F401

DTD = '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'


def _variant(xml: bytes, kind: str) -> bytes:
    """*xml* (a UTF-8 part) rewritten with a DTD, as the attack *kind* hides it."""
    text = xml.decode("utf-8")
    text = re.sub(r"^\ufeff?<\?xml[^>]*\?>\s*", "", text)
    if kind == "after-comment":
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!--' + "注" * 6000 + "-->"
                + DTD + text).encode("utf-8")
    if kind == "after-root":  # not well-formed: still refused, never handed to a parser
        return ('<?xml version="1.0" encoding="UTF-8"?>' + text + DTD).encode("utf-8")
    if kind in ("utf-16-le-bom", "utf-16-be-bom"):
        enc = kind[:9]
        return ("\ufeff" + '<?xml version="1.0" encoding="UTF-16"?>' + DTD + text).encode(enc)
    if kind in ("utf-16-le", "utf-16-be"):  # no byte order mark, and a comment before anything else
        return ("<!-- x -->" + DTD + text).encode(kind)
    if kind == "utf-32-le":
        return ('<?xml version="1.0" encoding="UTF-32"?>' + DTD + text).encode("utf-32-le")
    if kind == "gbk":
        return ('<?xml version="1.0" encoding="GBK"?><!--' + "说明" * 3000 + "-->" + DTD + text).encode("gbk")
    if kind == "ebcdic":
        return ('<?xml version="1.0" encoding="cp037"?>' + DTD + text).encode("cp037", errors="replace")
    if kind == "utf-7":
        return ('<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE r+AD4-' + text).encode("utf-8")
    raise ValueError(kind)


KINDS = ["after-comment", "after-root", "utf-16-le-bom", "utf-16-be-bom", "utf-16-le", "utf-16-be", "utf-32-le",
         "gbk", "ebcdic", "utf-7"]


def _rewrite(src: Path, dst: Path, part: str, kind: str) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info, _variant(data, kind) if info.filename == part else data)
    return dst


@pytest.fixture(scope="module")
def report_docx(tmp_path_factory) -> Path:
    from typer.testing import CliRunner

    from xltool.cli import app

    out = tmp_path_factory.mktemp("docx") / "报告.docx"
    result = CliRunner().invoke(app, ["make-report", str(EXAMPLE), "-o", str(out), "--force"])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("part", ["word/document.xml", "docProps/core.xml"])
def test_a_dtd_anywhere_in_a_word_part_is_refused(tmp_path, report_docx, part, kind):
    from xltool.word.document import read_document
    from xltool.word.document import UnreadableReport

    read_document(report_docx)  # the untouched report reads
    hostile = _rewrite(report_docx, tmp_path / f"{kind}.docx", part, kind)
    with pytest.raises(UnreadableReport) as excinfo:
        read_document(hostile)
    assert str(excinfo.value.reason) == "unsafe_xml", excinfo.value.message


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("part", ["xl/workbook.xml", "docProps/app.xml", "xl/worksheets/sheet1.xml"])
def test_a_dtd_anywhere_in_a_workbook_part_is_refused(tmp_path, part, kind):
    from xltool.check.checker import check_path
    from xltool.read.safety import Reason, UnreadableWorkbook, inspect

    hostile = _rewrite(EXAMPLE, tmp_path / f"{kind}.xlsx", part, kind)
    for read in (lambda p: check_path(p), lambda p: inspect(p)):  # the streaming reader and the openpyxl gate
        with pytest.raises(UnreadableWorkbook) as excinfo:
            read(hostile)
        assert excinfo.value.reason is Reason.unsafe_xml, excinfo.value.message


def test_the_web_self_check_refuses_a_hidden_dtd_in_chinese(tmp_path, report_docx):
    from secsupport import client_of, make_app

    client = client_of(make_app(tmp_path / "data"))
    for name, path in (("报告.docx", _rewrite(report_docx, tmp_path / "a.docx", "word/document.xml", "utf-16-le")),
                       ("表.xlsx", _rewrite(EXAMPLE, tmp_path / "b.xlsx", "docProps/app.xml", "utf-16-be"))):
        body = client.post("/api/selfcheck", files={"file": (name, path.read_bytes())}).json()
        assert not body["readable"] and body["reason"] == "unsafe_xml" and name in body["message"]


def test_comments_cdata_and_escaped_text_are_not_declarations(tmp_path, report_docx):
    """No false refusal: text that merely mentions <!DOCTYPE (escaped), CDATA and comments read fine."""
    from xltool.read.safety import xml_has_dtd

    for text in ('<a>&lt;!DOCTYPE x&gt;</a>', '<a><![CDATA[<b/>]]><!-- 注 --></a>', '<a>说明：<!-- 注 --></a>'):
        for enc in ("utf-8", "utf-16-le", "utf-16-be", "gbk"):
            data = ('<?xml version="1.0" encoding="%s"?>' % ("UTF-16" if "16" in enc else enc) + text).encode(enc)
            assert not xml_has_dtd([data[i:i + 5] for i in range(0, len(data), 5)]), (text, enc)
