"""审核汇总.xlsx and 汇总数据.csv: the round's outcome for the bureau, from an AuditOutcome.

Sheets: 汇总 (one row per unit), 问题明细 (every finding, filterable), 未提交, 异常文件, 变化
(fixed / new / still open since the last round), 全部数据 (every field of every unit) and
图表 (native Excel bar charts: 执行率 and 总分 distributions, findings by rule and its title).

Printed, every sheet is A4 landscape one page wide with its header row repeated, long texts
wrapped, the title, year and audit date at the top of each page and the page numbers at the
bottom; 全部数据 (a thousand columns) is not printed (its print area is an empty cell). Every
figure is a number cell with a number format, never text.

Text that comes from a workbook is always written as a string cell and through
``safe_text`` (a leading = + - @ gets an apostrophe), so it can never turn into a formula;
the CSV escapes such cells the same way. The CSV has one header row, the Chinese labels,
and a BOM so that Excel opens it as UTF-8.

全部数据 holds about a thousand columns per unit. openpyxl needs seconds for a sheet that
size, so the workbook is written by openpyxl with that sheet's two header rows only, and
its data rows are then spliced into the sheet's XML as inline-string and number cells.
Given a process pool, openpyxl's part runs in a worker while the rows are rendered here.
"""

from __future__ import annotations

from xltool.atomic import write_atomic

import csv
import io
import marshal
import re
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import lru_cache
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.worksheet.pagebreak import Break
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from xltool.audit.model import KEY_FIGURES, AuditOutcome, Status, UnitResult
from xltool.check.finding import Severity
from xltool.form.model import Form
from xltool.i18n import _
from xltool.report.terminal import cells_text
from xltool.template.styles import FAIL_RGB, WARN_RGB
from xltool.report.xlsx_list import (COUNT_FORMAT, HEADER_FILL, NUMBER_FORMATS, SEVERITY_FILL, number_format,
                                     page_furniture, print_setup, row_height, safe_text, values_text)

STATUS_FILL = {
    Status.PASSED: PatternFill("solid", fgColor="C6EFCE"),
    Status.EXPLAIN: PatternFill("solid", fgColor=WARN_RGB),
    Status.FIX: PatternFill("solid", fgColor=FAIL_RGB),
    Status.BLANK: PatternFill("solid", fgColor="DDEBF7"),
    Status.UNREADABLE: PatternFill("solid", fgColor="D9D9D9"),
}
RATE_BINS = ((None, 0.6, "< 60%"), (0.6, 0.7, "60%–70%"), (0.7, 0.8, "70%–80%"), (0.8, 0.9, "80%–90%"),
             (0.9, 0.95, "90%–95%"), (0.95, 1.0000001, "95%–100%"), (1.0000001, None, "> 100%"))
SCORE_BINS = ((None, 60, "< 60"), (60, 70, "60–69"), (70, 80, "70–79"), (80, 90, "80–89"), (90, None, "≥ 90"))
# The cell styles of the 全部数据 numbers, registered first in every summary workbook so that the
# rows can be rendered (in this process) while openpyxl writes the rest (maybe in a worker).
DATA_FORMATS = tuple(dict.fromkeys(NUMBER_FORMATS.values()))
DATA_STYLES = {code: n for n, code in enumerate(DATA_FORMATS, start=1)}


def summary_name() -> str:
    return _("Audit summary") + ".xlsx"


def csv_name() -> str:
    return _("Consolidated data") + ".csv"


# -- helpers -------------------------------------------------------------------------------------

