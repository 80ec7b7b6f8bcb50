"""The help memo (issue 20): ``xltool --help`` and every command's help are written from the
derived cache byte for byte as Typer draws them, with Typer's exit code, without importing Typer
or rich; everything the help depends on is in the key, and anything unusual is Typer's."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, scratch

from xltool.cli.helpmemo import ENVIRONMENT

# The console script's entry, as ``xltool`` runs it; at exit it notes whether Typer was imported.
ENTRY = (
    "import atexit, os, sys\n"
    "sys.argv[0] = 'xltool'\n"
    "def note():\n"
    "    with open(os.environ['HELP_MEMO_PROBE'], 'w') as fh:\n"
    "        fh.write(' '.join(sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'rich', 'click'})))\n"
    "atexit.register(note)\n"
    "from xltool.cli import main\n"
    "main()\n"
)
# The Typer application alone, as the command line went before the light entry and the memo.
TYPER = "import sys\nsys.argv[0] = 'xltool'\nfrom xltool.cli.registry import run\nrun()\n"

# Everything the key reads is cleared, then each case sets its own.
CLEARED = (*ENVIRONMENT, "PYTHONIOENCODING", "PYTHONUTF8", "XLTOOL_CACHE_DIR", "XDG_CACHE_HOME")


def _env(cache: Path, extra: dict, pythonpath: Path = ROOT) -> dict:
    """The environment of a run (each run's folder is an empty one: ``-c`` puts it first on the
    import path)."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(PYTHONPATH=str(pythonpath), XLTOOL_CACHE_DIR=str(cache), **extra)
    return env


def _typer(args: list[str], env: dict) -> tuple[int, bytes, bytes]:
    done = subprocess.run([sys.executable, "-c", TYPER, *args], capture_output=True, stdin=subprocess.DEVNULL,
                          cwd=scratch("help-memo-cwd"), env=env, timeout=120)
    return done.returncode, done.stdout, done.stderr


# Many command lines through the Typer application in one process (the reference for each line;
# Typer keeps nothing from one line to the next that its help shows): each line's output follows
# a marker on both streams, the exit codes are written to a file at the end.
TYPER_MANY = """
import json, sys
sys.argv[0] = 'xltool'
from xltool.cli.registry import app
runs, codes = json.loads(sys.argv[1]), []
for i, args in enumerate(runs):
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
        stream.buffer.write(b"\\n@@run %d@@\\n" % i)
        stream.buffer.flush()
    try:
        app(args, prog_name="xltool")
        codes.append(0)
    except SystemExit as exc:
        codes.append(exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1))
    sys.stdout.flush()
    sys.stderr.flush()
with open(sys.argv[2], "w") as fh:
    json.dump(codes, fh)
"""


def _typer_many(lines: list[list[str]], env: dict) -> list[tuple[int, bytes, bytes]]:
    import json
    import re

    codes = scratch("help-memo-probes") / "codes.json"
    done = subprocess.run([sys.executable, "-c", TYPER_MANY, json.dumps(lines), str(codes)], capture_output=True,
                          stdin=subprocess.DEVNULL, cwd=scratch("help-memo-cwd"), env=env, timeout=300, check=True)
    outs = re.split(rb"\n@@run \d+@@\n", done.stdout)[1:]
    errs = re.split(rb"\n@@run \d+@@\n", done.stderr)[1:]
    return list(zip(json.loads(codes.read_text()), outs, errs, strict=True))


def _xltool(args: list[str], env: dict) -> tuple[tuple[int, bytes, bytes], bool]:
    """(exit code, stdout, stderr) of ``xltool ARGS`` and whether it imported Typer."""
    probe = scratch("help-memo-probes") / "probe"
    probe.unlink(missing_ok=True)
    done = subprocess.run([sys.executable, "-c", ENTRY, *args], capture_output=True, stdin=subprocess.DEVNULL,
                          cwd=scratch("help-memo-cwd"), env={**env, "HELP_MEMO_PROBE": str(probe)}, timeout=120)
    return (done.returncode, done.stdout, done.stderr), "typer" in probe.read_text()


def _cold_then_warm(args: list[str], env: dict, reference=None) -> tuple[int, bytes, bytes]:
    """Typer's own output for *args*; the first run (Typer, recorded) and the second (the memo)
    give exactly that."""
    reference = reference or _typer(args, env)
    cold, cold_typer = _xltool(args, env)
    warm, warm_typer = _xltool(args, env)
    where = " ".join(["xltool", *args])
    assert b"Traceback" not in reference[2], reference[2].decode("utf-8", "replace")
    assert cold == reference, where
    assert warm == reference, where
    assert (cold_typer, warm_typer) == (True, False), where  # drawn by Typer once, then written from the memo
    return reference


