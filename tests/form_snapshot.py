"""A plain-JSON picture of a built form and its rule instances, for comparing two builds.

``tests/data/form_snapshot.json.gz`` was written ONCE from the Python-declared form (before the
form became a pack file) with ``python3 tests/form_snapshot.py``, and once more from the
Python-declared form of the branch that changed rule instances in parallel (issue 10: XT301 quiet
while a side is empty, XT610 live), before the two were merged; test_forms.py compares the form
built from the default pack against it. Issue 23 wrote it again from the default pack when the
rule families changed the rule instances and added the policy settings (fields, sheets and
concepts were checked unchanged against the earlier snapshot first), and again when a blank 其中
block became an XT108 instance, and once more when XT608 and XT615 became counts (their kind
``number`` → ``count``; every other part checked unchanged against the earlier snapshot first).
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SNAPSHOT = HERE / "data" / "form_snapshot.json.gz"
CASES = (
    (2023, None),
    (2024, None),
    (2023, {"region": "某省口径", "weights": {"execution": 10, "output": 50, "benefit": 30, "satisfaction": 10, "cost": 0}}),
)


def field_pictures(form, *, formula_ids: bool) -> dict[str, dict]:
    """Each field as data, its formula as Excel writes it (and, if asked, in field ids)."""
    from xltool.form.cells import CellMap

    cells = CellMap(form)
    fields = {}
    for f in form.fields:
        data = f.to_dict(exclude={"formula"})
        data["formula"] = cells.formula(f) if f.formula is not None else None
        if formula_ids:
            data["formula_ids"] = f.formula.to_excel(lambda i: i) if f.formula is not None else None
        data["name_ref"] = cells.name_ref(f.id)
        fields[f.id] = data
    return fields


def sheet_pictures(form) -> list[dict]:
    sheets = []
    for s in form.sheets:
        data = s.to_dict()
        # The order static texts are declared in means nothing; compare them as a set.
        data["texts"] = sorted(data["texts"], key=lambda t: json.dumps(t, ensure_ascii=False, sort_keys=True))
        data["merges"] = sorted(data["merges"])
        data["tall_rows"] = {str(k): v for k, v in sorted(data["tall_rows"].items())}
        sheets.append(data)
    return sheets


def picture(form, checks) -> dict:
    fields = field_pictures(form, formula_ids=True)
    sheets = sheet_pictures(form)
    concepts = {k: [f.id for f in v] for k, v in form.concepts().items()}
    rules = sorted(
        [c.key, c.op, c.lhs.to_excel(lambda i: i), c.rhs.to_excel(lambda i: i), c.tolerance,
         c.tolerance_expr.to_excel(lambda i: i) if c.tolerance_expr is not None else None,
         c.applies.to_excel(lambda i: i) if c.applies is not None else None, list(c.fields),
         c.lhs_label, c.rhs_label, c.kind, sorted(c.params.items())]
        for c in checks
    )
    return {
        "template_id": form.template_id, "version": form.version, "year": form.year,
        "scoring_json": form.scoring_json, "sheets": sheets, "fields": fields,
        "concepts": concepts, "checks": rules,
    }


def current() -> list[dict]:
    from xltool.check.instances import build_checks
    from xltool.form.scoring import ScoringConfig, validate_scoring
    from xltool.form.selfeval import build_form

    out = []
    for year, cfg in CASES:
        config = validate_scoring(cfg) if cfg else ScoringConfig()
        out.append(picture(build_form(year, config), build_checks(year, config)))
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    blob = json.dumps(current(), ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
    SNAPSHOT.write_bytes(gzip.compress(blob, mtime=0))
    print(SNAPSHOT, SNAPSHOT.stat().st_size)


def load() -> list[dict]:
    return json.loads(gzip.decompress(SNAPSHOT.read_bytes()))
