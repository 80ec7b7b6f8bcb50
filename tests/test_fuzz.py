"""Issue 14: a seeded fuzz run over structured mutants of filled workbooks (tests/fuzz_mutants.py).

Every mutant ends in exit code 0, 1 or 2 with no traceback, and every mutant touching a locked
part is refused or gets a finding the untouched workbook does not have. Families whose
detection is issue 15's are listed in fuzz_mutants.EXPECTED_BY_ISSUE_15 and counted apart.
XLTOOL_FUZZ_SEED picks another seed (the default keeps CI reproducible); XLTOOL_FUZZ_COUNT
another number of mutants per base workbook."""

from __future__ import annotations

import os

import pytest

import fuzz_mutants
from helpers import COMMITTED_FILLED, corrected_file, lo_example, zh_locale  # noqa: F401 (fixtures)

SEED = int(os.environ.get("XLTOOL_FUZZ_SEED", "14"))
COUNT = int(os.environ.get("XLTOOL_FUZZ_COUNT", "150"))
BASES = {"filled": 0, "corrected": 1, "libreoffice": 2}  # seed offsets


@pytest.mark.parametrize("base", sorted(BASES))
def test_mutants_end_in_0_1_or_2_and_locked_parts_are_never_accepted(base, tmp_path, capsys, request) -> None:
    # The example as openpyxl wrote it (inline strings, must-fix findings), corrected (a clean
    # workbook), and saved by LibreOffice (shared strings, cached results, its own XML style).
    if base == "libreoffice":
        path = request.getfixturevalue("lo_example")
    else:
        path = COMMITTED_FILLED if base == "filled" else corrected_file()
    figures = fuzz_mutants.run(path, COUNT, SEED + BASES[base], workdir=tmp_path)
    with capsys.disabled():
        print(f"\n[fuzz {base}] " + fuzz_mutants.summary(figures))
    assert figures["mutants"] == COUNT
    assert set(figures["exit_codes"]) <= {"0", "1", "2"}, figures["exit_codes"]
    assert not figures["tracebacks"], fuzz_mutants.summary(figures)
    assert not figures["accepted"], fuzz_mutants.summary(figures)
    assert figures["locked"] >= COUNT // 3  # the run does exercise the locked parts
    if base == "corrected":
        assert "0" in figures["exit_codes"]  # harmless value edits of a clean workbook stay clean


def test_the_mutants_are_reproducible() -> None:
    base = fuzz_mutants.Base(COMMITTED_FILLED)
    first = [(m.family, m.what) for m in fuzz_mutants.mutants(base, 50, SEED)]
    again = [(m.family, m.what) for m in fuzz_mutants.mutants(base, 50, SEED)]
    assert first == again and len({f for f, _ in first}) >= 10


def test_issue_15_families_are_real_families() -> None:
    assert set(fuzz_mutants.EXPECTED_BY_ISSUE_15) <= set(fuzz_mutants.FAMILIES)
