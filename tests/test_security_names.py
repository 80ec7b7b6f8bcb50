"""Issue 14: a workbook's text never names a path. Every file every command writes after a
unit's name or code lands inside the folder the user named (or the working folder).

Hostile 单位名称 / 单位编码: traversal, an absolute path, a Windows device name, 300
characters, names equal after normalisation (full-width, case), a right-to-left override."""

from __future__ import annotations

import email
import os
import tempfile
from email import policy
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import edit_inputs, zh_locale  # noqa: F401 (fixtures)
from xltool.audit.roster import unit_key
from xltool.cli import app
from xltool.safenames import BIDI_CONTROLS, Names, OutsideFolder, component, file_name, inside, strip_bidi

HOSTILE = {
    "traversal": ("../../../victim/x", "../../../victim/code"),
    "absolute": ("/tmp/xltool-absolute-victim/x", "C:\\Windows\\system32\\x"),
    "device": ("CON", "NUL"),
    "long": ("单" * 300, "9" * 300),
    "fullwidth": ("单位Ａ", "ＡＢＣ"),
    "ascii": ("单位A", "abc"),
    "rtl": ("报告\u202exslx.exe", "\u2066code\u2069"),
    # Two different units whose codes make the same folder name.
    "slash": ("斜杠单位", "a/b"),
    "underscore": ("下划线单位", "a_b"),
}


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def hostile_books(tmp_path_factory) -> list[Path]:
    from helpers import filled_file, form_2023

    folder = tmp_path_factory.mktemp("hostile-in")
    return [edit_inputs(filled_file(), folder / f"{key}.xlsx", form_2023(),
                        {"info_unit_name": name, "info_unit_code": code, "info_email": "unit@example.cn"})
            for key, (name, code) in HOSTILE.items()]


@pytest.fixture
def sandbox(tmp_path, monkeypatch) -> Path:
    """root/a/b/c/work: the working folder three levels down, so a ../../../ escape is seen."""
    work = tmp_path / "a" / "b" / "c" / "work"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    # The system temporary folder inside the sandbox too: a name that climbs out of a
    # temporary file's folder is caught as well.
    systmp = tmp_path / "a" / "b" / "c" / "systmp"
    systmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(systmp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    return work


def _escaped(root: Path, work: Path, before: set[Path]) -> list[Path]:
    return sorted(p for p in _files(root) - before if work not in p.parents)


def test_component_is_one_safe_name() -> None:
    cases = ["../../../victim/x", "/etc/passwd", "C:\\x\\y", "CON", "con.txt", "NUL", "COM1.xlsx", "lpt9",
             "a\x00b", "x" * 300, "..", ".", "", None, " . ", "报告\u202exslx.exe", "a\nb", "a:b*c?"]
    for text in cases:
        name = component(text)
        assert name and len(name) <= 81
        assert "/" not in name and "\\" not in name and ".." not in name and "\x00" not in name
        assert not any(c in name for c in BIDI_CONTROLS)
        assert name.split(".")[0].upper() not in {"CON", "NUL", "COM1", "LPT9", "PRN", "AUX"}, name
        assert inside("/tmp/o", name).parent == Path("/tmp/o")
    assert strip_bidi("a\u202eb\u2066c\u200fd\u061c") == "abcd"
    assert file_name("x" * 300, "_问题清单.xlsx").endswith("_问题清单.xlsx")
    assert len(file_name("x" * 300, "_问题清单.xlsx")) == 80


@pytest.mark.parametrize("bad", ["../x", "a/b", "..", "CON", "", "/abs", "a\u202eb"])
def test_inside_refuses_anything_but_one_safe_component(bad) -> None:
    with pytest.raises(OutsideFolder):
        inside("/tmp/o", bad)


def test_names_equal_after_normalisation_are_made_unique() -> None:
    names = Names()
    taken = [names.take(t, ".xlsx") for t in ("ABC", "abc", "ＡＢＣ", "ABC", "x" * 300, "x" * 300)]
    assert len({n.casefold() for n in taken}) == len(taken)
    assert all(len(n) <= 80 for n in taken)


def test_check_workbook_email_writes_only_inside_the_working_folder(sandbox, hostile_books) -> None:
    root = sandbox.parents[2]
    before = _files(root)
    for book in hostile_books:
        result = CliRunner().invoke(app, ["check-workbook", str(book), "--email"])
        assert result.exit_code in (0, 1), result.output
        assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    assert not Path("/tmp/xltool-absolute-victim").exists()
    assert _escaped(root, sandbox, before) == []
    outbox = sandbox / "outbox"
    emls = sorted(outbox.glob("*.eml"))
    assert len(emls) == len(hostile_books)  # one message each, each in the outbox
    for eml in emls:
        message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
        assert not any(c in str(message["Subject"]) for c in BIDI_CONTROLS)
        for part in message.iter_attachments():
            name = part.get_filename()
            assert name and "/" not in name and "\\" not in name and ".." not in name
            assert not any(c in name for c in BIDI_CONTROLS)


def test_check_workbook_xlsx_and_annotate_folders_hold_every_output(sandbox, hostile_books, tmp_path) -> None:
    root = sandbox.parents[2]
    out = sandbox / "lists"
    out.mkdir()
    # Two inputs with the same file name in different folders: the outputs must not collide.
    twin = tmp_path / "twin"
    twin.mkdir()
    (twin / hostile_books[0].name).write_bytes(hostile_books[0].read_bytes())
    inputs = [*hostile_books, twin / hostile_books[0].name]
    before = _files(root)
    result = CliRunner().invoke(app, ["check-workbook", *map(str, inputs), "--xlsx", str(out),
                                      "--annotate", str(out)])
    assert result.exit_code in (0, 1), result.output
    written = _files(out)
    assert len(written) == 2 * len(inputs)  # unique names: nothing overwritten
    assert all(p.parent == out for p in written)
    assert _escaped(root, sandbox, before) == []


def test_audit_outputs_and_outbox_stay_in_their_folders(sandbox, hostile_books) -> None:
    root = sandbox.parents[2]
    inbox = sandbox / "inbox"
    inbox.mkdir()
    for book in hostile_books:
        (inbox / book.name).write_bytes(book.read_bytes())
    before = _files(root)
    out = sandbox / "result"
    result = CliRunner().invoke(app, ["audit", str(inbox), "--out", str(out), "--jobs", "1", "--email"])
    assert result.exit_code in (0, 1), result.output
    assert _escaped(root, sandbox, before) == []
    units = out / "units"
    folders = [p for p in units.iterdir() if p.is_dir()]
    # Every unit with findings has its own folder directly under units/, none shared (codes
    # equal after normalisation, ABC and ＡＢＣ, are one unit to the audit: a duplicate return).
    distinct = {unit_key(code, name) for name, code in HOSTILE.values()}
    assert len(folders) == len(distinct) == len(hostile_books) - 1
    for folder in folders:
        assert folder.parent == units and len(folder.name) <= 64
        assert folder.name.split(".")[0].upper() not in {"CON", "NUL"}
        assert not any(c in folder.name for c in BIDI_CONTROLS)
        assert len([p for p in folder.iterdir() if p.suffix == ".xlsx"]) == 2
    assert len(list((sandbox / "outbox").glob("*.eml"))) == len(distinct)  # one message per unit
    assert all(p.parent == sandbox / "outbox" for p in _files(sandbox / "outbox"))
    assert not any(".." in str(p.relative_to(sandbox)) for p in _files(sandbox))
    assert os.path.commonpath([str(p) for p in _files(out)] + [str(out)]) == str(out)