def _text_cell(ws, value: object) -> WriteOnlyCell:
    """A cell of a streamed sheet as xlsx_list.write_cell writes one: text never a formula."""
    cell = WriteOnlyCell(ws, value=safe_text(value) if isinstance(value, str) else value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text says
    return cell


def _header(ws, headers: list[str], widths: list[float] | None = None, height: float | None = None) -> None:
    """Append the bold header row; with *widths*, size the columns (before the first row) and the row."""
    if widths:
        for col in range(1, len(headers) + 1):
            ws.column_dimensions[get_column_letter(col)].width = widths[col - 1] if col - 1 < len(widths) else 14
        height = row_height(headers, tuple(widths))
    cells = []
    for head in headers:
        cell = WriteOnlyCell(ws, value=head)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        cells.append(cell)
    _append(ws, cells, height)


def _append(ws, cells: list, height: float | None = None) -> None:
    """Append a row to a streamed sheet, *height* points high (the row's size is written with it)."""
    row = ws.__dict__.get("_xltool_rows", 0) + 1  # a write-only sheet does not count its rows
    ws.__dict__["_xltool_rows"] = row
    if cells:  # the extent of the cells, as openpyxl states it for a sheet it holds
        ws.__dict__["_xltool_columns"] = max(ws.__dict__.get("_xltool_columns", 1), len(cells))
        ws.__dict__["_xltool_last"] = row
    if height is not None:
        ws.row_dimensions[row].height = height
    ws.append(cells)
    if height is not None:
        del ws.row_dimensions[row]  # written: not kept for every row of a long table


def _table(ws, headers: list[str], rows: Iterable[list[object] | tuple[list[object], dict]], widths: list[float],
           formats: dict[int, str] | None = None) -> int:
    """A filterable table, streamed: bold header, frozen, every text a string cell, wrapped at the
    top of a row tall enough for it; *formats*: the number format of each numeric column (1-based).
    A row may come as (values, {column: {attribute: value}}) to style single cells (a fill, a
    number format). Returns the number of rows."""
    ws.freeze_panes = "A2"
    _header(ws, headers, widths)
    wrap = Alignment(wrap_text=True, vertical="top")
    widths_key = tuple(widths)
    n = 0
    for n, row in enumerate(rows, start=1):
        values, extra = row if isinstance(row, tuple) else (row, None)
        cells = []
        for c, value in enumerate(values, start=1):
            cell = _text_cell(ws, value)
            cell.alignment = wrap
            if formats and c in formats:
                cell.number_format = formats[c]
            if extra and c in extra:
                for name, setting in extra[c].items():
                    setattr(cell, name, setting)
            cells.append(cell)
        _append(ws, cells, row_height(values, widths_key))
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(1, n + 1)}"
    return n


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _bin(value: float | None, bins) -> str | None:
    if value is None:
        return None
    for low, high, label in bins:
        if (low is None or value >= low) and (high is None or value < high):
            return label
    return None


def dataset_fields(outcome: AuditOutcome) -> list:
    """The form whose fields name the dataset's columns (the year most units filled)."""
    form = dataset_form(outcome)
    return list(form.fields) if form else []


def dataset_form(outcome: AuditOutcome) -> Form | None:
    """The form whose fields name the dataset's columns: that of the year, scoring and pack most
    units' readable, filled-in workbooks state (read from their identity headers)."""
    from xltool.form.scoring import ScoringConfig
    from xltool.form.selfeval import build_form

    keys = Counter((u.submission.header.get("year"), u.submission.header.get("scoring", "{}"),
                    u.submission.header.get("form") or "")
                   for u in outcome.units if u.submission is not None and u.submission.readable
                   and not u.submission.blank and u.submission.header.get("year"))
    if not keys:
        return build_form(outcome.year) if outcome.year else None
    (year, scoring, form_id), _n = keys.most_common(1)[0]
    try:
        cfg = ScoringConfig.from_json(scoring)
    except ValueError:
        cfg = None
    try:
        return build_form(int(year), cfg, form_id or None)
    except ValueError:  # a pack no longer registered: the default form's columns
        return build_form(int(year), cfg)


