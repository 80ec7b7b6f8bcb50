"""The 部门（单位）整体支出绩效自评 form for one year: every sheet, field and formula.

Sheet layouts follow the published 附件2 and 附件3 (see domain.md) plus the key figures of
the narrative report (附件1, sections 二 to 六). Field ids are stable ASCII names that
double as workbook-level defined names; they never look like cell references.
"""

from __future__ import annotations

from functools import lru_cache

from xltool.form.expr import Copy, Div, Expr, Ref, Sum, total
from xltool.form.model import Field, Form, Kind, Role, Sheet, Style, Text
from xltool.form.scoring import ScoringConfig

TEMPLATE_ID = "xltool-jxzp"
VERSION = "1.0"

PROJECT_ROWS = 20  # 收支情况 and 项目绩效 project lists
SPECIAL_ROWS = 10  # 附件2 专项资金 rows
BUILDING_ROWS = 5  # 附件2 楼堂馆所 rows
INDICATOR_ROWS = 5  # 附件3 三级 rows under each 二级

DIRECTIONS = ("≥", "≤", "=", "定性")
QUALITATIVE = ("达成", "部分达成", "未达成")
YES_NO = ("是", "否")

# 一级 → (weight key, label, [(二级 key, label)])
INDICATOR_TREE: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("output", "产出指标", (("qty", "数量指标"), ("quality", "质量指标"), ("time", "时效指标"))),
    (
        "benefit",
        "效益指标",
        (
            ("econ", "经济效益指标"),
            ("social", "社会效益指标"),
            ("eco", "生态效益指标"),
            ("sustain", "可持续影响指标"),
        ),
    ),
    ("satisfaction", "满意度指标", (("service", "服务对象满意度指标"),)),
    ("cost", "成本指标", (("costecon", "经济成本指标"), ("costsocial", "社会成本指标"), ("costeco", "生态环境成本指标"))),
)


class _SheetBuilder:
    """Collects the static texts and fields of one sheet."""

    def __init__(self, key: str, title: str, **layout: object) -> None:
        self.sheet = Sheet(key=key, title=title, **layout)
        self.fields: list[Field] = []

    def text(self, cell: str, text: str, style: Style = Style.LABEL, merge_to: str | None = None, indent: int = 0) -> None:
        self.sheet.texts.append(Text(cell=cell, text=text, style=style, merge_to=merge_to, indent=indent))

    def field(self, id: str, cell: str, label: str, kind: Kind, **kw: object) -> Ref:
        self.fields.append(Field(id=id, cell=cell, label=label, kind=kind, sheet=self.sheet.key, **kw))
        return Ref(id)

    def derived(self, id: str, cell: str, label: str, kind: Kind, formula: Expr, **kw: object) -> Ref:
        return self.field(id, cell, label, kind, role=Role.DERIVED, formula=formula, **kw)


