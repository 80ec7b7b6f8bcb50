"""The web app through FastAPI's TestClient: API, CSRF, escaping, limits, authentication, storage.

The browser tests (test_web_browser.py) drive the same pages in headless Chromium against a real
server; these check each rule of the app directly and quickly.
"""

from __future__ import annotations

import base64
import csv
import io
import re
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient

from helpers import edit_inputs, form_2023, has_cjk, zh_locale  # noqa: F401
from webtools import EXAMPLE, PASSWORD, batch_zip, legacy_xls, zip_bomb
from xltool.web.app import create_app
from xltool.web.auth import set_password
from xltool.web.config import load_config

HTML = {"accept": "text/html"}


def make_client(tmp_path: Path, **settings) -> TestClient:
    cfg = load_config(tmp_path / "data")
    for key, value in settings.items():
        setattr(cfg, key, value)
    set_password(cfg, PASSWORD)
    return TestClient(create_app(cfg))


def basic(password: str = PASSWORD) -> dict:
    return {"authorization": "Basic " + base64.b64encode(f"desk:{password}".encode()).decode()}


def token_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client: TestClient) -> str:
    token = token_of(client.get("/login", headers=HTML).text)
    r = client.post("/login", data={"csrf_token": token, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/desk"
    return token_of(client.get("/desk", headers=HTML).text)


@pytest.fixture()
def client(tmp_path):
    return make_client(tmp_path)


# -- self-check ------------------------------------------------------------------------------------------

def test_api_selfcheck_reports_the_example_and_offers_both_downloads(client, tmp_path):
    r = client.post("/api/selfcheck", files={"file": ("芦淞区.xlsx", EXAMPLE.read_bytes())})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["readable"] and body["file"] == "芦淞区.xlsx"
    xt301 = [f for f in body["report"]["findings"] if f["code"] == "XT301"]
    assert any("2,450.02" in f["message"] and "2,450.21" in f["message"] for f in xt301)
    annotated = client.get(body["annotated_url"])
    assert annotated.status_code == 200
    assert "filename*=UTF-8''" in annotated.headers["content-disposition"]
    (tmp_path / "a.xlsx").write_bytes(annotated.content)
    wb = openpyxl.load_workbook(tmp_path / "a.xlsx")
    assert "2,450.21" in wb["项目绩效"]["D4"].comment.text  # 实际单位年度总支出 against 2,450.02 (XT301)
    issues = client.get(body["issues_url"])
    (tmp_path / "i.xlsx").write_bytes(issues.content)
    ws = openpyxl.load_workbook(tmp_path / "i.xlsx")["问题清单"]
    codes = [ws.cell(row=r, column=2).value for r in range(6, ws.max_row + 1)]
    assert codes.count("XT301") == len(xt301) and len(codes) == len(body["report"]["findings"])


def test_nothing_is_stored_until_submit(client, tmp_path):
    data = tmp_path / "data"
    body = client.post("/api/selfcheck", files={"file": ("x.xlsx", EXAMPLE.read_bytes())}).json()
    assert not list(data.glob("rounds/*/files/*")) and not list(data.glob("pending/*"))
    r = client.post(body["submit_url"])
    assert r.status_code == 200, r.text
    # Without the unit's submission code the file waits for the desk (tests/security/test_sec_submissions.py).
    assert r.json()["status"] == "pending"
    stored = list(data.glob("pending/*"))
    assert [p.read_bytes() for p in stored] == [EXAMPLE.read_bytes()]
    assert client.post(body["submit_url"]).status_code == 409  # never stored twice


def test_selfcheck_page_groups_findings_by_sheet_and_shows_both_values(client):
    token = token_of(client.get("/", headers=HTML).text)
    r = client.post("/selfcheck", data={"csrf_token": token}, files={"file": ("e.xlsx", EXAMPLE.read_bytes())}, headers=HTML)
    assert r.status_code == 200
    sheets = re.findall(r'<h2 class="sheet-title">(\S+) <span class="count">(\d+)</span>', r.text)
    assert {s for s, _n in sheets} >= {"收支情况", "附件3", "附件2"}
    assert sum(int(n) for _s, n in sheets) == 13  # the README's 5 must-fix and 8 needs-explanation
    assert "收支情况!B37" in r.text and "附件3!E5" in r.text and "2,450.02" in r.text and "2,450.21" in r.text
    assert 'id="errors">5<' in r.text and 'id="warnings">8<' in r.text
    assert 'id="coverage"' in r.text and "审核范围" in r.text  # what was checked, always shown


def test_workbook_text_is_escaped_on_every_page(client, tmp_path):
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    path = edit_inputs(EXAMPLE, tmp_path / "h.xlsx", form_2023(), {"info_unit_name": hostile})
    token = token_of(client.get("/", headers=HTML).text)
    r = client.post("/selfcheck", data={"csrf_token": token}, files={"file": ('<b>名.xlsx', path.read_bytes())}, headers=HTML)
    assert r.status_code == 200
    assert "<script>alert" not in r.text and "<img src=x" not in r.text and "<b>名" not in r.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in r.text and "&lt;b&gt;名.xlsx" in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    # The same workbook at the desk: 报送, audit, the summary and the unit's page.
    submit = re.search(r'action="(/selfcheck/[^"]+/submit)"', r.text).group(1)
    r = client.post(submit, data={"csrf_token": token}, headers=HTML)  # 9 必须修改: asked first
    assert r.status_code == 200 and 'id="confirm-submit"' in r.text and "&lt;b&gt;名.xlsx" in r.text
    assert "<script>alert" not in r.text
    r = client.post(submit, data={"csrf_token": token, "confirm": "1"}, headers=HTML)
    assert r.status_code == 200 and 'id="receipt"' in r.text and "&lt;b&gt;名.xlsx" in r.text
    assert "<script>alert" not in r.text and "&lt;script&gt;" in r.text  # the unit's name on the receipt
    token = login(client)
    pending = client.get("/desk/rounds/1", headers=HTML).text  # the pending list shows the name escaped
    assert "<b>名" not in pending and "&lt;b&gt;名.xlsx" in pending
    client.post("/desk/pending/1/accept", data={"csrf_token": token})
    client.post("/api/rounds/1/audit", headers={"x-csrf-token": token_of(client.get("/desk", headers=HTML).text)})
    wait_audit(client, 1)
    for url in ("/desk/rounds/1", "/desk/audits/1/units/0", "/desk"):
        page = client.get(url, headers=HTML).text
        assert "<script>alert" not in page and "<b>名" not in page, url
        assert "&lt;script&gt;" in page or url == "/desk"


def test_form_posts_need_the_csrf_token(client):
    client.get("/", headers=HTML)
    files = {"file": ("e.xlsx", EXAMPLE.read_bytes())}
    assert client.post("/selfcheck", files=files, headers=HTML).status_code == 403
    r = client.post("/selfcheck", data={"csrf_token": "forged"}, files=files, headers=HTML)
    assert r.status_code == 403 and "请刷新页面" in r.text
    assert client.post("/login", data={"password": PASSWORD}, follow_redirects=False).status_code == 403
    # A browser holding the session cookie must send the token with the API as well.
    assert client.post("/api/selfcheck", files=files).status_code == 403
    token = token_of(client.get("/", headers=HTML).text)
    assert client.post("/api/selfcheck", files=files, headers={"x-csrf-token": token}).status_code == 200
    # Logged in: changes through the API need the header too.
    token = login(client)
    assert client.post("/api/rounds", json={"name": "x"}).status_code == 403
    assert client.post("/api/rounds", json={"name": "x"}, headers={"x-csrf-token": token}).status_code == 200


@pytest.mark.parametrize("kind", ["xls", "bomb", "text", "empty"])
def test_hostile_uploads_get_a_chinese_sentence(client, tmp_path, kind):
    path = tmp_path / f"{kind}.xlsx"
    if kind == "xls":
        legacy_xls(path)
    elif kind == "bomb":
        zip_bomb(path)
    elif kind == "text":
        path.write_text("单位名称,金额\n芦淞,1\n", encoding="utf-8")
    else:
        path.write_bytes(b"")
    r = client.post("/api/selfcheck", files={"file": (path.name, path.read_bytes())})
    assert r.status_code == 200
    body = r.json()
    assert not body["readable"] and body["annotated_url"] is None and has_cjk(body["message"])
    assert path.name in body["message"] and "workbook." not in body["message"]  # the user's name, not ours
    assert {"xls": "legacy_xls", "bomb": "zip_bomb"}.get(kind, body["reason"]) == body["reason"]
    assert client.post(f"/api/selfcheck/{body['token']}/submit").status_code == 404
    assert client.get("/").status_code == 200


def test_a_body_over_the_limit_is_refused_with_a_chinese_sentence(tmp_path):
    client = make_client(tmp_path, max_upload_bytes=1024 * 1024)
    big = bytes(3 * 1024 * 1024)
    r = client.post("/api/selfcheck", files={"file": ("big.xlsx", big)})
    assert r.status_code == 413 and "太大" in r.json()["detail"] and "1 MB" in r.json()["detail"]
    token = token_of(client.get("/", headers=HTML).text)
    r = client.post("/selfcheck", data={"csrf_token": token}, files={"file": ("big.xlsx", big)}, headers=HTML)
    assert r.status_code == 413 and "太大" in r.text and "<html" in r.text
    r = client.post("/api/selfcheck", files={"file": ("e.xlsx", EXAMPLE.read_bytes())}, headers={"x-csrf-token": token})
    assert r.status_code == 200


def test_selfcheck_is_rate_limited_per_client(tmp_path):
    client = make_client(tmp_path, selfcheck_per_minute=3)
    files = {"file": ("x.xls", b"not a workbook")}
    assert [client.post("/api/selfcheck", files=files).status_code for _ in range(3)] == [200] * 3
    r = client.post("/api/selfcheck", files=files)
    assert r.status_code == 429 and "稍等一分钟" in r.json()["detail"]


def test_only_one_file_per_selfcheck(tmp_path, client):
    files = [("file", ("a.xlsx", EXAMPLE.read_bytes())), ("file", ("b.xlsx", EXAMPLE.read_bytes()))]
    r = client.post("/api/selfcheck", files=files)
    assert r.status_code == 400 and "最多 1 个" in r.json()["detail"]


# -- the desk -------------------------------------------------------------------------------------------

def test_desk_needs_the_password(client, tmp_path):
    assert client.get("/desk", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/api/rounds").status_code == 401
    assert client.get("/api/rounds", headers=basic("wrong")).status_code == 401
    assert client.get("/api/rounds", headers=basic()).status_code == 200
    token = token_of(client.get("/login", headers=HTML).text)
    r = client.post("/login", data={"csrf_token": token, "password": "wrong"}, headers=HTML)
    assert r.status_code == 401 and "口令错误" in r.text
    assert client.get("/desk", follow_redirects=False).status_code == 303
    text = (tmp_path / "data" / "web.toml").read_text()
    assert "$argon2id$" in text and PASSWORD not in text


def test_wrong_passwords_are_throttled(client):
    token = token_of(client.get("/login", headers=HTML).text)
    codes = [client.post("/login", data={"csrf_token": token, "password": f"x{i}"}, headers=HTML).status_code
             for i in range(11)]
    assert codes == [401] * 10 + [429]
    r = client.post("/login", data={"csrf_token": token, "password": PASSWORD}, headers=HTML, follow_redirects=False)
    assert r.status_code == 429  # even the right one, until the window has passed


def wait_audit(client: TestClient, audit_id: int, auth: dict | None = None) -> dict:
    deadline = time.monotonic() + 120
    states = []
    while time.monotonic() < deadline:
        state = client.get(f"/api/audits/{audit_id}", headers=auth or {}).json()
        states.append(state)
        if state["state"] != "running":
            return state
        time.sleep(0.1)
    raise AssertionError(f"the audit did not finish: {states[-1]}")


def test_desk_api_round_audit_summary_downloads(client, tmp_path):
    payload, manifest = batch_zip(tmp_path / "batch", n=6)
    auth = basic()
    r = client.post("/api/rounds", json={"name": "第一轮"}, headers=auth)
    assert r.status_code == 200
    rid = r.json()["id"]
    r = client.post(f"/api/rounds/{rid}/files", files=[("file", ("../../../etc/第一批.zip", payload))], headers=auth)
    assert r.status_code == 200 and r.json()[0]["name"] == "第一批.zip"
    stored = list((tmp_path / "data" / "rounds" / str(rid) / "files").iterdir())
    assert [p.name for p in stored] == ["000001.zip"]  # the user's name never becomes a path
    roster = (tmp_path / "batch" / manifest["roster"]).read_bytes()
    assert client.post(f"/api/rounds/{rid}/roster", files={"file": ("名册.csv", roster)}, headers=auth).status_code == 200
    r = client.post(f"/api/rounds/{rid}/audit", json={}, headers=auth)
    assert r.status_code == 202
    state = wait_audit(client, r.json()["audit_id"], auth)
    assert state["state"] == "done" and state["total"] == 6 and state["done"] == 6
    summary = client.get(f"/api/rounds/{rid}/summary", headers=auth).json()
    units = {u["unit"]: u for u in summary["units"]}
    assert set(units) == {e["unit"] for e in manifest["files"]}
    for entry in manifest["files"]:
        unit = units[entry["unit"]]
        assert unit["file"] == f"第一批.zip → 第一批/{entry['file']}"
        if entry["kind"] == "fault":
            assert entry["rule"] in {f["code"] for f in unit["findings"]}
        else:
            assert unit["status"] == "passed" and unit["findings"] == []
    assert len(summary["not_submitted"]) == 3  # the generator's roster has three more units
    assert sum(summary["counts"].values()) == 6
    xlsx = client.get(f"/api/rounds/{rid}/download/summary", headers=auth)
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    names = {wb.worksheets[0].cell(row=r, column=2).value for r in range(2, 8)}
    assert names == set(units)
    rows = list(csv.reader(io.StringIO(client.get(f"/api/rounds/{rid}/download/csv", headers=auth).content.decode("utf-8-sig"))))
    assert len(rows) == 1 + 6 and rows[0][0] == "单位名称"  # one header row, the Chinese labels
    page = client.get(f"/desk/rounds/{rid}?status=fix", headers=HTML, follow_redirects=False)
    assert page.status_code == 303  # the page itself needs the session
    login(client)
    page = client.get(f"/desk/rounds/{rid}?status=fix", headers=HTML).text
    shown = re.findall(r'<tr class="unit-row" data-status="(\w+)">', page)
    assert shown and set(shown) == {"fix"} and len(shown) == summary["counts"]["fix"]
    assert page.count("<svg") == 3


def test_templates_zip_from_a_roster(client, tmp_path):
    roster = "单位名称,单位编码,电子邮箱\n芦淞区机关事务服务中心,430203001,a@example.gov.cn\n芦淞区财政局,430203002,b@example.gov.cn\n"
    r = client.post("/api/templates", data={"year": "2024"}, files={"file": ("名册.csv", roster.encode("utf-8"))}, headers=basic())
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        names = sorted(n for n in zf.namelist() if n.endswith(".xlsx"))
        assert names == ["430203001_芦淞区机关事务服务中心_2024.xlsx", "430203002_芦淞区财政局_2024.xlsx"]
        assert "报送码.csv" in zf.namelist()
        wb = openpyxl.load_workbook(io.BytesIO(zf.read(names[0])))
    assert wb["基本情况"].protection.sheet
    r = client.post("/api/templates", data={"year": "24"}, files={"file": ("名册.csv", b"x")}, headers=basic())
    assert r.status_code == 400 and "四位数" in r.json()["detail"]


def test_openapi_schema_lists_the_api(client):
    schema = client.get("/api/openapi.json").json()
    paths = set(schema["paths"])
    assert {"/api/selfcheck", "/api/selfcheck/{token}/submit", "/api/rounds", "/api/rounds/{round_id}/audit",
            "/api/audits/{audit_id}", "/api/rounds/{round_id}/summary", "/api/templates"} <= paths
    assert not any(p.startswith("/desk") or p == "/" for p in paths)  # pages are not API
    assert "WorkbookReport" in schema["components"]["schemas"]


def test_set_password_cli(tmp_path):
    from typer.testing import CliRunner

    from xltool.cli import app

    result = CliRunner().invoke(app, ["serve", "--data", str(tmp_path), "--set-password"], input="短\n短\n")
    assert result.exit_code == 2
    result = CliRunner().invoke(app, ["serve", "--data", str(tmp_path), "--set-password"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    cfg = load_config(tmp_path)
    from xltool.web.auth import verify_password

    assert verify_password(cfg, PASSWORD) and not verify_password(cfg, PASSWORD + "x")


def test_desk_mails_each_unit_its_result_through_real_smtp(tmp_path):
    import socket

    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append((envelope.rcpt_tos, envelope.content))
            return "250 OK"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, ready_timeout=5)
    controller.start()
    try:
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "xltool.toml").write_text(
            f'[mail]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nsender = "jxg@czj.example.cn"\n'
            f'timeout = 5\nretries = 1\noutbox = "outbox"\n', encoding="utf-8")
        client = make_client(tmp_path)
        payload, manifest = batch_zip(tmp_path / "batch", n=4, seed=8)
        auth = basic()
        rid = client.post("/api/rounds", json={"name": "邮件"}, headers=auth).json()["id"]
        client.post(f"/api/rounds/{rid}/files", files=[("file", ("b.zip", payload))], headers=auth)
        first = client.post(f"/api/rounds/{rid}/audit", json={"email": True}, headers=auth).json()
        assert wait_audit(client, first["audit_id"], auth)["state"] == "done"
        summary = client.get(f"/api/rounds/{rid}/summary", headers=auth).json()
        assert summary["mail_error"] == "" and sum(summary["mail"].values()) == 4
        assert sorted(r[0][0] for r in received) == sorted(e["email"] for e in manifest["files"])
        again = client.post(f"/api/rounds/{rid}/audit", json={"email": True}, headers=auth).json()
        wait_audit(client, again["audit_id"], auth)
        assert len(received) == 4  # the outbox never sends the same findings twice
    finally:
        controller.stop()


def test_serve_listens_on_loopback_only_by_default(tmp_path):
    """The real ``xltool serve`` without --host: the kernel's socket table shows 127.0.0.1:port only."""
    from webtools import Server

    server = Server(tmp_path / "data")
    try:
        port_hex = f"{server.port:04X}"
        listening = []
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            if not Path(table).exists():
                continue
            for line in Path(table).read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                if state == "0A" and local.endswith(":" + port_hex):  # 0A: LISTEN
                    listening.append(local.split(":")[0])
        assert listening == ["0100007F"], listening  # 127.0.0.1, little-endian hex
        assert server.alive()
    finally:
        server.stop()
