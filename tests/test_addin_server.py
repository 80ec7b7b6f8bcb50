"""The add-in's static side: manifest, task pane, client script, icons, ``xltool addin init``."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from xltool.addin.licence import ensure_licence

ensure_licence()
pytest.importorskip("fastapi")
pytest.importorskip("xlwings")

from defusedxml.ElementTree import fromstring  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from xltool.addin.server import create_app  # noqa: E402
from xltool.cli import app as cli_app  # noqa: E402

OFFICE = "{http://schemas.microsoft.com/office/appforoffice/1.1}"
OV = "{http://schemas.microsoft.com/office/taskpaneappversionoverrides}"
BT = "{http://schemas.microsoft.com/office/officeappbasictypes/1.0}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
BASE = "https://xltool.example.gov.cn:8443"


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(base_url=BASE + "/"))


def check_manifest(text: str, base: str) -> None:
    root = fromstring(text.encode("utf-8"))
    assert root.tag == f"{OFFICE}OfficeApp" and root.get(XSI_TYPE) == "TaskPaneApp"
    assert root.find(f"{OFFICE}DefaultLocale").text == "zh-CN"
    sets = root.find(f"{OFFICE}Requirements/{OFFICE}Sets")
    assert [(s.get("Name"), s.get("MinVersion")) for s in sets] == [("SharedRuntime", "1.1")]
    overrides = root.find(f"{OV}VersionOverrides")
    host = overrides.find(f"{OV}Hosts/{OV}Host")
    assert host.find(f"{OV}Runtimes/{OV}Runtime").get("lifetime") == "long"
    controls = list(host.iter(f"{OV}Control"))
    actions = {c.get("id"): c.find(f"{OV}Action") for c in controls}
    assert actions["Xltool.CheckButton"].get(XSI_TYPE) == "ExecuteFunction"
    assert actions["Xltool.CheckButton"].find(f"{OV}FunctionName").text == "checkWorkbook"
    assert actions["Xltool.TaskpaneButton"].get(XSI_TYPE) == "ShowTaskpane"
    strings = {s.get("id"): s for s in overrides.iter(f"{BT}String")}
    label = strings[controls[0].find(f"{OV}Label").get("resid")]
    assert label.get("DefaultValue") == "检查本表"
    assert label.find(f"{BT}Override").get("Locale") == "en-US"
    assert label.find(f"{BT}Override").get("Value") == "Check this workbook"
    assert all(len(s.get("DefaultValue")) <= 125 for s in overrides.find(f"{OV}Resources/{BT}ShortStrings"))
    # Every resource URL and the start page point at the server.
    urls = [e.get("DefaultValue") for e in root.iter() if e.tag.endswith(("Url", "SourceLocation", "Image"))
            and e.get("DefaultValue")]
    assert urls and all(u.startswith(base + "/") for u in urls), urls
    resids = {e.get("id") for e in overrides.iter() if e.get("id")}
    assert {e.get("resid") for e in root.iter() if e.get("resid")} <= resids


def test_manifest_is_valid_and_points_at_the_server(client):
    response = client.get("/manifest.xml")
    assert response.status_code == 200 and "xml" in response.headers["content-type"]
    check_manifest(response.text, BASE)


def test_manifest_urls_follow_the_request_without_a_base_url():
    response = TestClient(create_app(), base_url="https://localhost:8000").get("/manifest.xml")
    check_manifest(response.text, "https://localhost:8000")


class StrictHTML(HTMLParser):
    """Checks that every element is closed in order (HTML5 void elements aside) and
    collects the text of each element with an id."""

    VOID = {"meta", "link", "br", "hr", "img", "input", "source", "area", "base", "col", "embed", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str | None]] = []
        self.ids: dict[str, dict] = {}
        self.text: dict[str, str] = {}
        self.scripts: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts.append(attrs)
        ident = attrs.get("id")
        if ident is not None:
            assert ident not in self.ids, f"duplicate id {ident}"
            self.ids[ident] = attrs
            self.text[ident] = ""
        if tag not in self.VOID:
            self.stack.append((tag, ident))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1][0] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data):
        for _tag, ident in self.stack:
            if ident is not None:
                self.text[ident] += data


def test_taskpane_is_well_formed_chinese_html(client):
    response = client.get("/taskpane.html")
    assert response.status_code == 200
    page = StrictHTML()
    page.feed(response.text)
    page.close()
    assert page.stack == []
    assert response.text.startswith("<!DOCTYPE html>")
    assert page.text["xltool-check"].strip() == "检查本表"
    config = json.loads(page.text["xltool-config"])
    assert config["scriptUrl"] == "xlwings/custom-scripts-call/check_workbook"
    texts = json.loads(page.text["xltool-text"])
    assert texts["checking"] and "{error}" in texts["failed"]
    sources = [s.get("src") for s in page.scripts if s.get("src")]
    assert "https://appsforoffice.microsoft.com/lib/1/hosted/office.js" in sources
    assert "static/xltool-addin.js" in sources
    assert "WPS" in response.text


def test_client_script_icons_and_help_are_served(client):
    js = client.get("/static/xltool-addin.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert "custom-scripts-call" not in js.text or "CONFIG.scriptUrl" in js.text
    for func in ("setRangeColor", "addNote", "deleteNote", "setValues", "rangeClearContents"):
        assert func in js.text
    assert "checkWorkbook" in js.text  # the ribbon's FunctionName
    for size in (16, 32, 64, 80):
        icon = client.get(f"/icons/icon-{size}.png")
        assert icon.status_code == 200 and icon.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert client.get("/icons/icon-17.png").status_code == 404
    assert BASE in client.get("/help").text


def test_addin_init_writes_manifest_notes_and_vba(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli_app, ["addin", "init", str(tmp_path / "addin"), "--base-url", "https://localhost:8443/"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "addin"
    check_manifest((folder / "manifest.xml").read_text(encoding="utf-8"), "https://localhost:8443")
    assert "--port 8443" in (folder / "README-addin.txt").read_text(encoding="utf-8")
    bas = (folder / "xltool_classic.bas").read_bytes()
    bas.decode("ascii")
    assert b"RunPython \"from xltool.addin.classic import check_caller; check_caller()\"" in bas
    again = runner.invoke(cli_app, ["addin", "init", str(folder)])
    assert again.exit_code == 2  # no silent overwrite
    assert runner.invoke(cli_app, ["addin", "init", str(folder), "--force", "--id", "nonsense"]).exit_code == 2
    assert runner.invoke(cli_app, ["addin", "init", str(folder), "--force", "--base-url", "localhost"]).exit_code == 2