class Rows:
    """The dataset's rows, kept in a temporary file rather than in memory (a round of 10,000
    units holds millions of values): appended one at a time, read back in order as often as
    needed. Values are plain (text, numbers, booleans, None) and come back exactly."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="xltool-dataset-")
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(self, row: list[object]) -> None:
        # Each row with its length before it: read back with one read (marshal.load on a file
        # reads it piece by piece, 80 times slower).
        data = marshal.dumps(row)
        self._file.seek(0, 2)
        self._file.write(len(data).to_bytes(4, "little") + data)
        self._count += 1

    def __iter__(self) -> Iterator[list[object]]:
        position = 0
        for _n in range(self._count):  # each reader keeps its own place
            self._file.seek(position)
            size = int.from_bytes(self._file.read(4), "little")
            row = marshal.loads(self._file.read(size))
            position += 4 + size
            yield row


class Dataset:
    """全部数据 and 汇总数据.csv: a row per unit with a readable workbook, every field of the
    dataset form. Rows are added one unit at a time (``add``), while the unit's values are at
    hand, and kept as a compact list each, so the round need not keep every unit's values."""

    def __init__(self, outcome: AuditOutcome) -> None:
        form = dataset_form(outcome)
        fields = list(form.fields) if form else []
        self.ids = ["unit", "unit_code", "file", "status"] + [f.id for f in fields]
        self.labels = [_("Unit name"), _("Unit code"), _("File"), _("Review result")]
        if form:
            self.labels += [f"{form.sheet_title(f.sheet)} {f.label}" for f in fields]
        self.field_ids = [f.id for f in fields]
        self.integer = [i for i, f in enumerate(fields, start=4) if f.kind.value == "integer"]
        kinds = ["year" if f.id == "info_year" else f.kind.value for f in fields]
        self.formats = [None] * 4 + [NUMBER_FORMATS.get(kind) for kind in kinds]
        self.rows = Rows()

    def add(self, u: UnitResult) -> None:
        """The unit's row (its status final, its values loaded), when it has a readable workbook."""
        if not u.has_report:
            return
        row = [u.unit, u.code, u.submission.name if u.submission else "", u.status.label]
        row += [round(v, 6) if type(v) is float else v for v in map(u.values.get, self.field_ids)]
        for i in self.integer:
            if type(row[i]) is float and row[i].is_integer():
                row[i] = int(row[i])
        self.rows.append(row)

    def keep(self, outcome: AuditOutcome) -> None:
        outcome.dataset = (self.ids, self.labels, self.rows, self.formats)


def summary_values(values: dict) -> dict:
    """The figures the summary sheets, charts and desk read of a unit (the dataset has the rest)."""
    return {k: v for k, v in values.items() if k in _SUMMARY_VALUES}


def dataset_rows(outcome: AuditOutcome) -> tuple[list[str], list[str], Rows]:
    """(field ids, labels, one row per unit with a readable workbook); computed once per outcome."""
    if outcome.dataset is not None:
        return outcome.dataset[:3]
    dataset = Dataset(outcome)
    for u in outcome.units:
        dataset.add(u)
    dataset.keep(outcome)
    return dataset.ids, dataset.labels, dataset.rows


def dataset_formats(outcome: AuditOutcome) -> list[str | None]:
    """The number format of each dataset column (None: a text column)."""
    dataset_rows(outcome)
    return outcome.dataset[3]  # type: ignore[index]


def _tidy(value: object) -> object:
    """A figure as a bureau wants it in a table: no float noise from sums (1e-6 is far below a
    cent or a basis point)."""
    return round(value, 6) if isinstance(value, float) else value


# -- the workbook --------------------------------------------------------------------------------

def write_summary(outcome: AuditOutcome, out: Path) -> Path:
    """Write 审核汇总.xlsx."""
    return SummaryWriter(outcome).write(out)


class SummaryWriter:
    """审核汇总.xlsx in two halves that can run side by side: given a process *pool*, openpyxl
    builds the workbook (every sheet but the 全部数据 data rows) in a worker from the moment the
    writer is created, while this process goes on (per-unit outputs, the CSV) and then renders
    the data rows and splices them in (``write``)."""

    def __init__(self, outcome: AuditOutcome, pool=None, folder: Path | None = None) -> None:
        self.outcome = outcome
        self.ids, self.labels, self.rows = dataset_rows(outcome)
        self.future = None
        # The package goes to a file (in *folder*, e.g. the round's work folder), never through memory.
        self.folder = Path(tempfile.mkdtemp(prefix="xltool-summary-", dir=folder))
        if pool is not None and outcome.units:
            try:
                self.future = pool.submit(summary_package, _for_summary(outcome), self.ids, self.labels,
                                          len(self.rows), None, str(self.folder / "worker.xlsx"))
            except Exception:  # noqa: BLE001 - a broken pool: ``write`` builds it here
                self.future = None

    def write(self, out: Path) -> Path:
        import shutil

        try:
            package = None
            if self.future is not None:
                try:
                    package, index = self.future.result()
                except Exception:  # noqa: BLE001 - a lost worker must not lose the summary: build it here
                    package = None
            if package is None:
                package, index = summary_package(self.outcome, self.ids, self.labels, len(self.rows),
                                                 target=str(self.folder / "here.xlsx"))
            formats = dataset_formats(self.outcome)
            return write_atomic(out, lambda tmp: _splice_rows(
                package, index, _rows_xml(self.rows, first_row=3, formats=formats, width=len(self.ids)), tmp,
                rows=len(self.rows), first_row=3, columns=len(self.ids)))
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


