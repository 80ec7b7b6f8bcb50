"""Rules as data: a Rule is a code with a severity and docs; a Check is one instance.

A Check compares two expressions over field ids (``lhs op rhs`` within a tolerance).
The same Check evaluates in Python (the checker, the add-in) and renders as an Excel
formula (the live 审核 sheet), so both always apply the same rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation

from xltool.check.finding import Severity
from xltool.form.expr import Expr, PyCompiler
from xltool.record import field, record

EPS = 1e-6  # the slack of the Excel rendering (Excel compares binary floats)
# Python compares in decimal: each side is a sum of figures stated to at most a few decimals,
# so rounding it to 9 places removes the binary noise (89.99 − 89.97 = 0.0199999…) and the
# comparison with the allowance ((n+1) × 0.005) is exact.
_PLACES = Decimal("1e-9")


@record
class Rule:
    code: str
    severity: Severity
    title: Callable[[], str]
    message: Callable[[], str]  # format template: {lhs_label} {lhs} {rhs_label} {rhs} {diff} ...
    fix: Callable[[], str]
    what: Callable[[], str]
    why: Callable[[], str]
    example: Callable[[], str]
    live: bool = True  # rendered on the 审核 sheet
    source: Callable[[], str] = lambda: ""  # the clause or published text the rule comes from


@record  # compiled and cached by identity (see _sides, evaluate_many): never changed
class Check:
    rule: Rule
    instance: str
    lhs: Expr
    op: str  # "=", "<=", ">="
    rhs: Expr
    fields: tuple[str, ...]  # figures shown to the user, in order
    tolerance: float = 0.0
    # Rounding allowance that depends on how many figures are filled: COUNT(...) × 0.005.
    tolerance_expr: Expr | None = None
    applies: Expr | None = None
    lhs_label: str = ""
    rhs_label: str = ""
    kind: str = "amount"  # how to format the two sides: amount / rate / number
    rounding: Rule | None = None  # the rule reported when the difference is within tolerance
    params: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.rule.code}:{self.instance}"


@record
class Outcome:
    check: Check
    lhs: float
    rhs: float
    diff: float
    rule: Rule  # the rule that fired (the check's, or its rounding rule)


def evaluate(check: Check, values: Mapping[str, object]) -> Outcome | None:
    """The outcome when the check fails or leaves a rounding note; None when it passes."""
    sides = _sides(check)(values)
    return None if sides is None else _judge(check, *sides)


def _judge(check: Check, lhs: float, rhs: float, extra: float | None) -> Outcome | None:
    diff = lhs - rhs
    excess = abs(diff) if check.op == "=" else diff if check.op == "<=" else -diff
    if not (math.isfinite(lhs) and math.isfinite(rhs)):  # overflowed figures (1e308 + 1e308): no allowance
        return None if excess <= 0 else Outcome(check, lhs, rhs, diff, check.rule)  # NaN fails
    # Float noise: sums of a few dozen figures carry relative errors near 1e-14, and stated
    # figures differ by a cent (or 0.0001 of a rate) at least.
    noise = 1e-12 * max(1.0, abs(lhs), abs(rhs))
    if excess <= noise:  # equal, or on the right side
        return None
    tol = check.tolerance + (extra or 0.0)
    # Binary floats decide unless the excess is within float noise of the allowance; there
    # the decimal figures decide (30 + 0.2 + 45.67 − 75.85 is 0.0200000000000102 in floats).
    if abs(excess - tol) <= noise:
        d = exact(lhs) - exact(rhs)
        exact_excess = abs(d) if check.op == "=" else d if check.op == "<=" else -d
        passes, within = exact_excess <= 0, exact_excess <= exact(check.tolerance) + exact(extra or 0.0)
    else:
        passes, within = excess <= 0, excess <= tol
    if passes:
        return None
    if within:
        return Outcome(check, lhs, rhs, diff, check.rounding) if check.rounding else None
    return Outcome(check, lhs, rhs, diff, check.rule)


def exact(value: float) -> Decimal:
    """*value* as a decimal rounded to 9 places: the figure its binary float stands for."""
    if value != value:  # NaN never compares: treat as 0 (the figure is reported as unreadable elsewhere)
        return Decimal(0)
    if value in (float("inf"), float("-inf")):
        return Decimal("Infinity") if value > 0 else Decimal("-Infinity")
    try:
        return Decimal(repr(float(value))).quantize(_PLACES)
    except InvalidOperation:  # more digits than the context holds (≥ 1e19): already exact enough
        return Decimal(repr(float(value)))


_BATCHES: dict[int, tuple[tuple[Check, ...], list]] = {}  # id(checks) → (checks, side functions)


def evaluate_many(checks: tuple[Check, ...], values: Mapping[str, object], key: str | None = None) -> list[Outcome]:
    """``evaluate`` over a tuple of checks (``build_checks`` returns the same tuple each time).

    The whole tuple is compiled into one module on its first use (``batch_functions``), so
    the first check of a process costs what every later one does: one call per check. *key*:
    names everything the tuple was built from (see ``xltool.check.checker.run_checks``).
    """
    out = []
    for check, sides_of in zip(checks, batch_functions(checks, key)):
        sides = sides_of(values)
        if sides is not None and (outcome := _judge(check, *sides)) is not None:
            out.append(outcome)
    return out


def evaluate_stored(stored, values: Mapping[str, object]) -> list[Outcome]:
    """``evaluate_many`` over a stored rule set (``xltool.check.stored``): judged by the heads,
    and only the instances that fire are rebuilt whole for their outcome."""
    out = []
    for n, (head, sides_of) in enumerate(zip(stored.heads, batch_functions(stored, stored.key))):
        sides = sides_of(values)
        if sides is not None and (outcome := _judge(head, *sides)) is not None:
            out.append(Outcome(stored.check(n), outcome.lhs, outcome.rhs, outcome.diff, outcome.rule))
    return out


def batch_functions(checks: tuple[Check, ...], key: str | None = None) -> list[Callable[[Mapping[str, object]], tuple | None]]:
    """One side function per check, sharing code between checks that differ only in constants.

    Each check is written as a function of ``v`` whose constants (field ids, numbers) are
    parameters with defaults; checks written alike (most of a list's rows, every indicator row)
    share one code object, so the rule set's code is a few dozen small functions rather than
    one per check. The code is kept in the on-disk cache (``xltool.cache``) under a digest of its
    source and of the interpreter's bytecode version. With *key* (what the tuple was built from:
    pack, year, settings, code), each check's shape and constants are stored beside the code and
    the walk that writes the source is skipped too.
    """
    hit = _BATCHES.get(id(checks))
    if hit is not None and hit[0] is checks:
        return hit[1]
    functions = _stored_batch(key, len(checks)) if key else None
    if functions is None:
        functions = _compiled_batch(checks if type(checks) is tuple else checks.all(), key)
    if len(_BATCHES) > 64:
        _BATCHES.clear()
    _BATCHES[id(checks)] = (checks, functions)
    return functions


_PLAIN = frozenset((str, int, float, bool))  # the constants a stored batch may hold
_BATCH_FORMAT = 2  # the layout of a stored batch: (format, key, shapes' code, (shape, constants) per check)


def _stored_batch(key: str, n: int):
    from xltool import cache

    data = cache.load(f"rules/{key}.batch")
    if data is None:
        return None
    try:
        form, stored_key, codes, plan = data
        # A foreign or damaged entry (another key, another count, anything but code and plain
        # constants) is compiled afresh, never used.
        if (form != _BATCH_FORMAT or stored_key != key or type(codes) is not tuple or type(plan) is not tuple
                or len(plan) != n or not all(hasattr(code, "co_code") for code in codes)
                or not all(type(v) in _PLAIN for _shape, constants in plan for v in constants)):
            return None
        return _bind(codes, plan)
    except Exception:  # noqa: BLE001 - a damaged entry: compile afresh
        return None


def _bind(codes: tuple, plan, fallback: dict | None = None) -> list[Callable]:
    """A function per check: its shape's code with its own constants as the parameters' defaults
    (*fallback*: the checks interpreted instead, by index)."""
    from types import FunctionType

    namespace = PyCompiler().namespace
    out = []
    for n, (shape, constants) in enumerate(plan):
        if fallback and n in fallback:
            out.append(fallback[n])
            continue
        if (type(shape) is not int or not 0 <= shape < len(codes) or type(constants) is not tuple
                or codes[shape].co_argcount != len(constants) + 1 or codes[shape].co_freevars):
            raise ValueError("a check's constants do not fit its code")
        out.append(FunctionType(codes[shape], namespace, f"_s{n}", constants))
    return out


class _Params(PyCompiler):
    """Writes one check's function with its constants as parameters ``_c0, _c1, ...`` (values
    kept in ``values``) and its temporaries as locals ``_t0, ...``: checks alike read alike."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[object] = []
        self.temps = 0

    def constant(self, value: object) -> str:
        self.values.append(value)
        return f"_c{len(self.values) - 1}"

    def temp(self) -> str:
        self.temps += 1
        return f"_t{self.temps - 1}"