def _guide(year: int, cfg: ScoringConfig) -> _SheetBuilder:
    b = _SheetBuilder("guide", "填报说明", col_widths={"A": 34, "B": 16, "C": 60})
    b.text("A1", f"{year}年度部门（单位）整体支出绩效自评 填报说明", Style.TITLE, "C1")
    lines = [
        "1. 只需在浅黄色单元格中填写；灰色单元格为公式自动计算，已锁定。",
        "2. 金额单位为万元，保留两位小数；比率按百分比显示；人数为整数。",
        "3. “收支情况”“项目绩效”两表按自评报告第二至六部分所述数字填写，附件2、附件3按公开表样填写。",
        "4. 同一数字在不同位置出现时必须一致；“审核”表实时显示每条审核公式的结果。",
        "5. “审核”表中“必须修改”项须改正后再报送；“需要说明”项请在自评报告中说明原因。",
        "6. 请勿增删工作表、插入行列或修改公式；工作表已保护。",
        "7. 填写完成后保存为 .xlsx 文件报送财政局。",
    ]
    for i, line in enumerate(lines, start=3):
        b.text(f"A{i}", line, Style.NOTE, f"C{i}")
    b.text("A11", "颜色说明", Style.SECTION, "C11")
    b.text("A12", "可填写", Style.LABEL)
    b.text("A13", "自动计算（公式）", Style.LABEL)
    b.text("A14", "审核不通过", Style.LABEL)
    b.text("A16", "评分设置（由财政局设定，已锁定）", Style.SECTION, "C16")
    b.text("A17", "评分口径", Style.LABEL)
    b.text("B17", cfg.region, Style.LABEL, "C17")
    weights = (
        ("execution", "预算执行率分值"),
        ("output", "产出指标分值"),
        ("benefit", "效益指标分值"),
        ("satisfaction", "满意度指标分值"),
        ("cost", "成本指标分值"),
    )
    for row, (key, label) in enumerate(weights, start=18):
        b.text(f"A{row}", label)
        b.field(f"guide_w_{key}", f"B{row}", label, Kind.NUMBER, role=Role.CONFIG, unit="分")
    b.derived(
        "guide_w_total", "B23", "分值合计", Kind.NUMBER, total(f"guide_w_{k}" for k, _ in weights), unit="分"
    )
    b.text("A23", "分值合计")
    b.text("A25", "模板版本", Style.LABEL)
    b.text("B25", f"{TEMPLATE_ID} v{VERSION}", Style.LABEL, "C25")
    return b


def _info(year: int) -> _SheetBuilder:
    b = _SheetBuilder("info", "基本情况", col_widths={"A": 26, "B": 44}, freeze="A3", print_title_rows="1:2")
    b.text("A1", f"{year}年度 部门（单位）基本情况", Style.TITLE, "B1")
    b.text("A2", "项目", Style.HEADER)
    b.text("B2", "内容", Style.HEADER)
    rows = (
        ("info_unit_name", "单位名称", Kind.TEXT, {"required": True, "bureau_fill": True}),
        ("info_unit_code", "单位编码", Kind.TEXT, {"bureau_fill": True}),
        ("info_year", "年度", Kind.INTEGER, {"required": True, "unit": "年"}),
        ("info_departments", "内设科室数", Kind.INTEGER, {"unit": "个"}),
        ("info_staff_total", "人员总数（共有）", Kind.INTEGER, {"unit": "人", "required": True}),
        ("info_staff_active", "其中：在职人员", Kind.INTEGER, {"unit": "人", "required": True, "concept": "staff_active"}),
        ("info_staff_retired", "退休人员", Kind.INTEGER, {"unit": "人"}),
        ("info_preparer", "填表人", Kind.TEXT, {"required": True}),
        ("info_phone", "联系电话", Kind.TEXT, {"required": True}),
        ("info_email", "电子邮箱", Kind.TEXT, {"required": True, "bureau_fill": True, "hint": "审核结果将发送到此邮箱"}),
        ("info_head", "单位负责人", Kind.TEXT, {}),
        ("info_date", "填报日期", Kind.DATE, {}),
    )
    for row, (fid, label, kind, kw) in enumerate(rows, start=3):
        b.text(f"A{row}", label)
        b.field(fid, f"B{row}", label, kind, **kw)
    return b


