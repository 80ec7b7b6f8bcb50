"""Anonymous 报送: a unit's own identity puts a file in the round; strangers' files wait in a
pending area that is bounded and purged; per-client, per-unit and per-round quotas.

Attacks (docs/security.md): A6 a stranger submits for a unit, A7 guessing submission codes,
A8 filling the disk with padded workbooks, A9 filling the pending area, A10 flooding the
self-check cache to push out other units' results.
"""

from __future__ import annotations

import csv
import email
import io
import re
import sqlite3
import time
import zipfile
from email import policy
from pathlib import Path

import openpyxl
import pytest

from secsupport import EXAMPLE, HTML, basic, client_of, login, make_app, token_of
from helpers import edit_inputs, form_2023, zh_locale  # noqa: F401

from xltool.web.config import load_config

UNIT_CODE = "430203001"


@pytest.fixture(scope="module")
def unit_workbook(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("unit") / "unit.xlsx"
    return edit_inputs(EXAMPLE, path, form_2023(), {"info_unit_code": UNIT_CODE}).read_bytes()


def _check(client, data: bytes, name: str = "u.xlsx") -> dict:
    r = client.post("/api/selfcheck", files={"file": (name, data)})
    assert r.status_code == 200, r.text
    return r.json()


def _round_files(data: Path) -> list[Path]:
    return sorted(data.glob("rounds/*/files/*"))


def _key(data: Path) -> str:
    return load_config(data).submit_key


def submission_code(key: str, unit_code: str) -> str:
    from xltool.web.codes import submission_code as code  # imported late: the module is new with the codes

    return code(key, unit_code)


def test_a_stranger_cannot_put_a_file_in_a_units_round(tmp_path, unit_workbook):
    """A6: without the unit's submission code the file waits for the desk, outside the audit."""
    data = tmp_path / "data"
    client = client_of(make_app(data), "198.51.100.50")
    body = _check(client, unit_workbook)
    r = client.post(body["submit_url"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "pending" and r.json()["receipt"].startswith("P")
    assert _round_files(data) == []
    assert len(list((data / "pending").iterdir())) == 1
    pending = client.get("/api/rounds/1/pending", headers=basic()).json()
    assert [p["unit_code"] for p in pending] == [UNIT_CODE] and pending[0]["client"] == "198.51.100.50"
    # The page says so in Chinese.
    page = client_of(client.app, "198.51.100.51")
    token = token_of(page.get("/", headers=HTML).text)
    shown = page.post("/selfcheck", data={"csrf_token": token}, files={"file": ("u.xlsx", unit_workbook)}, headers=HTML)
    action = re.search(r'action="(/selfcheck/[^"]+/submit)"', shown.text).group(1)
    asked = page.post(action, data={"csrf_token": token}, headers=HTML)  # 必须修改 left: the page asks first
    assert asked.status_code == 200 and 'id="confirm-submit"' in asked.text
    done = page.post(action, data={"csrf_token": token, "confirm": "1"}, headers=HTML)
    assert done.status_code == 200 and 'id="pending"' in done.text and "财政局确认" in done.text


def test_the_units_code_puts_the_file_in_the_round_and_wrong_codes_are_throttled(tmp_path, unit_workbook):
    """A7: the right code stores the file; a wrong one is refused, and guessing is throttled like passwords."""
    data = tmp_path / "data"
    client = client_of(make_app(data))
    code = submission_code(_key(data), UNIT_CODE)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}", code)
    body = _check(client, unit_workbook)
    r = client.post(body["submit_url"], json={"submit_code": code.lower().replace("-", " ")})
    assert r.status_code == 200 and r.json()["status"] == "stored", r.text
    assert [p.read_bytes() for p in _round_files(data)] == [unit_workbook]
    guesser = client_of(client.app, "192.0.2.66")
    statuses = []
    for n in range(12):
        body = _check(guesser, unit_workbook)
        statuses.append(guesser.post(body["submit_url"], json={"submit_code": f"AAAAA-AAA{n:02d}"}).status_code)
    assert statuses[:10] == [403] * 10 and set(statuses[10:]) == {429}
    body = _check(guesser, unit_workbook)
    assert guesser.post(body["submit_url"], json={"submit_code": code}).status_code == 429  # even the right one
    assert len(_round_files(data)) == 1


def test_a_word_report_needs_the_unit_code_typed_with_the_code(tmp_path):
    data = tmp_path / "data"
    client = client_of(make_app(data))
    docx_path = _word_report(tmp_path)
    body = _check(client, docx_path.read_bytes(), "报告.docx")
    assert body["readable"], body
    r = client.post(body["submit_url"], json={"submit_code": submission_code(_key(data), UNIT_CODE)})
    assert r.status_code == 400 and "单位编码" in r.json()["detail"]
    r = client.post(body["submit_url"], json={"submit_code": submission_code(_key(data), UNIT_CODE),
                                              "unit_code": UNIT_CODE})
    assert r.status_code == 200 and r.json()["status"] == "stored"


def _word_report(tmp_path: Path) -> Path:
    from typer.testing import CliRunner

    from xltool.cli import app

    out = tmp_path / "报告.docx"
    result = CliRunner().invoke(app, ["make-report", str(EXAMPLE), "-o", str(out), "--force"])
    assert result.exit_code == 0, result.output
    return out


def test_templates_made_at_the_desk_carry_the_code_and_submit_directly(tmp_path):
    data = tmp_path / "data"
    client = client_of(make_app(data))
    roster = f"单位名称,单位编码,电子邮箱\n芦淞区机关事务服务中心,{UNIT_CODE},a@example.gov.cn\n".encode()
    r = client.post("/api/templates", data={"year": "2023"}, files={"file": ("名册.csv", roster)}, headers=basic())
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        names = zf.namelist()
        template = zf.read(next(n for n in names if n.endswith(".xlsx")))
        codes = list(csv.reader(io.StringIO(zf.read(next(n for n in names if n.endswith(".csv"))).decode("utf-8-sig"))))
    expected = submission_code(_key(data), UNIT_CODE)
    assert codes[1][1:] == [UNIT_CODE, "a@example.gov.cn", expected]
    meta = openpyxl.load_workbook(io.BytesIO(template))["_xltool_meta"]
    assert {row[0].value: row[1].value for row in meta.iter_rows(max_col=2)}["submit_code"] == expected
    body = _check(client, template, "芦淞.xlsx")
    assert body["readable"]
    r = client.post(body["submit_url"])
    assert r.status_code == 200 and r.json()["status"] == "stored", r.text


def test_quotas_per_client_and_per_round(tmp_path, unit_workbook):
    """A8: one computer, then many, keep submitting: each quota answers 429/507 in Chinese, nothing more is stored."""
    data = tmp_path / "data"
    app = make_app(data, submit_per_client=3, submit_round_files=5)
    code = submission_code(_key(data), UNIT_CODE)
    one = client_of(app, "198.51.100.7")
    statuses = []
    for _n in range(4):
        body = _check(one, unit_workbook)
        statuses.append(one.post(body["submit_url"], json={"submit_code": code}).status_code)
    assert statuses == [200, 200, 200, 429]
    statuses = []
    for n in range(4):
        other = client_of(app, f"198.51.100.{20 + n}")
        body = _check(other, unit_workbook)
        r = other.post(body["submit_url"])
        statuses.append(r.status_code)
    assert statuses == [200, 200, 507, 507], statuses
    assert "财政局" in r.json()["detail"]
    assert len(_round_files(data)) + len(list((data / "pending").iterdir())) == 5


def test_bytes_quota_per_client_and_per_unit(tmp_path, unit_workbook):
    data = tmp_path / "data"
    app = make_app(data, submit_client_mb=1, submit_per_unit=2)
    code = submission_code(_key(data), UNIT_CODE)
    big = _padded(unit_workbook, 700 * 1024)
    one = client_of(app, "198.51.100.8")
    body = _check(one, big)
    assert body["readable"], body
    assert one.post(body["submit_url"], json={"submit_code": code}).status_code == 200
    body = _check(one, big)
    r = one.post(body["submit_url"], json={"submit_code": code})
    assert r.status_code == 429 and "MB" in r.json()["detail"]
    for n in range(2):
        c = client_of(app, f"198.51.100.{30 + n}")
        body = _check(c, unit_workbook)
        statuses = c.post(body["submit_url"], json={"submit_code": code}).status_code
    assert statuses == 429  # the unit's second file was its limit (2): the first came from .8


def _padded(workbook: bytes, extra: int) -> bytes:
    """The workbook with an incompressible extra part (as the campaign's 19.6 MB padded workbook)."""
    import os

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            content = zin.read(info.filename)
            if info.filename == "[Content_Types].xml" and b'Extension="bin"' not in content:
                content = content.replace(b"<Default ", b'<Default Extension="bin" ContentType="application/octet-stream"/><Default ', 1)
            zout.writestr(info, content)
        zout.writestr("docProps/padding.bin", os.urandom(extra))
    return out.getvalue()


def test_the_pending_area_is_bounded_and_purged_on_a_schedule(tmp_path, unit_workbook):
    """A9: pending files have their own cap, and go after pending_keep_hours (a timer while serving)."""
    from fastapi.testclient import TestClient

    data = tmp_path / "data"
    app = make_app(data, pending_files=2, pending_purge_seconds=1)
    statuses = []
    for n in range(3):
        c = client_of(app, f"203.0.113.{40 + n}")
        body = _check(c, unit_workbook)
        statuses.append(c.post(body["submit_url"]).status_code)
    assert statuses == [200, 200, 429]
    assert len(list((data / "pending").iterdir())) == 2
    # Make one of them old: the server's own timer purges it (row and file).
    with sqlite3.connect(data / "web.sqlite") as db:
        db.execute("UPDATE pending SET received_ts = received_ts - 4 * 86400 WHERE id = 1")
    with TestClient(app, client=("203.0.113.99", 1)):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(list((data / "pending").iterdir())) > 1:
            time.sleep(0.2)
    assert [p.name for p in (data / "pending").iterdir()] == ["p000002.xlsx"]
    with sqlite3.connect(data / "web.sqlite") as db:
        assert [r[0] for r in db.execute("SELECT id FROM pending")] == [2]


def test_the_desk_accepts_or_deletes_pending_files(tmp_path, unit_workbook):
    data = tmp_path / "data"
    app = make_app(data)
    for n in range(2):
        c = client_of(app, f"203.0.113.{60 + n}")
        c.post(_check(c, unit_workbook)["submit_url"])
    desk = client_of(app, "192.0.2.1")
    token = login(desk)
    page = desk.get("/desk/rounds/1", headers=HTML).text
    assert page.count("/accept") == 2
    assert desk.post("/desk/pending/1/accept", data={"csrf_token": "forged"}, headers=HTML).status_code == 403
    assert desk.post("/desk/pending/1/accept", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert desk.post("/api/pending/2/drop", headers={"x-csrf-token": token}).status_code == 200
    assert [p.read_bytes() for p in _round_files(data)] == [unit_workbook]
    assert list((data / "pending").iterdir()) == []
    files = desk.get("/api/rounds/1/files", headers=basic()).json()
    assert files[0]["origin"] == "selfcheck"


def test_the_desk_lists_and_mails_the_codes(tmp_path):
    data = tmp_path / "data"
    client = client_of(make_app(data))
    roster = (f"单位名称,单位编码,电子邮箱\n=HYPERLINK(\"x\"),{UNIT_CODE},a@example.gov.cn\n"
              "芦淞区财政局,430203002,b@example.gov.cn;c@example.gov.cn;d@example.gov.cn;e@example.gov.cn\n").encode()
    rid = client.post("/api/rounds", json={"name": "一"}, headers=basic()).json()["id"]
    assert client.get(f"/api/rounds/{rid}/codes", headers=basic()).status_code == 404
    client.post(f"/api/rounds/{rid}/roster", files={"file": ("名册.csv", roster)}, headers=basic())
    codes = client.get(f"/api/rounds/{rid}/codes", headers=basic()).json()
    key = _key(data)
    assert {c["unit_code"]: c["code"] for c in codes} == {UNIT_CODE: submission_code(key, UNIT_CODE),
                                                          "430203002": submission_code(key, "430203002")}
    token = login(client)
    listing = client.get(f"/desk/rounds/{rid}/codes", headers=HTML)
    rows = list(csv.reader(io.StringIO(listing.content.decode("utf-8-sig"))))
    assert rows[1][0].startswith("'=")  # a roster name never becomes a formula in the bureau's spreadsheet
    # The desk shows who gets a code first; the confirm (CSRF and the list's digest) sends them.
    preview = client.get(f"/desk/rounds/{rid}/mail/codes", headers=HTML)
    assert preview.status_code == 200 and "发件箱" in preview.text and not list((data / "outbox").rglob("*.eml"))
    plan = re.search(r'name="plan" value="([^"]+)"', preview.text).group(1)
    r = client.post(f"/desk/rounds/{rid}/mail/codes", data={"csrf_token": token, "plan": plan}, headers=HTML)
    assert r.status_code == 200 and "/desk/tasks/" in str(r.url)
    task = str(r.url).rsplit("/", 1)[1]
    deadline = time.monotonic() + 60
    while client.get(f"/api/tasks/{task}", headers=basic()).json()["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "发件箱" in client.get(f"/desk/tasks/{task}", headers=HTML).text
    messages = [email.message_from_bytes(p.read_bytes(), policy=policy.default)
                for p in (data / "outbox").rglob("*.eml")]
    assert len(messages) == 2
    for m in messages:
        body = m.get_content()
        to = [a.addr_spec for a in m["To"].addresses]
        assert len(to) <= 3
        unit_code = UNIT_CODE if to == ["a@example.gov.cn"] else "430203002"
        assert submission_code(key, unit_code) in body


def test_one_client_cannot_push_out_other_units_results(tmp_path, unit_workbook):
    """A10: the self-check keeps results in memory for 报送; a flood from one address evicts only its own."""
    app = make_app(tmp_path / "data", selfcheck_per_minute=1000)
    unit = client_of(app, "198.51.100.77")
    mine = _check(unit, unit_workbook)
    flood = client_of(app, "203.0.113.250")
    for _n in range(210):  # more than the cache holds in all
        flood.post("/api/selfcheck", files={"file": ("x.xlsx", b"PK\x03\x04 not really")})
    assert unit.get(mine["issues_url"]).status_code == 200
