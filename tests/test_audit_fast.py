"""The fast paths the batch audit relies on give exactly what the plain paths give:

* the pyexpat reader in xltool.read.book against the ElementTree reader it replaced;
* compiled expressions and checks (xltool.form.expr.compiled, xltool.check.rule) against
  walking the expression trees;
* the spliced 问题清单 (xltool.audit.issuelist) against report.xlsx_list.write_issue_list;
* the package-editing annotator (xltool.audit.marking) against report.annotate.
"""

from __future__ import annotations

import math
import posixpath
import random
import sys
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import generate  # noqa: E402

from xltool.check.checker import check_path  # noqa: E402
from xltool.read.safety import Reason, UnreadableWorkbook  # noqa: E402
from xltool.check.finding import CellRef, Finding, Severity, WorkbookReport  # noqa: E402



@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fast")
    manifest = generate.generate(16, folder, seed=13, fault_share=1.0, broken=False, roster="none")
    return [folder / e["file"] for e in manifest["files"]]


# -- the reader -----------------------------------------------------------------------------

def _reference_book(path: Path):
    """An ElementTree reader with the semantics of xltool.read.book: what Excel shows (phonetic
    runs left out, cells and rows without ``r`` placed after the previous one, the first of
    duplicated sheet titles and workbook-level names)."""
    from defusedxml.ElementTree import fromstring, iterparse

    from xltool.read import book as b

    M = b.NS_MAIN

    def strings(zf, part):
        if not part or part not in zf.namelist():
            return []
        out = []
        for _event, elem in iterparse(zf.open(part), events=("end",)):
            if elem.tag == f"{M}si":
                out.append(text_of(elem))
                elem.clear()
        return out

    def text_of(elem):
        phonetic = {id(t) for ph in elem.iter(f"{M}rPh") for t in ph.iter(f"{M}t")}
        return "".join(t.text or "" for t in elem.iter(f"{M}t") if id(t) not in phonetic)

    def col_number(letters):
        n = 0
        for ch in letters:
            n = n * 26 + ord(ch) - 64
        return n

    def col_name(n):
        out = ""
        while n:
            n, rem = divmod(n - 1, 26)
            out = chr(65 + rem) + out
        return out

    def sheet_cells(zf, part, strs, sheet):
        shared = {}
        row, col = 0, 0
        for event, elem in iterparse(zf.open(part), events=("start", "end")):
            tag = elem.tag
            if event == "start":
                if tag == f"{M}row":
                    r = elem.get("r")
                    row, col = (int(r) if r and r.isdigit() else row + 1), 0
                elif tag == f"{M}c":
                    ref = elem.get("r")
                    if ref is None:
                        col += 1
                    else:
                        col = col_number("".join(ch for ch in ref if ch.isalpha()))
                    elem.set("_pos", ref or f"{col_name(col)}{row}")
                continue
            if tag == f"{M}c":
                ref, kind = elem.get("_pos"), elem.get("t", "n")
                v, f = elem.find(f"{M}v"), elem.find(f"{M}f")
                value = None
                if kind == "inlineStr":
                    value = text_of(elem)
                elif v is not None and v.text is not None:
                    text = v.text
                    if kind == "s":
                        i = int(text)
                        value = strs[i] if 0 <= i < len(strs) else ""
                    elif kind in ("str", "e"):
                        value = text
                    elif kind == "b":
                        value = text == "1"
                    else:
                        try:
                            value = b._number(text)
                        except ValueError:
                            value = text
                formula = None
                if f is not None:
                    formula = f.text
                    if f.get("t") == "shared":
                        si = f.get("si", "")
                        if formula:
                            shared[si] = (ref, formula)
                        elif si in shared:
                            formula = b._translate(shared[si][1], shared[si][0], ref)
                    if formula is None:
                        formula = ""
                if ref and (value is not None or formula is not None):
                    sheet.cells[ref] = b.CellData(value=value, formula=formula)
                elem.clear()
            elif tag == f"{M}sheetProtection" and sheet.protected is None:
                sheet.protected = elem.get("sheet") in ("1", "true")
        if sheet.protected is None:
            sheet.protected = False

    with zipfile.ZipFile(path) as zf:
        rels = {}
        if "xl/_rels/workbook.xml.rels" in zf.namelist():
            for rel in fromstring(zf.read("xl/_rels/workbook.xml.rels")).iter(f"{b.NS_PKG_REL}Relationship"):
                target = rel.get("Target", "")
                rels[rel.get("Id")] = (target.lstrip("/") if target.startswith("/")
                                       else posixpath.normpath(posixpath.join("xl", target)))
        root = fromstring(zf.read("xl/workbook.xml"))
        strs = strings(zf, next((t for t in rels.values() if t.endswith("sharedStrings.xml")), "xl/sharedStrings.xml"))
        sheets = {}
        for node in root.iter(f"{M}sheet"):
            title = node.get("name", "")
            target = rels.get(node.get(f"{b.NS_REL}id", ""), "")
            sheet = b.SheetData(title=title, state=node.get("state", "visible"))
            if title.casefold() in {t.casefold() for t in sheets}:
                continue
            if target in zf.namelist() and "worksheets/" in target:
                sheet_cells(zf, target, strs, sheet)
            sheets[title] = sheet
        names = {}
        for n in root.iter(f"{M}definedName"):
            if n.get("localSheetId") is None:
                names.setdefault(n.get("name", ""), n.text or "")
        prot = root.find(f"{M}workbookProtection")
    return b.Book(sheets=sheets, names=names, structure_protected=prot is not None and prot.get("lockStructure") in ("1", "true"))