def _compiled_batch(checks: tuple[Check, ...], key: str | None):
    shapes: dict[str, int] = {}  # a check's source (its parameters named, not valued) → shape index
    plan, fallback = [], {}
    for n, check in enumerate(checks):
        c = _Params()
        try:
            body = _sides_source(c, check, "_f")
        except (RecursionError, MemoryError, ValueError):  # absurdly deep trees: interpreted
            fallback[n] = lambda values, check=check: _sides_slow(check, values)
            plan.append((-1, ()))
            continue
        params = "".join(f", _c{i}" for i in range(len(c.values)))
        source = body.replace("def _f(v):", f"def _f(v{params}):", 1)
        plan.append((shapes.setdefault(source, len(shapes)), tuple(c.values)))
    source = "".join(text.replace("def _f(", f"def _p{i}(", 1) for text, i in shapes.items())
    source += "_SHAPES = (" + "".join(f"_p{i}.__code__, " for i in range(len(shapes))) + ")\n"
    try:
        namespace = PyCompiler().namespace
        exec(_code(source), namespace)  # noqa: S102 - our own source, from our own expressions
        codes = namespace["_SHAPES"]
        functions = _bind(codes, plan, fallback)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return [_sides(check) for check in checks]
    if key and not fallback and all(type(v) in _PLAIN for _shape, k in plan for v in k):
        from xltool import cache

        cache.store(f"rules/{key}.batch", (_BATCH_FORMAT, key, codes, tuple(plan)))
    return functions


