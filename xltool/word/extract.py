"""A Word report's figures mapped onto the form's field ids, each with where it was read.

Narrative figures come from label-anchored patterns (``patterns``), scoped to the report's
section; 附件2 and 附件3 come from their Word tables, matched by row label (loosely: numbering,
“其中：”, full-width characters, line breaks, 市级/省级/区级 专项 and 万元 suffixes do not matter).
Every figure found is either placed on a field or listed as not placed; none is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from xltool.form.address import split_cell
from xltool.form.measure import normal_text, parse_measure
from xltool.form.model import Form, Kind
from xltool.form.selfeval import indicator_ids
from xltool.i18n import _
from xltool.numbers import NO_FIGURE
from xltool.word import patterns as P
from xltool.word.document import Document, Para, Table

CN = "零一二三四五六七八九十"


def section_name(n: int) -> str:
    return CN[n] if n <= 10 else str(n)


@dataclass
class Unplaced:
    where: str
    text: str


@dataclass
class Extraction:
    values: dict[str, object] = field(default_factory=dict)  # inputs, typed
    stated: dict[str, object] = field(default_factory=dict)  # derived figures as the report states them
    where: dict[str, str] = field(default_factory=dict)  # field id → where it was read
    unplaced: list[Unplaced] = field(default_factory=list)
    placed: int = 0
    form: Form | None = None  # the form it was read against (set by check.check_document)
    from_text: set[str] = field(default_factory=set)  # fields read from the narrative, not from a table
    # Decimals as stated: of the percent for a rate (“86%” → 0), of the figure for an amount a table
    # cell states (“995” → 0, “89.97” → 2); a figure read from the narrative has none recorded.
    places: dict[str, int] = field(default_factory=dict)
    tables: dict[int, int] = field(default_factory=dict)  # annex (2, 3) → how many of its tables were read
    headings: set[int] = field(default_factory=set)  # annexes whose heading (附件2, 附件三) the report has

    def put(self, form: Form, fid: str, value: object, where: str) -> None:
        if value is None or value == "" or fid in self.where:
            return
        if fid not in form.by_id:  # a figure the form pack has no field for: listed, not dropped
            self.unplace(where, str(value))
            return
        target = self.stated if form.field(fid).derived else self.values
        if isinstance(value, (Percent, Stated)):
            self.places[fid] = value.places
            value = float(value)
        target[fid] = value
        self.where[fid] = where
        self.placed += 1

    def unplace(self, where: str, text: str) -> None:
        self.unplaced.append(Unplaced(where, text.strip()))


def _label(text: str) -> str:
    """A row label reduced to what identifies it."""
    s = P.squash(text)
    s = re.sub(r"\(.*?\)", "", s)
    s = re.sub(r"^(?:其中:)?(?:\d+|[一二三四五六七八九十]+)?[、.]?", "", s)
    s = s.replace("其中:", "").rstrip(":")
    if "专项" in s:
        return "专项资金"
    return s


def _cell_number(text: str) -> float | None:
    s = P.squash(text).replace("万元", "").replace("元", "").removesuffix("万")  # “150万” = 150 万元, as the workbook reads it
    if not s or s in NO_FIGURE:
        return None
    m = re.fullmatch(r"-?\d+(?:,\d{3})*(?:\.\d+)?%?", s)
    if not m:
        return None
    value = P.number(s.rstrip("%"))
    places = len(s.rstrip("%").partition(".")[2])
    if not s.endswith("%"):
        return Stated(value, places)
    return Percent(value / 100, places)


class Stated(float):
    """A figure as a table cell states it (“995”): *places* decimals, the precision it is stated
    to (a 三公 statement in whole 万元 stands for ±0.5 万元 a figure)."""

    places: int

    def __new__(cls, value: float, places: int) -> "Stated":
        obj = super().__new__(cls, value)
        obj.places = places
        return obj


class Percent(float):
    """A rate as a cell states it (“86%”): *places* decimals of the percent, so that it is
    compared at the precision it is stated (86% against 86.20% computed is not a difference)."""

    places: int

    def __new__(cls, value: float, places: int) -> "Percent":
        obj = super().__new__(cls, value)
        obj.places = places
        return obj


def _empty(text: str) -> bool:
    s = P.squash(text)
    return not s or s in NO_FIGURE


# -- narrative ---------------------------------------------------------------------------

def _narrative(form: Form, paras: list[tuple[str, str]], out: Extraction) -> None:
    """*paras*: (where, text) of the report's paragraphs outside 附件2 and 附件3."""
    section = 0
    heading = ""
    counts: dict[int, int] = {}
    not_initial = False
    project = 0
    in_list = False
    items = 0
    for where_cover, raw in paras:
        text = P.fold(raw).strip()
        if not text:
            continue
        m = P.SECTION.match(text)
        if m and m.group(1) in CN and CN.index(m.group(1)) > section:
            section = CN.index(m.group(1))
            heading = text.split(":", 1)[0]
            # “三、政府性基金预算支出情况：无。” states its content on the heading's own line.
            rest = text.split(":", 1)[1].strip() if ":" in text else ""
            if not rest:
                continue
            text = raw = rest
            where = _("Part {n} heading").format(n=section_name(section))
        else:
            counts[section] = counts.get(section, 0) + 1
            where = where_cover if section == 0 else _("Part {n} paragraph {p}").format(
                n=section_name(section), p=counts[section])
        if len(text) > P.MAX_PARAGRAPH:
            out.unplace(where, _("(a paragraph of {n} characters, too long to read)").format(n=len(text)))
            continue
        covered: list[tuple[int, int]] = []
        if section == 0:
            _cover(form, text, where, out)
            if "填表人" in text:  # the project report's footer line follows its table directly
                _footer(form, "eval", raw, where, out)
            continue
        if section == 2:
            if re.match(r"^\((?:二|2)\)", text):
                in_list = "项目" in text
                continue
            if in_list:
                item = P.ITEM.match(text)
                if item and items < form.lists.get("fin_proj", 0):
                    items += 1
                    out.put(form, f"fin_proj_{items}_name", _original(raw, text, item.span("name")), where)
                    out.put(form, f"fin_proj_{items}_amount", P.number(item.group("n")), where)
                    covered.append(item.span("n"))
        fid = P.other_spending(heading) if 3 <= section <= 5 else None
        if fid is not None:
            amount = re.search(P.NUM + P.WAN, text)
            if amount:
                out.put(form, fid, P.number(amount.group("n")), where)
                covered.append(amount.span("n"))
            elif re.fullmatch(r"无[。.]?", text):
                out.put(form, fid, 0.0, where)
        if section == 6:
            if P.NOT_INITIAL.search(text):
                not_initial = True
            proj = P.PROJECT.match(text)
            if proj and project < form.lists.get("proj", 0) and any(r.search(text) for _k, r in P.PROJECT_FIGURES):
                project += 1
                _project(form, project, raw, text, proj.span("name"), where, not_initial, out, covered)
        for pat in P.PATTERNS:
            if section not in pat.sections:
                continue
            for hit in pat.regex.finditer(text):
                if any(a <= hit.start("n") < b for a, b in covered) or pat.budget_clause(text, hit.start("n")):
                    continue
                value = P.number(hit.group("n")) * pat.scale
                if pat.field_id in out.where:
                    continue
                out.put(form, pat.field_id, value, where)
                covered.append(hit.span("n"))
                break
        if 1 <= section <= 6:
            for fig in P.FIGURE.finditer(text):
                if not any(a <= fig.start() < b for a, b in covered):
                    out.unplace(where, text[max(0, fig.start() - 12): fig.end()])


