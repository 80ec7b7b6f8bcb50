"""Line breaking keeps a running width for the additive measure: the lines are the ones measuring
each whole line again gives, for any text, width and indent."""

from __future__ import annotations

import random

from xltool.linebreak import _TOKEN, break_lines, cells


def _by_whole_lines(text, width, measure, indent=""):
    lines = []
    for paragraph in text.split("\n"):
        line = indent
        for token in _TOKEN.findall(paragraph):
            if measure(line) + measure(token) > width and line.strip():
                lines.append(line.rstrip())
                line = indent
                if token.isspace():
                    continue
            line += token
        lines.append(line.rstrip())
    return lines


def test_lines_are_those_of_measuring_every_line_again():
    rng = random.Random(20)
    pieces = ["（万元）", "12,345.67", "预算执行率", " ", "  ", "，", "。", "abc", "−3.5%", "\n", "项目", "XT101", "：", "—"]
    for _ in range(400):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        width = rng.randint(1, 40)
        indent = rng.choice(["", "  ", "　"])
        assert break_lines(text, width, indent=indent) == _by_whole_lines(text, width, cells, indent)
        # Any other measure is asked for the whole line, as before.
        half = lambda s: cells(s) / 2 + (0.5 if len(s) > 3 else 0)  # noqa: E731 - not additive
        assert break_lines(text, width, half, indent) == _by_whole_lines(text, width, half, indent)
    assert cells("ab（万元）") == 2 + 8 and cells("") == 0
