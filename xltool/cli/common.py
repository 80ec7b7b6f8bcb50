"""What every command shares: the consoles, the one-sentence error exit, option checks.

Imported by the command modules (never by ``xltool.cli.registry``, so ``xltool --help`` does not
pay for rich's console). It imports neither Typer nor rich: the exits are ``SystemExit`` (what
``typer.Exit`` becomes in the end), and ``console``/``err_console`` are made when a command first
uses one: on plain output (a pipe, a file) an ``xltool.console.PlainConsole``, which loads rich
only for what it cannot write identically itself.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import NoReturn, Optional

from xltool.i18n import _
from xltool.usererrors import describe, os_error_message, validation_message


def _console(stderr: bool):
    from xltool.console import make_console

    # Findings tables are wide; a pipe or CI log gets 160 columns instead of rich's 80, unless
    # COLUMNS says how wide the reader's window is. Plain output is written without rich when
    # it comes out the same (xltool.console.PlainConsole).
    stream = sys.stderr if stderr else sys.stdout
    return make_console(stderr, None if stream.isatty() or os.environ.get("COLUMNS") else 160)


def __getattr__(name: str):
    if name in ("console", "err_console"):
        made = globals()[name] = _console(stderr=name == "err_console")
        return made
    raise AttributeError(name)


def _err():
    return globals().get("err_console") or __getattr__("err_console")


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)

YEARS = range(2015, 2101)  # self-evaluations exist from 2015 on; anything else is a typing error


def fail(message: str) -> NoReturn:
    """One Chinese sentence on stderr and exit code 2: the user's input cannot be used."""
    _err().print(f"[red]{escape(message)}[/]")
    raise SystemExit(2)


def check_year(year: int) -> int:
    if year not in YEARS:
        fail(_("The year {year} is out of range: enter a year from {first} to {last}.").format(
            year=year, first=YEARS[0], last=YEARS[-1]))
    return year


def check_suffix(path: Optional[Path], option: str, suffix: str = ".xlsx") -> None:
    """An output file: its name ends in *suffix* and it is not a folder."""
    if path is not None and path.suffix.lower() != suffix:
        fail(_("{option} {path}: the file name must end in {suffix}.").format(option=option, path=path, suffix=suffix))
    if path is not None and path.is_dir():
        fail(_("{path} is a folder, a file is needed.").format(path=path))


def check_choice(value: str, option: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        fail(_("{option} {value} is not available: use {choices}.").format(
            option=option, value=value, choices=" / ".join(choices)))
    return value


def check_exists(path: Optional[Path], option: str) -> None:
    if path is not None and not path.exists():
        fail(_("{option}: {path} does not exist.").format(option=option, path=path))


def user_errors(fn):
    """Errors a user causes end as one Chinese sentence and exit 2, never as a traceback."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except KeyboardInterrupt:  # Typer's Exit and Abort are re-raised below, as any other kind
            raise
        except OSError as exc:
            fail(os_error_message(exc))
        except UnicodeDecodeError:
            fail(_("A file could not be decoded: save it as UTF-8 (or GBK for csv) and try again."))
        except Exception as exc:  # noqa: BLE001 - only the kinds below; anything else is re-raised
            # Looked up by module so that a command that never loaded pydantic or the roster
            # reader does not import them here.
            roster = sys.modules.get("xltool.audit.roster")
            if roster is not None and isinstance(exc, roster.RosterError):
                fail(str(exc))
            pydantic = sys.modules.get("pydantic")
            if pydantic is not None and isinstance(exc, pydantic.ValidationError):
                fail(validation_message(exc))
            raise

    return run


def scoring(path: Optional[Path], form_id: str | None = None):
    """The scoring configuration of ``--rules-config`` (over the form pack's own rule set)."""
    from xltool.form.scoring import load_scoring

    try:
        if form_id:  # keys the file leaves out keep the form pack's own rule set
            from xltool.form.selfeval import default_scoring

            return load_scoring(path, default_scoring(form_id))
        return load_scoring(path)
    except (OSError, ValueError) as exc:  # pydantic's and tomllib's errors are ValueErrors
        fail(_('The rules configuration {path} is invalid: {error}').format(path=path, error=describe(exc)))


def refuse_overwriting(files: list[Path], *outputs: Optional[Path]) -> None:
    """An output path that names a workbook being checked (or another output) is a usage error."""
    inputs = {Path(f).resolve() for f in files}
    seen: set[Path] = set()
    for out in outputs:
        if out is None or out.is_dir():
            continue
        target = out.resolve()
        if target in inputs or target in seen:
            fail(_('The output {out} would overwrite a workbook being checked or another output; choose another file name.').format(out=out))
        seen.add(target)


def print_fill_error(exc) -> None:
    _err().print(f"[red]{escape(_('Nothing was written. Problems in the data:'))}[/]")
    for problem in exc.problems:
        _err().print(f"  · {escape(problem)}")


def print_pack_problems(path, exc) -> None:
    _err().print(f"[red]{escape(_('The form pack {path} has {n} problems:').format(path=path, n=len(exc.problems)))}[/]")
    for problem in exc.problems:
        _err().print(f"  · {escape(str(problem))}")


def resolve_form(value: str | None) -> str | None:
    """The pack for ``--form NAME|NAME@VERSION|FILE`` as ``id@version`` (None: the default form);
    exits 2 with the reason."""
    if not value:
        return None
    from xltool.check.packs import validate_file
    from xltool.form.pack import PackError
    from xltool.form.registry import FormClash, UnknownForm, get_pack, is_registered, use_file

    looks_like_file = value.endswith(".toml") or "/" in value or "\\" in value
    try:
        if looks_like_file:
            pack, _form = validate_file(Path(value))
            use_file(Path(value))
            if not is_registered(pack.ref):
                _err().print(escape(_(
                    "Note: the pack “{id}” is not registered; to check the returned workbooks put {path} in the "
                    "folder named by XLTOOL_FORMS_DIR."
                ).format(id=pack.ref, path=value)))
            return pack.ref
        return get_pack(value[:120]).ref
    except PackError as exc:
        print_pack_problems(value, exc)
    except (UnknownForm, FormClash) as exc:
        _err().print(f"[red]{escape(str(exc))}[/]")
    raise SystemExit(2)
