"""A pack that extends another: the base pack plus only what differs.

    [pack]
    id = "central-2020"
    version = "1.0"
    extends = "example@1.0"        # the base, by id and version (never a path)
    name = "…"

    [scoring.weights]              # tables merge key by key into the base's
    output = 50

    [[indicator]]                  # an indicator with a base's key replaces it; drop = true removes it
    key = "cost"
    drop = true

    [[sheet]]                      # a sheet with a base's key is edited; a new key adds a sheet
    key = "eval"
    [[sheet.edit]]
    at = "eval_unit_name"          # the row holding this field (or named so, or showing this text)
    A = { text = "预算部门（单位）名称", style = "header", to = "B" }   # only these cells change
    [[sheet.edit]]
    replace = "eval_inc_nontax"    # the rows given below take its place; none: it is deleted
    [[sheet.edit]]
    after = "eval_inc_fund"        # (or before =) the rows given below are inserted
    [[sheet.edit.row]]
    B = "…"

The merge works on the parsed TOML data before validation, so the merged pack is checked
exactly like a pack written out in full; ``origin`` maps each merged sheet and row back to
the place of the extension that put it there, so problems name the extension's lines.
"""

from __future__ import annotations

import copy

from xltool.i18n import _
from xltool.lazyre import lazy_compile

REF = lazy_compile(r"^([a-z][a-z0-9-]{1,40})@(\d+(?:\.\d+)*)$")
_SHEET_KEYS = ("title", "widths", "landscape", "columns")
_ANCHORS = ("at", "replace", "before", "after")


class ExtendError(ValueError):
    def __init__(self, problems: list[tuple[tuple, str]]) -> None:
        super().__init__("; ".join(m for _loc, m in problems))
        self.problems = problems


def base_ref(data: dict) -> str | None:
    """The ``id@version`` a pack extends (None: a pack written out in full); ExtendError if malformed."""
    info = data.get("pack")
    value = info.get("extends") if isinstance(info, dict) else None
    if value is None:
        return None
    if not isinstance(value, str) or not REF.match(value):
        raise ExtendError([(("pack", "extends"), _(
            "extends names the base pack by id and version, e.g. extends = \"example@1.0\""))])
    return value


def _row_matches(row: dict, anchor: str) -> bool:
    if row.get("name") == anchor:
        return True
    values = row.get("values")
    if isinstance(values, dict) and values.get("id") == anchor:
        return True
    for key, cell in row.items():
        if not (isinstance(key, str) and key.isupper()):
            continue
        if cell == anchor or (isinstance(cell, dict) and (cell.get("id") == anchor or cell.get("text") == anchor)):
            return True
    return False


def merge(base: dict, ext: dict) -> tuple[dict, dict[tuple, tuple]]:
    """(the merged pack data, origin: merged location → the extension's location)."""
    problems: list[tuple[tuple, str]] = []
    out = copy.deepcopy(base)
    origin: dict[tuple, tuple] = {}
    for key, value in ext.items():
        if key not in ("pack", "scoring", "choices", "concepts", "indicator", "sheet"):
            out[key] = copy.deepcopy(value)  # validation names it
    info = {k: v for k, v in (out.get("pack") or {}).items() if k not in ("id", "version", "name", "description")}
    info.update({k: v for k, v in (ext.get("pack") or {}).items() if k != "extends"})
    out["pack"] = info
    out["scoring"] = _deep(out.get("scoring") or {}, ext.get("scoring") or {})
    for table in ("choices", "concepts"):
        if table in ext:
            merged = dict(out.get(table) or {})
            if isinstance(ext[table], dict):
                merged.update(copy.deepcopy(ext[table]))
            else:
                problems.append(((table,), _("must be a table")))
            out[table] = merged
    out["indicator"] = _indicators(out.get("indicator") or [], ext.get("indicator") or [], problems)
    out["sheet"] = _sheets(out.get("sheet") or [], ext.get("sheet") or [], problems, origin)
    if problems:
        raise ExtendError(problems)
    return out, origin


