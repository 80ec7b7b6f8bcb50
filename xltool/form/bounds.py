"""How large a form pack may be, checked before any expensive work.

A pack in the bureau's folder is input like any other: it must not make xltool recurse out
of its stack, run for minutes or fill memory. Every bound below is stated in docs/forms.md
and checked in this order, each step before the work it protects:

1. the file's size (before reading it) and the nesting of ``[`` ``{`` in its text (before
   the TOML parser, which recurses once per level);
2. counts and text lengths in the parsed data (before validation and before an extension
   is merged with its base, and again on the merged pack);
3. the rows and fields the layout would produce (before laying out a single row);
4. the nesting of each formula (while it is parsed: layout.py, formula.py).

The shipped packs use a fifth of each bound or less.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from xltool.i18n import _
from xltool.lazyre import lazy_compile
from xltool.record import record


@record
class PackLimits:
    file_bytes: int = 1_000_000  # a pack file (the shipped example is 30 KB)
    bureau_files: int = 200  # pack files read from the bureau's folder
    nesting: int = 10  # [ and { nested in the TOML text (the shipped packs use 3)
    sheets: int = 16
    rows: int = 500  # [[sheet.row]] items of one sheet
    cells: int = 40  # columns named in one row
    lists: int = 40  # list rows in a pack
    count: int = 200  # rows of one list, or 三级 rows under each 二级
    indicators: int = 8  # 一级 indicators
    children: int = 12  # 二级 indicators under one 一级
    choices: int = 40  # named choice lists
    choice_items: int = 100  # options in one list
    edits: int = 500  # edits of one sheet in an extending pack
    extends: int = 4  # packs an extension may stand on, one on another
    laid_out_rows: int = 1_000  # rows of one sheet once lists and indicators are counted
    fields: int = 4_000  # fields of the laid-out pack (the example has 802)
    text: int = 1_000  # characters of one text, label, hint or title
    formula: int = 500  # characters of one formula as written in the pack
    formula_depth: int = 20  # nesting of one formula: brackets, functions, operators in a row
    excel_formula: int = 8_192  # characters of a formula once cells are filled in (Excel's limit)


LIMITS = PackLimits()


# What the nesting count skips (strings and comments, where brackets mean nothing) or counts.
_TOKENS = lazy_compile(r'"""(?:\\.|[^\\])*?"""|\'\'\'.*?\'\'\'|"(?:\\.|[^"\\\n])*"|\'[^\'\n]*\'|#[^\n]*|[\[\]{}]',
                     re.S)


def nesting_depth(text: str, limit: int) -> tuple[int, int] | None:
    """(depth, line) where ``[``/``{`` nest deeper than *limit* in TOML *text*, else None.

    One pass of a regular expression over the text, skipping strings and comments, so brackets
    inside them do not count (an unterminated string is left to the TOML parser to report).
    """
    depth = 0
    for m in _TOKENS.finditer(text):
        token = m.group()
        if token in ("[", "{"):
            depth += 1
            if depth > limit:
                return depth, text.count("\n", 0, m.start()) + 1
        elif token in ("]", "}"):
            depth = max(0, depth - 1)
    return None


def _texts(value: object, path: tuple) -> Iterator[tuple[tuple, str]]:
    """Every string in *value* with its path, iteratively (the data may be wide)."""
    stack = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            for k, v in item.items():
                yield (*where, k), str(k)  # keys are text too
                stack.append(((*where, k), v))
        elif isinstance(item, list):
            stack.extend(((*where, i), v) for i, v in enumerate(item))


def data_problems(data: dict, limits: PackLimits = LIMITS) -> list[tuple[tuple, str]]:
    """(location, message) for every bound the parsed pack *data* exceeds (empty: within)."""
    out: list[tuple[tuple, str]] = []

    def too_many(loc: tuple, found: int, most: int) -> None:
        out.append((loc, _("too many items: {found} (at most {most})").format(found=found, most=most)))

    sheets = data.get("sheet")
    if isinstance(sheets, list):
        if len(sheets) > limits.sheets:
            too_many(("sheet",), len(sheets), limits.sheets)
        lists = 0
        for s_no, sheet in enumerate(sheets[: limits.sheets]):
            if not isinstance(sheet, dict):
                continue
            for key, most in (("row", limits.rows), ("edit", limits.edits)):
                rows = sheet.get(key)
                if isinstance(rows, list) and len(rows) > most:
                    too_many(("sheet", s_no, key), len(rows), most)
            for key in ("row", "edit"):
                rows = sheet.get(key)
                for r_no, row in enumerate(rows[: limits.rows] if isinstance(rows, list) else ()):
                    if not isinstance(row, dict):
                        continue
                    if row.get("list"):
                        lists += 1
                    columns = [k for k in row if isinstance(k, str) and k.isupper()]
                    if len(columns) > limits.cells:
                        too_many(("sheet", s_no, key, r_no), len(columns), limits.cells)
                    count = row.get("count")
                    if isinstance(count, int) and not isinstance(count, bool) and count > limits.count:
                        out.append((("sheet", s_no, key, r_no, "count"), _(
                            "count {found} is too large (at most {most})").format(found=count, most=limits.count)))
                    added = row.get("row")
                    if isinstance(added, list) and len(added) > limits.rows:
                        too_many(("sheet", s_no, key, r_no, "row"), len(added), limits.rows)
        if lists > limits.lists:
            out.append((("sheet",), _("too many lists: {found} (at most {most})").format(found=lists, most=limits.lists)))
    indicators = data.get("indicator")
    if isinstance(indicators, list):
        if len(indicators) > limits.indicators:
            too_many(("indicator",), len(indicators), limits.indicators)
        for n, ind in enumerate(indicators[: limits.indicators]):
            kids = ind.get("children") if isinstance(ind, dict) else None
            if isinstance(kids, list) and len(kids) > limits.children:
                too_many(("indicator", n, "children"), len(kids), limits.children)
    choices = data.get("choices")
    if isinstance(choices, dict):
        if len(choices) > limits.choices:
            too_many(("choices",), len(choices), limits.choices)
        for name, items in list(choices.items())[: limits.choices]:
            if isinstance(items, list) and len(items) > limits.choice_items:
                too_many(("choices", name), len(items), limits.choice_items)
    if out:
        return out  # lengths are measured only in data of a sane size
    for loc, text in _texts(data, ()):
        formula = bool(loc) and loc[-1] == "formula"
        most = limits.formula if formula else limits.text
        if len(text) > most:
            message = (_("the formula is too long: {found} characters (at most {most})") if formula
                       else _("the text is too long: {found} characters (at most {most})"))
            out.append((loc, message.format(found=len(text), most=most)))
            if len(out) >= 20:
                break
    return out