def _original(raw: str, folded: str, span: tuple[int, int]) -> str:
    """The words as typed (full-width brackets kept) when folding kept every position."""
    raw = raw.strip()
    return (raw if len(raw) == len(folded) else folded)[span[0]:span[1]].strip()


def _project(form: Form, i: int, raw: str, text: str, name: tuple[int, int], where: str, not_initial: bool,
             out: Extraction, covered: list[tuple[int, int]]) -> None:
    out.put(form, f"proj_{i}_name", _original(raw, text, name), where)
    found = {}
    for key, regex in P.PROJECT_FIGURES:
        hit = regex.search(text)
        if hit:
            value = P.number(hit.group("n"))
            if key == "adjust" and hit.group("sign") in P.NEGATIVE:
                value = -value
            found[key] = value
            covered.append(hit.span("n"))
    initial = "initial" in found and not not_initial
    out.put(form, f"proj_{i}_initial_flag", "是" if initial else "否", where)
    for key, value in found.items():
        out.put(form, f"proj_{i}_{key}", value, where)
    goal = P.GOAL.search(text)
    if goal:
        out.put(form, f"proj_{i}_goal", _original(raw, text, goal.span("goal")), where)


def _cover(form: Form, text: str, where: str, out: Extraction) -> None:
    m = P.COVER_UNIT.search(text)
    if m:
        out.put(form, "info_unit_name", m.group("v"), where)
    y = P.TITLE_YEAR.search(text)
    if y and "info_year" not in out.where:
        out.put(form, "info_year", float(y.group("y")), where)
        rest = P.TITLE_UNIT.search(text)
        if rest and rest.group("v") and "info_unit_name" not in out.where:
            out.put(form, "info_unit_name", rest.group("v"), where)


