"""Submission codes: what a unit shows, besides its unit code, to 报送 on the web page.

A unit's code is ``HMAC-SHA256(submit_key, unit code)`` in ten characters of Crockford's base32
(50 bits, no I/L/O/U), printed ``ABCDE-FGHJK``. ``submit_key`` is a random key in the data
folder's web.toml, so only the bureau's server can make or check a code; changing the key
changes every code. The desk puts each unit's code in the hidden sheet of the templates it
makes (so a unit filling its own template never types it), lists the codes (CSV) and mails
each roster unit its code. A 报送 whose workbook carries a wrong code, or none, goes to the
pending area instead of the round; a typed wrong code is refused and counts as a failed
password attempt (the same throttle, its own counters).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import unicodedata
from dataclasses import dataclass
from pathlib import Path

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 10


def normal_unit_code(code: object) -> str:
    return unicodedata.normalize("NFKC", "" if code is None else str(code)).strip().upper()


def submission_code(key: str, unit_code: object) -> str:
    """The code of the unit *unit_code* under the server's *key* (``ABCDE-FGHJK``)."""
    digest = hmac.new(key.encode("utf-8"), b"xltool-submit\0" + normal_unit_code(unit_code).encode("utf-8"),
                      hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big")
    chars = []
    for _ in range(LENGTH):
        number, rest = divmod(number, 32)
        chars.append(ALPHABET[rest])
    text = "".join(chars)
    return f"{text[:5]}-{text[5:]}"


def normal_code(typed: object) -> str:
    """What a person typed, as the code it means: full-width folded, case and dashes ignored,
    the letters people confuse with digits (I, L, O) read as Crockford does."""
    text = unicodedata.normalize("NFKC", "" if typed is None else str(typed)).upper()
    text = "".join(ch for ch in text if ch.isalnum())[: 4 * LENGTH]
    return text.translate(str.maketrans({"I": "1", "L": "1", "O": "0"}))


def code_matches(key: str, unit_code: object, typed: object) -> bool:
    if not key or not normal_unit_code(unit_code):
        return False
    expected = submission_code(key, unit_code).replace("-", "")
    return hmac.compare_digest(expected, normal_code(typed))


@dataclass(frozen=True)
class UnitCode:
    name: str
    unit_code: str
    email: str
    code: str


def roster_codes(key: str, roster: Path) -> list[UnitCode]:
    """Every roster unit that has a unit code, with its submission code (RosterError if unreadable)."""
    from xltool.audit.roster import load_roster

    return [UnitCode(u.name, u.code, u.email, submission_code(key, u.code))
            for u in load_roster(Path(roster)).units if normal_unit_code(u.code)]


def codes_csv(units: list[UnitCode]) -> bytes:
    """The codes as a CSV for the bureau's records (UTF-8 with BOM, so Excel opens it in Chinese);
    a name starting with = + - @ is written as text, never as a formula."""
    from xltool.audit.summary import csv_safe

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["单位名称", "单位编码", "电子邮箱", "报送码"])
    for u in units:
        writer.writerow([csv_safe(u.name), csv_safe(u.unit_code), csv_safe(u.email), u.code])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