def _fin(year: int) -> _SheetBuilder:
    b = _SheetBuilder(
        "fin", "收支情况", col_widths={"A": 40, "B": 18}, freeze="A3", print_title_rows="1:2"
    )
    b.text("A1", f"{year}年度 预算收支情况（自评报告第二至五部分）", Style.TITLE, "B1")
    b.text("A2", "项目", Style.HEADER)
    b.text("B2", "金额（万元）", Style.HEADER)
    b.text("A3", "二、一般公共预算支出情况", Style.SECTION, "B3")
    b.text("A4", f"{year}年预算资金")
    b.field("fin_budget", "B4", "预算资金", Kind.AMOUNT, unit="万元", required=True, concept="budget_initial")
    b.text("A5", "一般公共预算财政拨款收入")
    b.field("fin_income", "B5", "一般公共预算财政拨款收入", Kind.AMOUNT, unit="万元", required=True)
    b.text("A6", "一般公共预算财政拨款支出")
    b.text("A7", "其中：基本支出", indent=1)
    b.text("A8", "其中：人员经费", indent=3)
    b.text("A9", "公用经费", indent=5)
    b.text("A10", "项目支出", indent=1)
    staff = b.field("fin_staff_cost", "B8", "人员经费", Kind.AMOUNT, unit="万元", required=True)
    public = b.field("fin_public_cost", "B9", "公用经费", Kind.AMOUNT, unit="万元", required=True, concept="public_cost")
    basic = b.derived("fin_basic", "B7", "基本支出", Kind.AMOUNT, staff + public, unit="万元")
    b.text("A11", "（二）项目支出情况（按报告所列项目逐项填写）", Style.SECTION, "B11")
    b.text("A12", "项目名称", Style.HEADER)
    b.text("B12", "金额（万元）", Style.HEADER)
    first = 13
    for i in range(1, PROJECT_ROWS + 1):
        row = first + i - 1
        b.field(f"fin_proj_{i}_name", f"A{row}", f"项目支出明细第{i}行 项目名称", Kind.TEXT, group="fin_proj", index=i)
        b.field(f"fin_proj_{i}_amount", f"B{row}", f"项目支出明细第{i}行 金额", Kind.AMOUNT, unit="万元", group="fin_proj", index=i)
    proj = b.derived(
        "fin_proj", "B10", "项目支出", Kind.AMOUNT,
        total(f"fin_proj_{i}_amount" for i in range(1, PROJECT_ROWS + 1)), unit="万元", concept="project_spending",
    )
    spend = b.derived("fin_exp", "B6", "一般公共预算财政拨款支出", Kind.AMOUNT, basic + proj, unit="万元")
    row = first + PROJECT_ROWS  # 33
    b.text(f"A{row}", "三至五、其他预算支出情况", Style.SECTION, f"B{row}")
    others = []
    for offset, (fid, label) in enumerate(
        (("fin_gov_fund", "三、政府性基金预算支出"), ("fin_state_capital", "四、国有资本经营预算支出"), ("fin_social_ins", "五、社会保险基金预算支出")),
        start=1,
    ):
        b.text(f"A{row + offset}", label)
        others.append(b.field(fid, f"B{row + offset}", label, Kind.AMOUNT, unit="万元", hint="无此项支出的填0或留空"))
    b.text(f"A{row + 4}", "本年支出合计（第二至五部分）", Style.SECTION)
    b.derived(
        "fin_exp_all", f"B{row + 4}", "本年支出合计", Kind.AMOUNT, Sum((spend, *others)), unit="万元", concept="spending_total"
    )
    return b


