"""Word report speed: make-report and check-report, in-process and as commands.

    python benchmarks/bench_report.py [--runs N] [--cli-runs N]

In-process: ``make_report`` on the corrected example (read and check the workbook, build the
document, save it atomically) and ``check_document`` on its output (safety gate, python-docx,
extraction, every rule) and on the example report as a unit types it in Word (tests/unit_report.py). The CLI
figures are wall times of ``xltool make-report`` and ``xltool check-report`` in fresh processes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def _median_ms(times: list[float]) -> str:
    return f"median {statistics.median(times) * 1000:7.1f} ms  (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})"


def _timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--cli-runs", type=int, default=3)
    args = parser.parse_args(argv)

    import yaml

    from unit_report import unit_report
    from xltool.template.fill import fill_workbook
    from xltool.template.writer import write_template
    from xltool.word.check import check_document
    from xltool.word.writer import make_report

    with tempfile.TemporaryDirectory(prefix="xltool-bench-") as tmp:
        folder = Path(tmp)
        data = yaml.safe_load((ROOT / "examples" / "luosong_2023.yaml").read_text(encoding="utf-8"))["values"]
        data.update(yaml.safe_load((ROOT / "examples" / "luosong_2023_corrections.yaml").read_text(encoding="utf-8"))["values"])
        filled = fill_workbook(write_template(folder / "template.xlsx", 2023), data, folder / "corrected.xlsx")
        report = folder / "报告.docx"
        seed = unit_report(folder / "unit.docx")
        make_report(filled, report)  # warm caches (form, rules, catalogues, python-docx)
        check_document(report)
        made = _timed(lambda: make_report(filled, report), args.runs)
        checked = _timed(lambda: check_document(report), args.runs)
        checked_seed = _timed(lambda: check_document(seed), args.runs)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cli = lambda *a: subprocess.run([sys.executable, "-m", "xltool", *a], env=env, capture_output=True)  # noqa: E731
        cli_make = _timed(lambda: cli("make-report", str(filled), "-o", str(folder / "cli.docx")), args.cli_runs)
        cli_check = _timed(lambda: cli("check-report", str(report)), args.cli_runs)
        print(f"make-report in-process ({args.runs} runs):            {_median_ms(made)}")
        print(f"check-report in-process, generated report:        {_median_ms(checked)}")
        print(f"check-report in-process, a unit's hand-typed report:  {_median_ms(checked_seed)}")
        print(f"xltool make-report command ({args.cli_runs} runs):       {_median_ms(cli_make)}")
        print(f"xltool check-report command:                       {_median_ms(cli_check)}")
        print(f"report size: {report.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
