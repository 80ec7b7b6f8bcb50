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

import math

from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from xltool.record import fields, record

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
    """Base class; subclasses are frozen records."""

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


@record
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


@record
class Const(Expr):
    value: float

    def evaluate(self, values: Values) -> float | None:
        return self.value

    def to_excel(self, cell_of: CellOf) -> str:
        return _fmt_const(self.value)

    def terms(self) -> int:
        return 0


@record
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


@record
class Sub(Expr):
    left: Expr
    right: Expr

    def children(self) -> Iterable[Expr]:
        return (self.left, self.right)

    def evaluate(self, values: Values) -> float | None:
        return (self.left.evaluate(values) or 0.0) - (self.right.evaluate(values) or 0.0)

    def to_excel(self, cell_of: CellOf) -> str:
        return f"({self.left.to_excel(cell_of)}-{self.right.to_excel(cell_of)})"


@record
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


@record
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


@record
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


@record
class Min(Expr):
    items: tuple[Expr, ...]

    def children(self) -> Iterable[Expr]:
        return self.items

    def evaluate(self, values: Values) -> float | None:
        got = [v for v in (i.evaluate(values) for i in self.items) if v is not None]
        return min(got) if got else None

    def to_excel(self, cell_of: CellOf) -> str:
        return "MIN(" + ",".join(i.to_excel(cell_of) for i in self.items) + ")"


@record
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


@record
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


@record
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


@record
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


@record
class IsText(Expr):
    """1.0 when a field holds text rather than a number (Excel's ISTEXT)."""

    id: str

    def evaluate(self, values: Values) -> float | None:
        value = values.get(self.id)
        return 1.0 if isinstance(value, str) and value.strip() else 0.0

    def to_excel(self, cell_of: CellOf) -> str:
        return f"ISTEXT({cell_of(self.id)})"

    def refs(self) -> list[str]:
        return [self.id]


@record
class CountNamed(Expr):
    """How many of the fields hold a name other than ``skip`` (e.g. 三级指标 not written 无).

    ``span`` is set when the fields are one column's consecutive cells: Excel then counts the
    range with SUMPRODUCT instead of one term per cell (a formula stays short however many
    rows a pack gives)."""

    ids: tuple[str, ...]
    skip: str = ""
    span: bool = False

    def evaluate(self, values: Values) -> float | None:
        n = 0
        for i in self.ids:
            value = values.get(i)
            text = value.strip() if isinstance(value, str) else "" if value is None else str(value)
            n += bool(text) and text != self.skip
        return float(n)

    def to_excel(self, cell_of: CellOf) -> str:
        skip = self.skip.replace('"', '""')
        if self.span and len(self.ids) > 1:
            first, last = cell_of(self.ids[0]), cell_of(self.ids[-1])
            rng = f"{first}:{last.rsplit('!', 1)[-1]}"
            return f'SUMPRODUCT((LEN(TRIM({rng}))>0)*(TRIM({rng})<>"{skip}"))'
        return "(" + "+".join(f'(LEN(TRIM({cell_of(i)}))>0)*(TRIM({cell_of(i)})<>"{skip}")' for i in self.ids) + ")"

    def refs(self) -> list[str]:
        return list(dict.fromkeys(self.ids))


@record
class Count(Expr):
    """How many of the fields hold a number (Excel's COUNT)."""

    ids: tuple[str, ...]

    def evaluate(self, values: Values) -> float | None:
        return float(sum(_num(values.get(i)) is not None for i in self.ids))

    def to_excel(self, cell_of: CellOf) -> str:
        return "COUNT(" + ",".join(cell_of(i) for i in self.ids) + ")"

    def refs(self) -> list[str]:
        return list(dict.fromkeys(self.ids))


@record
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


@record
class And(Expr):
    items: tuple[Expr, ...]

    def children(self) -> Iterable[Expr]:
        return self.items

    def evaluate(self, values: Values) -> float | None:
        return 1.0 if all(i.evaluate(values) for i in self.items) else 0.0

    def to_excel(self, cell_of: CellOf) -> str:
        return "AND(" + ",".join(i.to_excel(cell_of) for i in self.items) + ")"