def _proj(year: int) -> _SheetBuilder:
    cols = {"A": 6, "B": 30, "C": 10, "D": 13, "E": 15, "F": 13, "G": 13, "H": 40}
    b = _SheetBuilder(
        "proj", "项目绩效", col_widths=cols, freeze="C8", print_title_rows="6:7", landscape=True
    )
    b.text("A1", f"{year}年度 资金使用及绩效情况（自评报告第六部分）", Style.TITLE, "H1")
    b.text("A2", "（一）整体支出绩效情况（按报告所述填写）", Style.SECTION, "H2")
    b.text("A3", "年初预算资金总计（万元）", merge_to="C3")
    b.field("proj_budget_initial", "D3", "年初预算资金总计", Kind.AMOUNT, unit="万元", required=True, concept="budget_initial")
    b.text("A4", "实际单位年度总支出（万元）", merge_to="C4")
    b.field("proj_spending", "D4", "实际单位年度总支出", Kind.AMOUNT, unit="万元", required=True, concept="spending_total")
    b.text("A5", "预算执行率（报告所述）", merge_to="C5")
    b.field("proj_exec_rate", "D5", "预算执行率（报告所述）", Kind.RATE, required=True)
    b.text("A6", "（二）项目支出绩效情况（年初预算项目与年中追加项目均逐项填写）", Style.SECTION, "H6")
    headers = ("序号", "项目名称", "是否年初预算", "年初预算", "年中调整（调减填负数）", "实际支出", "结余结转", "绩效目标及完成情况")
    for col, head in zip("ABCDEFGH", headers):
        b.text(f"{col}7", head, Style.HEADER)
    first = 8
    for i in range(1, PROJECT_ROWS + 1):
        row = first + i - 1
        b.text(f"A{row}", str(i))
        g = {"group": "proj", "index": i}
        b.field(f"proj_{i}_name", f"B{row}", f"项目第{i}行 项目名称", Kind.TEXT, **g)
        b.field(f"proj_{i}_initial_flag", f"C{row}", f"项目第{i}行 是否年初预算", Kind.CHOICE, choices=YES_NO, **g)
        b.field(f"proj_{i}_initial", f"D{row}", f"项目第{i}行 年初预算", Kind.AMOUNT, unit="万元", **g)
        b.field(f"proj_{i}_adjust", f"E{row}", f"项目第{i}行 年中调整", Kind.AMOUNT, unit="万元", hint="调减填负数", **g)
        b.field(f"proj_{i}_actual", f"F{row}", f"项目第{i}行 实际支出", Kind.AMOUNT, unit="万元", **g)
        b.field(f"proj_{i}_balance", f"G{row}", f"项目第{i}行 结余结转", Kind.AMOUNT, unit="万元", **g)
        b.field(f"proj_{i}_goal", f"H{row}", f"项目第{i}行 绩效目标", Kind.TEXT, **g)
    row = first + PROJECT_ROWS
    b.text(f"A{row}", "合计", Style.HEADER, f"C{row}")
    rows = range(1, PROJECT_ROWS + 1)
    b.derived("proj_total_initial", f"D{row}", "年初预算合计", Kind.AMOUNT, total(f"proj_{i}_initial" for i in rows), unit="万元", concept="project_budget_initial")
    b.derived("proj_total_adjust", f"E{row}", "年中调整合计", Kind.AMOUNT, total(f"proj_{i}_adjust" for i in rows), unit="万元")
    b.derived("proj_total_actual", f"F{row}", "实际支出合计", Kind.AMOUNT, total(f"proj_{i}_actual" for i in rows), unit="万元", concept="project_spending")
    b.derived("proj_total_balance", f"G{row}", "结余结转合计", Kind.AMOUNT, total(f"proj_{i}_balance" for i in rows), unit="万元")
    return b


# 附件2 经费控制 rows: (key, label, indent, parent key for 其中 rows, has previous-year column)
_BASE_ROWS: tuple[tuple[str, str, int, str | None, bool], ...] = (
    ("sgjf", "三公经费", 0, None, True),
    ("car", "1、公务用车购置和维护经费", 1, None, True),
    ("car_buy", "其中：公车购置", 3, "car", True),
    ("car_run", "公车运行维护", 5, "car", True),
    ("abroad", "2、出国经费", 1, None, True),
    ("reception", "3、公务接待", 1, None, True),
    ("proj", "项目支出：", 0, None, True),
    ("work", "1、业务工作经费", 1, None, True),
    ("ops", "2、运行维护经费", 1, None, True),
)
_BASE_TAIL: tuple[tuple[str, str, int, str | None, bool], ...] = (
    ("public", "公用经费", 0, None, True),
    ("office", "其中：办公经费", 2, "public", True),
    ("utilities", "水费、电费、差旅费", 4, "public", True),
    ("meeting", "会议费、培训费", 4, "public", True),
    ("procurement", "政府采购金额", 0, None, False),
    ("basic_adjust", "部门基本支出预算调整", 0, None, False),
)
# Rows that state only the final figure: the adjustment happens during the year.
FINAL_ONLY = {"basic_adjust"}
BASE_COLUMNS = (("prev", "B"), ("budget", "C"), ("final", "D"))


def base_column_labels(year: int) -> dict[str, str]:
    return {"prev": f"{year - 1}年决算数", "budget": f"{year}年预算数", "final": f"{year}年决算数"}


