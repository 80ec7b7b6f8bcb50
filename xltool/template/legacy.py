"""Templates written by earlier xltool versions (formats 1–5): genuine, edited, or unprovable.

Those versions stored a fingerprint that hashed the layout as THEIR code produced it, which
later code cannot reproduce. ``legacy_formats.json`` holds, for each of those formats, the
rows its meta sheet had, how it mixed the scoring settings and the unit into the hash, and
the hash it wrote for every shipped pack and year (measured once with that version's own
code by tools/legacy_fingerprints.py; see docs/forms.md). With it a meta sheet is judged:

* GENUINE: its rows are those of a format and its fingerprint is the one that format wrote
  for its pack, year, settings and unit: an older template (XT006), read with the pack
  version it names;
* EDITED: the table covers its pack, year and settings, yet no format's hash matches: the
  identification sheet was changed (XT020);
* UNPROVABLE: the table cannot cover it (a bureau's own pack, settings given at template
  time with --rules-config, a year outside the table): an older template whose stored
  settings are not trusted; the bureau's (or the pack's own) settings judge it, and stored
  settings that differ are reported (XT021).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from xltool.digests import sha256
from xltool.record import record

TABLE = Path(__file__).with_name("legacy_formats.json")
GENUINE, EDITED, UNPROVABLE = "genuine", "edited", "unprovable"
# Rows a format-5 build could append without hashing them: the web desk's submission code
# (issue 22, merged before format 6). Their presence does not change what the rows prove.
UNHASHED_TAIL = ("submit_code",)


@record
class Verdict:
    status: str  # GENUINE / EDITED / UNPROVABLE
    format: int | None  # the format recognised (GENUINE), else the newest whose rows fit (or None)


@lru_cache(maxsize=1)
def formats() -> dict[int, dict]:
    data = json.loads(TABLE.read_text(encoding="utf-8"))
    return {int(k): v for k, v in data["formats"].items()}


def _bases(number: int, pack_id: str) -> dict[str, str] | None:
    pack = formats()[number]["packs"].get(pack_id)
    if pack is None:
        return None
    bases = pack["bases"]
    return _bases(int(bases), pack_id) if isinstance(bases, str) else bases


def _expected(number: int, pack: dict, base: str, rows: dict[str, str]) -> str:
    """What format *number* stored for a template of *pack*'s own settings and the unit in *rows*."""
    fmt = formats()[number]
    if fmt["scheme"] == "base":  # formats 1 and 2: the layout's hash alone
        return base
    identity = [rows.get("unit_name", ""), rows.get("unit_code", "")]
    if rows.get("unit_email", ""):
        identity.append(rows["unit_email"])
    if pack["settings"] == fmt["default_settings"] and not any(identity):
        return base
    blob = json.dumps([base, pack["settings"], *identity], ensure_ascii=False).encode("utf-8")
    return sha256(blob).hexdigest()


def judge(rows: dict[str, str]) -> Verdict:
    """The verdict on a meta sheet without a format row (*rows*: key → text, in sheet order)."""
    keys = list(rows)
    while keys and keys[-1] in UNHASHED_TAIL:
        keys.pop()
    fitting = [n for n, fmt in sorted(formats().items()) if fmt["keys"] == keys]
    pack_id = rows.get("form", "") or "example"
    covered = False
    for number in reversed(fitting):
        pack = formats()[number]["packs"].get(pack_id)
        bases = _bases(number, pack_id)
        if pack is None or bases is None or rows.get("scoring", "") != pack["scoring"]:
            continue
        base = bases.get(rows.get("year", ""))
        if base is None:
            continue
        covered = True
        if rows.get("fingerprint", "") == _expected(number, pack, base, rows):
            return Verdict(GENUINE, number)
    if not fitting:  # rows no version ever wrote: added, removed or renamed by hand
        return Verdict(EDITED, None)
    return Verdict(EDITED if covered else UNPROVABLE, fitting[-1])