def _commands() -> list[list[str]]:
    import typer

    from xltool.cli.registry import COMMANDS, app, load

    paths: list[list[str]] = []

    def walk(command, path: list[str]) -> None:
        paths.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, [*path, name])

    root = typer.main.get_command(app)
    for entry in COMMANDS:
        root.commands[entry.name] = load(entry, "rich")
    walk(root, [])
    return paths


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_every_help_page_from_the_memo_is_typers(lang):
    """The root's help, every command's and every subcommand's, and ``xltool`` alone (the
    root's help with exit code 2)."""
    paths = _commands()
    assert len(paths) > 15 and ["mail", "test"] in paths and ["check-workbook"] in paths
    cache = scratch(f"help-memo-pages-{lang}") / "cache"
    env = _env(cache, {"XLTOOL_LANG": lang, "COLUMNS": "100"})
    lines = [[*path, "--help"] for path in paths]
    for line, reference in zip(lines, _typer_many(lines, env), strict=True):
        code, out, _err = _cold_then_warm(line, env, reference)
        assert code == 0 and b"--help" in out
    code, out, err = _cold_then_warm([], env)
    assert code == 2 and b"--help" in out
    assert len(list((cache / "help").iterdir())) == len(paths) + 1


# What rich and Typer read: width, colour, terminal, language, encoding (one cache for all of them,
# so a key that missed one would write another case's bytes).
CASES = [
    {"XLTOOL_LANG": "zh_CN", "COLUMNS": "100"},
    {"XLTOOL_LANG": "en", "COLUMNS": "100"},
    {"XLTOOL_LANG": "zh_CN", "COLUMNS": "60"},
    {"XLTOOL_LANG": "zh_CN", "COLUMNS": "132", "LINES": "10"},
    {"XLTOOL_LANG": "zh_CN"},  # no COLUMNS: rich's 80 for what is not a terminal
    {"XLTOOL_LANG": "zh_CN", "COLUMNS": "100", "NO_COLOR": "1"},
    {"XLTOOL_LANG": "zh_CN", "COLUMNS": "100", "FORCE_COLOR": "1", "TERM": "xterm-256color"},
    {"XLTOOL_LANG": "zh_CN", "COLUMNS": "100", "FORCE_COLOR": "1", "TERM": "xterm-256color", "COLORTERM": "truecolor"},
    {"XLTOOL_LANG": "en", "COLUMNS": "100", "FORCE_COLOR": "1", "NO_COLOR": "1", "TERM": "xterm"},
    {"XLTOOL_LANG": "zh_CN", "COLUMNS": "100", "TTY_COMPATIBLE": "1", "TERM": "dumb"},
    {"XLTOOL_LANG": "zh_CN", "COLUMNS": "100", "TERMINAL_WIDTH": "70"},
    {"XLTOOL_LANG": "zh_CN", "COLUMNS": "100", "PYTHONIOENCODING": "gbk"},
    {"XLTOOL_LANG": "zh_CN", "COLUMNS": "100", "PYTHONIOENCODING": "ascii"},
    {"XLTOOL_LANG": "en", "COLUMNS": "80", "PYTHONIOENCODING": "ascii"},
    {"XLTOOL_LANG": "zh_CN", "COLUMNS": "100", "PYTHONIOENCODING": "gbk:ignore"},
]


def test_each_environment_has_its_own_memo():
    cache = scratch("help-memo-cases") / "cache"
    seen = set()
    for i, case in enumerate(CASES):
        lines = [["--help"], ["check-workbook", "--help"] if i % 2 else ["mail", "test", "--help"]]
        for args, reference in zip(lines, _typer_many(lines, _env(cache, case)), strict=True):
            got = _cold_then_warm(args, _env(cache, case), reference)
            assert got[0] == 0
            seen.add((tuple(args), got[1]))
    # The cases do draw different bytes (else they would not test the key).
    assert len(seen) > 1.5 * len(CASES)


