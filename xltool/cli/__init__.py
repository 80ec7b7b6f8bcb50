"""The ``xltool`` command line (``xltool.cli:app``); see ``xltool.cli.app`` for the list of commands."""

from xltool.cli.app import COMMANDS, app, main

__all__ = ["COMMANDS", "app", "main"]
