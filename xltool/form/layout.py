"""The layout step: a validated pack and a year become the Form.

Rows are counted from the top of each sheet (a list row counts ``count`` rows, the
indicator row one row per 三级 row of the tree), so every cell address is computed here
from the row's place and the column letter the pack names. The same step checks what
pydantic cannot: unique and valid field ids, known concepts, formulas that read existing
fields without cycles, cells that do not overlap, and indicator rows the rules can read.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from xltool.form.address import column_index, column_letters
from xltool.form.concepts import CONCEPTS
from xltool.form.expr import _evaluation_order
from xltool.form.formula import FormulaError, parse_formula
from xltool.form.model import Field, Form, Kind, Role, Sheet, Style, Text
from xltool.form.pack import PackError, Problem, describe_loc
from xltool.form.scoring import ScoringConfig, Weights
from xltool.i18n import _
from xltool.record import field as dfield, fields as dfields, record

if TYPE_CHECKING:
    from xltool.form.declared import Pack
    from xltool.form.packfile import CellDecl, PackFile, RowDecl

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
A1_LIKE = re.compile(r"[A-Za-z]{1,3}\d+")
R1C1_LIKE = re.compile(r"(?i)(r\d*c\d*|r\d*|c\d*)")
INDICATOR_PARTS = ("name", "dir", "target", "actual", "unit", "weight", "score", "reason")


def pack_tree(file: PackFile) -> tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]:
    return tuple((ind.key, ind.label, tuple((c[0], c[1]) for c in ind.children)) for ind in file.indicator)


def pack_indicator_counts(file: PackFile) -> dict[tuple[str, str], int]:
    """(一级, 二级) → rows, for the 二级 that state their own number of 三级 rows."""
    return {(ind.key, c[0]): c[2] for ind in file.indicator for c in ind.children if len(c) == 3}


def pack_indicator_rows(file: PackFile) -> int:
    return next((row.count or 0 for sheet in file.sheet for row in sheet.row if row.indicators), 0)


class _Place(tuple):
    """Where in the pack, worded (and translated) only when a problem is reported."""

    def sub(self, *parts: object) -> "_Place":
        return _Place((*self, *parts))

    def __str__(self) -> str:
        words = []
        for kind, value in zip(self[::2], self[1::2]):
            if kind == "sheet":
                words.append(_("sheet {title}").format(title=value))
            elif kind == "row":
                words.append(_("row item {n}").format(n=value))
            elif kind == "item":
                words.append(f"（{value}）")
                continue
            else:
                words.append(str(value))
        return " › ".join(words).replace(" › （", "（")


class _Fmt(dict):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


@record(frozen=False)
class _Pending:
    kw: dict
    formula: str | None
    line: int | None
    place: str


@record(frozen=False)
class _Layout:
    pack: Pack
    year: int
    cfg: ScoringConfig
    problems: list[Problem] = dfield(default_factory=list)
    pending: list[_Pending] = dfield(default_factory=list)
    occupied: dict[tuple[str, str], str] = dfield(default_factory=dict)
    lists: dict[str, int] = dfield(default_factory=dict)

    def problem(self, place: str, line: int | tuple | None, message: str) -> None:
        if isinstance(line, tuple):  # a location, turned into a line only when needed
            line = next((n for k in range(len(line), 0, -1) if (n := self.pack.line(line[:k]))), None)
        self.problems.append(Problem(str(place), line, message))

    def fmt(self, text: str, ctx: dict, place: str, line: int | None) -> str:
        if "{" not in text and "}" not in text:
            return text
        try:
            return text.format_map(_Fmt(ctx))
        except KeyError as exc:
            self.problem(place, line, _("unknown placeholder {{{name}}} (known: {known})").format(
                name=exc.args[0], known="、".join("{" + k + "}" for k in ctx)))
        except (ValueError, IndexError):
            self.problem(place, line, _("braces {{ }} must enclose a placeholder such as {{year}}"))
        return text

    def occupy(self, sheet: str, cell: str, place: str, line: int | None) -> None:
        prior = self.occupied.get((sheet, cell))
        if prior is not None:
            self.problem(place, line, _("cell {cell} is already used by {other}").format(cell=cell, other=str(prior)))
        else:
            self.occupied[(sheet, cell)] = place


def _first_text(row: RowDecl) -> str | None:
    return next((c.text for c in row.cells.values() if c.text is not None), None)


def layout(pack: Pack, year: int, cfg: ScoringConfig) -> Form:
    """The Form of *pack* for *year*; PackError naming every problem's place and line."""
    lay = _Layout(pack, year, cfg)
    file = pack.file
    info = file.pack
    _size(lay)  # before a single row is laid out
    # The stamp names the pack too (except the default form's first version, whose templates
    # never did), so a values-only copy of the workbook (the add-in's JSON) still says which
    # pack version it was laid out from.
    stamp = f"{info.template_id} v{info.form_version}"
    if (info.id, info.version) != ("example", "1.0"):
        stamp += f" · {info.id} v{info.version}"
    base_ctx = {"year": year, "prev_year": year - 1, "region": cfg.region, "template": stamp}
    weights = {f.name for f in dfields(Weights)}
    tree = []
    for n, ind in enumerate(file.indicator):
        line = ("indicator", n, "key")
        if ind.key not in weights or ind.key == "execution":
            lay.problem(describe_loc(("indicator", n, "key")), line, _(
                "the 一级 key {key} is not a weight of [scoring.weights] ({known})").format(
                key=ind.key, known="、".join(sorted(weights - {"execution"}))))
        tree.append((ind.key, ind.label, tuple((c[0], c[1]) for c in ind.children)))
    counts = pack_indicator_counts(file)
    sheets: list[Sheet] = []
    keys: dict[str, int] = {}
    titles: dict[str, int] = {}
    indicator_count = 0
    for s_no, decl in enumerate(file.sheet):
        s_line = ("sheet", s_no)
        s_place = _Place(("sheet", decl.title))
        if decl.key in keys or decl.title in titles:
            lay.problem(s_place, s_line, _("sheet key {key} or title {title} is used twice").format(
                key=decl.key, title=decl.title))
        keys[decl.key] = titles[decl.title] = s_no
        sheet = Sheet(key=decl.key, title=lay.fmt(decl.title, base_ctx, s_place, s_line),
                      col_widths=dict(decl.widths), landscape=decl.landscape)
        columns = {c.key: c for c in decl.columns}
        r = 1
        ends: dict[str, int] = {}
        downs: list[tuple[object, str, str, int, str, int | None]] = []  # (target, col, name, row, place, line)
        print_rows: list[int] = []
        for r_no, row in enumerate(decl.row):
            loc = ("sheet", s_no, "row", r_no)
            line = loc
            place = s_place.sub("row", r_no + 1)
            instances: list[tuple[dict, str | None, int | None]] = []  # (ctx, group, index)
            level_marks: list[tuple[str, str, str, int]] = []  # (level, key, label, row)
            if row.list:
                instances = [({**base_ctx, "i": i}, row.list, i) for i in range(1, row.count + 1)]
                lay.lists[row.list] = row.count
            elif row.indicators:
                indicator_count = row.count
                k = r
                for l1, l1_label, kids in tree:
                    level_marks.append(("1", l1, l1_label, k))
                    for l2, l2_label in kids:
                        level_marks.append(("2", l2, l2_label, k))
                        for j in range(1, counts.get((l1, l2), row.count) + 1):
                            ctx = {**base_ctx, "l1": l1, "l2": l2, "j": j, "l1_label": l1_label,
                                   "l2_label": l2_label, "where": f"{l2_label}第{j}行"}
                            instances.append((ctx, f"ind_{l1}", j))
                            k += 1
            else:
                instances = [(dict(base_ctx), None, None)]
            first = r
            for ctx, group, index in instances:
                _place_row(lay, sheet, row, r, ctx, group, index, columns, place, line, loc, downs)
                r += 1
            last = r - 1
            if row.indicators:
                _level_labels(lay, sheet, row, level_marks, last, cfg, info.level1_text, place, line)
                _indicator_ids(lay, row, tree, place, line)
            if row.name:
                ends[row.name] = last
            if row.height:
                sheet.tall_rows[first] = row.height
            if row.freeze:
                sheet.freeze = f"{row.freeze}{first}"
            if row.print_titles:
                print_rows += list(range(first, max(last, first) + 1))
        for target, col, name, start, place, line in downs:
            if name not in ends or ends[name] < start:
                lay.problem(place, line, _("down = \"{name}\" names no row item below this one").format(name=name))
                continue
            end = f"{col}{ends[name]}"
            if isinstance(target, Text):
                target.merge_to = end
            else:
                sheet.merges.append(f"{target}:{end}")
        if print_rows:
            sheet.print_title_rows = f"{min(print_rows)}:{max(print_rows)}"
        sheets.append(sheet)
    fields = _fields(lay)
    if lay.problems:
        raise PackError(pack.path, lay.problems)
    form = Form(
        template_id=info.template_id, version=info.form_version, year=year, sheets=sheets, fields=fields,
        scoring_json=cfg.to_json(), pack_id=info.id, pack_version=info.version, pack_name=info.name,
        pack_digest=pack.digest, lists=lay.lists, tree=tuple(tree), indicator_rows=indicator_count,
        indicator_counts=counts,
    )
    _excel_lengths(lay, form)
    return form


