#!/usr/bin/env python3
"""List the user-facing msgids of the xltool package that lack a translation.

Extraction (over ``xltool/``):

* babel's Python extractor with the keywords ``_``, ``N_`` (gettext_noop) and
  ``ngettext``;
* babel's Jinja2 extractor (``jinja2.ext.babel_extract``) over ``xltool/**/templates``;
* an ``ast`` pass over every ``.py`` file, which adds what babel cannot see:
  - calls nested inside f-strings (Python 3.11's tokenizer hands babel an f-string as
    one opaque token, e.g. ``f"{_('What it does')}"``);
  - the msgid arguments of *translating helpers*: module-level functions that pass one
    of their parameters to ``_()``/``gettext()`` (directly, in a lambda, or through
    another such helper), e.g. the rule catalogue's ``_rule(code, severity, title,
    message, fix, what, why, example)``, whose texts are translated lazily and are
    never literal ``_()`` arguments, or the add-in's ``_both(msgid)``. Helpers are
    resolved per module (local definition or ``from ... import``), so a same-named
    function elsewhere is not mistaken for one. ``_rule``'s positional arguments 3..8
    (and the same names as keywords) are listed explicitly as well.

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


GETTEXT_NAMES = ("_", "N_", "gettext")


@dataclass(frozen=True)
class Helper:
    """A function that translates some of its own parameters, e.g. ``_rule`` or ``_tr``."""

    positions: frozenset[int]  # 0-based positional indexes that are msgids
    names: frozenset[str]      # the same parameters, passed by keyword


def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError) as exc:  # a file being edited right now
        print(f"warning: cannot parse {_rel(path)}: {exc}", file=sys.stderr)
        return None


def _module_file(package: Path, current: Path, node: ast.ImportFrom) -> Path | None:
    """The package file a ``from ... import`` refers to (None outside the package)."""
    if node.level:
        base = current.parent
        for _ in range(node.level - 1):
            base = base.parent
        parts = node.module.split(".") if node.module else []
    else:
        if not node.module or node.module.split(".")[0] != package.name:
            return None
        base, parts = package.parent, node.module.split(".")
    target = base.joinpath(*parts)
    for candidate in (target.with_suffix(".py"), target / "__init__.py"):
        if candidate.exists():
            return candidate.resolve()
    return None


class Modules:
    """Which module-level function a bare name means in each module (for helper lookup)."""

    def __init__(self, package: Path, trees: dict[Path, ast.Module]):
        self.trees = {p.resolve(): t for p, t in trees.items()}
        self.defs: dict[Path, dict[str, ast.FunctionDef | ast.AsyncFunctionDef]] = {}
        self.imports: dict[Path, dict[str, tuple[Path, str]]] = {}
        for path, tree in self.trees.items():
            self.defs[path] = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
            table: dict[str, tuple[Path, str]] = {}
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom):
                    src = _module_file(package, path, node)
                    if src is not None:
                        for alias in node.names:
                            table[alias.asname or alias.name] = (src, alias.name)
            self.imports[path] = table

    def resolve(self, path: Path, name: str, depth: int = 0) -> tuple[Path, str] | None:
        if name in self.defs.get(path, {}):
            return path, name
        if name in self.imports.get(path, {}) and depth < 5:
            src, orig = self.imports[path][name]
            return self.resolve(src, orig, depth + 1)
        return None


def _call_slots(node: ast.Call, helper: Helper) -> list[ast.AST]:
    slots = [a for i, a in enumerate(node.args) if i in helper.positions]
    return slots + [k.value for k in node.keywords if k.arg in helper.names]


def _translated_params(path: Path, func: ast.FunctionDef | ast.AsyncFunctionDef, modules: Modules,
                       helpers: dict[tuple[Path, str], Helper]) -> Helper | None:
    """The parameters *func* passes (as a bare name) to ``_()``/``gettext()`` or to a
    translating helper's msgid slot, anywhere in its body (lambdas and closures included)."""
    params = [a.arg for a in (*func.args.posonlyargs, *func.args.args)]
    kwonly = [a.arg for a in func.args.kwonlyargs]
    used: set[str] = set()
    for node in ast.walk(func):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name in GETTEXT_NAMES:
            slots = node.args[:1]
        elif isinstance(node.func, ast.Name) and (key := modules.resolve(path, node.func.id)) in helpers:
            slots = _call_slots(node, helpers[key]) if key != (path, func.name) else []
        else:
            continue
        used.update(a.id for a in slots if isinstance(a, ast.Name))
    hit = used & set(params + kwonly)
    if not hit:
        return None
    return Helper(frozenset(i for i, p in enumerate(params) if p in hit), frozenset(hit))


def find_helpers(modules: Modules) -> dict[tuple[Path, str], Helper]:
    """Module-level functions that translate a parameter, and their msgid argument slots.

    Iterated to a fixed point so that a helper calling a helper is found too. The rule
    catalogue's ``_rule`` is listed explicitly as well, in case its body changes shape.
    """
    helpers: dict[tuple[Path, str], Helper] = {}
    catalogue = (PACKAGE / "check" / "catalogue.py").resolve()
    if RULE_HELPER in modules.defs.get(catalogue, {}):
        helpers[(catalogue, RULE_HELPER)] = Helper(frozenset(RULE_TEXT_POSITIONS), frozenset(RULE_TEXT_ARGS))
    changed = True
    while changed:
        changed = False
        for path, defs in modules.defs.items():
            for name, func in defs.items():
                if name in KEYWORDS:
                    continue
                found = _translated_params(path, func, modules, helpers)
                if found is None:
                    continue
                old = helpers.get((path, name))
                merged = found if old is None else Helper(old.positions | found.positions, old.names | found.names)
                if merged != old:
                    helpers[(path, name)] = merged
                    changed = True
    return helpers


def ast_messages(path: Path, modules: Modules, helpers: dict[tuple[Path, str], Helper]) -> Iterable[tuple[int, MsgId]]:
    """msgids of one module found with ``ast``: gettext calls (also inside f-strings) and
    the msgid arguments of translating helpers such as ``_rule(...)``."""
    for node in ast.walk(modules.trees[path]):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name in GETTEXT_NAMES:
            text = _const_str(node.args[0]) if node.args else None
            if text:
                yield node.lineno, text
        elif name == "ngettext":
            if len(node.args) >= 2:
                one, many = _const_str(node.args[0]), _const_str(node.args[1])
                if one and many:
                    yield node.lineno, (one, many)
        elif isinstance(node.func, ast.Name) and (key := modules.resolve(path, node.func.id)) in helpers:
            for arg in _call_slots(node, helpers[key]):
                text = _const_str(arg)
                if text:
                    yield arg.lineno, text


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

    trees = {}
    for path in sorted(package.rglob("*.py")):
        if "__pycache__" in path.parts or "locale" in path.relative_to(package).parts:
            continue
        tree = _parse(path)
        if tree is not None:
            trees[path.resolve()] = tree
    modules = Modules(package, trees)
    helpers = find_helpers(modules)
    for path in modules.trees:
        rel = _rel(path)
        for lineno, msgid in ast_messages(path, modules, helpers):
            # babel and ast number a multi-line call differently: one location per file is enough
            if not any(f == rel for f, _line in found.get(msgid, ())):
                add(msgid, (rel, lineno))

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
