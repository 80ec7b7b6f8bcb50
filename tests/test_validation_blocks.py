"""The end of a <dataValidations> block is found where the one pattern that searched a copy of
the rest of the part found it (an empty element where it starts, else its end tag)."""

from __future__ import annotations

import random
import re

from xltool.read import book

_ONE_PATTERN = re.compile(rb"</(?:[A-Za-z_][\w.\-]{0,64}:)?dataValidations\s*>|\A<[^<>]*/>")


def test_the_block_ends_where_the_single_pattern_ended_it():
    rng = random.Random(7)
    parts = [b'<dataValidations count="1">', b"<x14:dataValidations/>", b"<dataValidations/>", b"</dataValidations>",
             b"</x14:dataValidations >", b'<dataValidation type="list"/>', b"abc", b"<", b">", b"/>", b" "]
    for _ in range(5000):
        data = b"".join(rng.choice(parts) for _ in range(rng.randint(0, 8)))
        start = rng.randint(0, len(data))
        old = _ONE_PATTERN.search(data[start:])
        new = book._DVS_EMPTY_RE.match(data, start) or book._DVS_END_RE.search(data, start)
        assert (old and old.end() + start) == (new and new.end()), (data, start)
