"""Cases a folder beside the checkout may ADD to the tests; nothing here is ever required.

A fresh clone has nothing beside it and every test passes there. When a folder named
``shared`` lies beside the checkout (or ``XLTOOL_SHARED_DIR`` names one), the tests also use
what it holds: ``corpus/calamine-tests/`` (foreign workbooks, as extra cases of the odd-file
tests) and ``ooxml-schemas/`` (the ISO/IEC 29500 XSDs, as a second schema check). Those
extra cases carry the ``extra`` marker, so ``pytest -m extra`` runs only them.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def extra_dir() -> Path | None:
    named = os.environ.get("XLTOOL_SHARED_DIR")
    if named:
        return Path(named) if Path(named).is_dir() else None
    beside = ROOT.parent / "shared"
    return beside if beside.is_dir() else None


def extra_corpus() -> list[Path]:
    """The foreign workbooks beside the checkout, if any (read in place, never copied)."""
    folder = extra_dir()
    corpus = folder / "corpus" / "calamine-tests" if folder else None
    if corpus is None or not corpus.is_dir():
        return []
    return sorted(p for p in corpus.iterdir() if p.is_file())


def extra_schemas() -> Path | None:
    """The ISO/IEC 29500 Transitional XSDs beside the checkout, if any."""
    if os.environ.get("XLTOOL_OOXML_SCHEMAS"):
        return Path(os.environ["XLTOOL_OOXML_SCHEMAS"])
    folder = extra_dir()
    schemas = folder / "ooxml-schemas" if folder else None
    return schemas if schemas is not None and (schemas / "sml.xsd").is_file() else None