_SUMMARY_VALUES = frozenset({fid for fid, _label, _kind in KEY_FIGURES} | {"eval_exec_rate", "eval_total_score"})


def _for_summary(outcome: AuditOutcome) -> AuditOutcome:
    """A copy holding only what the summary sheets read, so that it pickles quickly: no report
    (the worker reads each unit's back from the round's store when its findings are written);
    units stored in the round's database (unitstore) are sent as the database's name."""
    import copy
    from dataclasses import replace

    if hasattr(outcome.units, "detach"):  # StoredUnits: the worker reads them from the database
        return replace(outcome, dataset=None)
    units = []
    for u in outcome.units:
        light = copy.copy(u)  # not dataclasses.replace: that would read the report back
        light.values = summary_values(u.values)
        light.outputs, light.reports = [], []
        if light.finding_keys:
            light.finding_keys = None  # some: listed from the report, read back then
        s = u.submission
        if s is not None:
            light.submission = replace(s, header={k: s.header[k] for k in ("template_version", "blank") if k in s.header},
                                       path=None)
        units.append(light)
    return replace(outcome, units=units, dataset=None)


def summary_title(outcome: AuditOutcome) -> str:
    if outcome.year:
        return _("Audit summary of the {year} self-evaluations").format(year=outcome.year)
    return _("Audit summary of the self-evaluations")


def summary_package(outcome: AuditOutcome, ids: list[str], labels: list[str], rows: int,
                    today: date | None = None, target: str | None = None) -> tuple[bytes | str, int]:
    """The workbook with every sheet but the 全部数据 data rows, and that sheet's index; with
    *target*, written to that file (its name returned), parts copied a piece at a time.

    Written by openpyxl in write-only mode: each sheet's rows go to a temporary file as they are
    made, and each unit's report is read back (from the round's store) only while its findings
    are written, so memory does not grow with the number of units."""
    wb = Workbook(write_only=True)
    audited = _("Audited on {date}").format(date=(today or date.today()).isoformat())
    title = summary_title(outcome)

    def sheet(name: str, title_rows: str | None = "1:1"):
        ws = wb.create_sheet(name)
        # Set before the first row: openpyxl writes the sheet's head (page fit, columns) with it.
        print_setup(ws, title_rows, landscape=True)
        page_furniture(ws, f"{title} · {name}", audited)
        return ws

    ws = sheet(_("Summary"))
    # Register the 全部数据 number styles first, where the rendered rows expect them.
    for code in DATA_FORMATS:
        cell = WriteOnlyCell(ws)
        cell.number_format = code
        if cell.style_id != DATA_STYLES[code]:
            raise RuntimeError("the dataset's number styles are not where the rows expect them")
    _summary_sheet(ws, outcome)
    by_rule = _findings_sheet(sheet(_("Findings")), outcome)
    _missing_sheet(sheet(_("Not submitted")), outcome)
    _anomalies_sheet(sheet(_("Problem files")), outcome)
    _changes_sheet(sheet(_("Changes")), outcome)
    data_title = _("All data")
    data_ws = sheet(data_title, None)
    # Its print area is an empty cell beyond the data: nothing to print, no page (Excel and
    # LibreOffice leave out an empty page); the CSV is the same data for other uses.
    data_ws.print_area = f"{get_column_letter(len(ids) + 2)}1"
    for col in range(1, len(ids) + 1):
        data_ws.column_dimensions[get_column_letter(col)].width = 16
    data_ws.freeze_panes = "E3"
    head = []
    for fid in ids:
        cell = WriteOnlyCell(data_ws, value=fid)
        cell.font = Font(bold=True)
        head.append(cell)
    _append(data_ws, head)
    second = []
    for label in labels:
        cell = WriteOnlyCell(data_ws, value=label)
        cell.fill = HEADER_FILL
        second.append(cell)
    _append(data_ws, second)
    if rows:
        data_ws.auto_filter.ref = f"A2:{get_column_letter(len(ids))}{rows + 2}"
    charts = sheet(_("Charts"), None)
    # A table and its chart side by side fit the width at 100 %; a manual break after each (fit-to-page
    # would ignore the breaks).
    charts.sheet_properties.pageSetUpPr.fitToPage = False
    charts.page_setup.scale = 100
    _charts_sheet(charts, outcome, by_rule)
    wb.properties.title = title
    dims = [f"A1:{get_column_letter(ws.__dict__.get('_xltool_columns', 1))}{ws.__dict__.get('_xltool_last', 1)}"
            for ws in wb.worksheets]
    index = wb.sheetnames.index(data_title)
    if target is None:
        buffer = io.BytesIO()
        wb.save(buffer)
        out = io.BytesIO()
        _with_dimensions(io.BytesIO(buffer.getvalue()), out, dims)
        return out.getvalue(), index
    raw = target + ".raw"
    try:
        wb.save(raw)
        _with_dimensions(raw, target, dims)
    finally:
        Path(raw).unlink(missing_ok=True)
    return target, index


