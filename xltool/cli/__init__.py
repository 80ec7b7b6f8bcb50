"""The ``xltool`` command line: ``main`` is the console script, ``app`` the Typer application.

The commands are listed in ``xltool.cli.commands`` and each lives in its own module here,
imported only when it runs. An ordinary command line of a command declared with
``xltool.cli.spec`` runs without Typer (``xltool.cli.light``), and a help is written from the
memo of Typer's own output (``xltool.cli.helpmemo``); everything else goes to Typer.
This package imports nothing until used, so that ``main`` can pause the garbage collector
(``xltool.cli.collector``) before the interpreter imports the command or Typer.
"""


def main() -> None:  # pragma: no cover - the console script and ``python -m xltool``
    import sys

    from xltool.cli.collector import pause

    pause()
    from xltool.cli.light import run as run_light

    if run_light(sys.argv[1:]):
        sys.exit(0)  # a command that ends normally exits 0, as under Typer
    from xltool.cli.registry import run

    run()


def __getattr__(name: str):
    if name in ("app", "COMMANDS"):
        from xltool.cli import registry

        return getattr(registry, name)
    raise AttributeError(name)


__all__ = ["COMMANDS", "app", "main"]
