"""Start-up: whole commands as ratios to the interpreter's own start, measured in the same run.

    python benchmarks/bench_startup.py [--runs N]

Floors, measured first and again last (the figures of a shared machine drift):
  * ``python -c pass`` with this interpreter: the cost of any process at all;
  * a python-calamine loop over the same workbook: opening it and reading every sheet, the
    least any checker could do with the file.
Figures (each as a ratio to its floor, the absolute median and CPU time beside it):
  * ``xltool --help``, ``xltool check-workbook examples/luosong_2023_filled.xlsx``,
    ``xltool make-report`` and ``xltool check-report`` as whole processes;
  * ``xltool --help`` is measured warm: after its first run the help is written from the memo
    of Typer's output in the cache (``xltool.cli.helpmemo``), which every later run with the same
    terminal, language and code is; the cold figure (the memo removed before each run, so Typer
    draws and records it) is printed beside it;
  * ``check-workbook`` once more through the Typer application alone (what the light entry,
    ``xltool.cli.light``, saves is the difference) and with ``--format json``;
  * ``check-workbook`` once more with an empty cache folder (the first run on a machine);
  * in one process: the first, second and tenth check of the example (read and rules).
Targets (issue 20): check-workbook ≤ 6 × python, --help ≤ 4 ×, second check ≤ 1.5 × the tenth.
The floor is this interpreter's start, as the issue measured it. In a development install
(``pip install -e``) every start also runs the editable finder, which imports pathlib, re and
enum: that floor is higher than an installed wheel's. The second floor, a bare virtual
environment made from the same interpreter, is what a wheel install starts at; the check is
shown as a ratio to it too, so that no one reads the first ratio as the installed one.
Modules are compiled to bytecode first, as ``pip install`` does (see the README).
"""

from __future__ import annotations

import argparse
import compileall
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
EXAMPLE = ROOT / "examples" / "luosong_2023_filled.xlsx"
CORRECTIONS = ROOT / "examples" / "luosong_2023_corrections.yaml"

IN_PROCESS = r"""
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from xltool.check.checker import check_path
imported = time.perf_counter() - t0
times = []
for _ in range(10):
    t = time.perf_counter()
    check_path(Path(sys.argv[1]))
    times.append(time.perf_counter() - t)
print(json.dumps({"imported": imported, "times": times}))
"""

# The command line read by the Typer application, as before the light entry (xltool.cli.light).
TYPER_ONLY = "from xltool.cli.collector import pause; pause(); from xltool.cli.registry import run; run()"

CALAMINE = r"""
import json, sys, time
from python_calamine import CalamineWorkbook
times = []
for _ in range(10):
    t = time.perf_counter()
    wb = CalamineWorkbook.from_path(sys.argv[1])
    for name in wb.sheet_names:
        wb.get_sheet_by_name(name).to_python()
    times.append(time.perf_counter() - t)
print(json.dumps({"times": times}))
"""


def _once(cmd: list[str], env: dict) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, done.returncode


def _run(cmd: list[str], runs: int, env: dict, setup=None) -> tuple[float, float, int, float, float]:
    """Medians of *cmd* in fresh processes, each run paired with a ``python -c pass`` right before
    it (the floor drifts with the machine's load): (wall s, CPU s, exit code, floor wall s,
    floor CPU s). One warm-up run first."""
    walls, cpus, floor_walls, floor_cpus, code = [], [], [], [], None
    for n in range(runs + 1):
        floor = _once([sys.executable, "-c", "pass"], env)
        if setup is not None:
            setup()
        wall, cpu, code = _once(cmd, env)
        if n:  # the first run warms the page cache
            walls.append(wall)
            cpus.append(cpu)
            floor_walls.append(floor[0])
            floor_cpus.append(floor[1])
    return (statistics.median(walls), statistics.median(cpus), code, statistics.median(floor_walls),
            statistics.median(floor_cpus))