def _size(lay: _Layout) -> None:
    """The rows and fields the layout would make, counted from the declaration (PackError
    when beyond the bounds of bounds.py): a pack of 6,000 lists of 200 rows is refused here."""
    from xltool.form.bounds import LIMITS

    file = lay.pack.file
    second = sum(len(ind.children) for ind in file.indicator)
    fields = 0
    for s_no, sheet in enumerate(file.sheet):
        rows = 0
        for row in sheet.row:
            n = (row.count or 1) * (second if row.indicators else 1)
            rows += n
            fields += n * (sum(1 for c in row.cells.values() if c.id is not None)
                           + (len(sheet.columns) if row.values is not None else 0))
        if rows > LIMITS.laid_out_rows:
            lay.problem(_Place(("sheet", sheet.title)), ("sheet", s_no), _(
                "the sheet would have {found} rows (at most {most})").format(found=rows, most=LIMITS.laid_out_rows))
    if fields > LIMITS.fields:
        lay.problem(_("the file"), None, _("the pack would have {found} fields (at most {most})").format(
            found=fields, most=LIMITS.fields))
    if lay.problems:
        raise PackError(lay.pack.path, lay.problems)


def _excel_lengths(lay: _Layout, form: Form) -> None:
    """Every derived cell's formula fits Excel's limit once its references are filled in."""
    from xltool.form.bounds import LIMITS
    from xltool.form.cells import CellMap

    cells = CellMap(form)
    for f in form.fields:
        if f.formula is not None and len(text := cells.formula(f)) > LIMITS.excel_formula:
            pending = next(p for p in lay.pending if p.kw["id"] == f.id)
            lay.problem(pending.place, pending.line, _(
                "the formula of {id} is {found} characters long in Excel (at most {most})").format(
                id=f.id, found=len(text), most=LIMITS.excel_formula))
    if lay.problems:
        raise PackError(lay.pack.path, lay.problems)


