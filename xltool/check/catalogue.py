"""The rule catalogue: every rule's code, severity, message, fix and documentation.

Codes are stable; never renumber. XT0xx integrity, XT1xx entries, XT2xx totals,
XT3xx one figure in two places, XT4xx budget flow, XT5xx ratios, XT6xx scoring,
XT7xx plausibility. ``xltool rules`` lists them; ``xltool rules CODE`` shows the doc.
"""

from __future__ import annotations

from xltool.check.finding import Severity
from xltool.check.rule import Rule
from xltool.i18n import _

E, W = Severity.ERROR, Severity.WARNING


def _rule(code, severity, title, message, fix, what, why, example, live=True, source=None) -> Rule:
    # Texts stay English msgids here and are translated when shown (lazy: locale may change).
    source = source or SOURCES.get(code[:4]) or SOURCES.get(code[:3], "")
    return Rule(
        code=code,
        severity=severity,
        title=lambda: _(title),
        message=lambda: _(message),
        fix=lambda: _(fix),
        what=lambda: _(what),
        why=lambda: _(why),
        example=lambda: _(example),
        live=live,
        source=lambda: _(source) if source else "",
    )


def N_(message: str) -> str:
    """Marks a msgid for extraction; translated where it is shown."""
    return message


# The source of a family of rules, by code prefix (a rule's own ``source`` takes precedence).
SOURCES = {
    "XT0": N_("The template issued by the finance bureau: its formulas, sheets, names, protection and settings "
              "are part of the form (regional instructions: “指标内容及分值不得修改”)."),
    "XT1": N_("The form's 填报说明: every figure is a number in the stated unit (万元 to two decimals, 人, %), every "
              "required entry is filled."),
    "XT2": N_("XBRL Calculations 1.1 (a total of rounded parts is consistent within (n+1) × 0.005); the 表内审核公式 "
              "of 久其 决算 software."),
    "XT4": N_("附件1 第六部分 and 附件2 表样: 年初预算 + 年中调整 − 实际支出 = 结余结转 for every project; the "
              "unspent budget is carried over."),
    "XT60": N_("财预〔2020〕10号 第十三条 (weights: 预算执行率 10, 产出 50, 效益 30, 满意度 10, total 100) and "
               "第十六条 (scoring of each indicator), as set by the bureau's scoring settings."),
    "XT61": N_("财预〔2020〕10号 第十六条 and the scoring rule set of the 预算管理一体化 performance module."),
    "XT7": N_("Reviewers' plausibility checks on 附件2 and 附件1 第二部分; 财预〔2020〕10号 第二十六条 (results reported "
              "with the 部门决算, deviations explained)."),
}


RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        # -- integrity ---------------------------------------------------------------
        _rule(
            "XT001", E, "Formula overwritten",
            "The formula in {where} ({label}) was replaced by {found}.",
            "Restore the formula: copy this cell from a fresh template, or re-enter the figures in a new template.",
            "Compares every computed cell with the formula the template put there.",
            "A typed-over total no longer follows its parts, so every later check would compare against a frozen number.",
            "附件2!D6 三公经费 should be =SUM(D7,D10,D11) but holds the constant 88.19.",
            live=False,
        ),
        _rule(
            "XT002", E, "Sheet protection removed",
            "Sheet {where} is no longer protected.",
            "Use the template as sent by the finance bureau; do not unprotect sheets.",
            "Checks that every sheet of the template is still protected.",
            "Without protection formulas and layout can be changed unnoticed.",
            "The sheet 附件3 was unprotected in Excel (审阅 → 撤销工作表保护).",
            live=False,
        ),
        _rule(
            "XT003", E, "Sheets changed",
            "The workbook's sheets differ from the template: {detail}.",
            "Fill in the template as sent; do not add, delete or rename sheets.",
            "Compares the sheet names with the template's.",
            "Renamed or missing sheets mean the figures cannot be found where the form says.",
            "附件3 renamed to 附件3（修改）.",
            live=False,
        ),
        _rule(
            "XT004", E, "Defined name missing or moved",
            "The defined name {name} is missing or points elsewhere ({found}).",
            "Use a fresh template; do not edit the workbook's names.",
            "Every field of the form is a workbook-level name; this checks each still points at its cell.",
            "Tools and formulas find figures by these names.",
            "The name fin_budget points to 收支情况!$C$4 instead of $B$4.",
            live=False,
        ),
        _rule(
            "XT005", W, "Stale or altered cached value",
            "{where} ({label}) shows {cached}, but its formula gives {computed}.",
            "Open the workbook in Excel or WPS, press Ctrl+Alt+F9 to recalculate, save and send again.",
            "Compares the value a spreadsheet last stored for each formula with the value computed from the inputs.",
            "A reader of the file (or a printout) sees the stored value; a mismatch means the file was not recalculated or was edited outside a spreadsheet.",
            "附件3!G5 stores 90.70% while 2450.21 / 2510.99 = 97.58%.",
            live=False,
        ),
        _rule(
            "XT006", W, "Older template version",
            "This workbook was made from template version {found}; the current version is {expected}.",
            "Copy the figures into the current template if the bureau asks for it.",
            "Compares the template version stored in the workbook with this xltool's.",
            "Older versions may lack fields or checks.",
            "A workbook made from v0.9 checked by v1.0.",
            live=False,
        ),
        _rule(
            "XT007", E, "Locked text or setting changed",
            "{where} should read {expected} but reads {found}.",
            "Use the template as sent; labels and bureau settings are locked.",
            "Compares labels, headers and the bureau's scoring settings with the template.",
            "Changed labels or weights change the meaning of the figures.",
            "填报说明!B19 产出指标分值 changed from 40 to 50.",
            live=False,
        ),
        _rule(
            "XT008", W, "Workbook structure protection removed",
            "The workbook structure is no longer protected.",
            "No action needed if the file was saved by LibreOffice, which drops this protection; otherwise use the template as sent.",
            "Checks workbook-level (structure) protection.",
            "Structure protection prevents adding, deleting or renaming sheets; LibreOffice does not keep it when saving .xlsx.",
            "A workbook saved by LibreOffice Calc.",
            live=False,
        ),
        _rule(
            "XT020", E, "Identification sheet altered",
            "The workbook's hidden identification sheet was changed ({detail}); it was checked with {settings}.",
            "Fill in the template as sent by the finance bureau; do not edit the workbook outside Excel or WPS.",
            "Recomputes the fingerprint of the template from the year, scoring settings and unit stored in the "
            "hidden identification sheet and compares it with the fingerprint stored beside them.",
            "The hidden sheet says which year, scoring settings and unit the workbook is judged by; a unit that "
            "edits it would choose the rules that judge its own figures.",
            "The score tolerance in _xltool_meta!B6 raised from 0.01 to 10, so that no wrong score is found.",
            live=False,
        ),
        _rule(
            "XT021", E, "Scoring settings differ from the bureau's",
            "The scoring settings stored in the workbook differ from the finance bureau's configuration "
            "({detail}); it was checked with the bureau's.",
            "Fill in the template the finance bureau sent for this year; ask the bureau if the settings were changed.",
            "With a configuration given by the bureau (xltool audit, check-workbook --rules-config, or the default "
            "settings when the workbook's own cannot be trusted), compares every setting stored in the workbook "
            "with it.",
            "Weights, scoring methods and tolerances are the bureau's decision: a workbook never chooses the rules "
            "that judge it.",
            "The workbook stores 成本指标 weight 30 while the bureau's configuration says 20.",
            live=False,
        ),
        _rule(
            "XT030", E, "Merged cells changed",
            "The merged cells of {where} differ from the template: {detail}.",
            "Use the template as sent; do not merge or unmerge cells.",
            "Compares every merged range of the form's sheets with the template's.",
            "A merge over an input cell hides it: the figure a person sees is not the one the workbook holds.",
            "附件3!C5:E5 merged, so 预算数 and 执行数 show as one cell.",
            live=False,
        ),
        _rule(
            "XT031", E, "Live check sheet changed",
            "The sheet 审核 was altered: {detail}.",
            "Use the template as sent; the results on 审核 are computed by its formulas.",
            "Compares every formula of the 审核 sheet with the template's.",
            "A result typed over its formula (e.g. 通过) shows a check as passed whatever the figures are.",
            "审核!I21 holds the text 通过 instead of its IF formula.",
            live=False,
        ),
        _rule(
            "XT032", E, "Cell protection changed",
            "The cell protection on {where} differs from the template: {detail}.",
            "Use the template as sent; do not change the cells' protection (设置单元格格式 → 保护).",
            "Compares the locked/unlocked state of every field and label with the template's.",
            "An unlocked computed cell or label can be typed over on a protected sheet; a locked input cannot be filled.",
            "附件3!F5 (执行率, computed) unlocked through its cell style.",
            live=False,
        ),
        _rule(
            "XT033", E, "Data validation removed",
            "The data validation of {where} ({label}) was removed or changed.",
            "Use the template as sent; do not remove the drop-down lists and input checks.",
            "Checks that every input cell still has the data validation the template gave it.",
            "Without it, text or out-of-range figures can be typed where a number or a choice is required.",
            "附件3!C5 预算数 accepts any text after 数据验证 → 全部清除.",
            live=False,
        ),
        # -- entries ------------------------------------------------------------------
        _rule(
            "XT101", W, "Number typed as text",
            "{where} ({label}) holds the text “{text}”, read as {value}.",
            "Enter the figure as a number (no unit, no thousands separator typed by hand).",
            "Finds numbers entered as text, e.g. 2,450.02 typed with a full-width comma or 2450.02万元.",
            "Text is not added up by Excel formulas, so totals silently leave it out.",
            "收支情况!B4 holds “2,701.57万元”.",
            live=False,
        ),
        _rule(
            "XT102", E, "Not a number",
            "{where} ({label}) holds “{text}”, which is not a number.",
            "Enter a number in this cell.",
            "Finds cells that must hold a number but hold text that cannot be read as one, including the 实际完成值 of a "
            "quantitative indicator (≥, ≤, = a figure) written in words (完成, 达成). A cell holding only “——” or “/” "
            "states no figure and is read as empty.",
            "A figure that is not a number cannot be checked or added up.",
            "附件3!E5 holds “见附表”.",
            live=False,
        ),
        _rule(
            "XT103", E, "Required entry empty",
            "{label} ({where}) is empty.",
            "Fill in {label}.",
            "Checks that every required entry is filled.",
            "The review and the consolidated figures need it.",
            "基本情况!B12 电子邮箱 left empty.",
        ),
        _rule(
            "XT104", E, "Invalid entry",
            "{where} ({label}) holds “{text}”: {detail}.",
            "Correct the entry: {detail}.",
            "Checks choices, e-mail addresses and dates that bypassed the cell's validation (e.g. by pasting).",
            "Pasting skips Excel's validation; invalid entries break scoring and mail delivery.",
            "项目绩效!C8 是否年初预算 holds “Y”.",
            live=False,
        ),
        _rule(
            "XT105", E, "List row half filled",
            "Row {row} of {list}: {lhs_label} and {rhs_label} must both be filled or both be empty.",
            "Complete the row or clear it.",
            "In the project and special-fund lists a name needs an amount and an amount needs a name.",
            "An amount without a name cannot be matched across the report's lists.",
            "收支情况!B15 holds 8.71 but A15 is empty.",
        ),
        _rule(
            "XT106", W, "Amount with more than two decimals",
            "{where} ({label}) holds {text}: amounts are stated in 万元 to two decimals, so it is compared as {value}.",
            "Enter the amount in 万元 to two decimals.",
            "Finds amounts typed with more than two decimals, says so once, and compares them at the stated precision "
            "(rounded to two decimals) everywhere else.",
            "Amounts in the form are 万元 to two decimals; a third decimal is a typing slip (or a figure in another unit), "
            "and comparing it unrounded would report differences that print as 0.00.",
            "附件3!C5 年初预算数 2701.574 while the report states 2,701.57: one note here, no XT301.",
            live=False,
            source=N_("The form's 填报说明 (金额单位为万元，保留两位小数); XBRL Calculations 1.1 (a figure is compared at the "
                      "precision it is stated)."),
        ),
        _rule(
            "XT107", W, "Amount apparently typed in 元",
            "{label} ({where}) is {value}, in a form whose amounts are in 万元; divided by 10,000 it is {scaled}, "
            "which agrees with {other_label} ({other}): the figure seems to have been typed in 元.",
            "Enter the amount in 万元 ({scaled}), as the form's unit says; if {value} 万元 is right, correct "
            "{other_label} instead.",
            "Finds an amount that makes a relation of the form fail (one figure stated twice, a total and its parts, a "
            "project's budget flow) and makes it hold, at the precision the figures are stated, once it is divided by "
            "10,000 — the figure was typed in 元 where the form asks for 万元. Only equalities count as evidence, and the "
            "other side must state a figure; a large figure with nothing to compare it with is not reported. The "
            "relation's own finding (XT301, XT201 …) stays; this one says where the difference comes from.",
            "Units copy figures from accounts kept in 元; one such figure in a 万元 form is ten thousand times too large "
            "and throws out every total, rate and comparison it enters. A size threshold cannot tell it from a large "
            "budget; a second statement of the same quantity can.",
            "附件3 全年执行数 24,502,100.00, while the report's section 六 states 实际单位年度总支出 2,450.21 万元.",
            live=False,
        ),
        _rule(
            "XT108", W, "Breakdown missing",
            "{name}: the breakdown rows ({rows}) are all empty, while {other_label} states {other}.",
            "Fill in the breakdown rows ({rows}), or explain why the figure has none.",
            "Finds a total computed from rows that are all empty while the same figure is stated elsewhere, and a 其中 "
            "block left empty under a stated parent (附件2 公用经费, 公务用车), and says so once per block, instead of "
            "comparing an empty sum (0.00) with the stated figure.",
            "A blank is not a zero: empty breakdown rows mean the breakdown is missing, not that its parts add up to 0.00.",
            "项目自评表: 年度资金总额 全年预算数 89.97, while 当年财政拨款、上年结转资金、其他资金 are all empty.",
            source=N_("附件3 表样 (年度资金总额 and its 其中 rows: 当年财政拨款, 上年结转资金, 其他资金); 附件2 填表说明 "
                      "(“项目支出”需要填报基本支出以外的所有项目支出情况)."),
        ),
        _rule(
            "XT120", E, "Number out of range",
            "{where} ({label}) holds {text}, which is not a finite number of a plausible size.",
            "Enter the figure itself (in 万元 for amounts), as an ordinary number.",
            "Finds values no real figure has: infinite or undefined numbers (inf, NaN) and magnitudes of "
            "10¹² or more, however they were written into the file.",
            "Such a value cannot be added, compared or scored; it is a typing error or an edited file.",
            "基本情况!B6 holds 1e999 (written into the sheet XML).",
            live=False,
        ),
        # -- totals -------------------------------------------------------------------
        _rule(
            "XT201", E, "Total differs from its parts",
            "{lhs_label} ({lhs}) does not equal {rhs_label} ({rhs}); the difference is {diff}.",
            "Correct the parts or the total so that they agree.",
            "Adds up the parts of every total and compares them with the stated total.",
            "A total that does not add up means a figure is missing or mistyped.",
            "附件3: 按支出性质分 380.19 + 2130.80 = 2510.99 must equal 全年预算数 2510.99.",
        ),
        _rule(
            "XT202", W, "Rounding difference",
            "{lhs_label} ({lhs}) and {rhs_label} ({rhs}) differ by {diff}, within the rounding allowance of {tol}.",
            "Usually no change is needed; say in the report that the difference is due to rounding, or adjust the last digit.",
            "Separates rounding from error (XBRL Calculations 1.1): a total of n rounded parts may differ from their sum by up to (n+1)×0.005.",
            "Each figure is rounded to two decimals on its own, so a sum of rounded parts can miss the rounded total by a cent or two.",
            "附件2: 公车购置 39.21 + 公车运行维护 31.57 = 70.78 against 公务用车 70.77.",
        ),
        _rule(
            "XT203", E, "“Of which” rows exceed their parent",
            "The “of which” rows of {rhs_label} add up to {lhs}, more than {rhs_label} itself ({rhs}).",
            "An “of which” row is a part of its parent: correct the parts or the parent.",
            "Checks that the 其中 rows under a figure add up to no more than the figure.",
            "其中 rows are subsets; together they cannot exceed their parent.",
            "附件2: 办公经费 30 + 会议费、培训费 0.5 > 公用经费 21.82.",
            source=N_("附件2 表样: “其中” rows are a part of the row above them."),
        ),
        # -- one figure, two places ----------------------------------------------------
        _rule(
            "XT301", E, "Same figure stated differently",
            "{lhs_label} ({lhs}) and {rhs_label} ({rhs}) state the same figure but differ by {diff}.",
            "Find the correct figure (e.g. in the 决算报表) and use it in both places.",
            "Every figure the report, 附件2 and 附件3 state more than once is compared across all its places; the list comes from the form, where each such field names the concept it states.",
            "Two statements of one figure at the same precision must be equal; a difference is a typing or copying error.",
            "财政拨款支出 2,450.02 in the report's section 二 against 全年执行数 2,450.21 in 附件3.",
            source=N_("The 表间审核公式 of 久其 决算 software: one figure stated in several tables must be equal; XBRL Calculations 1.1 (two statements of one figure at the same precision are equal)."),
        ),
        # -- budget flow ---------------------------------------------------------------
        _rule(
            "XT401", E, "Project budget does not balance",
            "{name}: 年初预算 + 年中调整 − 实际支出 = {lhs}, but 结余结转 is {rhs}; the difference is {diff}.",
            "Check the project's 年中调整, 实际支出 and 结余结转 against the accounts.",
            "For each project in the 年初预算: 年初预算 + 年中调整 − 实际支出 = 结余结转.",
            "The budget of a project is either spent, carried over or adjusted; the four figures must balance.",
            "机关运转: 2,050.00 − 689.02 − 1,360.98 = 0.00, but 结余结转 is stated as 59.99.",
        ),
        _rule(
            "XT402", W, "Unspent budget differs from carry-overs",
            "全年预算数 − 全年执行数 = {lhs}, but the projects' 结余结转 add up to {rhs}; the difference is {diff}.",
            "Explain the difference (e.g. basic-expenditure balances) or correct the figures.",
            "Compares the unspent part of the year's budget with the carry-overs listed per project.",
            "What was not spent is carried over or returned; a gap means a balance is missing or misstated.",
            "2,510.99 − 2,450.21 = 60.78 against 59.99 + 0.79 = 60.78 (passes).",
        ),
        _rule(
            "XT403", W, "Project budget differs from spending plus carry-over",
            "附件3 项目支出 ({lhs}) differs from the projects' 实际支出 + 结余结转 ({rhs}) by {diff}.",
            "Check the project budget in 附件3 against the project table.",
            "The year's project budget should equal what the projects spent plus what they carried over.",
            "A project budget that matches neither side points to a project missing from the table.",
            "附件3 项目支出 2,130.80 = 2,070.02 + 60.78.",
        ),
        _rule(
            "XT404", W, "Basic-expenditure budget adjustment not stated",
            "The basic-expenditure budget changed by {rhs} during the year (全年 − 年初), but 部门基本支出预算调整 states {lhs}.",
            "State the adjustment in 附件2 部门基本支出预算调整, or correct the budgets.",
            "年初 basic budget = 年初预算数 − the projects' 年初预算; the change to the full-year basic budget must be stated in 附件2.",
            "An adjustment of the basic budget is a reportable event in 附件2.",
            "380.19 − (2,701.57 − 2,364.00) = 42.62, but 附件2 leaves 部门基本支出预算调整 empty.",
            source=N_("附件2 表样 (部门基本支出预算调整)."),
        ),
        # -- ratios ---------------------------------------------------------------------
        _rule(
            "XT501", E, "Stated ratio does not follow its definition",
            "{lhs_label} is stated as {lhs}, but by definition it is {rhs}.",
            "Recompute the ratio: {definition}.",
            "Recomputes every ratio the report states from its inputs with the published definition.",
            "A ratio computed against the wrong base (e.g. 年初预算数 instead of 全年预算数) misreports performance.",
            "预算执行率 90.70% in the report, but 2,450.21 / 2,510.99 = 97.58%.",
            source=N_("财预〔2020〕10号 附2 (预算执行率 = 实际支出 ÷ 预算资金; the pack states the denominator, by default 全年预算数)."),
        ),
        _rule(
            "XT502", W, "Execution rate undefined",
            "全年预算数 is {budget}, so 执行率 (全年执行数 ÷ 全年预算数) cannot be computed; {detail}.",
            "Fill in 全年预算数 (the adjusted budget) and 全年执行数, or explain why there was no budget.",
            "When 全年预算数 is empty or zero (and no other statement of it is filled), 执行率 is undefined (0 ÷ 0): says "
            "so, rather than judging the rate or its score as 0. Where 全年预算数 is empty but its breakdown is filled, the "
            "rate is computed from the breakdown.",
            "With no budget the rate and its score are unknown; a 预算执行率得分 of 0 must not pass unnoticed.",
            "全年预算数 and 全年执行数 both 0.00, 预算执行率得分 0.",
            source=N_("财预〔2020〕10号 附2 (预算执行率 = 实际支出 ÷ 预算资金) and 第二十六条 (a low execution rate is "
                      "explained separately)."),
        ),
        _rule(
            "XT503", W, "Staff control rate above the norm",
            "在职人员控制率 is {lhs} ({formula}), above the limit of {rhs}.",
            "Explain the staffing in the report, or correct 在职人数 and 编制数.",
            "Recomputes 在职人员控制率 = 在职人数 ÷ 编制数 and compares it with the region's limit (policy.ratios."
            "staff_control_max; off by default, as XT704 already reports staff above the establishment).",
            "The ratio is a 共性指标 of department-level evaluation; regions score it against their own norm.",
            "在职 21, 编制 19 → 110.53%, limit 100%.",
            source=N_("财预〔2013〕53号 附件2 (在职人员控制率 = 在职人员数 ÷ 编制数)."),
        ),
        _rule(
            "XT504", W, "三公经费 up on last year",
            "三公经费变动率 is {lhs} ({formula}), above the limit of {rhs}.",
            "Explain the increase of 三公经费 in the report, or correct the figures.",
            "Recomputes 三公经费变动率 = (本年决算数 − 上年决算数) ÷ 上年决算数 from 附件2 and compares it with the limit "
            "(policy.ratios.sgjf_change_max, default 0: any increase).",
            "三公经费 are to fall, never rise (“只减不增”); an increase needs an explanation.",
            "三公经费 70.77 last year, 88.19 this year → +24.61%.",
            source=N_("财预〔2013〕53号 附件2 (“三公经费”变动率 = (本年 − 上年) ÷ 上年); the requirement that 三公经费 "
                      "only decrease (“只减不增”)."),
        ),
        _rule(
            "XT505", W, "公用经费 above budget",
            "公用经费控制率 is {lhs} ({formula}), above the limit of {rhs}.",
            "Explain the overspend on 公用经费 in the report, or correct the figures.",
            "Recomputes 公用经费控制率 = 公用经费决算数 ÷ 预算数 from 附件2 and compares it with the limit "
            "(policy.ratios.public_control_max, default 100%).",
            "公用经费 are controlled spending; spending beyond the budget must be explained.",
            "公用经费 预算 37.79, 决算 40.00 → 105.85%.",
            source=N_("财预〔2013〕53号 附件2 (公用经费控制率 = 实际支出公用经费总额 ÷ 预算安排公用经费总额)."),
        ),
        _rule(
            "XT506", W, "Procurement execution rate below the norm",
            "政府采购执行率 is {lhs} ({formula}), below the minimum of {rhs}.",
            "Explain why the procurement budget was not used, or correct the figures.",
            "Recomputes 政府采购执行率 = 实际采购金额 ÷ 采购预算 from 附件2 and compares it with the minimum "
            "(policy.ratios.procurement_min; off by default, as XT707 reports large gaps between budget and final).",
            "A procurement budget left unused points to poor planning; regions score the ratio against a norm.",
            "政府采购 预算 324.40, 决算 28.44 → 8.77%, minimum 90%.",
            source=N_("财预〔2013〕53号 附件2 (政府采购执行率 = 实际政府采购金额 ÷ 政府采购预算数)."),
        ),
        _rule(
            "XT507", W, "Carry-over rate above the norm",
            "结转结余率 is {lhs} ({formula}), above the limit of {rhs}.",
            "Explain the unspent budget in the report (carry-overs, returns), or correct the figures.",
            "Recomputes 结转结余率 = (全年预算数 − 全年执行数) ÷ 全年预算数 and compares it with the limit "
            "(policy.ratios.carryover_max, default 20%).",
            "A large unspent share of the budget needs an explanation; the 一体化 module warns above 20%.",
            "全年预算数 100.00, 全年执行数 70.00 → 30.00%.",
            source=N_("财预〔2013〕53号 附件2 (结转结余率 = 结转结余总额 ÷ 支出预算数); the 预算管理一体化 自评预警 "
                      "(结余率 > 20%)."),
        ),
        _rule(
            "XT508", W, "Budget adjustment rate above the norm",
            "预算调整率 is {lhs} ({formula}), above the limit of {rhs}.",
            "Explain the budget adjustments in the report, or correct the budgets.",
            "Recomputes 预算调整率 = |全年预算数 − 年初预算数| ÷ 年初预算数 and compares it with the limit "
            "(policy.ratios.adjustment_max; off by default: no national norm).",
            "Large adjustments mean the budget was not planned as executed.",
            "年初预算数 2,701.57, 全年预算数 2,510.99 → 7.05%, limit 5%.",
            source=N_("财预〔2013〕53号 附件2 (预算调整率 = 预算调整数 ÷ 预算数)."),
        ),
        _rule(
            "XT509", W, "三公经费 control rate above the norm",
            "三公经费控制率 is {lhs} ({formula}), above the limit of {rhs}.",
            "Explain the overspend on 三公经费 in the report, or correct the figures.",
            "Recomputes 三公经费控制率 = 三公经费决算数 ÷ 预算数 from 附件2 and compares it with the limit "
            "(policy.ratios.sgjf_control_max; off by default, as XT708 reports each item above its budget).",
            "三公经费 are controlled spending; spending beyond the budget must be explained.",
            "三公经费 预算 88.19, 决算 95.00 → 107.72%, limit 100%.",
            source=N_("财预〔2013〕53号 附件2 (“三公经费”控制率 = 实际支出数 ÷ 预算安排数)."),
        ),
        # -- scoring -------------------------------------------------------------------
        _rule(
            "XT601", E, "Score above its weight",
            "{lhs_label} ({lhs}) is higher than its weight ({rhs}).",
            "A score cannot exceed the indicator's weight (分值).",
            "Checks 得分 ≤ 分值 for the execution rate and every indicator.",
            "Scores above the weight inflate the total.",
            "满意度 得分 12 with 分值 10.",
        ),
        _rule(
            "XT602", E, "Indicator weights do not add up",
            "The weights of {name} add up to {lhs}, but the configured weight is {rhs}.",
            "Distribute exactly {rhs} points over the indicators of {name}.",
            "Adds up the 三级 weights under each 一级 indicator and compares with the configured weight.",
            "Weights are set by the bureau; indicators must share them out exactly.",
            "产出指标: 20 + 0 + 20 = 40 (passes).",
        ),
        _rule(
            "XT603", E, "Weights do not add up to 100",
            "The total of all weights is {lhs}, not {rhs}.",
            "Correct the indicator weights so that the total is 100.",
            "Checks that 总分's 分值 is 100.",
            "Scores are out of 100.",
            "10 + 40 + 20 + 10 + 20 = 100 (passes).",
        ),
        _rule(
            "XT604", E, "Execution score above the rule",
            "预算执行率得分 is {lhs}, higher than the {rhs} the scoring rule gives.",
            "Set the score to {rhs} ({method}).",
            "Recomputes the execution-rate score from 执行率 with the configured method (default: 分值 × 执行率, capped at "
            "分值) and finds a self-assessed score above it (a score below it is XT616).",
            "A score above what the published rule gives is 自评得分虚高, the main fault the policy names.",
            "执行率 97.58%, 分值 10 → 9.76, but 10 is stated.",
            source=N_("The 预算管理一体化 performance module (预算执行率得分 = 分值 × 执行率, at most 分值); 财预〔2020〕10号 第十三条."),
        ),
        _rule(
            "XT605", E, "Indicator score above the rule",
            "{name}: the score is {lhs}, higher than the {rhs} the scoring rule gives.",
            "Set the score to {rhs}, or correct the target, actual value or direction.",
            "Recomputes each indicator's score: ≥ full weight when actual ≥ target, else round(actual/target × weight, 2); ≤ full weight when actual ≤ target, else round((1 − (actual − target)/target) × weight, 2), 0 from twice the target; = full weight when equal, else reduced by the relative deviation. Targets and actual values written with their comparator and unit (≥50个, ≤90万元, =100%) are read as numbers; a date or deadline (2021年12月完成, 12月底前, 6月) is not a number, and its row is listed as not scored by rule. A score above the rule is reported here, a score below it as XT616.",
            "A score above what the published rule gives is 自评得分虚高, the main fault the policy names.",
            "满意度: target 90, actual 85, weight 10 → 9.44, but 10 is stated.",
            source=N_("财预〔2020〕10号 第十六条 (定量指标: target met → full marks, otherwise 完成值 ÷ 指标值 × 分值); the 预算管理一体化 rule for 反向 indicators."),
        ),
        _rule(
            "XT606", E, "Qualitative score outside its band",
            "{name}: the judgement allows {band}, but the score is {lhs}.",
            "Choose a score within the band, or change the judgement (达成 / 部分达成 / 未达成).",
            "For 定性 indicators the score may not exceed the band of the judgement: 达成 80–100%, 部分达成 60–80%, 未达成 "
            "0–60% of the weight (a score below the band is XT616). The judgement is the 实际完成值 when it is one of these "
            "words; an actual value that repeats the target, or is worded otherwise (基本完成, 效果明显 …), is read as a "
            "judgement with less certainty (the finding says so).",
            "The bands are the published rule for qualitative indicators.",
            "部分达成 with weight 10 and score 9.",
            source=N_("财预〔2020〕10号 第十六条 (定性指标: 达成 100–80%, 部分达成 80–60%, 未达成 60–0% of the weight)."),
        ),
        _rule(
            "XT607", E, "Reason for a lost point missing",
            "{name}: {detail}, but no reason for the deviation is given.",
            "Fill in 偏差原因分析及改进措施 for this indicator.",
            "An indicator that missed its target (an actual below a ≥ target or above a ≤ target, a 定性 judgement of "
            "部分达成 or 未达成) or scored below its weight needs a deviation analysis.",
            "The published form requires 偏差原因分析及改进措施 wherever a target was missed or points were lost.",
            "满意度: target 90, actual 85, scored 9.44 of 10, with the reason column empty.",
            source=N_("财预〔2020〕10号 第十一条 (未完成绩效目标或偏离绩效目标较大的，要分析说明原因，研究提出改进措施)."),
        ),
        _rule(
            "XT608", E, "Indicator row incomplete",
            "{name}: direction, target, actual value, weight and score must all be filled ({lhs} of {rhs} are; missing: {missing}).",
            "Complete the indicator row, or clear it.",
            "An indicator with a name needs all of its figures. A target or actual value may be a number, a number with "
            "its comparator and unit (≥50个) or a qualitative text (达成, 是, 合格); a target written with its comparator "
            "or as qualitative text states the direction too. The finding names the parts that are missing and cites "
            "their cells first.",
            "An incomplete indicator cannot be scored.",
            "绿化养护 with a target but no actual value.",
            source=N_("附件3 表样: every 三级指标 states its 指标值, 实际完成值, 分值 and 得分 (and its direction)."),
        ),
        _rule(
            "XT609", E, "Total score above the cap for this execution rate",
            "总分 {lhs} exceeds the cap of {rhs} that applies at this execution rate.",
            "Lower the scores so that the total respects the cap.",
            "Optional (caps.enabled): caps the total score by execution rate, e.g. 70–80% → at most 89.",
            "Some provinces cap the self-assessed total when the budget was poorly executed.",
            "执行率 75% with 总分 95 → cap 89.",
            source=N_("The 预算管理一体化 performance module (总分 capped by 执行率: 70–80% → 89, 60–70% → 79, < 60% → 69, < 50% → 59)."),
        ),
        _rule(
            "XT610", W, "Indicator value differs from the figure it names",
            "{name}: the actual value {lhs} differs from {rhs_label} ({rhs}) stated elsewhere.",
            "Use the figure the indicator names ({rhs}), or rename the indicator to what it measures.",
            "When a cost indicator is named after a figure of the report (基本支出, 人员经费, 公用经费, 项目支出, 三公经费), its actual value must be that figure.",
            "An indicator that quotes another figure than its name says misreports the cost.",
            "成本指标「基本支出」 actual 358.37, but 基本支出 is 380.19 (358.37 is 人员经费).",
            source=N_("附件3 表样 and 附件1 第二部分: a 成本指标 named after a figure of the report quotes that figure."),
        ),
        _rule(
            "XT611", E, "Figures on a row marked 无",
            "{name}: the row is marked 无 (no indicator) but holds a target, an actual value or points.",
            "Clear the figures of this row, or replace 无 with the indicator's name.",
            "A 三级 row named 无 states that the 二级 has no indicator: it carries no target, actual value, weight or score.",
            "Figures on a 无 row are scored by nobody and hide a real indicator.",
            "质量指标「无」 with a target of 95.",
            source=N_("附件3 表样: a 二级指标 without indicators is written 无 with 0 分."),
        ),
        _rule(
            "XT612", W, "Actual far beyond its target",
            "{name}: the actual value {actual} is {deviation} beyond the target {target} (偏离 at {threshold} or more), "
            "but no reason is given{deduction}.",
            "Explain the deviation in 偏差原因分析及改进措施 (was the target set too low?).",
            "Finds indicators whose 完成值 exceeds a ≥ target, or stays below a ≤ target, by the deviation threshold "
            "(indicator.deviation_threshold, default 30%) with the reason column empty. Where the region deducts points "
            "for it (indicator.deviation_deduction, default 0 = off), XT605 expects the deducted score.",
            "A result far beyond its target means the target was set too low or the result is misstated; the policy asks "
            "for an explanation and lets regions deduct points.",
            "绿化养护: target ≥ 1,000 平方米, actual 1,500 平方米 (+50%), reason empty.",
            source=N_("财预〔2020〕10号 第十一条 (偏离绩效目标较大的，要分析说明原因) and 第十六条 (a result far above the "
                      "target is explained; a target set clearly too low loses points); the 预算管理一体化 module "
                      "(指标偏离 ≥ 30%, −2 分)."),
        ),
        _rule(
            "XT613", W, "Indicator scores well above the execution rate",
            "The indicators scored {score_rate} of their weights, {diff} percentage points above 预算执行率 {rate} (more "
            "than {margin}).",
            "Check the indicator scores against the results (自评得分虚高?), or explain why results outran spending.",
            "Compares the indicators' score rate (Σ 得分 ÷ Σ 分值, without 预算执行率) with 执行率 and warns when it is "
            "higher by more than the margin (policy.inflation_margin, default 5 percentage points).",
            "Results seldom run far ahead of spending; the policy names 绩效自评不实、得分虚高 as the main fault, and the "
            "一体化 module's 自评预警 flags this gap.",
            "执行率 80.00%, indicators 88 of 90 points (97.78%) → 17.78 points above.",
            source=N_("The 预算管理一体化 自评预警 (指标得分率高于预算执行率 5 个百分点以上); the 解读 of 财预〔2020〕10号 "
                      "(绩效自评不实、得分虚高)."),
        ),
        _rule(
            "XT614", E, "Stated grade differs from the total score",
            "The grade is stated as {stated}, but 总分 {score} gives {expected} ({bands}).",
            "State the grade the total score gives ({expected}), or correct the scores.",
            "Where the form states a grade (自评等级), compares it with the grade of 总分 (policy.grades, default 优 ≥ 90, "
            "良 80–90, 中 60–80, 差 < 60).",
            "The grade follows from the score; a better grade than the score gives overstates the result.",
            "总分 86 with the grade 优 (86 is 良).",
            source=N_("财预〔2020〕10号 第十八条 (优 90（含）–100, 良 80（含）–90, 中 60（含）–80, 差 60 以下)."),
        ),
        _rule(
            "XT615", W, "Fewer 三级指标 than required",
            "{count} 三级指标 are named, fewer than the {minimum} required.",
            "Add 三级指标 so that the table has at least {minimum}, or explain why fewer apply.",
            "Counts the named 三级指标 (rows named 无 do not count) and compares with the region's minimum "
            "(policy.min_indicators, default 3).",
            "Too few indicators cannot show what the money achieved; regional instructions set a minimum.",
            "A project table with 数量指标 and 满意度指标 only: 2 三级指标.",
            source=N_("Regional instructions for 绩效目标 and 自评表 (三级指标 “总数不得少于3个”); 财预〔2021〕101号 "
                      "(核心绩效指标)."),
        ),
        _rule(
            "XT616", W, "Score below the rule",
            "{name}: the score is {lhs}, lower than the {rhs} the scoring rule gives.",
            "Explain in 偏差原因分析及改进措施 why the score is lower than the rule gives, or set it to {rhs}.",
            "Finds self-assessed scores below what the rule gives (the unit was stricter than the rule): the execution "
            "score, quantitative indicators, and 定性 indicators below the band of their judgement. 需要说明 by default; "
            "policy.below_rule = \"error\" makes it 必须修改.",
            "A score below the rule is not 自评得分虚高, but it departs from the published rule and needs a reason.",
            "满意度: target 90, actual 85, weight 10 → 9.44, but 7 is stated.",
            source=N_("财预〔2020〕10号 第十六条 and the 预算管理一体化 scoring rule set."),
        ),
        _rule(
            "XT617", E, "Self-evaluation table not found",
            "The report has no {sheet} (自评表) that could be read: {detail}. Its figures and scores were not checked.",
            "Attach {sheet} to the report as a Word table in the form's layout (its header words such as 年度资金总额 "
            "and 绩效指标 kept), not as a picture or a scan; if it is attached, check that its heading reads “{sheet}”.",
            "Looks for the self-evaluation table (附件3, or the project pack's 自评表) among the tables of a Word report, "
            "by its heading and its header words. When none is found this is said once, and the rules that would add up "
            "or score an absent table (weights that do not add up to 100, empty required entries of the table, an "
            "undefined execution rate, too few 三级指标) stay quiet; the report's other figures are checked as usual. "
            "A table that is there but empty or partly filled is judged by those rules as usual.",
            "Without the table the report states no 年度资金总额, weights or scores: reporting its weights as adding up "
            "to 0 (XT602, XT603) would point at figures the unit never wrote instead of at the missing table.",
            "A report whose text ends after section 九 and 附件2, with no 附件3.",
            live=False,
            source=N_("附件3 表样 and the bureau's notice: the self-evaluation report is submitted with 附件2 基础数据表 and "
                      "附件3 自评表; 财预〔2020〕10号 第十三、十六条 (the table holds the weights and scores)."),
        ),
        # -- plausibility ------------------------------------------------------------
        _rule(
            "XT701", E, "Negative amount",
            "{where} ({label}) is negative: {value}.",
            "Amounts are zero or more; only 年中调整 may be negative.",
            "Checks that amounts are not negative.",
            "A negative spending figure is a sign error.",
            "附件2 公务接待 −0.28.",
            live=False,
        ),
        _rule(
            "XT702", E, "Execution above budget",
            "全年执行数 ({lhs}) exceeds 全年预算数 ({rhs}).",
            "Check both figures: spending cannot exceed the adjusted budget.",
            "Checks 执行率 ≤ 100%.",
            "Spending beyond the adjusted budget is not allowed; usually one figure is wrong.",
            "全年执行数 2,600.00 with 全年预算数 2,510.99.",
            source=N_("财预〔2020〕10号 附2 (预算执行率 at most 100%)."),
        ),
        _rule(
            "XT703", W, "Building above its approval",
            "{lhs_label} ({lhs}) exceeds {rhs_label} ({rhs}).",
            "Explain the overrun in the report, or correct the figures.",
            "Checks that completed buildings stay within the approved size and investment (控制率 ≤ 100%).",
            "Overruns of 楼堂馆所 must be explained.",
            "实际规模 1,200㎡ with 批复规模 1,000㎡.",
            source=N_("附件2 表样 (楼堂馆所: 规模控制率, 投资概算控制率)."),
        ),
        _rule(
            "XT704", W, "Staff above the establishment",
            "{lhs_label} ({lhs}) exceeds {rhs_label} ({rhs}).",
            "Explain the overstaffing, or correct the figures.",
            "Checks that 实际在职人数 does not exceed 编制数 (控制率 ≤ 100%).",
            "Staff above the establishment must be explained.",
            "在职 21 with 编制数 19.",
            source=N_("附件2 表样 (在职人员控制率 = 实际在职人数 ÷ 编制数); 财预〔2013〕53号 附件2."),
        ),
        _rule(
            "XT705", E, "Year differs from the template",
            "The year entered ({lhs}) differs from the template's year ({rhs}).",
            "Use the template for the year being evaluated.",
            "Checks the year entered on 基本情况 against the template's year.",
            "A workbook for another year would mix up the figures.",
            "2022 entered in a 2023 template.",
        ),
        _rule(
            "XT706", W, "Large change from last year",
            "{label} changed from {prev} last year to {value} ({diff}), more than the threshold.",
            "Explain the change in the report, or correct the figure.",
            "Flags 附件2 figures whose 决算数 changed from last year by more than the configured share and amount (default 50% and 10万元).",
            "Large swings are often typing errors (a misplaced decimal) and always need an explanation.",
            "运行维护经费 1,791.43 last year, 20,700.20 this year.",
        ),
        _rule(
            "XT707", W, "Final far from budget",
            "{label}: 决算数 {value} differs from 预算数 {budget} by {diff}, more than the threshold.",
            "Explain the deviation from the budget in the report, or correct the figure.",
            "Flags 附件2 figures whose 决算数 deviates from the 预算数 by more than the configured share and amount (default 50% and 10万元).",
            "A large gap between budget and final needs an explanation of how the budget was executed.",
            "政府采购金额: 预算 324.40, 决算 28.44.",
        ),
        _rule(
            "XT708", W, "三公经费 above budget",
            "{lhs_label} ({lhs}) exceeds its budget ({rhs}).",
            "Explain the overspend in the report, or correct the figure.",
            "Checks that each 三公经费 item's 决算数 stays within its 预算数.",
            "三公经费 are controlled spending; an overspend must be explained.",
            "公务接待 决算 0.50 against 预算 0.28.",
        ),
        _rule(
            "XT709", W, "Income and spending far apart",
            "财政拨款收入 ({lhs}) and 财政拨款支出 ({rhs}) differ by {diff}, more than {share} of spending.",
            "Explain the gap (e.g. balances from earlier years) or correct the figures.",
            "Compares the year's appropriation income with its spending.",
            "Income and spending of one year are usually close; a wide gap often means a figure from another table.",
            "收入 1,450.02 with 支出 2,450.02.",
        ),
        _rule(
            "XT710", E, "Procurement above total spending",
            "{lhs_label} ({lhs}) exceeds {rhs_label} ({rhs}).",
            "Correct the procurement amount: it is part of the spending.",
            "Checks that 政府采购金额 does not exceed the year's budget or spending.",
            "Procurement is paid out of the budget; it cannot be larger.",
            "政府采购金额 3,244.00 with 全年执行数 2,450.21.",
        ),
        # -- across years (batch audit with --previous) ---------------------------------
        _rule(
            "XT720", E, "Last year's final figure restated differently",
            "{label}: this workbook states {actual} as the {prev_year} final figure (决算数), but the unit's "
            "{prev_year} workbook reported {expected}; the difference is {diff}.",
            "Copy the {prev_year} final figure from last year's 附件2 ({expected}), or explain the restatement "
            "to the finance bureau.",
            "With last year's audit given (xltool audit --previous DIR), compares every Y-1年决算数 of 附件2 with "
            "the Y年决算数 the same unit reported in last year's workbook (units matched by code, then by name; "
            "专项 rows by their name).",
            "A figure of last year's final accounts does not change; a different restatement is a copying error or an "
            "unexplained correction.",
            "附件2 公务用车购置和维护经费 2022年决算数 70.77, but the 2022 workbook reported 70.78.",
            live=False,
            source=N_("附件2 表样: 上年决算数 is last year's 本年决算数."),
        ),
    )
}


def rule(code: str) -> Rule:
    return RULES[code]