def _base(year: int) -> _SheetBuilder:
    cols = {"A": 40, "B": 14, "C": 14, "D": 14, "E": 14, "F": 14, "G": 14}
    b = _SheetBuilder("base", "附件2", col_widths=cols, print_title_rows="1:2")
    b.text("A1", "附件2", Style.NOTE)
    b.text("A2", f"{year}年度部门（单位）整体支出绩效评价基础数据表", Style.TITLE, "G2")
    b.text("A3", "财政供养人员情况（人）", Style.HEADER, "A4")
    b.text("B3", "编制数", Style.HEADER)
    b.text("C3", f"{year}年实际在职人数", Style.HEADER)
    b.text("D3", "控制率", Style.HEADER)
    quota = b.field("base_staff_quota", "B4", "编制数", Kind.INTEGER, unit="人", required=True)
    active = b.field("base_staff_active", "C4", f"{year}年实际在职人数", Kind.INTEGER, unit="人", required=True, concept="staff_active")
    b.derived("base_staff_rate", "D4", "人员控制率", Kind.RATE, Div(active, quota))
    b.sheet.tall_rows[3] = 30
    labels = base_column_labels(year)
    b.text("A5", "经费控制情况（万元）", Style.HEADER)
    for key, col in BASE_COLUMNS:
        b.text(f"{col}5", labels[key], Style.HEADER)

    row = 6
    rows: dict[str, int] = {}

    def line(key: str, label: str, indent: int, has_prev: bool) -> None:
        nonlocal row
        b.text(f"A{row}", label, indent=indent)
        rows[key] = row
        if not has_prev:
            b.text(f"B{row}", "——")
        if key in FINAL_ONLY:
            b.text(f"C{row}", "——")
        row += 1

    for key, label, indent, _parent, has_prev in _BASE_ROWS:
        line(key, label, indent, has_prev)
    special_header = row
    b.text(f"A{row}", "3、市级专项资金（一个专项一行，在下方填写专项名称）", indent=1)
    row += 1
    special_rows = []
    for i in range(1, SPECIAL_ROWS + 1):
        b.field(f"base_zx_{i}_name", f"A{row}", f"专项资金第{i}行 名称", Kind.TEXT, group="base_zx", index=i)
        special_rows.append((i, row))
        row += 1
    for key, label, indent, _parent, has_prev in _BASE_TAIL:
        line(key, label, indent, has_prev)

    # Figures of 附件2 that the report states elsewhere as well.
    concepts = {"base_public_final": "public_cost"}

    def value_fields(key: str, label: str, has_prev: bool, r: int, **kw: object) -> None:
        for col_key, col in BASE_COLUMNS:
            if (col_key == "prev" and not has_prev) or (col_key == "budget" and key in FINAL_ONLY):
                continue
            fid = f"base_{key}_{col_key}"
            b.field(fid, f"{col}{r}", f"{label} / {labels[col_key]}", Kind.AMOUNT, unit="万元", concept=concepts.get(fid), **kw)

    for key, label, _indent, _parent, has_prev in _BASE_ROWS + _BASE_TAIL:
        if key in ("sgjf", "proj"):
            continue
        short = label.replace("其中：", "").lstrip("0123456789、").rstrip("：")
        value_fields(key, short, has_prev, rows[key])
    for i, r in special_rows:
        value_fields(f"zx_{i}", f"专项资金第{i}行", True, r, group="base_zx", index=i)
    for col_key, col in BASE_COLUMNS:
        b.derived(
            f"base_sgjf_{col_key}", f"{col}{rows['sgjf']}", f"三公经费 / {labels[col_key]}", Kind.AMOUNT,
            total(f"base_{k}_{col_key}" for k in ("car", "abroad", "reception")), unit="万元",
        )
        parts = ["work", "ops"] + [f"zx_{i}" for i in range(1, SPECIAL_ROWS + 1)]
        b.derived(
            f"base_proj_{col_key}", f"{col}{rows['proj']}", f"项目支出 / {labels[col_key]}", Kind.AMOUNT,
            total(f"base_{k}_{col_key}" for k in parts), unit="万元",
            concept={"budget": "project_budget_initial", "final": "project_spending"}.get(col_key),
        )
    b.sheet.merges.append(f"A{special_header}:D{special_header}")

    row += 1
    bld_header = row
    b.text(f"A{row}", f"楼堂馆所控制情况（{year}年完工项目）", Style.HEADER)
    for col, head in zip("BCDEFG", ("批复规模（㎡）", "实际规模（㎡）", "规模控制率", "预算投资（万元）", "实际投资（万元）", "投资概算控制率")):
        b.text(f"{col}{row}", head, Style.HEADER)
    row += 1
    for i in range(1, BUILDING_ROWS + 1):
        g = {"group": "base_bld", "index": i}
        b.field(f"base_bld_{i}_name", f"A{row}", f"楼堂馆所第{i}行 项目名称", Kind.TEXT, **g)
        approved = b.field(f"base_bld_{i}_area_approved", f"B{row}", f"楼堂馆所第{i}行 批复规模", Kind.NUMBER, unit="㎡", **g)
        actual = b.field(f"base_bld_{i}_area_actual", f"C{row}", f"楼堂馆所第{i}行 实际规模", Kind.NUMBER, unit="㎡", **g)
        b.derived(f"base_bld_{i}_area_rate", f"D{row}", f"楼堂馆所第{i}行 规模控制率", Kind.RATE, Div(actual, approved), **g)
        budget = b.field(f"base_bld_{i}_invest_budget", f"E{row}", f"楼堂馆所第{i}行 预算投资", Kind.AMOUNT, unit="万元", **g)
        spent = b.field(f"base_bld_{i}_invest_actual", f"F{row}", f"楼堂馆所第{i}行 实际投资", Kind.AMOUNT, unit="万元", **g)
        b.derived(f"base_bld_{i}_invest_rate", f"G{row}", f"楼堂馆所第{i}行 投资概算控制率", Kind.RATE, Div(spent, budget), **g)
        row += 1
    b.text(f"A{row}", "厉行节约保障措施", Style.HEADER)
    b.field("base_thrift", f"B{row}", "厉行节约保障措施", Kind.TEXT)
    b.sheet.merges.append(f"B{row}:G{row}")
    b.sheet.tall_rows[row] = 60
    row += 1
    b.text(
        f"A{row}",
        "说明：“项目支出”需要填报基本支出以外的所有项目支出情况，“公用经费”填报基本支出中的一般商品和服务支出。",
        Style.NOTE, f"G{row}",
    )
    row += 1
    _footer(b, row)
    b.sheet.freeze = "B6"
    b.sheet.print_title_rows = "1:2"
    b.sheet.tall_rows.setdefault(bld_header, 30)
    return b