def _place_row(lay: _Layout, sheet: Sheet, row: RowDecl, r: int, ctx: dict, group: str | None,
               index: int | None, columns: dict, place: str, line: int | None, loc: tuple, downs: list) -> None:
    for col, cell in row.cells.items():
        addr = f"{col}{r}"
        c_line = (*loc, col)
        c_place = place.sub("col", col)
        lay.occupy(sheet.key, addr, c_place.sub("item", ctx["i"]) if "i" in ctx else c_place, c_line)
        merge_end = None
        if cell.to is not None or isinstance(cell.down, int):
            end_col = cell.to or col
            end_row = r + (cell.down if isinstance(cell.down, int) else 0)
            if column_index(end_col) < column_index(col) or end_row < r:
                lay.problem(c_place, c_line, _("a merge must go right and down from its cell"))
            elif (end_col, end_row) != (col, r):
                merge_end = f"{end_col}{end_row}"
                for rr in range(r, end_row + 1):
                    for cc in range(column_index(col), column_index(end_col) + 1):
                        if (rr, cc) != (r, column_index(col)):
                            lay.occupy(sheet.key, f"{column_letters(cc)}{rr}", c_place, c_line)
        if cell.id is None:
            target: object = Text(cell=addr, text=lay.fmt(cell.text or "", ctx, c_place, c_line), style=cell.style,
                                  merge_to=merge_end, indent=cell.indent)
            sheet.texts.append(target)
        else:
            label = cell.label if cell.label is not None else _first_text(row)
            if label is None:
                lay.problem(c_place, c_line, _("the field {id} needs a label (the row has no text to take it from)")
                            .format(id=cell.id))
                label = cell.id
            kw = _field_kw(lay, cell, sheet.key, addr, lay.fmt(cell.id, ctx, c_place, c_line),
                           lay.fmt(label, ctx, c_place, c_line), group, index, c_place, c_line)
            formula = lay.fmt(cell.formula, ctx, c_place, c_line) if cell.formula else None
            lay.pending.append(_Pending(kw, formula, c_line, c_place))
            if merge_end:
                sheet.merges.append(f"{addr}:{merge_end}")
            target = addr
        if isinstance(cell.down, str):
            downs.append((target, cell.to or col, cell.down, r, c_place, c_line))
    if row.values is not None:
        v = row.values
        v_line = (*loc, "values")
        v_place = place.sub("key", "values")
        if not columns:
            lay.problem(v_place, v_line, _("values need the sheet's value columns ([[sheet.columns]])"))
        for key in v.skip + list(v.concepts):
            if key not in columns:
                lay.problem(v_place, v_line, _("{key} is not a value column of this sheet ({known})").format(
                    key=key, known="、".join(columns)))
        for key, column in columns.items():
            addr = f"{column.col}{r}"
            lay.occupy(sheet.key, addr, v_place.sub("item", key), v_line)
            if key in v.skip:
                sheet.texts.append(Text(cell=addr, text="——"))
                continue
            c_ctx = {**ctx, "col": key}
            label = f"{lay.fmt(v.label, c_ctx, v_place, v_line)} / {lay.fmt(column.label, c_ctx, v_place, v_line)}"
            from xltool.form.packfile import CellDecl

            decl = CellDecl(id=v.id, kind=Kind.AMOUNT, concept=v.concepts.get(key), formula=v.formula)
            kw = _field_kw(lay, decl, sheet.key, addr, lay.fmt(v.id, c_ctx, v_place, v_line), label, group, index,
                           v_place, v_line)
            formula = lay.fmt(v.formula, c_ctx, v_place, v_line) if v.formula else None
            lay.pending.append(_Pending(kw, formula, v_line, v_place))


