"""Shared test helpers: the example built ONCE per test session, LibreOffice batches,
independent re-implementations of small facts (CJK detection, verdicts), zip surgery.

Fixtures here are thin wrappers around process-wide caches (``functools.cache``), so a
fixture imported into several test modules (which pytest registers once per module)
still builds the template, the filled example and each LibreOffice run only once.
Import the fixtures you use into the test module: ``from helpers import filled_path``.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from contextlib import contextmanager
from datetime import date
from functools import cache
from pathlib import Path, PurePosixPath

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
EXAMPLE_YAML = EXAMPLES / "luosong_2023.yaml"
CORRECTIONS_YAML = EXAMPLES / "luosong_2023_corrections.yaml"
COMMITTED_FILLED = EXAMPLES / "luosong_2023_filled.xlsx"
COMMITTED_TEMPLATE = ROOT / "workbook_templates" / "selfeval_2023.xlsx"
YEAR = 2023
PASSWORD = "xltool"  # the template's default sheet password

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
_CJK = re.compile(r"[\u4e00-\u9fff]")


# -- a per-session scratch folder --------------------------------------------------------

@cache
def workdir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="xltool-tests-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def scratch(name: str) -> Path:
    """A fresh sub-folder of the session scratch folder."""
    path = workdir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


# -- the example as data ---------------------------------------------------------------------

@cache
def _example_doc() -> dict:
    return yaml.safe_load(EXAMPLE_YAML.read_text(encoding="utf-8"))


def example_values() -> dict[str, object]:
    """The example's input values exactly as the yaml states them (a fresh copy)."""
    return dict(_example_doc()["values"])


def stated_derived() -> dict[str, float]:
    return dict(_example_doc().get("stated_derived") or {})


def corrections() -> dict[str, object]:
    return dict(yaml.safe_load(CORRECTIONS_YAML.read_text(encoding="utf-8"))["values"])


def corrected_values() -> dict[str, object]:
    return {**example_values(), **corrections()}


def typed_inputs(form, values: dict[str, object]) -> dict[str, object]:
    """Inputs as numbers/text the way a cell holds them, plus the bureau's weights.

    Written independently of xltool.template.fill: numbers become float (integers int),
    everything else stays as given. The weights are the published defaults.
    """
    out: dict[str, object] = {
        "guide_w_execution": 10.0, "guide_w_output": 40.0, "guide_w_benefit": 20.0,
        "guide_w_satisfaction": 10.0, "guide_w_cost": 20.0,
    }
    for fid, value in values.items():
        field = form.field(fid)
        if value is None or value == "":
            out[fid] = None
        elif field.kind.value == "integer":
            out[fid] = int(value)
        elif field.numeric and isinstance(value, (int, float)) and not isinstance(value, bool):
            out[fid] = float(value)
        else:
            out[fid] = value
    return out


def model_values(form, values: dict[str, object]) -> dict[str, object]:
    """Typed inputs plus every derived figure as the form model computes it in Python."""
    from xltool.form.expr import evaluate_all

    inputs = typed_inputs(form, values)
    return {**inputs, **evaluate_all(form.formulas, inputs)}


# -- files built once per session -------------------------------------------------------

@contextmanager
def chinese():
    """Messages in zh_CN (the default) whatever the environment says, for cached reports."""
    old = os.environ.get("XLTOOL_LANG")
    os.environ["XLTOOL_LANG"] = "zh_CN"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("XLTOOL_LANG", None)
        else:
            os.environ["XLTOOL_LANG"] = old



@cache
def form_2023():
    from xltool.form.selfeval import build_form

    return build_form(YEAR)


# Built once per session and shared by the xdist workers (tests/session_files.py); never changed.
@cache
def template_file() -> Path:
    from session_files import shared_file

    from xltool.template.writer import write_template

    def build(out: Path) -> None:
        with chinese():  # prompts and labels in the default language
            write_template(out, YEAR)

    return shared_file("template/template_2023.xlsx", build)


@cache
def filled_file() -> Path:
    from session_files import shared_file

    from xltool.template.fill import fill_workbook

    return shared_file("filled/luosong_2023_filled.xlsx",
                       lambda out: fill_workbook(template_file(), example_values(), out))


