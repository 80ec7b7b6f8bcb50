#!/usr/bin/env python3
"""Render the first printed page of 附件2 and of 附件3 of the example workbook, as LibreOffice
prints it (recalculated, so the live marks show), to docs/img/fujian2.png and fujian3.png
(for the README).

    python3 tools/workbook_preview.py   # needs LibreOffice and poppler (pdftotext, pdftoppm)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def first_page_with(pdf: Path, pages: int, title: str) -> int:
    for page in range(1, pages + 1):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout
        if title in text.replace(" ", ""):
            return page
    raise SystemExit(f"no page shows {title!r}")


def main() -> int:
    from xltool.office import convert, recalculate

    with tempfile.TemporaryDirectory() as tmp:
        book = recalculate(ROOT / "examples" / "luosong_2023_filled.xlsx", Path(tmp) / "example.xlsx")
        pdf = convert(book, Path(tmp), target="pdf:calc_pdf_Export")
        pages = int(next(line.split()[-1] for line in subprocess.run(
            ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()
            if line.startswith("Pages:")))
        for name, title in (("fujian2", "整体支出绩效评价基础数据表"), ("fujian3", "整体支出绩效自评表")):
            page = first_page_with(pdf, pages, title)
            subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", "90", "-png", "-singlefile",
                            str(pdf), str(Path(tmp) / name)], check=True)
            out = ROOT / "docs" / "img" / f"{name}.png"
            shutil.copyfile(Path(tmp) / f"{name}.png", out)
            print(out, "page", page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
