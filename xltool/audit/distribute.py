"""One template per unit of the roster: name, code and e-mail filled and locked, and with
last year's audit (``previous``) the {Y-1}年决算数 column of 附件2 prefilled from what the
unit reported as 决算数 a year earlier (专项资金 rows with their names)."""

from __future__ import annotations

import math
import os
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from xltool.audit.roster import RosterUnit, load_roster
from xltool.form.model import Form
from xltool.form.scoring import ScoringConfig
from xltool.template.units import Unit

_ZX_NAME = re.compile(r"^base_zx_(\d+)_name$")


def prefill_from_previous(form: Form, last_values: dict) -> dict[str, object]:
    """Input values for this year's template from last year's figures of the same unit."""
    values: dict[str, object] = {}
    for f in form.fields:
        if not f.is_input:
            continue
        if f.id.startswith("base_") and f.id.endswith("_prev"):
            last = last_values.get(f.id[: -len("_prev")] + "_final")
            if isinstance(last, (int, float)) and not isinstance(last, bool) and math.isfinite(last):
                values[f.id] = float(last)
        elif _ZX_NAME.match(f.id) and last_values.get(f.id):
            values[f.id] = str(last_values[f.id])  # the 专项 keeps its row, so its figure lines up
    return values


def template_filename(unit: RosterUnit, year: int) -> str:
    from xltool.safenames import file_name

    stem = "_".join(part for part in (unit.code, unit.name) if part)
    return file_name(stem, f"_{year}.xlsx", max_length=86)


# The shared template of a batch, in a worker process (set by the pool's initializer).
_TEMPLATES = None
PARALLEL_FROM = 400  # units: fewer are written in this process (about 3 ms each) rather than start workers
CHUNK = 64  # units per task sent to a worker


def _init_worker(templates) -> None:
    global _TEMPLATES
    _TEMPLATES = templates


def _write_units(tasks: list[tuple[str, Unit]]) -> list[str]:
    return [str(_TEMPLATES.write(Path(out), unit)) for out, unit in tasks]  # type: ignore[union-attr]


def write_unit_templates(year: int, roster: Path, out_folder: Path, cfg: ScoringConfig | None = None,
                         password: str | None = None, previous: Path | None = None, jobs: int | None = None,
                         form_id: str | None = None, progress=None, submit_code=None) -> list[Path]:
    """Write one locked template per roster unit into *out_folder*; returns the files written.
    *form_id*: a registered form pack (the default form when None). *submit_code*: a function
    of the unit code giving the unit's web submission code (the desk's), kept in each template.

    The template is built once (per set of identity cells the roster fills, about 1.5 s) and
    each unit's file spliced from it (template/units.py), a few milliseconds each; a large
    roster is shared among *jobs* processes. *progress*, if given, is called with
    (done, total) before the first template and after each one (each chunk of
    64 when shared among processes).
    """
    from xltool.template.units import UnitTemplates

    units = load_roster(Path(roster)).units
    templates = UnitTemplates(year, cfg, password, form_id)
    form = templates.form
    last_year = None
    if previous is not None:
        from xltool.audit.previous import load_previous

        last_year = load_previous(Path(previous))
    out_folder = Path(out_folder)
    out_folder.mkdir(parents=True, exist_ok=True)
    tasks: list[tuple[str, Unit]] = []
    names: set[str] = set()
    for unit in units:
        filename = template_filename(unit, year)
        while filename.lower() in names:  # two roster rows that would write the same file
            filename = filename[:-5] + "_" + str(len(names)) + ".xlsx"
        names.add(filename.lower())
        last = last_year.lookup(unit.code, unit.name) if last_year else None
        prefill = prefill_from_previous(form, last.values) if last and (not last.year or last.year == year - 1) else {}
        code = submit_code(unit.code) if submit_code is not None and unit.code else ""
        tasks.append((str(out_folder / filename),
                      Unit(name=unit.name, code=unit.code, email=unit.email, submit_code=code, prefill=prefill)))
    written: list[Path] = []

    def done(paths: list[str]) -> None:
        written.extend(Path(p) for p in paths)
        if progress is not None:
            progress(len(written), len(tasks))

    if progress is not None:
        progress(0, len(tasks))
    templates.prepare([unit for _out, unit in tasks])  # the build, once per shape, before any worker starts
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(tasks) // CHUNK + 1))
    chunks = [tasks[i:i + CHUNK] for i in range(0, len(tasks), CHUNK)]
    if jobs == 1 or len(tasks) < PARALLEL_FROM:
        for out, unit in tasks:  # progress after each unit: a few milliseconds apiece
            done([str(templates.write(Path(out), unit))])
        return written
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=(templates,)) as pool:
        for paths in pool.map(_write_units, chunks):
            done(paths)
    return written
