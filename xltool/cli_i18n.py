"""Chinese for the texts click and Typer print themselves (--help, usage errors).

Both libraries call ``gettext.gettext`` from the global domain, which reads compiled .mo
files from disk. Instead, their module-level ``_`` is pointed at xltool's catalogue and
Typer's panel titles (computed at import) are set again.
"""

from __future__ import annotations

from xltool.i18n import _, ngettext


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
    _("No such option: {name}")
    _("Missing {what}{hint}.")
    _("argument")
    _("option")
    _("Enter a whole number.")
    _("Enter a number.")
    _("Enter yes or no.")
    _("Enter a file or folder path.")
    _("Use one of the values listed by --help.")
    _("The value is not valid here.")


# pydantic's and click's English for values that do not convert (Typer ≥ 0.20 validates with pydantic).
_VALIDATION = (
    ("valid integer", "Enter a whole number."),
    ("valid number", "Enter a number."),
    ("valid boolean", "Enter yes or no."),
    ("valid path", "Enter a file or folder path."),
    ("is not one of", "Use one of the values listed by --help."),
)


def validation_message(message: str) -> str:
    """A Chinese sentence for a value Typer/pydantic could not convert (no English left)."""
    lowered = message.lower()
    if not lowered.startswith("input should") and "is not a valid" not in lowered and "is not one of" not in lowered:
        return message
    for needle, text in _VALIDATION:
        if needle in lowered:
            return _(text)
    return _("The value is not valid here.")


def install() -> None:
    import importlib

    import typer.rich_utils as ru

    # Older Typer releases use click itself (which calls gettext); newer ones vendor it.
    names = ("click.core", "click.decorators", "click.exceptions", "click.formatting", "click.parser",
             "click.types", "typer.core", "typer.rich_utils")
    for name in names:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "_"):
            module._ = _  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext  # type: ignore[attr-defined]
    _patch_vendored_click()
    ru.ARGUMENTS_PANEL_TITLE = _("Arguments")
    ru.OPTIONS_PANEL_TITLE = _("Options")
    ru.COMMANDS_PANEL_TITLE = _("Commands")
    ru.ERRORS_PANEL_TITLE = _("Error")
    ru.ABORTED_TEXT = _("Aborted.")
    ru.REQUIRED_LONG_STRING = _("[required]")
    ru.DEFAULT_STRING = _("[default: {}]")
    ru.RICH_HELP = _("Try [blue]'{command_path} {help_option}'[/] for help.")


def _patch_vendored_click() -> None:
    """Typer ≥ 0.20 vendors click with English literals: translate the ones users meet."""
    try:
        from typer._click import decorators, exceptions, formatting
    except ImportError:  # an older Typer uses click itself, handled above
        return
    original_help = decorators.help_option

    def help_option(names):
        add = original_help(names)

        def apply(command):
            command = add(command)
            command.params[-1].help = _("Show this message and exit.")
            return command

        return apply

    decorators.help_option = help_option

    bad_init = exceptions.BadParameter.__init__

    def bad_parameter(self, message, ctx=None, param=None, param_hint=None):
        bad_init(self, validation_message(str(message)), ctx, param, param_hint)

    exceptions.BadParameter.__init__ = bad_parameter

    def bad_parameter_message(self):
        if self.param_hint is not None:
            hint = self.param_hint
        elif self.param is not None:
            hint = self.param.get_error_hint()
        else:
            return _("Invalid value: {message}").format(message=self.message)
        hint = " / ".join(hint) if isinstance(hint, (list, tuple)) else hint
        return _("Invalid value for {param_hint}: {message}").format(param_hint=hint, message=self.message)

    if exceptions.BadParameter.format_message.__qualname__.startswith("BadParameter"):
        exceptions.BadParameter.format_message = bad_parameter_message

    no_such_init = exceptions.NoSuchOption.__init__

    def no_such_option(self, option_name, message=None, possibilities=None, ctx=None):
        if message is None:
            message = _("No such option: {name}").format(name=option_name)
        no_such_init(self, option_name, message, possibilities, ctx)

    exceptions.NoSuchOption.__init__ = no_such_option

    missing_format = exceptions.MissingParameter.format_message

    def missing(self):
        text = missing_format(self)
        if text.startswith("Missing ") and (self.param_type or getattr(self.param, "param_type_name", "")):
            kind = self.param_type or self.param.param_type_name
            rest = text[len("Missing ") + len(kind):]
            hint, dot, tail = rest.partition(".")
            return _("Missing {what}{hint}.").format(what=_(kind), hint=hint) + tail
        return text

    exceptions.MissingParameter.format_message = missing

    write_usage = formatting.HelpFormatter.write_usage

    def usage(self, prog, args="", prefix=None):
        return write_usage(self, prog, args, _("Usage:") + " " if prefix is None else prefix)

    formatting.HelpFormatter.write_usage = usage
