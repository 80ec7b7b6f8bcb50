"""The locked template as a file: locking, validation, protection, names, formats, print
setup, metadata and the functions its formulas use. Read back with openpyxl and as raw XML,
independently of the writer's code paths."""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from functools import cache
from pathlib import Path

import openpyxl
import pytest
from defusedxml.ElementTree import fromstring
from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.utils.cell import range_boundaries

from helpers import (  # noqa: F401  (fixtures)
    COMMITTED_TEMPLATE, NS, PASSWORD, YEAR, chinese_beyond, form, sheet_parts, template_path,
)
from xltool.form.model import Kind, Role

WHITELIST = {"SUM", "ROUND", "ABS", "IF", "AND", "OR", "MIN", "MAX", "N", "COUNT", "COUNTIF", "COUNTIFS",
             "IFERROR", "TRIM", "LEN", "ISNUMBER", "FIND", "INDEX", "COUNTA", "ISTEXT", "SUMPRODUCT"}
HELPER_SHEETS = {"_xltool_meta", "_xltool_lists"}
AUDIT = "审核"


@pytest.fixture(scope="module")
def wb(template_path):
    return openpyxl.load_workbook(template_path)


@cache
def reference_hash(password: str, salt_b64: str, spin: int) -> str:
    """ISO/IEC 29500 agile hash over salt + UTF-16LE password, written out here independently."""
    digest = hashlib.sha512(base64.b64decode(salt_b64) + password.encode("utf-16-le")).digest()
    for i in range(spin):
        digest = hashlib.sha512(digest + i.to_bytes(4, "little")).digest()
    return base64.b64encode(digest).decode()


def _title(form, key: str) -> str:
    return form.sheet_title(key)


def _inputs_by_sheet(form) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for f in form.fields:
        if f.role is Role.INPUT:
            out.setdefault(_title(form, f.sheet), {})[f.cell] = f
    return out


def _expand(sqref) -> set[str]:
    out = set()
    for rng in str(sqref).split():
        c1, r1, c2, r2 = range_boundaries(rng)
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                out.add(f"{openpyxl.utils.get_column_letter(c)}{r}")
    return out


# -- locking --------------------------------------------------------------------------------

def test_inputs_unlocked_everything_else_locked(wb, form) -> None:
    inputs = _inputs_by_sheet(form)
    for ws in wb.worksheets:
        expected_unlocked = set(inputs.get(ws.title, {}))
        unlocked = set()
        for row in ws.iter_rows():
            for cell in row:
                if type(cell).__name__ == "MergedCell":
                    continue
                if not cell.protection.locked:
                    unlocked.add(cell.coordinate)
                elif cell.coordinate in expected_unlocked:
                    pytest.fail(f"input {ws.title}!{cell.coordinate} is locked")
                if cell.value is not None and cell.coordinate not in expected_unlocked:
                    assert cell.protection.locked, f"{ws.title}!{cell.coordinate} holds {cell.value!r} but is unlocked"
        if ws.title == AUDIT:
            # Only the empty area the add-in writes its list into may be unlocked there.
            for ref in unlocked:
                assert ws[ref].value is None, ref
                assert re.match(r"[K-P]\d+$", ref), ref
        else:
            assert unlocked == expected_unlocked, (ws.title, sorted(unlocked ^ expected_unlocked)[:10])


def test_config_and_derived_cells_locked_and_filled(wb, form) -> None:
    for f in form.fields:
        cell = wb[_title(form, f.sheet)][f.cell]
        if f.role is Role.DERIVED:
            assert isinstance(cell.value, str) and cell.value.startswith("="), f.id
            assert cell.protection.locked, f.id
        elif f.role is Role.CONFIG:
            assert isinstance(cell.value, (int, float)), f.id
            assert cell.protection.locked, f.id
    weights = [wb[_title(form, f.sheet)][f.cell].value for f in form.fields if f.role is Role.CONFIG]
    assert sum(weights) == 100  # the default weights 10/40/20/10/20


# -- validation -------------------------------------------------------------------------

EXPECTED_TYPE = {Kind.AMOUNT: {"decimal"}, Kind.INTEGER: {"whole"}, Kind.RATE: {"decimal"}, Kind.DATE: {"date"},
                 Kind.CHOICE: {"list"}, Kind.TEXT: {"textLength", "custom"}}


