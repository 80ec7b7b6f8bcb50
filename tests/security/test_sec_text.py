"""Workbook text shown as a title carries no bidi or control characters; hostile values echoed
in errors are short; the data folder is private; a .docx that is not Word is a sentence, not a 500.

Attacks (docs/security.md): A19 bidi override in the unit name, A20 a 100 KB form id,
A21 the data folder readable by other users, A22 an .xlsx or old .doc renamed .docx.
"""

from __future__ import annotations

import io
import re
import stat
import time
from pathlib import Path

import openpyxl
import pytest
from rich.console import Console

from secsupport import EXAMPLE, HTML, basic, client_of, make_app, no_traceback
from helpers import edit_inputs, form_2023, has_cjk, zh_locale  # noqa: F401

from webtools import legacy_xls
from xltool.safenames import BIDI_CONTROLS

HOSTILE_UNIT = "芦淞区\u202e心中务服\u2066机关\u200b\n事务\u2028中心\u200f"
INVISIBLE = set(BIDI_CONTROLS) | {"\u200b", "\n", "\u2028"}


def _clean(text: str) -> bool:
    return not (set(text) & INVISIBLE)


@pytest.fixture(scope="module")
def hostile_workbook(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bidi") / "bidi.xlsx"
    return edit_inputs(EXAMPLE, path, form_2023(), {"info_unit_name": HOSTILE_UNIT})


def _wait(client, audit_id: int) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = client.get(f"/api/audits/{audit_id}", headers=basic()).json()
        if state["state"] != "running":
            return state
        time.sleep(0.1)
    raise AssertionError("audit did not finish")


def test_bidi_and_control_characters_never_reach_a_title(tmp_path, hostile_workbook):
    """A19: the page heading, the desk's page titles, both 问题清单 writers, the terminal, the Word report."""
    from xltool.check.checker import check_path
    from xltool.report.terminal import print_report

    app = make_app(tmp_path / "data")
    client = client_of(app)
    page = client.post("/api/selfcheck", files={"file": ("b.xlsx", hostile_workbook.read_bytes())}).json()
    assert page["readable"] and _clean(page["report"]["unit"]) and "机关" in page["report"]["unit"]
    html = client.get("/", headers=HTML)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html.text).group(1)
    shown = client.post("/selfcheck", data={"csrf_token": token}, headers=HTML,
                        files={"file": ("b.xlsx", hostile_workbook.read_bytes())}).text
    heading = re.search(r"<h1>(.*?)<", shown, re.S).group(1)
    assert _clean(heading) and "机关" in heading
    issues = openpyxl.load_workbook(io.BytesIO(client.get(page["issues_url"]).content))["问题清单"]
    assert _clean(issues["A1"].value) and "机关" in issues["A1"].value
    # The desk: an audit of the same workbook; its unit page's <title> and the audit's own 问题清单.
    rid = client.post("/api/rounds", json={"name": "第\u202e一轮"}, headers=basic()).json()["id"]
    client.post(f"/api/rounds/{rid}/files", files=[("file", ("b.xlsx", hostile_workbook.read_bytes()))], headers=basic())
    audit = client.post(f"/api/rounds/{rid}/audit", json={}, headers=basic()).json()
    assert _wait(client, audit["audit_id"])["state"] == "done"
    from secsupport import login

    login(client)
    unit_page = client.get(f"/desk/audits/{audit['audit_id']}/units/0", headers=HTML).text
    title = re.search(r"<title>(.*?)</title>", unit_page, re.S).group(1)
    assert _clean(title) and "机关" in title
    round_page = client.get(f"/desk/rounds/{rid}", headers=HTML).text
    assert _clean(re.search(r"<title>(.*?)</title>", round_page, re.S).group(1))
    lists = list((tmp_path / "data" / "rounds" / str(rid) / "audit" / "units").rglob("*问题清单*.xlsx"))
    assert lists
    a1 = openpyxl.load_workbook(lists[0]).worksheets[0]["A1"].value
    assert _clean(a1) and "机关" in a1
    # The terminal and the Word report.
    _result, report = check_path(hostile_workbook)
    console = Console(record=True, width=160)
    print_report(report, console)
    assert _clean(console.export_text().replace("\n", ""))
    from xltool.word.writer import context

    assert _clean(str(context(form_2023(), {"info_unit_name": HOSTILE_UNIT})["title"]))


