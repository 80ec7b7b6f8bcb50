"""make-report: the Word report (附件1 with 附件2 and 附件3) written from a filled workbook.

Every figure comes from the workbook as read by xltool (derived figures computed by the form's
expressions, never a cached result), so the report cannot disagree with its tables. The parts
that need the unit's own words are marked placeholders. A bureau may supply its own template
(docxtpl: Jinja2 tags in a .docx) to change the wording; ``context`` lists what it can use.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from xltool.atomic import write_atomic
from xltool.form.model import Form
from xltool.form.scoring import ScoringConfig
from xltool.i18n import _
from xltool.numbers import fmt_amount
from xltool.plaintext import plain
from xltool.word.tables import annex2, annex3, show

SECTIONS = (
    "一、部门（单位）基本情况",
    "二、一般公共预算支出情况",
    "三、政府性基金预算支出情况",
    "四、国有资本经营预算支出情况",
    "五、社会保险基金预算支出情况",
    "六、资金使用及绩效情况（包含单位管理的公共专项）",
    "七、存在的问题及原因分析",
    "八、下一步改进措施",
    "九、部门整体支出绩效自评结果拟应用和公开情况",
)
CN_ORDER = "一二三四五六七八九十"


def cn_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十 (enough for the 20 project rows)."""
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else CN_ORDER[tens - 1]) + "十" if tens else "") + (CN_ORDER[ones - 1] if ones else "")


class TemplateRefused(Exception):
    """The bureau's template is not a readable .docx (message translated)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# The sheets the report is written from: sections 二 and 六 (收支情况, 项目绩效), 附件2 and 附件3.
REPORT_SHEETS = ("fin", "proj", "base", "eval")


class FormUnsupported(Exception):
    """The workbook's form pack lacks the sheets the report is written from (message translated)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def supports(form: Form) -> bool:
    """The form has everything the 部门整体 report (附件1 with 附件2 and 附件3) is written from."""
    keys = {s.key for s in form.sheets}
    return all(k in keys for k in REPORT_SHEETS)


def project_form(form: Form) -> bool:
    """A 项目支出绩效自评表 (the project pack): its report is the 自评表 alone."""
    return not supports(form) and any(s.key == "eval" for s in form.sheets) and bool(form.tree)


def refuse_unsupported(form: Form) -> None:
    if not supports(form) and not project_form(form):
        keys = {s.key for s in form.sheets}
        raise FormUnsupported(_(
            "The workbook is a “{name}” ({id}); the Word report (附件1 with 附件2 and 附件3) is written from the "
            "部门整体支出 forms, whose sheets this form does not have ({missing}). No report was written; check this "
            "workbook with xltool check-workbook."
        ).format(name=form.pack_name or form.pack_id, id=form.pack_id,
                 missing="、".join(_SHEET_NAMES[k] for k in REPORT_SHEETS if k not in keys)))


_SHEET_NAMES = {"fin": "收支情况", "proj": "项目绩效", "base": "附件2", "eval": "附件3"}


class ReportRefused(Exception):
    """The workbook has 必须修改 findings and --force was not given (message translated)."""

    def __init__(self, message: str, errors: int) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors


MISSING = "【未填】"  # a figure the workbook leaves empty: marked, never a silent blank or 0


def _w(value: object) -> str:
    return fmt_amount(float(value)) if isinstance(value, (int, float)) else MISSING


def _n(form: Form, values: Mapping[str, object], fid: str) -> str:
    return show(form.field(fid), values.get(fid)) or MISSING if fid in form.by_id else MISSING


def placeholder(what: str) -> str:
    return f"【{_('To be written by the unit')}：{what}】"


def _projects(form: Form, values: Mapping[str, object]) -> tuple[list[dict], list[dict]]:
    initial, later = [], []
    for i in range(1, form.lists.get("proj", 0) + 1):
        name = values.get(f"proj_{i}_name")
        if name in (None, ""):
            continue
        row = {k: values.get(f"proj_{i}_{k}") for k in ("initial", "adjust", "actual", "balance", "goal", "initial_flag")}
        row["name"] = str(name)
        (initial if row["initial_flag"] == "是" else later).append(row)
    return initial, later