def test_every_input_has_a_validation_within_excel_limits(wb, form) -> None:
    for title, inputs in _inputs_by_sheet(form).items():
        ws = wb[title]
        covered: dict[str, object] = {}
        for dv in ws.data_validations.dataValidation:
            for ref in _expand(dv.sqref):
                assert ref not in covered, f"{title}!{ref} has two validations"
                covered[ref] = dv
            assert dv.showInputMessage, (title, dv.sqref)
            assert dv.showErrorMessage and dv.errorStyle in (None, "stop"), (title, dv.sqref)
            assert dv.promptTitle and len(dv.promptTitle) <= 32, dv.promptTitle
            assert dv.errorTitle is None or len(dv.errorTitle) <= 32, dv.errorTitle
            assert dv.prompt and len(dv.prompt) <= 255, dv.prompt
            assert dv.error and len(dv.error) <= 255, dv.error
            if dv.type == "list" and dv.formula1.startswith('"'):
                assert len(dv.formula1) <= 255, dv.formula1
        for ref, f in inputs.items():
            assert ref in covered, f"input {f.id} at {title}!{ref} has no validation"
            dv = covered[ref]
            if f.kind is Kind.NUMBER:
                assert dv.type in ({"custom"} if f.choices else {"decimal"}), (f.id, dv.type)
            else:
                assert dv.type in EXPECTED_TYPE[f.kind], (f.id, dv.type)
            if f.kind is Kind.CHOICE:
                if dv.formula1.startswith('"'):
                    assert dv.formula1.strip('"').split(",") == list(f.choices), f.id
                else:
                    source = dv.formula1.split("!")[0].strip("'")
                    assert source in wb.sheetnames and wb[source].sheet_state != "visible", f.id
            if f.kind is Kind.AMOUNT and not f.id.endswith("_adjust"):
                assert dv.formula1 == "0", f"{f.id}: amounts are zero or more"


def test_validation_texts_are_chinese(wb, form) -> None:
    """Prompts and errors are meant for unit staff: Chinese, beyond any quoted label or unit."""
    for title, inputs in _inputs_by_sheet(form).items():
        for dv in wb[title].data_validations.dataValidation:
            cells = _expand(dv.sqref) & set(inputs)
            own = set()
            for ref in cells:
                f = inputs[ref]
                own |= {f.hint, f.unit, f.label.split(" ")[-1], *f.choices}
            own = sorted(own, key=len, reverse=True)
            assert chinese_beyond(dv.prompt, *own), f"{title}!{dv.sqref}: prompt not in Chinese: {dv.prompt!r}"
            assert chinese_beyond(dv.error, *own), f"{title}!{dv.sqref}: error not in Chinese: {dv.error!r}"


# -- protection -------------------------------------------------------------------------

def _xml(path: Path, member: str):
    with zipfile.ZipFile(path) as zf:
        return fromstring(zf.read(member))


def test_every_sheet_protected_with_sha512_and_formatting_allowed(template_path) -> None:
    parts = sheet_parts(template_path)
    assert set(parts) >= {"填报说明", "基本情况", "收支情况", "项目绩效", "附件2", "附件3", AUDIT}
    for title, member in parts.items():
        prot = _xml(template_path, member).find("m:sheetProtection", NS)
        assert prot is not None, f"{title} is not protected"
        a = prot.attrib
        assert a.get("sheet") in ("1", "true"), title
        assert a.get("algorithmName") == "SHA-512" and a.get("spinCount") == "100000", title
        assert "password" not in a, f"{title} also carries the legacy 16-bit hash"
        assert a.get("hashValue") == reference_hash(PASSWORD, a["saltValue"], 100000), title
        # OOXML: "1"/absent means the action is blocked, "0" that it is allowed.
        assert a.get("formatCells") in ("0", "false"), f"{title}: formatting cells must stay allowed"
        for blocked in ("insertRows", "insertColumns", "deleteRows", "deleteColumns"):
            assert a.get(blocked, "1") in ("1", "true"), (title, blocked)


def test_workbook_structure_protected(template_path) -> None:
    prot = _xml(template_path, "xl/workbook.xml").find("m:workbookProtection", NS)
    assert prot is not None
    a = prot.attrib
    assert a.get("lockStructure") in ("1", "true")
    assert a.get("workbookAlgorithmName") == "SHA-512"
    assert a.get("workbookHashValue") == reference_hash(PASSWORD, a["workbookSaltValue"], int(a["workbookSpinCount"]))


def test_wrong_password_does_not_match(template_path) -> None:
    a = _xml(template_path, "xl/workbook.xml").find("m:workbookProtection", NS).attrib
    assert a["workbookHashValue"] != reference_hash("xltool2", a["workbookSaltValue"], 100000)


# -- names, formats, print setup ------------------------------------------------------

def test_every_field_is_a_workbook_level_name(template_path, form) -> None:
    names = {}
    for node in _xml(template_path, "xl/workbook.xml").iter("{%s}definedName" % NS["m"]):
        if node.get("localSheetId") is None:
            names[node.get("name")] = node.text
    for f in form.fields:
        col, row = re.fullmatch(r"([A-Z]+)(\d+)", f.cell).groups()
        want = f"'{_title(form, f.sheet)}'!${col}${row}"
        got = names.get(f.id)
        assert got is not None, f"no workbook-level name {f.id}"
        assert got.replace("'", "") == want.replace("'", ""), (f.id, got, want)


def test_number_formats(wb, form) -> None:
    seen = {Kind.AMOUNT: 0, Kind.RATE: 0}
    for f in form.fields:
        cell = wb[_title(form, f.sheet)][f.cell]
        if f.kind is Kind.AMOUNT:
            assert cell.number_format == "#,##0.00", f.id
            seen[Kind.AMOUNT] += 1
        elif f.kind is Kind.RATE:
            assert cell.number_format == "0.00%", f.id
            seen[Kind.RATE] += 1
    assert seen[Kind.AMOUNT] > 100 and seen[Kind.RATE] >= 5


