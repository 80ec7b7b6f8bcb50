"""Chinese for the texts click and Typer print themselves (--help, usage errors).

Both libraries call ``gettext.gettext`` from the global domain, which reads compiled .mo
files from disk. Instead, their module-level ``_`` is pointed at xltool's catalogue and
Typer's panel titles (computed at import) are set again.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import types

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


# Modules whose module-level ``_``/``ngettext`` print English: older Typer releases use click
# itself (which calls gettext); newer ones vendor it.
_GETTEXT_MODULES = ("click.core", "click.decorators", "click.exceptions", "click.formatting", "click.parser",
                    "click.types", "typer.core", "typer.rich_utils")


def install() -> None:
    """Point click's and Typer's texts at xltool's catalogue.

    Nothing is imported for it: modules already loaded are patched now, the others (Typer's
    help and error formatter ``typer.rich_utils`` above all, which a command that runs without
    an error never loads) right after their import.
    """
    pending = {}
    for name in _GETTEXT_MODULES:
        module = sys.modules.get(name)
        if module is not None:
            _patch_gettext(module)
        else:
            pending[name] = _patch_gettext
    pending["typer.rich_utils"] = _patch_rich_utils
    _patch_vendored_click()
    if "typer.rich_utils" in sys.modules:
        _patch_rich_utils(sys.modules["typer.rich_utils"])
        del pending["typer.rich_utils"]
    if pending and not any(isinstance(f, _AfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport(pending))


def _patch_gettext(module) -> None:
    if hasattr(module, "_"):
        module._ = _  # type: ignore[attr-defined]
    if hasattr(module, "ngettext"):
        module.ngettext = ngettext  # type: ignore[attr-defined]


def _patch_rich_utils(ru) -> None:
    _patch_gettext(ru)
    ru.ARGUMENTS_PANEL_TITLE = _("Arguments")
    ru.OPTIONS_PANEL_TITLE = _("Options")
    ru.COMMANDS_PANEL_TITLE = _("Commands")
    ru.ERRORS_PANEL_TITLE = _("Error")
    ru.ABORTED_TEXT = _("Aborted.")
    ru.REQUIRED_LONG_STRING = _("[required]")
    ru.DEFAULT_STRING = _("[default: {}]")
    ru.RICH_HELP = _("Try [blue]'{command_path} {help_option}'[/] for help.")


class _AfterImport:  # a meta path finder (find_spec is all the import system asks for)
    """Runs an action on a module right after it is imported (once per name).

    ``typer.rich_utils`` imports ``rich.markdown`` (markdown-it) and ``rich.traceback``
    (pygments) at its top, ≈60 ms that help in rich markup never uses: while it executes, those
    two names are served by stand-ins that import the real module when first used.
    """

    def __init__(self, actions: dict) -> None:
        self.actions = actions

    def find_spec(self, name, path=None, target=None):
        action = self.actions.get(name)
        if action is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        del self.actions[name]
        run = loader.exec_module

        def exec_module(module) -> None:
            with _stand_ins() if name == "typer.rich_utils" else contextlib.nullcontext():
                run(module)
            action(module)

        loader.exec_module = exec_module  # this spec's own loader instance
        return spec


def _stand_in(name: str, classes: dict) -> types.ModuleType:
    module = types.ModuleType(name)

    def real():
        if sys.modules.get(name) is module:
            del sys.modules[name]
        return importlib.import_module(name)

    def attribute(attr: str):
        if attr.startswith("__"):  # the import system asks for __path__ and the like
            raise AttributeError(attr)
        return getattr(real(), attr)

    module.__getattr__ = attribute  # type: ignore[attr-defined]
    for cls_name, methods in classes.items():
        attrs = {m: classmethod(lambda cls, *a, _m=m, _c=cls_name, **k: getattr(getattr(real(), _c), _m)(*a, **k))
                 for m in methods}
        attrs["__new__"] = lambda cls, *a, _c=cls_name, **k: getattr(real(), _c)(*a, **k)
        setattr(module, cls_name, type(cls_name, (), attrs))
    return module


@contextlib.contextmanager
def _stand_ins():
    shims = {name: _stand_in(name, classes) for name, classes in
             (("rich.markdown", {"Markdown": ()}), ("rich.traceback", {"Traceback": ("from_exception",)}))
             if name not in sys.modules}
    sys.modules.update(shims)
    try:
        yield
    finally:
        for name, shim in shims.items():
            if sys.modules.get(name) is shim:
                del sys.modules[name]


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