def _footer(form: Form, sheet: str, text: str, where: str, out: Extraction) -> bool:
    text = P.fold(text)
    found = False
    for key, regex in P.FOOTER.items():
        m = regex.search(text)
        if not m:
            continue
        found = True
        value: object = m.group("v").strip()
        if key == "date":
            from xltool.read.reader import _to_date  # the workbook reader's date parsing, shared

            value = _to_date(value)
        out.put(form, f"info_{key}", value, where)
        if f"{sheet}_footer_{key}" in form.by_id:  # the sheet's own copy of the line, where the pack has one
            out.put(form, f"{sheet}_footer_{key}", value, where)
    return found


# -- 附件2 -----------------------------------------------------------------------------

def has_sheet(form: Form, key: str) -> bool:
    return any(s.key == key for s in form.sheets)


def _base_rows(form: Form) -> dict[str, dict[str, str]]:
    """Row label → {column key → field id} from the form's 附件2 sheet."""
    sheet = form.sheet("base")
    by_row: dict[int, dict[str, str]] = {}
    for f in form.fields:
        if f.sheet == "base" and f.group is None and f.id.rsplit("_", 1)[-1] in ("prev", "budget", "final"):
            by_row.setdefault(f.row, {})[f.id.rsplit("_", 1)[-1]] = f.id
    rows: dict[str, dict[str, str]] = {}
    for text in sheet.texts:
        if text.cell.startswith("A") and int(text.cell[1:]) in by_row:
            rows.setdefault(_label(text.text), by_row[int(text.cell[1:])])
    return rows


def _base(form: Form, table: Table, name: str, out: Extraction) -> None:
    if not has_sheet(form, "base"):  # a pack without 附件2 (the project form): its figures are listed
        for row in table.rows:
            _unplaced_numbers(row, lambda c: _("{table} table row {r} column {c}").format(table=name, r=c.row, c=c.col), out)
        return
    rows = _base_rows(form)
    year = form.year
    mode = ""
    order = ["prev", "budget", "final"]
    special = 0
    buildings = 0
    in_special = False
    for row in table.rows:
        cells = [c for c in row if not c.continued]
        texts = [c for c in cells if P.squash(c.text)]
        if not texts:
            continue
        first = P.squash(texts[0].text)
        where = lambda c: _("{table} table row {r} column {c}").format(table=name, r=c.row, c=c.col)  # noqa: E731
        if "财政供养" in first:
            mode = "staff"
            continue
        if "经费控制" in first:
            mode, order = "money", _columns(texts[1:], year)
            continue
        if "楼堂馆所" in first:
            mode = "building"
            continue
        if re.match(r"(?:说明|注|备注)\d*[:：]", first):  # the form's own note under the table (说明：“项目支出”需要…)
            if mode == "building":
                mode = ""  # the note ends the buildings: the rows after it are no buildings
            _unplaced_numbers(cells[1:], where, out)
            continue
        if "厉行节约" in first:
            rest = [c for c in cells[1:] if not _empty(c.text)]
            if rest:
                out.put(form, "base_thrift", rest[0].text.strip(), where(rest[0]))
            continue
        if mode == "staff":
            for fid, cell in zip(("base_staff_quota", "base_staff_active", "base_staff_rate"), _figures(cells)):
                out.put(form, fid, _cell_number(cell.text), where(cell))
            mode = ""
            continue
        if mode == "money":
            label = _label(texts[0].text)
            values = cells[cells.index(texts[0]) + 1:]
            if label == "专项资金" and not _figures(values):
                in_special = True
                continue
            fids = None if in_special and label == "专项资金" else rows.get(label)
            if fids is None and in_special and _cell_number(texts[0].text) is None and not _empty(texts[0].text):
                special += 1
                if special <= form.lists.get("base_zx", 0):
                    out.put(form, f"base_zx_{special}_name", texts[0].text.strip(), where(texts[0]))
                    fids = {k: f"base_zx_{special}_{k}" for k in order}
            elif fids is not None:
                in_special = False
            if fids is None:
                _unplaced_numbers(values, where, out)
                continue
            for key, cell in zip(order, values):
                if key in fids and _cell_number(cell.text) is not None:
                    out.put(form, fids[key], _cell_number(cell.text), where(cell))
                elif _cell_number(cell.text) is not None:
                    out.unplace(where(cell), cell.text)
            continue
        if mode == "building" and not _empty(texts[0].text) and _cell_number(texts[0].text) is None:
            buildings += 1
            if buildings > form.lists.get("base_bld", 0):
                _unplaced_numbers(cells, where, out)
                continue
            stem = f"base_bld_{buildings}"
            out.put(form, f"{stem}_name", texts[0].text.strip(), where(texts[0]))
            keys = ("area_approved", "area_actual", "area_rate", "invest_budget", "invest_actual", "invest_rate")
            for key, cell in zip(keys, cells[cells.index(texts[0]) + 1:]):
                out.put(form, f"{stem}_{key}", _cell_number(cell.text), where(cell))
            continue
        _unplaced_numbers(cells, where, out)