def test_frozen_panes_print_titles_and_a4(wb, form) -> None:
    for sheet in form.sheets:
        ws = wb[sheet.title]
        assert ws.freeze_panes == sheet.freeze, sheet.title
        if sheet.print_title_rows:
            assert (ws.print_title_rows or "").replace("$", "") == sheet.print_title_rows, sheet.title
    for ws in wb.worksheets:
        if ws.sheet_state == "visible":
            assert int(ws.page_setup.paperSize) == 9, f"{ws.title} is not A4"
    assert wb[AUDIT].freeze_panes and (wb[AUDIT].print_title_rows or "")


# -- metadata -------------------------------------------------------------------------

def test_meta_sheet_very_hidden_with_identity(wb, form) -> None:
    from xltool.form.selfeval import TEMPLATE_ID, VERSION
    from xltool.template.meta import FORMAT, seal

    meta = wb["_xltool_meta"]
    assert meta.sheet_state == "veryHidden"
    rows = {r[0]: r[1] for r in meta.iter_rows(values_only=True) if r[0]}
    assert rows["template_id"] == TEMPLATE_ID and rows["version"] == VERSION
    assert str(rows["year"]) == str(YEAR)
    # The format this xltool writes, the pack version and the digest of its declaration; the
    # fingerprint seals every row as stored (a later xltool recomputes it from the sheet alone).
    assert rows["format"] == str(FORMAT) and rows["form"] == form.pack_id and rows["form_version"] == form.pack_version
    assert rows["form_digest"] == form.pack_digest and re.fullmatch(r"[0-9a-f]{64}", rows["form_digest"])
    assert re.fullmatch(r"[0-9a-f]{64}", rows["fingerprint"])
    assert rows["fingerprint"] == seal(rows)
    assert seal({**rows, "year": str(YEAR + 1)}) != rows["fingerprint"]
    for ws in wb.worksheets:
        if ws.title not in HELPER_SHEETS:
            assert ws.sheet_state == "visible", ws.title


# -- formulas ---------------------------------------------------------------------------

def _functions(formula: str) -> set[str]:
    tok = Tokenizer(formula if formula.startswith("=") else "=" + formula)
    return {t.value.rstrip("(").upper().removeprefix("_XLFN.") for t in tok.items
            if t.type == Token.FUNC and t.subtype == Token.OPEN}


def _ranges(formula: str, here: str) -> set[tuple[str, str]]:
    out = set()
    for t in Tokenizer(formula).items:
        if t.type == Token.OPERAND and t.subtype == Token.RANGE:
            sheet, _, ref = t.value.rpartition("!")
            out.add((sheet.strip("'") or here, ref.replace("$", "")))
    return out


def test_tokenizer_sees_functions() -> None:
    assert _functions('=IFERROR(SUM(A1,B2),"")') == {"IFERROR", "SUM"}
    assert _functions("=_xlfn.CONCAT(A1)") == {"CONCAT"}


def test_formulas_use_only_portable_functions(wb) -> None:
    used: set[str] = set()
    count = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    used |= _functions(cell.value)
                    count += 1
        for dv in ws.data_validations.dataValidation:
            if dv.type == "custom":
                used |= _functions(dv.formula1)
        for cf in ws.conditional_formatting:
            for rule in cf.rules:
                for text in rule.formula or ():
                    used |= _functions(text)
    assert count > 400  # derived figures and one row per live check
    assert used <= WHITELIST, sorted(used - WHITELIST)


def test_derived_formulas_read_exactly_their_fields(wb, form) -> None:
    """The cells a derived formula reads are the cells of the fields its expression names."""
    for f in form.fields:
        if f.role is not Role.DERIVED:
            continue
        here = _title(form, f.sheet)
        got = _ranges(wb[here][f.cell].value, here)
        want = {(_title(form, form.field(r).sheet), form.field(r).cell) for r in f.formula.refs()}
        assert got == want, f.id


def test_committed_template_is_current(wb, form) -> None:
    """workbook_templates/ holds the blank template for the example's year; it must not be stale."""
    if not COMMITTED_TEMPLATE.exists():
        pytest.skip("no committed template")
    committed = openpyxl.load_workbook(COMMITTED_TEMPLATE)
    assert committed.sheetnames == wb.sheetnames
    meta = {r[0]: r[1] for r in committed["_xltool_meta"].iter_rows(values_only=True) if r[0]}
    fresh = {r[0]: r[1] for r in wb["_xltool_meta"].iter_rows(values_only=True) if r[0]}
    for key in ("template_id", "version", "year", "scoring", "format", "form", "form_version", "form_digest"):
        assert meta[key] == fresh[key], f"committed template is stale ({key}); regenerate it"
    for ws in wb.worksheets:
        if ws.title in HELPER_SHEETS:
            continue
        old = committed[ws.title]
        for row in ws.iter_rows():
            for cell in row:
                assert old[cell.coordinate].value == cell.value, f"stale: {ws.title}!{cell.coordinate}"
