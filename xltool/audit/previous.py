"""Last year's audit, read from its folder's history.sqlite: each unit's figures as kept
in the last finished round. Used for the cross-year rule (XT720) and to prefill next
year's templates."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from xltool.audit.history import DB_NAME, History
from xltool.audit.roster import norm_code, norm_name
from xltool.i18n import _


class PreviousError(ValueError):
    """The previous audit folder cannot be used; the message is a translated sentence."""


@dataclass
class PreviousUnit:
    unit: str
    code: str
    source: str
    year: int | None
    values: dict


@dataclass
class PreviousYear:
    folder: Path
    units: list[PreviousUnit] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.by_code = {norm_code(u.code): u for u in self.units if u.code}
        self.by_name = {norm_name(u.unit): u for u in self.units if u.unit}

    def lookup(self, code: str | None, name: str | None) -> PreviousUnit | None:
        """The same unit last year: by code, else by exact name."""
        if code and norm_code(code) in self.by_code:
            return self.by_code[norm_code(code)]
        if name and norm_name(name) in self.by_name:
            return self.by_name[norm_name(name)]
        return None

    @property
    def years(self) -> set[int]:
        return {u.year for u in self.units if u.year}


def load_previous(folder: Path) -> PreviousYear:
    path = Path(folder) / DB_NAME
    if not path.is_file():
        raise PreviousError(_("No audit history ({name}) in {folder}: give the output folder of last year's audit.").format(
            name=DB_NAME, folder=folder))
    try:
        history = History(path, readonly=True)
    except Exception as exc:  # noqa: BLE001 - sqlite3 errors of all kinds
        raise PreviousError(_("The audit history in {folder} cannot be opened: {error}").format(folder=folder, error=exc)) from None
    with history:
        run = history.last_finished_run()
        if run is None:
            raise PreviousError(_("The audit in {folder} never finished a round.").format(folder=folder))
        units = []
        for row in history.round(run).values():
            stored = history.result(row["sha256"] or "", row["rules_key"] or "")
            if stored is None or stored.status != "ok":
                continue
            body = json.loads(stored.body)
            report = body.get("report", {})
            units.append(PreviousUnit(unit=row["unit"] or report.get("unit") or "", code=row["unit_code"] or report.get("unit_code") or "",
                                      source=row["source"] or "", year=report.get("year"), values=body.get("values", {})))
    return PreviousYear(folder=Path(folder), units=units)