def _columns(headers, year: int) -> list[str]:
    order = []
    for cell in headers:
        s = P.squash(cell.text)
        if "预算" in s:
            order.append("budget")
        elif str(year - 1) in s or "上年" in s:
            order.append("prev")
        else:
            order.append("final")
    return order or ["prev", "budget", "final"]


def _figures(cells):
    return [c for c in cells if _cell_number(c.text) is not None]


def _unplaced_numbers(cells, where, out: Extraction) -> None:
    for cell in cells:
        if not cell.continued and _cell_number(cell.text) is not None:
            out.unplace(where(cell), cell.text)


# -- 附件3 -----------------------------------------------------------------------------

def _row_of(form: Form, sheet: str, word: str) -> int | None:
    """The first row of *sheet* with a text containing *word*."""
    rows = [split_cell(t.cell)[1] for t in form.sheet(sheet).texts if word in t.text]
    return min(rows) if rows else None


def funding_rows(form: Form) -> range:
    """附件3's rows between 年度资金总额 and 年度总体目标 (按收入/支出性质 or 按资金来源分)."""
    first, last = _row_of(form, "eval", "年度资金总额"), _row_of(form, "eval", "年度总体目标")
    return range(first + 1, last) if first and last else range(0)


def row_items(form: Form, row: int) -> tuple[list, list]:
    """(texts, fields) of one row of the form's 附件3 sheet, left to right (empty texts left out)."""
    texts = sorted((t for t in form.sheet("eval").texts if split_cell(t.cell)[1] == row and t.text.strip()),
                   key=lambda t: _col_index(t.cell))
    fields = sorted((f for f in form.fields if f.sheet == "eval" and f.row == row), key=lambda f: f.column)
    return texts, fields


def _col_index(cell: str) -> int:
    from xltool.form.address import column_index

    return column_index(split_cell(cell)[0])


def is_column_row(form: Form, row: int) -> bool:
    """A row with one label and figures under the 年初预算数 / 全年预算数 / 全年执行数 … headers
    (年度资金总额; the project form's 当年财政拨款 / 上年结转资金 / 其他资金 rows); words to the right
    of the figures (a form's 得分计算方法 note) do not make it another kind of row."""
    texts, fields = row_items(form, row)
    if len(fields) < 2:
        return False
    first, last = fields[0].column, fields[-1].column
    cols = [_col_index(t.cell) for t in texts]
    return sum(c < first for c in cols) == 1 and not any(first < c < last for c in cols)


def _indicator_head_row(form: Form) -> int | None:
    """The row of the indicator header (一级指标 … ), just above the first indicator row."""
    rows = [f.row for f in form.fields if f.sheet == "eval" and f.group and f.group.startswith("ind_")]
    return min(rows) - 1 if rows else None


def labelled_fields(form: Form, row: int) -> list[tuple[str, str]]:
    """(label, field id) pairs of a row: each label with the first field to its right before the next label."""
    texts, fields = row_items(form, row)
    out = []
    for k, text in enumerate(texts):
        col = _col_index(text.cell)
        stop = _col_index(texts[k + 1].cell) if k + 1 < len(texts) else 10 ** 6
        out.append((text.text, next((f.id for f in fields if col < f.column < stop), "")))
    return out


def head_row(form: Form) -> int | None:
    """附件3's 年初预算数 … header row: the row of words just above the 全年预算数 row (a region's
    form may word the columns otherwise: 年初预算 / 调整后预算数, 年初预算数（A）)."""
    budget = form.by_id.get("eval_budget_full")
    if budget is not None and budget.sheet == "eval" and _row_words(form, budget.row - 1):
        return budget.row - 1
    return _row_of(form, "eval", "年初预算数")