@cache
def corrected_file() -> Path:
    from session_files import shared_file

    from xltool.template.fill import fill_workbook

    return shared_file("filled/luosong_2023_corrected.xlsx",
                       lambda out: fill_workbook(template_file(), corrected_values(), out))


@cache
def lo_example_file() -> Path:
    """The filled example after xltool.office.recalculate (forced recalculation)."""
    from session_files import shared_file

    from xltool.office import recalculate
    from xltool.atomic import write_atomic

    return shared_file("lo/luosong_2023_recalculated.xlsx",
                       lambda out: write_atomic(out, lambda tmp: recalculate(filled_file(), tmp)))


@cache
def example_report():
    from xltool.check.checker import check_path

    with chinese():
        return check_path(filled_file())


@cache
def corrected_report():
    from xltool.check.checker import check_path

    with chinese():
        return check_path(corrected_file())


@pytest.fixture(autouse=True)
def zh_locale(monkeypatch):
    """Import into a module to run its tests with Chinese messages, whatever the environment."""
    monkeypatch.setenv("XLTOOL_LANG", "zh_CN")


@pytest.fixture(scope="session")
def form():
    return form_2023()


@pytest.fixture(scope="session")
def template_path() -> Path:
    return template_file()


@pytest.fixture(scope="session")
def filled_path() -> Path:
    return filled_file()


@pytest.fixture(scope="session")
def corrected_path() -> Path:
    return corrected_file()


@pytest.fixture(scope="session")
def lo_example(soffice: str) -> Path:
    return lo_example_file()


# -- LibreOffice in batches --------------------------------------------------------------

_PROFILE_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>{mode}</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseLocking" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""


def lo_convert_many(sources: list[Path], outdir: Path, *, recalc: bool, timeout: float = 240) -> list[Path]:
    """Save every source as xlsx through ONE headless soffice start.

    ``recalc=True`` forces recalculation on load (OOXMLRecalcMode 0, as xltool.office does);
    ``recalc=False`` sets "never recalculate" (1): cached results stay as they are, the way a
    user's LibreOffice with default settings saves a workbook it did not need to recompute.
    Sources must have distinct file names (the output keeps the stem).
    """
    from xltool.office import find_soffice

    soffice = find_soffice()
    assert soffice, "LibreOffice is required here (use the soffice fixture)"
    stems = [Path(s).stem for s in sources]
    assert len(set(stems)) == len(stems), "sources need distinct names"
    work = Path(tempfile.mkdtemp(prefix="xltool-lo-", dir=workdir()))
    (work / "profile" / "user").mkdir(parents=True)
    (work / "profile" / "user" / "registrymodifications.xcu").write_text(
        _PROFILE_XCU.format(mode=0 if recalc else 1), encoding="utf-8")
    outdir.mkdir(parents=True, exist_ok=True)
    cmd = [soffice, "-env:UserInstallation=" + (work / "profile").as_uri(), "--headless", "--invisible",
           "--nologo", "--nodefault", "--norestore", "--nolockcheck",
           "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(outdir),
           *[str(Path(s).resolve()) for s in sources]]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=dict(os.environ, HOME=str(work)),
                          start_new_session=True)
    out = [outdir / f"{stem}.xlsx" for stem in stems]
    missing = [p.name for p in out if not p.is_file()]
    assert not missing, f"LibreOffice did not write {missing}: {done.stderr[-2000:]}"
    shutil.rmtree(work, ignore_errors=True)
    return out


# -- zip / sheet XML surgery ---------------------------------------------------------------

