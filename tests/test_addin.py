"""检查本表 end to end on Linux, without Excel.

Payloads shaped like the Office.js client's (Chinese sheet names, used-range values from
A1, dates as ISO strings) are built from the example workbook and posted with FastAPI's
TestClient to the xlwings script endpoint; the returned actions are replayed on a model of
the workbook and compared with what ``check-workbook`` (``check_path``) flags on the same
file.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from xltool.addin.licence import ensure_licence

ensure_licence()  # before xlwings is first imported, or its remote engine stays off
pytest.importorskip("fastapi")
pytest.importorskip("xlwings")

from fastapi.testclient import TestClient  # noqa: E402

from test_addin_support import (  # noqa: E402
    ALLOWED, Workbook, changed, computed_values, make_workbooks, office_payload, payload_from_workbook, payload_from_xlsx,
    perturb,
)
from xltool.addin.engine import check_payload  # noqa: E402
from xltool.addin.plan import SEVERITY_COLOURS, hex_colour, template_fills  # noqa: E402
from xltool.addin.server import create_app  # noqa: E402
from xltool.check.checker import check_path  # noqa: E402
from xltool.check.finding import Severity  # noqa: E402
from xltool.form.selfeval import build_form  # noqa: E402
from xltool.report.annotate import comments_by_cell  # noqa: E402

URL = "/xlwings/custom-scripts-call/check_workbook"


@pytest.fixture(scope="module")
def books() -> dict[str, Path]:
    return make_workbooks()


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())


def post(client: TestClient, payload: dict) -> dict:
    response = client.post(URL, json=payload)
    assert response.status_code == 200, response.text
    return response.json()


def sheet_names(payload: dict) -> list[str]:
    return [s["name"] for s in payload["sheets"]]


def expected_marks(path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(sheet, cell) → (colour, note) as check-workbook's annotated copy marks them."""
    _result, report = check_path(path)
    return {key: (SEVERITY_COLOURS[severity], "\n".join(lines))
            for key, (severity, lines) in comments_by_cell(report).items()}


def marked(state: Workbook) -> dict[tuple[str, str], tuple[str, str]]:
    severity = set(SEVERITY_COLOURS.values())
    return {key: (colour, state.notes.get(key)) for key, colour in state.fills.items() if colour in severity}


def assert_only_allowed_writes(state: Workbook) -> None:
    assert set(state.funcs) <= ALLOWED
    area = {("审核", f"{c}{r}") for c in "KLMNOP" for r in range(5, 305)}
    assert set(state.writes) <= area, "values are written only to the unlocked K5:P304 of 审核"


# -- the example: marks equal check-workbook's --------------------------------------

def test_example_marks_exactly_the_cells_check_workbook_flags(books, client):
    payload = office_payload(books["example"], notes={})
    answer = post(client, payload)
    state = Workbook(sheet_names(payload)).replay(answer["actions"])
    assert_only_allowed_writes(state)

    expected = expected_marks(books["example"])
    assert expected, "the example has findings"
    assert marked(state) == expected  # same cells, same colours, same note text
    assert set(state.notes) == set(expected)

    _result, report = check_path(books["example"])
    summary = answer["xltool"]
    assert summary["status"] == "ok"
    assert (summary["errors"], summary["warnings"]) == (report.errors, report.warnings)
    assert summary["notes"] is True
    rows = state.list_rows()
    assert [row[0] for row in rows] == list(range(1, len(report.findings) + 1))
    assert [row[1].split()[0] for row in rows] == [f.code for f in report.findings]
    assert [row[3].split(" ")[0] for row in rows] == [f.message.split(" ")[0] for f in report.findings]


def test_every_other_field_keeps_its_template_colour(books, client):
    payload = office_payload(books["example"], notes={})
    state = Workbook(sheet_names(payload)).replay(post(client, payload)["actions"])
    form = build_form(2023)
    flagged = set(expected_marks(books["example"]))
    fills = template_fills(form)
    for f in form.fields:
        key = (form.sheet_title(f.sheet), f.cell)
        if key not in flagged:
            assert state.fills.get(key) == fills[key], key


