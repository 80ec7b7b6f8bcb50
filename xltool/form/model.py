"""The form: sheets, their static layout, and every field with its id, cell and meaning.

This is the single declaration the template writer, the reader, the checker, the live
审核 sheet and the add-in all consume. Nothing else knows what a cell means.
"""

from __future__ import annotations

from enum import Enum
from functools import cached_property
from typing import Any

from xltool.form.address import column_index, split_cell
from xltool.form.expr import Expr
from xltool.plaindata import plain
from xltool.record import field as dfield, fields, record, replace


class Kind(str, Enum):
    AMOUNT = "amount"  # 万元, 2 decimals
    INTEGER = "integer"  # headcount, counts
    RATE = "rate"  # a fraction shown as 0.00%
    NUMBER = "number"  # a measured value with a free unit (㎡, 个, %, 分)
    TEXT = "text"
    DATE = "date"
    CHOICE = "choice"


class Role(str, Enum):
    INPUT = "input"  # typed by the unit
    DERIVED = "derived"  # an Excel formula, locked
    CONFIG = "config"  # set by the bureau in the template (weights, identity), locked


@record(slots=True, kw_only=True)
class Field:
    id: str
    label: str
    sheet: str
    cell: str
    kind: Kind
    role: Role = Role.INPUT
    unit: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()
    formula: Expr | None = None
    # Fields sharing a concept state the same figure in different places: they must agree.
    concept: str | None = None
    # A list this field belongs to (e.g. "proj" rows) and its row number in that list.
    group: str | None = None
    index: int | None = None
    hint: str = ""
    # Statements of the unit's identity that the bureau may fill and lock per unit.
    bureau_fill: bool = False

    def __post_init__(self) -> None:
        # Strings from a pack or a cache become the enums (as the pydantic model coerced them).
        if not isinstance(self.kind, Kind):
            object.__setattr__(self, "kind", Kind(self.kind))
        if not isinstance(self.role, Role):
            object.__setattr__(self, "role", Role(self.role))
        if not isinstance(self.choices, tuple):
            object.__setattr__(self, "choices", tuple(self.choices))

    def to_dict(self, exclude: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
        """The JSON shape (enums as their values; the formula as the object it is)."""
        return {f.name: plain(getattr(self, f.name), finite=False) for f in fields(self) if f.name not in exclude}

    def replace(self, **changes: Any) -> Field:
        return replace(self, **changes)

    @property
    def derived(self) -> bool:
        return self.role is Role.DERIVED

    @property
    def is_input(self) -> bool:
        return self.role is Role.INPUT

    @property
    def numeric(self) -> bool:
        return self.kind in (Kind.AMOUNT, Kind.INTEGER, Kind.RATE, Kind.NUMBER)

    @property
    def row(self) -> int:
        return split_cell(self.cell)[1]

    @property
    def column(self) -> int:
        return column_index(split_cell(self.cell)[0])


class Style(str, Enum):
    TITLE = "title"
    HEADER = "header"
    LABEL = "label"
    NOTE = "note"
    SECTION = "section"


@record(frozen=False, slots=True, kw_only=True)
class Text:
    """A static cell: a label, a header, a note. ``merge_to`` spans a merged range."""

    cell: str
    text: str
    style: Style = Style.LABEL
    merge_to: str | None = None
    indent: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.style, Style):
            self.style = Style(self.style)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: plain(getattr(self, f.name), finite=False) for f in fields(self)}


@record(frozen=False, slots=True, kw_only=True)
class Sheet:
    key: str
    title: str
    texts: list[Text] = dfield(default_factory=list)
    col_widths: dict[str, float] = dfield(default_factory=dict)
    freeze: str | None = None
    print_title_rows: str | None = None  # e.g. "1:4"
    landscape: bool = False
    merges: list[str] = dfield(default_factory=list)
    # Rows whose height should grow for long text, e.g. for 年度总体目标.
    tall_rows: dict[int, float] = dfield(default_factory=dict)

    def __post_init__(self) -> None:
        self.texts = [t if isinstance(t, Text) else Text(**t) for t in self.texts]

    def to_dict(self) -> dict[str, Any]:
        return {f.name: plain(getattr(self, f.name), finite=False) for f in fields(self)}