def _edge_workbook(path: Path) -> Path:
    """Shapes the template never has but a spreadsheet may write."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    workbook = (f'<workbook {ns} {rel}><workbookProtection lockStructure="true"/><sheets>'
                '<sheet name="A&amp;B" sheetId="1" r:id="rId1"/></sheets><definedNames>'
                '<definedName name="x">\'A&amp;B\'!$A$1</definedName><definedName name="y" localSheetId="0">A&amp;B!$B$2</definedName>'
                '<definedName name="x">later wins</definedName></definedNames></workbook>')
    shared = (f'<sst {ns} count="3"><si><t>plain</t></si><si><r><rPr><b/></rPr><t xml:space="preserve">rich </t></r>'
              '<r><t>text</t></r><rPh sb="0" eb="1"><t>ふりがな</t></rPh></si><si><t>&lt;&amp;&#x4e2d;</t></si></sst>')
    sheet = (f'<worksheet {ns}><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
             '<c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>99</v></c><c r="E1" t="inlineStr"><is><t><![CDATA[a<b]]></t></is></c>'
             '<c r="F1" t="b"><v>1</v></c><c r="G1" t="e"><v>#DIV/0!</v></c><c r="H1" t="str"><f>"x"&amp;"y"</f><v>xy</v></c>'
             '<c t="n"><v>5</v></c><c r="I1"><v>1.50</v></c><c r="J1"><v>3</v></c><c r="K1"><v>1E3</v></c></row>'
             '<row r="2"><c r="A2"><f t="shared" ref="A2:C2" si="0">A1+$B$1</f><v>2</v></c><c r="B2"><f t="shared" si="0"/><v>3</v></c>'
             '<c r="C2"><f t="shared" si="0"/></c><c r="D2"><f/><v> </v></c><c r="E2"><v>abc</v><v>7</v></c></row></sheetData>'
             '<sheetProtection sheet="1"/><mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells><sheetProtection sheet="0"/>'
             '</worksheet>')
    rels = ('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="/xl/sharedStrings.xml"/>'
            '</Relationships>')
    sml = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    types = ('<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             '<Default Extension="xml" ContentType="application/xml"/>'
             '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
             f'<Override PartName="/xl/workbook.xml" ContentType="{sml}.sheet.main+xml"/>'
             f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{sml}.worksheet+xml"/>'
             f'<Override PartName="/xl/sharedStrings.xml" ContentType="{sml}.sharedStrings+xml"/></Types>')
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", types)
        zf.writestr("xl/workbook.xml", workbook)
        zf.writestr("xl/_rels/workbook.xml.rels", rels)
        zf.writestr("xl/sharedStrings.xml", shared)
        zf.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


def _book_view(book) -> tuple:
    return ({t: (s.state, s.protected, {r: (c.value, type(c.value).__name__, c.formula) for r, c in s.cells.items()})
             for t, s in book.sheets.items()}, book.names, book.structure_protected)


def _extra_workbooks() -> list[Path]:
    from extra_cases import extra_corpus

    return [p for p in extra_corpus() if p.suffix in (".xlsx", ".xlsm")]


def test_fast_reader_matches_the_elementtree_reader(tmp_path, batch):
    from helpers import scratch
    from odd_files import CORPUS, LOADS, corpus_dir

    files = [*batch, ROOT / "examples" / "luosong_2023_filled.xlsx", _edge_workbook(tmp_path / "edge.xlsx")]
    own = corpus_dir(scratch("odd-files"))
    files += [own / name for name, odd in CORPUS.items() if odd.expect in (LOADS, "any")]  # the readable ones
    assert _compare_readers(files) == len(files)  # every one read by both, alike
    edge = _book_view(_from_xml(tmp_path / "edge.xlsx"))
    cells = edge[0]["A&B"][2]
    assert cells["B1"][0] == "rich text" and cells["C1"][0] == "<&中" and cells["E1"][0] == "a<b"  # no furigana
    assert cells["C2"][2] == "C1+$B$1" and edge[1] == {"x": "'A&B'!$A$1"} and edge[0]["A&B"][1] is True


@pytest.mark.extra
@pytest.mark.skipif(not _extra_workbooks(), reason="no foreign corpus beside the checkout")
def test_fast_reader_matches_the_elementtree_reader_on_foreign_workbooks():
    assert _compare_readers(_extra_workbooks()) > 0


def _from_xml(path):
    from xltool.read.book import from_xml

    return from_xml(path)


def _compare_readers(files: list[Path]) -> int:
    """How many files both readers read, each with the same result (the others fail in both)."""
    from_xml = _from_xml
    compared = 0
    for path in files:
        try:
            expected = _book_view(_reference_book(path))
        except KeyError as exc:
            if "'xl/workbook.xml'" not in str(exc):
                raise
            from_xml(path)  # the fast reader finds the workbook part through [Content_Types].xml
            continue
        except Exception as exc:  # noqa: BLE001 - then the fast reader must fail too
            with pytest.raises(Exception) as caught:
                from_xml(path)
            assert type(caught.value).__name__ in (type(exc).__name__, "UnreadableWorkbook"), path
            continue
        try:
            got = from_xml(path)
        except UnreadableWorkbook as refused:  # the gate's container checks, which the reference lacks
            assert refused.reason in (Reason.corrupt_zip, Reason.strict_ooxml), (path, refused.reason)
            continue
        assert _book_view(got) == expected, path
        compared += 1
    return compared


# -- compiled expressions ----------------------------------------------------------------------

def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b and type(a) is type(b)


def test_compiled_checks_and_formulas_match_tree_walking():
    from xltool.check.instances import build_checks
    from xltool.check.rule import _sides, _sides_slow, evaluate, evaluate_many
    from xltool.form.expr import compiled
    from xltool.form.scoring import Caps, ExecutionScoring, IndicatorScoring, ScoringConfig
    from xltool.form.selfeval import build_form

    pool = [None, "", " ", "abc", "是", "否", "≥", "≤", "=", "定性", "达成", "部分达成", "无", "基本支出", 0, 0.0, -0.0, 1,
            2.5, -3.25, 100.0, 1e-9, 1e300, True, False, 90, 337.57, date(2024, 1, 1)]
    rng = random.Random(7)
    configs = [ScoringConfig(), ScoringConfig(caps=Caps(enabled=True), indicator=IndicatorScoring(deviation_deduction=2),
                                              execution=ExecutionScoring(method="thresholds"))]
    for cfg in configs:
        form, checks = build_form(2023, cfg), build_checks(2023, cfg)
        for _trial in range(40):
            values = {}
            for f in form.fields:
                r = rng.random()
                values[f.id] = rng.choice(pool) if r < 0.5 else round(rng.uniform(-100, 3000), rng.choice((0, 2, 4))) if r < 0.9 else None
            for check in checks:
                assert _same(_outcome(_sides(check), values), _outcome(lambda v: _sides_slow(check, v), values)), check.key
            for fid, expr in form.formulas.items():
                assert _same(_outcome(compiled(expr), values), _outcome(expr.evaluate, values)), fid
            one_by_one = _outcome(lambda v: _view([evaluate(c, v) for c in checks]), values)
            assert _same(_outcome(lambda v: _view(evaluate_many(checks, v)), values), one_by_one)


def test_a_batch_of_checks_is_compiled_once_then_reused():
    from xltool.check import rule
    from xltool.check.instances import build_checks
    from xltool.form.scoring import ScoringConfig

    checks = build_checks(2023, ScoringConfig())
    values = {"fin_exp": 10.0, "fin_exp_basic": 4.0, "fin_exp_project": 5.0}
    rule._BATCHES.clear()
    expected = _view([rule.evaluate(c, values) for c in checks])
    assert expected, "the values leave at least one finding"
    assert _view(rule.evaluate_many(checks, values)) == expected
    functions = rule._BATCHES[id(checks)][1]
    assert len(functions) == len(checks) and all(f.__name__.startswith("_s") for f in functions)  # compiled
    assert _view(rule.evaluate_many(checks, values)) == expected and rule._BATCHES[id(checks)][1] is functions


def _view(outcomes) -> tuple:
    return tuple((o.check.key, o.rule.code, o.lhs, o.rhs, o.diff) for o in outcomes if o is not None)


def _outcome(fn, values):
    """The result, or the type of the exception raised (both paths must raise alike: e.g.
    excel_round of 2e300 raises decimal.InvalidOperation either way, see the report)."""
    try:
        return fn(values)
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__


# -- per-unit outputs ------------------------------------------------------------------------------

def _list_view(path: Path) -> dict:
    ws = openpyxl.load_workbook(path).active
    return {
        "title": ws.title, "freeze": ws.freeze_panes, "filter": ws.auto_filter.ref, "dims": ws.dimensions,
        "widths": {k: v.width for k, v in ws.column_dimensions.items()},
        "setup": (ws.page_setup.orientation, ws.page_setup.fitToWidth, ws.sheet_properties.pageSetUpPr.fitToPage),
        "pages": (ws.oddHeader.left.text, ws.oddHeader.right.text, ws.oddFooter.center.text, ws.print_title_rows),
        "cells": {c.coordinate: (c.value, c.data_type, c.font.b, c.font.sz, c.fill.fgColor.rgb, c.alignment.wrap_text,
                                 c.alignment.vertical, c.number_format) for row in ws.iter_rows() for c in row},
    }


def test_spliced_issue_list_equals_write_issue_list(tmp_path, batch):
    from xltool.audit.issuelist import write_issue_list_fast
    from xltool.report.xlsx_list import write_issue_list

    reports = [check_path(p)[1] for p in batch]
    reports.append(WorkbookReport(path="x/a.xlsx", unit="单位", year=2023, findings=[Finding(
        code="XT999", severity=Severity.WARNING, message="  lead and trail  ", fix="-1+2",
        cells=[CellRef(sheet="S", cell="B2", label="@l", value="=1+1")], difference=None, attribution=["\tTab", "a\nb"],
        instance="a")]))
    reports.append(WorkbookReport(path="empty.xlsx", unit=None, year=None, findings=[]))
    for report in reports:
        slow = write_issue_list(report, tmp_path / "slow.xlsx")
        fast = write_issue_list_fast(report, tmp_path / "fast.xlsx")
        assert _list_view(fast) == _list_view(slow), report.path
    # Unlike write_issue_list's title (see the report), the unit name never becomes a formula here.
    evil = WorkbookReport(path="e.xlsx", unit="=HYPERLINK(\"http://x\")", year=2023, findings=[])
    ws = openpyxl.load_workbook(write_issue_list_fast(evil, tmp_path / "evil.xlsx")).active
    assert ws["A1"].data_type == "s" and ws["A1"].value.startswith("'=")


def test_package_annotator_marks_like_annotate(tmp_path, batch):
    from xltool.audit.marking import annotate_fast
    from xltool.read.safety import inspect
    from xltool.report.annotate import annotate

    def marks(path: Path) -> dict:
        wb = openpyxl.load_workbook(path)
        return {(ws.title, c.coordinate): (c.fill.fgColor.rgb, c.comment.text if c.comment else None, c.comment.author if c.comment else None,
                                           c.value, c.number_format, c.protection.locked)
                for ws in wb.worksheets for row in ws.iter_rows() for c in row}

    for path in batch[:2] + [ROOT / "examples" / "luosong_2023_filled.xlsx"]:
        _result, report = check_path(path)
        assert report.findings
        before = path.read_bytes()
        fast = annotate_fast(path, report, tmp_path / "fast.xlsx")
        slow = annotate(path, report, tmp_path / "slow.xlsx")
        assert path.read_bytes() == before, "the original is never modified"
        assert marks(fast) == marks(slow), path.name
        inspect(fast)  # still passes the safety gate
        again = check_path(fast)[1]
        assert [f.key for f in again.findings] == [f.key for f in report.findings], "still the unit's workbook"
    with pytest.raises(ValueError):
        annotate_fast(path, report, path)
