"""The web pages in headless Chromium (Playwright) against ``xltool serve`` in a subprocess.

A unit uploads the example and sees 2,450.02 against 2,450.21, downloads the annotated copy and
opens it; the bureau logs in (a wrong password is refused), uploads a zip of generated
workbooks, watches the audit's progress and sees every unit in the summary; hostile uploads
(.xls, zip bomb, 200 MB) get a Chinese sentence and the server keeps serving.

Set XLTOOL_SCREENSHOTS=1 to write docs/img/web_*.png (self-check, desk, mail preview, receipt).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import openpyxl
import pytest

from conftest import _unavailable
from helpers import zh_locale  # noqa: F401
from webtools import EXAMPLE, PASSWORD, ROOT, Server, batch_zip, legacy_xls, zip_bomb

CHROMIUM = os.environ.get("XLTOOL_CHROMIUM", "/usr/bin/chromium")
SHOTS = os.environ.get("XLTOOL_SCREENSHOTS") == "1"


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright (pip install playwright)")
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not path:
        _unavailable("Chromium (/usr/bin/chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("web") / "data")
    yield s
    s.stop()


@pytest.fixture()
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1360, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    yield pg
    context.close()


def _shot(page, name: str, tmp_path: Path) -> None:
    target = ROOT / "docs" / "img" / name if SHOTS else tmp_path / name
    page.screenshot(path=str(target), full_page=False)
    assert target.stat().st_size > 10_000


def test_unit_checks_the_example_downloads_the_annotated_copy_and_submits(page, server, tmp_path):
    page.goto(server.url + "/")
    assert "报送前，先检查绩效自评工作簿" in page.content()
    page.set_input_files("#file", str(EXAMPLE))
    page.click("#check-button")
    page.wait_for_selector("table.findings")
    row = page.locator("tr[data-code=XT301]", has_text="实际单位年度总支出").first
    text = row.inner_text()
    assert "2,450.02" in text and "2,450.21" in text and "0.19" in text
    assert "收支情况!B37" in text and "项目绩效!D4" in text
    assert page.locator("#errors").inner_text() == "5" and page.locator("#warnings").inner_text() == "8"
    assert "审核范围" in page.locator("#coverage").inner_text()  # what was checked
    headings = page.locator("h2.sheet-title").all_inner_texts()
    assert any(h.startswith("附件3") for h in headings) and any(h.startswith("收支情况") for h in headings)
    _shot(page, "web_selfcheck.png", tmp_path)
    with page.expect_download() as info:
        page.click("#download-annotated")
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name.endswith("_审核标注.xlsx")
    wb = openpyxl.load_workbook(saved)
    cell = wb["项目绩效"]["D4"]
    assert cell.comment is not None and "XT301" in cell.comment.text and cell.fill.fgColor.rgb.endswith("FFC7CE")
    with page.expect_download() as info:
        page.click("#download-issues")
    assert info.value.suggested_filename == "问题清单.xlsx"
    # 9 必须修改 left: the page says so, names the first five, and asks before anything is stored.
    page.click("#submit")
    page.wait_for_selector("#confirm-submit")
    assert "这个文件还有 5 项必须修改" in page.inner_text("#confirm-submit")
    assert page.locator("#first-findings li").count() == 5
    page.click("#go-back")
    page.wait_for_selector("table.findings")
    page.click("#submit")
    page.click("#submit-anyway")
    page.wait_for_selector("#receipt")
    receipt = page.inner_text("#receipt")
    assert "回执号" in receipt and "株洲市芦淞区机关事务服务中心" in receipt and "luosong_2023_filled.xlsx" in receipt
    assert "必须修改 5" in receipt and "需要说明 8" in receipt
    assert page.is_visible("#print-receipt")
    _shot(page, "web_receipt.png", tmp_path)
    # Printed (Chromium's own print to PDF, A4): one page, without the site's header and buttons.
    pdf = tmp_path / "回执.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf.read_bytes())) == 1
    page.emulate_media(media="print")
    assert not page.is_visible("#print-receipt") and not page.is_visible("header.top")
    assert page.is_visible("#receipt-no")


@pytest.mark.parametrize("kind", ["xls", "bomb", "huge"])
def test_hostile_upload_gets_a_chinese_message_and_the_server_keeps_serving(page, server, tmp_path, kind):
    path = tmp_path / {"xls": "旧格式.xls", "bomb": "炸弹.xlsx", "huge": "巨大.xlsx"}[kind]
    if kind == "xls":
        legacy_xls(path)
    elif kind == "bomb":
        zip_bomb(path)
    else:
        with open(path, "wb") as fh:
            fh.truncate(200 * 1024 * 1024)  # 200 MB
    page.goto(server.url + "/")
    page.set_input_files("#file", str(path))
    page.click("#check-button")
    page.wait_for_selector(".notice.bad")
    message = page.inner_text(".notice.bad .message")
    expected = {"xls": ".xls", "bomb": "压缩比", "huge": "太大"}[kind]
    assert expected in message, message
    assert kind == "huge" or path.name in message
    assert server.alive()
    page.goto(server.url + "/")
    page.set_input_files("#file", str(EXAMPLE))
    page.click("#check-button")
    page.wait_for_selector("table.findings")


def test_bureau_logs_in_uploads_a_zip_watches_the_audit_and_sees_every_unit(page, server, tmp_path):
    payload, manifest = batch_zip(tmp_path / "batch", n=12)
    archive = tmp_path / "第二批.zip"
    archive.write_bytes(payload)
    page.goto(server.url + "/desk")
    assert page.url.endswith("/login")
    page.fill("#password", "not-the-password")
    page.click("#login")
    assert "口令错误" in page.inner_text("#login-failed")
    assert page.url.endswith("/login")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url("**/desk")
    page.fill("input[name=name]", "第二次报送")
    page.click("text=开启新一轮")
    page.wait_for_url("**/desk/rounds/*")
    page.set_input_files("#desk-files", str(archive))
    page.click("#add-files")
    page.wait_for_selector("#files")
    assert "第二批.zip" in page.inner_text("#files")
    page.set_input_files("#roster-file", str(tmp_path / "batch" / manifest["roster"]))
    page.click("#set-roster")
    page.wait_for_selector("text=单位名册：roster.csv")
    # Record every value the progress bar shows (the page reloads when the audit is done).
    page.add_init_script("""
      document.addEventListener('DOMContentLoaded', () => {
        const bar = document.getElementById('progress');
        if (!bar) return;
        new MutationObserver(() => {
          const seen = JSON.parse(sessionStorage.getItem('seen') || '[]');
          seen.push(bar.getAttribute('value'));
          sessionStorage.setItem('seen', JSON.stringify(seen));
        }).observe(bar, {attributes: true});
      });""")
    page.click("#run-audit")
    page.wait_for_url("**/desk/rounds/*?audit=*")
    assert page.is_visible("#progress-card")
    page.wait_for_selector("#units", timeout=120_000)
    seen = page.evaluate("JSON.parse(sessionStorage.getItem('seen') || '[]')")
    assert seen and seen[-1] == "100", seen
    table = page.inner_text("#units")
    for entry in manifest["files"]:
        assert entry["unit"] in table, entry["unit"]
    assert page.locator("tr.unit-row").count() == len(manifest["files"])
    faults = sum(1 for e in manifest["files"] if e["kind"] == "fault")
    page.click(".filters a.st-passed")
    assert page.locator("tr.unit-row").count() == len(manifest["files"]) - faults
    page.goto(page.url.split("?")[0])
    _shot(page, "web_desk.png", tmp_path)
    with page.expect_download() as info:
        page.click("#download-summary")
    saved = tmp_path / "summary.xlsx"
    info.value.save_as(saved)
    assert info.value.suggested_filename == "审核汇总.xlsx"
    assert len(openpyxl.load_workbook(saved).sheetnames) >= 5
    round_url = page.url.split("?")[0]
    fault = next(e for e in manifest["files"] if e["kind"] == "fault")
    page.click(f"#units a:text-is('{fault['unit']}')")
    page.wait_for_selector("table.findings")
    assert fault["rule"] in page.inner_text("main")
    # Mail to all units: the list first (who, which address, counts, attachments; who is skipped and why).
    page.goto(round_url)
    audits = page.locator("#audit-history tr.audit-row").count()
    page.click("#send-mail")
    page.wait_for_selector("#preview")
    sending = int(page.inner_text("#will-send"))
    assert sending == page.locator("tr.plan-row.send").count() and sending == len(manifest["files"]) - 1
    skipped = page.inner_text("tr.plan-row.skip")
    assert "不在单位名册中" in skipped  # the generator's last unit is not on the roster
    row = page.locator("tr.plan-row.send", has_text=fault["unit"]).inner_text()
    assert fault["email"] in row and f"问题清单_{fault['unit']}.xlsx" in row
    _shot(page, "web_mail_preview.png", tmp_path)
    assert not list((server.data / "outbox").rglob("*.eml"))  # nothing before the confirm
    page.click("#confirm")
    page.wait_for_selector("#task-done", timeout=120_000)
    summary = page.inner_text("#task-done")
    assert f"写入发件箱 {sending} 封" in summary and "跳过 1 个单位" in summary and "xltool mail flush" in summary
    assert len(list((server.data / "outbox").rglob("*.eml"))) == sending
    page.goto(round_url)
    assert page.locator("#audit-history tr.audit-row").count() == audits  # the audit was not run again
    # A reminder to the roster's units that sent nothing, each with its own template.
    page.click("#remind")
    page.wait_for_selector("#preview")
    assert int(page.inner_text("#will-send")) == len(manifest["not_submitted"])
    page.click("#confirm")
    page.wait_for_selector("#task-done", timeout=180_000)
    assert f"写入发件箱 {len(manifest['not_submitted'])} 封" in page.inner_text("#task-done")


def test_the_templates_zip_shows_progress_and_a_download_link(page, server, tmp_path):
    roster = tmp_path / "名册.csv"
    roster.write_text("单位名称,单位编码,电子邮箱\n芦淞区机关事务服务中心,430203001,a@example.gov.cn\n"
                      "芦淞区财政局,430203002,b@example.gov.cn\n芦淞区教育局,430203003,c@example.gov.cn\n", encoding="utf-8")
    page.goto(server.url + "/login")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url("**/desk")
    page.add_init_script("""
      document.addEventListener('DOMContentLoaded', () => {
        const bar = document.getElementById('progress');
        if (!bar) return;
        new MutationObserver(() => {
          const seen = JSON.parse(sessionStorage.getItem('seen') || '[]');
          seen.push(document.getElementById('progress-text').textContent);
          sessionStorage.setItem('seen', JSON.stringify(seen));
        }).observe(bar, {attributes: true});
      });""")
    page.set_input_files("#templates-roster", str(roster))
    page.fill("input[name=year]", "2024")
    page.click("#make-templates")
    page.wait_for_url("**/desk/tasks/*")
    page.wait_for_selector("#task-download", timeout=180_000)
    seen = page.evaluate("JSON.parse(sessionStorage.getItem('seen') || '[]')")
    assert any("正在生成模板" in text and "/ 3" in text for text in seen), seen
    assert "3 份已生成" in page.inner_text("#task-done")
    with page.expect_download() as info:
        page.click("#task-download")
    assert info.value.suggested_filename == "2024年度模板.zip"
    saved = tmp_path / "t.zip"
    info.value.save_as(saved)
    import zipfile

    with zipfile.ZipFile(saved) as zf:
        assert len([n for n in zf.namelist() if n.endswith(".xlsx")]) == 3


def test_an_unknown_page_is_chinese_in_the_browser(page, server):
    response = page.goto(server.url + "/没有这个页面")
    assert response.status == 404
    assert page.inner_text("#error h1") == "找不到页面" and "Not Found" not in page.content()
