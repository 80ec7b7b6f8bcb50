"""The task pane's Office.js client, run under Node against a fake Excel object model and the
real add-in server (uvicorn on a loopback port): the client builds the payload, the server
checks it, the client replays the actions. Skipped without ``node``."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from datetime import date, datetime
from pathlib import Path

import pytest

from xltool.addin.licence import ensure_licence

ensure_licence()
pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

import openpyxl  # noqa: E402
from openpyxl.utils.datetime import to_excel  # noqa: E402

from test_addin_support import computed_values, make_workbooks, perturb  # noqa: E402
from xltool.addin.plan import SEVERITY_COLOURS  # noqa: E402
from xltool.addin.server import create_app  # noqa: E402
from xltool.check.checker import check_path  # noqa: E402
from xltool.report.annotate import comments_by_cell  # noqa: E402

NODE = shutil.which("node")
CLIENT = Path(__file__).resolve().parents[1] / "xltool/addin/static/xltool-addin.js"

HARNESS = r"""
const fs = require("fs");
const vm = require("vm");
const [clientPath, bookPath, origin, notesSupported] = process.argv.slice(2);
const book = JSON.parse(fs.readFileSync(bookPath, "utf8"));
const texts = { checking: "…", failed: "failed: {error}", noSummary: "none", noteFailures: "{n}", more: "{n}",
                unknownAction: "unknown {name}", noOffice: "no office" };
const state = { fills: {}, notes: {}, values: {}, requests: 0 };

function colName(n) { let s = ""; n += 1; while (n > 0) { const m = (n - 1) % 26; s = String.fromCharCode(65 + m) + s; n = Math.floor((n - 1) / 26); } return s; }
function parse(address) { const m = /^\$?([A-Z]+)\$?(\d+)$/.exec(address.split("!").pop()); let c = 0; for (const ch of m[1]) c = c * 26 + ch.charCodeAt(0) - 64; return [Number(m[2]) - 1, c - 1]; }
function key(sheet, r, c) { return sheet.name + "!" + colName(c) + (r + 1); }

function makeRange(sheet, row, col, rows, cols) {
  const cells = [];
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) cells.push([row + r, col + c]);
  const range = {
    load() { return range; },
    get values() { return Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => { const v = (sheet.data.values[row + r] || [])[col + c]; return v === undefined ? "" : v; })); },
    set values(v) { cells.forEach(([r, c], i) => { state.values[key(sheet, r, c)] = v[Math.floor(i / cols)][i % cols]; }); },
    get numberFormatCategories() { return Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => ((sheet.data.categories || [])[row + r] || [])[col + c] || "General")); },
    format: { fill: {
      set color(v) { cells.forEach(([r, c]) => { state.fills[key(sheet, r, c)] = v; }); },
      clear() { cells.forEach(([r, c]) => { state.fills[key(sheet, r, c)] = null; }); },
    } },
    clear(applyTo) { if (applyTo !== "Contents") throw new Error("only contents may be cleared"); cells.forEach(([r, c]) => { state.values[key(sheet, r, c)] = ""; }); },
    cellKey() { return key(sheet, row, col); },
  };
  return range;
}

const sheets = book.sheets.map((data, position) => {
  const sheet = { name: data.name, position, visibility: data.visibility, data };
  for (const address of data.notes || []) { const [r, c] = parse(address); state.notes[key(sheet, r, c)] = "old"; }
  sheet.getUsedRangeOrNullObject = () => {
    const rows = data.values.length, cols = Math.max(0, ...data.values.map((r) => r.length));
    return { load() {}, isNullObject: rows === 0 || cols === 0, rowIndex: 0, columnIndex: 0, rowCount: rows, columnCount: cols };
  };
  sheet.getRangeByIndexes = (r, c, nr, nc) => makeRange(sheet, r, c, nr, nc);
  sheet.getRange = (address) => { const [r, c] = parse(address); return makeRange(sheet, r, c, 1, 1); };
  sheet.notes = {
    load() {},
    get items() { return Object.keys(state.notes).filter((k) => k.startsWith(sheet.name + "!")).map((k) => ({ getLocation: () => ({ load() {}, address: k }) })); },
    add(range, text) { const k = range.cellKey(); if (k in state.notes) throw new Error("note exists " + k); state.notes[k] = text; },
    getItem(address) { const [r, c] = parse(address); const k = key(sheet, r, c); return { delete() { if (!(k in state.notes)) throw new Error("no note " + k); delete state.notes[k]; } }; },
  };
  return sheet;
});

const context = {
  workbook: {
    name: book.name, load() {},
    worksheets: { items: sheets, load() {}, getActiveWorksheet: () => ({ load() {}, position: 0 }) },
    getSelectedRange: () => ({ load() {}, address: sheets[0].name + "!B3" }),
  },
  sync: async () => {},
};

const elements = {};
function element(id) {
  if (!elements[id]) {
    elements[id] = { id, textContent: "", className: "", disabled: false, children: [],
      replaceChildren() { this.children = []; }, appendChild(c) { this.children.push(c); }, append(...c) { this.children.push(...c); },
      addEventListener() {} };
  }
  return elements[id];
}
element("xltool-text").textContent = JSON.stringify(texts);
element("xltool-config").textContent = JSON.stringify({ scriptUrl: origin + "/xlwings/custom-scripts-call/check_workbook", xlwingsVersion: "0.37.8" });

