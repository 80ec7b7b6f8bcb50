"""Message catalogues: every user-facing msgid is translated, placeholders survive, locales switch.

The msgids are extracted with tools/i18n_missing.py (babel's Python and Jinja2 extractors plus
an ast pass for ``_rule(...)`` texts and ``_()`` calls inside f-strings).
"""

from __future__ import annotations

import importlib.util
import re
import string
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "xltool" / "locale"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _load_tool():
    path = ROOT / "tools" / "i18n_missing.py"
    spec = importlib.util.spec_from_file_location("i18n_missing", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


tool = _load_tool()


@pytest.fixture(scope="module")
def extracted():
    return tool.extract()


@pytest.fixture(scope="module")
def catalogues():
    return tool.load_catalogues()


def _po_files() -> list[Path]:
    return sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))


def _read(path: Path):
    with path.open("rb") as fh:
        return read_po(fh, locale=path.parent.parent.name, abort_invalid=True)


def _strings(value) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


# ----------------------------------------------------------------------------- extraction


def test_extractor_sees_lazy_rule_texts_and_fstring_calls(extracted):
    # _rule(...) texts are translated lazily inside _rule, never as literal _() arguments.
    assert "Same figure stated differently" in extracted
    assert "{lhs_label} ({lhs}) and {rhs_label} ({rhs}) state the same figure but differ by {diff}." in extracted
    # _() inside an f-string (invisible to babel's tokenizer on Python 3.11).
    assert "What it does" in extracted
    # Jinja2 mail templates.
    assert "Review passed" in extracted