PART_CHUNK = 1 << 16  # bytes of a part copied at a time


def _copy_part(zin: zipfile.ZipFile, info: zipfile.ZipInfo, zout: zipfile.ZipFile, edit=None) -> None:
    """Copy one part a piece at a time; *edit* may change its first piece."""
    import copy

    with zin.open(info) as src, zout.open(copy.copy(info), "w") as dst:
        head = src.read(PART_CHUNK)
        dst.write(edit(head) if edit is not None else head)
        while chunk := src.read(PART_CHUNK):
            dst.write(chunk)


def _with_dimensions(package, out, dims: list[str]) -> None:
    """Copy *package* to *out* (files or file objects) with each sheet's <dimension> (which
    openpyxl's write-only mode leaves out, as it writes the rows after it): readers that go by
    it, e.g. openpyxl's read-only mode, see every row as wide as the table. The element follows
    </sheetPr>, at the head of the part."""
    with zipfile.ZipFile(package) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            m = re.fullmatch(r"xl/worksheets/sheet(\d+)\.xml", info.filename)
            edit = None
            if m and int(m.group(1)) <= len(dims):
                ref = dims[int(m.group(1)) - 1].encode()

                def edit(head: bytes, ref: bytes = ref) -> bytes:
                    if b"<dimension " in head:
                        return head
                    return head.replace(b"</sheetPr>", b'</sheetPr><dimension ref="%s"/>' % ref, 1)
            _copy_part(zin, info, zout, edit)


def _version(u: UnitResult) -> str:
    if u.__dict__.get("_report") is not None:  # a report in memory (a unit built outside a round)
        return u.report.template_version or ""  # type: ignore[union-attr]
    return (u.submission.header.get("template_version") if u.submission and u.submission.readable else "") or ""


def _summary_sheet(ws, outcome: AuditOutcome) -> None:
    headers = [_("No."), _("Unit name"), _("Unit code"), _("Department"), _("File"), _("Template version"),
               _("Review result"), Severity.ERROR.label, Severity.WARNING.label]
    headers += [_(label) for _fid, label, _kind in KEY_FIGURES]
    headers += [_("Compared with the last round"), _("Note")]

    def rows() -> Iterator[tuple[list[object], dict]]:
        for n, u in enumerate(outcome.units, start=1):
            row: list[object] = [n, u.unit, u.code, u.department, u.submission.name if u.submission else "",
                                 _version(u), u.status.label,
                                 u.errors if u.has_report else None, u.warnings if u.has_report else None]
            row += [_tidy(_num(u.values.get(fid))) for fid, _label, _kind in KEY_FIGURES]
            row += [u.changes.summary() if u.changes else "", u.note]
            yield row, {7: {"fill": STATUS_FILL[u.status]}}

    # Narrow enough to print one A4 landscape page wide at a readable size; long texts wrap.
    widths = [5, 20, 9, 8, 16, 6, 8, 6, 6, 11, 11, 8, 9, 7, 14, 22]
    first_figure = 10
    formats = {1: COUNT_FORMAT, 8: COUNT_FORMAT, 9: COUNT_FORMAT}
    formats.update({first_figure + k: number_format(kind) for k, (_fid, _label, kind) in enumerate(KEY_FIGURES)})
    _table(ws, headers, rows(), widths, formats)
    _append(ws, [])
    line = _text_cell(ws, summary_line(outcome))
    line.font = Font(bold=True)
    _append(ws, [None, line])