@record
class Or(Expr):
    items: tuple[Expr, ...]

    def children(self) -> Iterable[Expr]:
        return self.items

    def evaluate(self, values: Values) -> float | None:
        return 1.0 if any(i.evaluate(values) for i in self.items) else 0.0

    def to_excel(self, cell_of: CellOf) -> str:
        return "OR(" + ",".join(i.to_excel(cell_of) for i in self.items) + ")"


@record
class Abs(Expr):
    inner: Expr

    def children(self) -> Iterable[Expr]:
        return (self.inner,)

    def evaluate(self, values: Values) -> float | None:
        value = self.inner.evaluate(values)
        return None if value is None else abs(value)

    def to_excel(self, cell_of: CellOf) -> str:
        return f"ABS({self.inner.to_excel(cell_of)})"


@record
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
    if not math.isfinite(value) or abs(value) >= 1e15:
        return value  # beyond two-decimal precision anyway (and Decimal.quantize would overflow)
    near = round(value, digits)
    if abs(value - near) <= min(1e-6, 1e-9 * max(1.0, abs(value))):
        return near + 0.0  # already stated to *digits* (no tie to break): the common case, without Decimal
    return float(Decimal(repr(value)).quantize(_quantum(digits), rounding=ROUND_HALF_UP))


@lru_cache(maxsize=32)
def _quantum(digits: int) -> Decimal:
    return Decimal(1).scaleb(-digits)


def evaluate_all(formulas: Mapping[str, Expr], inputs: Values,
                 fixed: Mapping[str, float] | None = None) -> dict[str, float | None]:
    """Evaluate derived fields that may depend on each other (the form is acyclic). *fixed*:
    derived fields whose value is given instead (a sub-total a Word report states without its rows)."""
    values: dict[str, object] = dict(inputs)
    done: dict[str, float | None] = {}
    fixed = fixed or {}
    compile_all(formulas.values())
    for field_id in _evaluation_order(formulas):
        value = fixed[field_id] if field_id in fixed else compiled(formulas[field_id])(values)
        done[field_id] = values[field_id] = value
    return done


_ORDERS: dict[int, tuple[Mapping[str, Expr], tuple[tuple[str, Expr], ...], tuple[str, ...]]] = {}


def _evaluation_order(formulas: Mapping[str, Expr]) -> tuple[str, ...]:
    """Derived field ids, each after the ones it reads (depth first, in declaration order).

    Remembered per mapping (a form's formulas are one dict, evaluated for every workbook);
    a remembered order is used only while the mapping still holds the same expressions.
    """
    hit = _ORDERS.get(id(formulas))
    if (hit is not None and hit[0] is formulas and len(hit[1]) == len(formulas)
            and all(formulas.get(k) is e for k, e in hit[1])):
        return hit[2]
    order: dict[str, None] = {}
    # Depth first without recursion: a pack may chain thousands of derived fields.
    for root in formulas:
        if root in order:
            continue
        path: list[str] = [root]
        on_path = {root}
        pending = [iter([r for r in formulas[root].refs() if r in formulas])]
        while pending:
            child = next(pending[-1], None)
            if child is None:
                pending.pop()
                done = path.pop()
                on_path.discard(done)
                order[done] = None
                continue
            if child in order:
                continue
            if child in on_path:
                raise ValueError(f"cyclic formula through {child}")
            path.append(child)
            on_path.add(child)
            pending.append(iter([r for r in formulas[child].refs() if r in formulas]))
    if len(_ORDERS) > 64:
        _ORDERS.clear()
    _ORDERS[id(formulas)] = (formulas, tuple(formulas.items()), tuple(order))
    return tuple(order)


# -- compiled evaluation -------------------------------------------------------------------
#
# The checker evaluates some 750 rule instances and 40 derived figures per workbook; walking
# the trees (a method call and an isinstance per node) was most of its time. ``compiled``
# turns a tree into the source of ONE Python function with the same semantics node by node
# (blank = 0, None propagation, short-circuits of If/And/Or/Div, sum() over the items), and
# caches it per expression object. Node types it does not know are called through their own
# ``evaluate``, so a new node type is always correct, only not faster.

_COMPILED: dict[int, tuple[Expr, Callable[[Values], object]]] = {}


