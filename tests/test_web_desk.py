"""The desk asks before it acts (issue 19), through FastAPI's TestClient and a real SMTP server
(aiosmtpd): mail to many units is shown first and sent from the stored audit; 报送 with 必须修改
asks; the receipt; one set of counts and one number format; a Word report cites its own places;
the templates zip reports progress; every error page is Chinese.

The same flows are driven in Chromium in test_web_browser.py.
"""

from __future__ import annotations

import csv
import email
import io
import re
import socket
import time
import zipfile
from email import policy
from pathlib import Path
from types import SimpleNamespace

import pytest

from helpers import corrected_path, zh_locale  # noqa: F401 - fixtures
from test_web_api import basic, login, make_client, token_of
from webtools import EXAMPLE, batch_zip

HTML = {"accept": "text/html"}
BOUNCE = "bounce@example.gov.cn"  # the test server refuses this recipient (550)
BROKEN = "坏文件.xlsx"  # a broken file that names no unit


class _Handler:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if address == BOUNCE:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture(scope="module")
def smtp():
    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handler = _Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=5)
    controller.start()
    yield SimpleNamespace(port=port, messages=handler.messages)
    controller.stop()


def wait_task(client, task_id: int | str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"/api/tasks/{task_id}", headers=basic()).json()
        if state["state"] != "running":
            return state
        time.sleep(0.1)
    raise AssertionError(f"the task did not finish: {state}")


def _audit(client, rid: int) -> dict:
    from test_web_api import wait_audit

    r = client.post(f"/api/rounds/{rid}/audit", json={}, headers=basic())
    assert r.status_code == 202, r.text
    assert wait_audit(client, r.json()["audit_id"], basic())["state"] == "done"
    return client.get(f"/api/rounds/{rid}/summary", headers=basic()).json()