def _on_terminal(code: str, args: list[str], env: dict, columns: int) -> tuple[int, bytes]:
    """Run with stdout and stderr on a pseudo-terminal of *columns*; (exit code, what it shows)."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=slave, cwd=scratch("help-memo-cwd"), env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the terminal's other side closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=120), b"".join(chunks)


def test_a_terminal_s_size_and_colours_are_keyed():
    cache = scratch("help-memo-terminal") / "cache"
    for columns in (100, 70, 100):
        env = _env(cache, {"XLTOOL_LANG": "zh_CN", "TERM": "xterm-256color"})
        env["HELP_MEMO_PROBE"] = str(scratch("help-memo-probes") / "terminal")
        reference = _on_terminal(TYPER, ["--help"], env, columns)
        assert reference[0] == 0 and b"\x1b[" in reference[1]  # colours: rich saw a terminal
        for _run in range(2):
            assert _on_terminal(ENTRY, ["--help"], env, columns) == reference, columns
    assert len(list((cache / "help").iterdir())) == 2


def test_lines_the_memo_does_not_key_are_typers():
    """Usage errors (through the light entry), options, paths or unknown names before --help."""
    cache = scratch("help-memo-unusual") / "cache"
    env = _env(cache, {"XLTOOL_LANG": "zh_CN", "COLUMNS": "100"})
    for args in (["check-workbook"], ["check-workbook", "--bogus"], ["check-workbook", "a.xlsx", "--help"],
                 ["check-workbook", "--format", "json", "--help"], ["--help", "check-workbook"],
                 ["no-such-command", "--help"], ["mail", "no-such", "--help"], ["--version"]):
        reference = _typer(args, env)
        for _run in range(2):
            got, used_typer = _xltool(args, env)
            assert got == reference, args
            assert used_typer, args
        if args[0] == "check-workbook" and "--help" not in args:
            assert reference[0] == 2 and "用法".encode() in reference[2]  # the usage error, on stderr
    help_entries = list((cache / "help").iterdir()) if (cache / "help").exists() else []
    assert help_entries == []  # nothing stored for errors or lines it cannot key


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "help").iterdir())


def test_a_damaged_or_foreign_entry_is_drawn_again(monkeypatch):
    cache = scratch("help-memo-damaged") / "cache"
    env = _env(cache, {"XLTOOL_LANG": "zh_CN", "COLUMNS": "100"})
    reference = _cold_then_warm(["fields", "--help"], env)
    [entry] = _entries(cache)
    blob = bytearray(entry.read_bytes())
    blob[-5] ^= 0xFF  # a damaged byte: the SHA-256 no longer matches
    entry.write_bytes(bytes(blob))
    got, used_typer = _xltool(["fields", "--help"], env)
    assert got == reference and used_typer
    assert _xltool(["fields", "--help"], env) == (reference, False)  # stored again
    entry.write_bytes(entry.read_bytes()[:20])  # truncated
    assert _xltool(["fields", "--help"], env) == (reference, True)
    # An entry as written by the cache, but for another key (as a clash of names would be), or
    # not in the memo's shape: never written out.
    from xltool import cache as derived

    monkeypatch.setenv("XLTOOL_CACHE_DIR", str(cache))
    name = f"help/{entry.name}"
    for foreign in (("another key", [(1, b"not the help\n")], 0), ("x", "y"), [1, 2, 3]):
        derived.store(name, foreign)
        got, used_typer = _xltool(["fields", "--help"], env)
        assert got == reference and used_typer and b"not the help" not in got[1]


def test_a_cache_that_cannot_be_written_leaves_the_help_to_typer():
    folder = scratch("help-memo-readonly")
    blocker = folder / "a-file"
    blocker.write_text("not a folder")
    env = _env(blocker / "cache", {"XLTOOL_LANG": "zh_CN", "COLUMNS": "100"})
    reference = _typer(["--help"], env)
    assert reference[0] == 0
    for _run in range(2):
        assert _xltool(["--help"], env) == (reference, True)


def test_a_change_to_the_code_draws_the_help_again():
    folder = scratch("help-memo-code")
    shutil.copytree(ROOT / "xltool", folder / "xltool", ignore=shutil.ignore_patterns("__pycache__"))
    env = _env(folder / "cache", {"XLTOOL_LANG": "en", "COLUMNS": "100"}, pythonpath=folder)
    before = _cold_then_warm(["--help"], env)
    commands = folder / "xltool" / "cli" / "commands.py"
    source = commands.read_text(encoding="utf-8")
    old = "List the form's fields: id, sheet, cell, label, type, unit."
    assert old in source
    commands.write_text(source.replace(old, "List the fields of the form (changed)."), encoding="utf-8")
    after = _cold_then_warm(["--help"], env)
    assert b"(changed)" in after[1] and after != before


def test_the_key_holds_everything_rich_and_typer_read(monkeypatch):
    from xltool.cli import helpmemo

    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BytesIO(), encoding="utf-8"))
    monkeypatch.setattr(sys, "stderr", io.TextIOWrapper(io.BytesIO(), encoding="utf-8"))
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    base = helpmemo.key(["--help"])
    assert base is not None and base != helpmemo.key(["fields", "--help"])
    keys = {base}
    for name in ENVIRONMENT:
        for value in ("", "1"):
            monkeypatch.setenv(name, value)
            keys.add(helpmemo.key(["--help"]))
        monkeypatch.delenv(name)
    assert len(keys) == 1 + 2 * len(ENVIRONMENT)
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BytesIO(), encoding="gbk"))
    assert helpmemo.key(["--help"]) not in keys
    # Not keyed: shell completion, a stream that is not a plain text stream, other lines.
    monkeypatch.setenv("_XLTOOL_COMPLETE", "bash_complete")
    assert helpmemo.key(["--help"]) is None
    monkeypatch.delenv("_XLTOOL_COMPLETE")
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert helpmemo.key(["--help"]) is None
    for line in (["a.xlsx", "--help"], ["check-workbook"], ["-v", "--help"], ["a", "b", "c", "--help"]):
        assert not helpmemo.memoable(line)
