"""Regular expressions compiled when first used.

A module on the check path that declares a pattern a check may never use (one for a rare
input, one for another command) would compile it in every process that imports it; declared
with ``lazy_compile`` it costs nothing until a method of it is called.
"""

from __future__ import annotations

import re


class LazyPattern:
    """Stands for ``re.compile(pattern, flags)``: the first attribute asked for compiles it, and
    each attribute is then kept on this object (a later call is one dictionary lookup)."""

    def __init__(self, pattern: str | bytes, flags: int = 0) -> None:
        self._args = (pattern, flags)

    def __getattr__(self, name: str):
        if name.startswith("__"):  # copy, pickle and the like: not a pattern's attributes
            raise AttributeError(name)
        compiled = self.__dict__.get("_compiled")
        if compiled is None:
            compiled = self.__dict__["_compiled"] = re.compile(*self._args)
        value = getattr(compiled, name)
        self.__dict__[name] = value
        return value


def lazy_compile(pattern: str | bytes, flags: int = 0) -> LazyPattern:
    return LazyPattern(pattern, flags)