def compiled(expr: Expr) -> Callable[[Values], object]:
    """A function of the values computing exactly ``expr.evaluate(values)``."""
    hit = _COMPILED.get(id(expr))
    if hit is not None and hit[0] is expr:
        return hit[1]
    compiler = PyCompiler()
    try:
        fn = compiler.function(compiler.expr(expr))
    except (SyntaxError, RecursionError, MemoryError, ValueError):  # absurdly deep trees
        fn = expr.evaluate
    _remember(expr, fn)
    return fn


def _remember(expr: Expr, fn: Callable[[Values], object]) -> None:
    if len(_COMPILED) > 100_000:
        _COMPILED.clear()
    _COMPILED[id(expr)] = (expr, fn)  # holding expr keeps its id from being reused


def compile_all(exprs: Iterable[Expr]) -> None:
    """``compiled`` for every expression of *exprs* at once: one module whose code object is kept
    in the on-disk cache (``xltool.cache.code``), so a process does not compile a form's derived
    figures again (writing the source is a small part of compiling it). An expression that
    cannot be written is left to ``compiled``."""
    compiler, bodies = PyCompiler(), []
    for e in exprs:
        hit = _COMPILED.get(id(e))
        if hit is not None and hit[0] is e:
            continue
        try:
            bodies.append((e, compiler.expr(e)))
        except (RecursionError, MemoryError, ValueError):  # absurdly deep trees: ``compiled`` decides
            continue
    if len(bodies) < 2:
        return
    from xltool import cache

    source = "".join(f"def _f{n}(v):\n    return {body}\n" for n, (_e, body) in enumerate(bodies))
    try:
        exec(cache.code(source, "<xltool formulas>"), compiler.namespace)  # noqa: S102 - our own source
    except (SyntaxError, RecursionError, MemoryError, ValueError):  # one too deep: each compiled alone
        return
    for n, (e, _body) in enumerate(bodies):
        _remember(e, compiler.namespace[f"_f{n}"])


def _mul(a: float | None, b: float | None) -> float | None:
    if a is None and b is None:
        return None
    return (a or 0.0) * (b or 0.0)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else excel_round(value, digits)


def _min(items: tuple[float | None, ...]) -> float | None:
    got = [v for v in items if v is not None]
    return min(got) if got else None


def _max(items: tuple[float | None, ...]) -> float | None:
    got = [v for v in items if v is not None]
    return max(got) if got else None


def _abs(value: float | None) -> float | None:
    return None if value is None else abs(value)


def _named(value: object, skip: str) -> bool:
    """CountNamed's test of one field (see CountNamed.evaluate)."""
    text = value.strip() if isinstance(value, str) else "" if value is None else str(value)
    return bool(text) and text != skip


_CMP_PY = {"=": "==", "<=": "<=", ">=": ">=", "<": "<", ">": ">"}


