"""One template per unit of the roster: name, code and e-mail filled and locked, and with
last year's audit (``previous``) the {Y-1}年决算数 column of 附件2 prefilled from what the
unit reported as 决算数 a year earlier (专项资金 rows with their names)."""

from __future__ import annotations

import os
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from xltool.audit.roster import RosterUnit, load_roster
from xltool.form.model import Form
from xltool.form.scoring import ScoringConfig

_ZX_NAME = re.compile(r"^base_zx_(\d+)_name$")


def prefill_from_previous(form: Form, last_values: dict) -> dict[str, object]:
    """Input values for this year's template from last year's figures of the same unit."""
    values: dict[str, object] = {}
    for f in form.fields:
        if not f.is_input:
            continue
        if f.id.startswith("base_") and f.id.endswith("_prev"):
            last = last_values.get(f.id[: -len("_prev")] + "_final")
            if isinstance(last, (int, float)) and not isinstance(last, bool):
                values[f.id] = float(last)
        elif _ZX_NAME.match(f.id) and last_values.get(f.id):
            values[f.id] = str(last_values[f.id])  # the 专项 keeps its row, so its figure lines up
    return values


def template_filename(unit: RosterUnit, year: int) -> str:
    from xltool.safenames import file_name

    stem = "_".join(part for part in (unit.code, unit.name) if part)
    return file_name(stem, f"_{year}.xlsx", max_length=86)


def _write_one(year: int, cfg_json: str, name: str, code: str, email: str, password: str | None,
               prefill: dict[str, object], out: str, form_id: str | None = None, submit_code: str = "") -> str:
    from xltool.form.selfeval import build_form
    from xltool.template.fill import validate
    from xltool.template.cellvalue import put
    from xltool.template.writer import build_workbook, save_atomic

    cfg = ScoringConfig.model_validate_json(cfg_json)
    wb = build_workbook(year, cfg=cfg, unit_name=name, unit_code=code, unit_email=email, password=password,
                        form_id=form_id, submit_code=submit_code)
    if prefill:
        form = build_form(year, cfg, form_id)
        titles = {s.key: s.title for s in form.sheets}
        for fid, value in validate(form, prefill).items():
            f = form.field(fid)
            put(wb[titles[f.sheet]][f.cell], value)
    return str(save_atomic(wb, Path(out)))


def write_unit_templates(year: int, roster: Path, out_folder: Path, cfg: ScoringConfig | None = None,
                         password: str | None = None, previous: Path | None = None, jobs: int | None = None,
                         form_id: str | None = None, progress=None, submit_code=None) -> list[Path]:
    """Write one locked template per roster unit into *out_folder*; returns the files written.
    *form_id*: a registered form pack (the default form when None). *submit_code*: a function
    of the unit code giving the unit's web submission code (the desk's), kept in each template.

    *progress*, if given, is called with (done, total) after each template (about 1.5 s each).
    """
    from xltool.form.selfeval import build_form, default_scoring

    units = load_roster(Path(roster)).units
    cfg = cfg or default_scoring(form_id)
    form = build_form(year, cfg, form_id)
    last_year = None
    if previous is not None:
        from xltool.audit.previous import load_previous

        last_year = load_previous(Path(previous))
    out_folder = Path(out_folder)
    out_folder.mkdir(parents=True, exist_ok=True)
    tasks = []
    names: set[str] = set()
    for unit in units:
        filename = template_filename(unit, year)
        while filename.lower() in names:  # two roster rows that would write the same file
            filename = filename[:-5] + "_" + str(len(names)) + ".xlsx"
        names.add(filename.lower())
        last = last_year.lookup(unit.code, unit.name) if last_year else None
        prefill = prefill_from_previous(form, last.values) if last and (not last.year or last.year == year - 1) else {}
        tasks.append((year, cfg.model_dump_json(), unit.name, unit.code, unit.email, password, prefill,
                      str(out_folder / filename), form_id,
                      submit_code(unit.code) if submit_code is not None and unit.code else ""))
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
    written: list[Path] = []

    def done(path: str) -> None:
        written.append(Path(path))
        if progress is not None:
            progress(len(written), len(tasks))

    if progress is not None:
        progress(0, len(tasks))
    if jobs == 1:
        for task in tasks:
            done(_write_one(*task))
        return written
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for path in pool.map(_write_one, *zip(*tasks)):
            done(path)
    return written