@pytest.fixture(scope="module")
def desk(tmp_path_factory, smtp):
    """A round of four generated workbooks (two with findings, one unit not on the roster) and a
    broken file naming no unit, audited; the roster's three absent units have a normal address,
    no address and an address the mail server refuses."""
    tmp = tmp_path_factory.mktemp("desk")
    (tmp / "data").mkdir()
    (tmp / "data" / "xltool.toml").write_text(
        f'[mail]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\nsender = "jxg@czj.example.cn"\n'
        f'timeout = 5\nretries = 1\noutbox = "outbox"\n', encoding="utf-8")
    client = make_client(tmp)
    payload, manifest = batch_zip(tmp / "batch", n=4, seed=8)
    with (tmp / "batch" / manifest["roster"]).open(encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    absent = [r for r in rows[1:] if r[1] in manifest["not_submitted"]]
    absent[1][2], absent[2][2] = "", BOUNCE
    roster = io.StringIO()
    csv.writer(roster).writerows(rows)
    rid = client.post("/api/rounds", json={"name": "第一轮"}, headers=basic()).json()["id"]
    r = client.post(f"/api/rounds/{rid}/files", files=[("file", ("第一批.zip", payload)),
                                                       ("file", (BROKEN, b"PK\x03\x04 not a workbook"))], headers=basic())
    assert r.status_code == 200, r.text
    client.post(f"/api/rounds/{rid}/roster", files={"file": ("名册.csv", roster.getvalue().encode("utf-8"))},
                headers=basic())
    summary = _audit(client, rid)
    token = login(client)
    return SimpleNamespace(client=client, data=tmp / "data", rid=rid, manifest=manifest, summary=summary, token=token,
                           absent=absent, smtp=smtp)


# -- one set of counts, one number format ------------------------------------------------------------------

def test_the_summary_line_and_the_tabs_give_the_same_counts(desk):
    page = desk.client.get(f"/desk/rounds/{desk.rid}", headers=HTML).text
    line = re.search(r'<p class="summary-line">(.*?)</p>', page).group(1)
    said = dict(re.findall(r"(通过|需说明|需修改|无法读取的文件) (\d+)", line))
    tabs = {s: int(n) for s, n in re.findall(r'data-status="(\w+)">[^<]*<b>(\d+)</b>', page)}
    assert said["无法读取的文件"] == "1" and tabs["unreadable"] == 1  # the broken file names no unit
    assert (tabs["passed"], tabs["explain"], tabs["fix"]) == (int(said["通过"]), int(said["需说明"]), int(said["需修改"]))
    assert tabs == {k: v for k, v in desk.summary["counts"].items()}
    listed = desk.client.get(f"/desk/rounds/{desk.rid}?status=unreadable", headers=HTML).text
    rows = re.findall(r'<tr class="unread-row">(.*?)</tr>', listed, re.S)
    assert len(rows) == tabs["unreadable"] and BROKEN in rows[0]  # the tab lists what it counts
    assert 'id="units"' not in listed


def test_figures_read_the_same_on_every_page(desk):
    from xltool.numbers import fmt_kind

    assert fmt_kind("score", 100) == "100.00" and fmt_kind("score", 9.76) == "9.76"
    assert fmt_kind("count", 1234) == "1234" and fmt_kind("rate", 0.9758) == "97.58%"
    client = desk.client
    token = token_of(client.get("/", headers=HTML).text)
    page = client.post("/selfcheck", data={"csrf_token": token}, files={"file": ("e.xlsx", EXAMPLE.read_bytes())},
                       headers=HTML).text
    values = re.findall(r'<span class="val">([^<]*)</span>', page)
    assert "324.40" in values and "324.4" not in values and "2,070.02" in values  # 附件2 政府采购 beside 项目支出
    assert all(not re.fullmatch(r"-?\d{4,}(\.\d+)?", v) for v in values), values  # thousands always separated
    differences = re.findall(r'<td class="c-num">([^<]*)</td>', page)
    assert "-0.19" in differences and all(not re.fullmatch(r"-?\d+\.\d{3,}", d) for d in differences)
    desk_page = client.get(f"/desk/rounds/{desk.rid}", headers=HTML).text
    rows = re.findall(r'<tr class="unit-row"[^>]*>(.*?)</tr>', desk_page, re.S)
    assert rows
    for row in rows:
        cells = re.findall(r'<td class="c-num">([^<]*)</td>', row)
        errors, warnings, spent, rate, score = cells
        assert re.fullmatch(r"\d+", errors) and re.fullmatch(r"[\d,]+\.\d\d", spent), cells
        assert re.fullmatch(r"\d+\.\d\d%", rate) and re.fullmatch(r"\d+\.\d\d", score), cells


# -- mail to all units: shown first, sent from the stored audit --------------------------------------------

def test_mailing_results_shows_who_gets_what_and_sends_without_rerunning_the_audit(desk):
    from xltool.web.store import Store

    client, smtp = desk.client, desk.smtp
    store = Store(desk.data)
    audits_before = len(store.audits(desk.rid))
    preview = client.get(f"/desk/rounds/{desk.rid}/mail/results", headers=HTML)
    assert preview.status_code == 200 and not smtp.messages  # showing sends nothing
    page = preview.text
    sending = int(re.search(r'id="will-send">(\d+)<', page).group(1))
    rows = re.findall(r'<tr class="plan-row (send|skip)" data-send="\d">(.*?)</tr>', page, re.S)
    units = {u["unit"]: u for u in desk.summary["units"]}
    assert len(rows) == len(units) and sending == sum(kind == "send" for kind, _row in rows)
    not_on_roster = next(u for u in units.values() if not u["on_roster"])
    skipped = next(row for kind, row in rows if not_on_roster["unit"] in row)
    assert "不在单位名册中" in skipped
    fix = next(u for u in units.values() if u["status"] == "fix")
    row = next(row for kind, row in rows if fix["unit"] in row)
    assert fix["email"] in row and f"问题清单_{fix['unit']}.xlsx" in row and "审核标注_" in row
    assert re.search(rf'<td class="c-num">{fix["errors"]}</td><td class="c-num">{fix["warnings"]}</td>', row)
    only_findings = client.get(f"/desk/rounds/{desk.rid}/mail/results?passed=0", headers=HTML).text
    assert "通过：不发送" in only_findings
    # A confirm that does not carry what was shown sends nothing and shows the list again.
    stale = client.post(f"/desk/rounds/{desk.rid}/mail/results",
                        data={"csrf_token": desk.token, "plan": "0" * 32, "passed": "1"}, headers=HTML)
    assert stale.status_code == 409 and 'id="plan-changed"' in stale.text and not smtp.messages
    plan = re.search(r'name="plan" value="([^"]+)"', page).group(1)
    done = client.post(f"/desk/rounds/{desk.rid}/mail/results", data={"csrf_token": desk.token, "plan": plan,
                                                                      "passed": "1"}, headers=HTML)
    task = str(done.url).rsplit("/", 1)[1]
    state = wait_task(client, task)
    assert state["state"] == "done", state
    assert state["summary"][0] == f"已发送 {sending} 封，邮件服务器已接收。"
    assert any(line.startswith("跳过 ") and "不在单位名册中" in line for line in state["summary"])
    assert sorted(to[0] for to, _m in smtp.messages) == sorted(
        u["email"] for u in units.values() if u["on_roster"] and u["report"] is not None)
    message = next(m for to, m in smtp.messages if to == [fix["email"]])
    assert {a.get_filename() for a in message.iter_attachments()} == {f"问题清单_{fix['unit']}.xlsx",
                                                                      f"审核标注_{fix['code']}_{fix['unit']}.xlsx"}
    assert len(store.audits(desk.rid)) == audits_before  # the stored audit was used, not a new one
    shown = client.get(f"/desk/tasks/{task}", headers=HTML).text
    assert "已发送" in shown and shown.count('class="outcome-row"') == len(units)
    again = client.get(f"/api/rounds/{desk.rid}/mail/results", headers=basic()).json()
    assert again["sending"] == 0
    assert all(u["reason"].startswith("同样的邮件已于") for u in again["units"] if u["to"])  # never the same twice
    smtp.messages.clear()


def test_reminders_go_to_units_that_have_not_submitted_with_their_own_template(desk):
    from xltool.check.checker import check_path
    from xltool.web.codes import submission_code
    from xltool.web.config import load_config

    client, smtp = desk.client, desk.smtp
    smtp.messages.clear()
    plan = client.get(f"/api/rounds/{desk.rid}/mail/reminders?year=2023", headers=basic()).json()
    names = {u["unit"]: u for u in plan["units"]}
    assert set(names) == {row[0] for row in desk.absent}  # only the roster's units without a file
    normal, nobody, bounce = (names[row[0]] for row in desk.absent)
    assert normal["send"] and normal["attachments"] == [f"{desk.absent[0][1]}_{desk.absent[0][0]}_2023.xlsx（含报送码）"]
    assert not nobody["send"] and nobody["reason"] == "名册中没有邮箱地址"
    r = client.post(f"/api/rounds/{desk.rid}/mail/reminders", json={"plan": plan["plan"], "year": 2023},
                    headers=basic())
    assert r.status_code == 202, r.text
    state = wait_task(client, r.json()["task_id"])
    outcome = {row["unit"]: row for row in state["rows"]}
    assert outcome[normal["unit"]]["outcome"] == "sent" and outcome[bounce["unit"]]["outcome"] == "failed"
    assert "550" in outcome[bounce["unit"]]["detail"]
    assert outcome[nobody["unit"]]["outcome"] == "skipped"
    assert any(line.startswith("发送失败 1 封") for line in state["summary"])
    [(to, message)] = smtp.messages
    assert to == [normal["to"][0]] and "尚未收到" in message["Subject"]
    [part] = list(message.iter_attachments())
    template = desk.data.parent / part.get_filename()
    template.write_bytes(part.get_payload(decode=True))
    result, _report = check_path(template)
    key = load_config(desk.data).submit_key
    assert result.meta.submit_code == submission_code(key, desk.absent[0][1])
    assert submission_code(key, desk.absent[0][1]) in message.get_body(("plain",)).get_content()
    again = client.get(f"/api/rounds/{desk.rid}/mail/reminders?year=2023", headers=basic()).json()
    assert [u["reason"].startswith("今天已提醒过") for u in again["units"] if u["unit"] == normal["unit"]] == [True]
    smtp.messages.clear()


def test_new_actions_need_the_csrf_token(desk):
    client = desk.client
    for path in (f"/desk/rounds/{desk.rid}/mail/results", f"/desk/rounds/{desk.rid}/mail/codes", "/desk/templates"):
        r = client.post(path, data={"csrf_token": "forged"}, headers=HTML, follow_redirects=False)
        assert r.status_code == 403, path
    r = client.post(f"/api/rounds/{desk.rid}/mail/codes", json={}, headers=HTML)  # cookie, no X-CSRF-Token
    assert r.status_code == 403
    assert not desk.smtp.messages


# -- the templates zip in the background --------------------------------------------------------------------

def test_the_templates_zip_reports_progress_and_offers_a_download(tmp_path):
    from xltool.web.helpers import templates_zip

    roster = "单位名称,单位编码,电子邮箱\n芦淞区机关事务服务中心,430203001,a@example.gov.cn\n芦淞区财政局,430203002,b@example.gov.cn\n"
    seen: list[tuple[int, int]] = []
    templates_zip(2024, "名册.csv", roster.encode("utf-8"), progress=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 2), (1, 2), (2, 2)]
    client = make_client(tmp_path)
    token = login(client)
    r = client.post("/desk/templates", data={"csrf_token": token, "year": "2024"},
                    files={"file": ("名册.csv", roster.encode("utf-8"))}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/desk/tasks/")
    task = r.headers["location"].rsplit("/", 1)[1]
    assert 'id="progress-card"' in client.get(r.headers["location"], headers=HTML).text
    state = wait_task(client, task)
    assert state["state"] == "done" and state["done"] == state["total"] == 2 and state["download"]
    page = client.get(r.headers["location"], headers=HTML).text
    assert f'href="/desk/tasks/{task}/download"' in page
    zipped = client.get(f"/desk/tasks/{task}/download")
    assert zipped.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as zf:
        assert sorted(n for n in zf.namelist() if n.endswith(".xlsx")) == [
            "430203001_芦淞区机关事务服务中心_2024.xlsx", "430203002_芦淞区财政局_2024.xlsx"]
    bad = client.post("/desk/templates", data={"csrf_token": token, "year": "2024"},
                      files={"file": ("名册.csv", "x,y\n1,2\n".encode())}, headers=HTML)
    assert bad.status_code == 400 and "单位名称" in bad.text  # a bad roster is said at once, not after a wait


# -- 报送 with 必须修改 asks; the receipt ------------------------------------------------------------------

def test_submitting_with_findings_asks_first_and_the_receipt_says_what_was_received(tmp_path, corrected_path):
    client = make_client(tmp_path)
    token = token_of(client.get("/", headers=HTML).text)
    page = client.post("/selfcheck", data={"csrf_token": token}, files={"file": ("芦淞区.xlsx", EXAMPLE.read_bytes())},
                       headers=HTML).text
    submit = re.search(r'action="(/selfcheck/[^"]+/submit)"', page).group(1)
    asked = client.post(submit, data={"csrf_token": token, "submit_code": "ABCDE-FGHJK"}, headers=HTML).text
    assert "这个文件还有 5 项必须修改" in asked
    first = re.findall(r"<li>(.*?)</li>", re.search(r'<ol class="first-findings"[^>]*>(.*?)</ol>', asked, re.S).group(1), re.S)
    assert len(first) == 5 and all("XT" in item for item in first) and "另有" not in asked  # all five shown
    assert 'name="submit_code" value="ABCDE-FGHJK"' in asked  # what the unit typed goes along with the confirm
    assert not list((tmp_path / "data").glob("rounds/*/files/*")) and not list((tmp_path / "data").glob("pending/*"))
    back = client.get(re.search(r'href="(/selfcheck/[^"]+)" id="go-back"', asked).group(1), headers=HTML)
    assert back.status_code == 200 and 'id="errors">5<' in back.text
    receipt = client.post(submit, data={"csrf_token": token, "confirm": "1"}, headers=HTML).text
    fields = dict(re.findall(r'<td id="r-(\w+)"[^>]*>(.*?)</td>', receipt, re.S))
    assert fields["unit"] == "株洲市芦淞区机关事务服务中心" and fields["file"] == "芦淞区.xlsx"
    assert fields["round"] == "第1轮" and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", fields["time"])
    from xltool.check.checker import check_path

    report = check_path(EXAMPLE)[1]  # the receipt counts what the checker finds, nothing else
    assert f"必须修改 <b>{report.errors}</b>" in fields["counts"]
    assert f"需要说明 <b>{report.warnings}</b>" in fields["counts"]
    import hashlib

    digest = hashlib.sha256(EXAMPLE.read_bytes()).hexdigest().upper()
    assert re.sub(r"\s", "", re.search(r'id="r-sha"[^>]*>([^<]*)<', receipt).group(1)) == digest[:16]
    assert re.search(r'id="receipt-no">(P\d+)<', receipt)  # no submission code: it waits for the bureau
    assert 'href="/static/web.css"' in receipt and '<script src="/static/print.js">' in receipt
    again = client.get(submit.replace("/submit", "/receipt"), headers=HTML).text
    assert re.findall(r'<td id="r-(\w+)"[^>]*>(.*?)</td>', again, re.S) == list(fields.items())
    # A workbook without 必须修改 is received at once.
    page = client.post("/selfcheck", data={"csrf_token": token}, files={"file": ("改正.xlsx", corrected_path.read_bytes())},
                       headers=HTML).text
    done = client.post(re.search(r'action="(/selfcheck/[^"]+/submit)"', page).group(1), data={"csrf_token": token},
                       headers=HTML).text
    assert 'id="receipt"' in done and "必须修改 <b>0</b>" in done


# -- a Word report cites its own places ---------------------------------------------------------------------

def test_a_word_report_checked_on_the_page_cites_its_own_places(tmp_path):
    from xltool.word.writer import make_report

    report, _errors = make_report(EXAMPLE, tmp_path / "报告.docx", force=True)
    client = make_client(tmp_path)
    token = token_of(client.get("/", headers=HTML).text)
    page = client.post("/selfcheck", data={"csrf_token": token}, files={"file": ("报告.docx", Path(report).read_bytes())},
                       headers=HTML).text
    places = re.findall(r'<span class="addr">([^<]*)</span>', page)
    assert "第二部分第4段" in places and "附件3 表格 第3行第5列" in places
    assert not any("!" in p for p in places), places  # no workbook cells (收支情况!B10) for a Word report
    headings = re.findall(r'<h2 class="sheet-title">(.*?) <span', page)
    assert "第二部分" in headings and "附件3 表格" in headings and "位置和数值" in page
    from xltool.word.check import check_document

    cited = {c.where for f in check_document(Path(report))[2].findings for c in f.cells}
    assert set(places) <= cited  # the places xltool check-report cites


# -- Chinese error pages ------------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path,status", [
    ("GET", "/no-such-page", 404), ("GET", "/static/no-such.css", 404), ("GET", "/selfcheck", 405),
    ("GET", "/desk/rounds/abc", 422), ("PUT", "/", 405)])