def _field_kw(lay: _Layout, cell: CellDecl, sheet: str, addr: str, fid: str, label: str, group: str | None,
              index: int | None, place: str, line: int | None) -> dict:
    choices: tuple[str, ...] = ()
    if isinstance(cell.choices, str):
        if cell.choices not in lay.pack.file.choices:
            lay.problem(place, line, _("no choice list named {name} in [choices]").format(name=cell.choices))
        else:
            choices = tuple(lay.pack.file.choices[cell.choices])
    elif cell.choices:
        choices = tuple(cell.choices)
    if cell.kind is Kind.CHOICE and not choices:
        lay.problem(place, line, _("the choice field {id} needs choices").format(id=fid))
    role = Role.DERIVED if cell.formula is not None else Role(cell.role or "input")
    unit = cell.unit if cell.unit is not None else ("万元" if cell.kind is Kind.AMOUNT else "")
    return dict(id=fid, label=label, sheet=sheet, cell=addr, kind=cell.kind, role=role, unit=unit,
                required=cell.required, choices=choices, concept=cell.concept, group=group, index=index,
                hint=cell.hint, bureau_fill=cell.bureau_fill)


def _level_labels(lay: _Layout, sheet: Sheet, row: RowDecl, marks: list, last: int, cfg: ScoringConfig,
                  level1_text: str, place: str, line: int | None) -> None:
    for n, (level, key, label, start) in enumerate(marks):
        if level == "1":
            later = [m[3] for m in marks[n + 1:] if m[0] == "1"]
        else:
            later = [m[3] for m in marks[n + 1:] if m[3] > start]
        end = (later[0] - 1) if later else last
        col = row.level1 if level == "1" else row.level2
        text = label
        if level == "1":
            weight = getattr(cfg.weights, key, 0)
            text = lay.fmt(level1_text, {"label": label, "weight": f"{weight:g}"}, place, line)
        lay.occupy(sheet.key, f"{col}{start}", place, line)
        sheet.texts.append(Text(cell=f"{col}{start}", text=text, style=Style.LABEL,
                                merge_to=f"{col}{end}" if end > start else None))


