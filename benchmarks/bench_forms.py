"""Cost of the form being a data file: loading a pack and laying out a form.

    python benchmarks/bench_forms.py [--runs N]

In-process: reading + validating a pack file (TOML, pydantic), and laying it out for a
year (rows counted, cells, formulas parsed). Fresh process: importing xltool's form and
building the default form, the start-up cost every command pays once.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _ms(times: list[float]) -> str:
    return f"{statistics.median(times) * 1000:.1f} ms (median of {len(times)}, min {min(times) * 1000:.1f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs

    from xltool.form.declared import parse
    from xltool.form.layout import layout
    from xltool.form.registry import get_pack, shipped_path, shipped_refs

    def base(ref):
        return get_pack(ref, session=False)

    for path in [shipped_path(ref) for ref in shipped_refs()]:
        text = path.read_text(encoding="utf-8")
        loads, lays = [], []
        for _ in range(runs):
            t = time.perf_counter()
            pack = parse(text, str(path), check_layout=False, base=base)
            loads.append(time.perf_counter() - t)
            t = time.perf_counter()
            form = layout(pack, 2024, pack.scoring)
            lays.append(time.perf_counter() - t)
        print(f"{pack.ref:18} {len(form.fields):4d} fields  load+validate {_ms(loads)}  layout {_ms(lays)}")

    code = "from xltool.form.selfeval import build_form; build_form(2024)"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cold = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        cold.append(time.perf_counter() - t)
    print(f"fresh process: import + default form for 2024  {_ms(cold)}")


if __name__ == "__main__":
    main()