def _row_words(form: Form, row: int) -> list[str]:
    """The words of one row of the form's 附件3 sheet, squashed, left to right."""
    texts = sorted((t for t in form.sheet("eval").texts if split_cell(t.cell)[1] == row and t.text.strip()),
                   key=lambda t: _col_index(t.cell))
    return [P.squash(t.text) for t in texts]


def head_words(form: Form) -> set[str]:
    """The column words of the funds header (年初预算数, 全年预算数, … as the pack words them)."""
    head = head_row(form)
    return {w for w in _row_words(form, head)} if head else set()


def _is_head(form: Form, texts: list[str]) -> bool:
    words = head_words(form)
    return "年初预算数" in texts or (len(words) >= 3 and len(words & set(texts)) >= 3)


def goal_words(form: Form) -> set[str]:
    """The words over the two goal cells (预期目标 / 实际完成情况, or the region's)."""
    goal = form.by_id.get("eval_goal_expected")
    return set(_row_words(form, goal.row - 1)) if goal is not None else set()


def total_word(form: Form) -> str:
    """The label of the 总分 row (总分, or 合计)."""
    total = form.by_id.get("eval_total_weight")
    words = _row_words(form, total.row) if total is not None else []
    return words[0] if words else "总分"


def goal_row(form: Form) -> int | None:
    """附件3's 年度总体目标 row."""
    return _row_of(form, "eval", "年度总体目标")


def top_rows(form: Form) -> list[int]:
    """附件3's rows above the header that hold a field (单位名称; 项目名称, 主管部门, 实施单位)."""
    head = head_row(form) or 0
    return [r for r in range(1, head) if row_items(form, r)[1]]


def _top_labels(form: Form) -> dict[str, str]:
    return {_label(text): fid for r in top_rows(form) for text, fid in labelled_fields(form, r) if fid}


def _column_labels(form: Form) -> dict[str, dict[str, str]]:
    """Label of each column row → {header text → field id}."""
    head = head_row(form)
    if head is None:
        return {}
    heads = {split_cell(t.cell)[0]: P.squash(t.text) for t in form.sheet("eval").texts if split_cell(t.cell)[1] == head}
    out: dict[str, dict[str, str]] = {}
    ends = [r for r in (_row_of(form, "eval", "年度总体目标"), _indicator_head_row(form)) if r and r > head]
    last = min(ends) if ends else head
    for row in range(head + 1, last):
        if is_column_row(form, row):
            texts, fields = row_items(form, row)
            out[_label(texts[0].text)] = {heads[split_cell(f.cell)[0]]: f.id for f in fields
                                          if split_cell(f.cell)[0] in heads}
    return out


def _put_with_source(form: Form, fid: str, value: object, where: str, out: Extraction) -> None:
    """A derived copy (附件3's 单位名称 = 基本情况's) also gives the input it copies."""
    out.put(form, fid, value, where)
    f = form.by_id.get(fid)
    if f is not None and f.derived and f.formula is not None and type(f.formula).__name__ == "Copy":
        for ref in f.formula.refs():
            out.put(form, ref, value, where)


def _pair_labels(form: Form) -> dict[str, str]:
    """附件3's 按收入/支出性质分 labels → the field to their right on the same row."""
    out = {}
    sheet = form.sheet("eval")
    rows = [r for r in funding_rows(form) if not is_column_row(form, r)]
    fields = [f for f in form.fields if f.sheet == "eval" and f.row in rows]
    for text in sheet.texts:
        row = int(re.sub(r"\D", "", text.cell))
        if row in rows:
            col = text.cell.rstrip("0123456789")
            right = sorted((f for f in fields if f.row == row and f.cell.rstrip("0123456789") > col),
                           key=lambda f: (len(f.cell), f.cell))
            if right:
                out[_label(text.text)] = right[0].id
    return out


def _l1(form: Form, text: str) -> str | None:
    s = P.squash(text)
    for key, label, _kids in form.tree:
        if s.startswith(label[:2]) and "指标" in s:
            return key
    return None


def _l2(form: Form, l1: str | None, text: str) -> tuple[str, str] | None:
    s = P.squash(text)
    for key, _label1, kids in form.tree:
        if l1 is not None and key != l1:
            continue
        for l2, label in kids:
            if s == label or (s and s == label.replace("指标", "")):
                return key, l2
    return None