def test_error_pages_are_chinese(tmp_path, method, path, status):
    client = make_client(tmp_path)
    page = client.request(method, path, headers=HTML)
    assert page.status_code == status and page.headers["content-type"].startswith("text/html")
    assert re.search(r"[\u4e00-\u9fff]", re.search(r'<p class="message">(.*?)</p>', page.text).group(1))
    for english in ("Not Found", "Method Not Allowed", "Unprocessable", "Internal Server Error"):
        assert english not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    api = client.request(method, "/api" + path)
    assert api.headers["content-type"].startswith("application/json")
    assert re.search(r"[\u4e00-\u9fff]", api.json()["detail"]), api.json()


def test_api_validation_errors_are_chinese(tmp_path):
    client = make_client(tmp_path)
    r = client.post("/api/rounds", content=b"{not json", headers={**basic(), "content-type": "application/json"})
    assert r.status_code == 422
    body = r.json()
    assert body["detail"] == "请求不完整或格式不对。" and body["errors"][0]["msg"] == "不是有效的 JSON"
    r = client.post("/api/rounds", json={"name": "x" * 100}, headers=basic())
    assert r.status_code == 422 and r.json()["errors"][0]["msg"] == "太长"


def test_roster_text_is_escaped_on_the_preview_and_the_task_page(tmp_path):
    hostile = '<script>alert("x")</script>'
    client = make_client(tmp_path)
    token = login(client)
    rid = client.post("/api/rounds", json={"name": "一"}, headers=basic()).json()["id"]
    roster = f"单位名称,单位编码,电子邮箱\n{hostile},430203009,a@example.gov.cn\n".encode()
    client.post(f"/api/rounds/{rid}/roster", files={"file": ("名册.csv", roster)}, headers=basic())
    for kind in ("codes", "reminders"):
        page = client.get(f"/desk/rounds/{rid}/mail/{kind}", headers=HTML).text
        assert "<script>alert" not in page and "&lt;script&gt;alert" in page, kind
    plan = client.get(f"/api/rounds/{rid}/mail/codes", headers=basic()).json()["plan"]
    done = client.post(f"/desk/rounds/{rid}/mail/codes", data={"csrf_token": token, "plan": plan}, headers=HTML)
    wait_task(client, str(done.url).rsplit("/", 1)[1])
    page = client.get(str(done.url), headers=HTML).text
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
