"""The light entry: an ordinary command line runs without importing Typer.

``xltool check-workbook a.xlsx --format json`` names a command whose parameters are declared
with ``xltool.cli.spec``; that declaration reads the line (``spec.parse``) and the command's
function runs directly, guarded by ``user_errors`` as under Typer. Anything else (no command,
root options, ``--help``, a usage error, a command group, a command not declared that way)
goes to the Typer application exactly as before. A help (``--help`` after command names, or no
argument at all) is written from the memo of Typer's own output (``xltool.cli.helpmemo``).
"""

from __future__ import annotations

import importlib
import sys


def run(argv: list[str]) -> bool:
    """Run *argv* (without the program name) here if it is an ordinary line; False to leave it
    to Typer (nothing has been printed or run then)."""
    if not argv or argv[-1] == "--help":
        from xltool.cli.helpmemo import run as help_from_memo

        help_from_memo(argv)  # exits, unless the line cannot be keyed exactly
    from xltool.cli.commands import _BY_NAME

    entry = _BY_NAME.get(argv[0]) if argv else None
    if entry is None:
        return False
    module, _sep, attr = entry.target.partition(":")
    target = getattr(importlib.import_module(module), attr)
    from xltool.cli import spec

    kwargs = spec.parse(target, argv[1:])
    if kwargs is None:
        return False
    from xltool.cli.collector import resume
    from xltool.cli.common import user_errors
    from xltool.console import tolerant_streams

    tolerant_streams()  # as under Typer: a GBK or ASCII console never tracebacks
    resume()
    try:
        user_errors(target)(**kwargs)
    except (KeyboardInterrupt, EOFError, Exception) as exc:  # noqa: BLE001 - re-raised unless Typer's own
        _as_typer(exc, argv)
        raise
    return True


def _context(argv: list[str]):
    """The click context Typer would have run *argv* in (for a usage error's usage line)."""
    import typer.main

    from xltool.cli.commands import _BY_NAME
    from xltool.cli.registry import app, load

    root = typer.main.get_command(app)
    parent = root.make_context("xltool", list(argv))
    command = load(_BY_NAME[argv[0]], getattr(root, "rich_markup_mode", None))
    return command.make_context(argv[0], list(argv[1:]), parent=parent)


def _as_typer(exc: BaseException, argv: list[str]) -> None:
    """End as Typer's command runner ends on what it handles itself (Ctrl-C, end of input, its
    Exit and Abort raised by code that uses Typer, click's errors); return for anything else."""
    if isinstance(exc, KeyboardInterrupt):
        sys.exit(130)
    typer = sys.modules.get("typer")
    if typer is not None and isinstance(exc, typer.Exit):
        sys.exit(exc.exit_code)
    click_error = getattr(sys.modules.get("typer._click.exceptions"), "ClickException", None)
    if not (isinstance(exc, EOFError) or (typer is not None and isinstance(exc, typer.Abort))
            or (click_error is not None and isinstance(exc, click_error))):
        return
    import xltool.cli.registry  # noqa: F401 - Typer's texts in Chinese, as on its own path
    from typer import rich_utils

    if isinstance(exc, EOFError):
        sys.stderr.write("\n")
    if click_error is not None and isinstance(exc, click_error):
        if getattr(exc, "ctx", False) is None:
            exc.ctx = _context(argv)
        rich_utils.rich_format_error(exc)
        sys.exit(exc.exit_code)
    rich_utils.rich_abort_error()
    sys.exit(1)
