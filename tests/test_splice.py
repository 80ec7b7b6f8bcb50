"""Per-unit templates by splicing (issue 20): a unit's file is the one template's bytes with the
unit's cells, identification rows and document properties written in (xltool/template/splice.py,
units.py). A spliced template must be the workbook the writer builds for the same unit: the same
XML in every part, read back with the same values and the same findings, whatever the unit is
called."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime, timezone
from pathlib import Path

import openpyxl
import pytest
from lxml import etree

from helpers import YEAR, lo_convert_many, scratch
from helpers import zh_locale  # noqa: F401 - autouse
from xltool.check.checker import check_path
from xltool.read.book import from_xml
from xltool.read.reader import read_path
from xltool.template.cellvalue import put
from xltool.template.fill import validate
from xltool.template.meta import META_SHEET, seal
from xltool.template.splice import Raw, Splicer, cell_tail
from xltool.template.units import Unit, UnitTemplates
from xltool.template.writer import build_workbook

HOSTILE = '=HYPERLINK("http://evil.example/x","点此") & <b>单位</b> \u202e\u2066 ]]> &amp; '
PREFILL = {"base_car_buy_prev": 12.34, "base_reception_prev": 0.1 + 0.2, "base_public_prev": 1e-7,
           "base_zx_1_name": "=专项<&>\"'", "base_zx_1_prev": 100}
UNITS = {
    "hostile, every cell": Unit(name=" " + HOSTILE, code="=1+1", email='a"b@example.cn', submit_code="K7-Q2",
                                prefill=PREFILL),
    "name only": Unit(name="芦淞区机关事务服务中心"),
}


@pytest.fixture(scope="module")
def templates() -> UnitTemplates:
    return UnitTemplates(YEAR)


def _built(templates: UnitTemplates, unit: Unit) -> bytes:
    """What the writer builds for *unit* (the path every template took before splicing)."""
    wb = build_workbook(YEAR, unit_name=unit.name, unit_code=unit.code, unit_email=unit.email,
                        submit_code=unit.submit_code)
    for fid, value in validate(templates.form, dict(unit.prefill)).items():
        f = templates.form.field(fid)
        put(wb[templates.titles[f.sheet]][f.cell], value)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def pairs(templates) -> dict[str, tuple[Path, Path]]:
    folder = scratch("splice_pairs")
    out = {}
    for key, unit in UNITS.items():
        spliced, built = folder / f"{len(out)}_spliced.xlsx", folder / f"{len(out)}_built.xlsx"
        templates.write(spliced, unit)
        built.write_bytes(_built(templates, unit))
        out[key] = (spliced, built)
    return out


def _parts(path: Path) -> tuple[list[str], dict[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        return zf.namelist(), {n: zf.read(n) for n in zf.namelist()}


def _canonical(xml: bytes) -> bytes:
    """The part's XML in canonical form; the protection's random salt (and so its hash) set aside."""
    root = etree.fromstring(xml)
    for el in root.iter():
        for attr in ("saltValue", "hashValue", "workbookSaltValue", "workbookHashValue"):
            if attr in el.attrib:
                el.attrib[attr] = "salted"
    return etree.tostring(root, method="c14n")


def _meta_rows(path: Path) -> dict[str, str]:
    meta = from_xml(path).sheets[META_SHEET]
    rows = {}
    for r in range(1, 40):
        key = meta.get(f"A{r}")
        if key is not None and key.value:
            value = meta.get(f"B{r}")
            rows[key.value] = "" if value is None or value.value is None else value.value
    return rows


def _core(parts: dict[str, bytes]) -> dict[str, str]:
    root = etree.fromstring(parts["docProps/core.xml"])
    return {etree.QName(el).localname: el.text for el in root}


@pytest.mark.parametrize("key", list(UNITS))
def test_a_spliced_template_is_the_built_one(pairs, key) -> None:
    spliced, built = pairs[key]
    names, got = _parts(spliced)
    built_names, want = _parts(built)
    assert names == built_names
    meta_part = next(n for n in names if got[n].find(b"<t>fingerprint</t>") > 0)
    for name in names:
        if name in (meta_part, "docProps/core.xml"):
            continue
        assert _canonical(got[name]) == _canonical(want[name]), name
    # The identification rows: the same rows in the same order; only the time (and so the seal) is the unit's own.
    rows, built_rows = _meta_rows(spliced), _meta_rows(built)
    assert list(rows) == list(built_rows)
    assert {k: v for k, v in rows.items() if k not in ("generated_at", "fingerprint")} == \
           {k: v for k, v in built_rows.items() if k not in ("generated_at", "fingerprint")}
    assert rows["fingerprint"] == seal(rows)
    assert rows["unit_name"] == UNITS[key].name and rows.get("submit_code", "") == UNITS[key].submit_code
    # Document properties: the unit's title, and the time the file was written (as the rows say).
    core, built_core = _core(got), _core(want)
    assert core["title"] == built_core["title"] and UNITS[key].name in core["title"]
    stamp = datetime.fromisoformat(rows["generated_at"]).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert core["created"] == core["modified"] == stamp
    assert openpyxl.load_workbook(spliced).properties.title == core["title"]


@pytest.mark.parametrize("key", list(UNITS))
def test_a_spliced_template_reads_and_checks_as_the_built_one(pairs, key) -> None:
    spliced, built = pairs[key]
    got, want = read_path(spliced), read_path(built)
    assert got.values == want.values
    assert not [f for f in got.findings if f.code.startswith("XT0")], got.findings
    unit = UNITS[key]
    assert (got.values["info_unit_name"], got.values.get("info_unit_code"), got.meta.unit_code) == \
           (unit.name.strip(), unit.code or None, unit.code)  # the reader strips what is typed around a text
    for fid, value in validate(got.form, dict(unit.prefill)).items():
        assert got.values[fid] == (pytest.approx(value, rel=1e-15) if isinstance(value, float) else value), fid
    _, report = check_path(spliced)
    _, expected = check_path(built)

    def said(r):
        return [(f.code, f.instance, f.severity, f.message) for f in r.findings]

    assert said(report) == said(expected) and report.findings
    ws = openpyxl.load_workbook(spliced)[got.form.sheet_title("info")]
    assert ws["B3"].data_type == "s" and ws["B3"].value == unit.name and ws["B3"].protection.locked
    assert ws["B12"].protection.locked is bool(unit.email)  # an e-mail left out is typed by the unit


def test_libreoffice_opens_a_spliced_template_and_its_live_checks_agree(soffice, pairs) -> None:
    """The real spreadsheet opens the spliced zip, recalculates, and its 审核 counters agree with
    check-workbook (a template with prefilled figures has its findings)."""
    spliced, _built = pairs["hostile, every cell"]
    (recalculated,) = lo_convert_many([spliced], scratch("splice_lo"), recalc=True)
    ws = openpyxl.load_workbook(recalculated, data_only=True)["审核"]
    _result, report = check_path(spliced)
    from xltool.check.catalogue import rule

    # The sheet holds the rules that are formulas; a reader's note (XT106 on the prefilled 1e-7) is not one.
    live = [f for f in report.findings if rule(f.code).live]
    assert len(live) < len(report.findings)
    errors = sum(f.severity.value == "error" for f in live)
    warnings = sum(f.severity.value == "warning" for f in live)
    assert (ws["D2"].value, ws["D3"].value) == (errors, warnings)
    info = openpyxl.load_workbook(recalculated)[read_path(spliced).form.sheet_title("info")]
    assert info["B3"].value == UNITS["hostile, every cell"].name


TEXTS = ["单位", " leading", "trailing ", "   ", "a\r\nb\tc", "emoji 😀 𠀀", "\u202e\u2066bidi\u2069", "<&>\"'",
         "]]>", "&amp;", "=SUM(A1)", "+1", "@x", "\u00a0nbsp", "a" * 3000]
NUMBERS = [0, -3, 12.34, 0.1 + 0.2, 1e-7, 123456789012345678.0, -0.0, 2 ** 53 + 1, True, False,
           date(2024, 3, 1), datetime(2024, 3, 1, 12, 30)]


def _openpyxl_cell(value: object) -> bytes:
    wb = openpyxl.Workbook()
    cell = wb.active["B2"]
    cell.font = openpyxl.styles.Font(bold=True)  # styled, as a template's field cell: written even when empty
    put(cell, value)
    buffer = io.BytesIO()
    wb.save(buffer)
    with zipfile.ZipFile(buffer) as zf:
        xml = zf.read("xl/worksheets/sheet1.xml")
    return re.search(rb'<c r="B2".*?(?:/>|</c>)', xml, re.S).group(0)


@pytest.mark.parametrize("value", TEXTS + NUMBERS + [None, ""], ids=repr)
def test_a_cell_is_written_as_openpyxl_writes_it(value) -> None:
    mine = b'<c r="B2" s="1"' + cell_tail(value)
    theirs = _openpyxl_cell(value)
    if isinstance(value, date):  # openpyxl gives a date a date format; a template's date cell has its own
        theirs = re.sub(rb' s="[0-9]+"', b' s="1"', theirs)
    if openpyxl.LXML:
        assert mine == theirs
    wrap = b'<x xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">%s</x>'
    assert _canonical(wrap % mine) == _canonical(wrap % theirs)


def test_text_that_xml_cannot_hold_is_dropped_alike(templates) -> None:
    """A roster name with control characters (which openpyxl refuses) is written without them,
    by the writer and by the splicer alike."""
    unit = Unit(name="甲\x01单位\x1f", code="0\x0b01", email="")
    folder = scratch("splice_control")
    path = templates.write(folder / "u.xlsx", unit)
    (folder / "b.xlsx").write_bytes(_built(templates, unit))
    for p in (path, folder / "b.xlsx"):
        result = read_path(p)
        assert (result.values["info_unit_name"], result.meta.unit_code) == ("甲单位", "001")
        assert not [f for f in result.findings if f.code.startswith("XT0")]


def test_the_splicer_writes_raw_cells_and_leaves_the_rest(template_bytes=None) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "表"
    for ref in ("A1", "B1", "C1"):
        put(ws[ref], "old")
    buffer = io.BytesIO()
    wb.save(buffer)
    splicer = Splicer(buffer.getvalue(), {"表": ["A1", "B1"]})
    data = splicer.render({"表": {"A1": 5, "B1": Raw(b"><f>1+1</f><v>2</v></c>")}}, title=None)
    ws = openpyxl.load_workbook(io.BytesIO(data))["表"]
    assert (ws["A1"].value, ws["B1"].value, ws["C1"].value) == (5, "=1+1", "old")
    assert splicer.render() and zipfile.ZipFile(io.BytesIO(splicer.render())).testzip() is None
    with pytest.raises(ValueError):
        Splicer(buffer.getvalue(), {"表": ["D9"]})  # a cell the sheet does not hold: refused, not skipped


def test_a_roster_shared_among_workers_with_progress(monkeypatch) -> None:
    """A roster large enough for worker processes: every unit's file, with its own identity,
    submission code and shape (no e-mail: the cell left for the unit), and progress to the end."""
    import xltool.audit.distribute as distribute

    monkeypatch.setattr(distribute, "PARALLEL_FROM", 1)
    monkeypatch.setattr(distribute, "CHUNK", 2)
    folder = scratch("splice_roster")
    roster = folder / "名册.csv"
    rows = [("甲&单位", "001", "a@example.cn"), ("乙<单位>", "002", ""), ("丙单位", "003", "c@example.cn"),
            ("丁单位", "004", "d@example.cn"), ("戊单位", "005", "")]
    roster.write_text("单位名称,单位编码,电子邮箱\n" + "".join(f"{n},{c},{e}\n" for n, c, e in rows), encoding="utf-8")
    seen: list[tuple[int, int]] = []
    written = distribute.write_unit_templates(YEAR, roster, folder / "out", jobs=2, submit_code=lambda c: "S" + c,
                                              progress=lambda done, total: seen.append((done, total)))
    assert len(written) == 5 and seen[0] == (0, 5) and seen[-1] == (5, 5)
    for path, (name, code, email) in zip(written, rows):
        result = read_path(path)
        assert (result.values["info_unit_name"], result.meta.unit_code, result.meta.unit_email,
                result.meta.submit_code) == (name, code, email, "S" + code)
        assert not [f for f in result.findings if f.code.startswith("XT0")], (path, result.findings)