def _project_sentence(n: int, p: dict, with_budget: bool) -> str:
    parts = [f"{cn_number(n)}是{p['name']}"]
    if with_budget and isinstance(p["initial"], (int, float)):
        parts.append(f"年初预算资金{_w(p['initial'])}万元")
        adjust = p["adjust"] if isinstance(p["adjust"], (int, float)) else 0.0
        parts.append(f"年中执行{'调减' if adjust < 0 else '调增'}{_w(abs(adjust))}万元")
    if isinstance(p["actual"], (int, float)):
        parts.append(f"实际支出{_w(p['actual'])}万元")
    if isinstance(p["balance"], (int, float)):
        parts.append(f"结余结转{_w(p['balance'])}万元")
    text = "，".join(parts) + "。"
    goal = str(p["goal"] or "").strip().rstrip("。")
    return text + (f"该专项资金支出{goal}。" if goal else placeholder("该专项资金的用途和绩效目标完成情况"))


def context(form: Form, values: Mapping[str, object], errors: int = 0) -> dict[str, object]:
    """What a report template can use: every field by id (as the tables print it) and the
    report's sentences, sections and project lists."""
    y = form.year
    ctx: dict[str, object] = {f.id: show(f, values.get(f.id)) for f in form.fields}
    unit = plain(values.get("info_unit_name"))  # the title and the signature line: no bidi/control characters
    initial, later = _projects(form, values)
    ctx.update(
        year=y, unit=unit, forced=errors > 0, errors=errors,
        title=f"{y}年度{unit}整体支出绩效自评报告",
        forced_note=_("This report was written from a workbook that still has {n} “must fix” findings; its figures "
                      "may disagree. Correct the workbook and write the report again before sending it.").format(n=errors)
        if errors else "",
        sections=SECTIONS,
        staff_sentence=(f"截止{y}年12月31日，部门共有人员{_n(form, values, 'info_staff_total')}人，"
                        f"其中在职人员{_n(form, values, 'info_staff_active')}人，"
                        f"退休人员{_n(form, values, 'info_staff_retired')}人。"),
        budget_sentences=[
            f"1.{y}年预算资金{_w(values.get('fin_budget'))}万元；",
            f"2.{y}年度单位一般公共预算财政拨款收入{_w(values.get('fin_income'))}万元。",
            f"3.{y}年度单位一般公共预算财政拨款支出{_w(values.get('fin_exp'))}万元，其中：项目支出{_w(values.get('fin_proj'))}万元，"
            f"基本支出{_w(values.get('fin_basic'))}万元，其中：人员经费{_w(values.get('fin_staff_cost'))}万元，"
            f"公用经费{_w(values.get('fin_public_cost'))}万元。",
        ],
        fin_projects=[f"{n}.{values.get(f'fin_proj_{i}_name')}{_w(values.get(f'fin_proj_{i}_amount'))}万元；"
                      for n, i in enumerate((i for i in range(1, form.lists.get("fin_proj", 0) + 1)
                                             if values.get(f"fin_proj_{i}_name") not in (None, "")), start=1)],
        other_spending=[_other(values.get(fid), label) for fid, label in (
            ("fin_gov_fund", "政府性基金预算支出"), ("fin_state_capital", "国有资本经营预算支出"),
            ("fin_social_ins", "社会保险基金预算支出"))],
        overall_sentence=(f"本单位{y}年年初预算资金总计{_w(values.get('proj_budget_initial'))}万元，实际单位年度总支出"
                          f"{_w(values.get('proj_spending'))}万元，预算执行率为"
                          f"{_n(form, values, 'proj_exec_rate')}。"),
        initial_intro=f"本部门{y}年年初预算专项资金共{len(initial)}个，具体情况如下：",
        initial_projects=[_project_sentence(n, p, True) for n, p in enumerate(initial, start=1)],
        later_intro=f"另外，有{len(later)}个专项资金不在年初预算中体现。具体情况如下：" if later else "",
        later_projects=[_project_sentence(n, p, False) for n, p in enumerate(later, start=1)],
        footer=footer_line(form, values),
    )
    return ctx


def footer_line(form: Form, values: Mapping[str, object]) -> str:
    return (f"填表人：{values.get('info_preparer') or ''}　　填报日期：{_n(form, values, 'info_date').replace(MISSING, '')}"
            f"　　联系电话：{values.get('info_phone') or ''}　　单位负责人签字：{values.get('info_head') or ''}")


def _other(value: object, label: str) -> str:
    return f"{label}{_w(value)}万元。" if isinstance(value, (int, float)) and value else "无。"


def _page_setup(section, landscape: bool = False) -> None:
    from docx.enum.section import WD_ORIENT
    from docx.shared import Mm

    short, long = Mm(210), Mm(297)
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (long, short) if landscape else (short, long)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Mm(20 if not landscape else 15))
    section.top_margin = section.bottom_margin = Mm(20)