def _footer(b: _SheetBuilder, row: int) -> None:
    """填表人 / 填报日期 / 联系电话 / 单位负责人签字, copied from 基本情况."""
    sheet = b.sheet.key
    for col_label, col_value, label, source, kind in (
        ("A", "B", "填表人", "info_preparer", Kind.TEXT),
        ("C", "D", "填报日期", "info_date", Kind.DATE),
        ("E", "F", "联系电话", "info_phone", Kind.TEXT),
    ):
        b.text(f"{col_label}{row}", f"{label}：")
        b.derived(f"{sheet}_footer_{source[5:]}", f"{col_value}{row}", f"{label}（{b.sheet.title}）", kind, Copy(source))
    b.text(f"G{row}", "单位负责人签字：")


def indicator_ids(l1: str, l2: str, j: int) -> dict[str, str]:
    stem = f"eval_{l1}_{l2}_{j}"
    return {k: f"{stem}_{k}" for k in ("name", "dir", "target", "actual", "unit", "weight", "score", "reason")}


def _eval(year: int) -> _SheetBuilder:
    cols = {"A": 6, "B": 26, "C": 18, "D": 20, "E": 12, "F": 14, "G": 14, "H": 9, "I": 9, "J": 9, "K": 30}
    b = _SheetBuilder("eval", "附件3", col_widths=cols, landscape=True)
    b.text("A1", "附件3", Style.NOTE)
    b.text("A2", f"{year}年度部门（单位）整体支出绩效自评表", Style.TITLE, "K2")
    b.text("A3", "区级预算部门（单位）名称", Style.HEADER, "B3")
    b.derived("eval_unit_name", "C3", "单位名称（附件3）", Kind.TEXT, Copy("info_unit_name"))
    b.sheet.merges.append("C3:K3")
    b.text("A4", "年度预算申请（万元）", Style.HEADER, "A10")
    for col, head in zip("BCDEFGH", ("", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分")):
        b.text(f"{col}4", head, Style.HEADER)
    b.text("B5", "年度资金总额")
    b.field("eval_budget_initial", "C5", "年初预算数", Kind.AMOUNT, unit="万元", required=True, concept="budget_initial")
    full = b.field("eval_budget_full", "D5", "全年预算数", Kind.AMOUNT, unit="万元", required=True)
    spent = b.field("eval_exec", "E5", "全年执行数", Kind.AMOUNT, unit="万元", required=True, concept="spending_total")
    b.derived("eval_exec_weight", "F5", "预算执行率分值", Kind.NUMBER, Ref("guide_w_execution"), unit="分")
    b.derived("eval_exec_rate", "G5", "执行率", Kind.RATE, Div(spent, full))
    b.field("eval_exec_score", "H5", "预算执行率得分", Kind.NUMBER, unit="分", required=True)
    income = (
        ("eval_inc_general", "其中：一般公共预算"),
        ("eval_inc_fund", "政府性基金拨款"),
        ("eval_inc_nontax", "纳入专户管理的非税收入拨款"),
        ("eval_inc_other", "其他资金"),
    )
    b.text("B6", "按收入性质分：")
    b.text("E6", "按支出性质分：", merge_to="F6")
    for row, (fid, label) in enumerate(income, start=7):
        b.text(f"B{row}", label)
        b.field(fid, f"C{row}", f"按收入性质分 {label.replace('其中：', '')}", Kind.AMOUNT, unit="万元")
    b.derived("eval_inc_total", "C6", "按收入性质分合计", Kind.AMOUNT, total(f for f, _ in income), unit="万元")
    b.text("E7", "其中：基本支出", merge_to="F7")
    b.text("E8", "项目支出", merge_to="F8")
    b.field("eval_exp_basic", "G7", "按支出性质分 基本支出", Kind.AMOUNT, unit="万元")
    b.field("eval_exp_project", "G8", "按支出性质分 项目支出", Kind.AMOUNT, unit="万元")
    b.derived("eval_exp_total", "G6", "按支出性质分合计", Kind.AMOUNT, total(("eval_exp_basic", "eval_exp_project")), unit="万元")

    b.text("A11", "年度总体目标", Style.HEADER, "A12")
    b.text("B11", "预期目标", Style.HEADER, "F11")
    b.text("G11", "实际完成情况", Style.HEADER, "K11")
    b.field("eval_goal_expected", "B12", "年度总体目标 预期目标", Kind.TEXT, required=True)
    b.field("eval_goal_actual", "G12", "年度总体目标 实际完成情况", Kind.TEXT, required=True)
    b.sheet.merges += ["B12:F12", "G12:K12"]
    b.sheet.tall_rows[12] = 90

    heads = ("一级指标", "二级指标", "三级指标", "指标方向", "年度指标值", "实际完成值", "计量单位", "分值", "得分", "偏差原因分析及改进措施")
    for col, head in zip("BCDEFGHIJK", heads):
        b.text(f"{col}13", head, Style.HEADER)
    row = 14
    for l1, l1_label, children in INDICATOR_TREE:
        l1_first = row
        for l2, l2_label in children:
            l2_first = row
            for j in range(1, INDICATOR_ROWS + 1):
                ids = indicator_ids(l1, l2, j)
                g = {"group": f"ind_{l1}", "index": j}
                where = f"{l2_label}第{j}行"
                b.field(ids["name"], f"D{row}", f"{where} 三级指标", Kind.TEXT, **g)
                b.field(ids["dir"], f"E{row}", f"{where} 指标方向", Kind.CHOICE, choices=DIRECTIONS, **g)
                b.field(ids["target"], f"F{row}", f"{where} 年度指标值", Kind.NUMBER, choices=QUALITATIVE, **g)
                b.field(ids["actual"], f"G{row}", f"{where} 实际完成值", Kind.NUMBER, choices=QUALITATIVE, **g)
                b.field(ids["unit"], f"H{row}", f"{where} 计量单位", Kind.TEXT, **g)
                b.field(ids["weight"], f"I{row}", f"{where} 分值", Kind.NUMBER, unit="分", **g)
                b.field(ids["score"], f"J{row}", f"{where} 得分", Kind.NUMBER, unit="分", **g)
                b.field(ids["reason"], f"K{row}", f"{where} 偏差原因", Kind.TEXT, **g)
                row += 1
            b.text(f"C{l2_first}", l2_label, Style.LABEL, f"C{row - 1}")
        b.text(f"B{l1_first}", f"{l1_label}", Style.LABEL, f"B{row - 1}")
    b.text("A13", "绩效指标", Style.HEADER, f"A{row - 1}")
    b.text(f"A{row}", "总分", Style.HEADER, f"H{row}")
    weights = ["eval_exec_weight"] + [indicator_ids(l1, l2, j)["weight"] for l1, l2, j in indicator_rows()]
    scores = ["eval_exec_score"] + [indicator_ids(l1, l2, j)["score"] for l1, l2, j in indicator_rows()]
    b.derived("eval_total_weight", f"I{row}", "总分 分值", Kind.NUMBER, total(weights), unit="分")
    b.derived("eval_total_score", f"J{row}", "总分 得分", Kind.NUMBER, total(scores), unit="分")
    row += 2
    _footer(b, row)
    b.sheet.freeze = "A5"
    b.sheet.print_title_rows = "13:13"  # the indicator table's header
    return b


def indicator_rows() -> list[tuple[str, str, int]]:
    return [(l1, l2, j) for l1, _, kids in INDICATOR_TREE for l2, _ in kids for j in range(1, INDICATOR_ROWS + 1)]


def l1_weight_label(l1: str, cfg: ScoringConfig) -> str:
    label = next(lbl for key, lbl, _ in INDICATOR_TREE if key == l1)
    return f"{label}（{getattr(cfg.weights, l1):g}分）"


@lru_cache(maxsize=16)
def _build(year: int, cfg_json: str) -> Form:
    cfg = ScoringConfig.model_validate_json(cfg_json)
    builders = [_guide(year, cfg), _info(year), _fin(year), _proj(year), _base(year), _eval(year)]
    # 一级 labels carry their configured weight, as the published form shows "产出指标（40分）".
    eval_sheet = builders[-1].sheet
    for text in eval_sheet.texts:
        for key, label, _ in INDICATOR_TREE:
            if text.text == label:
                text.text = l1_weight_label(key, cfg)
    fields = [f for b in builders for f in b.fields]
    form = Form(
        template_id=TEMPLATE_ID,
        version=VERSION,
        year=year,
        sheets=[b.sheet for b in builders],
        fields=fields,
        scoring_json=cfg_json,
    )
    return form


def build_form(year: int, cfg: ScoringConfig | None = None) -> Form:
    """The form for *year* under scoring configuration *cfg* (defaults when None)."""
    return _build(year, (cfg or ScoringConfig()).model_dump_json())


def config_values(cfg: ScoringConfig) -> dict[str, float]:
    """Values of the CONFIG fields the bureau sets in the template."""
    return {f"guide_w_{k}": float(v) for k, v in cfg.weights.model_dump().items()}