def choices(form: Form, name: str) -> tuple[str, ...]:
    """A named choice set of the form's pack (directions, judgements)."""
    from xltool.form.registry import get_pack

    try:
        return tuple(get_pack(form.pack_ref or None).file.choices.get(name, ()))
    except ValueError:  # a pack no longer registered: the indicator cells say it
        return ()


def cost_like(l1: str, l2: str) -> bool:
    """Cost indicators are “lower is better” whether 成本 is a 一级 or a 二级 under 产出."""
    return "cost" in (l1, l2)


def _indicator_value(text: str, qualitative: tuple[str, ...]) -> tuple[str | None, object, str]:
    """(direction, value, unit) of a 年度指标值 / 实际完成值 cell such as “≥38000平方米”, read as
    the workbook path reads the same text (xltool.form.measure): a text that is not one figure
    (a date or deadline such as 2021年12月完成, 12月底前, 2023年6月; two figures) stays text, never
    a number, and states no direction."""
    s = P.squash(text)
    if _empty(s):
        return None, None, ""
    if s in qualitative or s[1:] in qualitative and s[:1] in "≥≤=><":
        return "定性", s.lstrip("≥≤=><"), ""
    m = parse_measure(s)
    if m is None or m.number is None:
        return None, s, ""
    return m.direction, m.number, m.unit


def _eval(form: Form, table: Table, name: str, out: Extraction) -> None:
    pairs = _pair_labels(form)
    top = _top_labels(form)
    column_rows = _column_labels(form)
    heads: list[str] = []
    layout = INDICATOR_COLUMNS
    mode = ""
    l1: str | None = None
    counter: dict[tuple[str, str], int] = {}
    for row in table.rows:
        where = lambda c: _("{table} table row {r} column {c}").format(table=name, r=c.row, c=c.col)  # noqa: E731
        texts = [P.squash(c.text) for c in row]
        own = [c for c in row if not c.continued]
        if mode == "" and not heads and any(_label(c.text) in top for c in own):
            pending: str | None = None
            for cell in own:
                if _label(cell.text) in top:
                    pending = top[_label(cell.text)]
                elif pending and not _empty(cell.text):
                    _put_with_source(form, pending, cell.text.strip(), where(cell), out)
                    pending = None
            continue
        if any("名称" in t for t in texts[:2]) and mode == "":
            rest = [c for c in own if "名称" not in P.squash(c.text) and not _empty(c.text)]
            if rest:
                out.put(form, "eval_unit_name", rest[0].text.strip(), where(rest[0]))
                out.put(form, "info_unit_name", rest[0].text.strip(), where(rest[0]))
            continue
        if _is_head(form, texts):
            heads = texts
            continue
        label_at = next((k for k, t in enumerate(texts) if _label(t) in column_rows), None)
        if label_at is not None and mode in ("", "after_goal"):
            start = label_at
            columns = column_rows[_label(texts[label_at])]
            for cell, head in zip(row[start + 1:], heads[start + 1:] if heads else []):
                fid = columns.get(head)
                value = _cell_number(cell.text)
                if fid and value is not None:
                    out.put(form, fid, value, where(cell))
                elif value is not None:
                    out.unplace(where(cell), cell.text)
            if not heads:
                _unplaced_numbers(row[start + 1:], where, out)
            continue
        if "预期目标" in texts or (goal_words(form) and goal_words(form) <= set(texts)):
            mode = "goal"
            continue
        if mode == "goal":
            cells = [c for c in own if len(P.squash(c.text)) > 1 and "年度总体目标" not in P.squash(c.text)]
            for fid, cell in zip(("eval_goal_expected", "eval_goal_actual"), cells):
                out.put(form, fid, cell.text.strip(), where(cell))
            mode = "after_goal"
            continue
        if "一级指标" in texts or "三级指标" in texts:
            mode = "indicators"
            layout = _indicator_layout(texts, form)
            continue
        if "eval_grade" in form.by_id and texts and _label(texts[0]) == _label(form.field("eval_grade").label):
            if len(own) > 1:  # 自评等级 (a pack's grade row, below the indicators or 总分)
                out.put(form, "eval_grade", own[-1].text.strip(), where(own[-1]))
            mode = "done"
            continue
        total = total_word(form)
        if texts and (texts[0].startswith("总分") or texts[0].startswith(total)) or (
                len(texts) > 1 and ("总分" in texts[:2] or total in texts[:2])):
            nums = _figures(own)
            for fid, cell in zip(("eval_total_weight", "eval_total_score"), nums):
                out.put(form, fid, _cell_number(cell.text), where(cell))
            _unplaced_numbers(nums[2:], where, out)
            mode = "done"
            continue
        if mode == "indicators":
            found = None
            for k, cell in enumerate(row):
                l1_here = _l1(form, cell.text)
                if l1_here:
                    l1 = l1_here
                hit = _l2(form, l1, cell.text)
                if hit:
                    found = (k, hit)
                    break
            if found is None:
                _unplaced_numbers(own, where, out)
                continue
            k, (l1, l2) = found
            counter[(l1, l2)] = counter.get((l1, l2), 0) + 1
            j = counter[(l1, l2)]
            rest = row[k + 1:]
            rows = form.rows_of(l1, l2)
            if j > rows or not rest or _empty(rest[0].text) and not any(_cell_number(c.text) is not None for c in rest):
                if j > rows:
                    _unplaced_numbers(rest, where, out)
                continue
            _indicator(form, l1, l2, j, rest, layout, where, out)
            continue
        if mode in ("", "after_goal"):
            _pairs(form, pairs, own, where, out)