def _deep(base: object, over: object) -> object:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = _deep(base.get(key), value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(over)


def _items(value: object, where: tuple, problems: list) -> list[tuple[int, dict]]:
    if not isinstance(value, list):
        problems.append((where, _("must be a list of tables")))
        return []
    out = []
    for n, item in enumerate(value):
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            out.append((n, item))
        else:
            problems.append(((*where, n), _("needs its key")))
    return out


def _indicators(base: list, ext: object, problems: list) -> list:
    out = copy.deepcopy(base)
    for n, item in _items(ext, ("indicator",), problems):
        at = next((k for k, b in enumerate(out) if isinstance(b, dict) and b.get("key") == item["key"]), None)
        if item.get("drop"):
            if at is None:
                problems.append((("indicator", n, "key"), _("the base pack has no indicator {key} to drop").format(
                    key=item["key"])))
            else:
                del out[at]
            continue
        kept = {k: copy.deepcopy(v) for k, v in item.items() if k != "drop"}
        if at is None:
            out.append(kept)
        else:
            out[at] = kept
    return out


def _sheets(base: list, ext: object, problems: list, origin: dict) -> list:
    out = copy.deepcopy(base)
    keys = [s.get("key") if isinstance(s, dict) else None for s in out]
    for n, item in _items(ext, ("sheet",), problems):
        where = ("sheet", n)
        if item["key"] not in keys:
            if item.get("drop") or "edit" in item:
                problems.append(((*where, "key"), _("the base pack has no sheet {key} to drop").format(
                    key=item["key"]) if item.get("drop") else _(
                    "the base pack has no sheet {key} to edit; a new sheet gives its rows with [[sheet.row]]").format(
                    key=item["key"])))
                continue
            out.append({k: copy.deepcopy(v) for k, v in item.items() if k != "drop"})
            keys.append(item["key"])
            origin[("sheet", len(out) - 1)] = where
            continue
        s_no = keys.index(item["key"])
        if item.get("drop"):
            del out[s_no], keys[s_no]
            continue
        sheet = out[s_no]
        for key in _SHEET_KEYS:
            if key in item:
                if key == "widths" and isinstance(item[key], dict) and isinstance(sheet.get(key), dict):
                    sheet[key] = {**sheet[key], **item[key]}
                else:
                    sheet[key] = copy.deepcopy(item[key])
        for key in item:
            if key not in (*_SHEET_KEYS, "key", "row", "edit", "drop"):
                sheet[key] = copy.deepcopy(item[key])  # validation names it
        if "row" in item:
            if "edit" in item:
                problems.append(((*where, "row"), _("a sheet is edited ([[sheet.edit]]) or given in full ([[sheet.row]]), not both")))
                continue
            sheet["row"] = copy.deepcopy(item["row"])
            for r_no in range(len(sheet["row"]) if isinstance(sheet["row"], list) else 0):
                origin[("sheet", s_no, "row", r_no)] = (*where, "row", r_no)
            continue
        rows = sheet.get("row") or []
        marks: list[tuple | None] = [None] * len(rows)  # the extension's place of each row, if it made it
        edits = item.get("edit", [])
        if not isinstance(edits, list):
            problems.append(((*where, "edit"), _("must be a list of tables")))
            continue
        for e_no, edit in enumerate(edits):
            rows, marks = _edit(rows, marks, edit, (*where, "edit", e_no), problems)
        sheet["row"] = rows
        for r_no, mark in enumerate(marks):
            if mark is not None:
                origin[("sheet", s_no, "row", r_no)] = mark
    return out


def _edit(rows: list, marks: list, edit: object, where: tuple, problems: list) -> tuple[list, list]:
    if not isinstance(edit, dict):
        problems.append((where, _("must be a table")))
        return rows, marks
    given = [k for k in _ANCHORS if k in edit]
    if len(given) != 1 or not isinstance(edit[given[0]], str):
        problems.append((where, _("an edit names one row with exactly one of at, replace, before, after")))
        return rows, marks
    how, anchor = given[0], edit[given[0]]
    hits = [k for k, row in enumerate(rows) if isinstance(row, dict) and _row_matches(row, anchor)]
    if len(hits) != 1:
        problems.append(((*where, how), _(
            "“{anchor}” must name exactly one row of the base sheet (a field id, a row name or a text in it); "
            "it names {n}").format(anchor=anchor, n=len(hits))))
        return rows, marks
    k = hits[0]
    if how == "at":
        row = dict(rows[k])
        remove = edit.get("remove", [])
        if not isinstance(remove, list) or not all(isinstance(r, str) for r in remove):
            problems.append(((*where, "remove"), _("must be a list of keys or columns, e.g. remove = [\"D\"]")))
            remove = []
        for key in remove:
            if row.pop(key, None) is None:
                problems.append(((*where, "remove"), _("the row has no {key} to remove").format(key=key)))
        for key, value in edit.items():
            if key not in ("at", "remove"):
                row[key] = copy.deepcopy(value)
        return rows[:k] + [row] + rows[k + 1:], marks[:k] + [where] + marks[k + 1:]
    extra = [key for key in edit if key not in (how, "row")]
    if extra:
        problems.append(((*where, extra[0]), _("unknown key")))
    new = edit.get("row", [])
    if not isinstance(new, list) or not all(isinstance(r, dict) for r in new):
        problems.append(((*where, "row"), _("must be a list of tables")))
        return rows, marks
    new_marks = [(*where, "row", n) for n in range(len(new))]
    new = copy.deepcopy(new)
    if how == "replace":
        return rows[:k] + new + rows[k + 1:], marks[:k] + new_marks + marks[k + 1:]
    if how == "before":
        return rows[:k] + new + rows[k:], marks[:k] + new_marks + marks[k:]
    return rows[:k + 1] + new + rows[k + 1:], marks[:k + 1] + new_marks + marks[k + 1:]
