"""The batch audit as ratios to its floor, measured in the same run: a python-calamine loop over the same files.

    python3 benchmarks/bench_audit.py [--sizes 200,300,3000] [--jobs N] [--workdir DIR] [--runs R]
                                      [--openpyxl-sample K]

For each size N:
1. Generates N workbooks with benchmarks/generate.py (a quarter with one injected fault, plus
   the broken files, a few older drafts and a roster) unless WORKDIR/batch-N holds them.
2. Floor: a python-calamine loop over the same files in a fresh process (open each file and
   read every sheet; a broken file fails fast as in any loop), CPU time of the whole process.
   And ``python -c pass``, the cost of any process.
3. ``xltool audit batch-N --roster roster.csv --out <fresh folder>``, the whole command as a user
   runs it (collect, check in parallel, record in history.sqlite, per-unit 问题清单 and annotated
   copies, 审核汇总.xlsx with its charts, 汇总数据.csv), in a fresh process: CPU time of the
   process and its workers, wall time, and the peak resident memory of the main process and of
   the largest worker (getrusage; Linux reports KiB).
Each figure is printed as a ratio to its floor with the absolute figures beside it.

Targets (issue 20): the audit of 200 and of 3,000 workbooks ≤ 1.5 × the calamine loop (CPU);
peak memory at 3,000 within 1.2 × that at 300. The machine is shared with other work: CPU
ratios measured in the same run are the figures to compare, wall times only beside them.
With --openpyxl-sample K an ``openpyxl.load_workbook`` loop over K files is timed too (the
rate the README's older figure compared with).
"""

from __future__ import annotations

import argparse
import json
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
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

CALAMINE = r"""
import json, resource, sys, time
from pathlib import Path
from python_calamine import CalamineWorkbook
files = sorted(p for p in Path(sys.argv[1]).iterdir() if p.suffix in (".xlsx", ".xls"))
t = time.perf_counter()
failed = 0
for path in files:
    try:
        wb = CalamineWorkbook.from_path(str(path))
        for name in wb.sheet_names:
            wb.get_sheet_by_name(name).to_python()
    except Exception:
        failed += 1
print(json.dumps({"files": len(files), "failed": failed, "seconds": time.perf_counter() - t,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

AUDIT = r"""
import json, resource, sys, time
t = time.perf_counter()
from xltool.cli import main
sys.argv = ["xltool", "audit", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"exit": code, "seconds": time.perf_counter() - t,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "worker_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""

OPENPYXL = r"""
import json, sys, time
from pathlib import Path
import openpyxl
files = sorted(p for p in Path(sys.argv[1]).iterdir() if p.suffix in (".xlsx", ".xls"))[: int(sys.argv[2])]
t = time.perf_counter()
for path in files:
    try:
        openpyxl.load_workbook(path).close()
    except Exception:
        pass
print(json.dumps({"files": len(files), "seconds": time.perf_counter() - t}))
"""


def _child(cmd: list[str], env: dict) -> tuple[dict, float]:
    """(the JSON the child prints last, CPU seconds of the child and everything it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed:\n{done.stderr[-3000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return json.loads(done.stdout.strip().splitlines()[-1]), cpu


def _batch(workdir: Path, n: int) -> Path:
    batch = workdir / f"batch-{n}"
    if not (batch / "manifest.json").is_file():
        import generate

        started = time.perf_counter()
        generate.generate(n, batch, seed=1, duplicates=max(1, n // 200))
        print(f"generated {n} workbooks (+ broken files and drafts) in {time.perf_counter() - started:.1f} s")
    return batch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="200,300,3000", help="batch sizes, comma-separated (default 200,300,3000)")
    parser.add_argument("--jobs", type=int, default=None, help="audit worker processes (default: CPU cores)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the batches here (and reuse them)")
    parser.add_argument("--runs", type=int, default=1, help="runs of each measurement (medians)")
    parser.add_argument("--openpyxl-sample", type=int, default=0, help="also time openpyxl on K files")
    args = parser.parse_args(argv)

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="xltool-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    jobs = args.jobs or os.cpu_count() or 1
    env = dict(os.environ, XLTOOL_LANG="zh_CN", PYTHONPATH=str(ROOT), XLTOOL_CACHE_DIR=str(workdir / "cache"),
               COLUMNS="120")
    beside = Path(sys.executable)
    rows = {}
    for n in sizes:
        batch = _batch(workdir, n)
    print(f"xltool audit benchmark: {os.cpu_count()} CPU cores, audit with {jobs} worker processes, "
          f"{args.runs} run(s) each (medians)")
    python = statistics.median(_child([sys.executable, "-c", "import json; print(json.dumps({}))"], env)[1]
                               for _ in range(5))
    for n in sizes:
        batch = workdir / f"batch-{n}"
        files = sum(1 for p in batch.iterdir() if p.suffix in (".xlsx", ".xls"))
        cal, audits = [], []
        for _ in range(args.runs):
            cal.append(_child([str(beside), "-c", CALAMINE, str(batch)], env))
            out = workdir / f"out-{n}"
            shutil.rmtree(out, ignore_errors=True)
            audits.append(_child([str(beside), "-c", AUDIT, str(batch), "--roster", str(batch / "roster.csv"),
                                  "--out", str(out), "--jobs", str(jobs)], env))
        cal_cpu = statistics.median(c for _r, c in cal)
        cal_wall = statistics.median(r["seconds"] for r, _c in cal)
        cpu = statistics.median(c for _r, c in audits)
        result = audits[len(audits) // 2][0]
        wall = statistics.median(r["seconds"] for r, _c in audits)
        peak, worker = result["peak_mb"], result["worker_peak_mb"]
        rows[n] = (cpu, cal_cpu, peak, worker)
        ratio = cpu / cal_cpu
        print(f"{n} workbooks ({files} files):")
        print(f"  floor: calamine loop      CPU {cal_cpu:7.2f} s ({cal_cpu / files * 1000:5.1f} ms/file; wall {cal_wall:6.2f} s)")
        print(f"  xltool audit              {ratio:5.2f} × calamine  (CPU {cpu:7.2f} s = {cpu / files * 1000:5.1f} ms/file, "
              f"of which python start-up {python:4.2f} s; wall {wall:6.2f} s = {files / wall:4.0f} files/s; "
              f"exit {result['exit']})   target ≤ 1.5 ×: {'met' if ratio <= 1.5 else 'NOT met'}")
        print(f"  peak memory               main process {peak:5.0f} MB, largest worker {worker:5.0f} MB")
        if args.openpyxl_sample:
            plain, _cpu = _child([str(beside), "-c", OPENPYXL, str(batch), str(args.openpyxl_sample)], env)
            rate = plain["files"] / plain["seconds"]
            print(f"  openpyxl loop ({plain['files']} files)  {rate:5.1f} files/s: the audit is {files / wall / rate:4.0f} × faster")
    if 300 in rows and 3000 in rows:
        small, large = rows[300], rows[3000]
        ratio = (large[2] + large[3]) / (small[2] + small[3])
        print(f"peak memory at 3000 = {ratio:4.2f} × at 300 (main + largest worker: {large[2] + large[3]:.0f} MB vs "
              f"{small[2] + small[3]:.0f} MB; main alone {large[2] / small[2]:4.2f} ×)   target ≤ 1.2 ×: "
              f"{'met' if ratio <= 1.2 else 'NOT met'}")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
