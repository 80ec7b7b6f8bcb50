#!/usr/bin/env python3
"""List the user-facing msgids of the xltool package that lack a translation.

Extraction (over ``xltool/``):

* babel's Python extractor with the keywords ``_``, ``N_`` (gettext_noop) and
  ``ngettext``;
* babel's Jinja2 extractor (``jinja2.ext.babel_extract``) over ``xltool/**/templates``;
* an ``ast`` pass over every ``.py`` file, which adds what babel cannot see:
  - calls nested inside f-strings (Python 3.11's tokenizer hands babel an f-string as
    one opaque token, e.g. ``f"{_('What it does')}"``);
  - the rule catalogue's ``_rule(code, severity, title, message, fix, what, why,
    example)`` calls, whose texts are translated lazily inside ``_rule`` and are
    therefore never literal arguments of ``_()``. Positional arguments 3..8 (and the
    same names as keywords) are msgids.

A msgid is *missing* when no zh_CN ``.po`` file holds a non-empty, non-fuzzy
translation of it, or when no en ``.po`` file has an entry for it.

Usage::

    python3 tools/i18n_missing.py             # list missing msgids by file; exit 1 if any
    python3 tools/i18n_missing.py --write-core # also append them to core.po (zh_CN: empty
                                               # msgstr to fill in; en: msgstr = msgid)
    python3 tools/i18n_missing.py --stale      # also list catalogue entries no code uses

``--write-core`` skips msgids used only in areas whose catalogue belongs to another
engineer (``OWNED_ELSEWHERE``: audit/, addin/); they are listed but must go to that
area's own ``.po`` file.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Union

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import escape, read_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "xltool"
LOCALE_DIR = PACKAGE / "locale"
LOCALES = ("zh_CN", "en")
CORE_PO = "core.po"

#: Sub-packages whose msgids live in another engineer's catalogue (never in core.po).
OWNED_ELSEWHERE: dict[str, str] = {"audit": "audit.po", "addin": "addin.po"}

#: gettext-style functions: name -> babel keyword spec (None = first argument).
KEYWORDS: dict[str, object] = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}

#: The rule catalogue helper and the argument positions (0-based) / names of its msgids.
RULE_HELPER = "_rule"
RULE_TEXT_ARGS = ("title", "message", "fix", "what", "why", "example")
RULE_TEXT_POSITIONS = range(2, 8)

METHOD_MAP = [
    ("**/templates/**.j2", "jinja2.ext:babel_extract"),
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
    ("**/templates/**.txt", "jinja2.ext:babel_extract"),
    ("**.py", "python"),
]
OPTIONS_MAP = {
    "**/templates/**.j2": {"extensions": "jinja2.ext.i18n"},
    "**/templates/**.html": {"extensions": "jinja2.ext.i18n"},
    "**/templates/**.txt": {"extensions": "jinja2.ext.i18n"},
}

MsgId = Union[str, tuple[str, str]]  # a plural msgid is (singular, plural)


# --------------------------------------------------------------------------- extraction


def _rel(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def _const_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def ast_messages(path: Path) -> Iterable[tuple[int, MsgId]]:
    """msgids of one Python file found with ``ast`` (f-string calls, ``_rule`` texts)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError) as exc:  # a file being edited right now
        print(f"warning: cannot parse {_rel(path)}: {exc}", file=sys.stderr)
        return
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name in ("_", "N_", "gettext"):
            text = _const_str(node.args[0]) if node.args else None
            if text:
                yield node.lineno, text
        elif name == "ngettext":
            if len(node.args) >= 2:
                one, many = _const_str(node.args[0]), _const_str(node.args[1])
                if one and many:
                    yield node.lineno, (one, many)
        elif name == RULE_HELPER:
            for pos in RULE_TEXT_POSITIONS:
                if pos < len(node.args):
                    text = _const_str(node.args[pos])
                    if text:
                        yield node.args[pos].lineno, text
            for kw in node.keywords:
                if kw.arg in RULE_TEXT_ARGS:
                    text = _const_str(kw.value)
                    if text:
                        yield kw.value.lineno, text