def test_template_colours_are_those_of_the_file(books):
    """The restore colours are the ones the template writer really used."""
    import openpyxl

    wb = openpyxl.load_workbook(books["blank"])
    form = build_form(2023)
    for f in form.fields[::7]:
        cell = wb[form.sheet_title(f.sheet)][f.cell]
        assert hex_colour(cell.fill) == template_fills(form)[(form.sheet_title(f.sheet), f.cell)], f.id


# -- a second run on the corrected workbook clears the old marks ----------------------

def test_corrected_workbook_clears_the_previous_marks(books, client):
    first = office_payload(books["example"], notes={})
    state = Workbook(sheet_names(first)).replay(post(client, first)["actions"])
    assert len(state.list_rows()) > 5

    # What the client sends next time: the same notes and the list of the first run.
    notes: dict[str, list[str]] = {}
    for sheet, cell in state.notes:
        notes.setdefault(sheet, []).append(cell)
    second = office_payload(books["corrected"], notes=notes,
                            values={key: value for key, value in state.values.items() if value not in ("", None)})
    answer = post(client, second)
    state.replay(answer["actions"])
    assert_only_allowed_writes(state)

    expected = expected_marks(books["corrected"])
    assert {colour for colour, _note in expected.values()} == {SEVERITY_COLOURS[Severity.WARNING]}, \
        "the corrected example keeps only 需要说明 notes"
    assert marked(state) == expected
    assert set(state.notes) == set(expected), "old notes are deleted, new ones match the findings"
    fills = template_fills(build_form(2023))
    for key, colour in state.fills.items():
        if key not in expected:
            assert colour == fills.get(key), f"{key} keeps a mark"
    _result, report = check_path(books["corrected"])
    # the corrected example keeps its three notes: XT202, XT504, XT707
    assert len(state.list_rows()) == len(report.findings) == 3, "the list is refreshed and cleared below"
    assert answer["xltool"]["errors"] == 0


# -- the same findings by the file path and the add-in path ------------------------------

PERTURBATIONS = {
    "example": None,
    "XT301": {"fin_budget": 2701.75},
    "XT401": {"proj_2_balance": 5.0},
    "XT705": {"info_year": 2022},
    "XT101": {"fin_budget": "2,701.57万元"},
    "XT104": {"proj_1_initial_flag": "Y"},
    "date": {"info_date": date(2024, 3, 31)},
    "date-text": {"info_date": "2024年3月31日"},
}


def test_file_path_and_addin_path_give_the_same_findings(books, client, tmp_path):
    import openpyxl

    from xltool.template.writer import save_atomic

    loaded = {key: openpyxl.load_workbook(books[key]) for key in ("example", "corrected")}
    for name, changes in PERTURBATIONS.items():
        wb = loaded["example" if changes is None else "corrected"]
        with changed(wb, changes or {}):
            path = books["example"] if changes is None else save_atomic(wb, tmp_path / f"{name}.xlsx")
            result, report = check_path(path)
            payload = payload_from_workbook(wb, path.name, computed=computed_values(path, result), notes={})
        outcome = check_payload(payload)
        assert outcome.status == "ok", (name, outcome.message)
        assert [f.to_dict() for f in outcome.findings] == [f.to_dict() for f in report.findings], name
        if changes is not None and not name.startswith("date"):
            assert name in {f.code for f in report.findings}, name
        summary = post(client, payload)["xltool"]
        assert [(f["code"], f["message"]) for f in summary["findings"]] == [(f.code, f.message) for f in report.findings]


def test_date_arrives_as_iso_string_and_reads_as_the_file_date(books, tmp_path):
    path = perturb(books["corrected"], {"info_date": date(2024, 3, 31)}, tmp_path / "dated.xlsx")
    payload = office_payload(path)
    info = next(s for s in payload["sheets"] if s["name"] == "基本情况")
    assert "2024-03-31T00:00:00.000Z" in [v for row in info["values"] for v in row]
    outcome = check_payload(payload)
    assert outcome.result.values["info_date"] == date(2024, 3, 31)
    # Older Excel (no ExcelApi 1.12) sends the serial number instead.
    for row in info["values"]:
        for i, value in enumerate(row):
            if value == "2024-03-31T00:00:00.000Z":
                row[i] = 45382
    assert check_payload(payload).result.values["info_date"] == date(2024, 3, 31)


