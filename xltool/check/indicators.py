"""Indicator rows read as published forms fill them, before the rules judge them.

A 三级指标 row states its target and actual value as a number (38000), a number with its
comparator and unit (≥50个, ≤90万元, =100%) or a qualitative text (达成, 是, 合格, 有效改善),
and its direction in the 指标方向 column or in the target itself. ``read_indicators`` turns
each row into the values the scoring rules read (numbers, a direction, a judgement) and notes
every reading that is less than certain (an actual value worded 基本完成 read as 部分达成), so
the findings that rest on it can say how sure they are. Nothing unreadable becomes a number.
"""

from __future__ import annotations

from collections.abc import Mapping

from xltool.form.measure import Measure, judgement_of, normal_text, parse_measure
from xltool.form.model import Form
from xltool.form.scoring import ScoringConfig
from xltool.form.selfeval import indicator_ids
from xltool.i18n import _
from xltool.numbers import fmt_number
from xltool.record import field, record

DIRECTIONS = ("≥", "≤", "=", "定性")
QUALITATIVE = "定性"


@record(frozen=False)
class Reading:
    values: Mapping[str, object]  # the values the rules judge (the input itself when nothing changed)
    notes: dict[str, tuple[str, str]] = field(default_factory=dict)  # field id → (confidence, how it was read)
    unjudged: list[str] = field(default_factory=list)  # named rows whose score no rule can recompute
    not_figures: list[str] = field(default_factory=list)  # 实际完成值 in words where a figure belongs (XT102)


def read_indicators(form: Form, cfg: ScoringConfig, values: Mapping[str, object]) -> Reading:
    out: dict[str, object] | None = None
    notes: dict[str, tuple[str, str]] = {}
    unjudged: list[str] = []
    not_figures: list[str] = []
    judgements = tuple(cfg.indicator.qualitative)
    for l1, l2, label, j in form.indicator_places():
        ids = indicator_ids(l1, l2, j)
        target, actual, stated_dir = values.get(ids["target"]), values.get(ids["actual"]), values.get(ids["dir"])
        if target is None and actual is None:
            continue
        if not isinstance(target, str) and not isinstance(actual, str):
            continue  # numbers as typed: the rules read them directly (and so does the 审核 sheet)
        changes = _read_row(ids, target, actual, stated_dir, judgements, cfg.indicator.judgement_words, notes)
        if changes:
            if out is None:
                out = dict(values)
            out.update(changes)
        name = values.get(ids["name"])
        if isinstance(name, str) and name.strip() and name.strip() != "无" and target is not None and actual is not None:
            final = {k: changes.get(ids[k], values.get(ids[k])) for k in ("dir", "target", "actual")}
            if _word_for_a_figure(final):
                not_figures.append(ids["actual"])
            elif not _scorable(final, judgements):
                unjudged.append(f"{label}第{j}行「{name.strip()}」")
    return Reading(values if out is None else out, notes, unjudged, not_figures)


def _scorable(row: dict[str, object], judgements: tuple[str, ...]) -> bool:
    if row["dir"] == QUALITATIVE:
        return row["actual"] in judgements
    number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)  # noqa: E731
    return row["dir"] in DIRECTIONS and number(row["target"]) and number(row["actual"])


def _read_row(ids: dict[str, str], target: object, actual: object, stated_dir: object,
              judgements: tuple[str, ...], words: dict[str, list[str]],
              notes: dict[str, tuple[str, str]]) -> dict[str, object]:
    mt, ma = parse_measure(target), parse_measure(actual)
    direction = stated_dir.strip() if isinstance(stated_dir, str) and stated_dir.strip() in DIRECTIONS else None
    changes: dict[str, object] = {}
    implied = mt.direction if mt is not None and mt.direction else (
        QUALITATIVE if mt is not None and mt.qualitative else None)
    if direction is None and implied is not None:
        direction = changes[ids["dir"]] = implied
    elif direction is not None and implied is not None and implied != direction and direction != QUALITATIVE:
        notes[ids["dir"]] = ("medium", _("the direction {dir} differs from the target “{target}”; scored by the "
                                         "direction").format(dir=direction, target=mt.text if mt else ""))
    if direction == QUALITATIVE:
        judgement, sure = judgement_of(actual, target, judgements, words)
        if judgement is not None and normal_text(actual) != judgement:
            changes[ids["actual"]] = judgement
            notes[ids["actual"]] = (sure, _("实际完成值 “{actual}” read as {judgement}").format(
                actual=normal_text(actual), judgement=judgement))
        return changes
    # A text holding no single figure stays text: filled, but not a number the rules can judge.
    if mt is not None and isinstance(target, str) and mt.number is not None:
        changes[ids["target"]] = mt.number
    if ma is not None and isinstance(actual, str) and ma.number is not None:
        changes[ids["actual"]] = ma.number
    _percent_points(ids, mt, ma, target, actual, changes, notes)
    return changes


def _word_for_a_figure(row: dict[str, object]) -> bool:
    """A quantitative row (≥, ≤, = a figure) whose 实际完成值 is words (完成, 达成): 财预〔2020〕10号
    第十六条 scores it by the ratio of the actual to the target, which a word does not give."""
    target, actual = row["target"], row["actual"]
    return (row["dir"] in DIRECTIONS[:3] and isinstance(target, (int, float)) and not isinstance(target, bool)
            and isinstance(actual, str) and bool(actual.strip()))


def _percent_points(ids: dict[str, str], mt: Measure | None, ma: Measure | None, target: object, actual: object,
                    changes: dict[str, object], notes: dict[str, tuple[str, str]]) -> None:
    """A target written “≥95%” and an actual typed as 98% into the cell (stored as 0.98), or the
    other way round: both in percentage points."""
    t = changes.get(ids["target"], target)
    a = changes.get(ids["actual"], actual)
    if not isinstance(t, (int, float)) or not isinstance(a, (int, float)) or isinstance(t, bool) or isinstance(a, bool):
        return
    if mt is not None and mt.unit == "%" and not isinstance(actual, str) and 0 < a <= 1.5 < t:
        changes[ids["actual"]] = round(a * 100, 6)
        notes[ids["actual"]] = ("medium", _("实际完成值 {value} read as {percent}%").format(
            value=fmt_number(a), percent=fmt_number(a * 100)))
    elif ma is not None and ma.unit == "%" and not isinstance(target, str) and 0 < t <= 1.5 < a:
        changes[ids["target"]] = round(t * 100, 6)
        notes[ids["target"]] = ("medium", _("年度指标值 {value} read as {percent}%").format(
            value=fmt_number(t), percent=fmt_number(t * 100)))