def sheet_parts(path: Path) -> dict[str, str]:
    """Sheet title → zip member of its worksheet XML."""
    from defusedxml.ElementTree import fromstring

    with zipfile.ZipFile(path) as zf:
        wb = fromstring(zf.read("xl/workbook.xml"))
        rels = fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels}
    out = {}
    rid = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    for sheet in wb.iter("{%s}sheet" % NS["m"]):
        target = targets[sheet.get(rid)]
        out[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
    return out


def rewrite_zip(src: Path, dst: Path, edit: dict[str, callable]) -> Path:
    """Copy *src* to *dst*, passing the named members' bytes through the edit functions."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename in edit:
                data = edit[item.filename](data)
            zout.writestr(item, data)
    return dst


def set_cached_value(xml: bytes, cell: str, value: str | None) -> bytes:
    """Replace the <v> of *cell* (keeping its formula, if any) in a worksheet XML part.

    ``None`` empties the cell's value (an input cell then reads as blank).
    """
    pattern = re.compile(rb'(<c r="' + cell.encode() + rb'"[^>]*?)(/>|>(.*?)</c>)', re.S)
    m = pattern.search(xml)
    assert m, f"cell {cell} not in the sheet XML"
    head, body = m.group(1), m.group(3) or b""
    head = re.sub(rb'\st="[^"]*"', b"", head)  # a number now
    new = b"" if value is None else b"<v>" + value.encode() + b"</v>"
    body = re.sub(rb"<is>.*?</is>", b"", body, flags=re.S)
    if re.search(rb"<v>.*?</v>|<v\s*/>", body, re.S):
        body = re.sub(rb"<v>.*?</v>|<v\s*/>", new, body, count=1, flags=re.S)
    else:
        body = body + new
    return xml[: m.start()] + head + b">" + body + b"</c>" + xml[m.end():]


def set_inline_text(xml: bytes, cell: str, text: str) -> bytes:
    """Make *cell* hold *text* as an inline string (the way pasted text lands), keeping its style."""
    from xml.sax.saxutils import escape

    pattern = re.compile(rb'<c r="' + cell.encode() + rb'"([^>]*?)(/>|>.*?</c>)', re.S)
    m = pattern.search(xml)
    assert m, f"cell {cell} not in the sheet XML"
    attrs = re.sub(rb'\st="[^"]*"', b"", m.group(1))
    new = (b'<c r="' + cell.encode() + b'"' + attrs + b' t="inlineStr"><is><t xml:space="preserve">'
           + escape(text).encode() + b"</t></is></c>")
    return xml[: m.start()] + new + xml[m.end():]


def edit_inputs(src: Path, dst: Path, form, change: dict[str, object]) -> Path:
    """Copy *src* with input cells changed in the sheet XML: numbers, texts or None (blank)."""
    parts = sheet_parts(src)
    edits: dict[str, callable] = {}
    for fid, new in change.items():
        f = form.field(fid)
        member = parts[form.sheet_title(f.sheet)]
        previous = edits.get(member, lambda data: data)
        if isinstance(new, date):  # stored as its serial number, as spreadsheets do
            new = float((new - date(1899, 12, 30)).days)
        if isinstance(new, str):
            step = lambda data, c=f.cell, t=new: set_inline_text(data, c, t)  # noqa: E731
        else:
            text = None if new is None else repr(float(new))
            step = lambda data, c=f.cell, t=text: set_cached_value(data, c, t)  # noqa: E731
        edits[member] = lambda data, step=step, previous=previous: step(previous(data))
    return rewrite_zip(src, dst, edits)


# -- small independent facts -------------------------------------------------------------

def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text or ""))


def chinese_beyond(text: str, *own: str) -> bool:
    """Whether *text* still holds Chinese once ids, labels and values it quotes are removed."""
    for part in own:
        if part:
            text = text.replace(part, "")
    return has_cjk(text)


PASS, ROUNDING, FAIL, NA = "通过", "尾差", "不通过", "不适用"


def python_verdict(check, values) -> str:
    """The verdict the 审核 sheet should show, from the Python side of a Check.

    ``evaluate`` returns None both when a check passes and when it cannot be evaluated;
    the sheet shows 不适用 for the latter (IFERROR) and for checks that do not apply.
    """
    from xltool.check.rule import evaluate

    if check.applies is not None and not check.applies.evaluate(values):
        return NA
    if check.lhs.evaluate(values) is None or check.rhs.evaluate(values) is None:
        return NA
    outcome = evaluate(check, values)
    if outcome is None:
        return PASS
    return ROUNDING if outcome.rule.code == "XT202" and outcome.rule is not check.rule else FAIL


def live_checks(year: int = YEAR):
    from xltool.check.instances import build_checks

    return [c for c in build_checks(year) if c.rule.live]


def cell_refs(finding) -> set[str]:
    return {f"{c.sheet}!{c.cell}" for c in finding.cells}


def finding_fields(finding) -> set[str]:
    return {c.field_id for c in finding.cells if c.field_id}


def close(a: float, b: float, tol: float = 1e-9) -> bool:
    return abs(float(a) - float(b)) <= tol * max(1.0, abs(float(a)), abs(float(b)))
