"""What a release carries: one version everywhere, a wheel with everything the package needs at
run time, extras that cover what each part imports, a quickstart for users; and the Chinese
of two texts a user meets on the way (the fields table's types, the desk password prompt)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
import zipfile
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from helpers import ROOT, scratch
from typer.testing import CliRunner

import xltool
from xltool.cli import app

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_version_is_pep_440_and_the_changelog_has_its_section():
    from packaging.version import Version

    version = Version(xltool.__version__)
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    if version.is_devrelease:
        assert "\n## [Unreleased]" in changelog and xltool.__version__ in changelog
    else:
        assert re.search(rf"^## \[{re.escape(xltool.__version__)}\] — \d{{4}}-\d\d-\d\d$", changelog, re.M)
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "xltool.__version__"}


def test_version_option():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"xltool {xltool.__version__}\n"


# -- the wheel ----------------------------------------------------------------------------------

@cache
def _wheel() -> Path:
    out = scratch("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(out)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = out.glob("xltool-*.whl")
    return wheel


def _package_files() -> set[str]:
    """Every file of the package a run may need: tracked by git, or found in the tree (a .mo built here)."""
    try:
        tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "xltool"], capture_output=True, text=True,
                                 check=True, timeout=60).stdout.split()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: the tree is all there is
        tracked = [str(p.relative_to(ROOT)) for p in (ROOT / "xltool").rglob("*") if p.is_file()]
    built = [str(p.relative_to(ROOT)) for p in (ROOT / "xltool" / "locale").rglob("*.mo")]
    return {f for f in tracked + built if "__pycache__" not in f and not f.endswith(".pyc")}


def test_the_wheel_carries_everything_the_package_needs():
    with zipfile.ZipFile(_wheel()) as zf:
        names = set(zf.namelist())
        meta = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        entry_points = zf.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    missing = sorted(_package_files() - names)
    assert not missing, f"not in the wheel: {missing[:20]}"
    assert {n for n in names if n.endswith(".po")} and {n for n in names if n.endswith(".toml")}
    assert not [n for n in names if n.startswith(("tests/", "examples/", "benchmarks/"))]
    assert re.search(rf"^Version: {re.escape(xltool.__version__)}$", meta, re.M)
    assert _wheel().name.startswith(f"xltool-{xltool.__version__}-")
    for extra in ("web", "addin", "test"):
        assert re.search(rf"^Provides-Extra: {extra}$", meta, re.M), extra
    for name, target in PYPROJECT["project"]["scripts"].items():
        assert f"{name} = {target}" in entry_points


# -- the extras ---------------------------------------------------------------------------------

# Imports that no pip package provides: LibreOffice's own Python module (python3-uno), used only by
# the driver that LibreOffice's Python runs.
NOT_FROM_PIP = {"uno", "com"}
# The standard library of other Python versions, imported where this one's name fails (digests.py).
OTHER_STDLIB = {"_sha2"}  # CPython 3.12+: _sha256 renamed


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _closure(requirements: list[str]) -> set[str]:
    """The distributions a set of requirements installs (their own requirements included)."""
    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        name = req.name.lower().replace("_", "-")
        if name == "xltool":  # an extra of itself: [test] includes [web,addin]
            for extra in req.extras:
                todo += [Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"][extra]]
            continue
        if name in seen:
            continue
        seen.add(name)
        for sub in metadata.requires(req.name) or []:
            sub_req = Requirement(sub)
            if sub_req.marker is None or sub_req.marker.evaluate({"extra": ""}):
                todo.append(sub_req)
    return seen


def _imports(files) -> set[str]:
    """The top-level modules *files* import from outside the standard library and xltool."""
    top = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                top |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                top.add(node.module.split(".")[0])
    return {m for m in top if m not in sys.stdlib_module_names | OTHER_STDLIB and m != "xltool" and m not in NOT_FROM_PIP}


OPTIONAL = {"web": ("web",), "addin": ("addin",)}  # package folder → the extras it needs


def _part_of(relative: Path) -> str:
    """The optional part a module belongs to: its folder, or for a command module of the CLI
    package (xltool/cli/web.py, loaded only when ``xltool serve`` runs) its own name."""
    if relative.parts[0] in OPTIONAL:
        return relative.parts[0]
    if relative.parts[0] == "cli" and relative.stem in OPTIONAL:
        return relative.stem
    return ""


def _files(part: str) -> list[Path]:
    package = ROOT / "xltool"
    return sorted(p for p in package.rglob("*.py") if _part_of(p.relative_to(package)) == part)


@pytest.mark.parametrize("part", ["", *OPTIONAL], ids=["base", *OPTIONAL])
def test_each_extra_installs_what_its_part_imports(part):
    project = PYPROJECT["project"]
    extras = OPTIONAL.get(part, ())
    installed = _closure(project["dependencies"] + [r for e in extras for r in project["optional-dependencies"][e]])
    providers = metadata.packages_distributions()
    missing = {}
    for module in sorted(_imports(_files(part))):
        dists = {d.lower().replace("_", "-") for d in providers.get(module, [])}
        if not dists & installed:
            missing[module] = sorted(dists) or "not installed here"
    wanted = f"xltool[{','.join(extras)}]" if extras else "xltool"
    assert not missing, f"xltool/{part} imports what {wanted} does not install: {missing}"


# -- what a user reads ----------------------------------------------------------------------------

def test_the_quickstart_installs_what_a_user_needs_and_tests_apart():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^## 快速开始.*?```bash\n(.*?)```", readme, re.S | re.M).group(1).strip().splitlines()
    assert len(block) == 2 and block[1] == "bash .ci/run"
    assert "[test]" not in block[0] and "xltool check-workbook examples/luosong_2023_filled.xlsx" in block[0]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "awk '/^## 快速开始/" in ci and "pip install -q -e '.[test]'" in ci
    for doc in (ROOT / "docs").glob("*.md"):  # never a bare pip install of the test extra outside a venv
        for line in doc.read_text(encoding="utf-8").splitlines():
            assert not re.search(r"(?<!\.venv/bin/)(?<!\.venv\\Scripts\\)\bpip install -e '\.\[test\]'", line), \
                (doc.name, line)


def test_the_fields_table_says_its_types_in_chinese():
    import os

    env = {**os.environ, "XLTOOL_LANG": "zh_CN", "COLUMNS": "200", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "xltool", "fields"], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    table = done.stdout
    assert "类型" in table and "金额（万元）/公式" in table and "数值/财政局设定" in table and "│ 文字 " in table
    head = next(line for line in table.splitlines() if "类型" in line)
    column = [c.strip() for c in head.split("┃")].index("类型")
    kinds = {line.split("│")[column].strip() for line in table.splitlines() if line.startswith("│")}
    assert kinds and all(re.search(r"[\u4e00-\u9fff]", k) for k in kinds if k), kinds


def test_the_desk_password_is_asked_twice_in_chinese(tmp_path, monkeypatch):
    monkeypatch.setenv("XLTOOL_LANG", "zh_CN")
    password = "芦淞区绩效股-2023"
    result = CliRunner().invoke(app, ["serve", "--data", str(tmp_path), "--set-password"],
                                input=f"{password}\n另一个口令123\n{password}\n{password}\n")
    assert result.exit_code == 0, result.output
    output = result.output
    assert "请再输入一次同一口令" in output and "两次输入的口令不一致" in output
    assert "Repeat" not in output and "confirmation" not in output and "do not match" not in output
    from xltool.web.auth import verify_password
    from xltool.web.config import load_config

    assert verify_password(load_config(tmp_path), password)
