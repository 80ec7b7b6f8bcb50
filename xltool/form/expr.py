"""A small expression tree over field ids, with two renderings.

Every derived figure and every check is written once as an expression. The template
writer renders it as an Excel formula (``to_excel``) and the checker evaluates it in
Python (``evaluate``); tests recalculate the workbook in LibreOffice and compare both.

Only functions that Excel 2010 and WPS both have are emitted: SUM, ROUND, ABS, IF,
AND, OR, MIN, MAX, ISNUMBER.

Blank inputs follow spreadsheet semantics: a blank counts as 0 in arithmetic. A
division by zero yields ``None`` in Python and an empty string in Excel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

Values = Mapping[str, object]
CellOf = Callable[[str], str]


def _num(value: object) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    return None


def _fmt_const(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


class Expr:
    """Base class; subclasses are frozen dataclasses."""

    def evaluate(self, values: Values) -> float | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_excel(self, cell_of: CellOf) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def refs(self) -> list[str]:
        """Field ids this expression reads, in order, without duplicates."""
        seen: dict[str, None] = {}
        for child in self.children():
            for ref in child.refs():
                seen.setdefault(ref, None)
        return list(seen)

    def children(self) -> Iterable[Expr]:
        return ()

    def terms(self) -> int:
        """How many stated (rounded) figures feed this expression: drives tolerance."""
        return sum(child.terms() for child in self.children())

    # Operator sugar so the form can be declared as ordinary arithmetic.
    def __add__(self, other: Expr | float) -> Expr:
        return Sum((self, wrap(other)))

    def __radd__(self, other: float) -> Expr:
        return Sum((wrap(other), self))

    def __sub__(self, other: Expr | float) -> Expr:
        return Sub(self, wrap(other))

    def __mul__(self, other: Expr | float) -> Expr:
        return Mul(self, wrap(other))

    def __truediv__(self, other: Expr | float) -> Expr:
        return Div(self, wrap(other))


def wrap(value: Expr | float) -> Expr:
    return value if isinstance(value, Expr) else Const(float(value))


@dataclass(frozen=True)
class Ref(Expr):
    id: str

    def evaluate(self, values: Values) -> float | None:
        value = values.get(self.id)
        if value is None or value == "":
            return 0.0  # a blank cell counts as 0, as in Excel
        return _num(value)  # text is not a number: None (Excel: #VALUE!)

    def to_excel(self, cell_of: CellOf) -> str:
        return cell_of(self.id)

    def refs(self) -> list[str]:
        return [self.id]

    def terms(self) -> int:
        return 1


@dataclass(frozen=True)
class Const(Expr):
    value: float

    def evaluate(self, values: Values) -> float | None:
        return self.value

    def to_excel(self, cell_of: CellOf) -> str:
        return _fmt_const(self.value)

    def terms(self) -> int:
        return 0


@dataclass(frozen=True)
class Sum(Expr):
    items: tuple[Expr, ...]

    def children(self) -> Iterable[Expr]:
        return self.items

    def evaluate(self, values: Values) -> float | None:
        return sum((item.evaluate(values) or 0.0) for item in self.items)

    def to_excel(self, cell_of: CellOf) -> str:
        return "SUM(" + ",".join(item.to_excel(cell_of) for item in self.items) + ")"

    def __add__(self, other: Expr | float) -> Expr:
        return Sum(self.items + (wrap(other),))


def total(ids: Iterable[str]) -> Sum:
    return Sum(tuple(Ref(i) for i in ids))


@dataclass(frozen=True)
class Sub(Expr):
    left: Expr
    right: Expr

    def children(self) -> Iterable[Expr]:
        return (self.left, self.right)

    def evaluate(self, values: Values) -> float | None:
        return (self.left.evaluate(values) or 0.0) - (self.right.evaluate(values) or 0.0)

    def to_excel(self, cell_of: CellOf) -> str:
        return f"({self.left.to_excel(cell_of)}-{self.right.to_excel(cell_of)})"


@dataclass(frozen=True)
class Mul(Expr):
    left: Expr
    right: Expr

    def children(self) -> Iterable[Expr]:
        return (self.left, self.right)

    def evaluate(self, values: Values) -> float | None:
        a, b = self.left.evaluate(values), self.right.evaluate(values)
        if a is None and b is None:
            return None
        return (a or 0.0) * (b or 0.0)

    def to_excel(self, cell_of: CellOf) -> str:
        return f"({self.left.to_excel(cell_of)}*{self.right.to_excel(cell_of)})"


@dataclass(frozen=True)
class Div(Expr):
    """a / b; undefined (None, or "" in Excel) when b is blank or zero."""

    left: Expr
    right: Expr

    def children(self) -> Iterable[Expr]:
        return (self.left, self.right)

    def evaluate(self, values: Values) -> float | None:
        b = self.right.evaluate(values)
        if not b:
            return None
        return (self.left.evaluate(values) or 0.0) / b

    def to_excel(self, cell_of: CellOf) -> str:
        num, den = self.left.to_excel(cell_of), self.right.to_excel(cell_of)
        return f'IF(N({den})=0,"",{num}/{den})'


@dataclass(frozen=True)
class Round(Expr):
    inner: Expr
    digits: int = 2

    def children(self) -> Iterable[Expr]:
        return (self.inner,)

    def evaluate(self, values: Values) -> float | None:
        value = self.inner.evaluate(values)
        return None if value is None else excel_round(value, self.digits)

    def to_excel(self, cell_of: CellOf) -> str:
        return f"ROUND({self.inner.to_excel(cell_of)},{self.digits})"


@dataclass(frozen=True)
class Min(Expr):
    items: tuple[Expr, ...]

    def children(self) -> Iterable[Expr]:
        return self.items

    def evaluate(self, values: Values) -> float | None:
        got = [v for v in (i.evaluate(values) for i in self.items) if v is not None]
        return min(got) if got else None

    def to_excel(self, cell_of: CellOf) -> str:
        return "MIN(" + ",".join(i.to_excel(cell_of) for i in self.items) + ")"


@dataclass(frozen=True)
class Max(Expr):
    items: tuple[Expr, ...]

    def children(self) -> Iterable[Expr]:
        return self.items

    def evaluate(self, values: Values) -> float | None:
        got = [v for v in (i.evaluate(values) for i in self.items) if v is not None]
        return max(got) if got else None

    def to_excel(self, cell_of: CellOf) -> str:
        return "MAX(" + ",".join(i.to_excel(cell_of) for i in self.items) + ")"


_OPS = {
    "=": lambda a, b: a == b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
}


@dataclass(frozen=True)
class Cmp(Expr):
    """A comparison yielding 1.0 or 0.0 (TRUE/FALSE inside Excel's IF)."""

    op: str
    left: Expr
    right: Expr

    def children(self) -> Iterable[Expr]:
        return (self.left, self.right)

    def evaluate(self, values: Values) -> float | None:
        a, b = self.left.evaluate(values) or 0.0, self.right.evaluate(values) or 0.0
        return 1.0 if _OPS[self.op](a, b) else 0.0

    def to_excel(self, cell_of: CellOf) -> str:
        return f"({self.left.to_excel(cell_of)}{self.op}{self.right.to_excel(cell_of)})"


@dataclass(frozen=True)
class TextIs(Expr):
    """1.0 when a text field holds exactly ``text`` (after trimming)."""

    id: str
    text: str

    def evaluate(self, values: Values) -> float | None:
        value = values.get(self.id)
        return 1.0 if isinstance(value, str) and value.strip() == self.text else 0.0

    def to_excel(self, cell_of: CellOf) -> str:
        text = self.text.replace('"', '""')
        return f'(TRIM({cell_of(self.id)})="{text}")'

    def refs(self) -> list[str]:
        return [self.id]


@dataclass(frozen=True)
class Filled(Expr):
    """1.0 when a field holds anything (a number or non-blank text)."""

    id: str

    def evaluate(self, values: Values) -> float | None:
        value = values.get(self.id)
        return 0.0 if value is None or (isinstance(value, str) and not value.strip()) else 1.0

    def to_excel(self, cell_of: CellOf) -> str:
        return f'(LEN(TRIM({cell_of(self.id)}))>0)'

    def refs(self) -> list[str]:
        return [self.id]


@dataclass(frozen=True)
class Count(Expr):
    """How many of the fields hold a number (Excel's COUNT)."""

    ids: tuple[str, ...]

    def evaluate(self, values: Values) -> float | None:
        return float(sum(_num(values.get(i)) is not None for i in self.ids))

    def to_excel(self, cell_of: CellOf) -> str:
        return "COUNT(" + ",".join(cell_of(i) for i in self.ids) + ")"

    def refs(self) -> list[str]:
        return list(dict.fromkeys(self.ids))


@dataclass(frozen=True)
class If(Expr):
    cond: Expr
    then: Expr
    other: Expr

    def children(self) -> Iterable[Expr]:
        return (self.cond, self.then, self.other)

    def evaluate(self, values: Values) -> float | None:
        return self.then.evaluate(values) if self.cond.evaluate(values) else self.other.evaluate(values)

    def to_excel(self, cell_of: CellOf) -> str:
        c, a, b = (e.to_excel(cell_of) for e in (self.cond, self.then, self.other))
        return f"IF({c},{a},{b})"

    def terms(self) -> int:
        return max(self.then.terms(), self.other.terms())


@dataclass(frozen=True)
class And(Expr):
    items: tuple[Expr, ...]

    def children(self) -> Iterable[Expr]:
        return self.items

    def evaluate(self, values: Values) -> float | None:
        return 1.0 if all(i.evaluate(values) for i in self.items) else 0.0

    def to_excel(self, cell_of: CellOf) -> str:
        return "AND(" + ",".join(i.to_excel(cell_of) for i in self.items) + ")"


@dataclass(frozen=True)
class Or(Expr):
    items: tuple[Expr, ...]

    def children(self) -> Iterable[Expr]:
        return self.items

    def evaluate(self, values: Values) -> float | None:
        return 1.0 if any(i.evaluate(values) for i in self.items) else 0.0

    def to_excel(self, cell_of: CellOf) -> str:
        return "OR(" + ",".join(i.to_excel(cell_of) for i in self.items) + ")"


@dataclass(frozen=True)
class Abs(Expr):
    inner: Expr

    def children(self) -> Iterable[Expr]:
        return (self.inner,)

    def evaluate(self, values: Values) -> float | None:
        value = self.inner.evaluate(values)
        return None if value is None else abs(value)

    def to_excel(self, cell_of: CellOf) -> str:
        return f"ABS({self.inner.to_excel(cell_of)})"


@dataclass(frozen=True)
class Copy(Expr):
    """The raw content of another field, text included (footer fields, unit name)."""

    id: str

    def evaluate(self, values: Values) -> object:  # type: ignore[override]
        value = values.get(self.id)
        return "" if value is None else value

    def to_excel(self, cell_of: CellOf) -> str:
        ref = cell_of(self.id)
        return f'IF({ref}="","",{ref})'

    def refs(self) -> list[str]:
        return [self.id]


def excel_round(value: float, digits: int = 2) -> float:
    """Round half away from zero, as Excel's ROUND does (Python's round is banker's)."""
    from decimal import ROUND_HALF_UP, Decimal

    quantum = Decimal(1).scaleb(-digits)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def evaluate_all(formulas: Mapping[str, Expr], inputs: Values) -> dict[str, float | None]:
    """Evaluate derived fields that may depend on each other (the form is acyclic)."""
    values: dict[str, object] = dict(inputs)
    done: dict[str, float | None] = {}

    def visit(field_id: str, stack: tuple[str, ...] = ()) -> None:
        if field_id in done:
            return
        if field_id in stack:
            raise ValueError(f"cyclic formula through {field_id}")
        expr = formulas[field_id]
        for ref in expr.refs():
            if ref in formulas:
                visit(ref, stack + (field_id,))
        done[field_id] = values[field_id] = expr.evaluate(values)

    for field_id in formulas:
        visit(field_id)
    return done


def leaf_refs(expr: Expr, formulas: Mapping[str, Expr]) -> list[str]:
    """Input field ids an expression finally rests on, expanding derived fields."""
    out: dict[str, None] = {}
    for ref in expr.refs():
        if ref in formulas:
            for leaf in leaf_refs(formulas[ref], formulas):
                out.setdefault(leaf, None)
        else:
            out.setdefault(ref, None)
    return list(out)


__all__ = [
    "Expr", "Ref", "Const", "Sum", "Sub", "Mul", "Div", "Round", "Min", "Max",
    "Cmp", "Count", "TextIs", "Filled", "If", "And", "Or", "Abs", "Copy",
    "total", "wrap", "excel_round", "evaluate_all", "leaf_refs",
]