def extract(package: Path = PACKAGE) -> dict[MsgId, list[tuple[str, int]]]:
    """Every msgid used in *package* -> its (file, line) locations, in file order."""
    found: dict[MsgId, list[tuple[str, int]]] = defaultdict(list)

    def add(msgid: MsgId, where: tuple[str, int]) -> None:
        if where not in found[msgid]:
            found[msgid].append(where)

    for filename, lineno, message, _comments, _context in extract_from_dir(
        package, method_map=METHOD_MAP, options_map=OPTIONS_MAP, keywords=KEYWORDS,
        comment_tags=(), strip_comment_tags=True,
    ):
        if isinstance(message, tuple):
            if not all(message[:2]):
                continue
            msgid: MsgId = (message[0], message[1])
        elif message:
            msgid = message
        else:
            continue
        add(msgid, (_rel(package / filename), lineno))

    for path in sorted(package.rglob("*.py")):
        if "__pycache__" in path.parts or "locale" in path.relative_to(package).parts:
            continue
        for lineno, msgid in ast_messages(path):
            add(msgid, (_rel(path), lineno))

    return {k: sorted(v) for k, v in found.items()}


# --------------------------------------------------------------------------- catalogues


@dataclass
class Entry:
    po: str          # file name, e.g. "core.po"
    string: object   # msgstr (a tuple for plural entries)
    fuzzy: bool

    @property
    def translated(self) -> bool:
        if self.fuzzy:
            return False
        if isinstance(self.string, (tuple, list)):
            return bool(self.string) and all(s for s in self.string)
        return bool(self.string)


@dataclass
class Catalogues:
    #: locale -> msgid (singular for plurals) -> entries in every .po file of the locale
    entries: dict[str, dict[str, list[Entry]]] = field(default_factory=dict)

    def of(self, locale: str, msgid: MsgId) -> list[Entry]:
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        return self.entries.get(locale, {}).get(key, [])


def po_files(locale: str) -> list[Path]:
    return sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po"))


def load_catalogues() -> Catalogues:
    cats = Catalogues()
    for locale in LOCALES:
        table: dict[str, list[Entry]] = defaultdict(list)
        for po in po_files(locale):
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=locale)
            for message in catalog:
                if not message.id:
                    continue
                key = message.id[0] if isinstance(message.id, (tuple, list)) else message.id
                table[key].append(Entry(po.name, message.string, message.fuzzy))
        cats.entries[locale] = dict(table)
    return cats


def missing(extracted: dict[MsgId, list[tuple[str, int]]], cats: Catalogues) -> dict[MsgId, set[str]]:
    """msgid -> the locales it is missing in ("zh_CN": no translation, "en": no entry)."""
    out: dict[MsgId, set[str]] = {}
    for msgid in extracted:
        gaps = set()
        if not any(e.translated for e in cats.of("zh_CN", msgid)):
            gaps.add("zh_CN")
        if not cats.of("en", msgid):
            gaps.add("en")
        if gaps:
            out[msgid] = gaps
    return out


def area_of(location: str) -> str:
    """``xltool/check/rule.py`` -> ``check``; ``xltool/cli.py`` -> ``cli.py``."""
    parts = location.split("/")
    return parts[1] if len(parts) > 2 else parts[-1]


def owned_elsewhere(locations: list[tuple[str, int]]) -> str | None:
    """The .po file of another area when *every* use of a msgid is in that area."""
    owners = {OWNED_ELSEWHERE.get(area_of(f)) for f, _line in locations}
    if len(owners) == 1:
        return owners.pop()
    return None


def stale(extracted: dict[MsgId, list], cats: Catalogues) -> dict[str, list[str]]:
    """Catalogue entries (per .po file) whose msgid no code uses any more."""
    used = {m[0] if isinstance(m, tuple) else m for m in extracted}
    out: dict[str, list[str]] = defaultdict(list)
    for locale, table in cats.entries.items():
        for msgid, entries in table.items():
            if msgid not in used:
                for e in entries:
                    out[f"{locale}/{e.po}"].append(msgid)
    return dict(out)


