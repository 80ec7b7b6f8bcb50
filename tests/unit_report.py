"""The example report as a unit writes it by hand in Word: the narrative 附件1 in a unit's own
words, then 附件2 and 附件3 as Word tables with merged cells.

Every figure comes from examples/luosong_2023.yaml exactly as the example states it,
disagreements included (财政拨款支出 2,450.02 in the text, 全年执行数 2450.21 in 附件3, …), so
checking this document must find what checking the example workbook finds. The wording is
the project's own; the layout is what units send: sections 一 to 九 with numbered sentences,
figures in 万元 with and without thousands separators, a few full-width digits, the annex
tables with a merged label column, spanned value cells and vertically merged groups.

A document is a list of blocks: a ``str`` is a paragraph, a list of rows is a table. In a
row, ``LEFT`` marks a cell merged into its left neighbour and ``UP`` one merged into the cell
above (Word's gridSpan and vMerge); a short row is padded with empty cells.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
LEFT = "\x00<"  # merged into the cell on its left
UP = "\x00^"  # merged into the cell above

Block = "str | list[list[str]]"


@cache
def _example() -> dict:
    doc = yaml.safe_load((ROOT / "examples" / "luosong_2023.yaml").read_text(encoding="utf-8"))
    return {**doc["values"], **(doc.get("stated_derived") or {})}


def _wan(value: float) -> str:
    """An amount in a sentence: thousands separators and two decimals, as the text states it."""
    return f"{float(value):,.2f}"


def _cell(value) -> str:
    """An amount as typed into a table cell: no separators, no trailing zeros."""
    if value is None or value == "":
        return ""
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def _rate(value: float) -> str:
    return f"{float(value) * 100:.2f}".rstrip("0").rstrip(".") + "%"


def annex2_row(label: str, *values: str) -> list[str]:
    """A row of 附件2's money block: the label, then each value spanning two grid columns."""
    row = [label]
    for value in values:
        row += [value, LEFT]
    return row


def narrative(v: dict) -> list[str]:
    unit, year = v["info_unit_name"], int(v["info_year"])
    projects = [v[f"fin_proj_{i}_name"] + _wan(v[f"fin_proj_{i}_amount"]) + "万元"
                for i in range(1, 8) if v.get(f"fin_proj_{i}_name")]
    out = [
        f"部门（单位）名称：{unit}（盖章）",
        "年  月  日",
        f"{year}年度{unit}",
        "整体支出绩效自评报告",
        "一、部门（单位）基本情况",
        "（一）主要职能",
        "本中心承担区直机关的后勤保障：区委、区人大、区政府、区政协重要会议的会务，公务接待，机关大院的"
        "物业、绿化、安全保卫和设施设备维护，办公用房与办公家具管理，机关食堂、文印室和公务用车平台的管理。",
        "（二）机构情况",
        # full-width digits, as some units type them
        "本中心是区政府直属的全额拨款事业单位，为区一级预算单位，没有下属预算单位，内设科室" +
        str(int(v["info_departments"])).translate(str.maketrans("0123456789", "０１２３４５６７８９")) + "个。",
        "（三）人员情况",
        f"截至{year}年12月31日，共有人员{int(v['info_staff_total'])}人，其中在职人员{int(v['info_staff_active'])}人，"
        f"退休人员{int(v['info_staff_retired'])}人。",
        "二、一般公共预算支出情况",
        "（一）基本支出情况",
        f"1.{year}年预算资金{_wan(v['fin_budget'])}万元；",
        f"2.{year}年度一般公共预算财政拨款收入{_wan(v['fin_income'])}万元；",
        f"3.{year}年度一般公共预算财政拨款支出{_wan(v['fin_exp'])}万元，其中：项目支出{_wan(v['fin_proj'])}万元，"
        f"基本支出{_wan(v['fin_basic'])}万元，其中：人员经费{_wan(v['fin_staff_cost'])}万元，"
        f"公用经费{_wan(v['fin_public_cost'])}万元。",
        "（二）项目支出情况",
        *[f"{i}.{text}{'；' if i < len(projects) else '。'}" for i, text in enumerate(projects, start=1)],
        "三、政府性基金预算支出情况",
        "无。",
        "四、国有资本经营预算支出情况",
        "无。",
        "五、社会保险基金预算支出情况",
        "无。",
        "六、资金使用及绩效情况（包含单位管理的公共专项）",
        "（一）整体支出绩效情况",
        f"本单位{year}年年初预算资金总计{_wan(v['proj_budget_initial'])}万元，实际单位年度总支出"
        f"{_wan(v['proj_spending'])}万元，预算执行率为{float(v['proj_exec_rate']) * 100:.2f}%。全年按计划完成了后勤保障任务，"
        "机关各院区运转正常。",
        "1.物业管理",
        "组织消防、反恐和电梯困人演练，完成会务服务和日常维修，更换直饮水机滤芯并送检水质，重新规划地下车库车位。",
        "2.机关食堂",
        "保障“两会”等重大活动用餐，完成食堂运营的采购与进驻，开展食品安全自查和“一月一比价”，增设轻食档口。",
        "3.公务用车",
        "完成公务用车统计报告，处置老旧车辆，新购置新能源汽车，统一调度、循环派车，全年行车安全无事故。",
        "（二）项目支出绩效情况",
        f"本部门{year}年年初预算专项资金共3个，具体情况如下：",
    ]
    ordinal = "一二三四五六七八九十"
    initial = [i for i in range(1, 8) if v.get(f"proj_{i}_initial_flag") == "是"]
    later = [i for i in range(1, 8) if v.get(f"proj_{i}_name") and i not in initial]
    for k, i in enumerate(initial):
        adjust = float(v[f"proj_{i}_adjust"])
        sentence = (f"{ordinal[k]}是{v[f'proj_{i}_name']}，年初预算资金{_wan(v[f'proj_{i}_initial'])}万元，"
                    f"年中执行{'调减' if adjust < 0 else '调增'}{_wan(abs(adjust))}万元，"
                    f"实际支出{_wan(v[f'proj_{i}_actual'])}万元，结余结转{_wan(v[f'proj_{i}_balance'])}万元。")
        if v.get(f"proj_{i}_goal"):
            sentence += f"该专项资金支出是为了{v[f'proj_{i}_goal']}。"
        out.append(sentence)
    out.append(f"另外，有{len(later)}个专项资金来源为本级横向非财政资金、上年结余指标或追加预算，不在年初预算中体现。"
               "具体情况如下：")
    for k, i in enumerate(later):
        balance = "结余" if k == len(later) - 1 else "结余结转"  # the last one says 结余 alone, as units do
        out.append(f"{ordinal[k]}是{v[f'proj_{i}_name']}，实际支出{_wan(v[f'proj_{i}_actual'])}万元，"
                   f"{balance}{_wan(v[f'proj_{i}_balance'])}万元。")
    out += [
        "七、存在的问题及原因分析",
        "1.机关运行经费保障偏紧，党建、工会和退休人员活动等支出占用了一部分运行经费。",
        "2.绩效数据分散在各股室，收集和核对费时，口径也不完全一致。",
        "八、下一步改进措施",
        "1.预算编制前先核实上年执行情况，年中调整及时报批。",
        "2.建立绩效数据台账，每季度对照绩效目标检查一次，偏离目标的及时分析原因并整改。",
        "九、部门整体支出绩效自评结果拟应用和公开情况",
        f"自评结果用于改进下一年度预算编制；本报告随{year}年部门决算在区政府信息公开专栏公开。",
    ]
    return out


