"""Issue 10: the live marks. Conditional formats reach the 审核 sheet only through defined names
(Excel 2007 refuses a rule naming another sheet); LibreOffice still shows them (rendered to
PDF and rasterised by poppler); a blank template shows no red or amber before anything is
typed; the 审核 sheet's two counters agree with check-workbook (LibreOffice recalculation)."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from helpers import (  # noqa: F401  (fixtures)
    NS, corrected_path, filled_path, in_ci, lo_convert_many, rewrite_zip, scratch, sheet_parts, template_path,
)
from conftest import _unavailable
from xltool.check.checker import check_path
from xltool.template.audit_sheet import RESULTS_NAME, STARTED_NAME

from xltool.template import styles  # noqa: E402

FAIL_RGB, WARN_RGB = (tuple(bytes.fromhex(styles.FAIL_RGB[-6:])), tuple(bytes.fromhex(styles.WARN_RGB[-6:])))
FORM_SHEETS = ("基本情况", "收支情况", "项目绩效", "附件2", "附件3", "审核")


def test_conditional_formats_name_no_other_sheet(template_path) -> None:  # noqa: F811
    parts = sheet_parts(template_path)
    rules = 0
    with zipfile.ZipFile(template_path) as zf:
        workbook = zf.read("xl/workbook.xml").decode()
        for title, part in parts.items():
            xml = zf.read(part).decode()
            for formula in re.findall(r"<cfRule\b.*?<formula>(.*?)</formula>", xml, re.S):
                rules += 1
                assert "!" not in formula, f"{title}: {formula[:80]}"
    assert rules > 700
    for name in (RESULTS_NAME, STARTED_NAME):
        target = re.search(rf'<definedName name="{name}">(.*?)</definedName>', workbook)
        assert target and target.group(1).startswith("'审核'!"), name


def _only(src: Path, dst: Path, titles: tuple[str, ...]) -> Path:
    """A copy showing only *titles* (the others hidden, the first shown active): LibreOffice prints those."""
    order: list[str] = []

    def edit(data: bytes) -> bytes:
        def tag(m: re.Match) -> bytes:
            t = re.sub(rb'\sstate="[^"]*"', b"", m.group(0))
            name = re.search(rb'name="([^"]*)"', t).group(1).decode()
            order.append(name)
            return t if name in titles else t.replace(b"<sheet ", b'<sheet state="hidden" ', 1)
        data = re.sub(rb"<sheet\b[^>]*>", tag, data)
        first = next(i for i, n in enumerate(order) if n in titles)
        data = re.sub(rb'\sfirstSheet="\d+"', b"", data)
        return re.sub(rb'activeTab="\d+"', b'activeTab="%d"' % first, data)
    return rewrite_zip(src, dst, {"xl/workbook.xml": edit})


def _colours(pdf: Path) -> Counter:
    """Pixels of each colour over all pages (poppler at 30 dpi)."""
    out = subprocess.run(["pdftoppm", "-r", "30", str(pdf)], capture_output=True, check=True, timeout=300).stdout
    total: Counter = Counter()
    while out:
        m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", out)
        assert m, "pdftoppm wrote no PPM"
        w, h = int(m[1]), int(m[2])
        data = out[m.end():m.end() + w * h * 3]
        out = out[m.end() + w * h * 3:]
        total.update(zip(data[0::3], data[1::3], data[2::3]))
    return total


@pytest.fixture(scope="module")
def rendered(soffice, template_path, filled_path) -> dict[str, Counter]:  # noqa: F811
    from xltool.office import convert

    if shutil.which("pdftoppm") is None:
        _unavailable("poppler (pdftoppm)")
    folder = scratch("live-marks")
    out = {}
    for name, src in (("blank", template_path), ("filled", filled_path)):
        shown = _only(src, folder / f"{name}.xlsx", FORM_SHEETS)
        out[name] = _colours(convert(shown, folder / "pdf", "pdf", timeout=240))
    return out


def test_a_blank_template_shows_nothing_red_or_amber(rendered) -> None:
    assert rendered["blank"][FAIL_RGB] == 0 and rendered["blank"][WARN_RGB] == 0


def test_libreoffice_shows_the_marks_once_something_is_typed(rendered) -> None:
    # Red input cells and red 不通过 results; amber for the 需要说明 findings and the rounding row.
    assert rendered["filled"][FAIL_RGB] > 500 and rendered["filled"][WARN_RGB] > 100


def _counters(path: Path) -> tuple[int, int]:
    ws = openpyxl.load_workbook(path, data_only=True)["审核"]
    return ws["D2"].value, ws["D3"].value


def test_live_counters_agree_with_check_workbook(soffice, filled_path, corrected_path,  # noqa: F811
                                                template_path) -> None:  # noqa: F811
    books = (filled_path, corrected_path, template_path)
    recalculated = lo_convert_many(list(books), scratch("live-counters"), recalc=True)
    for original, lo in zip(books, recalculated):
        _result, report = check_path(original)
        errors = sum(f.severity.value == "error" for f in report.findings)
        warnings = sum(f.severity.value == "warning" for f in report.findings)
        assert _counters(lo) == (errors, warnings), original.name
    assert _counters(recalculated[0]) == (5, 8)  # the README's example
