"""The fast reader reads every valid variant of a workbook as openpyxl and LibreOffice do
(differential test), and every change to a locked part is a must-fix finding (tamper list).

Variants and mutants live in ``variants.py`` as data; the figures printed at the end of
each group are the ones the README's reliability table quotes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import variants as V
from helpers import filled_file, filled_path, form, lo_convert_many, scratch  # noqa: F401
from helpers import zh_locale  # noqa: F401 - autouse
from xltool.check.checker import check_path
from xltool.check.finding import Severity
from xltool.read.book import SheetData, parse_raw
from xltool.read.reader import read_path
from xltool.read.safety import Reason, UnreadableWorkbook


def _plain(raw: dict[str, object]) -> dict[str, object]:
    """Raw input values compared across readers: numbers as floats, an empty string as empty."""
    out = {}
    for key, value in raw.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = float(value)
        out[key] = None if value == "" else value
    return out


def _codes(report) -> list[tuple[str, str]]:
    return sorted((f.code, f.instance or "") for f in report.findings)


@pytest.fixture(scope="module")
def corpus() -> dict[str, Path]:
    """Every variant of the filled example, written once."""
    parts = V.read_parts(filled_file())
    folder = scratch("variants")
    return {name: V.write_parts(make(parts), folder / f"{name}.xlsx") for name, make in V.VARIANTS.items()}


@pytest.fixture(scope="module")
def baseline():
    result, report = check_path(filled_file())
    return _plain(result.raw), _codes(report)


@pytest.mark.parametrize("name", list(V.VARIANTS))
def test_variant_reads_as_the_original(name, corpus, baseline) -> None:
    raw, codes = baseline
    fast, fast_report = check_path(corpus[name])
    reference = read_path(corpus[name], backend="openpyxl")
    assert _plain(fast.raw) == raw, f"fast reader misreads {name}"
    assert _plain(reference.raw) == raw, f"openpyxl misreads {name}"
    assert _codes(fast_report) == codes, f"{name}: findings differ from the original's"
    assert fast.values == check_path(filled_file())[0].values


def test_libreoffice_reads_the_variants_as_the_fast_reader_does(corpus, baseline, soffice, capsys) -> None:
    """LibreOffice loads each variant and saves it again (one soffice start, no recalculation):
    the values it read are the values the fast reader read from the variant."""
    raw, _codes_ = baseline
    names = list(corpus)
    saved = lo_convert_many([corpus[n] for n in names], scratch("variants_lo"), recalc=False)
    disagree = []
    for name, path in zip(names, saved):
        lo = read_path(path)
        if _plain(lo.raw) != raw or _plain(read_path(corpus[name]).raw) != _plain(lo.raw):
            disagree.append(name)
        # LibreOffice keeps merges, protection, validation and the 审核 formulas: no integrity
        # finding beyond XT008 (it drops structure protection, a documented LibreOffice habit).
        assert {f.code for f in lo.findings} <= {"XT008"}, (name, [f.message for f in lo.findings])
    assert disagree == []
    with capsys.disabled():
        print(f"\n[reliability] differential: {len(names)} variants x 3 readers (fast, openpyxl, LibreOffice), "
              f"{len(disagree)} disagreements")


def test_the_old_misreadings_are_covered(corpus) -> None:
    """The variants hold what the fast reader once got wrong: phonetic runs, implicit positions."""
    parts = V.read_parts(corpus["excel_phonetic_runs"])
    assert b"<rPh" in parts["xl/sharedStrings.xml"]
    parts = V.read_parts(corpus["implicit_row_positions"])
    sheet = parts[V.sheet_of(parts, "附件3")]
    assert re.search(rb"<row(?![^>]*\sr=)[^>]*>", sheet), "rows without r"
    assert re.search(rb"<c(?![^>]*\sr=)[\s>/]", sheet), "cells without r"


# -- the reader's handling, on small sheets -------------------------------------------------------

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _sheet(body: str) -> SheetData:
    raw = f"<worksheet {NS}><sheetData>{body}</sheetData></worksheet>".encode()
    return parse_raw(SheetData(title="t", raw=raw), ["甲", "乙"])


def test_implicit_positions_follow_the_previous_cell_and_row() -> None:
    sheet = _sheet('<row r="2"><c r="C2"><v>1</v></c><c><v>2</v></c></row>'
                   '<row><c><v>3</v></c><c r="E3"><v>4</v></c><c t="s"><v>1</v></c></row>')
    assert {ref: c.value for ref, c in sheet.cells.items()} == {"C2": 1, "D2": 2, "A3": 3, "E3": 4, "F3": "乙"}


def test_phonetic_runs_are_not_part_of_an_inline_string() -> None:
    sheet = _sheet('<row r="1"><c r="A1" t="inlineStr"><is><r><t>单位</t></r><r><t>名称</t></r>'
                   '<rPh sb="0" eb="2"><t>たんい</t></rPh></is></c></row>')
    assert sheet.get("A1").value == "单位名称"


# -- tampering with locked parts ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def tampered() -> dict[str, Path]:
    parts = V.read_parts(filled_file())
    folder = scratch("tamper")
    return {name: V.write_parts(make(parts), folder / f"{name}.xlsx") for name, make, _codes in V.TAMPER}


def _outcome(path: Path) -> set[str]:
    try:
        result = read_path(path)
    except UnreadableWorkbook as exc:
        assert exc.message and "Traceback" not in exc.message
        return {"unreadable"}
    return {f.code for f in result.findings if f.severity is Severity.ERROR}


@pytest.mark.parametrize("name,expected", [(n, c) for n, _m, c in V.TAMPER])
def test_tampering_is_a_must_fix_finding(name, expected, tampered) -> None:
    assert _outcome(tampered[name]) & expected, f"{name} accepted silently"


def test_no_tampering_accepted(tampered, capsys) -> None:
    accepted = [name for name, _m, expected in V.TAMPER if not _outcome(tampered[name]) & expected]
    with capsys.disabled():
        print(f"\n[reliability] tampering: {len(V.TAMPER)} mutants of locked parts, {len(accepted)} accepted")
    assert accepted == []


def test_missing_content_types_is_a_clear_refusal(tampered) -> None:
    with pytest.raises(UnreadableWorkbook) as info:
        read_path(tampered["no_content_types"])
    assert info.value.reason is Reason.corrupt_zip
    assert "[Content_Types].xml" in info.value.message and "Excel" in info.value.message


def test_findings_name_the_cells(tampered, form) -> None:
    result = read_path(tampered["merge_over_inputs"])
    merge = next(f for f in result.findings if f.code == "XT030")
    under = {f.id for f in form.fields if form.sheet_title(f.sheet) == "附件3" and f.cell in ("C5", "D5", "E5")}
    assert len(under) == 3 and {c.field_id for c in merge.cells} == under
    assert "C5:E5" in merge.message
    result = read_path(tampered["audit_result_typed_over"])
    audit = next(f for f in result.findings if f.code == "XT031")
    assert "I21" in audit.message and "审核" in audit.message
    result = read_path(tampered["derived_cell_unlocked"])
    unlocked = next(f for f in result.findings if f.code == "XT032")
    assert "G5" in unlocked.message
    result = read_path(tampered["validation_removed_one"])
    dv = [f for f in result.findings if f.code == "XT033"]
    assert len(dv) == 1 and "C5" in dv[0].message


def test_the_untouched_example_has_no_integrity_finding() -> None:
    assert [f.code for f in read_path(filled_file()).findings] == []


def test_validation_types_are_the_template_writers(form) -> None:
    """The reader's expected validation types (no openpyxl) are those the writer gives."""
    from xltool.template.validation import _rule
    from xltool.template.validation_types import validation_type

    inputs = [f for f in form.fields if f.is_input]
    assert inputs and all(_rule(f, f.cell, lambda c: "'_xltool_lists'!$A$1:$A$2").type == validation_type(f)
                          for f in inputs)


def test_a_template_of_another_build_is_xt006_not_xt021(form) -> None:
    """The 审核 sheet lists every live check of the build that made the template; a workbook from
    another build (another fingerprint) is reported as such, not as an altered 审核 sheet."""
    parts = V.read_parts(filled_file())
    meta = V.sheet_of(parts, "_xltool_meta")
    mine = read_path(filled_file()).meta.fingerprint.encode()
    assert mine in parts[meta]
    other = dict(parts, **{meta: parts[meta].replace(mine, b"0" * len(mine))})
    other = V._sheet_edit("审核", V._audit_value(b"I21", "通过".encode()))(other)
    path = V.write_parts(other, scratch("other_build") / "other.xlsx")
    codes = {f.code for f in read_path(path).findings}
    # Another fingerprint: XT020 (identification sheet altered, since issue 14) or XT006 for an older version.
    assert codes & {"XT006", "XT020"} and "XT031" not in codes
