"""The readable formula syntax of form packs, parsed into the expression tree of expr.py.

    fin_staff_cost + fin_public_cost          sum(fin_proj_*_amount)
    base_staff_active / base_staff_quota      copy(info_preparer)

Operators + - * / and parentheses; numbers; field ids; the functions sum, min, max, abs,
round(x, digits) and copy(id). In a reference, ``*`` stands for the row numbers of a list
(or the rows of the indicator tree): ``sum(proj_*_actual)`` adds that column of every row.
Nothing is ever handed to Python's eval: the text is tokenised and parsed here, and the
result is built from the same node classes the Python-declared form used, with the same
operator sugar (``a + b + c`` is one SUM), so both give identical Excel formulas.

A pack is hostile input: the text is bounded in length, the parser counts how deeply it has
descended (brackets, functions, a leading minus) before each step down, and the tree it
builds is bounded in depth (``a - b - c - …`` nests one node per operator), so no formula
can take the parser, or anything that later walks the tree, near Python's recursion limit.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence

from xltool.form.bounds import LIMITS
from xltool.form.expr import Abs, Const, Copy, Expr, Max, Min, Ref, Round, Sum
from xltool.record import record

MAX_NESTING = LIMITS.formula_depth  # brackets, function calls and leading minus signs, one inside another
MAX_TREE = 2 * LIMITS.formula_depth  # nodes on the longest path of the built expression

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:(?<=_)\*[A-Za-z0-9_]*)*)|(?P<op>[-+*/(),]))")


class FormulaError(ValueError):
    """A formula that cannot be read; ``code`` selects the message, ``detail`` fills it."""

    def __init__(self, code: str, detail: str = "", position: int = 0) -> None:
        super().__init__(f"{code}: {detail} @{position}")
        self.code = code
        self.detail = detail
        self.position = position


@record(frozen=False)
class _Tok:
    kind: str  # num / name / op / end
    text: str
    pos: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            raise FormulaError("bad_char", text[pos:].lstrip()[:1], pos)
        kind = m.lastgroup or "op"
        out.append(_Tok(kind, m[kind], m.start(kind)))
        pos = m.end()
    out.append(_Tok("end", "", len(text)))
    return out


FUNCTIONS = ("sum", "min", "max", "abs", "round", "copy")


class _Parser:
    def __init__(self, text: str, resolve: Callable[[str, int], Sequence[str]]) -> None:
        if len(text) > LIMITS.formula:
            raise FormulaError("long", str(LIMITS.formula))
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.resolve = resolve
        self.nesting = 0
        self.depths: dict[int, tuple[Expr, int]] = {}  # id → (node, depth) of the nodes built here

    def descend(self) -> None:
        """One level further down (a bracket, a call, a leading minus): refused beyond the bound."""
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise FormulaError("deep", str(MAX_NESTING), self.tok.pos)

    def depth(self, node: Expr) -> int:
        hit = self.depths.get(id(node))
        return hit[1] if hit is not None and hit[0] is node else 1

    def built(self, node: Expr, *children: Expr) -> Expr:
        """Record *node*'s depth (children built before it); refused beyond the bound."""
        first = children[0] if children else None
        if (isinstance(node, Sum) and isinstance(first, Sum) and len(node.items) == len(first.items) + 1
                and all(a is b for a, b in zip(node.items, first.items))):
            depth = max(self.depth(first), 1 + self.depth(children[-1]))  # a + b + c stays one SUM
        else:
            depth = 1 + max((self.depth(c) for c in children), default=0)
        if depth > MAX_TREE:
            raise FormulaError("deep", str(MAX_NESTING), self.tok.pos)
        self.depths[id(node)] = (node, depth)
        return node

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self, text: str | None = None) -> _Tok:
        tok = self.tok
        if text is not None and tok.text != text:
            raise FormulaError("expected", text, tok.pos)
        self.i += 1
        return tok

    def parse(self) -> Expr:
        if self.tok.kind == "end":
            raise FormulaError("empty")
        expr = self.sum()
        if self.tok.kind != "end":
            raise FormulaError("unexpected", self.tok.text, self.tok.pos)
        return expr

    def sum(self) -> Expr:
        expr = self.product()
        while self.tok.text in ("+", "-") and self.tok.kind == "op":
            op = self.take().text
            right = self.product()
            expr = self.built(expr + right if op == "+" else expr - right, expr, right)
        return expr

    def product(self) -> Expr:
        expr = self.atom()
        while self.tok.text in ("*", "/") and self.tok.kind == "op":
            op = self.take().text
            right = self.atom()
            expr = self.built(expr * right if op == "*" else expr / right, expr, right)
        return expr

    def atom(self) -> Expr:
        tok = self.tok
        if tok.kind == "num":
            self.take()
            return Const(float(tok.text))
        if tok.text == "-" and tok.kind == "op":
            self.take()
            self.descend()
            inner = self.atom()
            self.nesting -= 1
            zero = Const(0.0)
            return self.built(zero - inner, zero, inner)
        if tok.text == "(":
            self.take()
            self.descend()
            expr = self.sum()
            self.take(")")
            self.nesting -= 1
            return expr
        if tok.kind == "name":
            self.take()
            if self.tok.text == "(":
                self.descend()
                expr = self.call(tok)
                self.nesting -= 1
                return expr
            refs = self.refs(tok)
            if len(refs) != 1:
                raise FormulaError("many", tok.text, tok.pos)
            return Ref(refs[0])
        if tok.kind == "end":
            raise FormulaError("incomplete", "", tok.pos)
        raise FormulaError("unexpected", tok.text, tok.pos)

    def refs(self, tok: _Tok) -> Sequence[str]:
        return self.resolve(tok.text, tok.pos)

    def call(self, name: _Tok) -> Expr:
        fn = name.text.lower()
        if fn not in FUNCTIONS:
            raise FormulaError("function", name.text, name.pos)
        self.take("(")
        args: list[Expr] = []
        if fn == "copy":
            arg = self.tok
            if arg.kind != "name":
                raise FormulaError("copy", "", arg.pos)
            self.take()
            refs = self.refs(arg)
            if len(refs) != 1:
                raise FormulaError("many", arg.text, arg.pos)
            self.take(")")
            return Copy(refs[0])
        while True:
            tok = self.tok
            if tok.kind == "name" and "*" in tok.text and self.toks[self.i + 1].text in (",", ")"):
                self.take()
                args.extend(Ref(r) for r in self.refs(tok))  # a list column: one term per row
            else:
                args.append(self.sum())
            if self.tok.text == ",":
                self.take()
                continue
            self.take(")")
            break
        if fn == "sum":
            return self.built(Sum(tuple(args)), *args)
        if fn == "min":
            return self.built(Min(tuple(args)), *args)
        if fn == "max":
            return self.built(Max(tuple(args)), *args)
        if fn == "abs":
            if len(args) != 1:
                raise FormulaError("arity", "abs", name.pos)
            return self.built(Abs(args[0]), args[0])
        if len(args) not in (1, 2):
            raise FormulaError("arity", "round", name.pos)
        digits = 2
        if len(args) == 2:
            if not isinstance(args[1], Const) or args[1].value != int(args[1].value):
                raise FormulaError("digits", "", name.pos)
            digits = int(args[1].value)
            if not 0 <= digits <= 10:
                raise FormulaError("digits", "", name.pos)
        return self.built(Round(args[0], digits), args[0])


def parse_formula(text: str, ids: Sequence[str], listed: Sequence[str] = ()) -> Expr:
    """The expression of *text* over the field *ids*; ``*`` patterns expand over *listed*
    (the ids of list and indicator rows, in form order). Raises FormulaError."""
    known = set(ids)

    def resolve(name: str, pos: int) -> Sequence[str]:
        if "*" in name:
            match = re.compile(fnmatch.translate(name)).match
            got = [i for i in listed if match(i)]
            if not got:
                raise FormulaError("no_match", name, pos)
            return got
        if name not in known:
            raise FormulaError("unknown", name, pos)
        return [name]

    return _Parser(text, resolve).parse()


def formula_names(text: str) -> list[str]:
    """The names a formula mentions (functions excluded), without parsing it."""
    toks = _tokens(text)
    return [t.text for k, t in enumerate(toks) if t.kind == "name" and toks[k + 1].text != "("]
