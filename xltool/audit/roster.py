"""The roster of units: who must submit, their codes and e-mail addresses.

A roster is an .xlsx or .csv file (CSV in UTF-8, UTF-8 with BOM or GBK) with a header row
holding 单位名称, 单位编码, 电子邮箱 and optionally 分管科室 (English headers name, code,
email, department work too). Workbooks are matched to units by 单位编码 first, then by
the exact name (ignoring spaces and full-width/half-width differences).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from xltool.i18n import _

HEADERS = {
    "name": ("单位名称", "单位", "name", "unit", "unit name"),
    "code": ("单位编码", "编码", "单位代码", "code", "unit code"),
    "email": ("电子邮箱", "邮箱", "电子邮件", "email", "e-mail", "mail"),
    "department": ("分管科室", "科室", "department"),
}
MAX_ROSTER_BYTES = 20 * 1024 * 1024


class RosterError(ValueError):
    """A roster that cannot be used; the message is a translated sentence."""


@dataclass(frozen=True)
class RosterUnit:
    name: str
    code: str = ""
    email: str = ""
    department: str = ""
    row: int = 0  # row in the roster file, for messages

    @property
    def key(self) -> str:
        return unit_key(self.code, self.name)

    @property
    def label(self) -> str:
        return f"{self.name}（{self.code}）" if self.code else self.name


@dataclass
class Roster:
    units: list[RosterUnit]
    source: str = ""
    problems: list[str] = field(default_factory=list)  # duplicate codes, rows without a name

    def __post_init__(self) -> None:
        self.by_code: dict[str, RosterUnit] = {}
        self.by_name: dict[str, RosterUnit] = {}
        for unit in self.units:
            if unit.code:
                self.by_code.setdefault(norm_code(unit.code), unit)
            self.by_name.setdefault(norm_name(unit.name), unit)

    def match(self, code: str | None, name: str | None) -> RosterUnit | None:
        """The unit a workbook belongs to: by code, else by exact name."""
        if code and norm_code(code) in self.by_code:
            return self.by_code[norm_code(code)]
        if name and norm_name(name) in self.by_name:
            return self.by_name[norm_name(name)]
        return None

    def guess_from_filename(self, filename: str) -> RosterUnit | None:
        """The unit a file name names (its code or its full name), for files that cannot be read."""
        text = norm_name(Path(filename).stem)
        best: tuple[int, RosterUnit] | None = None
        for unit in self.units:
            for token in (norm_code(unit.code) if len(unit.code) >= 4 else "", norm_name(unit.name)):
                if token and token in text and (best is None or len(token) > best[0]):
                    best = (len(token), unit)
        return best[1] if best else None


def norm_name(text: object) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or "")))


def norm_code(text: object) -> str:
    if isinstance(text, float) and text.is_integer():
        text = int(text)
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or ""))).upper()


def unit_key(code: str | None, name: str | None) -> str:
    """The identity of a unit across files and rounds: its code, else its name."""
    if code and norm_code(code):
        return "code:" + norm_code(code)
    return "name:" + norm_name(name)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _rows_from_csv(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise RosterError(_("The roster {path} is neither UTF-8 nor GBK text.").format(path=path.name))
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t，")
    except csv.Error:
        dialect = csv.excel
    return [list(row) for row in csv.reader(io.StringIO(text), dialect)]


def _rows_from_xlsx(path: Path) -> list[list[object]]:
    from xltool.read.safety import UnreadableWorkbook, load

    try:
        wb = load(path, read_only=True, data_only=True)
    except UnreadableWorkbook as exc:
        raise RosterError(_("The roster cannot be read: {reason}").format(reason=exc.message)) from None
    try:
        ws = wb.worksheets[0]
        return [list(row) for row in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


def _header_map(row: list[object]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, value in enumerate(row):
        text = norm_name(value).lower()
        for key, names in HEADERS.items():
            if key not in found and text in {norm_name(n).lower() for n in names}:
                found[key] = index
    return found


def load_roster(path: Path) -> Roster:
    """Read the roster at *path* (.xlsx/.xlsm or .csv/.txt); raise RosterError when unusable."""
    path = Path(path)
    if not path.is_file():
        raise RosterError(_("The roster {path} does not exist.").format(path=path))
    if path.stat().st_size > MAX_ROSTER_BYTES:
        raise RosterError(_("The roster {path} is too large.").format(path=path.name))
    if path.suffix.lower() in (".csv", ".txt"):
        rows: list[list[object]] = _rows_from_csv(path)  # type: ignore[assignment]
    else:
        rows = _rows_from_xlsx(path)
    header_at, columns = None, {}
    for i, row in enumerate(rows[:20]):
        columns = _header_map(row)
        if "name" in columns:
            header_at = i
            break
    if header_at is None:
        raise RosterError(_("The roster {path} has no header row with 单位名称 (and 单位编码, 电子邮箱).").format(
            path=path.name))
    units: list[RosterUnit] = []
    problems: list[str] = []
    seen_codes: dict[str, int] = {}
    for offset, row in enumerate(rows[header_at + 1:], start=header_at + 2):
        def get(key: str) -> str:
            index = columns.get(key)
            return _cell_text(row[index]) if index is not None and index < len(row) else ""

        name, code = get("name"), get("code")
        if not name and not code:
            continue  # blank line
        if not name:
            problems.append(_("Roster row {row}: the unit name is empty.").format(row=offset))
            continue
        if code and norm_code(code) in seen_codes:
            problems.append(_("Roster row {row}: the code {code} is also used in row {other}.").format(
                row=offset, code=code, other=seen_codes[norm_code(code)]))
        elif code:
            seen_codes[norm_code(code)] = offset
        units.append(RosterUnit(name=name, code=code, email=get("email"), department=get("department"), row=offset))
    if not units:
        raise RosterError(_("The roster {path} lists no units.").format(path=path.name))
    return Roster(units=units, source=str(path), problems=problems)
