"""The light entry: an ordinary command line runs without importing Typer.

``xltool check-workbook a.xlsx --format json`` names a command whose parameters are declared
with ``xltool.cli.spec``; that declaration reads the line (``spec.parse``) and the command's
function runs directly, guarded by ``user_errors`` as under Typer. Anything else (no command,
root options, ``--help``, a usage error, a command group, a command not declared that way)
goes to the Typer application exactly as before.
"""

from __future__ import annotations

import importlib


def run(argv: list[str]) -> bool:
    """Run *argv* (without the program name) here if it is an ordinary line; False to leave it
    to Typer (nothing has been printed or run then)."""
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
    user_errors(target)(**kwargs)
    return True