def _findings_sheet(ws, outcome: AuditOutcome) -> Counter:
    """Every finding of every unit, each unit's report read back in turn; the findings by rule."""
    headers = [_("Unit name"), _("Unit code"), _("File"), _("Rule"), _("Severity"), _("Cells"), _("Problem"),
               _("Values involved"), _("Difference"), _("Where the difference comes from"), _("What to do")]
    by_rule: Counter = Counter()

    def rows() -> Iterator[tuple[list[object], dict]]:
        for u in outcome.units:
            if not u.has_report or u.finding_keys == []:  # none to list: not read back
                continue
            report = u.report
            for f in report.findings:  # type: ignore[union-attr]
                by_rule[f.code] += 1
                yield ([u.unit, u.code, u.submission.name if u.submission else "", f.code, f.severity.label,
                        cells_text(f, limit=4), f.message, values_text(f), f.difference,
                        "\n".join(f.attribution), f.fix],
                       {5: {"fill": SEVERITY_FILL[f.severity]}, 9: {"number_format": number_format(f.kind)}})
            report = None  # let go of it before the next is read

    widths = [11, 8, 11, 7, 8, 13, 25, 31, 10, 24, 18]  # one A4 landscape page wide, wrapped
    _table(ws, headers, rows(), widths)
    return by_rule


def _missing_sheet(ws, outcome: AuditOutcome) -> None:
    headers = [_("Unit name"), _("Unit code"), _("E-mail address"), _("Department")]
    rows = ([u.name, u.code, u.email, u.department] for u in outcome.not_submitted)
    _table(ws, headers, rows, [36, 12, 32, 16])


def _anomalies_sheet(ws, outcome: AuditOutcome) -> None:
    headers = [_("File"), _("Problem type"), _("Reason and what to do"), _("Unit name"), _("Unit code"), _("File kept")]
    rows = ([a.source, a.kind.label, a.message, a.unit, a.code, a.kept] for a in outcome.anomalies)
    _table(ws, headers, rows, [30, 10, 58, 18, 9, 26])


def change_rows(outcome: AuditOutcome) -> list[list[object]]:
    rows = []
    for u in outcome.units:
        if u.changes is None or u.changes.first:
            continue
        for label, items in ((_("Fixed"), u.changes.fixed), (_("New"), u.changes.new), (_("Still open"), u.changes.still)):
            for item in items:
                severity = Severity(item["severity"]).label if item.get("severity") in ("error", "warning") else ""
                rows.append([u.unit, u.code, label, item["key"].split(":", 1)[0], item["key"], severity, item.get("message", "")])
    return rows


def _changes_sheet(ws, outcome: AuditOutcome) -> None:
    headers = [_("Unit name"), _("Unit code"), _("Change"), _("Rule"), _("Finding key"), _("Severity"), _("Problem")]
    _table(ws, headers, change_rows(outcome), [20, 9, 7, 7, 24, 8, 64])
    if outcome.previous_run is None:
        _append(ws, [])
        _append(ws, [_("This is the first audit round: there is no earlier round to compare with.")])


CHART_SECTION_ROWS = 34  # rows of 15 pt (set explicitly): 510 pt of an A4 landscape page's 523 pt at 100 %


def _rule_label(code: str) -> str:
    """A rule as a chart names it: its code and title (XT301 同一数字多处填报不一致)."""
    from xltool.check.catalogue import RULES

    rule = RULES.get(code)
    return f"{code} {rule.title()}" if rule is not None else code


