"""Shared fixtures. External tools are required in CI (CI=true) and optional elsewhere."""

from __future__ import annotations

import os

import pytest

from xltool.office import find_soffice, find_uno_python


def _unavailable(what: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is required in CI but was not found")
    pytest.skip(f"{what} not installed")


@pytest.fixture(scope="session")
def soffice() -> str:
    """Path of LibreOffice's soffice."""
    path = find_soffice()
    if path is None:
        _unavailable("LibreOffice (soffice)")
    return path


@pytest.fixture(scope="session")
def uno_python(soffice: str) -> str:
    """A Python that can `import uno` (Debian: /usr/bin/python3 with python3-uno)."""
    path = find_uno_python()
    if path is None:
        _unavailable("Python with the uno module (python3-uno)")
    return path


# The conformance corpus's summary line (tests/conformance): each case's outcome is written to a
# folder made here (xdist workers inherit its path) and added up when the session ends.
# Files built once per session and shared by the workers (tests/session_files.py) live in one
# more folder the controller makes and removes.
def pytest_configure(config: pytest.Config) -> None:
    from conformance.corpus import open_results
    from session_files import open_folder

    open_results(config)
    open_folder(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    from conformance.corpus import close_results
    from session_files import close_folder

    close_results(config)
    close_folder(config)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    from conformance.corpus import print_summary

    print_summary(terminalreporter, config)