let ribbon = null;
let payload = null;
const realFetch = fetch;
const sandbox = {
  document: { getElementById: element, createElement: () => element("x" + Math.random()) },
  Office: {
    onReady: (cb) => cb(),
    context: { requirements: { isSetSupported: (set, v) => notesSupported === "1" || v !== "1.18" } },
    actions: { associate: (name, fn) => { if (name === "checkWorkbook") ribbon = fn; } },
    addin: { showAsTaskpane: async () => {} },
  },
  Excel: { run: async (cb) => cb(context), ClearApplyTo: { contents: "Contents" } },
  fetch: async (url, init) => { state.requests += 1; payload = JSON.parse(init.body); return realFetch(url, init); },
  console, JSON, Date, Math, String, Number, Object, Array, Error,
};
vm.createContext(sandbox);
vm.runInContext(fs.readFileSync(clientPath, "utf8"), sandbox);

(async () => {
  let completed = false;
  await ribbon({ completed() { completed = true; } });
  const status = element("status");
  process.stdout.write(JSON.stringify({ state, payload, completed, status: status.textContent, statusClass: status.className,
    findings: element("findings").children.length, notices: element("notices").children.length }));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def fake_book(path: Path, notes: dict[str, list[str]] | None = None) -> dict:
    """The workbook as Excel holds it: values (formulas as results), date cells as serials."""
    computed = computed_values(path)
    wb = openpyxl.load_workbook(path)
    sheets = []
    for ws in wb.worksheets:
        values, categories = [], []
        for r, row in enumerate(ws.iter_rows(min_row=1, min_col=1, max_row=ws.max_row, max_col=ws.max_column), start=1):
            vrow, crow = [], []
            for cell in row:
                value, category = cell.value, "General"
                if isinstance(value, str) and value.startswith("="):
                    value = computed.get((ws.title, cell.coordinate), "")
                if isinstance(value, (datetime, date)):
                    value, category = to_excel(value), "Date"
                vrow.append("" if value is None else value)
                crow.append(category)
            values.append(vrow)
            categories.append(crow)
        state = {"visible": "Visible", "hidden": "Hidden", "veryHidden": "VeryHidden"}[ws.sheet_state]
        sheets.append({"name": ws.title, "visibility": state, "values": values, "categories": categories,
                       "notes": (notes or {}).get(ws.title, [])})
    return {"name": path.name, "sheets": sheets}


@pytest.fixture(scope="module")
def server():
    app = create_app()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not srv.started and time.time() < deadline:
        time.sleep(0.02)
    assert srv.started
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def books() -> dict[str, Path]:
    return make_workbooks()


def run_client(tmp_path: Path, book: dict, origin: str, notes: bool = True) -> dict:
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS, encoding="utf-8")
    data = tmp_path / "book.json"
    data.write_text(json.dumps(book, ensure_ascii=False), encoding="utf-8")
    done = subprocess.run([NODE, str(harness), str(CLIENT), str(data), origin, "1" if notes else "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.skipif(NODE is None, reason="node not installed")
def test_office_js_client_end_to_end(server, books, tmp_path):
    dated = perturb(books["example"], {"info_date": date(2024, 3, 31)}, tmp_path / "dated.xlsx")
    out = run_client(tmp_path, fake_book(dated, notes={"收支情况": ["B4"], "Sheet0": []}), server)
    assert out["completed"] and out["state"]["requests"] == 1, out["status"]

    # The payload is what xlwings' remote engine expects, dates included.
    payload = out["payload"]
    assert payload["client"] == "Office.js" and payload["book"]["selection"] == "B3"
    info = next(s for s in payload["sheets"] if s["name"] == "基本情况")
    assert "2024-03-31T00:00:00.000Z" in [v for row in info["values"] for v in row]
    assert next(s for s in payload["sheets"] if s["name"] == "_xltool_meta")["visibility"] == "VeryHidden"

    # The replayed actions mark exactly what check-workbook flags, with the same notes.
    _result, report = check_path(dated)
    expected = {f"{sheet}!{cell}": (SEVERITY_COLOURS[severity], "\n".join(lines))
                for (sheet, cell), (severity, lines) in comments_by_cell(report).items()}
    severity = set(SEVERITY_COLOURS.values())
    state = out["state"]
    got = {k: (v, state["notes"].get(k)) for k, v in state["fills"].items() if v in severity}
    assert got == expected
    assert {k for k, v in state["notes"].items()} == set(expected), "the old note on 收支情况!B4 is replaced"
    assert all(k.startswith("审核!") for k in state["values"])
    assert out["findings"] == len(report.findings)
    assert out["statusClass"] == "bad"


@pytest.mark.skipif(NODE is None, reason="node not installed")
def test_office_js_client_without_notes(server, books, tmp_path):
    out = run_client(tmp_path, fake_book(books["corrected"]), server, notes=False)
    assert out["state"]["notes"] == {}
    assert "notes" not in out["payload"]["sheets"][0] and out["payload"]["sheets"][0]["notes_supported"] is False
    assert out["notices"] >= 1  # tells the user notes need a newer Excel
    _result, report = check_path(books["corrected"])
    assert out["findings"] == len(report.findings) == 3  # the corrected example's notes: XT202, XT504, XT707
