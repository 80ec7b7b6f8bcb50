"""A command's parameters declared once, as data, for both Typer and the light parser.

A command function annotates each parameter with ``Arg`` or ``Opt`` (``Annotated[Path, Opt("--xlsx",
help=...)]``) instead of Typer's own markers, so its module imports no Typer. From that one
declaration:

* ``typed`` gives Typer the same function with ``typer.Argument``/``typer.Option`` in place
  (help, usage errors and everything unusual: the command as Typer always showed it);
* ``parse`` reads an ordinary command line (known options, their values, the arguments) into
  the function's keyword arguments without Typer, and answers None for anything else
  (``--help``, an unknown or repeated option, a missing value, ``--``, a value that does not
  convert, …), which then goes to Typer (``xltool.cli.light``).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Union


class Arg:
    """A positional argument."""

    __slots__ = ("help",)

    def __init__(self, help: str) -> None:  # noqa: A002 - Typer's own keyword
        self.help = help


class Opt:
    """An option: its names (``"--format", "-f"``) and help."""

    __slots__ = ("help", "names")

    def __init__(self, *names: str, help: str) -> None:  # noqa: A002
        self.names, self.help = names, help


def declared(fn) -> list[tuple[str, object, Arg | Opt, object]] | None:
    """(name, type, marker, default) of each parameter of *fn*, None unless every one is
    declared with ``Arg``/``Opt``. ``default`` is ``...`` for a required parameter."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    names = code.co_varnames[:code.co_argcount]
    defaults = fn.__defaults__ or ()
    first_default = len(names) - len(defaults)
    out = []
    for i, name in enumerate(names):
        annotation = fn.__annotations__.get(name)
        marks = [m for m in getattr(annotation, "__metadata__", ()) if isinstance(m, (Arg, Opt))]
        if len(marks) != 1 or isinstance(annotation, str):
            return None
        out.append((name, annotation.__origin__, marks[0], defaults[i - first_default] if i >= first_default else ...))
    return out


def typed(fn):
    """*fn* as Typer reads it: the same parameters with ``typer.Argument``/``typer.Option``."""
    params = declared(fn)
    if params is None:
        return fn
    import functools
    import inspect

    import typer

    signature = inspect.signature(fn)
    annotations = {}
    for name, kind, mark, _default in params:
        marker = typer.Argument(help=mark.help) if isinstance(mark, Arg) else typer.Option(*mark.names, help=mark.help)
        annotations[name] = Annotated[kind, marker]

    @functools.wraps(fn)
    def command(*args, **kwargs):
        return fn(*args, **kwargs)

    command.__annotations__ = {**annotations, "return": fn.__annotations__.get("return")}
    command.__signature__ = signature.replace(parameters=[
        p.replace(annotation=annotations[p.name]) for p in signature.parameters.values()])
    return command


class _Unusual(Exception):
    """A command line the light parser leaves to Typer."""


def parse(fn, argv: list[str]) -> dict | None:
    """The keyword arguments of *fn* for *argv*, as Typer would pass them; None when Typer
    should read the line itself (help, errors, anything the light parser does not judge)."""
    params = declared(fn)
    if params is None:
        return None
    try:
        return _parse(params, argv)
    except _Unusual:
        return None


def _parse(params, argv: list[str]) -> dict:
    options = {}
    for name, kind, mark, _default in params:
        if isinstance(mark, Opt):
            for flag in mark.names:
                if not flag.startswith("-") or "/" in flag:
                    raise _Unusual  # a secondary (--x/--no-x) or odd name: Typer's own
                options[flag] = (name, kind)
    values: dict = {}
    positional: list[str] = []
    tokens = iter(argv)
    for token in tokens:
        if token == "-" or not token.startswith("-"):
            if token == "-":
                raise _Unusual
            positional.append(token)
            continue
        flag, eq, inline = token.partition("=") if token.startswith("--") else (token, "", "")
        if flag not in options:
            raise _Unusual  # --help, an unknown option, combined short options, "--"
        name, kind = options[flag]
        if name in values:
            raise _Unusual  # repeated: Typer decides
        if kind is bool:
            if eq:
                raise _Unusual
            values[name] = True
            continue
        if eq:
            text = inline
        else:
            text = next(tokens, None)
            if text is None or (text.startswith("-") and text != "-"):
                raise _Unusual  # a missing value (or one that looks like an option)
        values[name] = _convert(kind, text)
    args = [(name, kind, default) for name, kind, mark, default in params if isinstance(mark, Arg)]
    for name, kind, default in args:
        if getattr(kind, "__origin__", None) is list:
            if args[-1][0] != name or not positional:
                raise _Unusual  # only a last list argument, given at least once
            values[name] = [_convert(kind.__args__[0], text) for text in positional]
            positional = []
        elif positional:
            values[name] = _convert(kind, positional.pop(0))
        elif default is ...:
            raise _Unusual
    if positional:
        raise _Unusual  # extra arguments
    for name, kind, mark, default in params:
        if name not in values:
            if default is ...:
                raise _Unusual
            values[name] = default
    return values


def _convert(kind, text: str):
    if isinstance(kind, UnionType) or getattr(kind, "__origin__", None) is Union:
        inner = [k for k in kind.__args__ if k is not NoneType]
        if len(inner) != 1:
            raise _Unusual
        kind = inner[0]
    if kind is str:
        return text
    if kind is Path:
        if os.path.exists(text) and not os.access(text, os.R_OK):
            raise _Unusual  # Typer says why (not readable) in its own words
        return Path(text)
    if kind is int:
        try:
            return int(text.strip())
        except ValueError:
            raise _Unusual from None
    if kind is float:
        try:
            return float(text.strip())
        except ValueError:
            raise _Unusual from None
    raise _Unusual