def _pairs(form: Form, pairs: dict[str, str], cells, where, out: Extraction) -> None:
    """Cells such as “其中：一般公共预算：2510.99”, or a label cell followed by its figure."""
    pending: str | None = None
    for cell in cells:
        s = P.squash(cell.text)
        value = _cell_number(cell.text)
        if value is not None and pending:
            out.put(form, pending, value, where(cell))
            pending = None
            continue
        m = re.fullmatch(r"(?P<label>.*?[^\d:]):(?P<v>[^:]*)", s)
        if m:
            fid = pairs.get(_label(m.group("label").split(":")[-1])) or pairs.get(_label(m.group("label")))
            v = _cell_number(m.group("v")) if m.group("v") else None
            if fid and v is not None:
                out.put(form, fid, v, where(cell))
            elif fid and not m.group("v"):
                pending = fid
            elif v is not None:
                out.unplace(where(cell), cell.text)
            continue
        fid = pairs.get(_label(s))
        if fid:
            pending = fid
        elif value is not None:
            out.unplace(where(cell), cell.text)


# The cells after the 二级指标 one, as the published 附件3 orders them.
INDICATOR_COLUMNS = ("name", "target", "actual", "weight", "score", "reason")
_INDICATOR_HEADS = (("三级", "name"), ("方向", "dir"), ("指标值", "target"), ("完成值", "actual"),
                    ("单位", "unit"), ("分值", "weight"), ("得分", "score"), ("偏差", "reason"))


def _indicator_layout(heads: list[str], form: Form | None = None) -> tuple[str, ...]:
    """The header's order of the columns after 二级指标 (a table copied from the template has
    指标方向 and 计量单位 columns too); the published order when the header does not say. A header
    word the form pack itself uses for a column (指标性质, 权重, 未完成原因分析) names that column."""
    start = next((i for i, h in enumerate(heads) if "二级" in h), None)
    if start is None:
        return INDICATOR_COLUMNS
    own = _pack_indicator_words(form) if form is not None else {}
    out = []
    for head in heads[start + 1:]:
        out.append(own.get(head) or next((key for word, key in _INDICATOR_HEADS if word in head), ""))
    return tuple(out) if {"name", "target", "actual"} <= set(out) else INDICATOR_COLUMNS


def _pack_indicator_words(form: Form) -> dict[str, str]:
    """The form's indicator header word over each part's column → the part."""
    row = _indicator_head_row(form)
    if row is None or not form.tree:
        return {}
    l1, _label1, kids = form.tree[0]
    ids = indicator_ids(l1, kids[0][0], 1)
    words = {split_cell(t.cell)[0]: P.squash(t.text) for t in form.sheet("eval").texts
             if split_cell(t.cell)[1] == row}
    out = {}
    for part, fid in ids.items():
        f = form.by_id.get(fid)
        if f is not None and words.get(split_cell(f.cell)[0]):
            out[words[split_cell(f.cell)[0]]] = part
    return out


