"""Chinese for the texts click and Typer print themselves (--help, usage errors).

Both libraries call ``gettext.gettext`` from the global domain, which reads compiled .mo
files from disk. Instead, their module-level ``_`` is pointed at xltool's catalogue and
Typer's panel titles (computed at import) are set again.
"""

from __future__ import annotations

from xltool.i18n import _


def _msgids() -> None:  # pragma: no cover - listed so the extractor sees these msgids
    _("Show this message and exit.")
    _("Options")
    _("Commands")
    _("Arguments")
    _("Error")
    _("Usage:")
    _("Aborted!")
    _("Aborted.")
    _("[required]")
    _("required")
    _("[default: {}]")
    _("default: {default}")
    _("Missing argument")
    _("Missing option")
    _("Missing parameter")
    _("Missing command.")
    _("No such option {name!r}.")
    _("No such command {name!r}.")
    _("Invalid value: {message}")
    _("Invalid value for {param_hint}: {message}")
    _("Error: {message}")
    _("Try '{command} {option}' for help.")
    _("Try [blue]'{command_path} {help_option}'[/] for help.")
    _("Got unexpected extra argument ({args})")
    _("Got unexpected extra arguments ({args})")
    _("{value!r} is not a valid integer.")
    _("Path {name!r} does not exist.")


def install() -> None:
    import click.core
    import click.decorators
    import click.exceptions
    import click.formatting
    import click.parser
    import click.types
    import typer.core
    import typer.rich_utils as ru

    for module in (click.core, click.decorators, click.exceptions, click.formatting, click.parser, click.types, typer.core, ru):
        if hasattr(module, "_"):
            module._ = _  # type: ignore[attr-defined]
    ru.ARGUMENTS_PANEL_TITLE = _("Arguments")
    ru.OPTIONS_PANEL_TITLE = _("Options")
    ru.COMMANDS_PANEL_TITLE = _("Commands")
    ru.ERRORS_PANEL_TITLE = _("Error")
    ru.ABORTED_TEXT = _("Aborted.")
    ru.REQUIRED_LONG_STRING = _("[required]")
    ru.DEFAULT_STRING = _("[default: {}]")
    ru.RICH_HELP = _("Try [blue]'{command_path} {help_option}'[/] for help.")