def _charts_sheet(ws, outcome: AuditOutcome, by_rule: Counter) -> None:
    """Three small tables and a bar chart beside each, one per printed page; *by_rule*: the
    number of findings of each rule (counted while the findings were written)."""
    rates: Counter = Counter()
    scores: Counter = Counter()
    for u in outcome.units:  # one pass, one unit at a time
        if u.has_report:
            rates[_bin(_num(u.values.get("eval_exec_rate")), RATE_BINS)] += 1
            scores[_bin(_num(u.values.get("eval_total_score")), SCORE_BINS)] += 1
    ws.column_dimensions["A"].width = 42  # the longest rule title (XT403, 42 units) on one line
    ws.column_dimensions["B"].width = 8
    ws.column_dimensions["C"].width = 1
    tables = (
        (_("Execution rate"), _("Units"), [(label, rates.get(label, 0)) for _lo, _hi, label in RATE_BINS],
         _("Distribution of execution rates (执行率)"), "col"),
        (_("Total score"), _("Units"), [(label, scores.get(label, 0)) for _lo, _hi, label in SCORE_BINS],
         _("Distribution of total scores (总分)"), "col"),
        (_("Rule"), _("Number of findings"), [(_rule_label(code), n) for code, n in sorted(by_rule.items())],
         _("Findings by rule"), "bar"),
    )
    row = 1
    for head, count_head, items, title, direction in tables:
        # Each chart on its own page: a page-high section of 15 pt rows ending in a break (LibreOffice
        # draws a chart on every page whose area it overlaps, so the next one must start beyond the page).
        end = row + max(len(items) + 2, CHART_SECTION_ROWS)
        _header(ws, [head, count_head], height=15)
        for label, count in items:
            label_cell = WriteOnlyCell(ws, value=label)
            label_cell.data_type = "s"
            count_cell = WriteOnlyCell(ws, value=count)
            count_cell.number_format = COUNT_FORMAT
            _append(ws, [label_cell, count_cell], 15)
        for _r in range(row + len(items) + 1, end):
            _append(ws, [], 15)
        chart = BarChart()
        chart.type = direction  # rules as horizontal bars: their titles are long
        chart.title = title
        chart.y_axis.title = count_head
        chart.x_axis.title = head
        chart.x_axis.delete = chart.y_axis.delete = False  # Excel hides an axis that does not say so
        chart.legend = None
        # The count on each bar, nothing else (LibreOffice shows the category and series names too
        # unless told not to).
        chart.dataLabels = DataLabelList(showVal=True, showCatName=False, showSerName=False, showLegendKey=False,
                                         showPercent=False)
        if direction == "bar":
            chart.x_axis.scaling.orientation = "maxMin"  # the first rule at the top, as in the table
            chart.x_axis.title = None  # the labels are the rules: a title would sit on the longest one
            chart.height, chart.width = min(17.0, max(7.5, 3 + 0.7 * len(items))), 12
        else:
            chart.height, chart.width = 7.5, 12
        if items:
            data = Reference(ws, min_col=2, min_row=row, max_row=row + len(items))
            cats = Reference(ws, min_col=1, min_row=row + 1, max_row=row + len(items))
            chart.add_data(data, titles_from_data=True)
            chart.set_categories(cats)
        ws.add_chart(chart, f"D{row + 1}")
        row = end
        ws.row_breaks.append(Break(id=row - 1))


# -- the summary line ------------------------------------------------------------------------------

def _unreadable_files(outcome: AuditOutcome) -> int:
    """Files that could not be checked (the 异常文件 of those kinds: unreadable, not the template, a
    PDF or other type), never 0 beside five broken files."""
    return max(outcome.count(Status.UNREADABLE), outcome.unread_files)


def summary_line(outcome: AuditOutcome) -> str:
    parts = [_("{files} files, {units} units: passed {passed}, explanation needed {explain}, must be fixed {fix}, "
               "unreadable {unreadable}").format(
        files=outcome.files, units=len(outcome.units), passed=outcome.count(Status.PASSED),
        explain=outcome.count(Status.EXPLAIN), fix=outcome.count(Status.FIX), unreadable=_unreadable_files(outcome))]
    if outcome.count(Status.BLANK):
        parts.append(_("returned blank (not filled in) {n}").format(n=outcome.count(Status.BLANK)))
    if outcome.not_submitted:
        parts.append(_("not submitted {n}").format(n=len(outcome.not_submitted)))
    problem_files = len(outcome.anomalies)
    if problem_files:
        parts.append(_("problem files {n}").format(n=problem_files))
    if outcome.clutter:
        parts.append(_("system files skipped {n} (lock files, Thumbs.db and the like)").format(n=outcome.clutter))
    if outcome.previous_run is not None:
        fixed, new, still = outcome.changes_total
        parts.append(_("since the last round: fixed {fixed}, new {new}, still open {still}").format(
            fixed=fixed, new=new, still=still))
    if outcome.cross_year:
        parts.append(outcome.cross_year)
    return "；".join(parts)


# -- CSV -------------------------------------------------------------------------------------------

