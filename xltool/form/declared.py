"""A pack as declared: its TOML data (merged with its base when it extends one), digest and
scoring settings. Reading a shipped pack needs no more; the layout step (layout.py, which
turns a pack and a year into the Form) is imported only when a form is laid out.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from xltool.form.pack import (
    PackError, Problem, bounds_problems, describe_loc, digest, locate, read_data, read_pack_text, validate_data,
)
from xltool.form.scoring import ScoringConfig, validate_scoring
from xltool.i18n import _
from xltool.record import field as dfield, record

if TYPE_CHECKING:
    from xltool.form.model import Form
    from xltool.form.packfile import PackFile


@record(frozen=False)
class Pack:
    """A pack: its declaration (merged with its base when it extends one). ``file`` is the
    declaration validated; a shipped pack (ours, checked by the tests) is validated when first
    needed, so a process that finds its form in the derived cache never imports pydantic."""

    decl: PackFile | None  # the validated declaration, once validated (see ``file``)
    text: str  # the file as written (an extension: only its own part)
    path: str
    scoring: ScoringConfig
    trial: Form | None = None  # laid out for 2023 under its own scoring while validating
    digest: str = ""  # of the declaration as merged (pack.digest); a template records it
    extends: str | None = None  # the base ``id@version`` of an extension
    data: dict = dfield(default_factory=dict, repr=False)  # the merged TOML data
    origin: dict = dfield(default_factory=dict, repr=False)  # merged location → the extension's (extend.py)
    bases: tuple[str, ...] = ()  # the refs it stands on, nearest first

    @property
    def file(self) -> PackFile:
        if self.decl is None:
            self.decl = validate_data(self.data, self.text, self.path, self.line)
        return self.decl

    def info(self, key: str) -> str:
        """A key of the ``[pack]`` table as declared, with PackInfo's default (no validation)."""
        value = (self.data.get("pack") or {}).get(key)
        return value if isinstance(value, str) else _INFO_DEFAULTS.get(key, "")

    @property
    def id(self) -> str:
        return self.info("id")

    @property
    def version(self) -> str:
        return self.info("version")

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"

    @property
    def name(self) -> str:
        return self.info("name")

    def line(self, loc: tuple) -> int | None:
        """The line of this file a location of the merged pack points at (None: from the base)."""
        if self.extends is None:
            return locate(self.text, loc)
        for k in range(len(loc), 1, -1):
            mapped = self.origin.get(tuple(loc[:k]))
            if mapped is not None:
                return locate(self.text, (*mapped, *loc[k:]))
        if loc and loc[0] == "sheet":
            return None  # a row of the base pack
        return locate(self.text, loc)


_INFO_DEFAULTS = {"template_id": "xltool-jxzp", "form_version": "1.0"}  # as PackInfo states them


def parse(text: str, path: str = "", *, check_layout: bool = True, base=None) -> Pack:
    """Validate *text* as a pack: the file, its scoring, and a trial layout (PackError).

    ``check_layout=False`` (the shipped packs, whose layout the tests check) leaves the
    layout to the first build of a form, so starting xltool lays out only the year it needs.
    *base*: a function giving the Pack of an ``id@version`` (the registry's), for a pack that
    extends another; the pack never names a file to read.
    """
    from xltool.form.extend import ExtendError, base_ref, merge

    data = read_data(text, path)
    origin: dict = {}
    bases: tuple[str, ...] = ()
    try:
        ref = base_ref(data)
        if ref is not None:
            if base is None:
                raise PackError(path, [Problem("pack › extends", locate(text, ("pack", "extends")), _(
                    "this pack extends {ref}, which is looked up among the shipped and registered packs only"
                ).format(ref=ref))])
            try:
                parent = base(ref)
            except PackError as exc:
                raise PackError(path, [Problem("pack › extends", locate(text, ("pack", "extends")), _(
                    "the base pack {ref} cannot be used: {problem}").format(ref=ref, problem=p.message))
                    for p in exc.problems[:5]]) from None
            data, origin = merge(parent.data, data)
            bases = (ref, *parent.bases)
    except ExtendError as exc:
        raise PackError(path, [Problem(describe_loc(loc), locate(text, loc), message)
                               for loc, message in exc.problems]) from None
    pack = Pack(decl=None, text=text, path=path, scoring=None, extends=ref, data=data, origin=origin,  # type: ignore[arg-type]
                bases=bases)
    if ref is not None:
        bounds_problems(data, text, path, pack.line)
    # A pack from outside is validated here, where it enters; a shipped one when first needed.
    file = validate_data(data, text, path, pack.line) if check_layout else None
    try:
        scoring = validate_scoring(file.scoring if file is not None else data.get("scoring") or {})
    except ValueError as exc:
        from pydantic import ValidationError

        from xltool.form.pack import _pydantic_message

        errors = exc.errors(include_url=False) if isinstance(exc, ValidationError) else []
        raise PackError(path, [
            Problem(describe_loc(("scoring", *e["loc"])), pack.line(("scoring", *e["loc"])), _pydantic_message(e))
            for e in errors
        ] or [Problem("scoring", None, str(exc))]) from None
    pack.decl, pack.scoring, pack.digest = file, scoring, digest(data)
    if check_layout:
        from xltool.form.layout import layout

        pack.trial = layout(pack, 2023, scoring)  # raises PackError with every problem of the layout
    return pack


def load(path: Path, *, check_layout: bool = True, base=None) -> Pack:
    return parse(read_pack_text(Path(path)), str(path), check_layout=check_layout, base=base)


def pack_lists(file: PackFile) -> dict[str, int]:
    """List name → row count, read from the rows (no layout needed)."""
    return {row.list: row.count for sheet in file.sheet for row in sheet.row if row.list and row.count}
