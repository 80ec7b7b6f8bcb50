"""The laid-out picture of every shipped form pack version, frozen: a version once shipped lays
out the same forever (templates are forever: a workbook is read with the layout that made it).

``tests/data/pack_layouts.json.gz`` holds, for each shipped ``id@version``, every field (sheet,
cell, kind, role, formula as Excel writes it, defined name), every static text with its place,
merges, widths, heights, print titles and freeze panes, laid out for 2023 and for 2024 under the
pack's own scoring. It was written before the region packs became extensions of ``example``
(so test_pack_versions.py proves the rewrite changed no cell) and gains an entry whenever a
version is added: ``python3 tests/pack_layouts.py`` adds the versions it lacks and never
rewrites one it holds. ``tests/data/pack_digests.json`` holds each version's declaration
digest (what its templates record, form/pack.py ``digest``), kept the same way.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SNAPSHOT = HERE / "data" / "pack_layouts.json.gz"
DIGESTS = HERE / "data" / "pack_digests.json"  # id@version → the digest a template of it records
YEARS = (2023, 2024)


def picture(form) -> dict:
    from form_snapshot import field_pictures, sheet_pictures

    fields = field_pictures(form, formula_ids=False)
    sheets = sheet_pictures(form)
    return {
        "template_id": form.template_id, "version": form.version, "year": form.year,
        "pack": [form.pack_id, form.pack_version], "scoring_json": form.scoring_json,
        "lists": dict(sorted(form.lists.items())), "tree": [list(t) for t in form.tree],
        "indicator_rows": form.indicator_rows, "sheets": sheets, "fields": fields,
    }


def shipped() -> list[str]:
    """Every shipped pack as ``id@version``."""
    from xltool.form import registry

    if hasattr(registry, "shipped_refs"):
        return registry.shipped_refs()
    return sorted(f"{e.id}@{registry.load_file(e.path).version}" for e in registry.available().values() if e.shipped)


def pictures(ref: str) -> list[dict]:
    from xltool.form import registry
    from xltool.form.selfeval import build_form, default_scoring

    if hasattr(registry, "shipped_refs"):
        pack = registry.get_pack(ref, session=False)
    else:
        pack = registry.get_pack(ref.split("@")[0], session=False)
    # As stored: through JSON (tuples become lists).
    return json.loads(json.dumps([picture(build_form(year, default_scoring(pack), pack)) for year in YEARS],
                                 ensure_ascii=False))


def load() -> dict[str, list[dict]]:
    return json.loads(gzip.decompress(SNAPSHOT.read_bytes()))


def digests() -> dict[str, str]:
    return json.loads(DIGESTS.read_text(encoding="utf-8")) if DIGESTS.exists() else {}


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    held = load() if SNAPSHOT.exists() else {}
    for ref in shipped():
        if ref not in held:
            held[ref] = pictures(ref)
            print("added", ref)
    blob = json.dumps(dict(sorted(held.items())), ensure_ascii=False, sort_keys=True).encode("utf-8")
    SNAPSHOT.write_bytes(gzip.compress(blob, mtime=0))
    print(SNAPSHOT, SNAPSHOT.stat().st_size)
    from xltool.form.registry import get_pack

    sums = digests()
    for ref in shipped():
        sums.setdefault(ref, get_pack(ref, session=False).digest)
    DIGESTS.write_text(json.dumps(dict(sorted(sums.items())), indent=1) + "\n", encoding="utf-8")