def _fonts(doc) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    from docx.shared import RGBColor

    for name, size in (("Normal", 12), ("Title", 18), ("Heading 1", 14), ("Heading 2", 12)):
        style = doc.styles[name]
        style.font.size = Pt(size)
        style.font.color.rgb = RGBColor(0, 0, 0)  # official documents print headings in black
        rpr = style.element.get_or_add_rPr()
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = rpr.makeelement(qn("w:rFonts"), {})
            rpr.insert(0, fonts)
        heading = name != "Normal"
        for attr in ("w:eastAsia", "w:ascii", "w:hAnsi"):
            fonts.set(qn(attr), ("黑体" if heading else "宋体") if attr == "w:eastAsia" else ("SimHei" if heading else "SimSun"))
        for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            fonts.attrib.pop(qn(theme), None)


def _page_numbers(section) -> None:
    """A centred page number in the section's footer (a PAGE field: Word and WPS fill it in)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    para = section.footer.paragraphs[0]
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    para._p.append(field)


def _placeholder(doc, what: str) -> None:
    from docx.enum.text import WD_COLOR_INDEX

    run = doc.add_paragraph().add_run(placeholder(what))
    run.font.highlight_color = WD_COLOR_INDEX.YELLOW


def _forced(doc, note: str) -> None:
    from docx.shared import RGBColor

    run = doc.add_paragraph().add_run(note)
    run.bold = True
    run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)


STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"


def _blank():
    """python-docx's blank document without its Word 2010 ``stylesWithEffects`` part: a copy of
    the styles that later Word versions no longer write and that goes stale once styles change
    (the Open XML SDK's Word check reads the mismatch as damaged content)."""
    import docx

    doc = docx.Document()
    for rid, rel in list(doc.part.rels.items()):
        if rel.reltype == STYLES_WITH_EFFECTS:
            doc.part.drop_rel(rid)
    return doc


def build_project(form: Form, values: Mapping[str, object], cfg: ScoringConfig, errors: int = 0):
    """A 项目支出绩效自评表 as a Word document: the unit, the title, the table (laid out from the
    pack like 附件3) and the footer line; A4 landscape."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    doc = _blank()
    _fonts(doc)
    _page_setup(doc.sections[0], landscape=True)
    _page_numbers(doc.sections[0])
    if errors:
        _forced(doc, str(context(form, values, errors)["forced_note"]))
    doc.add_paragraph(f"实施单位名称：{values.get('info_unit_name') or ''}（盖章）")
    name = next((t.text for t in form.sheet("eval").texts if t.cell == "A1"), "") or form.pack_name
    title = doc.add_paragraph(f"{form.year}年度{name}", style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    annex3(doc, form, values, cfg)
    doc.add_paragraph(footer_line(form, values))
    return doc


def build(form: Form, values: Mapping[str, object], cfg: ScoringConfig, errors: int = 0):
    """The default report as a python-docx Document (the 自评表 alone for a project form)."""
    from docx.enum.section import WD_SECTION
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK

    if project_form(form):
        return build_project(form, values, cfg, errors)

    ctx = context(form, values, errors)
    doc = _blank()
    _fonts(doc)
    _page_setup(doc.sections[0])
    _page_numbers(doc.sections[0])
    if errors:
        _forced(doc, str(ctx["forced_note"]))
    doc.add_paragraph(f"部门（单位）名称：{ctx['unit']}（盖章）")
    doc.add_paragraph("年　　月　　日")
    title = doc.add_paragraph(str(ctx["title"]), style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    h = lambda text: doc.add_heading(text, level=1)  # noqa: E731
    sub = lambda text: doc.add_heading(text, level=2)  # noqa: E731
    p = doc.add_paragraph
    h(SECTIONS[0])
    sub("（一）主要职能")
    _placeholder(doc, "本单位的主要职能")
    sub("（二）机构情况")
    departments = values.get("info_departments")
    if isinstance(departments, (int, float)):
        p(f"内设科室{show(form.field('info_departments'), departments)}个。")
    _placeholder(doc, "单位性质、级次和内设机构")
    sub("（三）人员情况")
    p(str(ctx["staff_sentence"]))
    h(SECTIONS[1])
    sub("（一）基本支出情况")
    for line in ctx["budget_sentences"]:  # type: ignore[union-attr]
        p(line)
    sub("（二）项目支出情况")
    for line in ctx["fin_projects"]:  # type: ignore[union-attr]
        p(line)
    for title_, line in zip(SECTIONS[2:5], ctx["other_spending"]):  # type: ignore[arg-type]
        h(title_)
        p(line)
    h(SECTIONS[5])
    sub("（一）整体支出绩效情况")
    p(str(ctx["overall_sentence"]))
    _placeholder(doc, "整体支出绩效情况、主要工作和成效")
    sub("（二）项目支出绩效情况")
    p(str(ctx["initial_intro"]))
    for line in ctx["initial_projects"]:  # type: ignore[union-attr]
        p(line)
    if ctx["later_intro"]:
        p(str(ctx["later_intro"]))
        for line in ctx["later_projects"]:  # type: ignore[union-attr]
            p(line)
    for title_, what in zip(SECTIONS[6:], ("存在的问题及原因分析", "下一步改进措施", "自评结果的应用和公开情况")):
        h(title_)
        _placeholder(doc, what)
    # 附件2 on a new page, 附件3 in a landscape section of its own.
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    _annex_title(doc, 2, f"{form.year}年度部门（单位）整体支出绩效评价基础数据表")
    annex2(doc, form, values)
    p("说明：“项目支出”需要填报基本支出以外的所有项目支出情况，“公用经费”填报基本支出中的一般商品和服务支出。")
    p(str(ctx["footer"]))
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    _page_setup(section, landscape=True)
    _annex_title(doc, 3, f"{form.year}年度部门（单位）整体支出绩效自评表")
    annex3(doc, form, values, cfg)
    p(str(ctx["footer"]))
    return doc


def _annex_title(doc, n: int, title: str) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    doc.add_paragraph(f"附件{n}")
    para = doc.add_paragraph()
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = para.add_run(title)
    run.bold = True
    run.font.size = Pt(16)


ANNEX_MARK = "\u2063xltool-annex-{n}\u2063"  # invisible separators: never typed by hand


def render_template(template: Path, form: Form, values: Mapping[str, object], cfg: ScoringConfig, errors: int = 0):
    """A bureau's own template (docxtpl): every ``context`` key; ``{{ annex2 }}`` and ``{{ annex3 }}``,
    each alone in a paragraph, become the 附件2 and 附件3 tables."""
    from docxtpl import DocxTemplate

    tpl = DocxTemplate(str(template))
    ctx = context(form, values, errors)
    ctx.update(annex2=ANNEX_MARK.format(n=2), annex3=ANNEX_MARK.format(n=3))
    tpl.render(ctx, autoescape=True)
    doc = tpl.docx
    for n, draw in ((2, lambda d: annex2(d, form, values)), (3, lambda d: annex3(d, form, values, cfg))):
        for para in [p for p in doc.paragraphs if ANNEX_MARK.format(n=n) in p.text]:
            if n == 2 and not any(s.key == "base" for s in form.sheets):  # a pack without 附件2
                para._p.getparent().remove(para._p)
                continue
            draw(doc)  # appended at the end of the body, then moved into the paragraph's place
            table = doc.tables[-1]._tbl
            para._p.addnext(table)
            para._p.getparent().remove(para._p)
    return doc


def _schema_fixes(doc) -> None:
    """python-docx's default settings part has a <w:zoom> without the w:percent the schema requires."""
    from docx.oxml.ns import qn

    zoom = doc.settings.element.find(qn("w:zoom"))
    if zoom is not None and zoom.get(qn("w:percent")) is None:
        zoom.set(qn("w:percent"), "100")


def make_report(workbook: Path, out: Path, *, template: Path | None = None, force: bool = False,
                cfg: ScoringConfig | None = None) -> tuple[Path, int]:
    """Write the report for *workbook* to *out*; returns (out, number of must-fix findings).

    Raises UnreadableWorkbook (cannot read), ReportRefused (must-fix findings without force).
    """
    from xltool.check.checker import check_path

    result, report = check_path(Path(workbook), cfg=cfg)
    refuse_unsupported(result.form)
    errors = report.errors
    if errors and not force:
        raise ReportRefused(_("{file} has {n} “must fix” findings; no report was written. Correct the workbook "
                              "(xltool check-workbook lists them) or use --force to write a marked draft.").format(
            file=Path(workbook).name, n=errors), errors)
    if template is not None:
        from xltool.word.document import DocLimits, UnreadableReport, _gate, _read_bytes

        try:  # the template is a .docx too: the same gate before docxtpl opens it
            _gate(_read_bytes(Path(template), DocLimits()), Path(template), DocLimits())
        except UnreadableReport as exc:
            raise TemplateRefused(exc.message) from None
        document = render_template(Path(template), result.form, result.values, result.cfg, errors)
    else:
        document = build(result.form, result.values, result.cfg, errors)
    _schema_fixes(document)
    write_atomic(Path(out), lambda tmp: document.save(str(tmp)))
    return Path(out), errors
