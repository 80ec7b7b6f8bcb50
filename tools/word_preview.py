#!/usr/bin/env python3
"""Render 附件3 of the report make-report writes for the corrected example, as LibreOffice
prints it, to docs/img/word_fujian3.png (for the README).

    python3 tools/word_preview.py   # needs LibreOffice and poppler (pdftoppm)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def main() -> int:
    from helpers import corrected_file  # the corrected example, built as the tests build it

    from xltool.office import convert
    from xltool.word.writer import make_report

    with tempfile.TemporaryDirectory() as tmp:
        report, _errors = make_report(corrected_file(), Path(tmp) / "report.docx")
        pdf = convert(report, Path(tmp), target="pdf:writer_pdf_Export")
        pages = int(next(line.split()[-1] for line in subprocess.run(
            ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()
            if line.startswith("Pages:")))
        subprocess.run(["pdftoppm", "-f", str(pages), "-l", str(pages), "-r", "110", "-png", "-singlefile",
                        str(pdf), str(Path(tmp) / "fujian3")], check=True)
        out = ROOT / "docs" / "img" / "word_fujian3.png"
        shutil.copyfile(Path(tmp) / "fujian3.png", out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