def _indicator_ids(lay: _Layout, row: RowDecl, tree: list, place: str, line: int | None) -> None:
    """The scoring rules read every 三级 row by these ids: eval_<一级>_<二级>_<n>_<part>."""
    if not tree:
        lay.problem(place, line, _("the indicator row needs the tree ([[indicator]] tables)"))
        return
    l1, _label, kids = tree[0]
    made = {p.kw["id"] for p in lay.pending}
    want = [f"eval_{l1}_{kids[0][0]}_1_{part}" for part in INDICATOR_PARTS]
    missing = [w for w in want if w not in made]
    if missing:
        lay.problem(place, line, _(
            "the indicator row must declare the fields eval_{{l1}}_{{l2}}_{{j}}_<part> for every part ({parts}); "
            "missing {missing}").format(parts="、".join(INDICATOR_PARTS), missing="、".join(missing)))


def _fields(lay: _Layout) -> list[Field]:
    known_concepts = set(CONCEPTS) | set(lay.pack.file.concepts)
    ids: dict[str, _Pending] = {}
    lower: dict[str, str] = {}
    for p in lay.pending:
        fid = p.kw["id"]
        if fid in ids or fid.lower() in lower:
            first = ids.get(fid) or ids[lower[fid.lower()]]
            lay.problem(p.place, p.line, _(
                "the field id {id} is declared twice (first at {other})").format(id=fid, other=str(first.place)))
            continue
        if not NAME_RE.fullmatch(fid) or A1_LIKE.match(fid) or R1C1_LIKE.fullmatch(fid) or fid.upper() in ("TRUE", "FALSE"):
            lay.problem(p.place, p.line, _(
                "the field id {id} is not usable as an Excel name (letters, digits and _, not starting like a cell "
                "reference such as AB12)").format(id=fid))
        ids[fid] = p
        lower[fid.lower()] = fid
        concept = p.kw["concept"]
        if concept is not None and concept not in known_concepts:
            lay.problem(p.place, p.line, _(
                "unknown concept {concept} (known: {known}; a pack may declare its own in [concepts])").format(
                concept=concept, known="、".join(sorted(known_concepts))))
    listed = [p.kw["id"] for p in lay.pending if p.kw["group"] is not None]
    order = list(ids)
    fields: list[Field] = []
    for fid, p in ids.items():
        formula = None
        if p.formula is not None:
            try:
                formula = parse_formula(p.formula, order, listed)
            except FormulaError as exc:
                lay.problem(p.place, p.line, _formula_message(fid, p.formula, exc))
            else:
                if fid in formula.refs():
                    lay.problem(p.place, p.line, _("the formula of {id} reads the field itself").format(id=fid))
        try:
            fields.append(Field(formula=formula, **p.kw))
        except ValueError as exc:
            lay.problem(p.place, p.line, str(exc))
    formulas = {f.id: f.formula for f in fields if f.formula is not None}
    if not lay.problems:
        try:
            _evaluation_order(formulas)
        except ValueError as exc:
            lay.problem(_Place(("key", "formula")), None, _("formulas refer to each other in a circle ({detail})").format(detail=exc))
    return fields


def _formula_message(fid: str, text: str, exc: FormulaError) -> str:
    what = {
        "unknown": _("names {detail}, which is not a field of this pack"),
        "no_match": _("the pattern {detail} matches no list field"),
        "many": _("{detail} stands for several fields; use it inside sum(), min() or max()"),
        "function": _("unknown function {detail} (known: sum, min, max, abs, round, copy)"),
        "bad_char": _("the character {detail} is not allowed"),
        "expected": _("{detail} expected"),
        "unexpected": _("{detail} unexpected"),
        "incomplete": _("the formula ends too early"),
        "empty": _("the formula is empty"),
        "arity": _("{detail}() has the wrong number of arguments"),
        "digits": _("round() takes a whole number of digits"),
        "copy": _("copy() takes one field id"),
        "deep": _("the formula is nested too deeply (at most {detail} levels of brackets and functions)"),
        "long": _("the formula is too long (at most {detail} characters)"),
    }.get(exc.code, exc.code + " {detail}")
    return _("the formula of {id} “{formula}”: {problem} (at character {pos})").format(
        id=fid, formula=text, problem=what.format(detail=exc.detail), pos=exc.position + 1)
