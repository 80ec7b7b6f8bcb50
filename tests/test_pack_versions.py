"""Templates are forever (issue 19): every template an xltool version wrote stays readable, with
the same findings, by every later version; pack versions live side by side; a pack may extend
another; the hidden sheet still cannot be edited.

* tests/data/frozen_templates/: one filled workbook per template format, made by that version's
  own code (README.md there says how), read here with the findings MANIFEST.toml states, and
  the same findings as a template of today filled with the same data (plus the XT006 note);
* tests/data/pack_layouts.json.gz: the layout of every shipped pack version, taken before
  central-2020 and province-cost became extensions of example: a version never changes;
* a bureau's pack in two versions: each workbook is read with the version that made it, a
  missing or edited version is a clear Chinese refusal, never another layout.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import ROOT, filled_path, rewrite_zip, scratch, set_inline_text, sheet_parts, zh_locale  # noqa: F401
from xltool.check.checker import check_path
from xltool.cli import app
from xltool.read.book import from_xml
from xltool.read.reader import NotOurWorkbook, read_identity
from xltool.template.meta import FORMAT, META_SHEET

FROZEN = ROOT / "tests" / "data" / "frozen_templates"
MANIFEST = tomllib.loads((FROZEN / "MANIFEST.toml").read_text(encoding="utf-8"))["template"]


def run(*args: object):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def flat(text: str) -> str:
    return "".join(text.split())


def codes(report) -> Counter:
    return Counter(f.code for f in report.findings)


# -- the frozen templates ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def today(tmp_path_factory):
    """A template of today's xltool for the same pack, unit and data, filled: what the frozen
    one must agree with (cached per pack and unit)."""
    from xltool.template.fill import fill_workbook, load_data
    from xltool.template.writer import write_template

    made: dict[tuple, Path] = {}
    folder = tmp_path_factory.mktemp("today")

    def make(entry: dict) -> Path:
        unit = entry.get("unit", {})
        key = (entry["pack"], tuple(sorted(unit.items())), entry["data"])
        if key not in made:
            blank = write_template(folder / f"{len(made)}_t.xlsx", 2023, form_id=entry["pack"],
                                   unit_name=unit.get("name", ""), unit_code=unit.get("code", ""),
                                   unit_email=unit.get("email", ""))
            made[key] = fill_workbook(blank, load_data(ROOT / entry["data"]), folder / f"{len(made)}.xlsx")
        return made[key]

    return make


@pytest.mark.parametrize("entry", MANIFEST, ids=lambda e: e["file"].removesuffix(".xlsx"))
def test_a_frozen_template_reads_with_its_findings(entry, today):
    path = FROZEN / entry["file"]
    meta, origin = read_identity(from_xml(path))
    assert origin.status == "genuine" and origin.format == entry["format"] and origin.pack_ref == entry["pack"]
    result, report = check_path(path)
    assert result.form.pack_ref == entry["pack"]
    assert dict(codes(report)) == entry["codes"]
    assert (report.errors, report.warnings) == (entry["errors"], entry["warnings"])
    assert "XT020" not in codes(report) and "XT021" not in codes(report)
    # Exactly today's findings on the same data, place for place; an older format adds its note.
    fresh = check_path(today(entry))[1]
    older = {("XT006", "version")} if entry["format"] < FORMAT else set()
    got = {(f.code, f.instance, tuple((c.sheet, c.cell) for c in f.cells)) for f in report.findings}
    want = {(f.code, f.instance, tuple((c.sheet, c.cell) for c in f.cells)) for f in fresh.findings}
    assert {(c, i) for c, i, _cells in got - want} == older and not want - got


def test_the_corpus_holds_every_format_ever_written():
    from xltool.template.legacy import formats

    held = {e["format"] for e in MANIFEST}
    assert held == set(formats()) | {FORMAT}
    assert all((FROZEN / e["file"]).is_file() for e in MANIFEST)
    assert {p.name for p in FROZEN.glob("*.xlsx")} == {e["file"] for e in MANIFEST}


def test_the_example_counts_are_those_the_readme_states():
    """README: 5 项必须修改，8 项需要说明 on the example data; an older template adds one note."""
    for entry in MANIFEST:
        if entry["data"] == "examples/luosong_2023.yaml":
            assert entry["errors"] == 5 and entry["warnings"] == 8 + (entry["format"] < FORMAT)


# -- the hidden sheet of an older template is still sealed ----------------------------------------

def _meta_member(path: Path) -> str:
    return sheet_parts(path)[META_SHEET]


def _row_of(xml: bytes, key: str) -> int:
    m = re.search(rb'<c r="A(\d+)"[^>]*><is><t[^>]*>' + key.encode() + rb"</t></is></c>", xml)
    assert m, key
    return int(m[1])


def edit_rows(src: Path, dst: Path, *, drop: tuple[str, ...] = (), **changes: str) -> Path:
    """Copy *src* with rows of its meta sheet changed (or dropped) in the XML, by key."""
    def edit(xml: bytes) -> bytes:
        for key, text in changes.items():
            row = _row_of(xml, key)
            cell = f"B{row}"
            if f'<c r="{cell}"'.encode() not in xml:  # an empty value: add the cell after column A
                xml = re.sub(rb'(<row r="' + str(row).encode() + rb'"[^>]*>.*?)(</row>)',
                             lambda m: m.group(1) + b'<c r="' + cell.encode() + b'"/>' + m.group(2), xml,
                             count=1, flags=re.S)
            xml = set_inline_text(xml, cell, text)
        for key in drop:
            row = _row_of(xml, key)
            xml = re.sub(rb'<row r="' + str(row).encode() + rb'"[^>]*>.*?</row>', b"", xml, count=1, flags=re.S)
        return xml

    return rewrite_zip(src, dst, {_meta_member(src): edit})


OLD = FROZEN / "format5_22d6383_example.xlsx"
OLDEST = FROZEN / "format1_2208f22_example.xlsx"
UNIT = FROZEN / "format5_22d6383_example_unit.xlsx"


@pytest.mark.parametrize("src, change", [
    (OLD, {"year": "2024"}),
    (OLD, {"unit_name": "另一个单位"}),
    (OLD, {"fingerprint": "0" * 64}),
    (OLDEST, {"year": "2022"}),
    (OLDEST, {"fingerprint": "f" * 64}),
    (UNIT, {"unit_code": "430203999"}),
    (UNIT, {"unit_email": "other@example.com"}),
], ids=["f5-year", "f5-unit", "f5-fingerprint", "f1-year", "f1-fingerprint", "f5-unit-code", "f5-unit-email"])
def test_an_edited_older_sheet_is_xt020_not_a_note(src, change):
    tampered = edit_rows(src, scratch("legacy_edit") / f"{src.stem}_{next(iter(change))}.xlsx", **change)
    found = codes(check_path(tampered)[1])
    assert found["XT020"] == 1 and "XT006" not in found
    assert found["XT616"] == 3  # judged by the pack's own settings (the three scores below the rule)


def test_settings_no_version_can_prove_are_judged_by_the_packs_own(tmp_path):
    """An older template whose stored settings the table cannot cover (set at template time, or
    edited): older (XT006), judged by the pack's own settings, the difference reported (XT021)."""
    import json

    from xltool.read.book import from_xml as book_of

    rows = read_identity(book_of(OLD))[0]
    scoring = json.loads(rows.scoring)
    scoring["score_tolerance"] = 10.0
    tampered = edit_rows(OLD, tmp_path / "tolerance.xlsx", scoring=json.dumps(scoring, ensure_ascii=False))
    found = codes(check_path(tampered)[1])
    assert found["XT006"] == 1 and found["XT021"] == 1 and "XT020" not in found
    assert found["XT616"] == 3  # the three scores below the rule


