"""Per-unit templates: ``make-template --roster`` as ratios to its floors, measured in the same run.

    python benchmarks/bench_roster.py [--runs N] [--units 20] [--many 10000]

Floors, each measured in this run (the figures of a shared machine drift):
  * ``python -c pass``: the cost of any process at all;
  * ``xltool make-template`` of one template (whole process): what a roster's first template
    costs, since the roster's template is built once (per shape of the identity cells);
  * the splice of one unit's file (in one process, median): what each further unit costs.
Figures (CPU time of the whole process and its workers, wall time beside):
  * ``xltool make-template --roster`` of --units units (default 20) as a ratio to one template;
  * the same for --many units (default 10,000): wall time against 2 minutes, and the CPU time
    per unit as a ratio to the splice floor.
Targets (issue 20): 20 units ≤ 2 × one template; 10,000 units ≤ 2 minutes on 2 cores.
The machine is shared: CPU ratios are the figures to compare; the wall time of the large run
is also given as CPU ÷ cores (what an idle machine would need at best).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _once(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall s, CPU s of the process and every worker it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def _median(cmd_of, runs: int, env: dict, clean=None) -> tuple[float, float]:
    walls, cpus = [], []
    for n in range(runs):
        if clean is not None:
            clean()
        wall, cpu = _once(cmd_of(n), env)
        walls.append(wall)
        cpus.append(cpu)
    return statistics.median(walls), statistics.median(cpus)


def _roster(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("单位名称,单位编码,电子邮箱\n")
        for i in range(n):
            # Every tenth unit without an e-mail: a second shape, as real rosters have.
            fh.write(f"测试市第{i + 1}单位,{430000 + i},{'' if i % 10 == 9 else f'u{i}@example.gov.cn'}\n")
    return path


SPLICE = r"""
import json, sys, time
from pathlib import Path
from xltool.template.units import Unit, UnitTemplates
templates = UnitTemplates(2024)
out = Path(sys.argv[1])
templates.write(out / "warm.xlsx", Unit(name="单位", code="1", email="a@b.cn"))
times = []
for i in range(50):
    t = time.process_time()
    templates.write(out / f"u{i}.xlsx", Unit(name=f"单位{i}", code=str(i), email="a@b.cn", submit_code="K"))
    times.append(time.process_time() - t)
print(json.dumps({"times": times}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--many", type=int, default=10000, help="units of the large run (0: skip it)")
    args = parser.parse_args(argv)

    beside = Path(sys.executable).with_name("xltool")
    xltool = [str(beside)] if beside.is_file() else [sys.executable, "-m", "xltool"]
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="xltool-bench-") as tmp:
        tmp = Path(tmp)
        env = dict(os.environ, XLTOOL_LANG="zh_CN", PYTHONPATH=str(ROOT), XLTOOL_CACHE_DIR=str(tmp / "cache"))
        import json

        python = _median(lambda n: [sys.executable, "-c", "pass"], max(5, args.runs), env)
        one = _median(lambda n: [*xltool, "make-template", "--year", "2024", "-o", str(tmp / f"one{n}.xlsx")],
                      args.runs, env)
        (tmp / "splice").mkdir()
        done = subprocess.run([sys.executable, "-c", SPLICE, str(tmp / "splice")], capture_output=True, text=True,
                              env=env, check=True)
        splice = statistics.median(json.loads(done.stdout.strip().splitlines()[-1])["times"])
        small = _roster(tmp / "small.csv", args.units)
        out = tmp / "small"
        roster = _median(lambda n: [*xltool, "make-template", "--year", "2024", "--roster", str(small), "-o", str(out)],
                         args.runs, env, clean=lambda: shutil.rmtree(out, ignore_errors=True))
        many = None
        if args.many:
            big = _roster(tmp / "big.csv", args.many)
            out_big = tmp / "big"
            many = _once([*xltool, "make-template", "--year", "2024", "--roster", str(big), "-o", str(out_big)], env)
            files = len(list(out_big.glob("*.xlsx")))

    print(f"xltool per-unit templates benchmark ({args.runs} runs each, medians; {cores} cores; {sys.executable})")
    print(f"  floor: python -c pass                    {python[0] * 1000:7.0f} ms wall, CPU {python[1] * 1000:6.0f} ms")
    print(f"  floor: make-template, one template       {one[0] * 1000:7.0f} ms wall, CPU {one[1] * 1000:6.0f} ms "
          f"({one[1] / python[1]:.0f} × python)")
    print(f"  floor: splice of one unit's file        {splice * 1000:8.1f} ms CPU (in one process, median of 50)")
    ratio = roster[1] / one[1]
    print(f"  make-template --roster, {args.units} units      {ratio:5.2f} × one template (CPU {roster[1] * 1000:6.0f} ms; "
          f"wall {roster[0] * 1000:6.0f} ms = {roster[0] / one[0]:.2f} ×)   target ≤ 2 ×: {'met' if ratio <= 2 else 'NOT met'}")
    if many is not None:
        wall, cpu = many
        per_unit = (cpu - one[1]) / args.many
        best = max(cpu / cores, one[1])
        print(f"  make-template --roster, {args.many} units  wall {wall:6.1f} s, CPU {cpu:6.1f} s "
              f"(CPU ÷ {cores} cores = {cpu / cores:5.1f} s; {files} files)   target ≤ 120 s on 2 cores: "
              f"{'met' if best <= 120 else 'NOT met'} (wall on this machine: {'met' if wall <= 120 else 'NOT met'})")
        print(f"    per unit beyond the first template: {per_unit * 1000:.2f} ms CPU = {per_unit / splice:.2f} × the splice")
    return 0


if __name__ == "__main__":
    sys.exit(main())
