"""xltool.office against a real headless LibreOffice (no mocks)."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from xltool import office
from xltool.office import (
    OfficeError,
    convert,
    find_soffice,
    recalculate,
    uno_driver,
    uno_driver_batch,
)

SHEET = "数据"


def stale_workbook(path: Path) -> Path:
    """An xlsx whose formula A3 = A1*A2 = 6 carries the wrong cached result 999.

    openpyxl writes an empty <v/> and fullCalcOnLoad; both are edited away by hand so
    the file looks like one saved by Excel with an outdated result.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws["A1"], ws["A2"], ws["A3"], ws["B3"] = 2, 3, "=A1*A2", "合计"
    plain = path.with_suffix(".plain.xlsx")
    wb.save(plain)
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                # An empty value: <v />, <v/> or <v></v> depending on the openpyxl version and XML writer.
                data, n = re.subn(rb"<f>A1\*A2</f>(?:<v ?/>|<v></v>)", b"<f>A1*A2</f><v>999</v>", data)
                assert n == 1
            elif item.filename == "xl/workbook.xml":
                data = data.replace(b' fullCalcOnLoad="1"', b"")
            zout.writestr(item, data)
    plain.unlink()
    return path


@pytest.fixture
def stale(tmp_path: Path) -> Path:
    path = stale_workbook(tmp_path / "stale.xlsx")
    assert load_workbook(path, data_only=True)[SHEET]["A3"].value == 999
    return path


def test_find_soffice_honours_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "my-soffice"
    fake.write_text("#!/bin/sh\n")
    monkeypatch.setenv("XLTOOL_SOFFICE", str(fake))
    assert find_soffice() != str(fake)  # not executable: ignored
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    assert find_soffice() == str(fake)


def test_missing_soffice_is_a_translated_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "a.xlsx"
    Workbook().save(src)
    monkeypatch.delenv("XLTOOL_SOFFICE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(office, "SOFFICE_CANDIDATES", ())
    monkeypatch.setenv("XLTOOL_LANG", "zh_CN")
    with pytest.raises(OfficeError, match="未找到 LibreOffice"):
        recalculate(src, tmp_path / "b.xlsx")
    monkeypatch.setenv("XLTOOL_LANG", "en")
    with pytest.raises(OfficeError, match="LibreOffice \\(soffice\\) was not found"):
        convert(src, tmp_path)


def test_recalculate_replaces_stale_cached_values(
    soffice: str, stale: Path, tmp_path: Path
) -> None:
    dst = recalculate(stale, tmp_path / "out" / "fixed.xlsx")
    assert dst == tmp_path / "out" / "fixed.xlsx"
    values = load_workbook(dst, data_only=True)[SHEET]
    assert values["A3"].value == 6
    assert values["B3"].value == "合计"
    assert load_workbook(dst)[SHEET]["A3"].value == "=A1*A2"  # formula kept


def test_recalculate_failure_and_timeout(soffice: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a workbook")
    with pytest.raises(OfficeError, match="无法转换"):
        recalculate(bad, tmp_path / "x.xlsx")
    good = tmp_path / "good.xlsx"
    Workbook().save(good)
    with pytest.raises(OfficeError, match="0.01 秒"):
        recalculate(good, tmp_path / "y.xlsx", timeout=0.01)
    with pytest.raises(OfficeError, match="文件不存在"):
        recalculate(tmp_path / "missing.xlsx", tmp_path / "z.xlsx")
    assert not (tmp_path / "x.xlsx").exists() and not (tmp_path / "y.xlsx").exists()


def test_convert_to_pdf_shows_computed_values(
    soffice: str, stale: Path, tmp_path: Path
) -> None:
    pdf = convert(stale, tmp_path / "pdf")
    assert pdf == tmp_path / "pdf" / "stale.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        return
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "合计" in text  # CJK font present
    assert "6" in text.split() and "999" not in text


def test_uno_driver_reads_and_recalculates(
    uno_python: str, stale: Path, tmp_path: Path
) -> None:
    results = uno_driver_batch(
        [
            ["recalc-values", stale, SHEET, "A1:B3"],
            ["cell-info", stale, SHEET, "A3"],
            ["book-info", stale],
            ["cell-info", stale, "no such sheet", "A1"],
        ]
    )
    assert results[0] == {"values": [[2, None], [3, None], [6, "合计"]]}
    assert results[1] == {
        "locked": True,  # Calc's default for every cell
        "hidden": False,
        "sheet_protected": False,
        "value": 6,
        "formula": "=A1*A2",
    }
    assert results[2] == {
        "sheets": [{"name": SHEET, "protected": False}],
        "structure_protected": False,
    }
    assert "error" in results[3]


def test_uno_driver_errors_are_raised(uno_python: str, tmp_path: Path) -> None:
    with pytest.raises(OfficeError, match="no such file"):
        uno_driver("cell-info", tmp_path / "missing.xlsx", "0", "A1")
    # Starting Python alone takes longer than 10 ms, so this always hits the timeout.
    with pytest.raises(OfficeError, match="timed out after 0.01 s"):
        uno_driver("cell-info", tmp_path / "missing.xlsx", "0", "A1", timeout=0.01)
