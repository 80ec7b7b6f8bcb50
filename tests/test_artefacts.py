"""The shipped template and example workbook are regenerated when the form changes.

Regenerate both with:
    xltool make-template --year 2023 -o workbook_templates/selfeval_2023.xlsx
    xltool fill workbook_templates/selfeval_2023.xlsx examples/luosong_2023.yaml -o examples/luosong_2023_filled.xlsx
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xltool.form.selfeval import VERSION, build_form
from xltool.read.book import from_xml
from xltool.read.reader import read_book, read_identity
from xltool.template.fill import load_data, validate
from xltool.template.meta import FORMAT

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "workbook_templates/selfeval_2023.xlsx"
FILLED = ROOT / "examples/luosong_2023_filled.xlsx"
REGEN = "xltool make-template --year 2023 -o workbook_templates/selfeval_2023.xlsx"


@pytest.mark.parametrize("path", [TEMPLATE, FILLED], ids=["template", "example"])
def test_shipped_workbook_matches_the_current_form(path):
    from xltool.form.registry import get_pack

    meta, origin = read_identity(from_xml(path))
    assert meta.version == VERSION and origin.status == "genuine"
    # Written in this xltool's format from the newest default pack (the cells themselves are
    # compared by test_template.py::test_committed_template_is_current).
    assert origin.format == FORMAT and meta.form_digest == get_pack().digest, f"stale: regenerate with `{REGEN}` (see this file)"


def test_shipped_example_holds_the_yaml_figures():
    form = build_form(2023)
    expected = validate(form, load_data(ROOT / "examples/luosong_2023.yaml"))
    result = read_book(from_xml(FILLED))
    got = {fid: result.values.get(fid) for fid in expected}
    assert got == expected


def test_rules_doc_is_current(monkeypatch):
    """docs/rules.md is `xltool rules --format markdown` (regenerate it when a rule changes)."""
    from xltool.check.docs import rule_docs
    from xltool.i18n import translations

    monkeypatch.setenv("XLTOOL_LANG", "zh_CN")
    translations.cache_clear()
    assert rule_docs() in (ROOT / "docs/rules.md").read_text(encoding="utf-8")
