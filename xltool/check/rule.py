"""Rules as data: a Rule is a code with a severity and docs; a Check is one instance.

A Check compares two expressions over field ids (``lhs op rhs`` within a tolerance).
The same Check evaluates in Python (the checker, the add-in) and renders as an Excel
formula (the live 审核 sheet), so both always apply the same rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from xltool.check.finding import Severity
from xltool.form.expr import Expr, PyCompiler

EPS = 1e-6  # the slack of the Excel rendering (Excel compares binary floats)
# Python compares in decimal: each side is a sum of figures stated to at most a few decimals,
# so rounding it to 9 places removes the binary noise (89.99 − 89.97 = 0.0199999…) and the
# comparison with the allowance ((n+1) × 0.005) is exact.
_PLACES = Decimal("1e-9")


@dataclass(frozen=True)
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


@dataclass(frozen=True)  # compiled and cached by identity (see _sides, evaluate_many): never changed
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


@dataclass(frozen=True)
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


def batch_functions(checks: tuple[Check, ...], key: str | None = None) -> list[Callable[[Mapping[str, object]], tuple | None]]:
    """One side function per check, from one generated module for the whole tuple.

    The module's code object is kept in the on-disk cache (``xltool.cache``) under a digest of
    its source and of the interpreter's bytecode version, so a process whose rule set was
    compiled before (by any earlier process) only loads it; the constants the source names
    (field ids, numbers) are rebuilt by the same walk that writes the source. With *key* (what
    the tuple was built from: pack, year, settings, code), code and constants are stored
    together and the walk is skipped too.
    """
    hit = _BATCHES.get(id(checks))
    if hit is not None and hit[0] is checks:
        return hit[1]
    functions = _stored_batch(key, len(checks)) if key else None
    if functions is None:
        functions = _compiled_batch(checks, key)
    if len(_BATCHES) > 64:
        _BATCHES.clear()
    _BATCHES[id(checks)] = (checks, functions)
    return functions


def _stored_batch(key: str, n: int):
    import marshal

    from xltool import cache

    data = cache.read(f"rules/{key}.batch")
    if data is None:
        return None
    try:
        count, constants, code = marshal.loads(data)
        if count != n or not isinstance(constants, dict) or not hasattr(code, "co_code"):
            return None
        namespace = PyCompiler().namespace
        namespace.update(constants)
        exec(code, namespace)  # noqa: S102 - compiled by _compiled_batch from our own source
        functions = list(namespace["_FNS"])
    except Exception:  # noqa: BLE001 - a damaged entry: compile afresh
        return None
    return functions if len(functions) == n and all(callable(f) for f in functions) else None


def _compiled_batch(checks: tuple[Check, ...], key: str | None):
    c = PyCompiler()
    parts, names, fallback = [], [], {}
    for n, check in enumerate(checks):
        try:
            parts.append(_sides_source(c, check, f"_s{n}"))
            names.append(f"_s{n}")
        except (RecursionError, MemoryError, ValueError):  # absurdly deep trees: interpreted
            fallback[n] = lambda values, check=check: _sides_slow(check, values)
            names.append("None")
    source = "".join(parts) + "_FNS = (" + "".join(f"{name}, " for name in names) + ")\n"
    try:
        code = _code(source)
        exec(code, c.namespace)  # noqa: S102 - our own source, from our own expressions
        functions = [fallback.get(n) or fn for n, fn in enumerate(c.namespace["_FNS"])]
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return [_sides(check) for check in checks]
    constants = {k: v for k, v in c.namespace.items() if k.startswith("_k")}
    if key and not fallback and all(type(v) in (str, int, float, bool) for v in constants.values()):
        import marshal

        from xltool import cache

        cache.write(f"rules/{key}.batch", marshal.dumps((len(checks), constants, code)))
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


_CODES: dict[str, object] = {}  # source digest → code object, in this process


def _code(source: str):
    """The compiled *source*: from this process, the on-disk cache, or compiled (and stored)."""
    import hashlib
    import marshal
    from importlib.util import MAGIC_NUMBER

    from xltool import cache

    digest = hashlib.sha256(MAGIC_NUMBER + source.encode("utf-8")).hexdigest()[:40]
    code = _CODES.get(digest)
    if code is not None:
        return code
    name = f"rules/{digest}.code"
    data = cache.read(name)
    if data is not None:
        try:
            code = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            code = None
    if code is None or not hasattr(code, "co_code"):
        code = compile(source, "<xltool rules>", "exec")
        cache.write(name, marshal.dumps(code))
    if len(_CODES) > 16:
        _CODES.clear()
    _CODES[digest] = code
    return code


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