class PyCompiler:
    """Python source for expressions over a mapping ``v``; constants live in ``namespace``."""

    def __init__(self) -> None:
        self.namespace: dict[str, object] = {
            "_num": _num, "_mul": _mul, "_round": _round, "_min": _min, "_max": _max, "_abs": _abs, "_named": _named,
            "_sum": sum, "isinstance": isinstance, "float": float, "str": str,
        }
        self.count = 0

    def constant(self, value: object) -> str:
        name = f"_k{self.count}"
        self.count += 1
        self.namespace[name] = value
        return name

    def temp(self) -> str:
        name = f"_t{self.count}"
        self.count += 1
        return name

    def function(self, body: str, name: str = "_compiled") -> Callable[[Values], object]:
        exec(f"def {name}(v):\n    return {body}\n", self.namespace)  # noqa: S102 - our own source
        return self.namespace[name]  # type: ignore[return-value]

    def expr(self, e: Expr) -> str:  # noqa: C901 - one branch per node type
        t = type(e)
        if t is Ref:
            x = self.temp()
            return f'(0.0 if ({x} := v.get({self.constant(e.id)})) is None or {x} == "" else _num({x}))'
        if t is Const:
            return self.constant(e.value)
        if t is Sum:
            return "_sum((" + "".join(f"({self.expr(i)} or 0.0), " for i in e.items) + "))"
        if t is Sub:
            return f"(({self.expr(e.left)} or 0.0) - ({self.expr(e.right)} or 0.0))"
        if t is Mul:
            return f"_mul({self.expr(e.left)}, {self.expr(e.right)})"
        if t is Div:
            b = self.temp()
            return f"(None if not ({b} := {self.expr(e.right)}) else ({self.expr(e.left)} or 0.0) / {b})"
        if t is Round:
            return f"_round({self.expr(e.inner)}, {self.constant(e.digits)})"
        if t is Min or t is Max:
            items = "".join(f"{self.expr(i)}, " for i in e.items)
            return f"{'_min' if t is Min else '_max'}(({items}))"
        if t is Cmp and e.op in _CMP_PY:
            return f"(1.0 if ({self.expr(e.left)} or 0.0) {_CMP_PY[e.op]} ({self.expr(e.right)} or 0.0) else 0.0)"
        if t is TextIs:
            x = self.temp()
            return (f"(1.0 if isinstance(({x} := v.get({self.constant(e.id)})), str) "
                    f"and {x}.strip() == {self.constant(e.text)} else 0.0)")
        if t is Filled:
            x = self.temp()
            return (f"(0.0 if ({x} := v.get({self.constant(e.id)})) is None "
                    f"or (isinstance({x}, str) and not {x}.strip()) else 1.0)")
        if t is Count:
            return ("float(_sum((" + "".join(f"_num(v.get({self.constant(i)})) is not None, " for i in e.ids)
                    + ")))")
        if t is CountNamed:
            skip = self.constant(e.skip)
            return "float(_sum((" + "".join(f"_named(v.get({self.constant(i)}), {skip}), " for i in e.ids) + ")))"
        if t is IsText:
            x = self.temp()
            return f"(1.0 if isinstance(({x} := v.get({self.constant(e.id)})), str) and {x}.strip() else 0.0)"
        if t is If:
            return f"({self.expr(e.then)} if {self.expr(e.cond)} else {self.expr(e.other)})"
        if t is And or t is Or:
            if not e.items:
                return "1.0" if t is And else "0.0"
            joiner = " and " if t is And else " or "
            return f"(1.0 if ({joiner.join(self.expr(i) for i in e.items)}) else 0.0)"
        if t is Abs:
            return f"_abs({self.expr(e.inner)})"
        if t is Copy:
            x = self.temp()
            return f'("" if ({x} := v.get({self.constant(e.id)})) is None else {x})'
        return f"{self.constant(e)}.evaluate(v)"


def leaf_refs(expr: Expr, formulas: Mapping[str, Expr]) -> list[str]:
    """Input field ids an expression finally rests on, expanding derived fields (without
    recursion: a chain of derived fields may be long)."""
    out: dict[str, None] = {}
    seen: set[str] = set()
    stack = list(reversed(expr.refs()))
    while stack:
        ref = stack.pop()
        if ref in formulas:
            if ref not in seen:
                seen.add(ref)
                stack.extend(reversed(formulas[ref].refs()))
        else:
            out.setdefault(ref, None)
    return list(out)


__all__ = [
    "Expr", "Ref", "Const", "Sum", "Sub", "Mul", "Div", "Round", "Min", "Max",
    "Cmp", "Count", "CountNamed", "IsText", "TextIs", "Filled", "If", "And", "Or", "Abs", "Copy",
    "total", "wrap", "excel_round", "evaluate_all", "leaf_refs", "compiled", "compile_all", "PyCompiler",
]


def to_plain(expr: Expr) -> list:
    """*expr* as marshal-able data (the derived cache keeps built forms): [class name, *fields],
    an expression always a list, a tuple of values a tuple."""
    out: list = [type(expr).__name__]
    for f in fields(expr):  # type: ignore[arg-type]
        out.append(_plain_value(getattr(expr, f.name)))
    return out


def _plain_value(value: object) -> object:
    if isinstance(value, Expr):
        return to_plain(value)
    if isinstance(value, tuple):
        return tuple(_plain_value(v) for v in value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(type(value).__name__)  # not kept: the form is laid out instead


def from_plain(data: list) -> Expr:
    cls = globals().get(data[0])
    if not (isinstance(cls, type) and issubclass(cls, Expr)):
        raise ValueError(data[0])
    return cls(*(_value_from(v) for v in data[1:]))


def _value_from(value: object) -> object:
    if isinstance(value, list):
        return from_plain(value)
    if isinstance(value, tuple):
        return tuple(_value_from(v) for v in value)
    return value