def _with_meta(src: Path, dst: Path, key: str, value: str) -> Path:
    wb = openpyxl.load_workbook(src)
    ws = wb["_xltool_meta"]
    for row in ws.iter_rows(min_row=1, max_col=2):
        if row[0].value == key:
            row[1].value = value
            break
    else:
        ws.append([key, value])
    wb.save(dst)
    return dst


@pytest.mark.parametrize("key", ["form", "template_id", "version"])
def test_a_huge_identity_value_is_not_echoed_whole(tmp_path, key):
    """A20: 100 KB in the hidden sheet's form id (or template id, version): the sentence stays short."""
    from xltool.check.checker import check_path
    from xltool.read.safety import UnreadableWorkbook

    value = ("99." if key == "version" else "") + "x" * 100_000
    path = _with_meta(EXAMPLE, tmp_path / f"{key}.xlsx", key, value)
    with pytest.raises(UnreadableWorkbook) as excinfo:
        check_path(path)
    assert len(str(excinfo.value)) < 600 and has_cjk(str(excinfo.value))
    client = client_of(make_app(tmp_path / "data"))
    body = client.post("/api/selfcheck", files={"file": ("f.xlsx", path.read_bytes())}).json()
    assert not body["readable"] and len(body["message"]) < 600


def test_the_data_folder_is_private_and_stored_files_are_0600(tmp_path):
    """A21: other accounts on the server cannot list or read what units sent."""
    data = tmp_path / "data"
    client = client_of(make_app(data))
    rid = client.post("/api/rounds", json={"name": "一"}, headers=basic()).json()["id"]
    client.post(f"/api/rounds/{rid}/files", files=[("file", ("e.xlsx", EXAMPLE.read_bytes()))], headers=basic())
    client.post(f"/api/rounds/{rid}/roster", files={"file": ("r.csv", "单位名称,单位编码\n甲,1\n".encode())},
                headers=basic())
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    stored = [p for p in data.rglob("*") if p.is_file()]
    assert any(p.suffix == ".xlsx" for p in stored) and any(p.name.startswith("roster") for p in stored)
    for p in stored:
        assert stat.S_IMODE(p.stat().st_mode) & 0o077 == 0, p
    # An existing folder made 0755 by an older version is tightened at start.
    old = tmp_path / "old"
    old.mkdir(mode=0o755)
    old.chmod(0o755)
    make_app(old)
    assert stat.S_IMODE(old.stat().st_mode) == 0o700


@pytest.mark.parametrize("kind", ["xlsx", "doc"])
def test_a_docx_that_is_not_word_is_a_sentence_not_a_500(tmp_path, kind):
    """A22: the web self-check answers like the CLI does (an .xlsx or an old .doc renamed .docx)."""
    path = tmp_path / "报告.docx"
    if kind == "xlsx":
        path.write_bytes(EXAMPLE.read_bytes())
    else:
        legacy_xls(path)
    client = client_of(make_app(tmp_path / "data"))
    r = client.post("/api/selfcheck", files={"file": (path.name, path.read_bytes())})
    assert r.status_code == 200, r.text
    body = r.json()
    assert not body["readable"] and has_cjk(body["message"]) and body["reason"] and no_traceback(r.text)
    page = client.get("/", headers=HTML).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/selfcheck", data={"csrf_token": token}, files={"file": (path.name, path.read_bytes())}, headers=HTML)
    assert r.status_code == 422 and "报告.docx" in r.text and no_traceback(r.text)
