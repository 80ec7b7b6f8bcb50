"""Label-anchored patterns for the figures the narrative report (附件1) states.

Text is folded with NFKC first (full-width digits and punctuation become ASCII), so a
pattern writes ``,`` for ``，`` and ``:`` for ``：``. Each pattern names the section of the
report it belongs to and the form field it states; the figure is the group ``n``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# A figure never starts inside another one (this also keeps every pattern linear in the text).
NUM = r"(?<![\d,.])(?P<n>-?\d+(?:,\d{3})*(?:\.\d+)?)"
INT = r"(?<![\d,.])(?P<n>\d+)"
WAN = r"\s*万元"
CN_NUMERALS = "一二三四五六七八九十"
SECTION = re.compile(r"^\s*([一二三四五六七八九十]{1,2})\s*[、.]")
ITEM = re.compile(r"^\s*\d+\s*[.、]\s*(?P<name>[^\d].*?)\s*(?:支出|经费)?\s*" + NUM + WAN)
PROJECT = re.compile(r"^\s*[一二三四五六七八九十]+是\s*(?P<name>[^,;。]+?)\s*[,;。]")
FIGURE = re.compile(r"(?<![\d,.])\d+(?:,\d{3})*(?:\.\d+)?\s*(?:万元|%)")
# Longer paragraphs are not searched (none of a report's figure sentences comes near it).
MAX_PARAGRAPH = 20_000


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")


def squash(text: str) -> str:
    """Folded, without any white space (labels wrap inside table cells)."""
    return re.sub(r"\s+", "", fold(text))


def number(text: str) -> float:
    return float(text.replace(",", ""))


@dataclass(frozen=True)
class Pattern:
    sections: tuple[int, ...]  # 1 for 一、… 9 for 九、
    field_id: str
    regex: re.Pattern[str]
    scale: float = 1.0  # 0.01 for a percentage stated as a rate
    spent: bool = False  # a figure of the year's accounts (决算): not one a budget clause states

    def budget_clause(self, text: str, at: int) -> bool:
        """Whether the clause the figure at *at* stands in states a budget (年初预算安排人员经费
        520万元，公用经费85万元): its words up to the figure, from the last 。 or ;."""
        start = max(text.rfind(stop, 0, at) for stop in "。;!?") + 1
        return self.spent and bool(BUDGET_CLAUSE.search(text, start, at))


def _p(sections: int | tuple[int, ...], field_id: str, regex: str, scale: float = 1.0, spent: bool = False) -> Pattern:
    return Pattern(sections if isinstance(sections, tuple) else (sections,), field_id, re.compile(regex), scale, spent)


# Words of a budget (年初预算项目支出, 预算安排人员经费): a clause with them does not state the year's
# 决算 figure (一般公共预算财政拨款支出 does: 一般公共预算 names the fund).
BUDGET_CLAUSE = re.compile(r"年初预算|预算安排|安排预算|预算数|批复预算|调整预算|预算批复")


# The sections that state the unit's 收支: 二 in the bureau's example (一般公共预算支出情况), 一 in the
# reports that open with 基本情况 —（一）部门整体支出概况 (Hunan 南县: “2、支出:799.12万元。其中:人员经费支出
# 434.89万元,公用经费支出77.4万元,项目支出286.83万元。”).
MONEY = (1, 2)
# 为 / 是 / a colon between a label and its figure (收入:816.23万元).
IS = r"(?:为|是)?\s*:?\s*"

# Figures of single statements, by section. Derived figures (fin_exp, fin_basic, fin_proj)
# are read too: a Word report types them, so they are checked against their parts.
PATTERNS: tuple[Pattern, ...] = (
    _p(1, "info_departments", r"内设(?:科室|机构)\s*" + INT + r"\s*个"),
    _p(1, "info_staff_total", r"共有(?:人员)?\s*" + INT + r"\s*人"),
    _p(1, "info_staff_active", r"在职(?:人员)?\s*" + INT + r"\s*人"),
    _p(1, "info_staff_retired", r"退休(?:人员)?\s*" + INT + r"\s*人"),
    # A report without a year in its title states it with its accounts (“2021年部门决算收支完成情况”).
    _p(MONEY, "info_year", r"(?<![\d,.])(?P<n>20\d\d)\s*年度?\s*(?:部门|单位)?(?:整体)?决算"),
    _p(MONEY, "fin_budget", r"(?<!年初)预算资金(?:总计|总额|合计)?" + IS + NUM + WAN),
    _p(MONEY, "fin_income", r"财政拨款收入" + IS + NUM + WAN, spent=True),
    _p(MONEY, "fin_exp", r"财政拨款支出" + IS + NUM + WAN, spent=True),
    # “2、支出:799.12万元。其中:人员经费支出…”: the 支出 a list item states, then breaks down.
    _p(MONEY, "fin_exp", r"^\s*(?:\d+\s*[、.]\s*)?支出(?:总计|合计|总额)?" + IS + NUM + WAN + r"(?=\s*[。,;]?\s*其中)", spent=True),
    _p(MONEY, "fin_proj", r"项目支出" + IS + NUM + WAN, spent=True),
    _p(MONEY, "fin_basic", r"基本支出" + IS + NUM + WAN, spent=True),
    _p(MONEY, "fin_staff_cost", r"人员经费(?:支出)?" + IS + NUM + WAN, spent=True),
    _p(MONEY, "fin_public_cost", r"(?:日常)?公用经费(?:支出)?" + IS + NUM + WAN, spent=True),
    _p(6, "proj_budget_initial", r"年初预算(?:资金)?(?:总计|总额|合计)(?:为|是)?\s*" + NUM + WAN),
    _p(6, "proj_spending", r"(?:年度)?总支出(?:为|是)?\s*" + NUM + WAN),
    _p(6, "proj_exec_rate", r"预算执行率(?:为|是|达到|达)?\s*" + NUM + r"\s*%", 0.01),
)

# Sections 三 to 五 of the example state one figure each, or 无; a section is one of them by its
# heading's words (another report's 三、 may be 综合评价情况, whose figures are not these).
OTHER_SPENDING = {"政府性基金": "fin_gov_fund", "国有资本": "fin_state_capital", "社会保险": "fin_social_ins"}


def other_spending(heading: str) -> str | None:
    """The field a section 三 to 五 states, by the words of its heading."""
    return next((fid for word, fid in OTHER_SPENDING.items() if word in heading), None)


# The figures of one project sentence of section 六 (二).
PROJECT_FIGURES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("initial", re.compile(r"年初预算(?:资金)?(?:为|是)?\s*" + NUM + WAN)),
    ("adjust", re.compile(r"年中(?:执行)?(?P<sign>调减|调增|调整|追加|减少|增加)\s*" + NUM + WAN)),
    ("actual", re.compile(r"实际支出(?:为|是)?\s*" + NUM + WAN)),
    ("balance", re.compile(r"结余(?:结转)?(?:为|是)?\s*" + NUM + WAN)),
)
NEGATIVE = {"调减", "减少"}
NOT_INITIAL = re.compile(r"不在年初预算|年中追加|追加预算")
GOAL = re.compile(r"该专项资金支出(?:是为了|是)?\s*[:：]?\s*(?P<goal>.+?)(?:。|$)")

# Footer lines under 附件2 and 附件3.
FOOTER = {
    "preparer": re.compile(r"填表人\s*:\s*(?P<v>[^\s:]+?)(?=\s|填报日期|联系电话|$)"),
    "phone": re.compile(r"联系电话\s*:\s*(?P<v>[\d\-+ ]*\d)"),
    "date": re.compile(r"填报日期\s*:\s*(?P<v>\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?)"),
    "head": re.compile(r"单位负责人(?:签字)?\s*:\s*(?P<v>[^\s:]+)"),
}
COVER_UNIT = re.compile(r"(?:部门|单位)(?:\((?:单位|部门)\))?名称\s*:\s*(?P<v>.+?)\s*(?:\(盖章\))?\s*$")
TITLE_YEAR = re.compile(r"(?P<y>20\d\d)\s*年度")
# The closing bracket of a title line “（2021年度）” is not a unit name.
TITLE_UNIT = re.compile(r"20\d\d\s*年度\s*(?P<v>[^）)\s].*?)\s*(?:部门)?(?:整体支出)?(?:绩效自评报告)?$")
