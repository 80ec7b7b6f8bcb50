"""The web page works for a workbook of any shipped form pack (FastAPI TestClient)."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from helpers import scratch, zh_locale  # noqa: F401
from test_form_packs import PACKS, filled
from test_web_api import HTML, basic, login, make_client, token_of

from xltool.check.checker import check_path
from xltool.template.fill import fill_workbook


def broken(pack: str):
    """The pack's corrected example with the 执行率 score set above the rule (10): one must-fix finding (XT604)."""
    return fill_workbook(filled(pack), {"eval_exec_score": 10.0}, scratch("web_packs") / f"{pack}_broken.xlsx")


@pytest.mark.parametrize("pack", PACKS)
def test_selfcheck_of_a_packs_workbook_shows_its_findings(tmp_path, pack):
    client = make_client(tmp_path)
    data = broken(pack).read_bytes()
    expected = check_path(broken(pack))[1]
    r = client.post("/api/selfcheck", files={"file": (f"{pack}.xlsx", data)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["readable"]
    assert {(f["code"], f["instance"]) for f in body["report"]["findings"]} == \
        {(f.code, f.instance) for f in expected.findings}
    xt604 = [f for f in body["report"]["findings"] if f["code"] == "XT604"]
    assert xt604 and xt604[0]["severity"] == "error"
    # the page names the cell of the pack's own layout
    token = token_of(client.get("/", headers=HTML).text)
    page = client.post("/selfcheck", data={"csrf_token": token}, files={"file": ("b.xlsx", data)}, headers=HTML)
    assert page.status_code == 200
    cell = next(c for c in xt604[0]["cells"] if c["field_id"] == "eval_exec_score")
    assert f"{cell['sheet']}!{cell['cell']}" in page.text
    assert client.get(body["annotated_url"]).status_code == 200 and client.get(body["issues_url"]).status_code == 200


def test_templates_zip_for_a_chosen_pack(tmp_path):
    import openpyxl

    client = make_client(tmp_path)
    roster = "单位名称,单位编码,电子邮箱\n芦淞区财政局,430203002,b@example.gov.cn\n".encode()
    r = client.post("/api/templates", data={"year": "2024", "form": "central-2020"},
                    files={"file": ("名册.csv", roster)}, headers=basic())
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        book = tmp_path / "t.xlsx"
        book.write_bytes(zf.read(zf.namelist()[0]))
    assert openpyxl.load_workbook(book)["附件3"]["B6"].value == "按资金来源分："
    result, _report = check_path(book)
    assert result.form.pack_id == "central-2020"
    # an id that is not registered is refused in Chinese, never read as a path
    r = client.post("/api/templates", data={"year": "2024", "form": "../../etc/x"},
                    files={"file": ("名册.csv", roster)}, headers=basic())
    assert r.status_code == 400 and "XLTOOL_FORMS_DIR" in r.json()["detail"] and re.search(r"[\u4e00-\u9fff]", r.json()["detail"])
    # the desk page offers every shipped pack
    login(client)
    page = client.get("/desk", headers=HTML).text
    assert all(f'<option value="{p}">' in page for p in ("example", *PACKS))
