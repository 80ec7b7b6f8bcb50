"""The example report text (../shared/seeds/) turned into a Word document, the way a unit's
report looks: paragraphs as paragraphs, tab-separated tables as Word tables.

The text's tables: a line starting with a tab opens a cell of the current row; a blank line
before such a line starts a new row; a line without a tab continues the cell (after one blank
line, as a new paragraph in it); two blank lines end the table.
"""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@cache
def shared_dir() -> Path:
    """../shared beside the repository; from a git worktree, beside its main checkout."""
    if os.environ.get("XLTOOL_SHARED_DIR"):
        return Path(os.environ["XLTOOL_SHARED_DIR"])
    candidate = ROOT.parent / "shared"
    if candidate.is_dir():
        return candidate
    try:
        common = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--path-format=absolute", "--git-common-dir"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return candidate
    return Path(common).parent.parent / "shared" if common else candidate


SEED = shared_dir() / "seeds" / "000_c87edaa7b2f3e21c.txt"


def parse_seed(text: str) -> list[object]:
    """Blocks: a str is a paragraph, a list of rows (lists of cell texts) is a table."""
    text = text.replace("[bookmark: _GoBack]", "")
    lines = text.split("\n")
    blocks: list[object] = []
    table: list[list[str]] | None = None
    blanks = 0
    for line in lines:
        if line.startswith("\t"):
            if table is None:
                table = [[]]
            elif blanks:
                table.append([])
            table[-1].append(line[1:])
            blanks = 0
            continue
        if not line.strip() and table is not None and line == "":
            blanks += 1
            continue
        if table is not None:
            if blanks <= 1 and table[-1]:
                table[-1][-1] += "\n" * blanks + "\n" + line
                blanks = 0
                continue
            blocks.append(table)
            table = None
        blanks = 0
        blocks.append(line)
    if table is not None:
        blocks.append(table)
    return blocks


def seed_docx(out: Path) -> Path:
    import docx

    doc = docx.Document()
    for block in parse_seed(SEED.read_text(encoding="utf-8")):
        if isinstance(block, str):
            doc.add_paragraph(block)
            continue
        width = max(len(r) for r in block)
        table = doc.add_table(rows=len(block), cols=width)
        for r, row in enumerate(block):
            for c, text in enumerate(row):
                table.cell(r, c).text = text
    doc.save(out)
    return out