@record(frozen=False, kw_only=True)
class Form:
    """Not slotted: its cached properties live in the instance's __dict__."""

    template_id: str
    version: str
    year: int
    sheets: list[Sheet]
    fields: list[Field]
    scoring_json: str = "{}"  # the ScoringConfig the form was built with
    # The form pack it was laid out from (form/packs/*.toml), its lists and indicator tree.
    pack_id: str = ""
    pack_version: str = ""
    pack_name: str = ""
    pack_digest: str = ""  # of the pack's declaration (form/pack.py digest); the template records it
    lists: dict[str, int] = dfield(default_factory=dict)  # list (group) name → rows
    # 一级 → (weight key, label, [(二级 key, label)]), and 三级 rows under each 二级.
    tree: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = ()
    indicator_rows: int = 0  # 三级 rows under each 二级 (the indicator row's ``count``)
    # (一级 key, 二级 key) → its own number of 三级 rows where the pack gives one.
    indicator_counts: dict[tuple[str, str], int] = dfield(default_factory=dict)

    def __post_init__(self) -> None:
        self.tree = tuple((l1, label, tuple(tuple(k) for k in kids)) for l1, label, kids in self.tree)
        self.indicator_counts = {tuple(k): v for k, v in self.indicator_counts.items()}

    def replace(self, **changes: Any) -> Form:
        """A new form with *changes* (its cached properties computed afresh)."""
        return replace(self, **changes)

    def rows_of(self, l1: str, l2: str) -> int:
        """How many 三级 rows the 二级 *l2* under the 一级 *l1* holds."""
        return self.indicator_counts.get((l1, l2), self.indicator_rows)

    def indicator_places(self) -> list[tuple[str, str, str, int]]:
        """(一级, 二级, 二级 label, row number) of every 三级 row, in the form's order."""
        return [(l1, l2, l2_label, j) for l1, _label, kids in self.tree for l2, l2_label in kids
                for j in range(1, self.rows_of(l1, l2) + 1)]

    @property
    def pack_ref(self) -> str:
        """The exact pack version this form was laid out from, as the registry finds it again."""
        return f"{self.pack_id}@{self.pack_version}" if self.pack_id and self.pack_version else self.pack_id

    @cached_property
    def by_id(self) -> dict[str, Field]:
        return {f.id: f for f in self.fields}

    @cached_property
    def formulas(self) -> dict[str, Expr]:
        return {f.id: f.formula for f in self.fields if f.formula is not None}

    @cached_property
    def inputs(self) -> list[Field]:
        return [f for f in self.fields if f.is_input]

    @cached_property
    def typed_inputs(self) -> list[Field]:
        """The inputs a unit types itself: not the year, the identity the bureau may fill and
        lock, nor last year's figures (prefilled from last year's audit). A template arrives
        with those; a workbook none of whose typed inputs holds anything was not filled in."""
        return [f for f in self.inputs if f.id != "info_year" and not f.bureau_fill and not f.id.endswith("_prev")]

    def field(self, field_id: str) -> Field:
        return self.by_id[field_id]

    @cached_property
    def sheets_by_key(self) -> dict[str, Sheet]:
        return {s.key: s for s in reversed(self.sheets)}  # the first of a key, as a search finds it

    def sheet(self, key: str) -> Sheet:
        try:
            return self.sheets_by_key[key]
        except KeyError:
            raise StopIteration(key) from None  # what the search over the list raised

    def sheet_title(self, key: str) -> str:
        return self.sheet(key).title

    def where(self, field_id: str) -> str:
        f = self.by_id[field_id]
        return f"{self.sheet_title(f.sheet)}!{f.cell}"

    def group(self, name: str) -> list[Field]:
        return [f for f in self.fields if f.group == name]

    def concepts(self) -> dict[str, list[Field]]:
        out: dict[str, list[Field]] = {}
        for f in self.fields:
            if f.concept:
                out.setdefault(f.concept, []).append(f)
        return {k: v for k, v in out.items() if len(v) > 1}


# -- the built form as plain data (kept in the derived cache, see form/derived.py) ----------

def form_to_plain(form: Form) -> dict:
    """*form* as marshal-able data: str, numbers, tuples, lists, dicts (TypeError if it cannot be)."""
    from xltool.form.expr import to_plain

    def sheet(s: Sheet) -> tuple:
        texts = tuple((t.cell, t.text, t.style.value, t.merge_to, t.indent) for t in s.texts)
        return (s.key, s.title, texts, dict(s.col_widths), s.freeze, s.print_title_rows, s.landscape,
                tuple(s.merges), dict(s.tall_rows))

    def field_(f: Field) -> tuple:
        return tuple(to_plain(v) if isinstance(v, Expr) else v.value if isinstance(v, Enum) else v
                     for v in (getattr(f, n) for n in _FIELD_NAMES))

    data = {n: getattr(form, n) for n in _FORM_NAMES}
    data["sheets"] = tuple(sheet(s) for s in form.sheets)
    data["fields"] = tuple(field_(f) for f in form.fields)
    return data


def form_from_plain(data: dict) -> Form:
    from xltool.form.expr import from_plain

    sheets = [Sheet(key=k, title=t, texts=[Text(cell=c, text=x, style=Style(st), merge_to=m, indent=i)
                                           for c, x, st, m, i in texts],
                    col_widths=w, freeze=fr, print_title_rows=pt, landscape=ls, merges=list(mg), tall_rows=tr)
              for k, t, texts, w, fr, pt, ls, mg, tr in data["sheets"]]
    formula_at = _FIELD_NAMES.index("formula")
    fields_ = [Field(**{n: (from_plain(v) if k == formula_at and v is not None else v)
                        for k, (n, v) in enumerate(zip(_FIELD_NAMES, row))}) for row in data["fields"]]
    return Form(**{n: data[n] for n in _FORM_NAMES}, sheets=sheets, fields=fields_)


_FIELD_NAMES = tuple(f.name for f in fields(Field))
_FORM_NAMES = tuple(f.name for f in fields(Form) if f.name not in ("sheets", "fields"))
