"""The ``xltool`` command line: ``main`` is the console script, ``app`` the Typer application.

The commands are listed in ``xltool.cli.registry`` and each lives in its own module here,
imported only when it runs. This package imports nothing until used, so that ``main`` can
pause the garbage collector before the interpreter imports Typer and the rest.
"""

import gc

_PAUSED: list[bool] = []


def main() -> None:  # pragma: no cover - the console script and ``python -m xltool``
    # No cyclic garbage collection while the interpreter imports what the command needs (≈15% of
    # a short command's time, all of it spent walking objects that live as long as the process).
    if gc.isenabled():
        gc.disable()
        _PAUSED.append(True)
    from xltool.cli.registry import run

    run()


def resume_collector() -> None:
    """Called when the command starts: the start-up's objects are set aside for good (the
    collector, on again, never walks them) and collection resumes for the command's own."""
    if _PAUSED and not gc.isenabled():
        gc.freeze()
        gc.enable()
        _PAUSED.clear()


def __getattr__(name: str):
    if name in ("app", "COMMANDS"):
        from xltool.cli import registry

        return getattr(registry, name)
    raise AttributeError(name)


__all__ = ["COMMANDS", "app", "main"]
