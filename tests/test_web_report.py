"""自查 of a Word report: the same rules on the figures the report states; an issue list, no
annotated copy (there is no workbook to mark)."""

from __future__ import annotations

import openpyxl

from test_web_api import make_client, token_of
from unit_report import unit_report


def test_a_word_report_is_checked_with_its_issue_list_and_no_annotated_copy(tmp_path):
    client = make_client(tmp_path / "data")
    report = unit_report(tmp_path / "报告.docx")
    r = client.post("/api/selfcheck", files={"file": ("芦淞区报告.docx", report.read_bytes())})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["readable"] and body["annotated_url"] is None
    findings = body["report"]["findings"]
    # The report's own sentence 财政拨款支出2,450.02万元 against its 附件3 全年执行数 2450.21.
    xt301 = [f for f in findings if f["code"] == "XT301"]
    assert any("2,450.02" in f["message"] and "2,450.21" in f["message"] for f in xt301)
    assert any(c.get("where") for f in xt301 for c in f["cells"]), "each figure cites where the report states it"
    refused = client.get(f"/api/selfcheck/{body['token']}/annotated")
    assert refused.status_code == 404 and "Word" in refused.json()["detail"]
    issues = client.get(body["issues_url"])
    assert issues.status_code == 200
    (tmp_path / "i.xlsx").write_bytes(issues.content)
    ws = openpyxl.load_workbook(tmp_path / "i.xlsx")["问题清单"]
    codes = [ws.cell(row=r, column=2).value for r in range(6, ws.max_row + 1)]
    assert len(codes) == len(findings) and "XT301" in codes


def test_the_page_offers_no_annotated_copy_for_a_report(tmp_path):
    client = make_client(tmp_path / "data")
    page = client.get("/")
    assert ".docx" in page.text
    report = unit_report(tmp_path / "报告.docx")
    r = client.post("/selfcheck", data={"csrf_token": token_of(page.text)},
                    files={"file": ("报告.docx", report.read_bytes())}, follow_redirects=True)
    assert r.status_code == 200, r.text
    assert "2,450.21" in r.text and 'id="download-issues"' in r.text
    assert 'id="download-annotated"' not in r.text