def test_recalculated_workbook_payload(books, soffice, tmp_path):
    """With LibreOffice's cached results in every formula cell (as Excel would send them)."""
    from xltool.office import recalculate

    recalculated = recalculate(books["example"], tmp_path / "recalculated.xlsx")
    payload = payload_from_xlsx(recalculated, cached=True, notes={})
    _result, report = check_path(books["example"])
    assert [f.to_dict() for f in check_payload(payload).findings] == [f.to_dict() for f in report.findings]


# -- without the meta sheet, other workbooks, other clients ---------------------------------

def test_missing_meta_sheet_is_recognised_from_the_layout(books, client):
    payload = office_payload(books["example"], notes={}, drop=("_xltool_meta",))
    answer = post(client, payload)
    _result, report = check_path(books["example"])
    summary = answer["xltool"]
    assert summary["status"] == "ok"
    assert [(f["code"], f["message"]) for f in summary["findings"]] == [(f.code, f.message) for f in report.findings]
    assert any("2023" in notice for notice in summary["notices"])


def test_other_workbook_is_refused_clearly(client):
    payload = {"client": "Office.js", "version": "1", "book": {"name": "工作簿1.xlsx", "active_sheet_index": 0},
               "names": [], "sheets": [{"name": "Sheet1", "values": [["单位", "金额"], ["甲", 1]]}]}
    answer = post(client, payload)
    # xlwings Server's client shows the message in a dialog (the only action); xltool's pane shows the summary.
    assert [a["func"] for a in answer["actions"]] == ["alert"]
    assert answer["actions"][0]["args"][0] == answer["xltool"]["message"]
    assert answer["xltool"]["status"] == "not_ours"
    assert "基本情况" in answer["xltool"]["message"]
    answer = post(client, {**payload, "xltool_pane": True})
    assert answer["actions"] == [] and answer["xltool"]["status"] == "not_ours"


def test_vba_client_gets_colours_list_and_a_message_box(books, client):
    import xlwings as xw

    payload = office_payload(books["example"], client="VBA")
    assert payload["version"] == xw.__version__  # the VBA client must match the server's xlwings
    for sheet in payload["sheets"]:
        sheet["values"] = [[None if v == "" else v for v in row] for row in sheet["values"]]
    answer = post(client, payload)
    funcs = [a["func"] for a in answer["actions"]]
    assert "addNote" not in funcs and "deleteNote" not in funcs  # notes need an Office.js client
    assert funcs[-1] == "alert"
    assert all(a["args"][0] for a in answer["actions"] if a["func"] == "setRangeColor")  # VBA needs a colour
    state = Workbook(sheet_names(payload)).replay([a for a in answer["actions"] if a["func"] != "alert"])
    assert {k: c for k, (c, _n) in marked(state).items()} == {k: c for k, (c, _n) in expected_marks(books["example"]).items()}


def test_office_js_without_notes_support_still_colours_and_lists(books, client):
    payload = office_payload(books["example"])  # no "notes" key: ExcelApi < 1.18
    answer = post(client, payload)
    assert not {"addNote", "deleteNote"} & {a["func"] for a in answer["actions"]}
    assert answer["xltool"]["notes"] is False
    assert answer["xltool"]["notices"]
    state = Workbook(sheet_names(payload)).replay(answer["actions"])
    assert set(marked(state)) == set(expected_marks(books["example"]))
    assert state.list_rows()


def test_bad_requests(client):
    assert client.post("/xlwings/custom-scripts-call/ensure_licence", json={}).status_code == 404
    assert client.post("/xlwings/custom-scripts-call/run_remote", json={}).status_code == 404
    assert client.post(URL, content=b"{not json", headers={"content-type": "application/json"}).status_code == 400
    assert client.post(URL, json=[1, 2]).status_code == 400
    assert client.post(URL, json={"client": "Office.js", "book": {}, "sheets": [{"values": [[1]]}]}).status_code == 200
    meta = client.get("/xlwings/custom-scripts-meta").json()
    assert [m["function_name"] for m in meta] == ["check_workbook"]


def test_computed_payload_values_match_the_file(books):
    """The helper fills formula cells the way Excel shows them (sanity of the fixture)."""
    values = computed_values(books["example"])
    assert values[("附件3", "G5")] == pytest.approx(2450.21 / 2510.99)
