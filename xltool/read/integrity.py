"""Integrity of the locked parts the value reader does not look at: merged cells, cell
protection (styles), data validation, the live 审核 sheet, and the workbook's sheet and
name tables. Each change is a must-fix finding (XT003/XT004, XT030–XT033): a locked part
that changed without one would be tampering accepted silently.

The expectations come from the form (the same declarations the template writer uses), so
nothing here restates the layout. Parts a source cannot tell (an xlwings payload, the
openpyxl reference reader) are ``None`` in the Book and not judged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from xltool.check.catalogue import rule
from xltool.check.finding import CellRef, Finding
from xltool.form.model import Form, Role
from xltool.i18n import _, translations
from xltool.form.address import column_index as col_index
from xltool.lazyre import lazy_compile
from xltool.read.book import Book, SheetData, parse_raw
from xltool.read.formulas import norm_formula
from xltool.template.audit_formulas import audit_expectation, expected_formulas, formulas_digest

AUDIT_SHEET = "审核"
_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")
_SHOWN = 5  # cells named in one message; the rest are counted


def check_integrity(form: Form, book: Book, findings: list[Finding], *, prefilled: frozenset[str] = frozenset(),
                    audit: bool = True, audit_formulas: tuple[tuple[str, str], ...] | None = None) -> None:
    """Append the integrity findings of *book* against *form*. *prefilled*: bureau-filled
    fields the template locked (the unit's name and code when it was made for one unit);
    *audit*: compare the 审核 sheet's formulas (only its protection otherwise)."""
    _sheets_and_names(form, book, findings)
    titles = {s.key: s.title for s in form.sheets}
    for sheet in form.sheets:
        data = book.sheets.get(sheet.title)
        if data is None:
            continue
        _merges(form, sheet.key, data, findings)
        if data.validations is not None:
            _validations(form, sheet.key, data, findings)
        if data.styles is not None and book.locked_styles is not None:
            _protection(form, sheet.key, titles, data, book.locked_styles, prefilled, findings)
    sheet = book.sheets.get(AUDIT_SHEET)
    if sheet is not None and sheet.raw is not None:
        tail = sheet.raw.rfind(b"sheetData>")  # sheetProtection follows sheetData
        sheet.protected = _PROT_RE.search(sheet.raw, max(0, tail - 64)) is not None
    if audit and sheet is not None and (sheet.raw is not None or sheet.styles is not None):  # read from the file
        _audit_sheet(form, sheet, book.strings, findings, audit_formulas)


def _finding(code: str, instance: str, cells: list[CellRef] | None = None, **params: object) -> Finding:
    r = rule(code)
    return Finding(code=code, severity=r.severity, message=r.message().format(**params), fix=r.fix(),
                   cells=cells or [], instance=instance)


def _listed(items: list[str]) -> str:
    shown = "、".join(items[:_SHOWN])
    if len(items) > _SHOWN:
        shown += _(" and {count} more").format(count=len(items) - _SHOWN)
    return shown


# -- sheets and names -----------------------------------------------------------------------

def _sheets_and_names(form: Form, book: Book, findings: list[Finding]) -> None:
    if book.duplicate_sheets:
        r = rule("XT003")
        detail = _("two sheets named {names}").format(names="、".join(dict.fromkeys(book.duplicate_sheets)))
        findings.append(Finding(code="XT003", severity=r.severity, message=r.message().format(detail=detail),
                                fix=r.fix(), instance="duplicate_sheets"))
    if not book.duplicate_names and not book.local_names:
        return
    ids = {f.id.casefold(): f.id for f in form.fields}
    r = rule("XT004")
    reported: set[str] = set()
    for name in book.duplicate_names:
        fid = ids.get(name.casefold())
        if fid is not None and fid not in reported:
            reported.add(fid)
            findings.append(Finding(code="XT004", severity=r.severity, fix=r.fix(), instance=f"{fid}!duplicate",
                                    message=r.message().format(name=fid, found=_("defined twice"))))
    for (title, name), text in book.local_names.items():
        fid = ids.get(name.casefold())
        if fid is not None and fid not in reported:  # a sheet-level name hides the workbook's there
            reported.add(fid)
            found = _("a second definition for sheet {sheet}: {text}").format(sheet=title, text=text)
            findings.append(Finding(code="XT004", severity=r.severity, fix=r.fix(), instance=f"{fid}!local",
                                    message=r.message().format(name=fid, found=found)))


# -- merged cells --------------------------------------------------------------------------

def _norm_range(text: str) -> str:
    return text.replace("$", "").upper().strip()


def _merges(form: Form, key: str, data: SheetData, findings: list[Finding]) -> None:
    if data.merges is None:
        return
    sheet = form.sheet(key)
    expected = {_norm_range(r) for r in sheet.merges}
    expected |= {_norm_range(f"{t.cell}:{t.merge_to}") for t in sheet.texts if t.merge_to}
    found = {_norm_range(r) for r in data.merges}
    added, removed = sorted(found - expected), sorted(expected - found)
    if not added and not removed:
        return
    parts = []
    if added:
        parts.append(_("merged {ranges}").format(ranges=_listed(added)))
    if removed:
        parts.append(_("unmerged {ranges}").format(ranges=_listed(removed)))
    inputs = [f for f in form.fields if f.sheet == key and f.is_input and any(_inside(f.cell, r) for r in added)]
    cells = [CellRef(field_id=f.id, sheet=sheet.title, cell=f.cell, label=f.label) for f in inputs[:20]]
    findings.append(_finding("XT030", f"{key}!merges", cells, where=sheet.title, detail="；".join(parts)))


@lru_cache(maxsize=65536)
def _bounds(rng: str) -> tuple[int, int, int, int] | None:
    first, _sep, last = rng.partition(":")
    a, b = _REF.match(first), _REF.match(last or first)
    if not a or not b:
        return None
    c1, r1, c2, r2 = col_index(a[1]), int(a[2]), col_index(b[1]), int(b[2])
    return min(c1, c2), min(r1, r2), max(c1, c2), max(r1, r2)


def _inside(cell: str, rng: str) -> bool:
    m, box = _REF.match(cell), _bounds(rng)
    if not m or box is None:
        return False
    col, row = col_index(m[1]), int(m[2])
    return box[0] <= col <= box[2] and box[1] <= row <= box[3]


def _sqref(text: str) -> Iterator[str]:
    for part in text.split():
        yield part


# -- data validation ---------------------------------------------------------------------------

def expected_validation(field) -> str:
    """The validation type the template gives an input field (see template.validation)."""
    from xltool.template.validation_types import validation_type

    return validation_type(field)


_PLANS: dict[tuple[int, str], tuple[Form, tuple]] = {}


def _validation_plan(form: Form, key: str) -> tuple[tuple[object, int, int, str], ...]:
    """(field, column, row, expected type) of every input field of sheet *key* (cached per form;
    the reference kept keeps id(form) from being reused)."""
    hit = _PLANS.get((id(form), key))
    if hit is not None and hit[0] is form:
        return hit[1]
    out = [(form.field(fid), col, row, want) for fid, col, row, want in _validation_rows(form).get(key, ())]
    if len(_PLANS) > 256:
        _PLANS.clear()
    _PLANS[(id(form), key)] = (form, tuple(out))
    return tuple(out)


def _validation_rows(form: Form) -> dict[str, tuple[tuple[str, int, int, str], ...]]:
    """Sheet key → (field id, column, row, expected type) of its input fields, in the form's order
    (kept in the derived cache, ``xltool.form.derived``)."""
    from xltool.form import derived

    stored = derived.load(form, "validation-plan")
    if isinstance(stored, dict) and all(isinstance(v, tuple) and all(r[0] in form.by_id for r in v)
                                        for v in stored.values()):
        return stored
    out: dict[str, list] = {}
    for f in form.fields:
        if f.is_input:
            m = _REF.match(f.cell)
            out.setdefault(f.sheet, []).append((f.id, col_index(m[1]), int(m[2]), expected_validation(f)))
    rows = {k: tuple(v) for k, v in out.items()}
    derived.store(form, "validation-plan", rows)
    return rows


@lru_cache(maxsize=4096)
def _areas(kind: str, sqref: str) -> tuple[frozenset[tuple[str, int, int]], tuple[tuple[str, tuple], ...]]:
    """The single cells and the ranges a validation's sqref covers (the same texts recur)."""
    single, boxes = set(), []
    for part in _sqref(sqref):
        box = _bounds(part.replace("$", "").upper())
        if box is None:
            continue
        if box[0] == box[2] and box[1] == box[3]:
            single.add((kind, box[0], box[1]))
        else:
            boxes.append((kind, box))
    return frozenset(single), tuple(boxes)


def _validations(form: Form, key: str, data: SheetData, findings: list[Finding]) -> None:
    single: set[tuple[str, int, int]] = set()
    boxes: list[tuple[str, tuple[int, int, int, int]]] = []
    for kind, sqref in data.validations or ():
        cells, ranges = _areas(kind, sqref)
        single |= cells
        boxes.extend(ranges)
    title = form.sheet_title(key)
    for f, col, row, want in _validation_plan(form, key):
        if (want, col, row) in single:
            continue
        if not any(kind == want and b[0] <= col <= b[2] and b[1] <= row <= b[3] for kind, b in boxes):
            findings.append(_finding("XT033", f"{f.id}!validation",
                                     [CellRef(field_id=f.id, sheet=title, cell=f.cell, label=f.label)],
                                     where=f"{title}!{f.cell}", label=f.label))


# -- cell protection ------------------------------------------------------------------------------

def _style_of(data: SheetData, ref: str) -> int:
    style = (data.styles or {}).get(ref)
    if style is None:
        m = _REF.match(ref)
        row, col = int(m[2]), col_index(m[1])
        style = (data.row_styles or {}).get(row)
        if style is None:
            for low, high, s in data.col_styles or ():
                if low.isdigit() and high.isdigit() and int(low) <= col <= int(high):
                    style = s
                    break
    try:
        return int(style or 0)
    except ValueError:
        return 0


_PROTECTION_PLANS: dict[tuple[int, str], tuple[Form, tuple, tuple]] = {}


def _protection_plan(form: Form, key: str) -> tuple[tuple, tuple]:
    """(cell, label, id, is an input, bureau-filled) of every field of sheet *key*, and (cell,
    text) of its fixed texts, in the form's order (cached per form, as ``_validation_plan``)."""
    hit = _PROTECTION_PLANS.get((id(form), key))
    if hit is not None and hit[0] is form:
        return hit[1], hit[2]
    fields = tuple((f.cell, f.label, f.id, f.role is Role.INPUT, bool(f.bureau_fill))
                   for f in form.fields if f.sheet == key)
    texts = tuple((t.cell, t.text[:40]) for t in form.sheet(key).texts)
    if len(_PROTECTION_PLANS) > 256:
        _PROTECTION_PLANS.clear()
    _PROTECTION_PLANS[(id(form), key)] = (form, fields, texts)
    return fields, texts


def _protection(form: Form, key: str, titles: dict[str, str], data: SheetData, locked: list[bool],
                prefilled: frozenset[str], findings: list[Finding]) -> None:
    styles, count = data.styles or {}, len(locked)
    memo: dict[str, bool] = {}

    def is_locked(ref: str) -> bool:
        style = styles.get(ref)
        if style is not None:
            known = memo.get(style)
            if known is not None:
                return known
        index = _style_of(data, ref)
        value = locked[index] if 0 <= index < count else True
        if style is not None:
            memo[style] = value
        return value

    title = titles[key]
    unlocked: list[tuple[str, str, str | None]] = []  # (cell, label, field id)
    locked_inputs: list[tuple[str, str, str | None]] = []
    fields, texts = _protection_plan(form, key)
    for cell, label, fid, is_input, bureau_fill in fields:
        if not is_input or fid in prefilled:
            if not is_locked(cell):
                unlocked.append((cell, label, fid))
        elif not bureau_fill and is_locked(cell):
            locked_inputs.append((cell, label, fid))
    for cell, text in texts:
        if not is_locked(cell):
            unlocked.append((cell, text, None))
    for found, text, kind in ((unlocked, _("cells the template locks are unlocked: {cells}"), "unlocked"),
                              (locked_inputs, _("input cells are locked: {cells}"), "locked")):
        if found:
            refs = [CellRef(field_id=fid, sheet=title, cell=cell, label=label) for cell, label, fid in found[:20]]
            detail = text.format(cells=_listed([cell for cell, _label, _fid in found]))
            findings.append(_finding("XT032", f"{key}!{kind}", refs, where=title, detail=detail))


# -- the 审核 sheet ----------------------------------------------------------------------------------

_CELL_F_RE = re.compile(rb'<c r="([A-Z]{1,3}\d+)"[^<>]*><f>([^<]*)</f>')
_PROT_RE = re.compile(rb"<(?:[A-Za-z_][\w.\-]{0,64}:)?sheetProtection\b[^<>]{0,4096}?\ssheet\s*=\s*[\"'](1|true)[\"']")
_LITERAL = lazy_compile(r'"([^"]*)"')
_NUMBER = lazy_compile(r"(?<![A-Z_$\d.])\d+(?:\.\d*)?(?:E[+-]?\d+)?")


_ACCEPTED: set[tuple[bytes, tuple]] = set()  # (digest of its formulas, expected) seen to match
_ACCEPTED_RAW: list[tuple[object, bytes]] = []  # (form key or expected, the sheet's bytes) seen to match, newest first


@lru_cache(maxsize=1)
def _severity_words() -> dict[str, str]:
    words = {"Must fix": "#E", "Needs explanation": "#W"}  # English: the msgids themselves
    t = translations("zh_CN")  # the default locale, loaded anyway
    words[t.gettext("Must fix")] = "#E"
    words[t.gettext("Needs explanation")] = "#W"
    return words


@lru_cache(maxsize=16384)
def norm_audit_formula(text: str | None) -> str:
    """A formula of the 审核 sheet as compared: the reader's normalisation, with the severity
    words (the language the template was made in) replaced by tokens."""
    from html import unescape

    words = _severity_words()
    text = _LITERAL.sub(lambda m: '"' + words.get(m[1], m[1]) + '"', unescape(text or ""))
    # Constants as spreadsheets rewrite them: LibreOffice saves 0.00005 as 5E-05.
    return _NUMBER.sub(lambda m: repr(float(m[0])), norm_formula(text))


@lru_cache(maxsize=16)
def _cells_of(expected: tuple[tuple[str, str], ...]) -> frozenset[bytes]:
    return frozenset(cell.encode("ascii") for cell, _formula in expected)


def expected_audit_formulas(form: Form) -> tuple[tuple[str, str], ...]:
    """(cell, normalised formula) of every formula the template's 审核 sheet holds, in order.
    Needed only when a sheet's formulas differ from the template's bytes (saved by another
    program, or changed): kept on disk like ``audit_expectation``."""
    from xltool.form import derived

    stored = derived.load(form, "audit-normalised")
    if isinstance(stored, tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in stored[:1]):
        return stored
    expected = tuple((cell, norm_audit_formula(formula[1:])) for cell, formula in expected_formulas(form))
    derived.store(form, "audit-normalised", expected)
    return expected


def _audit_sheet(form: Form, sheet: SheetData, strings: list[str], findings: list[Finding],
                 expected: tuple[tuple[str, str], ...] | None) -> None:
    if sheet.raw is None:  # parsed with the other sheets
        _audit_cells(sheet.cells, expected if expected is not None else expected_audit_formulas(form), findings)
        return
    raw = sheet.raw
    if expected is None:
        from xltool.form.derived import form_key

        key: object = form_key(form)
    else:
        key = expected
    # Unchanged sheets recur byte for byte in a batch: compared with the few accepted ones kept
    # (a length check and a memcmp cost far less than any digest of ~1 MB).
    for want, seen in _ACCEPTED_RAW:
        if (want is key or want == key) and seen == raw:
            return
    found = _CELL_F_RE.findall(raw)  # (cell, formula) in document order, as the template writes them
    if expected is None:
        # The template's own bytes: one digest, against the one derived from the form.
        digest, wanted = audit_expectation(form)
        if formulas_digest([(ref, text) for ref, text in found if ref in wanted]) == digest:
            _accept(key, raw)
            return
        expected = expected_audit_formulas(form)  # a mismatch: compare normalised, cell by cell
    wanted = _cells_of(expected)  # helper formulas elsewhere on the sheet are not compared
    quick = [(ref, text) for ref, text in found if ref in wanted]
    digest = (formulas_digest(quick), expected)
    if digest not in _ACCEPTED and not (len(quick) == len(expected) and all(
            ref.decode("ascii") == cell and norm_audit_formula(text.decode("utf-8", "replace")) == want
            for (ref, text), (cell, want) in zip(quick, expected))):
        # Anything else (shared formulas as Excel saves filled-down ones, other attribute
        # orders, or a change) is compared cell by cell.
        try:
            cells = parse_raw(sheet, strings).cells
        except ValueError:
            cells = {}
        _audit_cells(cells, expected, findings)
        return
    if len(_ACCEPTED) > 256:
        _ACCEPTED.clear()
    _ACCEPTED.add(digest)
    _accept(key, raw)


def _accept(key, raw: bytes) -> None:
    _ACCEPTED_RAW.insert(0, (key, raw))
    del _ACCEPTED_RAW[4:]


def _audit_cells(cells: dict, expected: tuple[tuple[str, str], ...], findings: list[Finding]) -> None:
    changed = []
    for ref, want in expected:
        data = cells.get(ref)
        if data is None or data.formula is None or norm_audit_formula(data.formula) != want:
            changed.append(ref)
    if changed:
        detail = _("{count} formula(s) replaced or changed: {cells}").format(count=len(changed), cells=_listed(changed))
        findings.append(_finding("XT031", "audit_sheet",
                                 [CellRef(sheet=AUDIT_SHEET, cell=ref, label=AUDIT_SHEET) for ref in changed[:20]], detail=detail))
