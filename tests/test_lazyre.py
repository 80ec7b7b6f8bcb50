"""A pattern declared with lazy_compile answers as re.compile's, compiles on first use only, and
keeps what it answered (no second compile)."""

from __future__ import annotations

import copy
import re

import pytest

from xltool.lazyre import lazy_compile


def test_a_lazy_pattern_answers_as_the_compiled_one(monkeypatch):
    calls = []
    real = re.compile
    monkeypatch.setattr(re, "compile", lambda *a: calls.append(a) or real(*a))
    lazy = lazy_compile(rb"<(\w+)[\s>]", re.I)
    assert calls == []  # declared: nothing compiled
    eager = real(rb"<(\w+)[\s>]", re.I)
    for text in (b"<A x>", b"no tag", b"<b>", b""):
        assert (lazy.search(text) and lazy.search(text).groups()) == (eager.search(text) and eager.search(text).groups())
        assert lazy.findall(text) == eager.findall(text)
    assert lazy.pattern == eager.pattern and lazy.flags == eager.flags
    assert len(calls) == 1  # compiled once, its methods kept
    assert lazy_compile("a+").sub("b", "caat") == "cbt"
    with pytest.raises(AttributeError):
        lazy_compile("a").no_such_method  # noqa: B018
    assert copy.copy(lazy_compile("x")) is not None  # copying does not compile through __getattr__
