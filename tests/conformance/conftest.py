"""The conformance corpus's summary line: every case's outcome is written to a shared folder
(also from pytest-xdist workers) and the session's terminal summary adds them up."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from corpus import RESULTS_ENV as ENV, summary_line


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: the controller made the folder
        return
    folder = Path(tempfile.mkdtemp(prefix="xltool-conformance-"))
    os.environ[ENV] = str(folder)
    config._conformance_results = folder  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = getattr(config, "_conformance_results", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    folder = getattr(config, "_conformance_results", None)
    if folder is None or not Path(folder).is_dir():
        return
    rows = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(Path(folder).glob("*.json"))]
    if rows:
        terminalreporter.write_line(summary_line(rows))