# --------------------------------------------------------------------------- writing


def _po_entry(msgid: MsgId, msgstr: MsgId, locations: list[tuple[str, int]]) -> str:
    files = sorted({f for f, _line in locations})
    lines = ["", *(f"#: {f}" for f in files)]
    if isinstance(msgid, tuple):
        lines.append(f"msgid {escape(msgid[0])}")
        lines.append(f"msgid_plural {escape(msgid[1])}")
        strs = msgstr if isinstance(msgstr, tuple) else (msgstr, msgstr)
        lines.extend(f"msgstr[{i}] {escape(s)}" for i, s in enumerate(strs))
    else:
        lines.append(f"msgid {escape(msgid)}")
        lines.append(f"msgstr {escape(msgstr)}")
    return "\n".join(lines) + "\n"


def write_core(todo: dict[MsgId, list[tuple[str, int]]], cats: Catalogues) -> dict[str, int]:
    """Append *todo* to zh_CN core.po (empty msgstr) and en core.po (msgstr = msgid).

    Entries already present in a locale's core.po are not written again (a zh_CN entry
    with an empty msgstr is left to be filled in by hand).
    """
    written = {}
    for locale in LOCALES:
        path = LOCALE_DIR / locale / "LC_MESSAGES" / CORE_PO
        in_core = {k for k, es in cats.entries.get(locale, {}).items() if any(e.po == CORE_PO for e in es)}
        chunks = []
        for msgid, locations in todo.items():
            key = msgid[0] if isinstance(msgid, tuple) else msgid
            if key in in_core:
                continue
            if locale == "en":
                if cats.of("en", msgid):
                    continue
                msgstr: MsgId = msgid
            else:
                if any(e.translated for e in cats.of("zh_CN", msgid)):
                    continue
                msgstr = ("", "") if isinstance(msgid, tuple) else ""
            chunks.append(_po_entry(msgid, msgstr, locations))
        if chunks:
            text = path.read_text(encoding="utf-8") if path.exists() else ""
            if text and not text.endswith("\n"):
                text += "\n"
            path.write_text(text + "".join(chunks), encoding="utf-8")
        written[locale] = len(chunks)
    return written


# --------------------------------------------------------------------------- main


def _show(msgid: MsgId) -> str:
    return " | ".join(msgid) if isinstance(msgid, tuple) else msgid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write-core", action="store_true",
                        help="append the missing msgids (except audit/addin ones) to core.po")
    parser.add_argument("--stale", action="store_true",
                        help="also list catalogue entries that no code uses")
    args = parser.parse_args(argv)

    extracted = extract()
    cats = load_catalogues()
    gaps = missing(extracted, cats)

    print(f"{len(extracted)} msgids extracted from {_rel(PACKAGE)}; {len(gaps)} missing.")
    by_file: dict[str, list[MsgId]] = defaultdict(list)
    for msgid in gaps:
        by_file[extracted[msgid][0][0]].append(msgid)
    for filename in sorted(by_file):
        print(f"\n{filename}:")
        for msgid in by_file[filename]:
            owner = owned_elsewhere(extracted[msgid])
            note = f"  (belongs in {owner})" if owner else ""
            print(f"  [{','.join(sorted(gaps[msgid]))}] {_show(msgid)}{note}")

    if args.stale:
        for po, ids in sorted(stale(extracted, cats).items()):
            print(f"\nstale in {po} ({len(ids)}):")
            for msgid in ids:
                print(f"  {msgid}")

    if args.write_core:
        todo = {m: extracted[m] for m in gaps if owned_elsewhere(extracted[m]) is None}
        written = write_core(todo, cats)
        print(f"\ncore.po: appended {written.get('zh_CN', 0)} zh_CN (msgstr to fill in) "
              f"and {written.get('en', 0)} en entries.")
    return 1 if gaps else 0


if __name__ == "__main__":
    sys.exit(main())