def test_extractor_follows_translating_helpers(tmp_path):
    """A function that passes a parameter to _() makes that argument a msgid, also when
    imported; a same-named function elsewhere that does not translate is left alone."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "helpers.py").write_text(
        "from pkg.i18n import _\n"
        "def lazy(code, title, *, hint=''):\n"
        "    return lambda: (_(title), _(hint))\n"
        "def twice(text):\n"
        "    return lazy('X', text)\n"
    )
    (pkg / "use.py").write_text(
        "from pkg.helpers import lazy, twice\n"
        "A = lazy('C1', 'Helper title', hint='Helper hint')\n"
        "B = twice('Nested helper text')\n"
        "C = f\"{_('Inside f-string')}\"\n"
    )
    (pkg / "other.py").write_text(
        "def lazy(a, b):\n    return a + b\n"
        "D = lazy('not', 'a msgid')\n"
    )
    found = tool.extract(pkg)
    assert {"Helper title", "Helper hint", "Nested helper text", "Inside f-string"} <= set(found)
    assert "a msgid" not in found and "C1" not in found


# ----------------------------------------------------------------------------- (a) coverage


def _area_group(locations) -> str:
    return tool.owned_elsewhere(locations) or "everything else"


GROUPS = ["everything else", *sorted(tool.OWNED_ELSEWHERE.values())]


@pytest.mark.parametrize("group", GROUPS)
def test_every_msgid_has_zh_cn_translation_and_en_entry(group, extracted, catalogues):
    """(a) Each msgid in code has a non-empty zh_CN msgstr in some .po and an en entry.

    Parametrised by owner: msgids used only under xltool/audit/ or xltool/addin/ belong in
    audit.po / addin.po; everything else in the area's own .po file or core.po.
    """
    gaps = tool.missing(extracted, catalogues)
    mine = {m: g for m, g in gaps.items() if _area_group(extracted[m]) == group}
    if mine:
        by_file: dict[str, list[str]] = defaultdict(list)
        for msgid, locales in mine.items():
            where = ", ".join(f"{f}:{line}" for f, line in extracted[msgid][:3])
            by_file[extracted[msgid][0][0]].append(f"  missing {'+'.join(sorted(locales))}: {msgid!r}  ({where})")
        report = "\n".join(f"{f}:\n" + "\n".join(lines) for f, lines in sorted(by_file.items()))
        pytest.fail(f"{len(mine)} msgids without translation ({group}); run tools/i18n_missing.py\n{report}")


# ----------------------------------------------------------------------------- (b) placeholders


_FIELD_RE = re.compile(r"(?<!\{)\{[^{}]*\}(?!\})")
_PERCENT_RE = re.compile(r"%\((\w+)\)[sdifr]")


def placeholders(text: str) -> set[str]:
    """``{name}``-style fields (with conversion and spec, e.g. ``{name!r}``) and ``%(name)s``."""
    fields: set[str] = set()
    try:
        for _literal, name, spec, conversion in string.Formatter().parse(text):
            if name is not None:
                fields.add("{" + name + ("!" + conversion if conversion else "") + (":" + spec if spec else "") + "}")
    except ValueError:  # not a valid format string: compare the raw {...} pieces
        fields.update(_FIELD_RE.findall(text))
    fields.update(f"%({n})" for n in _PERCENT_RE.findall(text))
    return fields


def _placeholder_cases():
    """(file, msgid, allowed placeholder sets, msgstr) for every translated entry."""
    for path in _po_files():
        for message in _read(path):
            if not message.id:
                continue
            ids = _strings(message.id)
            allowed = [placeholders(i) for i in ids]  # a plural msgstr may follow either form
            for translated in _strings(message.string):
                if translated:
                    yield path, ids[0], allowed, translated


def test_placeholders_match_msgid():
    """(b) Every translation keeps exactly the placeholders of its msgid (names, !r, :spec)."""
    bad = []
    for path, msgid, allowed, translated in _placeholder_cases():
        found = placeholders(translated)
        if found not in allowed:
            rel = path.relative_to(LOCALE_DIR)
            bad.append(f"{rel}: {msgid!r}\n    msgid {sorted(allowed[0])} != msgstr {sorted(found)}: {translated!r}")
    assert not bad, f"{len(bad)} translations change placeholders:\n" + "\n".join(bad)


def test_placeholder_helper():
    assert placeholders("{a} and {b!r}: {c:.2f} %(d)s") == {"{a}", "{b!r}", "{c:.2f}", "%(d)"}
    assert placeholders("[default: {}]") == {"{}"}
    assert placeholders("{{literal}} {x}") == {"{x}"}


# ----------------------------------------------------------------------------- (c) conflicts


def test_no_msgid_translated_differently_in_two_po_files():
    """(c) A msgid in several .po files of one locale must have the same msgstr in all of them."""
    seen: dict[tuple[str, object], dict[object, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in _po_files():
        locale = path.parent.parent.name
        for message in _read(path):
            if message.id:
                seen[(locale, message.id)][_strings(message.string)].append(path.name)
    conflicts = [
        f"{locale} {msgid!r}: " + "; ".join(f"{files} → {list(s)}" for s, files in variants.items())
        for (locale, msgid), variants in seen.items()
        if len(variants) > 1
    ]
    assert not conflicts, "msgids translated differently in two .po files:\n" + "\n".join(conflicts)


# ----------------------------------------------------------------------------- (d) locales


def test_default_locale_is_chinese_and_en_is_english(monkeypatch):
    """(d) Without XLTOOL_LANG the text is Chinese; XLTOOL_LANG=en gives the English msgid."""
    import xltool.i18n as i18n
    from xltool.check.catalogue import RULES

    monkeypatch.delenv("XLTOOL_LANG", raising=False)
    i18n.translations.cache_clear()
    assert CJK.search(i18n._("Must fix"))
    assert CJK.search(i18n._("Review passed"))
    assert CJK.search(RULES["XT301"].title())
    message = RULES["XT301"].message()
    assert CJK.search(message) and "{lhs_label}" in message and "{diff}" in message

    monkeypatch.setenv("XLTOOL_LANG", "en")
    i18n.translations.cache_clear()
    assert i18n._("Must fix") == "Must fix"
    assert i18n._("Review passed") == "Review passed"
    assert RULES["XT301"].title() == "Same figure stated differently"
    assert not CJK.search(i18n._("Enter a whole number."))
    i18n.translations.cache_clear()


# ----------------------------------------------------------------------------- (e) files


@pytest.mark.parametrize("path", _po_files(), ids=lambda p: str(p.relative_to(LOCALE_DIR)))
def test_po_file_parses_and_has_no_fuzzy_entries(path):
    """(e) Each .po file parses with babel (invalid entries abort) and nothing is fuzzy."""
    catalog = _read(path)
    assert not catalog.fuzzy, f"{path.name}: the header is marked fuzzy"
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy entries in {path.name}: {fuzzy}"
    assert len(catalog) > 0


def test_catalogues_compile():
    import xltool.i18n as i18n

    for locale in ("zh_CN", "en"):
        i18n.translations.cache_clear()
        i18n.translations(locale).gettext("Must fix")
    i18n.translations.cache_clear()
