"""The fingerprints earlier xltool versions wrote into their templates, measured with their own code.

Up to template format 5 the fingerprint in the hidden ``_xltool_meta`` sheet was a hash of
the form as that version's code laid it out (fields, texts, live checks). Later code lays out
the same pack a little differently (a new check, a print title), so it cannot recompute those
hashes; without them every workbook filled in an older template would look tampered (XT020).
This tool runs the OLD code once and records, for every shipped pack and every year in range,
the hash that version writes into a template made with the pack's own scoring settings. The
result goes into ``xltool/template/legacy_formats.json``, which the reader uses to tell a
genuine older template (XT006) from an edited identification sheet (XT020).

Run it with an old checkout first on the path, once per format (see docs/forms.md):

    git worktree add /tmp/old <commit>
    PYTHONPATH=/tmp/old python3 tools/legacy_fingerprints.py FORMAT COMMIT > /tmp/part.json
    python3 tools/legacy_fingerprints.py --merge /tmp/part*.json

It only reads the old code's results; nothing of the old code is copied.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import sys
from pathlib import Path

YEARS = range(2016, 2041)
TABLE = Path(__file__).resolve().parents[1] / "xltool" / "template" / "legacy_formats.json"


def measure(fmt: int, commit: str) -> dict:
    import xltool
    from xltool.form import selfeval
    from xltool.form.scoring import ScoringConfig
    from xltool.template import meta

    print(f"measuring format {fmt} with {Path(xltool.__file__).parent}", file=sys.stderr)
    params = list(inspect.signature(meta._fingerprint).parameters)
    with_pack = params[0] == "form_id"
    # A record (xltool.record) in this code, a dataclass in earlier versions'.
    declared = getattr(meta.TemplateMeta, "__record_fields__", None) or dataclasses.fields(meta.TemplateMeta)
    keys = [f.name for f in declared]
    mixed = "unit_name" in inspect.signature(meta.fingerprint).parameters
    if with_pack:
        from xltool.form.registry import available

        pack_ids = sorted(available())
    else:
        pack_ids = [""]
    packs = {}
    for pack_id in pack_ids:
        cfg = selfeval.default_scoring(pack_id or None) if with_pack else ScoringConfig()
        scoring = cfg.to_json()
        bases = {}
        for year in YEARS:
            form = selfeval.build_form(year, cfg, pack_id or None) if with_pack else selfeval.build_form(year, cfg)
            if with_pack:
                bases[str(year)] = meta._fingerprint(pack_id, form.template_id, form.version, year, scoring)
            else:
                bases[str(year)] = meta._fingerprint(form.template_id, form.version, year, scoring)
            # The rule the reader applies to these bases must give what this version wrote.
            assert meta.fingerprint(form) == stored(bases[str(year)], scoring, mixed, meta), (pack_id, year)
        packs[pack_id or "example"] = {
            "scoring": scoring,
            "settings": meta.canonical_settings(scoring) if mixed else None,
            "bases": bases,
        }
    return {
        "commit": commit,
        "keys": keys,
        "scheme": "mixed" if mixed else "base",
        "default_settings": meta.canonical_settings("{}") if mixed else None,
        "packs": packs,
    }


def stored(base: str, scoring: str, mixed: bool, meta) -> str:
    """The fingerprint of a template without a unit, as xltool/template/legacy.py recomputes it."""
    import hashlib

    if not mixed or meta.canonical_settings(scoring) == meta.canonical_settings("{}"):
        return base
    blob = json.dumps([base, meta.canonical_settings(scoring), "", ""], ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def merge(parts: list[Path]) -> None:
    table = json.loads(TABLE.read_text(encoding="utf-8")) if TABLE.exists() else {"formats": {}}
    for part in parts:
        data = json.loads(part.read_text(encoding="utf-8"))
        table["formats"][str(data["format"])] = data["data"]
    table["formats"] = dict(sorted(table["formats"].items(), key=lambda kv: int(kv[0])))
    # A format that hashed the layout as an earlier one did (its meta rows or its rule for a
    # unit changed) points at that format's bases instead of repeating them.
    seen: dict[str, str] = {}
    for number, data in table["formats"].items():
        for pack_id, pack in data["packs"].items():
            if isinstance(pack["bases"], str):
                continue
            key = pack_id + json.dumps(pack["bases"], sort_keys=True)
            if key in seen:
                pack["bases"] = seen[key]
            else:
                seen[key] = number
    TABLE.write_text(json.dumps(table, ensure_ascii=False, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(TABLE, TABLE.stat().st_size, file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1] == "--merge":
        merge([Path(p) for p in sys.argv[2:]])
    else:
        fmt, commit = int(sys.argv[1]), sys.argv[2]
        json.dump({"format": fmt, "data": measure(fmt, commit)}, sys.stdout, ensure_ascii=False)
