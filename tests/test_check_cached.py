"""What a check keeps in the on-disk cache (rule code shared between instances, the rule
instances, a shipped pack's data) gives the same findings as deriving it afresh, and a damaged,
foreign or unwritable cache only means deriving it again."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "luosong_2023_filled.xlsx"
VALUES = {"fin_exp": 10.0, "fin_exp_basic": 4.0, "fin_exp_project": 5.0, "eval_exec_score": 30.0,
          "eval_exec_weight": 20.0}


@pytest.fixture()
def fresh(tmp_path, monkeypatch):
    """An empty cache folder and nothing remembered in this process."""
    from xltool import cache
    from xltool.check import rule, stored
    from xltool.form import derived, expr

    def forget():
        derived._MEMO.clear()
        stored._SETS.clear()
        rule._BATCHES.clear()
        cache._CODES.clear()
        expr._COMPILED.clear()

    monkeypatch.setenv("XLTOOL_CACHE_DIR", str(tmp_path / "cache"))
    forget()
    yield tmp_path / "cache", forget
    forget()


def _judged(values=VALUES):
    from xltool.check.checker import judge
    from xltool.form.scoring import ScoringConfig
    from xltool.form.selfeval import build_form

    findings, covered = judge(build_form(2023), ScoringConfig(), values)
    return [f.to_dict() for f in findings], covered.to_dict()


def test_checks_alike_share_their_code_and_judge_as_each_alone(fresh):
    from xltool.check import rule
    from xltool.check.instances import build_checks
    from xltool.form.scoring import ScoringConfig

    checks = build_checks(2023, ScoringConfig())
    functions = rule.batch_functions(checks)
    codes = {f.__code__ for f in functions}
    assert len(checks) > 500 and len(codes) < len(checks) // 5  # a few dozen shapes, not one per check
    one_by_one = [(o.check.key, o.rule.code, o.lhs, o.rhs) for c in checks if (o := rule.evaluate(c, VALUES))]
    assert one_by_one
    assert [(o.check.key, o.rule.code, o.lhs, o.rhs) for o in rule.evaluate_many(checks, VALUES)] == one_by_one


def test_the_stored_rule_set_judges_as_the_built_one(fresh, monkeypatch):
    from xltool.check import instances, stored

    cache, forget = fresh
    built = _judged()
    assert built[0] and list((cache / "rules").glob("*.checks")) and list((cache / "rules").glob("*.batch"))
    forget()
    # Another process: the instances come from the cache; none is built.
    monkeypatch.setattr(instances, "_checks_for_form", lambda *a: pytest.fail("the instances were built again"))
    monkeypatch.setattr("xltool.check.checker.build_checks", lambda *a, **k: pytest.fail("built again"))
    assert _judged() == built
    found = next(iter(stored._SETS.values()))
    # Only the instances that fired were rebuilt, each equal to the one build_checks makes.
    monkeypatch.undo()
    checks = instances.build_checks(2023)
    assert 0 < len(found._built) < len(checks) // 10
    assert all(found.check(n) == checks[n] for n in range(len(checks)))


def test_a_damaged_or_foreign_entry_is_built_afresh(fresh):
    from xltool import cache as disk

    cache, forget = fresh
    built = _judged()
    entry = next((cache / "rules").glob("*.checks"))
    blob = bytearray(entry.read_bytes())
    blob[len(blob) // 2] ^= 0x55  # one flipped byte
    entry.write_bytes(bytes(blob))
    assert disk.read(f"rules/{entry.name}") is None
    forget()
    assert _judged() == built
    # An entry written for another rule set (another key), put under this one's name: not used.
    other = _judged_other(cache, forget)
    forget()
    shutil.copy(other, entry)
    shutil.copy(other.with_suffix(".batch"), entry.with_suffix(".batch"))
    from xltool.check import stored

    assert stored.load(entry.stem) is None
    assert _judged() == built


def _judged_other(cache: Path, forget) -> Path:
    from xltool.check.checker import judge
    from xltool.form.scoring import ScoringConfig
    from xltool.form.selfeval import build_form

    before = set((cache / "rules").glob("*.checks"))
    forget()
    judge(build_form(2024), ScoringConfig(), VALUES)
    (found,) = set((cache / "rules").glob("*.checks")) - before
    return found


def test_an_entry_others_could_write_is_not_trusted(fresh):
    """A cache folder others can write to (XLTOOL_CACHE_DIR on a shared folder): an entry writable
    by the group or the world, or owned by another user, is derived again, never read (the help
    printed and the code run come from the cache); entries are written for this user alone,
    whatever the umask."""
    from xltool import cache as disk

    cache, forget = fresh
    old = os.umask(0)
    try:
        disk.write("probe/entry", b"ours")
    finally:
        os.umask(old)
    entry = cache / "probe" / "entry"
    assert entry.stat().st_mode & 0o777 == 0o600 and disk.read("probe/entry") == b"ours"
    for mode in (0o620, 0o602, 0o666):
        entry.chmod(mode)
        assert disk.read("probe/entry") is None, oct(mode)
    entry.chmod(0o600)
    if os.getuid() == 0:  # only root can give a file away
        os.chown(entry, 12345, -1)
        assert disk.read("probe/entry") is None
    # With every rule entry refused so, the rules are built again and judge the same.
    built = _judged()
    for found in (cache / "rules").glob("*"):
        found.chmod(0o666)
    forget()
    assert _judged() == built


def test_a_read_only_cache_checks_the_same(fresh, monkeypatch):
    from xltool import cache as disk

    cache, forget = fresh
    built = _judged()
    forget()
    shutil.rmtree(cache)
    monkeypatch.setattr(disk, "writable", lambda: False)
    monkeypatch.setattr(disk, "write", lambda *a: None)
    assert _judged() == built
    assert not cache.exists()


def test_a_shipped_packs_data_is_read_from_the_cache_as_parsed(fresh, monkeypatch):
    from xltool.form import pack
    from xltool.form.registry import shipped_path

    cache, _forget = fresh
    path = shipped_path("example")
    text = path.read_text(encoding="utf-8")
    parsed = pack.read_data(text, str(path))
    assert list((cache / "packs").glob("*.data"))
    monkeypatch.setattr("tomllib.loads", lambda *a: pytest.fail("parsed again"))
    assert pack.read_data(text, str(path)) == parsed
    # Not a shipped file (a bureau's folder, an upload): parsed every time, never stored.
    monkeypatch.undo()
    before = sorted((cache / "packs").glob("*"))
    assert pack.read_data(text.replace("1.0", "1.0", 1), str(cache.parent / "packs-bureau" / "1.0.toml")) == parsed
    assert sorted((cache / "packs").glob("*")) == before


def test_the_check_is_the_same_from_an_empty_cache_without_bytecode(tmp_path):
    """The whole command: first run (empty cache), second run (from the cache), and with
    PYTHONDONTWRITEBYTECODE, give byte-identical JSON."""
    env = dict(os.environ, XLTOOL_CACHE_DIR=str(tmp_path / "cache"), XLTOOL_LANG="zh_CN", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "xltool", "check-workbook", str(EXAMPLE), "--format", "json"]
    outs = [subprocess.run(cmd, capture_output=True, env=e, check=False).stdout
            for e in (env, env, dict(env, PYTHONDONTWRITEBYTECODE="1"))]
    assert b'"code": "XT' in outs[0]
    assert outs[0] == outs[1] == outs[2]


def test_a_compiled_catalogue_looked_up_lazily_answers_as_gettext(tmp_path):
    """Every message, plural form and context of a catalogue, as gettext reads the same .mo."""
    import gettext
    import io

    from xltool import catalogs, i18n

    head = ('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
            '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
            'msgid "Must fix"\nmsgstr "必须修改"\n\n'
            'msgid "{n} file"\nmsgid_plural "{n} files"\nmsgstr[0] "{n} 个文件"\nmsgstr[1] "{n} 个文件们"\n\n'
            'msgid "Open"\nmsgstr "开启"\n\nmsgid "Zebra"\nmsgstr "斑马"\n\n')
    for extra, lazy_index in (("", True), ('msgctxt "menu"\nmsgid "Open"\nmsgstr "打开"\n', False)):
        po = tmp_path / "t.po"
        po.write_text(head + extra, encoding="utf-8")
        data = catalogs.compile_catalog([po], "zh_CN", "x")
        ref, lazy = gettext.GNUTranslations(io.BytesIO(data)), i18n._Catalog(io.BytesIO(data))
        # Messages with a context are not in the order the lookup needs: read the usual way.
        assert (type(lazy._catalog) is i18n._MoIndex) is lazy_index
        assert ref._catalog and lazy.info() == ref.info()
        for key in list(ref._catalog) + ["Absent", ("Absent", 0), ("{n} file", 5), "{n} file"]:
            assert lazy._catalog.get(key, "—") == ref._catalog.get(key, "—"), key
        for n in (0, 1, 2):
            assert lazy.ngettext("{n} file", "{n} files", n) == ref.ngettext("{n} file", "{n} files", n)
        assert lazy.pgettext("menu", "Open") == ref.pgettext("menu", "Open") == ("打开" if extra else "Open")
        assert lazy.gettext("Open") == "开启" and lazy.gettext("Zebra") == "斑马" and lazy.gettext("Absent") == "Absent"
    po.write_text(head, encoding="utf-8")
    data = catalogs.compile_catalog([po], "zh_CN", "x")
    # Not sorted as the lookup needs (entries swapped): read the usual way, same answers.
    swapped = bytearray(data)
    _magic, _version, count, masters, _trans = __import__("struct").unpack("<5I", data[:20])
    a, b = masters + 8, masters + 16
    swapped[a:a + 8], swapped[b:b + 8] = data[b:b + 8], data[a:a + 8]
    odd = i18n._Catalog(io.BytesIO(bytes(swapped)))
    assert type(odd._catalog) is dict and count > 2


def test_a_forms_derived_figures_compile_once_and_load_from_the_cache(fresh, monkeypatch):
    """The derived figures of a form are compiled as one module kept in the cache: another
    process loads the code; a damaged, truncated or foreign entry is compiled afresh; every
    way gives the values the expressions themselves compute."""
    from xltool import cache as disk
    from xltool.form import expr
    from xltool.form.selfeval import build_form

    cache, forget = fresh
    formulas = build_form(2023).formulas
    by_tree = {}
    for fid in expr._evaluation_order(formulas):  # the trees walked, one by one
        by_tree[fid] = formulas[fid].evaluate({**VALUES, **by_tree})
    assert expr.evaluate_all(formulas, VALUES) == by_tree
    (entry,) = (cache / "code").glob("*.code")
    forget()
    monkeypatch.setattr(disk, "compile", lambda *a, **k: pytest.fail("compiled again"), raising=False)
    assert expr.evaluate_all(formulas, VALUES) == by_tree
    monkeypatch.undo()
    good = entry.read_bytes()
    foreign = compile("def _f0(v):\n    return 1.0\n", "<elsewhere>", "exec")
    for bad in (good[: len(good) // 2], good[:-1] + bytes([good[-1] ^ 1]), b"", b"xltc2" + b"\0" * 40):
        entry.write_bytes(bad)
        forget()
        assert expr.evaluate_all(formulas, VALUES) == by_tree
    # A code object that is not this source's, under this source's name: another file name, or
    # the same file name compiled from other source (an entry copied between cache folders), bare
    # or with another source's digest beside it. Each is compiled again, never run.
    name = f"code/{entry.name}"
    source_digest = disk.load(name)[0]
    other = compile("def _f0(v):\n    return 1.0\n", next(iter(disk._CODES.values())).co_filename, "exec")
    for planted in (foreign, other, (source_digest, foreign), ("0" * len(source_digest), other)):
        forget()
        disk.store(name, planted)
        assert expr.evaluate_all(formulas, VALUES) == by_tree, planted
        assert disk.load(name)[0] == source_digest  # stored afresh


def test_digests_are_sha256_without_openssl():
    import hashlib

    from xltool import digests

    for data in (b"", b"abc", bytes(range(256)) * 5000):
        assert digests.sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()
    h = digests.sha256(b"a")
    h.update(b"bc")
    assert h.digest() == hashlib.sha256(b"abc").digest()
    assert digests.blake2b(b"abc", digest_size=16).digest() == hashlib.blake2b(b"abc", digest_size=16).digest()


def test_the_check_imports_no_openssl(tmp_path):
    """hashlib loads OpenSSL, milliseconds of every start: a check from the cache needs none of it."""
    env = dict(os.environ, XLTOOL_CACHE_DIR=str(tmp_path / "cache"), XLTOOL_LANG="zh_CN", PYTHONPATH=str(ROOT))
    code = ("import sys, io, contextlib\n"
            "sys.argv = ['xltool', 'check-workbook', sys.argv[1]]\n"
            "from xltool.cli import main\n"
            "try:\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n"
            "        main()\n"
            "except SystemExit:\n"
            "    pass\n"
            "print(sorted({'hashlib', '_hashlib'} & set(sys.modules)))\n")
    for _ in range(2):  # the first fills the cache (laying the form out may load it)
        done = subprocess.run([sys.executable, "-c", code, str(EXAMPLE)], capture_output=True, text=True, env=env)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr
