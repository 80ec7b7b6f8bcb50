"""自查: check one uploaded workbook in memory; keep nothing unless the unit presses 报送.

The upload is written to a private temporary folder under a fixed name (never the name the
user gave), read through the same safety gate as every other input (``check_path``), and
the folder is removed at once. The bytes and the report stay in memory for a short while
(``ResultCache``) so the page can offer the annotated copy and the 问题清单 for download,
and 报送 can store exactly the file that was checked.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from xltool.check.checker import check_path
from xltool.check.finding import Finding, Severity, WorkbookReport
from xltool.i18n import _
from xltool.read.safety import Limits, UnreadableWorkbook
from xltool.web.store import display_name, safe_ext


@dataclass
class Checked:
    token: str
    name: str  # what the user called the file (shown only)
    data: bytes
    sha256: str
    report: WorkbookReport | None
    unreadable: str = ""  # the Chinese sentence when the file cannot be read
    reason: str = ""
    created: float = field(default_factory=time.monotonic)
    submitted: bool = False
    embedded_code: str = ""  # the submission code in the template's hidden sheet, if the desk made it
    client: str = ""  # who checked it (the per-client share of the cache)
    receipt: object = None  # the Receipt once submitted (shown again, printable, while the result is kept)

    @property
    def is_report(self) -> bool:
        """A Word report (checked by xltool.word): it has an issue list but no annotated copy."""
        return self.name.lower().endswith(".docx")

    @property
    def stem(self) -> str:
        return self.name.rsplit(".", 1)[0] if "." in self.name else self.name


def _work_name(name: str) -> str:
    ext = safe_ext(name)
    return f"workbook.{ext if ext not in ('bin', 'zip') else 'xlsx'}"


def check_bytes(name: str, data: bytes, limits: Limits | None = None) -> Checked:
    """Check an uploaded workbook; an unreadable one gives a Checked with the reason, never an exception."""
    shown = display_name(name)
    sha = hashlib.sha256(data).hexdigest()
    token = secrets.token_urlsafe(18)
    with tempfile.TemporaryDirectory(prefix="xltool-web-") as tmp:
        work = Path(tmp) / _work_name(shown)
        work.write_bytes(data)
        try:
            if work.suffix == ".docx":  # a Word report: the same rules on the figures it states
                from xltool.word.check import check_document

                _ext, _values, report = check_document(work)
                embedded = ""
            else:
                result, report = check_path(work, limits=limits)
                embedded = str(result.meta.submit_code or "")[:40]
        except UnreadableWorkbook as exc:  # UnreadableReport too
            message = exc.message.replace(str(work), shown).replace(work.name, shown)
            # A Word report's reason is a plain string (legacy_doc, not_a_document), a workbook's an enum.
            reason = getattr(exc.reason, "value", exc.reason)
            return Checked(token, shown, data, sha, None, unreadable=message, reason=str(reason))
    report.path = shown
    return Checked(token, shown, data, sha, report, embedded_code=embedded)


def with_original(checked: Checked, write) -> bytes:
    """Run ``write(original_path, out_path)`` on a temporary copy of the checked file; the output's bytes."""
    with tempfile.TemporaryDirectory(prefix="xltool-web-") as tmp:
        original = Path(tmp) / _work_name(checked.name)
        original.write_bytes(checked.data)
        out = Path(tmp) / "out.xlsx"
        write(original, out)
        return out.read_bytes()


def annotated_bytes(checked: Checked) -> bytes:
    from xltool.report.annotate import annotate

    assert checked.report is not None
    return with_original(checked, lambda original, out: annotate(original, checked.report, out))


def issue_list_bytes(checked: Checked) -> bytes:
    from xltool.report.xlsx_list import write_issue_list

    assert checked.report is not None
    return with_original(checked, lambda _original, out: write_issue_list(checked.report, out))


class ResultCache:
    """Recent self-check results by token, in memory only, forgotten after *keep_seconds*.
    One client holds at most *per_client* of them (its oldest go first), so a flood from one
    computer cannot push out the results other units are about to submit."""

    def __init__(self, keep_seconds: float, max_items: int = 200, max_bytes: int = 400 * 1024 * 1024,
                 per_client: int = 10) -> None:
        self.keep, self.max_items, self.max_bytes, self.per_client = keep_seconds, max_items, max_bytes, per_client
        self._items: OrderedDict[str, Checked] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, checked: Checked) -> None:
        with self._lock:
            mine = [t for t, c in self._items.items() if c.client == checked.client]
            for token in mine[: max(0, len(mine) - self.per_client + 1)]:
                del self._items[token]
            self._items[checked.token] = checked
            self._expire()

    def get(self, token: str) -> Checked | None:
        with self._lock:
            self._expire()
            return self._items.get(token)

    def _expire(self) -> None:
        now = time.monotonic()
        for token in [t for t, c in self._items.items() if now - c.created > self.keep]:
            del self._items[token]
        total = sum(len(c.data) for c in self._items.values())
        while self._items and (len(self._items) > self.max_items or total > self.max_bytes):
            _token, oldest = self._items.popitem(last=False)
            total -= len(oldest.data)


# -- what the page shows ----------------------------------------------------------------------------------

@dataclass
class FindingView:
    n: int
    finding: Finding
    primary: list  # the cells the finding is about (at most two: both sides)
    more: list  # the inputs behind them

    @property
    def error(self) -> bool:
        return self.finding.severity is Severity.ERROR


# The place a Word report states a figure, as xltool.word.extract writes it: "第二部分第4段",
# "附件3 表格 第3行第5列", "封面第2段" (English: "Part 2 paragraph 4", "附件3 table row 3 column 5").
_PLACE = re.compile(r"^(?P<part>.+?)\s*(?:第\d+段|第\d+行第\d+列|paragraph \d+|row \d+ column \d+)$")


def place_of(cell) -> str:
    """Where a finding's cell is, as the person who wrote the file knows it: a Word report's own
    place (第二部分第4段, as ``xltool check-report`` cites it), else the workbook cell (收支情况!B37)."""
    return cell.where or f"{cell.sheet}!{cell.cell}"


def _part(report_place: str) -> str:
    if report_place.startswith(("（", "(")):  # computed, or not stated in the report
        return _("Figures the report does not state")
    m = _PLACE.match(report_place)
    return m.group("part").strip() if m else report_place


def _group_of(f: Finding) -> str:
    if not f.cells:
        return _("Whole workbook")
    stated = [c.where for c in f.cells if c.where]
    if stated:  # a Word report: by the part of the report
        return _part(next((w for w in stated if not w.startswith(("（", "("))), stated[0]))
    return f.cells[0].sheet


def cites_places(report: WorkbookReport | None) -> bool:
    """A Word report's findings cite places in the report, not workbook cells."""
    return report is not None and any(c.where for f in report.findings for c in f.cells)


def grouped(report: WorkbookReport) -> list[tuple[str, list[FindingView]]]:
    """Findings grouped by where their first cell is (a workbook's sheet, a Word report's part),
    in the order the groups first appear."""
    groups: dict[str, list[FindingView]] = {}
    for n, f in enumerate(report.findings, start=1):
        groups.setdefault(_group_of(f), []).append(FindingView(n, f, f.cells[:2], f.cells[2:]))
    return list(groups.items())
