"""Time to write one locked template and to fill one (median of several runs).

    python benchmarks/bench_template.py [--runs N]

Prints the median, min and max wall time of ``write_template`` (year 2023, default
scoring, SHA-512 protection with 100,000 spins) and of ``fill_workbook`` with the shipped
example's data. Runs in-process; the first run of each is reported separately (imports,
caches) and left out of the median.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "luosong_2023.yaml"


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _report(name: str, first: float, times: list[float]) -> None:
    print(f"{name:<22} median {statistics.median(times) * 1000:8.1f} ms   "
          f"min {min(times) * 1000:8.1f} ms   max {max(times) * 1000:8.1f} ms   "
          f"(first run {first * 1000:.1f} ms, {len(times)} runs)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    from xltool.template.fill import fill_workbook, load_data
    from xltool.template.writer import write_template

    data = load_data(EXAMPLE)
    with tempfile.TemporaryDirectory(prefix="xltool-bench-") as tmp:
        folder = Path(tmp)
        template = folder / "template.xlsx"
        first = _time(lambda: write_template(template, 2023))
        writes = [_time(lambda i=i: write_template(folder / f"t{i}.xlsx", 2023)) for i in range(args.runs)]
        first_fill = _time(lambda: fill_workbook(template, data, folder / "filled.xlsx"))
        fills = [_time(lambda i=i: fill_workbook(template, data, folder / f"f{i}.xlsx")) for i in range(args.runs)]
        size = template.stat().st_size
    print(f"xltool template benchmark (Python {sys.version.split()[0]}), template {size / 1024:.0f} KB")
    _report("write_template", first, writes)
    _report("fill_workbook", first_fill, fills)
    return 0


if __name__ == "__main__":
    sys.exit(main())
