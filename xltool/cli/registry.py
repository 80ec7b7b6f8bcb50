"""The ``xltool`` command line: the list of commands, each loaded only when it runs.

A command is one line of ``COMMANDS`` (``xltool.cli.commands``): its name, where its function
(or its Typer group) lives, and its help. ``xltool --help`` lists them from here without importing any of them;
``xltool check-workbook …`` imports ``xltool.cli.check`` and what it needs, nothing else.
"""

from __future__ import annotations

import importlib

import typer
from typer.core import TyperCommand, TyperGroup

from xltool.cli.collector import resume as resume_collector
from xltool.cli.commands import _BY_NAME, COMMANDS, Command, help_text
from xltool.cli.i18n import install as _install_cli_i18n
from xltool.cli.params import install as _install_plain_params
from xltool.console import tolerant_streams
from xltool.i18n import _


class _Listed(TyperCommand):
    """A command as the help lists it (name and help), before its module is imported."""


class LazyGroup(TyperGroup):
    """Every command of ``COMMANDS`` is known by name; its module loads when it is invoked."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        markup = getattr(self, "rich_markup_mode", None)
        for entry in COMMANDS:
            self.commands.setdefault(entry.name, _Listed(name=entry.name, help=help_text(entry), callback=None,
                                                         rich_markup_mode=markup))

    def resolve_command(self, ctx, args):
        name, cmd, rest = super().resolve_command(ctx, args)
        if isinstance(cmd, _Listed):
            cmd = self.commands[name] = load(_BY_NAME[name], getattr(self, "rich_markup_mode", None))
        resume_collector()
        return name, cmd, rest


def load(entry: Command, markup=None):
    """The click command of *entry*: its module imported, every callback guarded by ``user_errors``."""
    from xltool.cli.common import user_errors
    from xltool.cli.spec import typed

    module, _sep, attr = entry.target.partition(":")
    target = getattr(importlib.import_module(module), attr)
    if isinstance(target, typer.Typer):
        _guard(target, user_errors)
        command = typer.main.get_command(target)
    else:
        single = typer.Typer(add_completion=False, rich_markup_mode=markup)
        single.command(entry.name, help=help_text(entry))(user_errors(typed(target)))
        command = typer.main.get_command(single)
    command.name = entry.name
    command.help = help_text(entry)
    return command


def _guard(group: typer.Typer, wrap) -> None:
    for command in group.registered_commands:
        if command.callback is not None and not getattr(command.callback, "__wrapped__", None):
            command.callback = wrap(command.callback)
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _guard(sub.typer_instance, wrap)


tolerant_streams()  # a GBK or ASCII console shows "?" for what it cannot, never a traceback
_install_cli_i18n()
_install_plain_params()
app = typer.Typer(
    cls=LazyGroup,
    help=_("xltool: the budget performance self-evaluation workbook — template, check, mail, audit."),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


def _show_version(value: bool) -> None:
    if value:
        import sys

        from xltool import __version__

        sys.stdout.write(f"xltool {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                 help=_("Show xltool's version and exit")),
) -> None:
    pass  # a group: the commands come from COMMANDS, the help from the Typer above


def run() -> None:
    """The command line of this process (``xltool.cli.main`` pauses the collector first)."""
    try:
        app(prog_name="xltool")
    finally:
        resume_collector()
