"""Fill a template's input cells by field id from a YAML or JSON data file.

Everything is validated before anything is written: an unknown id, a value of the wrong
type or a value aimed at a computed or locked cell stops the fill with a Chinese message
naming the id, and the output file is not created.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import yaml

from xltool.form.model import Field, Form, Kind, Role
from xltool.i18n import _


class FillError(ValueError):
    """Data that cannot go into the template; ``problems`` lists every one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_data(path: Path) -> dict[str, object]:
    """The ``values`` mapping of a data file (or the whole file when it has none)."""
    from xltool.usererrors import describe

    try:
        text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text) if Path(path).suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise FillError([_("The data file {path} cannot be parsed: {error}").format(path=path, error=describe(exc))]) from None
    if not isinstance(data, dict):
        raise FillError([_("The data file {path} must hold a mapping of field ids to values.").format(path=path)])
    values = data.get("values", data)
    if not isinstance(values, dict):
        raise FillError([_("The data file {path} must hold a mapping of field ids to values.").format(path=path)])
    return values


def coerce(field: Field, value: object) -> object:
    """The cell value for *field*, or raise ValueError with the reason (Chinese)."""
    if value is None or value == "":
        return None
    kind = field.kind
    if kind in (Kind.AMOUNT, Kind.RATE, Kind.NUMBER, Kind.INTEGER):
        if isinstance(value, str) and value in field.choices:
            return value
        if kind is Kind.NUMBER and field.choices and isinstance(value, str) and value.strip():
            return value.strip()  # an indicator value as forms write it: ≥50个, 达成预期指标
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(_("a number is expected, got “{value}”").format(value=value))
        if kind is Kind.INTEGER and float(value) != int(value):
            raise ValueError(_("a whole number is expected, got {value}").format(value=value))
        return int(value) if kind is Kind.INTEGER else float(value)
    if kind is Kind.DATE:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise ValueError(_("a date such as 2024-03-31 is expected, got “{value}”").format(value=value)) from None
    if kind is Kind.CHOICE:
        if str(value) not in field.choices:
            raise ValueError(_("one of {choices} is expected, got “{value}”").format(
                choices="、".join(field.choices), value=value))
        return str(value)
    if isinstance(value, (dict, list)):
        raise ValueError(_("text is expected"))
    return str(value)


def validate(form: Form, values: dict[str, object]) -> dict[str, object]:
    """Coerced values by field id; raises FillError listing every problem."""
    problems: list[str] = []
    out: dict[str, object] = {}
    for fid, value in values.items():
        field = form.by_id.get(str(fid))
        if field is None:
            problems.append(_("{id}: no such field in the {year} template").format(id=fid, year=form.year))
            continue
        if field.role is not Role.INPUT:
            problems.append(_("{id} ({label}) is computed or set by the bureau and cannot be filled").format(
                id=fid, label=field.label))
            continue
        try:
            out[field.id] = coerce(field, value)
        except ValueError as exc:
            problems.append(f"{fid}（{field.label}）：{exc}")
    if problems:
        raise FillError(problems)
    return out


def fill_workbook(template: Path, values: dict[str, object], out: Path) -> Path:
    """Write *values* into a copy of *template* at *out* (atomically)."""
    import openpyxl

    from xltool.read.reader import identify
    from xltool.read import book as books
    from xltool.form.scoring import ScoringConfig
    from xltool.form.selfeval import build_form
    from xltool.template.cellvalue import put
    from xltool.template.writer import save_atomic

    meta = identify(books.from_xml(Path(template)))
    form = build_form(meta.year, ScoringConfig.from_json(meta.scoring) if meta.scoring else None,
                      meta.pack_ref)
    coerced = validate(form, values)
    data_year = coerced.get("info_year")
    if data_year is not None and int(data_year) != form.year:  # type: ignore[call-overload]
        raise FillError([_("The data are for {data_year} but the template is for {year}: use the {data_year} "
                           "template or correct 年度 in the data.").format(data_year=int(data_year), year=form.year)])
    wb = openpyxl.load_workbook(template)
    titles = {s.key: s.title for s in form.sheets}
    problems = []
    for fid, value in coerced.items():
        field = form.field(fid)
        cell = wb[titles[field.sheet]][field.cell]
        if cell.protection.locked and cell.value not in (None, value):
            problems.append(_("{id} ({label}) is locked in this template with “{current}”").format(
                id=fid, label=field.label, current=cell.value))
            continue
        put(cell, value)  # text that starts with "=" stays text, never a formula
        if isinstance(value, str):
            _grow_row(wb[titles[field.sheet]], field.cell, value)
    if problems:
        raise FillError(problems)
    return save_atomic(wb, Path(out))


def _grow_row(ws, ref: str, text: str) -> None:
    """A long text gets the row height it needs, as Excel gives it when typed (a file written here is not re-measured)."""
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.cell import range_boundaries

    from xltool.linebreak import break_lines, cells
    from xltool.template.writer import DEFAULT_WIDTH, LINE_HEIGHT

    bounds = next((r.bounds for r in ws.merged_cells.ranges if ref in r), None) or range_boundaries(f"{ref}:{ref}")
    min_col, min_row, max_col, max_row = bounds
    width = sum(ws.column_dimensions[get_column_letter(c)].width or DEFAULT_WIDTH for c in range(min_col, max_col + 1)) - 1
    measure = lambda t: 0.95 * cells(t)  # noqa: E731 - 10 pt 宋体 is a little narrower than two units
    if measure(text) <= width:
        return
    needed = len(break_lines(text, width, measure)) * LINE_HEIGHT + 4
    available = sum(ws.row_dimensions[r].height or 15.0 for r in range(min_row, max_row + 1))
    if needed > available:
        ws.row_dimensions[max_row].height = round((ws.row_dimensions[max_row].height or 15.0) + needed - available, 1)