def test_todays_sheet_cannot_pose_as_an_older_one(filled_path, tmp_path):  # noqa: F811
    """Dropping the rows format 6 added leaves rows of format 5 with a hash no version wrote.

    The scoring row is set to what format 5 stored for the pack (today's settings hold keys it
    never had), so the table covers the sheet and only the hash can tell."""
    from xltool.template.legacy import formats

    format5_scoring = formats()[5]["packs"]["example"]["scoring"]
    posing = edit_rows(filled_path, tmp_path / "posing.xlsx", drop=("format", "form_digest"),
                       scoring=format5_scoring)
    found = codes(check_path(posing)[1])
    assert found["XT020"] == 1 and "XT006" not in found


def test_todays_settings_under_format_5_rows_are_not_trusted(filled_path, tmp_path):  # noqa: F811
    """With today's scoring row the table cannot vouch for the sheet: it is read as an older
    template whose stored settings are not trusted, so the pack's own settings judge it."""
    posing = edit_rows(filled_path, tmp_path / "posing.xlsx", drop=("format", "form_digest"))
    report = check_path(posing)[1]
    found = codes(report)
    assert found["XT006"] == 1 and "XT020" not in found
    assert found == codes(check_path(filled_path)[1]) + Counter({"XT006": 1})


@pytest.mark.parametrize("change, word", [
    ({"format": "3"}, "XT020"),
    ({"format": "x"}, "XT020"),
    ({"form_version": "1.0.1"}, "没有 1.0.1 版"),
    ({"form_version": "9.9"}, "没有 9.9 版"),
    ({"format": "7"}, "升级"),
])
def test_a_claimed_version_that_does_not_exist_is_never_read_with_another(filled_path, tmp_path, change, word):  # noqa: F811
    claimed = edit_rows(filled_path, tmp_path / "claimed.xlsx", **change)
    if word.startswith("XT"):
        assert codes(check_path(claimed)[1])[word] == 1
        return
    with pytest.raises(NotOurWorkbook) as err:
        read_identity(from_xml(claimed))
    assert word in str(err.value)
    said = run("check-workbook", claimed)
    assert said.exit_code == 2 and word.replace(" ", "") in flat(said.output)