def annex2(v: dict) -> list[list[str]]:
    year = int(v["info_year"])
    c = lambda fid: _cell(v.get(fid))  # noqa: E731
    rows = [
        ["财政供养人员情况（人）", "编制数", LEFT, f"{year}年实际在职人数", LEFT, "控制率", LEFT],
        [UP, c("base_staff_quota"), LEFT, c("base_staff_active"), LEFT, _rate(v["base_staff_rate"]), LEFT],
        annex2_row("经费控制情况（万元）", f"{year - 1}年决算数", f"{year}年预算数", f"{year}年决算数"),
    ]
    money = [
        ("三公经费", "base_sgjf"), ("  1、公务用车购置和维护经费", "base_car"), ("      其中：公车购置", "base_car_buy"),
        ("            公车运行维护", "base_car_run"), ("  2、出国经费", "base_abroad"), ("  3、公务接待", "base_reception"),
        ("项目支出：", "base_proj"), ("  1、业务工作经费", "base_business"), ("  2、运行维护经费", "base_ops"),
        ("  3、市级专项资金（一个专项一行）", None), ("……", None), ("公用经费", "base_public"),
        ("    其中：办公经费", "base_office"), ("          水费、电费、差旅费", "base_utilities"),
        ("          会议费、培训费", "base_meeting"),
    ]
    for label, stem in money:
        cells = [c(f"{stem}_{k}") for k in ("prev", "budget", "final")] if stem else ["", "", ""]
        rows.append(annex2_row(label, *cells))
    rows += [
        annex2_row("政府采购金额", "——", c("base_procurement_budget"), c("base_procurement_final")),
        annex2_row("部门基本支出预算调整", "——", c("base_basic_adjust_budget"), c("base_basic_adjust_final")),
        [f"楼堂馆所控制情况（{year}年完工项目）", "批复规模（㎡）", "实际规模（㎡）", "规模控制率", "预算投资（万元）",
         "实际投资（万元）", "投资概算控制率"],
        ["", "", "", "", "", "", ""],
        ["厉行节约保障措施", v.get("base_thrift") or "", LEFT, LEFT, LEFT, LEFT, LEFT],
    ]
    return rows


