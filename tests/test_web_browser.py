"""The web pages in headless Chromium (Playwright) against ``xltool serve`` in a subprocess.

A unit uploads the example and sees 2,450.02 against 2,450.21, downloads the annotated copy and
opens it; the bureau logs in (a wrong password is refused), uploads a zip of generated
workbooks, watches the audit's progress and sees every unit in the summary; hostile uploads
(.xls, zip bomb, 200 MB) get a Chinese sentence and the server keeps serving.

Set XLTOOL_SCREENSHOTS=1 to write docs/img/web_selfcheck.png and docs/img/web_desk.png.
"""

from __future__ import annotations

import os
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
    page.click("#submit")
    page.wait_for_selector("#submitted")
    assert "回执号" in page.inner_text("#submitted")


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
    fault = next(e for e in manifest["files"] if e["kind"] == "fault")
    page.click(f"#units a:text-is('{fault['unit']}')")
    page.wait_for_selector("table.findings")
    assert fault["rule"] in page.inner_text("main")