# -- shipped pack versions never change ------------------------------------------------------------

def test_every_shipped_pack_version_lays_out_as_when_it_was_shipped():
    """Cell for cell, 2023 and 2024: central-2020 and province-cost, now extensions of example
    1.0, lay out exactly as the full files they replaced (the snapshot was taken before)."""
    import pack_layouts

    held = pack_layouts.load()
    from xltool.form.registry import shipped_refs

    assert set(shipped_refs()) <= set(held), "a new shipped version: python3 tests/pack_layouts.py adds it"
    for ref in shipped_refs():
        assert pack_layouts.pictures(ref) == _settings_read_today(held[ref]), \
            f"{ref} changed: a changed pack is a new version beside it"


def _settings_read_today(pictures: list[dict]) -> list[dict]:
    """The held pictures with their scoring settings read by today's model: a setting added since
    (a policy threshold, say) takes its stated default for a version that never named it, and
    every setting the version did name must keep its value."""
    from xltool.form.scoring import validate_scoring

    out = []
    for picture in pictures:
        held = json.loads(picture["scoring_json"])
        today = validate_scoring(held)
        assert _named(held) <= _named(json.loads(today.to_json())), "a setting a shipped version named changed"
        out.append({**picture, "scoring_json": today.to_json()})
    return out


def _named(settings, prefix="") -> set:
    if isinstance(settings, dict):
        return set().union(*(_named(v, f"{prefix}/{k}") for k, v in settings.items())) if settings else set()
    return {(prefix, json.dumps(settings, sort_keys=True))}


def test_every_shipped_pack_version_declares_what_its_templates_record():
    """A template records its pack's digest and is refused when the registered file differs:
    a shipped version's declaration never changes (comments and the file's layout may)."""
    import pack_layouts

    from xltool.form.registry import get_pack, shipped_refs

    held = pack_layouts.digests()
    assert set(shipped_refs()) <= set(held), "a new shipped version: python3 tests/pack_layouts.py adds it"
    for ref in shipped_refs():
        assert get_pack(ref).digest == held[ref], f"{ref} changed: a changed pack is a new version beside it"


def test_region_packs_are_their_difference_from_example():
    from xltool.form.registry import get_pack, shipped_path

    for ref in ("central-2020@1.0", "province-cost@1.0"):
        pack = get_pack(ref)
        assert pack.extends == "example@1.0"
        lines = shipped_path(ref).read_text(encoding="utf-8").count("\n")
        assert lines < 100 < shipped_path("example@1.0").read_text(encoding="utf-8").count("\n")


# -- a bureau's pack in two versions --------------------------------------------------------------

COUNTY_10 = '''[pack]
id = "county"
version = "1.0"
extends = "example@1.0"
name = "某县部门整体支出绩效自评"

[[sheet]]
key = "base"
[[sheet.edit]]
at = "base_zx_{i}_name"
count = 5
'''
COUNTY_11 = '''[pack]
id = "county"
version = "1.1"
extends = "county@1.0"
name = "某县部门整体支出绩效自评（2025 起）"

[[sheet]]
key = "base"
[[sheet.edit]]
at = "base_zx_{i}_name"
count = 3
[[sheet.edit]]
after = "base_ops_{col}"
[[sheet.edit.row]]
A = { text = "2-1、信息化运维经费", indent = 1 }
values = { id = "base_it_{col}", label = "信息化运维经费" }
'''


@pytest.fixture()
def county(monkeypatch, tmp_path):
    folder = tmp_path / "forms"
    (folder / "county").mkdir(parents=True)
    (folder / "county" / "1.0.toml").write_text(COUNTY_10, encoding="utf-8")
    (folder / "county" / "1.1.toml").write_text(COUNTY_11, encoding="utf-8")
    monkeypatch.setenv("XLTOOL_FORMS_DIR", str(folder))
    return folder