def annex3(v: dict) -> list[list[str]]:
    def pair(label: str, fid: str | None) -> str:
        return f"{label}：{_cell(v.get(fid)) if fid else ''}"

    rows = [
        ["区级预算部门（单位）名称", v["info_unit_name"], LEFT, LEFT, LEFT, LEFT, LEFT, LEFT, LEFT],
        ["年度预算申请（万元）", "", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分", LEFT],
        [UP, "年度资金总额", _wan(v["eval_budget_initial"]), _cell(v["eval_budget_full"]), _cell(v["eval_exec"]),
         _cell(v["eval_exec_weight"]), _rate(v["eval_exec_rate"]), _cell(v["eval_exec_score"]), LEFT],
        [UP, "", pair("按收入性质分", "eval_inc_total"), LEFT, LEFT, pair("按支出性质分", "eval_exp_total"), LEFT, LEFT, LEFT],
        [UP, "", pair("其中：一般公共预算", "eval_inc_general"), LEFT, LEFT, pair("其中：基本支出", "eval_exp_basic"),
         LEFT, LEFT, LEFT],
        [UP, "", pair("政府性基金拨款", "eval_inc_fund"), LEFT, LEFT, pair("项目支出", "eval_exp_project"), LEFT, LEFT, LEFT],
        [UP, "", pair("纳入专户管理的非税收入拨款", "eval_inc_nontax"), LEFT, LEFT, "", LEFT, LEFT, LEFT],
        [UP, "", pair("其他资金", "eval_inc_other"), LEFT, LEFT, "", LEFT, LEFT, LEFT],
        ["年度总体目标", "预期目标", LEFT, LEFT, LEFT, "实际完成情况", LEFT, LEFT, LEFT],
        [UP, v["eval_goal_expected"], LEFT, LEFT, LEFT, v["eval_goal_actual"], LEFT, LEFT, LEFT],
        ["绩效\n指标", "一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施"],
    ]
    groups = (("output", "产出指标\n（40分）", (("qty", "数量指标"), ("quality", "质量指标"), ("time", "时效指标"))),
              ("benefit", "效益指标\n（20分）", (("econ", "经济效益指标"), ("social", "社会效益指标"), ("eco", "生态效益指标"),
                                            ("sustain", "可持续影响指标"))),
              ("satisfaction", "满意度\n指标\n（10分）", (("service", "服务对象满意度指标"),)),
              ("cost", "成本指标（20分）", (("costecon", "经济成本指标"), ("costsocial", "社会成本指标"),
                                        ("costeco", "生态环境成本指标"))))
    for l1, label, kids in groups:
        for k, (l2, l2_label) in enumerate(kids):
            stem = f"eval_{l1}_{l2}_1"
            name = v.get(f"{stem}_name") or "无"
            unit = v.get(f"{stem}_unit") or ""

            def stated(key: str) -> str:
                value = v.get(f"{stem}_{key}")
                return "无" if value is None else _cell(value) + unit

            if name == "无":
                target = actual = "无"
            else:
                target, actual = stated("target"), stated("actual")
            if l2 == "time":  # full-width digits, as a unit typed them
                target = target.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
            rows.append([UP, label if k == 0 else UP, l2_label, name, target, actual, _cell(v.get(f"{stem}_weight")),
                         _cell(v.get(f"{stem}_score")), v.get(f"{stem}_reason") or ""])
    rows.append(["总分", LEFT, LEFT, LEFT, LEFT, LEFT, _cell(v["eval_total_weight"]), _cell(v["eval_total_score"]), ""])
    return rows


def footer(v: dict) -> str:
    return f"填表人：{v.get('info_preparer') or ''}  填报日期：         联系电话：{v.get('info_phone') or ''}  单位负责人签字："


def blocks(values: dict | None = None) -> list:
    """The report's blocks: the example's figures unless *values* says otherwise."""
    v = {**_example(), **(values or {})}
    year = int(v["info_year"])
    return [
        *narrative(v),
        "附件2",
        f"{year}年度部门（单位）整体支出绩效评价基础数据表",
        annex2(v),
        "说明：“项目支出”需要填报基本支出以外的所有项目支出情况，“公用经费”填报基本支出中的一般商品和服务支出。",
        footer(v),
        "附件3",
        f"{year}年度部门（单位）整体支出绩效自评表",
        annex3(v),
        footer(v),
    ]


def write_docx(doc_blocks: list, out: Path) -> Path:
    """The blocks as a .docx: paragraphs, and tables with their merges."""
    import docx

    doc = docx.Document()
    for block in doc_blocks:
        if isinstance(block, str):
            doc.add_paragraph(block)
            continue
        width = max(len(r) for r in block)
        grid = [list(r) + [""] * (width - len(r)) for r in block]
        table = doc.add_table(rows=len(grid), cols=width)
        table.style = "Table Grid"
        for r, row in enumerate(grid):
            for c, text in enumerate(row):
                if text in (LEFT, UP):
                    continue
                right, down = c, r
                while right + 1 < width and grid[r][right + 1] == LEFT:
                    right += 1
                while down + 1 < len(grid) and grid[down + 1][c] == UP:
                    down += 1
                cell = table.cell(r, c)
                if (right, down) != (c, r):
                    cell = cell.merge(table.cell(down, right))
                cell.text = text
    doc.save(out)
    return out


def unit_report(out: Path, values: dict | None = None) -> Path:
    """The example report as a unit wrote it, saved at *out*."""
    return write_docx(blocks(values), out)
