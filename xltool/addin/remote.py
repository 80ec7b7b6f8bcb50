"""Apply a marking plan through xlwings' remote Book API (``xw.Book(json=payload)``).

Every write becomes an action in ``book.json()["actions"]`` that the client (Office.js,
VBA or Office Scripts) replays in Excel:

- fills: ``Range.color`` → ``setRangeColor`` (formatting is allowed on the protected sheets),
  always with a colour (see ``NO_FILL``);
- notes: ``Range.add_note`` / ``Note.delete`` → ``addNote`` / ``deleteNote``. xlwings 0.37.8
  supports them only for an Office.js client that reports the sheet's notes
  (``sheets[i]["notes"]``, ExcelApi 1.18). Threaded comments (``add_comment``) cannot be
  found again without a round trip to Excel, so old ones could never be removed: they are
  not used. Without notes support the cells are still coloured and every finding is in the
  审核 sheet's list;
- the result list: ``Range.value`` → ``setValues`` and ``clear_contents`` →
  ``rangeClearContents`` on 审核!K5:P304, the unlocked area.
"""

from __future__ import annotations

from contextvars import ContextVar

from xltool.addin.licence import ensure_licence

ensure_licence()

import xlwings as xw  # noqa: E402  (after the licence key)

from xltool.addin.engine import Outcome, check_payload  # noqa: E402
from xltool.addin.plan import MarkPlan  # noqa: E402
from xltool.form.scoring import ScoringConfig  # noqa: E402
from xltool.i18n import _  # noqa: E402

OFFICE_JS = "Office.js"
NO_FILL = "#FFFFFF"
# Set by xltool's own task pane (static/xltool-addin.js), which shows the summary itself.
# Any other client (xlwings Server's Office.js client, the VBA client) gets the summary as an
# ``alert`` action: the one way to reach the user that every xlwings client implements.
PANE_KEY = "xltool_pane"
# The scoring configuration of the running server, and the summary of the last check in
# this request: the xlwings script signature only carries the book.
CONFIG: ContextVar[ScoringConfig | None] = ContextVar("xltool_addin_config", default=None)
SUMMARY: ContextVar[dict | None] = ContextVar("xltool_addin_summary", default=None)


def _notes_supported(book: xw.Book, sheet: xw.Sheet) -> bool:
    api = sheet.api
    return (book.api.get("client") == OFFICE_JS and isinstance(api.get("notes"), list)
            and api.get("notes_supported") is not False)


def _address(text: str) -> str:
    return text.split("!")[-1].replace("$", "").upper()


def apply_remote(book: xw.Book, plan: MarkPlan) -> bool:
    """Queue the plan's actions on *book*; True when the notes could be written too."""
    sheets = {sheet.name: sheet for sheet in book.sheets}
    for block in plan.restore:
        sheet = sheets.get(block.sheet)
        if sheet is None:
            continue
        # Never null: xlwings Server's Office.js client calls args[0].toString() and its VBA
        # client's HexToRgb needs a colour; either stops the whole run half-way. A cell the
        # template leaves without fill gets white (it looks the same).
        sheet[block.ref].color = block.colour or NO_FILL
    notes = {title: _notes_supported(book, sheet) for title, sheet in sheets.items()}
    for title, cells in plan.managed.items():
        sheet = sheets.get(title)
        if sheet is None or not notes[title]:
            continue
        for entry in list(sheet.api.get("notes") or []):
            address = _address(str(entry.get("address", "")))
            if address in cells:
                note = sheet[address].note
                if note is not None:
                    note.delete()
    all_notes = True
    for mark in plan.marks:
        sheet = sheets.get(mark.sheet)
        if sheet is None:
            continue
        cell = sheet[mark.cell]
        cell.color = mark.colour
        if notes[mark.sheet]:
            if cell.note is not None:
                cell.note.delete()
            cell.add_note(mark.note)
        else:
            all_notes = False
    audit = sheets.get(plan.result.sheet)
    if audit is not None:
        if plan.result.filled_ref:
            audit[plan.result.filled_ref].value = plan.result.rows
        if plan.result.cleared_ref:
            audit[plan.result.cleared_ref].clear_contents()
    return all_notes


def run_remote(book: xw.Book, cfg: ScoringConfig | None = None) -> dict:
    """检查本表 on the book an xlwings client sent; returns the task pane summary."""
    outcome: Outcome = check_payload(book.api, cfg if cfg is not None else CONFIG.get())
    notes = apply_remote(book, outcome.plan) if outcome.plan is not None else None
    summary = outcome.summary(notes)
    pane = book.api.get(PANE_KEY) is True
    if notes is False and outcome.plan is not None and outcome.plan.marks:
        summary["notices"].append(_(
            "This Excel cannot add notes through the add-in (that needs Microsoft 365 with ExcelApi 1.18); "
            "the cells are coloured and every problem is listed on the 审核 sheet."
        ) if pane else _(
            "This add-in client cannot add notes; the cells are coloured and every problem is listed on the 审核 sheet."
        ))
    if not pane:
        # A message box in every xlwings client; xltool's task pane reads the summary instead.
        # Without it a workbook that is not ours would answer with no action at all.
        lines = [str(summary["message"]), *map(str, summary["notices"])]
        failing = outcome.status != "ok" or (outcome.plan is not None and outcome.plan.errors)
        book.app.alert("\n".join(lines), title=_("Check this workbook"), buttons="ok",
                       mode="critical" if failing else "info")
    SUMMARY.set(summary)
    return summary
