"""Form packs: the form declared as a TOML data file, validated with pydantic.

A pack holds the sheets, their rows (cells by column letter; row numbers are counted by
the layout step, never typed), the fields (id, label, kind, unit, concept), derived
formulas in the readable syntax of formula.py, lists with their row counts, the
indicator tree and the scoring rule set. ``load_pack`` validates a file and raises
PackError with every problem in Chinese, each naming its place and line; layout.py turns
a valid pack into the Form every other part of xltool consumes. See docs/forms.md.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from xltool.i18n import _
from xltool.record import record

if TYPE_CHECKING:
    from xltool.form.packfile import PackFile


_MODELS = ("CellDecl", "ValuesDecl", "RowDecl", "ColumnDecl", "SheetDecl", "IndicatorDecl", "PackInfo", "PackFile")


def __getattr__(name: str):
    """The pydantic models of a pack's declaration live in packfile.py, imported when a pack is
    validated (not by every process that only reads a shipped pack's data)."""
    if name in _MODELS:
        from xltool.form import packfile

        return getattr(packfile, name)
    raise AttributeError(name)


# -- errors --------------------------------------------------------------------------------

@record
class Problem:
    place: str  # where, in words
    line: int | None
    message: str

    def __str__(self) -> str:
        where = _("line {line}, {place}").format(line=self.line, place=self.place) if self.line else self.place
        return f"{where}：{self.message}"


class PackError(ValueError):
    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


_VALUE_ERRORS = {
    "column": lambda: _("not a column letter (A, B, …, AA)"),
    "text_or_id": lambda: _("a cell needs either text or a field id"),
    "text_and_id": lambda: _("a cell is either a text or a field, not both"),
    "field_keys_without_id": lambda: _("kind, label, formula or concept given without a field id"),
    "kind": lambda: _("a field needs its kind (amount, integer, rate, number, text, date, choice)"),
    "formula_role": lambda: _("a field with a formula is derived; remove the role or the formula"),
    "derived_formula": lambda: _("a derived field needs a formula"),
    "values_id": lambda: _("the id of values must contain {col}"),
    "list_and_indicators": lambda: _("a row is either a list or the indicator tree, not both"),
    "count": lambda: _("a list or indicator row needs count (how many rows)"),
    "count_without_list": lambda: _("count is only meaningful with list or indicators"),
    "levels": lambda: _("the indicator row needs level1 and level2 (columns of the 一级 and 二级 labels)"),
    "pack_id": lambda: _("a pack id is lower-case letters, digits and hyphens, e.g. hunan-2023"),
    "child_rows": lambda: _("the rows of a 二级 indicator are between 1 and 200"),
}


def _pydantic_message(err: dict) -> str:
    kind = err.get("type", "")
    if kind == "missing":
        return _("missing (required)")
    if kind == "extra_forbidden":
        return _("unknown key")
    if kind == "enum" or kind == "literal_error":
        expected = (err.get("ctx") or {}).get("expected", "")
        return _("not one of the allowed values: {expected}").format(expected=str(expected).replace(" or ", ", "))
    if kind == "value_error":
        code = str((err.get("ctx") or {}).get("error", ""))
        if code in _VALUE_ERRORS:
            return _VALUE_ERRORS[code]()
        return code
    if kind == "string_pattern_mismatch":
        return _("not in the expected form ({pattern})").format(pattern=(err.get("ctx") or {}).get("pattern", ""))
    if kind.startswith(("int_", "float_", "bool_", "string_", "list_", "dict_", "tuple_", "model_")) and "type" in kind:
        return _("wrong type of value ({found})").format(found=type(err.get("input")).__name__)
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal", "too_short", "too_long"):
        return _("value out of range ({detail})").format(detail=err.get("msg", ""))
    return err.get("msg", kind)


def describe_loc(loc: tuple) -> str:
    """A pydantic location in the words of the file: sheet 2 › row 5 › B › kind."""
    parts: list[str] = []
    it = list(loc)
    k = 0
    while k < len(it):
        key = it[k]
        nxt = it[k + 1] if k + 1 < len(it) else None
        if key in ("sheet", "row", "indicator", "columns") and isinstance(nxt, int):
            word = {"sheet": _("sheet {n}"), "row": _("row item {n}"), "indicator": _("indicator {n}"),
                    "columns": _("value column {n}")}[key]
            parts.append(word.format(n=nxt + 1))
            k += 2
            continue
        if key == "cells":
            k += 1
            continue
        if isinstance(key, str) and "[" in key:  # pydantic's union branch names
            k += 1
            continue
        parts.append(str(key))
        k += 1
    return " › ".join(parts) or _("the file")


def locate(text: str, loc: tuple) -> int | None:
    """The line of *text* a location points at: the n-th [[sheet]], its m-th [[sheet.row]],
    then the key inside it. Best effort: None when the file is laid out otherwise."""
    lines = text.splitlines()
    path = [p for p in loc if p != "cells" and not (isinstance(p, str) and "[" in p)]
    headers: list[tuple[int, str]] = []
    for no, line in enumerate(lines, start=1):
        m = re.match(r"\s*\[\[?\s*([A-Za-z0-9_.]+)\s*\]\]?", line)
        if m:
            headers.append((no, m[1]))
    start, end = 1, len(lines)
    table = ""
    k = 0
    while k < len(path):
        key = path[k]
        nxt = path[k + 1] if k + 1 < len(path) else None
        if isinstance(key, str) and isinstance(nxt, int):
            name = f"{table}.{key}" if table else key
            found = [no for no, h in headers if h == name and start <= no <= end]
            if len(found) > nxt:
                start = found[nxt]
                later = [no for no, h in headers if no > start and (h == name or not h.startswith(name + "."))]
                end = (later[0] - 1) if later else len(lines)
                table = name
                k += 2
                continue
            break
        if isinstance(key, str):
            for no in range(start, end + 1):
                if re.match(rf"\s*\"?{re.escape(key)}\"?\s*=", lines[no - 1]):
                    return no
            sub = f"{table}.{key}" if table else key
            for no, h in headers:
                if h == sub and start <= no <= end:
                    return no
        break
    return start if path else None


_SHIPPED = str(Path(__file__).with_name("packs")) + os.sep


def read_data(text: str, path: str = "") -> dict:
    """The TOML data of pack *text*, within the bounds of bounds.py (PackError otherwise). A
    shipped pack's data is kept in the on-disk cache under a digest of its text and of xltool's
    code (``xltool.cache.code_stamp``): a process that reads it again skips the parse."""
    shipped = path.startswith(_SHIPPED)
    if shipped:
        from xltool import cache

        name = _data_name(text)
        data = cache.load(name)
        if type(data) is dict:
            return data
    data = _read_data(text, path)
    if shipped:
        cache.store(name, data)  # a TOML date or time is not marshal data: then parsed each time
    return data


def _data_name(text: str) -> str:
    from xltool.cache import code_stamp
    from xltool.digests import sha256

    digest = sha256(f"{code_stamp()}\0".encode() + text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"packs/{digest[:40]}.data"


def _read_data(text: str, path: str) -> dict:
    import tomllib

    from xltool.form.bounds import LIMITS, nesting_depth

    deep = nesting_depth(text, LIMITS.nesting)
    if deep is not None:  # the TOML parser recurses once per level: refuse before it starts
        raise PackError(path, [Problem(_("the file"), deep[1], _(
            "brackets are nested too deeply (more than {most} levels)").format(most=LIMITS.nesting))])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise PackError(path, [Problem(_("the file"), int(m[1]) if m else None,
                                       _("not valid TOML: {error}").format(error=exc))]) from None
    except RecursionError:  # not reachable within the nesting bound; never a traceback
        raise PackError(path, [Problem(_("the file"), None, _(
            "brackets are nested too deeply (more than {most} levels)").format(most=LIMITS.nesting))]) from None
    bounds_problems(data, text, path)
    return data


def bounds_problems(data: dict, text: str, path: str, line=None) -> None:
    """PackError when *data* exceeds a bound; *line* maps a location to a line of *text*."""
    from xltool.form.bounds import data_problems

    found = data_problems(data)
    if found:
        line = line or (lambda loc: locate(text, loc))
        raise PackError(path, [Problem(describe_loc(loc), line(loc), message) for loc, message in found])


def validate_data(data: dict, text: str, path: str = "", line=None) -> PackFile:
    """The PackFile of parsed (and merged) *data*; PackError lists every problem with its place
    and line (*line* maps a location of *data* to a line of *text*)."""
    from pydantic import ValidationError

    from xltool.form.packfile import PackFile

    line = line or (lambda loc: locate(text, loc))
    try:
        return PackFile.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(describe_loc(tuple(e["loc"])), line(tuple(e["loc"])), _pydantic_message(e))
            for e in exc.errors(include_url=False)
        ]
        raise PackError(path, problems) from None


def parse_pack(text: str, path: str = "") -> PackFile:
    """Validate pack *text* written out in full; PackError lists every problem with its place and line."""
    return validate_data(read_data(text, path), text, path)


def digest(data: dict) -> str:
    """A digest of the pack as declared (after an extension is merged with its base): every
    key and value, whatever the layout of the file; the name and description do not count.
    A template records it, so a pack version edited in place is noticed, never used silently."""
    import json

    from xltool.digests import sha256

    info = {k: v for k, v in (data.get("pack") or {}).items() if k not in ("name", "description", "extends")}
    blob = json.dumps({**data, "pack": info}, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return sha256(blob.encode("utf-8")).hexdigest()


def read_pack_text(path: Path) -> str:
    from xltool.form.bounds import LIMITS

    try:
        size = Path(path).stat().st_size
        if size > LIMITS.file_bytes:  # refused before a byte is read
            raise PackError(str(path), [Problem(_("the file"), None, _(
                "too large for a form pack ({size} bytes; at most {most})").format(size=size, most=LIMITS.file_bytes))])
        with open(path, "rb") as fh:
            raw = fh.read(LIMITS.file_bytes + 1)
    except OSError as exc:
        raise PackError(str(path), [Problem(_("the file"), None, _("cannot be read: {error}").format(
            error=exc.strerror or exc))]) from None
    if len(raw) > LIMITS.file_bytes:
        raise PackError(str(path), [Problem(_("the file"), None, _(
            "too large for a form pack ({size} bytes; at most {most})").format(size=len(raw), most=LIMITS.file_bytes))])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PackError(str(path), [Problem(_("the file"), None, _("not UTF-8 text"))]) from None
