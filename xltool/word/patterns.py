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
    section: int  # 1 for 一、… 9 for 九、
    field_id: str
    regex: re.Pattern[str]
    scale: float = 1.0  # 0.01 for a percentage stated as a rate


def _p(section: int, field_id: str, regex: str, scale: float = 1.0) -> Pattern:
    return Pattern(section, field_id, re.compile(regex), scale)


# Figures of single statements, by section. Derived figures (fin_exp, fin_basic, fin_proj)
# are read too: a Word report types them, so they are checked against their parts.
PATTERNS: tuple[Pattern, ...] = (
    _p(1, "info_departments", r"内设(?:科室|机构)\s*" + INT + r"\s*个"),
    _p(1, "info_staff_total", r"共有(?:人员)?\s*" + INT + r"\s*人"),
    _p(1, "info_staff_active", r"在职(?:人员)?\s*" + INT + r"\s*人"),
    _p(1, "info_staff_retired", r"退休(?:人员)?\s*" + INT + r"\s*人"),
    _p(2, "fin_budget", r"(?<!年初)预算资金(?:总计|总额|合计)?(?:为|是)?\s*" + NUM + WAN),
    _p(2, "fin_income", r"财政拨款收入(?:为|是)?\s*" + NUM + WAN),
    _p(2, "fin_exp", r"财政拨款支出(?:为|是)?\s*" + NUM + WAN),
    _p(2, "fin_proj", r"项目支出(?:为|是)?\s*" + NUM + WAN),
    _p(2, "fin_basic", r"基本支出(?:为|是)?\s*" + NUM + WAN),
    _p(2, "fin_staff_cost", r"人员经费(?:为|是)?\s*" + NUM + WAN),
    _p(2, "fin_public_cost", r"公用经费(?:为|是)?\s*" + NUM + WAN),
    _p(6, "proj_budget_initial", r"年初预算(?:资金)?(?:总计|总额|合计)(?:为|是)?\s*" + NUM + WAN),
    _p(6, "proj_spending", r"(?:年度)?总支出(?:为|是)?\s*" + NUM + WAN),
    _p(6, "proj_exec_rate", r"预算执行率(?:为|是|达到|达)?\s*" + NUM + r"\s*%", 0.01),
)

# Sections 三 to 五 state one figure each, or 无.
OTHER_SPENDING = {3: "fin_gov_fund", 4: "fin_state_capital", 5: "fin_social_ins"}

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
