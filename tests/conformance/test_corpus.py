"""Every case of the conformance corpus, real and derived, through the workbook path and the
Word path. A missed expected finding, a false 必须修改 on a published figure, or a finding the
case forbids fails the build: the corpus is strict, with no case excused."""

from __future__ import annotations

import pytest
from conformance.corpus import PATHS, load_cases, record, run_case
from helpers import chinese, scratch

from xltool.check.catalogue import RULES

CASES = load_cases()
RUNS = [(c, p) for c in CASES for p in PATHS if p == "workbook" or c.word]



@pytest.mark.parametrize(("case", "path"), RUNS, ids=[f"{c.id}-{p}" for c, p in RUNS])
def test_case(case, path):
    with chinese():
        outcome = run_case(case, path, scratch(f"conformance_{path}"))
    record(outcome)
    assert not outcome.failed, "\n" + outcome.describe()


def test_the_corpus_is_the_size_the_issue_asks_for():
    real = [c for c in CASES if c.real]
    assert len(real) >= 12
    assert sum(c.kind == "project" for c in real) >= 8
    assert len({c.source for c in real}) >= 11  # one page may hold two tables
    # Every real case has derived variants around it.
    derived_from = {c.derived_from for c in CASES if not c.real}
    assert {c.id for c in real} <= derived_from, {c.id for c in real} - derived_from


def test_every_code_a_case_names_exists():
    known = set(RULES)
    named = {e.code for c in CASES for e in c.expect} | {m.code for c in CASES for m in c.must_not}
    assert named <= known, named - known


def test_derived_variants_say_what_they_change():
    for c in CASES:
        if not c.real:
            assert c.source is None and "derived" in c.layout.lower(), c.id


def test_a_regions_layout_is_read_in_its_packs_own_words():
    """The Sichuan table opens with its goals and words its columns 年初预算 / 调整后预算数 / 权重 /
    指标性质: the Word reader places every figure by the pack's words, none is left unplaced."""
    from conformance.corpus import docx, packs_registered

    from xltool.word.check import check_document

    case = next(c for c in CASES if c.id == "sichuan-qingshen-evaluated")
    with packs_registered(), chinese():
        ext, _values, report = check_document(docx(case, scratch("conformance_word")), form=case.pack)
    assert report.unplaced == []
    got = {k: ext.values.get(k) for k in ("eval_budget_initial", "eval_budget_full", "eval_exec", "eval_exec_score",
                                          "eval_src_fiscal_full", "eval_output_qty_1_weight",
                                          "eval_output_qty_1_dir", "eval_benefit_social_1_score")}
    assert got == {"eval_budget_initial": 238.93, "eval_budget_full": 251.89, "eval_exec": 251.89, "eval_exec_score": 10.0,
                   "eval_src_fiscal_full": 251.89, "eval_output_qty_1_weight": 60.0, "eval_output_qty_1_dir": "=",
                   "eval_benefit_social_1_score": 30.0}
    assert ext.values["eval_goal_expected"].startswith("严格执行相关政策")
    assert ext.stated.get("eval_total_weight") == 100.0


def test_the_commands_give_what_the_runner_gives():
    """The runner calls what the commands call: `xltool check-workbook` and `xltool check-report`
    on one case's files report the same findings (code and cited fields) as the runner's run."""
    import json
    import os
    import subprocess
    import sys

    from conformance.corpus import PACKS_DIR, check_word, check_workbook, packs_registered

    case = next(c for c in CASES if c.id == "guichi-tangxi-weituo-2022")
    folder = scratch("conformance_cli")
    with packs_registered(), chinese():
        book_findings, _ = check_workbook(case, folder)
        word_findings, _ = check_word(case, folder)
    env = {**os.environ, "XLTOOL_LANG": "zh_CN", "XLTOOL_FORMS_DIR": str(PACKS_DIR)}

    def cli(*args):
        done = subprocess.run([sys.executable, "-m", "xltool", *args, "--format", "json"], capture_output=True,
                              text=True, env=env, timeout=120)
        assert done.returncode == 1, done.stderr  # 必须修改 findings: exit code 1
        return json.loads(done.stdout)["workbooks"][0]["findings"]

    def keys(findings):
        return sorted((f["code"], tuple(sorted(c["field_id"] or "" for c in f["cells"]))) for f in findings)

    as_dicts = lambda fs: [f.to_dict() for f in fs]  # noqa: E731
    assert keys(cli("check-workbook", str(folder / f"{case.id}.xlsx"))) == keys(as_dicts(book_findings))
    assert keys(cli("check-report", str(folder / f"{case.id}.docx"), "--form", case.pack)) == keys(as_dicts(word_findings))


def test_a_rate_stated_as_a_whole_percent_quotes_the_difference_of_the_figures_it_shows():
    """“100%” against 180 ÷ 194.9 = 92.36%: compared at the whole percent it is stated in, and the
    sentence gives the difference of the two figures it prints (7.64%), not of their roundings."""
    import re

    from conformance.corpus import check_word, packs_registered

    case = next(c for c in CASES if c.id == "hunan-hengshan-rate-stated-full")
    with packs_registered(), chinese():
        findings, _report = check_word(case, scratch("conformance_word"))
    (said,) = [f.message for f in findings if f.code == "XT201"]
    stated, computed, diff = (float(x) for x in re.findall(r"（?(\d+\.\d+)%", said)[:3])
    assert (stated, computed) == (100.0, 92.36) and diff == round(stated - computed, 2), said
