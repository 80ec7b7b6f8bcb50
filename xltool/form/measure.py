"""Indicator values as published forms write them: ``38000``, ``≥50个``, ``≤90万元``, ``=100%``,
``不低于95%``, ``12个月以内``, or a qualitative text (达成, 是, 合格, 效果明显, 有效改善).

``parse_measure`` reads one 年度指标值 / 实际完成值 into its comparator, number and unit, or marks
it qualitative. A text it cannot read as one figure (two numbers, a date or deadline such as ``12月31日前``,
``2021年12月完成``, ``6月``, ``2023年``) is qualitative too: it is never turned into a number.
"""

from __future__ import annotations

import re
import unicodedata

from xltool.lazyre import lazy_compile
from xltool.record import record

# Comparator words before the figure, longest first, and the direction each states.
_PREFIX = (
    ("大于等于", "≥"), ("不低于", "≥"), ("不少于", "≥"), ("不小于", "≥"), ("至少", "≥"), ("≥", "≥"), (">=", "≥"),
    ("小于等于", "≤"), ("不高于", "≤"), ("不超过", "≤"), ("不多于", "≤"), ("不大于", "≤"), ("控制在", "≤"), ("≤", "≤"),
    ("<=", "≤"), ("大于", ">"), ("高于", ">"), ("超过", ">"), (">", ">"), ("小于", "<"), ("低于", "<"), ("<", "<"),
    ("等于", "="), ("==", "="), ("=", "="), ("达到", "≥"),
)
# … and after it: 50个以上, 90万元以内.
_SUFFIX = (("以上", "≥"), ("及以上", "≥"), ("以内", "≤"), ("以下", "≤"), ("及以下", "≤"))
_NUMBER = lazy_compile(r"[-+]?\d+(?:,\d{3})*(?:\.\d+)?|[-+]?\.\d+")
_SPACES = re.compile(r"[\s\u3000]+")
# A month or day (6月, 15号), or a year (2023年, 2023年度): a date. 6个月, 15天, 3年 are durations.
_DATE = lazy_compile(r"^(?:\d{1,2}(?:月|日|号)|(?:19|20)\d\d年度?)$")
# Instruction text left in a cell: not a value at all.
_INSTRUCTION = lazy_compile(r"^(请|例[:：如]|如[:：]|注[:：])|填写|填报|下拉选择")


@record
class Measure:
    text: str  # as written (NFKC, trimmed)
    op: str | None = None  # ≥ ≤ = > < when the text states one
    number: float | None = None  # the figure; percent figures stay in points (95% → 95)
    unit: str = ""
    qualitative: bool = False  # a text with no figure of its own (达成, 是, 有效改善)

    @property
    def direction(self) -> str | None:
        """The scoring direction the comparator states: > counts as ≥, < as ≤."""
        return {">": "≥", "<": "≤"}.get(self.op or "", self.op)


# Comparator marks other systems print for ≥ ≤ = and NFKC leaves as they are: 云南's 一体化 export
# writes 指标性质 as “≧” (U+2267) and “═” (U+2550, a box-drawing line); “≦”, “⩾”, “⩽” likewise.
_MARKS = str.maketrans({"≧": "≥", "⩾": "≥", "≦": "≤", "⩽": "≤", "═": "="})


def normal_text(text: str) -> str:
    return _SPACES.sub("", unicodedata.normalize("NFKC", str(text))).translate(_MARKS)


def is_instruction(text: str) -> bool:
    return bool(_INSTRUCTION.search(normal_text(text)))


def parse_measure(value: object) -> Measure | None:
    """The value of one indicator cell; None when blank."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return Measure(text=str(value), number=float(value))
    s = normal_text(value).replace("，", ",")
    if not s:
        return None
    op = None
    body = s
    # A label may stand before the comparator (合格率≥95%); it never holds a figure.
    for at in range(len(body)):
        hit = next(((w, d) for w, d in _PREFIX if body.startswith(w, at)), None)
        if hit is not None:
            if not re.search(r"\d", body[:at]):
                op, body = hit[1], body[at + len(hit[0]):]
            break
    for word, direction in _SUFFIX:
        if body.endswith(word):
            op, body = op or direction, body[: -len(word)]
            break
    numbers = _NUMBER.findall(body)
    if len(numbers) != 1:
        return Measure(text=s, op=op if numbers else None, qualitative=not numbers)
    m = _NUMBER.search(body)
    assert m is not None
    before, after = body[: m.start()], body[m.end():]
    # The figure must be the value itself: nothing but a unit after it (个, 万元, %, 平方米).
    if before or len(after) > 6 or re.search(r"[\d日前后底至到]", after):
        return Measure(text=s, qualitative=False, op=None)
    if _DATE.match(m.group() + after):  # 6月, 15日, 2023年: a date, not a quantity (6个月, 3年 are)
        return Measure(text=s, qualitative=False, op=None)
    try:
        number = float(m.group().replace(",", ""))
    except ValueError:
        return Measure(text=s)
    return Measure(text=s, op=op, number=number, unit=after)


def judgement_of(actual: object, target: object, judgements: tuple[str, ...],
                 words: dict[str, list[str]]) -> tuple[str | None, str]:
    """(judgement, how sure) for a 定性 实际完成值: ``high`` when it is one of the judgements,
    ``medium`` when it repeats the target or is one of the region's other words for it."""
    if not isinstance(actual, str) or not actual.strip():
        return None, ""
    a = normal_text(actual)
    if a in judgements:
        return a, "high"
    if isinstance(target, str) and a == normal_text(target):
        return judgements[0] if judgements else None, "medium"
    if isinstance(target, str) and {a, normal_text(target)} <= {"是", "否"} and judgements:
        return judgements[-1], "medium"  # 是 against a target of 否 (or the reverse): missed
    for judgement, synonyms in words.items():
        if a in (normal_text(w) for w in synonyms):
            return judgement, "medium"
    # A judgement followed by words of its own (部分达成预期指标并具有一定效果): the longest word
    # it starts with, so that 部分达成… and 未达成… are not read as 达成.
    starts = sorted(((normal_text(w), j) for j, ws in ((j, [j, *words.get(j, [])]) for j in judgements) for w in ws),
                    key=lambda p: -len(p[0]))
    for word, judgement in starts:
        if len(word) >= 2 and a.startswith(word):
            return judgement, "medium"
    return None, ""
