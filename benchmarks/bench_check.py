"""Checking speed on the shipped example: in-process per check, and the CLI's wall time.

    python benchmarks/bench_check.py [--runs N]

In-process, one check is split into *read* (``read_path``: safety inspection, XML read,
identification, integrity, typing, derived values) and *rules* (``check_result``: every rule
instance). The CLI figure is the wall time of ``xltool check-workbook FILE`` in a fresh
process (interpreter start and imports included), the way the bureau runs it.
Targets: ≤ 50 ms in-process for the checks (issue 3); the whole command ≤ 6 × ``python -c pass``
(issue 20, see bench_startup.py for the start-up figures).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "luosong_2023.yaml"
TARGET_IN_PROCESS = 0.050
TARGET_CLI_RATIO = 6.0  # issue 20: the whole command ≤ 6 × the interpreter's start


def _median_ms(times: list[float]) -> str:
    return f"median {statistics.median(times) * 1000:7.1f} ms  (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--cli-runs", type=int, default=5)
    args = parser.parse_args(argv)

    from xltool.check.checker import check_path, check_result
    from xltool.read.reader import read_path
    from xltool.template.fill import fill_workbook, load_data
    from xltool.template.writer import write_template

    with tempfile.TemporaryDirectory(prefix="xltool-bench-") as tmp:
        folder = Path(tmp)
        template = write_template(folder / "template.xlsx", 2023)
        filled = fill_workbook(template, load_data(EXAMPLE), folder / "luosong_2023_filled.xlsx")

        check_path(filled)  # warm caches (form, rule instances, catalogues)
        reads, rules, totals = [], [], []
        findings = 0
        for _ in range(args.runs):
            t0 = time.perf_counter()
            result = read_path(filled)
            t1 = time.perf_counter()
            findings = len(check_result(result))
            t2 = time.perf_counter()
            reads.append(t1 - t0)
            rules.append(t2 - t1)
            totals.append(t2 - t0)

        # The console script installed beside this Python (not a version-manager shim, whose
        # own start-up would be measured too), else ``python -m xltool``.
        beside = Path(sys.executable).with_name("xltool")
        exe = str(beside) if beside.is_file() else shutil.which("xltool")
        cmd = [exe, "check-workbook", str(filled)] if exe else [sys.executable, "-m", "xltool", "check-workbook", str(filled)]
        env = dict(os.environ, XLTOOL_LANG="zh_CN")
        cli = []
        code = None
        for _ in range(args.cli_runs + 1):
            t0 = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, env=env)
            cli.append(time.perf_counter() - t0)
            code = done.returncode
        cli = cli[1:]  # the first run warms the page cache
        floor = []  # the interpreter's own start, in the same run (see bench_startup.py)
        for _ in range(args.cli_runs):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], capture_output=True, env=env)
            floor.append(time.perf_counter() - t0)

    print(f"xltool check benchmark on the example ({findings} findings, {args.runs} in-process runs)")
    print(f"  command: {' '.join(cmd[:2])} …")
    print(f"  read (read_path)        {_median_ms(reads)}")
    print(f"  rules (check_result)    {_median_ms(rules)}")
    ok = statistics.median(totals) <= TARGET_IN_PROCESS
    print(f"  in-process per check    {_median_ms(totals)}   target ≤ {TARGET_IN_PROCESS * 1000:.0f} ms: "
          f"{'met' if ok else 'NOT met'}")
    ratio = statistics.median(cli) / statistics.median(floor)
    print(f"  CLI wall time           {ratio:.1f} × python -c pass  (median {statistics.median(cli):.3f} s, min "
          f"{min(cli):.3f}, max {max(cli):.3f}, exit {code}; python {statistics.median(floor) * 1000:.0f} ms)   "
          f"target ≤ {TARGET_CLI_RATIO:g} ×: {'met' if ratio <= TARGET_CLI_RATIO else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
