"""Issue 10: the add-in's answer run by xlwings Server's own Office.js client.

``RealClient`` models that client's action table (xlwings/xlwings-server,
``xlwings_server/static/js/custom-scripts/index.js``, read at commit 8862003): the action
names it registers in ``globalThis.callbacks``, and for the actions xltool emits, what each
handler does with its arguments. ``runActions`` calls the handlers one after the other with
no error handling of its own, so the first handler that throws (``null.toString()``, an
unknown action name, a range of the wrong shape) stops the run half-way and ``runPython``
shows the error. Its payload carries no ``notes`` (the client has no note actions) and no
sheet visibility.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from xltool.addin.licence import ensure_licence

ensure_licence()
pytest.importorskip("fastapi")
pytest.importorskip("xlwings")

import openpyxl  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from test_addin_support import Workbook, computed_values, make_workbooks, payload_from_workbook  # noqa: E402
from xltool.addin.plan import SEVERITY_COLOURS  # noqa: E402
from xltool.addin.server import create_app  # noqa: E402
from xltool.check.checker import check_path  # noqa: E402
from xltool.report.annotate import comments_by_cell  # noqa: E402

URL = "/xlwings/custom-scripts-call/check_workbook"

# globalThis.callbacks of the client: the `funcs` table.
REAL_ACTIONS = frozenset({
    "setValues", "addSheet", "setSheetName", "setAutofit", "setRangeColor", "activateSheet", "addHyperlink",
    "setNumberFormat", "setPictureName", "setPictureWidth", "setPictureHeight", "deletePicture", "addPicture",
    "updatePicture", "alert", "setRangeName", "namesAdd", "nameDelete", "runMacro", "rangeDelete", "rangeInsert",
    "rangeSelect", "rangeClearContents", "rangeClearFormats", "rangeGroup", "rangeUngroup", "rangeClear",
    "rangeAdjustIndent", "addTable", "setTableName", "resizeTable", "showAutofilterTable", "showHeadersTable",
    "showTotalsTable", "setTableStyle", "copyRange", "copyFromRange", "sheetDelete", "sheetClear",
    "sheetClearFormats", "sheetClearContents", "freezePaneAtRange", "freezePaneUnfreeze", "setFontProperty",
})
_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")


class JsError(Exception):
    """What the JavaScript would throw."""


def _to_string(args: object, i: int) -> str:
    """``action.args[i].toString()``."""
    if not isinstance(args, list):
        raise JsError(f"Cannot read properties of {'null' if args is None else type(args).__name__} (reading '{i}')")
    if i >= len(args) or args[i] is None:
        raise JsError(f"Cannot read properties of {'undefined' if i >= len(args) else 'null'} (reading 'toString')")
    value = args[i]
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


@dataclass
class RealClient:
    sheets: list[str]
    book: Workbook = field(init=False)
    alerts: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    error: str | None = None
    done: int = 0

    def __post_init__(self) -> None:
        self.book = Workbook(self.sheets)

    def _range(self, action: dict) -> None:
        """getRange: sheets.items[sheet_position].getRangeByIndexes(start_row, start_column, row_count, column_count)."""
        position = action.get("sheet_position")
        if not isinstance(position, int) or not 0 <= position < len(self.sheets):
            raise JsError("Cannot read properties of undefined (reading 'getRangeByIndexes')")
        for key in ("start_row", "start_column", "row_count", "column_count"):
            if not isinstance(action.get(key), int) or action[key] < (1 if key.endswith("count") else 0):
                raise JsError(f"InvalidArgument: {key}={action.get(key)!r}")

    def run(self, actions: list[dict]) -> "RealClient":
        for action in actions:
            try:
                self._one(action)
            except JsError as exc:  # runActions does not catch: runPython shows it and stops
                self.error = f"{action.get('func')}: {exc}"
                return self
            self.done += 1
        return self

    def _one(self, action: dict) -> None:
        func = action.get("func")
        if func not in REAL_ACTIONS:
            raise JsError(f"globalThis.callbacks[action.func] is not a function ({func})")
        if func == "setRangeColor":
            self._range(action)
            colour = _to_string(action.get("args"), 0)
            if not _COLOUR.fullmatch(colour):  # format.fill.color takes #RRGGBB or a colour name
                raise JsError(f"InvalidArgument: fill colour {colour!r}")
        elif func == "setValues":
            self._range(action)
            values = action.get("values")
            if (not isinstance(values, list) or len(values) != action["row_count"]
                    or any(not isinstance(r, list) or len(r) != action["column_count"] for r in values)):
                raise JsError("InvalidArgument: values do not match the range's dimensions")
            if any(v is None or isinstance(v, (dict, list)) for r in values for v in r):
                raise JsError("InvalidArgument: a value is null or not a cell value")
        elif func == "rangeClearContents":
            self._range(action)
        elif func == "alert":
            self.alerts.append(tuple(_to_string(action.get("args"), i) for i in range(5)))
        elif func == "activateSheet":
            index = int(_to_string(action.get("args"), 0))
            if not 0 <= index < len(self.sheets):
                raise JsError("Cannot read properties of undefined (reading 'activate')")
        else:
            raise JsError(f"xltool does not emit {func}; model it before relying on it")
        self.book.replay([action])


def real_payload(wb, name: str, computed: dict | None = None, values: dict | None = None) -> dict:
    """The payload as xlwings Server's client sends it: no notes, no visibility, no pane marker."""
    payload = payload_from_workbook(wb, name, computed=computed, values=values)
    for sheet in payload["sheets"]:
        sheet.pop("visibility", None)
        sheet.pop("notes", None)
        sheet.pop("notes_supported", None)
    payload.pop("xltool_pane", None)
    return payload


