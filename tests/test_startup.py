"""Start-up: each command imports what it needs, catalogues are compiled once, the 审核 sheet is
compared by a digest derived from the form, and a rule set is compiled once (issue 20)."""

from __future__ import annotations

import gettext
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import COMMITTED_FILLED, ROOT, scratch

import variants as V

# Heavy modules no command should import unless it uses them.
HEAVY = ("openpyxl", "rich.markdown", "markdown_it", "pygments", "typer._adapters", "docx", "jinja2", "fastapi")


def _modules_after(args: list[str], tmp_path: Path) -> tuple[int, str, set[str]]:
    """Run ``xltool ARGS`` in a fresh interpreter; (exit code, stdout, modules it imported)."""
    code = (
        "import sys, json\n"
        "from xltool.cli import app\n"
        "try:\n"
        f"    app({args!r}, prog_name='xltool')\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "sys.stdout.flush()\n"
        "sys.stderr.write('\\nMODULES ' + json.dumps({'code': code, 'modules': sorted(sys.modules)}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    env.pop("XLTOOL_LANG", None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    report = json.loads(done.stderr.rpartition("\nMODULES ")[2])
    return report["code"], done.stdout, set(report["modules"])


def test_help_lists_every_command_in_chinese_without_importing_any(tmp_path):
    from xltool.cli.registry import COMMANDS
    from xltool.i18n import translations

    code, out, modules = _modules_after(["--help"], tmp_path)
    assert code == 0
    flat = re.sub(r"[\s│]+", "", out)
    zh = translations("zh_CN")
    for command in COMMANDS:
        assert command.name in out
        text = zh.gettext(command.help)
        assert text != command.help and re.sub(r"\s+", "", text)[:12] in flat, command.name
    machinery = ("xltool.cli.registry", "xltool.cli.commands", "xltool.cli.i18n", "xltool.cli.params",
                 "xltool.cli.collector")
    commands = {m for m in modules if m.startswith("xltool.cli.") and m not in machinery}
    assert commands == set()
    assert not {m for m in modules if m.startswith(("xltool.check", "xltool.read", "xltool.form", "pydantic"))}
    assert not {m for m in modules if m.startswith(HEAVY)}


def test_check_workbook_imports_only_the_check_path(tmp_path):
    code, out, modules = _modules_after(["check-workbook", str(COMMITTED_FILLED)], tmp_path)
    assert code == 1 and "XT301" in out
    assert "xltool.cli.check" in modules
    others = {"xltool.cli.template", "xltool.cli.audit", "xltool.cli.mail", "xltool.cli.web", "xltool.cli.word",
              "xltool.cli.addin", "xltool.cli.forms", "xltool.template.writer", "xltool.audit.run"}
    assert not modules & others
    assert not {m for m in modules if m.startswith(HEAVY)}
    assert "typer.rich_utils" not in modules  # no error, no help: Typer's formatter stays unloaded


def test_every_registered_command_loads_with_its_registered_help():
    import typer
    from typer.testing import CliRunner

    from xltool.cli.registry import COMMANDS, app, help_text, load
    from xltool.i18n import _

    for entry in COMMANDS:
        command = load(entry, "rich")
        assert command.name == entry.name and command.help == help_text(entry)
        assert command.help.startswith(_(entry.help))
        assert ("退出码" in command.help) == entry.exit_codes
    for entry in COMMANDS:
        result = CliRunner().invoke(app, [entry.name, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (entry.name, result.output)
        assert "用法" in result.output
    assert isinstance(app, typer.Typer)


def test_an_unknown_command_is_refused_in_chinese():
    from typer.testing import CliRunner

    from xltool.cli import app

    result = CliRunner().invoke(app, ["chek-workbook"])
    assert result.exit_code == 2 and "check-workbook" in result.output and "没有命令" in result.output


def test_plain_options_convert_like_typer():
    """Options converted without pydantic give the same values and the same Chinese refusals."""
    from typer.testing import CliRunner

    from xltool.cli import app

    bad = CliRunner().invoke(app, ["fields", "--year", "abc"], env={"COLUMNS": "200"})
    assert bad.exit_code == 2 and "请填写整数" in bad.output
    good = CliRunner().invoke(app, ["fields", "--year", "2024", "--format", "json", "--inputs"])
    assert good.exit_code == 0 and json.loads(good.output)[0]["id"]
    ranged = CliRunner().invoke(app, ["audit", "--jobs", "0", "x"], env={"COLUMNS": "200"})
    assert ranged.exit_code == 2  # a range stays Typer's own check


# -- catalogues ---------------------------------------------------------------------------------

def test_the_wheel_holds_merged_catalogues_of_every_po_file(tmp_path):
    """``pip wheel`` runs the build step: one xltool.mo per locale, stamped with its .po files."""
    from xltool import catalogs

    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = next(tmp_path.glob("xltool-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for locale in ("zh_CN", "en"):
            member = f"xltool/locale/{locale}/LC_MESSAGES/{catalogs.MO_NAME}"
            assert member in names
            built = gettext.GNUTranslations(io.BytesIO(zf.read(member)))
            files = catalogs.po_files(ROOT / "xltool" / "locale" / locale / "LC_MESSAGES")
            assert len(files) >= 2 and all(f"xltool/locale/{locale}/LC_MESSAGES/{f.name}" in names for f in files)
            assert catalogs.stamp_of(built) == catalogs.sources_digest(files)
        zh = gettext.GNUTranslations(io.BytesIO(zf.read("xltool/locale/zh_CN/LC_MESSAGES/xltool.mo")))
    assert zh.gettext("Must fix") == "必须修改"
    # A msgid from a file other than core.po: every *.po is merged.
    assert zh.gettext("Mail: test the settings, send or list the outbox") != "Mail: test the settings, send or list the outbox"


@pytest.fixture
def own_locale(tmp_path, monkeypatch):
    """xltool.i18n reading a copy of the catalogues, with its own cache folder."""
    import shutil

    import xltool.i18n as i18n

    locale_dir = tmp_path / "locale"
    shutil.copytree(ROOT / "xltool" / "locale", locale_dir, ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(i18n, "LOCALE_DIR", locale_dir)
    monkeypatch.setenv("XLTOOL_CACHE_DIR", str(tmp_path / "cache"))
    i18n.translations.cache_clear()
    yield locale_dir
    i18n.translations.cache_clear()


def test_a_stale_mo_is_not_used_and_a_current_one_is(own_locale, monkeypatch):
    import xltool.i18n as i18n
    from xltool import catalogs

    folder = own_locale / "zh_CN" / "LC_MESSAGES"
    catalogs.build(own_locale)
    assert i18n.translations("zh_CN").gettext("Must fix") == "必须修改"
    # A .po changes after the build: the .mo no longer matches and is not used.
    po = folder / "core.po"
    po.write_text(po.read_text(encoding="utf-8").replace('msgstr "必须修改"', 'msgstr "必须改正"'), encoding="utf-8")
    i18n.translations.cache_clear()
    assert i18n.translations("zh_CN").gettext("Must fix") == "必须改正"
    # Compiled once into the cache; the next process loads it without compiling.
    monkeypatch.setattr(catalogs, "compile_catalog", lambda *a, **k: pytest.fail("compiled again"))
    i18n.translations.cache_clear()
    assert i18n.translations("zh_CN").gettext("Must fix") == "必须改正"
    # A new .po file (another area's) joins the catalogue.
    (folder / "extra.po").write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                                     'msgid "A brand new message"\nmsgstr "全新的消息"\n', encoding="utf-8")
    monkeypatch.undo()
    monkeypatch.setattr(i18n, "LOCALE_DIR", own_locale)
    monkeypatch.setenv("XLTOOL_CACHE_DIR", str(own_locale.parent / "cache"))
    i18n.translations.cache_clear()
    assert i18n.translations("zh_CN").gettext("A brand new message") == "全新的消息"


def test_catalogues_load_when_nothing_can_be_written(own_locale, monkeypatch):
    import xltool.i18n as i18n

    blocked = own_locale.parent / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XLTOOL_CACHE_DIR", str(blocked / "cache"))
    i18n.translations.cache_clear()
    assert i18n.translations("zh_CN").gettext("Must fix") == "必须修改"


# -- the 审核 sheet by digest -------------------------------------------------------------------

@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    from xltool.form import derived

    monkeypatch.setenv("XLTOOL_CACHE_DIR", str(tmp_path / "cache"))
    derived._MEMO.clear()
    yield tmp_path / "cache"
    derived._MEMO.clear()


def test_the_digest_derived_from_the_form_matches_the_templates_sheet(own_cache, monkeypatch):
    """An unchanged 审核 sheet is accepted by one digest: no formula is built or normalised."""
    from xltool.read import integrity
    from xltool.read.reader import read_path

    integrity._ACCEPTED_RAW.clear()
    monkeypatch.setattr(integrity, "expected_audit_formulas", lambda form: pytest.fail("normalised"))
    monkeypatch.setattr(integrity, "norm_audit_formula", lambda text: pytest.fail("normalised"))
    assert [f.code for f in read_path(COMMITTED_FILLED).findings] == []
    assert list((own_cache / "forms").glob("*.audit"))  # derived from the form, kept for the next process


def test_a_changed_formula_is_named_with_the_digest_known(own_cache):
    from xltool.read import integrity
    from xltool.read.reader import read_path

    read_path(COMMITTED_FILLED)  # the digest is now known (memory and disk)
    integrity._ACCEPTED_RAW.clear()
    parts = V.read_parts(COMMITTED_FILLED)
    sheet = V.sheet_of(parts, "审核")
    xml = parts[sheet]
    changed, n = re.subn(rb'(<c r="E9"[^<>]*><f>)([^<]*)(</f>)', rb"\g<1>1+1\g<3>", xml)
    assert n == 1
    path = V.write_parts(dict(parts, **{sheet: changed}), scratch("audit_digest") / "changed.xlsx")
    audit = [f for f in read_path(path).findings if f.code == "XT031"]
    assert len(audit) == 1 and [c.cell for c in audit[0].cells] == ["E9"]


def test_the_cache_key_is_the_forms_pack_version_year_and_settings(own_cache):
    from xltool.form.derived import form_key
    from xltool.form.scoring import ScoringConfig
    from xltool.form.selfeval import build_form

    base = build_form(2023)
    assert form_key(base) == form_key(build_form(2023))
    assert form_key(build_form(2024)) != form_key(base)
    assert form_key(base.replace(**{"pack_version": "9.9"})) != form_key(base)
    other = ScoringConfig(score_tolerance=0.5)
    assert form_key(build_form(2023, other)) != form_key(base)


def test_writing_a_template_stores_its_digest(own_cache, tmp_path):
    from xltool.form.selfeval import build_form
    from xltool.template.audit_formulas import audit_expectation
    from xltool.template.writer import write_template

    write_template(tmp_path / "t.xlsx", 2025)
    stored = list((own_cache / "forms").glob("*.audit"))
    assert len(stored) == 1
    digest, cells = audit_expectation(build_form(2025))
    assert stored[0].name.startswith(__import__("xltool.form.derived", fromlist=["x"]).form_key(build_form(2025)))
    assert digest and b"D2" in cells


# -- rules compiled once ------------------------------------------------------------------------

def test_a_rule_set_compiles_once_and_loads_from_the_cache(own_cache, monkeypatch):
    from xltool import cache
    from xltool.check import rule
    from xltool.check.instances import build_checks
    from xltool.form.scoring import ScoringConfig

    checks = build_checks(2023, ScoringConfig())
    values = {"fin_exp": 10.0, "fin_exp_basic": 4.0, "fin_exp_project": 5.0}
    rule._BATCHES.clear()
    cache._CODES.clear()
    expected = [(o.check.key, o.rule.code, o.lhs, o.rhs) for c in checks if (o := rule.evaluate(c, values))]
    assert expected
    first = rule.evaluate_many(checks, values)
    functions = rule._BATCHES[id(checks)][1]
    assert len(functions) == len(checks) and functions[0].__name__ == "_s0"  # compiled on the first call
    assert [(o.check.key, o.rule.code, o.lhs, o.rhs) for o in first] == expected
    assert rule.batch_functions(checks) is functions
    assert list((own_cache / "rules").glob("*.code"))
    # Another process (empty memory): the code object comes from the cache, nothing is compiled.
    rule._BATCHES.clear()
    cache._CODES.clear()
    monkeypatch.setattr(cache, "compile", lambda *a, **k: pytest.fail("compiled again"), raising=False)
    again = rule.evaluate_many(checks, values)
    assert [(o.check.key, o.rule.code, o.lhs, o.rhs) for o in again] == expected


def test_a_rule_set_named_by_its_key_loads_without_being_written_again(own_cache, monkeypatch):
    """The checker names the rule set (pack, year, settings, code): code and constants are stored
    together, so a later process neither writes the source nor compiles it; a damaged entry is
    compiled afresh."""
    from xltool import cache
    from xltool.check import rule
    from xltool.check.checker import run_checks
    from xltool.form.scoring import ScoringConfig
    from xltool.form.selfeval import build_form

    form, cfg = build_form(2023), ScoringConfig()
    values = {"fin_exp": 10.0, "fin_exp_basic": 4.0, "fin_exp_project": 5.0}
    rule._BATCHES.clear()
    first = [(f.code, f.instance, f.message) for f in run_checks(form, cfg, values)]
    assert first
    stored = list((own_cache / "rules").glob("*.batch"))
    assert len(stored) == 1
    rule._BATCHES.clear()
    cache._CODES.clear()
    monkeypatch.setattr(rule, "_sides_source", lambda *a: pytest.fail("the source was written again"))
    assert [(f.code, f.instance, f.message) for f in run_checks(form, cfg, values)] == first
    monkeypatch.undo()
    stored[0].write_bytes(b"not marshal data")
    rule._BATCHES.clear()
    assert [(f.code, f.instance, f.message) for f in run_checks(form, cfg, values)] == first


def test_typers_formatter_loads_without_markdown_and_still_renders_it():
    """typer.rich_utils is translated when it loads; markdown-it and pygments load only when used."""
    code = (
        "import sys\n"
        "from xltool.cli import app\n"
        "import xltool.cli.registry\n"
        "import typer.rich_utils as ru\n"
        "light = not {'rich.markdown', 'rich.traceback', 'markdown_it'} & set(sys.modules)\n"
        "try:\n"
        "    1 / 0\n"
        "except ZeroDivisionError as exc:\n"
        "    tb = ru.Traceback.from_exception(type(exc), exc, exc.__traceback__)\n"
        "md = ru.Markdown('**x**')\n"
        "print(light, type(tb).__module__, type(md).__module__, ru.OPTIONS_PANEL_TITLE)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "XLTOOL_LANG": "zh_CN"})
    assert done.stdout.split() == ["True", "rich.traceback", "rich.markdown", "选项"], done.stderr


def test_the_collector_is_paused_for_the_imports_and_back_on_for_the_command(tmp_path):
    """Both entries: the light one (a command line read from the declaration) and Typer's."""
    code = (
        "import gc, sys\n"
        "from xltool.cli import main\n"
        "import xltool.cli.registry as registry\n"
        "import xltool.cli.spec as spec\n"
        "seen = []\n"
        "load, parse = registry.load, spec.parse\n"
        "def watched(*a, **k):\n"
        "    seen.append(('load', gc.isenabled()))\n"
        "    return load(*a, **k)\n"
        "def parsing(*a, **k):\n"
        "    seen.append(('parse', gc.isenabled()))\n"
        "    return parse(*a, **k)\n"
        "registry.load, spec.parse = watched, parsing\n"
        "import xltool.cli.rules as rules\n"
        "schema = rules.schema\n"
        "def command():\n"
        "    seen.append(('command', gc.isenabled()))\n"
        "    schema()\n"
        "rules.schema = command\n"
        "for argv in (['xltool', 'schema'], ['xltool', 'fields', '--format', 'json', '--inputs']):\n"
        "    sys.argv = argv\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as exc:\n"
        "        seen.append(('exit', exc.code, gc.isenabled()))\n"
        "sys.stderr.write(f'SEEN {seen}')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    seen = done.stderr.rpartition("SEEN ")[2]
    assert seen.startswith("[('parse', False), ('command', True), ('exit', 0, True), ('parse', False), "
                           "('load', False), ('exit', 0, True)]"), done.stderr[-2000:]
    assert '"title"' in done.stdout and '"id"' in done.stdout  # the schema, then the fields