def _sides_source(c: PyCompiler, check: Check, name: str) -> str:
    lines = []
    if check.applies is not None:
        lines.append(f"if not {c.expr(check.applies)}: return None")
    lines.append(f"lhs = {c.expr(check.lhs)}")
    lines.append(f"rhs = {c.expr(check.rhs)}")
    lines.append("if lhs is None or rhs is None: return None")
    extra = c.expr(check.tolerance_expr) if check.tolerance_expr is not None else "0.0"
    lines.append(f"return lhs, rhs, {extra}")
    return f"def {name}(v):\n" + "".join(f"    {line}\n" for line in lines)


def _code(source: str):
    """The compiled *source*: from this process, the on-disk cache, or compiled (and stored)."""
    from xltool import cache

    return cache.code(source, "<xltool rules>", "rules")


# Each check compiles once into one Python function (see xltool.form.expr.compiled) that
# returns None when the check does not apply or a side is undefined, else (lhs, rhs, the
# rounding allowance's variable part). Remembered per check object, and only while the
# check still holds the same expressions. (Single checks: the add-in, the Word report.)
_SIDES: dict[int, tuple] = {}  # id(check) → (check, applies, lhs, rhs, tolerance_expr, function)


def _sides(check: Check) -> Callable[[Mapping[str, object]], tuple | None]:
    hit = _SIDES.get(id(check))
    if (hit is not None and hit[0] is check and hit[1] is check.applies and hit[2] is check.lhs
            and hit[3] is check.rhs and hit[4] is check.tolerance_expr):
        if hit[5] is not None:
            return hit[5]
        fn = _compile_sides(check)  # second use: worth compiling
    else:
        fn = None  # first use: interpret (one check compiled alone costs more than one evaluation)
    if len(_SIDES) > 50_000:
        _SIDES.clear()
    _SIDES[id(check)] = (check, check.applies, check.lhs, check.rhs, check.tolerance_expr, fn)
    return fn or (lambda values, check=check: _sides_slow(check, values))


def _compile_sides(check: Check) -> Callable[[Mapping[str, object]], tuple | None]:
    c = PyCompiler()
    try:
        exec(_sides_source(c, check, "_sides"), c.namespace)  # noqa: S102
        return c.namespace["_sides"]  # type: ignore[return-value]
    except (SyntaxError, RecursionError, MemoryError, ValueError):  # absurdly deep trees
        return lambda values: _sides_slow(check, values)


def _sides_slow(check: Check, values: Mapping[str, object]) -> tuple | None:
    if check.applies is not None and not check.applies.evaluate(values):
        return None
    lhs, rhs = check.lhs.evaluate(values), check.rhs.evaluate(values)
    if lhs is None or rhs is None:
        return None
    return lhs, rhs, check.tolerance_expr.evaluate(values) if check.tolerance_expr is not None else 0.0


def allowance(check: Check, values: Mapping[str, object]) -> Decimal:
    """The exact allowance: the fixed tolerance plus (number of stated figures) × 0.005."""
    extra = check.tolerance_expr.evaluate(values) if check.tolerance_expr is not None else 0.0
    return exact(check.tolerance) + exact(extra or 0.0)


def allowance_excel(check: Check, ref: Callable[[str], str]) -> str:
    tol = f"{check.tolerance:g}"
    if check.tolerance_expr is None:
        return tol
    return f"({tol}+{check.tolerance_expr.to_excel(ref)})"
