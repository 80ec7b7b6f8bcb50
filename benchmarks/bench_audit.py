"""Benchmark the batch audit against a plain openpyxl loop over the same files.

    python3 benchmarks/bench_audit.py [--n 1000] [--jobs N] [--workdir DIR] [--openpyxl-sample K]

1. Generates N workbooks with benchmarks/generate.py (a quarter with one injected fault,
   plus the broken files and a few older drafts) unless WORKDIR/batch already holds them.
2. Runs ``xltool audit`` (the library call behind the command: collect, check in parallel,
   record in history.sqlite, per-unit 问题清单 and annotated copies, 审核汇总.xlsx with its
   charts, 汇总数据.csv) into a fresh output folder, in a child process.
3. Runs ``openpyxl.load_workbook(path)`` over the same files, in another child process
   (all of them, or a sample of K with --openpyxl-sample K, the rate then extrapolated).

Each child reports its wall time and its peak memory: ru_maxrss of the process itself plus
ru_maxrss of its children (resource.getrusage; on Linux in KiB). Targets: at least 10× the
openpyxl loop, at least 100 workbooks/s, peak memory at most 1 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def _peak_mb() -> tuple[float, float]:
    """(self, children) peak resident memory in MB."""
    scale = 1024 if sys.platform != "darwin" else 1  # Linux reports KiB, macOS bytes
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1024
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale / 1024
    return self_kb / 1024, child_kb / 1024


def _phase_audit(batch: Path, out: Path, jobs: int | None) -> dict:
    from xltool.audit.run import AuditOptions, Progress, run_audit

    class Timing(Progress):
        def start(self, total: int, done: int) -> None:
            self.t_start = time.perf_counter()

        def stop(self) -> None:
            self.t_stop = time.perf_counter()

    timing = Timing()
    started = time.perf_counter()
    outcome = run_audit(AuditOptions(inputs=[batch], out=out, roster=batch / "roster.csv", jobs=jobs), timing)
    seconds = time.perf_counter() - started
    peak_self, peak_children = _peak_mb()
    return {"files": outcome.files, "units": len(outcome.units), "checked": outcome.checked, "seconds": seconds,
            "check_seconds": timing.t_stop - timing.t_start, "peak_self_mb": peak_self, "peak_children_mb": peak_children,
            "start_seconds": timing.t_start - started, "output_seconds": started + seconds - timing.t_stop,
            "with_findings": sum(1 for u in outcome.units if u.report and u.report.findings)}


def _phase_openpyxl(files: list[Path]) -> dict:
    import openpyxl

    started = time.perf_counter()
    failed = 0
    for path in files:
        try:
            openpyxl.load_workbook(path).close()
        except Exception:  # noqa: BLE001 - broken files fail fast, as in any loop
            failed += 1
    seconds = time.perf_counter() - started
    peak_self, peak_children = _peak_mb()
    return {"files": len(files), "failed": failed, "seconds": seconds, "peak_self_mb": peak_self,
            "peak_children_mb": peak_children}


def _child(args: list[str]) -> dict:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="workbooks to generate (default 1000)")
    parser.add_argument("--jobs", type=int, default=None, help="audit worker processes (default: CPU cores)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the batch and outputs here")
    parser.add_argument("--openpyxl-sample", type=int, default=0, help="time openpyxl on K files only (0: all)")
    parser.add_argument("--phase", choices=("audit", "openpyxl"), help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.phase == "audit":
        print(json.dumps(_phase_audit(args.batch, args.out, args.jobs)))
        return 0
    if args.phase == "openpyxl":
        files = sorted(p for p in args.batch.iterdir() if p.suffix in (".xlsx", ".xls"))
        if args.openpyxl_sample:
            files = files[: args.openpyxl_sample]
        print(json.dumps(_phase_openpyxl(files)))
        return 0

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="xltool-bench-"))
    batch = workdir / "batch"
    if not (batch / "manifest.json").is_file():
        import generate

        started = time.perf_counter()
        generate.generate(args.n, batch, seed=1, duplicates=max(1, args.n // 200))
        print(f"generated {args.n} workbooks (+ broken files and drafts) in {time.perf_counter() - started:.1f} s")
    files = sorted(p for p in batch.iterdir() if p.suffix in (".xlsx", ".xls"))
    out = workdir / "out"
    shutil.rmtree(out, ignore_errors=True)
    jobs = args.jobs or os.cpu_count() or 1
    print(f"{len(files)} files in {batch}; {os.cpu_count()} CPU cores; audit with {jobs} worker processes")

    audit = _child(["--phase", "audit", "--batch", str(batch), "--out", str(out), "--jobs", str(jobs)])
    rate = audit["files"] / audit["seconds"]
    peak = audit["peak_self_mb"] + audit["peak_children_mb"]
    print(f"xltool audit:      {audit['files']} files in {audit['seconds']:.1f} s = {rate:.0f} files/s "
          f"(checking alone {audit['checked'] / audit['check_seconds']:.0f} files/s; "
          f"{audit['with_findings']} units with findings got their 问题清单 and annotated copy); "
          f"peak memory {peak:.0f} MB (self {audit['peak_self_mb']:.0f} + children {audit['peak_children_mb']:.0f})")
    print(f"  phases:          collect and hash {audit['start_seconds']:.2f} s, check {audit['check_seconds']:.2f} s, "
          f"outputs {audit['output_seconds']:.2f} s")

    sample = ["--openpyxl-sample", str(args.openpyxl_sample)] if args.openpyxl_sample else []
    plain = _child(["--phase", "openpyxl", "--batch", str(batch), *sample])
    plain_rate = plain["files"] / plain["seconds"]
    print(f"openpyxl loop:     {plain['files']} files in {plain['seconds']:.1f} s = {plain_rate:.1f} files/s"
          f"{' (sample)' if args.openpyxl_sample else ''}; peak memory "
          f"{plain['peak_self_mb'] + plain['peak_children_mb']:.0f} MB")
    speedup = rate / plain_rate
    print(f"speed-up:          {speedup:.1f}x (target >= 10x); throughput target >= 100 files/s: "
          f"{'met' if rate >= 100 else 'NOT met'}; memory target <= 1024 MB: {'met' if peak <= 1024 else 'NOT met'}")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