def _indicator(form: Form, l1: str, l2: str, j: int, cells, layout: tuple[str, ...], where,
               out: Extraction) -> None:
    ids = indicator_ids(l1, l2, j)
    directions, qualitative = choices(form, "directions"), choices(form, "judgements")
    by_key = {key: cell for key, cell in zip(layout, cells) if key}
    name = by_key.get("name", cells[0])
    out.put(form, ids["name"], name.text.strip(), where(name))
    direction: str | None = None
    unit = ""
    if "dir" in by_key and normal_text(by_key["dir"].text) in directions:  # “≧” for ≥ (xltool.form.measure)
        direction = normal_text(by_key["dir"].text)
    if "unit" in by_key and not _empty(by_key["unit"].text):
        unit = by_key["unit"].text.strip()
    for key in ("target", "actual"):
        if key not in by_key:
            continue
        d, value, u = _indicator_value(by_key[key].text, qualitative)
        direction = direction or (d if key == "target" or d == "定性" else None)
        unit = unit or u
        out.put(form, ids[key], value, where(by_key[key]))
    for key in ("weight", "score"):
        if key in by_key:
            out.put(form, ids[key], _cell_number(by_key[key].text), where(by_key[key]))
    if "reason" in by_key and not _empty(by_key["reason"].text):
        out.put(form, ids["reason"], by_key["reason"].text.strip(), where(by_key["reason"]))
    placed = {id(c) for c in by_key.values()}
    for cell in cells:
        if id(cell) not in placed and _cell_number(cell.text) is not None:
            out.unplace(where(cell), cell.text)
    figure = any(isinstance(out.values.get(ids[k]), float) for k in ("target", "actual"))
    if ids["target"] in out.values or ids["actual"] in out.values:
        # The published 附件3 has no 指标方向 column: a sign before the target states it, else
        # costs are “lower is better” and every other indicator “higher is better” — when the row
        # states a figure; a row of dates or words states no direction (as on the workbook path).
        first = by_key.get("target", name)
        if direction not in directions and not figure:
            if unit:
                out.put(form, ids["unit"], unit, where(by_key.get("unit", first)))
            return
        direction = direction if direction in directions else ("≤" if cost_like(l1, l2) else "≥")
        out.put(form, ids["dir"], direction, where(by_key.get("dir", first)))
        if unit:
            out.put(form, ids["unit"], unit, where(by_key.get("unit", first)))


# -- the whole document ----------------------------------------------------------------

ANNEX = re.compile(r"^附件\s*([1-3一二三])$")


def extract(form: Form, doc: Document) -> Extraction:
    out = Extraction()
    annex = 1
    narrative: list[tuple[str, str]] = []
    tables = {2: 0, 3: 0}
    after = {2: 0, 3: 0}
    cover = 0
    for block in doc.blocks:
        if isinstance(block, Para):
            s = P.squash(block.text)
            m = ANNEX.match(s)
            if m:
                annex = "1一2二3三".index(m.group(1)) // 2 + 1
                out.headings.add(annex)
                continue
            if annex == 1:
                cover += 1
                narrative.append((_("Cover paragraph {p}").format(p=cover), block.text))
            elif s:
                after[annex] += 1
                where = _("Annex {n} paragraph {p}").format(n=annex, p=after[annex])
                if not _footer(form, "base" if annex == 2 else "eval", block.text, where, out):
                    for fig in P.FIGURE.finditer(P.fold(block.text)):
                        out.unplace(where, fig.group())
            continue
        kind = _guess(block) or annex  # the content decides: some reports number the tables 附件一/附件二
        if kind not in (2, 3):
            for row in block.rows:
                _unplaced_numbers(row, lambda c: _("Table row {r} column {c}").format(r=c.row, c=c.col), out)
            continue
        tables[kind] += 1
        name = _("Annex {n}").format(n=kind) + ("" if tables[kind] == 1 else str(tables[kind]))
        (_base if kind == 2 else _eval)(form, block, name, out)
    out.tables = tables
    in_tables = set(out.where)
    _narrative(form, narrative, out)
    out.from_text = set(out.where) - in_tables
    _type(form, out)
    return out


def _guess(table: Table) -> int:
    text = "".join(P.squash(c.text) for row in table.rows[:6] for c in row)
    if "经费控制" in text or "财政供养" in text:
        return 2
    if "年度资金总额" in text or "绩效指标" in text or "年初预算数" in text:
        return 3
    # A region's project form may open with its goals and word its funds header otherwise.
    rest = "".join(P.squash(c.text) for row in table.rows[6:60] for c in row)
    if "绩效指标" in rest and ("年初预算" in rest or "预算执行" in rest):
        return 3
    return 0


def _type(form: Form, out: Extraction) -> None:
    """Texts as text and dates as dates, the way the workbook reader types them (numbers stay
    floats: the reader gives integers as floats too)."""
    for store in (out.values, out.stated):
        for fid, value in list(store.items()):
            f = form.field(fid)
            if f.kind is Kind.TEXT and not isinstance(value, str):
                store[fid] = str(value)
            elif f.kind is Kind.DATE and not isinstance(value, date):
                store.pop(fid)
                out.where.pop(fid, None)
