"""The safety gate: every file of the odd-file corpus and a set of hostile synthetic files.

The corpus is made by the project's own generators (tests/odd_files.py). A folder beside the
checkout may add foreign workbooks as extra cases (tests/extra_cases.py); they are read in
place, never copied, and never required.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import random
import re
import string
import struct
import sys
import time
import tracemalloc
import zipfile
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from xml.etree.ElementTree import ParseError

import openpyxl
import pytest
from babel.messages.pofile import read_po
from defusedxml import DTDForbidden, EntitiesForbidden
from extra_cases import extra_corpus
from helpers import scratch
from odd_files import (CORPUS, LOADS, REFUSED, biff_stream, build_cfb, corpus_dir, make_workbook,
                       patch_declared_size, rewrite_zip)

from xltool.read import safety
from xltool.read.safety import (
    MESSAGES,
    FileFacts,
    Limits,
    Reason,
    UnreadableWorkbook,
    describe_note,
    inspect,
    load,
    load_checked,
)

REPO = Path(__file__).resolve().parents[1]
LOCALE = REPO / "xltool" / "locale"
CJK = re.compile(r"[\u4e00-\u9fff]")
MAX_SECONDS = 5.0  # CPU seconds: a guard against a runaway read (a bomb), not a speed figure; a loaded machine does not move it
MAX_PEAK_BYTES = 256 * 1024 * 1024


@pytest.fixture(autouse=True)
def _zh_locale(monkeypatch):
    monkeypatch.setenv("XLTOOL_LANG", "zh_CN")


def assert_clear(exc: UnreadableWorkbook, reason: Reason | None = None) -> None:
    """A refusal a finance clerk can act on: a Reason and a non-empty Chinese sentence."""
    assert isinstance(exc.reason, Reason)
    if reason is not None:
        assert exc.reason is reason, (exc.reason, exc.detail)
    assert exc.message and CJK.search(exc.message), exc.message
    assert str(exc) == exc.message
    assert "{" not in exc.message, exc.message  # every placeholder filled


def refuse(path, reason: Reason | None = None, limits: Limits | None = None, **kw) -> UnreadableWorkbook:
    with pytest.raises(UnreadableWorkbook) as info:
        load(path, limits, **kw)
    assert_clear(info.value, reason)
    return info.value


# ----------------------------------------------------------------------------- the corpus


def own_corpus() -> Path:
    return corpus_dir(scratch("odd-files"))


# Foreign files a folder beside the checkout may add, with the outcomes pinned for them.
EXTRA = extra_corpus()
EXTRA_REFUSALS = {
    "pass_protected.xlsx": Reason.encrypted,  # OLE2 EncryptedPackage
    "pass_protected.xlsb": Reason.encrypted,
    "pass_protected.ods": Reason.encrypted,  # ODF manifest encryption-data
    "issue_385.xls": Reason.encrypted,  # BIFF FILEPASS
    "too_small.xls": Reason.not_a_zip,  # 68 bytes of text
    "LICENSE-MIT.md": Reason.not_a_zip,
    "issue_174.xlsx": Reason.too_many_cells,  # <dimension ref="A1:XFD1048576"/>
    "strict_iso_paths.xlsx": Reason.strict_ooxml,
    "issue252.xlsx": Reason.corrupt_zip,  # bad CRC-32
}
EXTRA_MUST_LOAD = {
    "any_sheets.xlsx", "date.xlsx", "date_1904.xlsx", "merge_cells.xlsx", "picture.xlsx",
    "issues.xlsx", "table-multiple.xlsx", "nonstandard-xml-ns-prefix.xlsx", "issue_553.xlsx",
    "richtext-namespaced.xlsx", "shared_formula_bench.xlsx", "vba.xlsm", "issue221.xlsm",
}


def _by_suffix(name: str) -> Reason | None:
    return {".xls": Reason.legacy_xls, ".xlsb": Reason.xlsb, ".ods": Reason.ods}.get(Path(name).suffix.lower())


def expectation(case: tuple[str, str]) -> tuple[Path, object]:
    """(path, what must become of it): LOADS, REFUSED, a Reason, or None (either, if clearly)."""
    kind, name = case
    if kind == "own":
        return own_corpus() / name, CORPUS[name].expect if CORPUS[name].expect != "any" else None
    path = next(p for p in EXTRA if p.name == name)
    if name in EXTRA_MUST_LOAD:
        return path, LOADS
    return path, EXTRA_REFUSALS.get(name) or _by_suffix(name)


CASES = ([pytest.param(("own", n), id=n) for n in CORPUS]
         + [pytest.param(("extra", p.name), id=f"extra-{p.name}", marks=pytest.mark.extra) for p in EXTRA])


@pytest.mark.parametrize("case", CASES)
def test_corpus_file(case):
    path, want = expectation(case)
    tracemalloc.start()
    started = time.process_time()
    try:
        wb, facts = load_checked(path)  # anything but UnreadableWorkbook fails the test
        outcome: UnreadableWorkbook | None = None
    except UnreadableWorkbook as exc:
        outcome = exc
    elapsed = time.process_time() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert elapsed < MAX_SECONDS, f"{path.name} took {elapsed:.2f}s"
    assert peak < MAX_PEAK_BYTES, f"{path.name} peaked at {peak / 2**20:.0f} MB"
    if outcome is None:
        assert want in (None, LOADS), f"{path.name} loaded but should be refused as {want}"
        assert wb.worksheets
        assert facts.kind in ("xlsx", "xlsm")
        assert facts.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        if facts.kind == "xlsm":
            assert facts.macro_enabled and Reason.macro_enabled in facts.notes
            assert CJK.search(describe_note(Reason.macro_enabled, facts))
    else:
        assert want != LOADS, f"{path.name}: {outcome.reason} {outcome.detail}"
        assert_clear(outcome, want if isinstance(want, Reason) else None)


def test_corpus_covers_what_files_in_the_wild_do():
    """Every kind of odd file is in the corpus, and each one is made (the generators run)."""
    folder = own_corpus()
    assert sorted(p.name for p in folder.iterdir()) == sorted(CORPUS)
    assert {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"} <= {Path(n).suffix for n in CORPUS}
    outcomes = {odd.expect for odd in CORPUS.values()}
    assert {LOADS, REFUSED, Reason.encrypted, Reason.legacy_xls, Reason.xlsb, Reason.ods, Reason.zip_bomb,
            Reason.corrupt_zip, Reason.too_many_cells, Reason.strict_ooxml, Reason.unsafe_xml} <= outcomes
    with zipfile.ZipFile(folder / "dates_1904.xlsx") as zf:
        assert b'date1904="1"' in zf.read("xl/workbook.xml")
    with zipfile.ZipFile(folder / "shared_formulas.xlsx") as zf:
        assert b't="shared"' in zf.read("xl/worksheets/sheet1.xml")
    with zipfile.ZipFile(folder / "rich_text.xlsx") as zf:
        assert b"<rPh" in zf.read("xl/sharedStrings.xml")
    assert (folder / "encrypted.xlsx").read_bytes()[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@pytest.mark.extra
@pytest.mark.skipif(not EXTRA, reason="no foreign corpus beside the checkout")
def test_extra_corpus_is_complete():
    names = {p.name for p in EXTRA}
    assert len(names) >= 100
    assert {"OOM_alloc.xls", "OOM_alloc2.xls", "OOM_alloc3.xls", "pass_protected.xlsx"} <= names


def test_corpus_inspect_in_worker_processes():
    """The audit runs inspect() in workers: facts and refusals must cross process boundaries."""
    folder = own_corpus()
    picks = [folder / n for n in ("sheets.xlsx", "encrypted.xlsx", "huge_ole_stream.xls", "macro.xlsm")]
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_inspect_or_refusal, picks))
    assert isinstance(results[0], FileFacts) and results[0].kind == "xlsx"
    assert isinstance(results[1], UnreadableWorkbook) and results[1].reason is Reason.encrypted
    assert CJK.search(str(results[1]))
    assert isinstance(results[2], UnreadableWorkbook) and results[2].reason is Reason.legacy_xls
    assert isinstance(results[3], FileFacts) and results[3].macro_enabled


def _inspect_or_refusal(path):
    try:
        return inspect(path)
    except UnreadableWorkbook as exc:
        return exc


# ----------------------------------------------------------------------------- good files


def test_valid_workbook_loads(tmp_path):
    path = make_workbook(tmp_path / "单位自评.xlsx")
    wb, facts = load_checked(path)
    assert wb["数据"]["B2"].value == 100.25
    assert facts.kind == "xlsx" and not facts.macro_enabled and facts.notes == ()
    assert facts.size == path.stat().st_size
    assert facts.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert "xl/workbook.xml" in facts.entries and facts.workbook_part == "xl/workbook.xml"
    (sheet,) = facts.sheets
    assert sheet.title == "数据" and sheet.cells == 12 and (sheet.max_row, sheet.max_column) == (4, 3)
    assert sheet.dimension == "A1:C4"
    assert inspect(str(path)) == facts  # str and Path alike; inspect alone gives the same facts
    assert pickle.loads(pickle.dumps(facts)) == facts


def test_load_passes_openpyxl_options(tmp_path):
    path = make_workbook(tmp_path / "a.xlsx")
    wb = load(path, read_only=True, data_only=True)
    try:
        assert [r[0] for r in wb["数据"].iter_rows(values_only=True)][:2] == ["项目", "项目0"]
    finally:
        wb.close()


def test_macro_workbook_is_read_and_noted(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    with zipfile.ZipFile(src) as zf:  # typed as Excel types it: a package types every part
        types = zf.read("[Content_Types].xml").replace(
            b"<Default ", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/><Default ', 1)
    path = rewrite_zip(src, tmp_path / "宏.xlsm", replace={"[Content_Types].xml": types},
                       add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0" + b"\0" * 100})
    wb, facts = load_checked(path)
    assert wb.worksheets and facts.kind == "xlsm" and facts.macro_enabled
    assert facts.notes == (Reason.macro_enabled,)
    note = describe_note(Reason.macro_enabled, facts)
    assert "宏" in note and "宏.xlsm" in note
    refuse(path, Reason.macro_enabled, Limits(allow_macros=False))


# ----------------------------------------------------------------------------- not a file / not a zip


def test_missing_file(tmp_path):
    exc = refuse(tmp_path / "没有.xlsx", Reason.missing)
    assert "没有.xlsx" in exc.message


def test_directory_and_fifo_are_not_files(tmp_path):
    refuse(tmp_path, Reason.not_a_file)
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.xlsx"
        os.mkfifo(fifo)
        started = time.perf_counter()
        refuse(fifo, Reason.not_a_file)  # never blocks on open()
        assert time.perf_counter() - started < 1


def test_empty_file(tmp_path):
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    refuse(path, Reason.empty)


def test_too_large(tmp_path):
    path = make_workbook(tmp_path / "big.xlsx")
    exc = refuse(path, Reason.too_large, Limits(max_file_bytes=1000))
    assert "MB" in exc.message


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.xlsx"
    path.write_bytes(random.Random(7).randbytes(4096))
    refuse(path, Reason.not_a_zip)


@pytest.mark.parametrize(
    "content, words",
    [
        ("项目,年初预算数\n业务工作经费,12.50\n".encode("gbk"), "纯文本"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF"),
        (b"<html><body><table><tr><td>1</td></tr></table></body></html>", "网页"),
        (b'<?xml version="1.0"?>\n<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">', "网页"),
        (b"Rar!\x1a\x07\x00" + b"\0" * 64, "压缩包"),
    ],
    ids=["csv-gbk", "pdf", "html", "xml2003", "rar"],
)
def test_other_formats_named_xlsx(tmp_path, content, words):
    path = tmp_path / "表.xlsx"
    path.write_bytes(content)
    exc = refuse(path, Reason.not_a_zip)
    assert words in exc.message


# ----------------------------------------------------------------------------- OLE2


def test_legacy_xls(tmp_path):
    blob = build_cfb({"Workbook": biff_stream(False, 4096), "\x05SummaryInformation": b"\0" * 200})
    path = tmp_path / "renamed.xlsx"  # the extension lies; the magic bytes decide
    path.write_bytes(blob)
    exc = refuse(path, Reason.legacy_xls)
    assert "另存为" in exc.message and ".xlsx" in exc.message


@pytest.mark.parametrize("size", [4096, 0], ids=["regular-stream", "mini-stream"])
def test_encrypted_xls(tmp_path, size):
    path = tmp_path / "locked.xls"
    path.write_bytes(build_cfb({"Workbook": biff_stream(True, size)}))
    exc = refuse(path, Reason.encrypted)
    assert "密码" in exc.message


def test_encrypted_ooxml(tmp_path):
    path = tmp_path / "locked.xlsx"
    path.write_bytes(build_cfb({"EncryptionInfo": b"\x04\x00\x04\x00" + b"\0" * 200,
                                "EncryptedPackage": b"\0" * 5000}))
    exc = refuse(path, Reason.encrypted)
    assert "密码" in exc.message


def test_word_97_document(tmp_path):
    path = tmp_path / "报告.xls"
    path.write_bytes(build_cfb({"WordDocument": b"\xec\xa5" + b"\0" * 5000}))
    exc = refuse(path, Reason.not_a_workbook)
    assert "Word" in exc.message


@pytest.mark.parametrize("tail", [b"", b"\xff" * 600, random.Random(3).randbytes(20000)], ids=["bare", "ff", "noise"])
def test_damaged_ole2_is_bounded(tmp_path, tail):
    path = tmp_path / "broken.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + tail)
    started = time.perf_counter()
    refuse(path, Reason.legacy_xls)
    assert time.perf_counter() - started < 1


def test_ole2_with_cyclic_chains(tmp_path):
    """A FAT whose chains loop back on themselves must not loop forever."""
    blob = bytearray(build_cfb({"Workbook": biff_stream(False, 8192)}))
    fat_sid = struct.unpack_from("<I", blob, 0x4C)[0]
    fat_off = (fat_sid + 1) * 512
    for i in range(128):
        struct.pack_into("<I", blob, fat_off + 4 * i, 0)  # every sector points at sector 0
    path = tmp_path / "loop.xls"
    path.write_bytes(bytes(blob))
    started = time.perf_counter()
    refuse(path)
    assert time.perf_counter() - started < 1


# ----------------------------------------------------------------------------- zip containers


def test_docx_like_zip(tmp_path):
    path = tmp_path / "说明.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                    'package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/'
                    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        zf.writestr("word/document.xml", "<w:document/>")
    exc = refuse(path, Reason.not_a_workbook)
    assert "Word" in exc.message


def test_plain_zip(tmp_path):
    path = tmp_path / "打包.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("附件2.txt", "hello")
    exc = refuse(path, Reason.not_a_workbook)
    assert "解压" in exc.message


def test_xlsb_and_ods_by_content(tmp_path):
    xlsb = tmp_path / "a.xlsx"
    with zipfile.ZipFile(xlsb, "w") as zf:
        zf.writestr("xl/workbook.bin", b"\x83\x01\x00")
    refuse(xlsb, Reason.xlsb)
    ods = tmp_path / "b.xlsx"
    with zipfile.ZipFile(ods, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", "<office:document-content/>")
    refuse(ods, Reason.ods)


def test_truncated_zip(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    path = tmp_path / "half.xlsx"
    path.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    refuse(path, Reason.corrupt_zip)


def test_bad_crc(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    with zipfile.ZipFile(src) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml")
    path = tmp_path / "crc.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
    data = path.read_bytes()
    flipped = sheet.replace(b"100.25", b"900.25")
    path.write_bytes(data.replace(sheet, flipped, 1))
    refuse(path, Reason.corrupt_zip)


def test_zip_bomb_by_ratio(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("xl/worksheets/sheet1.xml", "w") as fh:
        zero = bytes(1024 * 1024)
        for _ in range(5):
            fh.write(zero)
    assert path.stat().st_size < 50_000
    exc = refuse(path, Reason.zip_bomb)
    assert "1" in exc.message and "MB" in exc.message


def test_zip_bomb_by_declared_size(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    path = tmp_path / "declared.xlsx"
    path.write_bytes(src.read_bytes())
    patch_declared_size(path, "xl/worksheets/sheet1.xml", 300 * 1024 * 1024)
    tracemalloc.start()
    exc = refuse(path, Reason.zip_bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * 1024 * 1024
    assert "300" in exc.message


def test_zip_bomb_by_total(tmp_path):
    path = tmp_path / "many.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(12):
            zf.writestr(f"xl/media/image{i}.bin", random.Random(i).randbytes(1024 * 1024))
    refuse(path, Reason.zip_bomb, Limits(max_total_uncompressed=10 * 1024 * 1024))


def test_declared_size_smaller_than_data(tmp_path):
    """A header that under-states the size is caught by the CRC/length check, not trusted."""
    src = make_workbook(tmp_path / "src.xlsx", rows=200)
    path = tmp_path / "lie.xlsx"
    path.write_bytes(src.read_bytes())
    patch_declared_size(path, "xl/worksheets/sheet1.xml", 100)
    refuse(path, Reason.corrupt_zip)


def test_too_many_entries(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    path = rewrite_zip(src, tmp_path / "parts.xlsx", add={f"customXml/item{i}.xml": b"<a/>" for i in range(2001)})
    exc = refuse(path, Reason.too_many_entries)
    assert "2,0" in exc.message


@pytest.mark.parametrize("name", ["../evil", "xl/../../evil.xml", "/etc/passwd", "C:/Windows/evil.dll", "..\\evil"])
def test_unsafe_entry_names(tmp_path, name):
    src = make_workbook(tmp_path / "src.xlsx")
    path = rewrite_zip(src, tmp_path / "evil.xlsx", add={name: b"x"})
    exc = refuse(path, Reason.unsafe_entry)
    assert "evil" in exc.message or "passwd" in exc.message


def test_duplicate_entry_names(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    path = tmp_path / "dup.xlsx"
    with pytest.warns(UserWarning):
        rewrite_zip(src, path, add={"xl/worksheets/sheet1.xml": b"<worksheet/>"})
    refuse(path, Reason.unsafe_entry)


def test_zip_level_encryption_flag(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    data = bytearray(src.read_bytes())
    pos = data.find(b"PK\x01\x02")  # set the "encrypted" bit on the first central directory entry
    struct.pack_into("<H", data, pos + 8, struct.unpack_from("<H", data, pos + 8)[0] | 1)
    path = tmp_path / "zipcrypto.xlsx"
    path.write_bytes(bytes(data))
    refuse(path, Reason.encrypted)


# ----------------------------------------------------------------------------- cells


DIM = rb'<dimension ref="[^"]*"\s*/>'


def _sheet_xml(src: Path) -> bytes:
    with zipfile.ZipFile(src) as zf:
        return zf.read("xl/worksheets/sheet1.xml")


def _without_declaration(xml: bytes) -> bytes:
    return xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml


def test_absurd_dimension(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    sheet = re.sub(DIM, b'<dimension ref="A1:XFD1048576"/>', _sheet_xml(src))
    path = rewrite_zip(src, tmp_path / "dim.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    started = time.perf_counter()
    exc = refuse(path, Reason.too_many_cells)
    assert time.perf_counter() - started < 1
    assert "数据" in exc.message and "XFD1048576" in exc.message


def test_far_away_cell_without_dimension(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    sheet = re.sub(DIM, b"", _sheet_xml(src))
    sheet = sheet.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')
    path = rewrite_zip(src, tmp_path / "far.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    exc = refuse(path, Reason.too_many_cells)
    assert "XFD1048576" in exc.message


def test_cell_count_beyond_small_dimension(tmp_path):
    """The dimension tag may lie; the scan counts the cells actually present."""
    src = make_workbook(tmp_path / "src.xlsx", rows=400)
    sheet = re.sub(DIM, b'<dimension ref="A1"/>', _sheet_xml(src))
    path = rewrite_zip(src, tmp_path / "lie.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    load(path)  # fine with the default limits
    refuse(path, Reason.too_many_cells, Limits(max_cells_per_sheet=1000))
    refuse(path, Reason.too_many_cells, Limits(max_total_cells=1000))


def _merged_workbook(tmp_path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "附件2"
    ws["A1"] = "经费控制情况（万元）"
    ws.merge_cells("A1:C1")
    ws["A2"].hyperlink = "https://example.org/"
    path = tmp_path / "merged.xlsx"
    wb.save(path)
    return path


def test_merged_ranges_count_as_cells(tmp_path):
    """openpyxl creates a MergedCell for every cell a merge covers: a huge merge is a hang."""
    src = _merged_workbook(tmp_path)
    wb, facts = load_checked(src)
    assert facts.sheets[0].expanded_cells == 3 and wb["附件2"]["A1"].value.startswith("经费")
    for ref in (b"A1:XFD1048576", b"A1:J300000", b"A:C"):  # 3,000,000 cells; three whole columns
        sheet = _sheet_xml(src).replace(b'<mergeCell ref="A1:C1"', b'<mergeCell ref="' + ref + b'"')
        path = rewrite_zip(src, tmp_path / "bigmerge.xlsx", {"xl/worksheets/sheet1.xml": sheet})
        started = time.perf_counter()
        exc = refuse(path, Reason.too_many_cells)
        assert time.perf_counter() - started < 1
        assert "附件2" in exc.message


def test_hyperlink_and_comment_ranges_count_as_cells(tmp_path):
    src = _merged_workbook(tmp_path)
    sheet = _sheet_xml(src)
    assert b"<hyperlink " in sheet
    sheet = re.sub(rb'(<hyperlink [^>]*?ref=")A2"', rb'\1A2:Z100000"', sheet)
    assert b"A2:Z100000" in sheet
    path = rewrite_zip(src, tmp_path / "link.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    refuse(path, Reason.too_many_cells)
    comments = (b'<comments xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><authors><author>a'
                b'</author></authors><commentList><comment ref="A1:XFD1048576" authorId="0"><text><t>x</t></text>'
                b"</comment></commentList></comments>")
    path = rewrite_zip(src, tmp_path / "comment.xlsx", add={"xl/comments/comment1.xml": comments})
    refuse(path, Reason.too_many_cells)


def test_namespace_prefixed_sheet_is_counted(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    rows = "".join(f'<x:row r="{r}"><x:c r="A{r}"><x:v>1</x:v></x:c><x:c r="B{r}"><x:v>2</x:v></x:c></x:row>'
                   for r in range(1, 1001))
    sheet = ('<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f"<x:sheetData>{rows}</x:sheetData></x:worksheet>").encode()
    path = rewrite_zip(src, tmp_path / "prefixed.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    facts = inspect(path)
    assert (facts.sheets[0].cells, facts.sheets[0].max_row, facts.sheets[0].max_column) == (2000, 1000, 2)
    refuse(path, Reason.too_many_cells, Limits(max_cells_per_sheet=1500))


def test_style_bloat_is_bounded(tmp_path):
    """Non-sheet XML (styles, shared strings, ...) has its own element budget."""
    src = make_workbook(tmp_path / "src.xlsx")
    with zipfile.ZipFile(src) as zf:
        styles = zf.read("xl/styles.xml")
    xfs = b"".join(b'<xf numFmtId="%d" fontId="0" fillId="0" borderId="0" xfId="0"/>' % (i % 160) for i in range(3000))
    styles = re.sub(rb'<cellXfs count="\d+">', b'<cellXfs count="3001">' + xfs, styles)
    path = rewrite_zip(src, tmp_path / "styles.xlsx", {"xl/styles.xml": styles})
    load(path)
    exc = refuse(path, Reason.too_many_elements, Limits(max_xml_elements=2000))
    assert "样式" in exc.message


@pytest.mark.parametrize("payload", [b"<row" * 2_000_000, (b"<row " + b"a" * 1000) * 8000,
                                     b"<mergeCell " * 800_000, b'<c r="' * 1_000_000],
                         ids=["row-row", "row-attrs", "merge", "c-r"])
def test_scan_is_linear_on_unclosed_tags(tmp_path, payload):
    src = make_workbook(tmp_path / "src.xlsx")
    sheet = _sheet_xml(src).replace(b"</sheetData>", payload + b"</sheetData>")
    path = rewrite_zip(src, tmp_path / "tags.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    started = time.perf_counter()
    with pytest.raises(UnreadableWorkbook) as info:
        load(path, Limits(max_entry_ratio=1e9))
    assert_clear(info.value)
    assert time.perf_counter() - started < 3


def test_cell_scan_is_fast(tmp_path):
    """A large but legal sheet is scanned quickly (the scan runs before every load)."""
    cells = "".join(f'<c r="{col}{{r}}"><v>1</v></c>' for col in "ABCDEFGHIJ")
    rows = "".join(f'<row r="{r}">' + cells.replace("{r}", str(r)) + "</row>" for r in range(1, 100_001))
    src = make_workbook(tmp_path / "src.xlsx")
    sheet = re.sub(rb"<sheetData>.*</sheetData>|<sheetData/>", b"<sheetData>" + rows.encode() + b"</sheetData>",
                   _sheet_xml(src), flags=re.S)
    sheet = re.sub(DIM, b'<dimension ref="A1:J100000"/>', sheet)
    path = rewrite_zip(src, tmp_path / "big.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    started = time.process_time()  # CPU time: the guard is against a runaway scan, and load does not move it
    facts = inspect(path)
    assert time.process_time() - started < 3
    assert facts.sheets[0].cells == 1_000_000 and facts.sheets[0].max_row == 100_000
    assert facts.sheets[0].max_column == 10


# ----------------------------------------------------------------------------- XML


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10)
    )
    + b"]>\n"
)


def _laughing_workbook(tmp_path: Path, padding: bytes = b"") -> Path:
    src = make_workbook(tmp_path / "src.xlsx")
    body = _without_declaration(_sheet_xml(src)).replace(b"<v>100.25</v>", b"<v>&lol9;</v>")
    return rewrite_zip(src, tmp_path / "lol.xlsx", {"xl/worksheets/sheet1.xml": padding + BILLION_LAUGHS + body})


def test_billion_laughs_refused_before_parsing(tmp_path):
    path = _laughing_workbook(tmp_path)
    tracemalloc.start()
    started = time.perf_counter()
    exc = refuse(path, Reason.unsafe_xml)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.perf_counter() - started < 2 and peak < 50 * 1024 * 1024
    assert "DTD" in exc.message


def test_dtd_after_long_comment_prolog(tmp_path):
    padding = b"<!--" + b"x" * 100_000 + b"-->\n"
    src = make_workbook(tmp_path / "src.xlsx")
    sheet = _without_declaration(_sheet_xml(src))
    path = rewrite_zip(src, tmp_path / "pad.xlsx",
                       {"xl/worksheets/sheet1.xml": padding + b'<!DOCTYPE x [<!ENTITY a "b">]>' + sheet})
    refuse(path, Reason.unsafe_xml)


def test_billion_laughs_also_refused_by_the_parser(tmp_path, monkeypatch):
    """Even if the prolog check were bypassed, defusedxml's refusal maps to a clear message."""
    path = _laughing_workbook(tmp_path)
    monkeypatch.setattr(safety, "_xml_head_is_unsafe", lambda head: False)
    tracemalloc.start()
    exc = refuse(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert exc.reason in (Reason.unsafe_xml, Reason.parse_error)
    assert peak < 100 * 1024 * 1024


def test_dtd_in_content_types(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    with zipfile.ZipFile(src) as zf:
        ct = zf.read("[Content_Types].xml")
    ct = b'<?xml version="1.0"?><!DOCTYPE Types [<!ENTITY x "y">]>' + _without_declaration(ct)
    path = rewrite_zip(src, tmp_path / "ct.xlsx", {"[Content_Types].xml": ct})
    refuse(path, Reason.unsafe_xml)


def test_malformed_sheet_xml(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    sheet = _sheet_xml(src).replace(b"</sheetData>", b"</sheetDat>")
    path = rewrite_zip(src, tmp_path / "bad.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    exc = refuse(path, Reason.parse_error)
    assert "技术信息" in exc.message


def test_workbook_without_sheets_entry(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    path = rewrite_zip(src, tmp_path / "nosheet.xlsx", {"xl/worksheets/sheet1.xml": None})
    refuse(path, Reason.parse_error)


# ----------------------------------------------------------------------------- exception mapping


@pytest.mark.parametrize(
    "error, reason",
    [
        (KeyError("There is no item named 'xl/sharedStrings.xml' in the archive"), Reason.parse_error),
        (KeyError("rId3"), Reason.parse_error),
        (ValueError("Max value is 14"), Reason.parse_error),
        (IndexError("list index out of range"), Reason.parse_error),
        (TypeError("Nested.from_tree() missing 1 required positional argument"), Reason.parse_error),
        (AttributeError("'NoneType' object has no attribute 'get'"), Reason.parse_error),
        (ParseError("not well-formed (invalid token): line 1, column 0"), Reason.parse_error),
        (EntitiesForbidden("lol", None, None, None, None, None), Reason.unsafe_xml),
        (DTDForbidden("lolz", None, None), Reason.unsafe_xml),
        (zipfile.BadZipFile("Bad CRC-32"), Reason.corrupt_zip),
        (zlib.error("invalid stored block lengths"), Reason.corrupt_zip),
        (EOFError("Compressed file ended before the end-of-stream marker was reached"), Reason.corrupt_zip),
        (MemoryError(), Reason.parse_error),
        (RecursionError("maximum recursion depth exceeded"), Reason.parse_error),
        (openpyxl.utils.exceptions.InvalidFileException("bad"), Reason.parse_error),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_every_openpyxl_error_is_mapped(tmp_path, monkeypatch, error, reason):
    path = make_workbook(tmp_path / "ok.xlsx")

    def boom(*args, **kwargs):
        raise error

    monkeypatch.setattr(openpyxl, "load_workbook", boom)
    exc = refuse(path, reason)
    assert exc.detail  # technical context kept for logs


def test_refusal_pickles_and_keeps_fields():
    exc = UnreadableWorkbook(Reason.encrypted, "文件设置了打开密码", "OLE2", "/x/a.xlsx")
    back = pickle.loads(pickle.dumps(exc))
    assert (back.reason, back.message, back.detail, back.path) == (exc.reason, exc.message, exc.detail, exc.path)
    assert str(back) == "文件设置了打开密码"
    assert Reason("legacy_xls") is Reason.legacy_xls and Reason.legacy_xls == "legacy_xls"


# ----------------------------------------------------------------------------- translations


def _catalog(locale: str):
    out = {}
    for po in sorted((LOCALE / locale / "LC_MESSAGES").glob("*.po")):  # merged at load (xltool/i18n.py)
        with po.open("rb") as fh:
            out.update({m.id: m.string for m in read_po(fh, locale=locale) if m.id and m.string})
    return out


def _placeholders(text: str) -> set[str]:
    return {f[1] for f in string.Formatter().parse(text) if f[1]}


def test_every_message_is_translated():
    zh, en = _catalog("zh_CN"), _catalog("en")
    for msgid in MESSAGES.values():
        assert msgid in zh and msgid in en, msgid
        assert CJK.search(zh[msgid]) and _placeholders(zh[msgid]) == _placeholders(msgid), msgid
        assert en[msgid] == msgid
        assert not CJK.search(msgid)  # English msgids


def test_english_locale(tmp_path, monkeypatch):
    monkeypatch.setenv("XLTOOL_LANG", "en")
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    with pytest.raises(UnreadableWorkbook) as info:
        load(path)
    assert not CJK.search(info.value.message) and "empty.xlsx" in info.value.message


def test_no_user_facing_string_bypasses_gettext():
    """Every message the module builds comes from MESSAGES (through _())."""
    source = (REPO / "xltool" / "read" / "safety.py").read_text(encoding="utf-8")
    assert not CJK.search(source)
    assert "from xltool.i18n import _" in source


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