def csv_safe(value: object) -> object:
    """A text cell that a spreadsheet would read as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_csv(outcome: AuditOutcome, out: Path) -> Path:
    _ids, labels, rows = dataset_rows(outcome)

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:  # row by row: no copy of the whole table
            writer = csv.writer(fh, lineterminator="\r\n")
            writer.writerow([csv_safe(v) for v in labels])  # one header row: what a person reads (全部数据 has the ids)
            # (the csv module writes None as an empty field)
            writer.writerows([csv_safe(v) if type(v) is str else v for v in row] for row in rows)

    return write_atomic(out, write)


# -- package surgery for the big sheet ---------------------------------------------------------------

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_INF = float("inf")


def _cell_xml(ref: str, value: object, style: str = "") -> str:
    """One cell of 全部数据; *style* (' s="n"') formats a number, never a text."""
    if type(value) is float and value == value and value not in (_INF, -_INF):
        return f'<c r="{ref}"{style}><v>{value!r}</v></c>'
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            value = str(value)
        else:
            return f'<c r="{ref}"{style}><v>{repr(float(value)) if isinstance(value, float) else value}</v></c>'
    text = _ILLEGAL.sub("", str(safe_text(str(value))))
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{ref}" t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'


@lru_cache(maxsize=2048)  # bounded: the memory of a round must not grow with its units
def _text_xml(value: str) -> str:
    """What follows the reference of a text cell of 全部数据 (many texts recur from unit to unit)."""
    return _cell_xml("", value)[len('<c r=""'):]


ROWS_PER_CHUNK = 16  # rows rendered at a time when streamed into the package (a row of 全部数据 is a thousand cells: 200 rows at a time held 80 MB)


def _rows_xml(rows: Iterable[list[object]], *, first_row: int, formats: list[str | None] | None,
              width: int) -> Iterator[bytes]:
    """The <row> elements of 全部数据, numbered from *first_row*, in chunks of ``ROWS_PER_CHUNK``
    rows; *formats*: each column's number format (one of DATA_FORMATS, registered by
    summary_package), None for text."""
    letters = [get_column_letter(c) for c in range(1, width + 1)]
    styles = [f' s="{DATA_STYLES[code]}"' if code else "" for code in (formats or [])]
    styles += [""] * (width - len(styles))
    parts: list[str] = []
    append = parts.append
    for r, row in enumerate(rows, start=first_row):
        append(f'<row r="{r}">')
        for c, value in enumerate(row):
            if value is None:
                continue
            kind = type(value)
            # The common cells written here directly (as _cell_xml writes them), the rest by it.
            if kind is float and value - value == 0:  # finite
                append(f'<c r="{letters[c]}{r}"{styles[c]}><v>{value!r}</v></c>')
            elif kind is int:
                append(f'<c r="{letters[c]}{r}"{styles[c]}><v>{value}</v></c>')
            elif kind is str:
                if value:
                    append(f'<c r="{letters[c]}{r}"{_text_xml(value)}')
            else:
                append(_cell_xml(f"{letters[c]}{r}", value, styles[c]))
        append("</row>")
        if (r - first_row) % ROWS_PER_CHUNK == ROWS_PER_CHUNK - 1:
            yield "".join(parts).encode("utf-8")
            parts.clear()  # in place: ``append`` is bound to this list
    if parts:
        yield "".join(parts).encode("utf-8")


def _splice_rows(package: bytes | str, sheet_index: int, data: Iterable[bytes], out: Path, *, rows: int, first_row: int,
                 columns: int) -> None:
    """Write *package* (openpyxl's, its bytes or its file's name) to *out* with the rendered rows *data* (chunks of XML, read
    once, as they come) inserted into the sheet at *sheet_index* (0-based)."""
    part = f"xl/worksheets/sheet{sheet_index + 1}.xml"  # openpyxl names sheets in order
    if isinstance(package, bytes):
        package = io.BytesIO(package)
    if not rows:
        import shutil

        if isinstance(package, io.BytesIO):
            Path(out).write_bytes(package.getvalue())
        else:
            shutil.copyfile(package, out)
        return
    with zipfile.ZipFile(package) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename != part:
                _copy_part(zin, info, zout)
                continue
            xml = zin.read(part)
            end = xml.rfind(b"</sheetData>")
            if end < 0:
                raise ValueError("no sheetData in the dataset sheet")
            last = f"{get_column_letter(columns)}{first_row + rows - 1}".encode()
            head = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:' + last + b'"', xml[:end], count=1)
            entry = zipfile.ZipInfo(part, date_time=info.date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry._compresslevel = 1  # level 1: almost as small, three times faster
            with zout.open(entry, "w") as sheet:
                sheet.write(head)
                for chunk in data:
                    sheet.write(chunk)
                sheet.write(xml[end:])


__all__ = ["write_summary", "SummaryWriter", "write_csv", "summary_line", "summary_name", "csv_name", "csv_safe", "dataset_rows"]