def test_versions_side_by_side_each_workbook_read_with_its_own(county, tmp_path):
    listed = run("forms")
    assert listed.exit_code == 0 and listed.stdout.count("county") >= 2 and "1.1" in listed.stdout
    assert "county@1.0" in flat(listed.stdout)  # 1.1 extends 1.0
    old, new = tmp_path / "v10.xlsx", tmp_path / "v11.xlsx"
    assert run("make-template", "--form", "county@1.0", "--year", 2024, "-o", old).exit_code == 0
    assert run("make-template", "--form", "county", "--year", 2025, "-o", new).exit_code == 0  # the newest
    a, b = check_path(old)[0], check_path(new)[0]
    assert (a.form.pack_ref, a.form.lists["base_zx"]) == ("county@1.0", 5)
    assert (b.form.pack_ref, b.form.lists["base_zx"]) == ("county@1.1", 3) and "base_it_final" in b.form.by_id
    assert "base_it_final" not in a.form.by_id
    # The bureau drops version 1.0: its workbooks are refused, never read with 1.1.
    (county / "county" / "1.0.toml").rename(county / "old-1.0.bak")
    said = run("check-workbook", old)
    assert said.exit_code == 2 and "没有1.0版" in flat(said.output) and "1.1" in said.output


def test_a_pack_version_edited_in_place_is_refused(county, tmp_path):
    made = tmp_path / "v10.xlsx"
    assert run("make-template", "--form", "county@1.0", "--year", 2024, "-o", made).exit_code == 0
    path = county / "county" / "1.0.toml"
    path.write_text(COUNTY_10.replace("count = 5", "count = 6"), encoding="utf-8")
    with pytest.raises(NotOurWorkbook) as err:
        read_identity(from_xml(made))
    assert "county@1.0" in str(err.value) and "改动" in str(err.value)
    # Comments and layout of the file do not count: only what it declares.
    path.write_text("# 县级专项 5 行\n" + COUNTY_10, encoding="utf-8")
    assert read_identity(from_xml(made))[1].status == "genuine"


def test_a_bureau_cannot_take_a_shipped_id_or_declare_one_version_twice(monkeypatch, tmp_path):
    folder = tmp_path / "forms"
    folder.mkdir()
    (folder / "mine.toml").write_text(COUNTY_10.replace('id = "county"', 'id = "central-2020"'), encoding="utf-8")
    (folder / "a.toml").write_text(COUNTY_10, encoding="utf-8")
    (folder / "b.toml").write_text(COUNTY_10, encoding="utf-8")
    (folder / "misplaced").mkdir()
    (folder / "misplaced" / "2.0.toml").write_text(COUNTY_10, encoding="utf-8")
    monkeypatch.setenv("XLTOOL_FORMS_DIR", str(folder))
    from xltool.form.registry import available, broken, get_pack

    assert available()["central-2020"].shipped and "county" not in available()
    assert {b.path.name for b in broken()} == {"mine.toml", "a.toml", "b.toml", "2.0.toml"}
    said = flat(run("forms").output)
    assert "随附" in said and "只保留一个" in said and "county/1.0.toml" in said
    assert get_pack("central-2020").path.endswith("central-2020/1.0.toml")


# -- extends -------------------------------------------------------------------------------------

def _check(tmp_path: Path, text: str):
    path = tmp_path / "ext.toml"
    path.write_text(text, encoding="utf-8")
    return run("forms", "check", path)


def test_extends_edits_insert_replace_and_remove(tmp_path):
    from xltool.form.registry import load_file

    text = COUNTY_10 + '''
[[sheet.edit]]
before = "base_work_{col}"
[[sheet.edit.row]]
A = { text = "0、人员类项目", indent = 1 }
values = { id = "base_staffproj_{col}", label = "人员类项目" }
[[sheet.edit]]
at = "base_procurement_{col}"
remove = ["values"]
A = "政府采购金额（另表填报）"

[[sheet]]
key = "info"
[[sheet.edit]]
at = "info_unit_name"
A = "预算单位名称"
'''
    path = tmp_path / "ext.toml"
    path.write_text(text, encoding="utf-8")
    pack = load_file(path, check_layout=True)
    form = pack.trial
    base = form.sheet("base")
    ops = form.field("base_ops_final").cell
    assert form.field("base_staffproj_final").cell[1:] == str(int(form.field("base_work_final").cell[1:]) - 1)
    assert "base_procurement_final" not in form.by_id and int(ops[1:]) > 0
    assert any(t.text == "政府采购金额（另表填报）" for t in base.texts)
    assert form.field("info_unit_name").label == "预算单位名称"
    assert pack.extends == "example@1.0" and form.lists["base_zx"] == 5


