"""附件2 and 附件3 as Word tables in the published layout, from a workbook's values.

附件2 follows the form's 附件2 sheet row by row (labels, “——” cells and merges come from the
form); 附件3 folds the template's 指标方向 and 计量单位 columns into 年度指标值 and 实际完成值 as
the published table shows them (“≤337.57万元”). Amounts in 万元 with two decimals.
"""

from __future__ import annotations

from collections.abc import Mapping

from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.shared import Pt

from xltool.form.address import column_index, split_cell
from xltool.form.model import Field, Form, Kind
from xltool.form.selfeval import indicator_ids, l1_weight_label
from xltool.form.scoring import ScoringConfig
from xltool.numbers import fmt_amount, fmt_number, fmt_rate
from xltool.word.extract import cost_like, goal_row, head_row, is_column_row, labelled_fields, row_items, top_rows

FONT_PT = 9


def show(field: Field, value: object) -> str:
    """A figure as the published tables print it."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        if field.kind is Kind.AMOUNT:
            return fmt_amount(value)
        if field.kind is Kind.RATE:
            return fmt_rate(value)
        return fmt_number(value)
    if hasattr(value, "year") and hasattr(value, "day"):
        return f"{value.year}年{value.month}月{value.day}日"  # type: ignore[attr-defined]
    return str(value)


def _cell_text(cell, text: str, *, bold: bool = False, center: bool = True) -> None:
    cell.text = ""
    para = cell.paragraphs[0]
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER if center else WD_ALIGN_PARAGRAPH.LEFT
    lines = str(text).split("\n")
    for i, line in enumerate(lines):
        run = para.add_run(line)
        run.font.size = Pt(FONT_PT)
        run.bold = bold
        if i < len(lines) - 1:
            run.add_break()


def _grid(doc, rows: int, widths_mm: tuple[float, ...]):
    from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT
    from docx.shared import Mm

    table = doc.add_table(rows=rows, cols=len(widths_mm))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for col, width in zip(table.columns, widths_mm):
        col.width = Mm(width)
        for cell in col.cells:
            cell.width = Mm(width)
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    return table


def _cells(table) -> list[list]:
    """The table's cells by (row, column) before any merge: ``table.cell`` recomputes the whole
    grid on every call, which made writing 附件3 quadratic."""
    from docx.table import _Cell

    return [[_Cell(tc, table) for tc in tr.tc_lst] for tr in table._tbl.tr_lst]


# Column widths (mm): 附件2 on A4 portrait (170 mm between margins), 附件3 on A4 landscape (267 mm).
ANNEX2_WIDTHS = (62.0, 18.0, 18.0, 18.0, 18.0, 18.0, 18.0)
ANNEX3_WIDTHS = (16.0, 24.0, 30.0, 30.0, 30.0, 30.0, 22.0, 22.0, 63.0)


def _repeat_header(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(OxmlElement("w:tblHeader"))  # on, as Word writes it (no w:val)


# -- 附件2 -----------------------------------------------------------------------------

def annex2_rows(form: Form, values: Mapping[str, object]) -> tuple[list[list[tuple[int, int, str, bool]]], int]:
    """The 附件2 grid from the form's sheet: per row, (first column, last column, text, header)."""
    sheet = form.sheet("base")
    width = max(column_index(c) for c in sheet.col_widths) if sheet.col_widths else 7
    by_row: dict[int, dict[int, tuple[int, str, bool]]] = {}
    spans: dict[str, str] = {t.cell: t.merge_to for t in sheet.texts if t.merge_to}
    for merged in sheet.merges:
        first, last = merged.split(":")
        spans[first] = last
    thrift = form.field("base_thrift").row
    for text in sheet.texts:
        col, row = split_cell(text.cell)
        if 3 <= row <= thrift:
            end = column_index(split_cell(spans[text.cell])[0]) if text.cell in spans else column_index(col)
            indent = "\u3000" * (text.indent // 2)
            by_row.setdefault(row, {})[column_index(col)] = (end, indent + text.text, text.style.value == "header")
    for f in form.fields:
        if f.sheet == "base" and 3 <= f.row <= thrift:
            end = column_index(split_cell(spans[f.cell])[0]) if f.cell in spans else f.column
            by_row.setdefault(f.row, {})[f.column] = (end, show(f, values.get(f.id)), False)
    rows: list[list[tuple[int, int, str, bool]]] = []
    vertical: list[tuple[int, int, int]] = []  # (row, first row, column) of texts merged downwards
    for text in sheet.texts:
        if text.merge_to and split_cell(text.merge_to)[1] > split_cell(text.cell)[1]:
            vertical.append((split_cell(text.cell)[1], split_cell(text.merge_to)[1], column_index(split_cell(text.cell)[0])))
    covered = {(r, c) for first, last, c in vertical for r in range(first + 1, last + 1)}
    blank_buildings = 0
    for row in sorted(by_row):
        cells = by_row[row]
        group = next((f.group for f in form.fields if f.sheet == "base" and f.row == row and f.group), None)
        if group in ("base_zx", "base_bld"):
            name = next(f for f in form.fields if f.sheet == "base" and f.row == row and f.id.endswith("_name"))
            if values.get(name.id) in (None, ""):
                if group == "base_zx" or blank_buildings:
                    continue
                blank_buildings += 1
        out = []
        cols = sorted(cells)
        for i, col in enumerate(cols):
            end, text, header = cells[col]
            if i == len(cols) - 1:
                end = width  # the last cell of a row runs to the table's edge
            else:
                end = max(end, cols[i + 1] - 1)
            out.append((col, end, text, header))
        for r, c in covered:
            if r == row and c not in cells:
                out.insert(0, (c, c, "", True))
        rows.append(out)
    return rows, width


def _fill(table, rows, center) -> list:
    """Write *rows* (per row: (first column, last column, text, header) spans, 1-based) into
    *table*, merging each span; *center(first, text, header)* says which cells are centred.
    Returns the table's cell grid."""
    grid = _cells(table)
    for r, cells in enumerate(rows):
        for first, last, text, header in cells:
            cell = grid[r][first - 1]
            if last > first:
                cell = cell.merge(grid[r][last - 1])
            _cell_text(cell, text, bold=header, center=center(first, text, header))
    return grid


def annex2(doc, form: Form, values: Mapping[str, object]) -> None:
    rows, width = annex2_rows(form, values)
    table = _grid(doc, len(rows), ANNEX2_WIDTHS[:width] + (18.0,) * max(0, width - len(ANNEX2_WIDTHS)))
    grid = _fill(table, rows, lambda first, text, header: first > 1 or header)
    # 财政供养人员情况 spans its header and value rows.
    top = grid[0][0]
    text = top.text
    merged = top.merge(grid[1][0])
    _cell_text(merged, text, bold=True)


# -- 附件3 -----------------------------------------------------------------------------

def _indicator_text(values: Mapping[str, object], ids: dict[str, str], key: str, cost: bool, form: Form) -> str:
    value = values.get(ids[key])
    if value in (None, ""):
        return ""
    unit = str(values.get(ids["unit"]) or "")
    text = (fmt_number(value) if isinstance(value, (int, float)) else str(value)) + (unit if isinstance(value, (int, float)) else "")
    direction = values.get(ids["dir"])
    default = "≤" if cost else "≥"
    if key == "target" and direction in ("≥", "≤", "=") and direction != default:
        text = f"{direction}{text}"
    return text


def _label_text(text: str) -> str:
    """A label as the published table prints it before its figure: “其中：一般公共预算：”."""
    text = text.strip()
    return text if not text or text.endswith("：") else text + "："


def _top(form: Form, values: Mapping[str, object]) -> tuple[list[list[tuple[int, int, str, bool]]], int, int]:
    """附件3 above the indicators, from the pack's layout: (rows, index of the header row, index of
    the 年度总体目标 row). Columns as the sheet's A..H, the last running to the table's edge."""
    f = form.field
    top: list[list[tuple[int, int, str, bool]]] = []
    for r in top_rows(form):
        pairs = labelled_fields(form, r)
        if len(pairs) == 1:
            (label, fid), = pairs
            top.append([(1, 2, label, True), (3, 9, show(f(fid), values.get(fid)) if fid else "", False)])
        else:
            cells: list[tuple[int, int, str, bool]] = []
            for k, (label, fid) in enumerate(pairs[:2]):
                base = 1 + 5 * k
                cells += [(base, base + 1, label, True),
                          (base + 2, 5 if k == 0 else 9, show(f(fid), values.get(fid)) if fid else "", False)]
            top.append(cells)
    head = head_row(form)
    goal = goal_row(form) or (head or 0) + 1
    heads = {column_index(split_cell(t.cell)[0]): t.text for t in form.sheet("eval").texts if split_cell(t.cell)[1] == head}
    head_at = len(top)
    top.append([(c, 9 if c == 8 else c, heads.get(c, ""), True) for c in range(1, 9)])
    for r in range((head or 0) + 1, goal):
        if is_column_row(form, r):
            texts, fields = row_items(form, r)
            by_col = {x.column: x for x in fields}
            top.append([(1, 1, "", True), (2, 2, texts[0].text, False)] + [
                (c, 9 if c == 8 else c, show(by_col[c], values.get(by_col[c].id)) if c in by_col else "", False)
                for c in range(3, 9)])
        else:
            pair = [(_label_text(label), fid) for label, fid in labelled_fields(form, r)[:2]] + [("", "")] * 2
            (left, lid), (right, rid) = pair[0], pair[1]
            top.append([(1, 1, "", True), (2, 4, left + (show(f(lid), values.get(lid)) if lid else ""), False),
                        (5, 9, right + (show(f(rid), values.get(rid)) if rid else ""), False)])
    goal_at = len(top)
    top.append([(1, 1, "年度总体目标", True), (2, 5, "预期目标", True), (6, 9, "实际完成情况", True)])
    top.append([(1, 1, "", True), (2, 5, str(values.get("eval_goal_expected") or ""), False),
                (6, 9, str(values.get("eval_goal_actual") or ""), False)])
    return top, head_at, goal_at


def annex3(doc, form: Form, values: Mapping[str, object], cfg: ScoringConfig) -> None:
    f = form.field
    top, head_at, goal_at = _top(form, values)
    heads = ("一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施")
    top.append([(1, 1, "绩效指标", True)] + [(c, c, h, True) for c, h in zip(range(2, 10), heads)])
    body: list[list[tuple[int, int, str, bool]]] = []
    l1_spans, l2_spans = [], []
    for l1, _label, kids in form.tree:
        l1_first = len(body)
        for l2, l2_label in kids:
            l2_first = len(body)
            filled = [j for j in range(1, form.rows_of(l1, l2) + 1) if values.get(indicator_ids(l1, l2, j)["name"]) not in (None, "")]
            for j in filled or [0]:
                ids = indicator_ids(l1, l2, j) if j else None
                row = [(1, 1, "", True), (2, 2, l1_weight_label(l1, cfg, form), False), (3, 3, l2_label, False)]
                if ids:
                    row += [(4, 4, str(values.get(ids["name"]) or ""), False),
                            (5, 5, _indicator_text(values, ids, "target", cost_like(l1, l2), form), False),
                            (6, 6, _indicator_text(values, ids, "actual", cost_like(l1, l2), form), False),
                            (7, 7, show(f(ids["weight"]), values.get(ids["weight"])), False),
                            (8, 8, show(f(ids["score"]), values.get(ids["score"])), False),
                            (9, 9, str(values.get(ids["reason"]) or ""), False)]
                body.append(row)
            l2_spans.append((l2_first, len(body) - 1))
        l1_spans.append((l1_first, len(body) - 1))
    total = [[(1, 6, "总分", True), (7, 7, show(f("eval_total_weight"), values.get("eval_total_weight")), False),
              (8, 8, show(f("eval_total_score"), values.get("eval_total_score")), False), (9, 9, "", False)]]
    rows = top + body + total
    table = _grid(doc, len(rows), ANNEX3_WIDTHS)
    grid = _fill(table, rows, lambda first, text, header: header or ("：" not in text and len(text) < 20))
    offset = len(top)
    vertical = [(head_at, goal_at - 1, 0), (goal_at, goal_at + 1, 0), (offset - 1, offset + len(body) - 1, 0)]
    vertical += [(offset + a, offset + b, 1) for a, b in l1_spans] + [(offset + a, offset + b, 2) for a, b in l2_spans]
    for first, last, col in vertical:
        if last > first:
            text = grid[first][col].text
            merged = grid[first][col].merge(grid[last][col])
            _cell_text(merged, text, bold=col == 0)
    _repeat_header(table.rows[offset - 1])
