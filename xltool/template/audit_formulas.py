"""The formulas of the live 审核 sheet, without openpyxl: the template writer puts them in the
sheet (``audit_sheet``) and the reader checks a returned workbook's 审核 sheet against them
(``read.integrity``), so they are declared once."""

from __future__ import annotations

from functools import lru_cache

from xltool.check.finding import Severity
from xltool.check.instances import build_checks
from xltool.check.rule import allowance_excel
from xltool.form.model import Form
from xltool.form.scoring import ScoringConfig

FIRST_ROW = 5
PASS, ROUNDING, FAIL, NA = "通过", "尾差", "不通过", "不适用"


def audit_formulas(form: Form, cells, cfg: ScoringConfig | None = None, checks: list | None = None) -> list[tuple[str, str]]:
    """(cell, formula with its "=") of every formula of the 审核 sheet, in document order (row by
    row, column by column): what the template writes, and what the reader checks it against."""
    checks = checks if checks is not None else [c for c in build_checks(form.year, cfg, form_id=form.pack_ref)
                                                 if c.rule.live]
    last = FIRST_ROW + len(checks) - 1
    err, warn = Severity.ERROR.label, Severity.WARNING.label
    out = [
        ("D2", f'=COUNTIFS(C{FIRST_ROW}:C{last},"{err}",I{FIRST_ROW}:I{last},"{FAIL}")'),
        ("D3", f'=COUNTIFS(C{FIRST_ROW}:C{last},"{warn}",I{FIRST_ROW}:I{last},"{FAIL}")'
               f'+COUNTIF(I{FIRST_ROW}:I{last},"{ROUNDING}")'),
    ]
    ref = lambda fid: cells.ref(fid, None)  # noqa: E731 - every reference is cross-sheet here
    for n, check in enumerate(checks, start=1):
        row = FIRST_ROW + n - 1
        # The sides are computed once (E, F, H) and the verdict reads those cells: the sheet
        # stays small and a row's numbers are the ones its verdict is made of.
        lhs, rhs = check.lhs.to_excel(ref), check.rhs.to_excel(ref)
        applies = None
        if check.applies is not None:
            # A row that does not apply shows no sides (they mean nothing there) and J says so.
            applies = f"=IF({check.applies.to_excel(ref)},1,0)"
            lhs, rhs = f'IF($J{row}=1,{lhs},"")', f'IF($J{row}=1,{rhs},"")'
        excess = {"=": f"ABS(E{row}-F{row})", "<=": f"(E{row}-F{row})", ">=": f"(F{row}-E{row})"}[check.op]
        if check.rounding is None:
            verdict = f'IF({excess}<=H{row}+0.000001,"{PASS}","{FAIL}")'
        else:
            verdict = f'IF({excess}<=0.000001,"{PASS}",IF({excess}<=H{row}+0.000001,"{ROUNDING}","{FAIL}"))'
        out += [(f"E{row}", f'=IFERROR({lhs},"")'), (f"F{row}", f'=IFERROR({rhs},"")'),
                (f"G{row}", f'=IFERROR(E{row}-F{row},"")'), (f"H{row}", f'=IFERROR({allowance_excel(check, ref)},"")'),
                (f"I{row}", f'=IFERROR({verdict},"{NA}")')]
        if applies is not None:
            out.append((f"J{row}", applies))
    return out


# -- the digest a returned workbook's 审核 sheet is compared by (xltool.read.integrity) --------------

def xml_text(formula: str) -> bytes:
    """A formula (without "=") as the template's XML holds it between <f> and </f> (openpyxl
    writes characters beyond ASCII as character references)."""
    return formula.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode("ascii", "xmlcharrefreplace")


def formulas_digest(pairs) -> bytes:
    """The digest of (cell, XML text) byte pairs in document order."""
    from xltool.digests import blake2b

    return blake2b(b"\0".join(ref + b"\1" + text for ref, text in pairs)).digest()


def expected_formulas(form: Form) -> list[tuple[str, str]]:
    """``audit_formulas`` of the template *form* stands for, built afresh from its declaration."""
    from xltool.form.cells import CellMap
    from xltool.form.selfeval import build_form

    cfg = ScoringConfig.from_json(form.scoring_json)
    built = build_form(form.year, cfg, form.pack_ref or None)
    return audit_formulas(built, CellMap(built), cfg)


def store_expectation(form: Form, formulas: list[tuple[str, str]]) -> tuple[bytes, tuple[bytes, ...]]:
    """Keep the digest and cells of *formulas* (this template's 审核 sheet) for the reader."""
    from xltool.form import derived

    pairs = [(cell.encode("ascii"), xml_text(formula[1:])) for cell, formula in formulas]
    value = (formulas_digest(pairs), tuple(ref for ref, _text in pairs))
    derived.store(form, "audit", value)
    return value


def audit_expectation(form: Form) -> tuple[bytes, frozenset[bytes]]:
    """(digest, cells) of the formulas *form*'s template writes on its 审核 sheet: the digest of
    each (cell, formula) as the XML holds it, in document order. Derived from the form, never
    from a workbook, and kept on disk (xltool.form.derived) per pack, version, year, settings
    and code, so that a process reading an unchanged sheet neither builds nor normalises the
    ≈5,000 formulas. Writing a template stores it (``add_audit_sheet``)."""
    from xltool.form import derived

    stored = derived.load(form, "audit")
    if not (isinstance(stored, tuple) and len(stored) == 2 and isinstance(stored[0], bytes)
            and isinstance(stored[1], tuple)):
        stored = store_expectation(form, expected_formulas(form))
    return stored[0], _frozen(stored[1])


@lru_cache(maxsize=16)
def _frozen(cells: tuple[bytes, ...]) -> frozenset[bytes]:
    return frozenset(cells)
