"""Plain option values (text, flags, whole numbers, paths) converted without pydantic.

Typer ≥ 0.20 converts every option through a pydantic ``TypeAdapter`` built when the command
runs (pydantic's validators and schema machinery: ≈20 ms for check-workbook's dozen options).
The options xltool declares are mostly plain: for those, the same conversion is done here
directly; anything else (ranges, choices, dates, custom parsers) keeps Typer's own. Typer
releases without that machinery are left alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, get_args, get_origin

from xltool.i18n import _

_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off", ""}


def install() -> None:
    try:
        import typer.core as core
        from typer._click.exceptions import BadParameter
        from typer._coercion import RuntimeParam
    except ImportError:  # an older Typer: click's own types, no pydantic
        return
    if getattr(core, "_xltool_plain", False) or not hasattr(core, "build_runtime_param"):
        return
    typer_build = core.build_runtime_param

    @dataclass(frozen=True)
    class PlainRuntimeParam(RuntimeParam):
        convert: Callable[[Any], Any] = str
        fallback: Any = None  # Typer's own conversion, for what this one does not judge

        def _coerce_value(self, value, param, ctx):
            if isinstance(value, (list, tuple)):
                return [self._one(item, param, ctx) for item in value]
            return self._one(value, param, ctx)

        def _one(self, value, param, ctx):
            try:
                return self.convert(value)
            except _Unjudged:
                return self.fallback()._coerce_value(value, param=param, ctx=ctx)
            except ValueError as exc:
                raise BadParameter(str(exc), ctx=ctx, param=param) from None

    def build_runtime_param(descriptor):
        convert = _converter(descriptor.annotation, descriptor.parameter_info)
        if convert is None or descriptor.file_annotation is not None:
            return typer_build(descriptor)
        return PlainRuntimeParam(parameter_info=descriptor.parameter_info, annotation=descriptor.annotation,
                                 convert=convert, fallback=lambda: typer_build(descriptor))

    core.build_runtime_param = build_runtime_param
    core._xltool_plain = True


class _Unjudged(Exception):
    """A value this module leaves to Typer's own conversion."""


def _converter(annotation, info) -> Callable[[Any], Any] | None:
    if get_origin(annotation) is list:
        args = get_args(annotation)
        return _converter(args[0], info) if len(args) == 1 else None
    if getattr(info, "parser", None) is not None or getattr(info, "click_type", None) is not None:
        return None
    if annotation is str:
        return _text
    if annotation is bool:
        return _flag
    if annotation in (int, float):
        if info.min is not None or info.max is not None or info.clamp:
            return None
        return _whole if annotation is int else _number
    if annotation is Path and not (info.exists or info.resolve_path or info.allow_dash or info.path_type
                                   or info.writable or not info.file_okay or not info.dir_okay):
        return _path
    return None


def _text(value):
    if isinstance(value, bytes):
        raise _Unjudged
    return value if isinstance(value, str) else str(value)


def _flag(value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(_("Enter yes or no."))


def _whole(value):
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValueError(_("Enter a whole number.")) from None


def _number(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        raise ValueError(_("Enter a number.")) from None


def _path(value):
    path = value if isinstance(value, Path) else Path(value) if isinstance(value, str) else None
    if path is None or (os.path.exists(path) and not os.access(path, os.R_OK)):
        raise _Unjudged  # Typer says why (not readable) in its own words
    return path