@pytest.mark.parametrize("text, words", [
    (COUNTY_10.replace('at = "base_zx_{i}_name"', 'at = "no_such_row"'), ("no_such_row", "对应0行", "第10行")),
    (COUNTY_10.replace('extends = "example@1.0"', 'extends = "example"'), ("extends", "example@1.0")),
    (COUNTY_10.replace('extends = "example@1.0"', 'extends = "hunan-2031@1.0"'), ("hunan-2031",)),
    (COUNTY_10.replace('extends = "example@1.0"', 'extends = "example@7.0"'), ("没有7.0版",)),
    (COUNTY_10.replace('at = "base_zx_{i}_name"', 'at = "base_zx_{i}_name"\nreplace = "base_ops_{col}"'),
     ("at、replace、before、after",)),
    (COUNTY_10 + '\n[[sheet]]\nkey = "nosuch"\n[[sheet.edit]]\nat = "x"\n', ("nosuch",)),
], ids=["anchor", "unpinned", "unknown", "version", "two-anchors", "no-sheet"])
def test_extends_mistakes_are_named_in_chinese(tmp_path, text, words):
    said = _check(tmp_path, text)
    assert said.exit_code == 2
    for word in words:
        assert word in flat(said.output), (word, said.output)


def test_packs_extending_each_other_in_a_circle_are_refused(monkeypatch, tmp_path):
    folder = tmp_path / "forms"
    folder.mkdir()
    (folder / "a.toml").write_text('[pack]\nid = "ring-a"\nversion = "1.0"\nextends = "ring-b@1.0"\nname = "甲"\n',
                                   encoding="utf-8")
    (folder / "b.toml").write_text('[pack]\nid = "ring-b"\nversion = "1.0"\nextends = "ring-a@1.0"\nname = "乙"\n',
                                   encoding="utf-8")
    monkeypatch.setenv("XLTOOL_FORMS_DIR", str(folder))
    said = run("forms")
    assert said.exit_code == 0 and "循环" in flat(said.output) and "example" in said.stdout


def test_make_template_names_a_version(tmp_path):
    out = tmp_path / "c.xlsx"
    assert run("make-template", "--form", "central-2020@1.0", "--year", 2023, "-o", out).exit_code == 0
    assert read_identity(from_xml(out))[0].pack_ref == "central-2020@1.0"
    said = run("make-template", "--form", "central-2020@3.0", "--year", 2023, "-o", tmp_path / "x.xlsx")
    assert said.exit_code == 2 and "没有3.0版" in flat(said.output)


def test_a_chain_of_extensions_is_bounded_and_judged_pack_by_pack(monkeypatch, tmp_path):
    """p0 → p1 → … → p5 → example@1.0: a pack may stand on at most 4 others; the packs lower in
    the chain stay usable whoever looked them up first."""
    folder = tmp_path / "forms"
    folder.mkdir()
    for n in range(6):
        base = f"p{n + 1}@1.0" if n < 5 else "example@1.0"
        (folder / f"p{n}.toml").write_text(
            f'[pack]\nid = "chain-p{n}"\nversion = "1.0"\nextends = "chain-{base}"\nname = "链{n}"\n'.replace(
                "chain-example", "example"), encoding="utf-8")
    monkeypatch.setenv("XLTOOL_FORMS_DIR", str(folder))
    from xltool.form.pack import PackError
    from xltool.form.registry import get_pack

    for n in (0, 1):
        with pytest.raises(PackError) as err:
            get_pack(f"chain-p{n}")
        assert "最多逐层扩展 4" in str(err.value)
    assert [len(get_pack(f"chain-p{n}").bases) for n in (2, 3, 4, 5)] == [4, 3, 2, 1]


def test_a_format_5_sheet_with_the_desks_submission_code_is_still_genuine(tmp_path):
    """Builds of format 5 made by the web desk append a submission code they never hashed."""
    src = FROZEN / "format5_22d6383_example_unit.xlsx"

    def append(xml: bytes) -> bytes:
        row = (b'<row r="13"><c r="A13" t="inlineStr"><is><t>submit_code</t></is></c>'
               b'<c r="B13" t="inlineStr"><is><t>K7Q2-9XWD</t></is></c></row>')
        return xml.replace(b"</sheetData>", row + b"</sheetData>", 1)

    path = rewrite_zip(src, tmp_path / "coded.xlsx", {_meta_member(src): append})
    meta, origin = read_identity(from_xml(path))
    assert (origin.status, origin.format) == ("genuine", 5)
    assert codes(check_path(path)[1])["XT006"] == 1