def _json_of(cmd: list[str], env: dict) -> dict:
    import json

    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args(argv)

    compileall.compile_dir(str(ROOT / "xltool"), quiet=1)
    beside = Path(sys.executable).with_name("xltool")
    xltool = [str(beside)] if beside.is_file() else [sys.executable, "-m", "xltool"]
    with tempfile.TemporaryDirectory(prefix="xltool-bench-") as tmp:
        tmp = Path(tmp)
        env = dict(os.environ, XLTOOL_LANG="zh_CN", PYTHONPATH=str(ROOT), COLUMNS="120",
                   XLTOOL_CACHE_DIR=str(tmp / "cache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        # A report to check, made once from the corrected example.
        import json

        import yaml

        data = yaml.safe_load((ROOT / "examples" / "luosong_2023.yaml").read_text(encoding="utf-8"))
        data["values"].update(yaml.safe_load(CORRECTIONS.read_text(encoding="utf-8"))["values"])
        (tmp / "corrected.json").write_text(json.dumps(data, ensure_ascii=False, default=str), encoding="utf-8")
        corrected = tmp / "corrected.xlsx"
        subprocess.run([*xltool, "fill", str(ROOT / "workbook_templates" / "selfeval_2023.xlsx"),
                        str(tmp / "corrected.json"), "-o", str(corrected)], env=env, check=True, capture_output=True)
        report = tmp / "report.docx"
        subprocess.run([*xltool, "make-report", str(corrected), "-o", str(report)], env=env, check=True,
                       capture_output=True)

        bare = tmp / "bare-venv"  # no editable finder, no packages: what a wheel install starts at
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
        bare_python = bare / "bin" / "python"
        bare_floor = statistics.median(_once([str(bare_python), "-c", "pass"], env)[1] for _ in range(args.runs))
        calamine = statistics.median(_json_of([sys.executable, "-c", CALAMINE, str(EXAMPLE)], env)["times"])
        memo = tmp / "cache" / "help"
        rows = [
            ("xltool --help (warm: from the memo)", _run([*xltool, "--help"], args.runs, env), 4.0),
            ("  the same, cold (Typer draws, recorded)", _run([*xltool, "--help"], args.runs, env,
                                                           setup=lambda: shutil.rmtree(memo, ignore_errors=True)),
             None),
            ("xltool check-workbook (example)", _run([*xltool, "check-workbook", str(EXAMPLE)], args.runs, env), 6.0),
            ("  the same through Typer alone", _run([sys.executable, "-c", TYPER_ONLY, "check-workbook", str(EXAMPLE)],
                                                   args.runs, env), None),
            ("  the same, --format json", _run([*xltool, "check-workbook", "--format", "json", str(EXAMPLE)],
                                              args.runs, env), None),
        ]
        empty = tmp / "cache-empty"
        cold_env = dict(env, XLTOOL_CACHE_DIR=str(empty))
        rows.append(("  the same, empty cache (first run)",
                     _run([*xltool, "check-workbook", str(EXAMPLE)], args.runs, cold_env,
                          setup=lambda: shutil.rmtree(empty, ignore_errors=True)), None))
        out_docx = tmp / "again.docx"
        rows.append(("xltool make-report", _run([*xltool, "make-report", str(corrected), "-o", str(out_docx),
                                                 "--force"], args.runs, env), None))
        rows.append(("xltool check-report", _run([*xltool, "check-report", str(report)], args.runs, env), None))
        in_process = _json_of([sys.executable, "-c", IN_PROCESS, str(EXAMPLE)], env)

    print(f"xltool start-up benchmark ({args.runs} runs each, medians; {sys.executable})")
    print("  each command as a ratio to `python -c pass` run just before it (wall; CPU beside)")
    for name, (wall, cpu, code, floor, floor_cpu), target in rows:
        verdict = "" if target is None else f"   target ≤ {target:g} ×: {'met' if wall / floor <= target else 'NOT met'}"
        print(f"  {name:<40} {wall / floor:5.1f} × python  ({wall * 1000:5.0f} ms vs {floor * 1000:4.1f} ms; CPU "
              f"{cpu / floor_cpu:4.1f} ×: {cpu * 1000:4.0f} vs {floor_cpu * 1000:4.1f} ms; exit {code}){verdict}")
    check_cpu = rows[1][1][1]
    print(f"  floor without the editable install's finder (a bare venv, CPU): {bare_floor * 1000:.1f} ms; "
          f"check-workbook is {check_cpu / bare_floor:.1f} × that (an installed wheel's ratio)")
    print(f"  floor: calamine read of the file {calamine * 1000:7.1f} ms (in one process, median of 10)")
    times = in_process["times"]
    first, second, tenth = times[0], times[1], times[9]
    print(f"  in one process: import {in_process['imported'] * 1000:.0f} ms, then checks of "
          f"{', '.join(f'{t * 1000:.0f}' for t in times)} ms")
    print(f"    first check  {first / tenth:5.2f} × the tenth  ({first * 1000:6.1f} ms)")
    print(f"    second check {second / tenth:5.2f} × the tenth  ({second * 1000:6.1f} ms)   target ≤ 1.5 ×: "
          f"{'met' if second / tenth <= 1.5 else 'NOT met'}")
    print(f"    tenth check  {tenth / calamine:5.2f} × calamine ({tenth * 1000:6.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