@pytest.fixture(scope="module")
def books() -> dict[str, Path]:
    return make_workbooks()


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())


def answer(client: TestClient, payload: dict) -> dict:
    response = client.post(URL, json=payload)
    assert response.status_code == 200, response.text
    return response.json()


def replay(client: TestClient, payload: dict) -> tuple[RealClient, dict]:
    data = answer(client, payload)
    real = RealClient([s["name"] for s in payload["sheets"]]).run(data["actions"])
    assert real.error is None, real.error
    assert real.done == len(data["actions"])
    return real, data


def test_the_example_runs_to_the_end_and_tells_the_user(books, client) -> None:
    path = books["example"]
    payload = real_payload(openpyxl.load_workbook(path), path.name, computed_values(path))
    real, data = replay(client, payload)
    _result, report = check_path(path)
    expected = {key: SEVERITY_COLOURS[severity] for key, (severity, _lines) in comments_by_cell(report).items()}
    got = {key: colour for key, colour in real.book.fills.items() if colour in set(SEVERITY_COLOURS.values())}
    assert got == expected
    assert not real.book.notes  # this client has no note actions: none is sent
    assert len(real.book.list_rows()) == len(report.findings)
    (prompt, title, buttons, mode, callback), = real.alerts
    assert str(report.errors) in prompt and str(report.warnings) in prompt
    assert "审核" in prompt and buttons == "ok" and mode == "critical" and callback == ""
    assert data["actions"][-1]["func"] == "alert"


def test_a_second_run_restores_colours_without_null(books, client) -> None:
    """A former run's list names cells the template leaves without fill (labels flagged by XT007):
    the next run restores them, and "no fill" must not travel as null."""
    path = books["example"]
    wb = openpyxl.load_workbook(path)
    first, _ = replay(client, real_payload(wb, path.name, computed_values(path)))
    previous = dict(first.book.values)
    row = 5 + len(first.book.list_rows())
    previous[("审核", f"K{row}")], previous[("审核", f"M{row}")] = row - 4, "附件2!A1、收支情况!A3"
    second, data = replay(client, real_payload(wb, path.name, computed_values(path), values=previous))
    colours = [a["args"][0] for a in data["actions"] if a["func"] == "setRangeColor"]
    assert colours and all(isinstance(c, str) and _COLOUR.fullmatch(c) for c in colours)
    assert second.book.fills[("附件2", "A1")] == second.book.fills[("收支情况", "A3")] == "#FFFFFF"


def test_a_workbook_that_is_not_ours_shows_a_message(client) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "Sheet1"
    wb.active["A1"] = "预算"
    real, data = replay(client, real_payload(wb, "other.xlsx"))
    assert [a["func"] for a in data["actions"]] == ["alert"]
    (prompt, title, _buttons, mode, _callback), = real.alerts
    assert prompt and re.search(r"[\u4e00-\u9fff]", prompt) and mode == "critical"
    assert data["xltool"]["status"] == "not_ours"


def test_a_clean_workbook_says_so(books, client) -> None:
    path = books["corrected"]
    real, _ = replay(client, real_payload(openpyxl.load_workbook(path), path.name, computed_values(path)))
    (prompt, _title, _buttons, mode, _callback), = real.alerts
    _result, report = check_path(path)
    assert report.errors == 0 and mode == "info" and prompt


def test_xltools_own_pane_gets_no_alert(books, client) -> None:
    path = books["example"]
    payload = payload_from_workbook(openpyxl.load_workbook(path), path.name, computed=computed_values(path), notes={})
    payload["xltool_pane"] = True
    data = answer(client, payload)
    assert "alert" not in {a["func"] for a in data["actions"]}
    assert data["xltool"]["status"] == "ok"


def test_the_model_stops_where_the_real_client_stops() -> None:
    """The model is not lenient: a null colour, an unknown action and a bad shape each stop it."""
    action = {"sheet_position": 0, "start_row": 0, "start_column": 0, "row_count": 1, "column_count": 1}
    for bad in ({**action, "func": "setRangeColor", "args": [None]}, {**action, "func": "setRangeColor", "args": None},
                {**action, "func": "addNote", "args": ["A1", "x"]}, {**action, "func": "deleteNote", "args": ["A1"]},
                {**action, "func": "setValues", "values": [[1, 2]]},
                {"func": "alert", "args": ["x", "t", "ok", None, ""]}, {"func": "alert", "args": ["x"]}):
        real = RealClient(["Sheet1"]).run([bad, {**action, "func": "setRangeColor", "args": ["#FFFFFF"]}])
        assert real.error and real.done == 0, bad
