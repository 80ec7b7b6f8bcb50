"""The streaming reader (``open_package`` + ``read_package``): one decompression per part,
the gate's per-part checks on every part, and its own bound on what it parses.

``inspect`` scans every worksheet before openpyxl may touch it; the XML reader instead
counts what it parses and stops there. These tests hold both to the same refusals wherever
the streaming reader parses or holds something, and show where (and why) they differ.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from test_safety import (  # noqa: F401 - _zh_locale is an autouse fixture
    BILLION_LAUGHS, _sheet_xml, _without_declaration, _zh_locale, assert_clear, make_workbook, patch_declared_size,
    rewrite_zip,
)
from xltool.read.book import from_xml, read_package
from xltool.read.safety import Limits, Reason, UnreadableWorkbook, inspect, load, open_package

SHEET = "xl/worksheets/sheet1.xml"


def stream_refuses(path: Path, reason: Reason, limits: Limits | None = None, **kw) -> UnreadableWorkbook:
    with pytest.raises(UnreadableWorkbook) as info:
        from_xml(path, limits=limits, **kw)
    assert_clear(info.value, reason)
    assert info.value.path == str(path)
    return info.value


def stored_copy(src: Path, dst: Path, extra: dict[str, bytes] | None = None) -> Path:
    """The same workbook without compression, so that bytes of a part can be flipped in place."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return dst


def flip(path: Path, old: bytes, new: bytes) -> None:
    """Change bytes of a stored part without fixing its CRC-32."""
    data = path.read_bytes()
    assert data.count(old) == 1 and len(old) == len(new)
    path.write_bytes(data.replace(old, new))


def two_sheets(tmp_path: Path) -> Path:
    """A workbook with a second sheet, 审核, that the reader is told to skip."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "数据"
    wb.active.append(["项目", 100.25])
    wb.create_sheet("审核").append(["SKIPPED-SHEET-TEXT"])
    wb.save(tmp_path / "two.xlsx")
    return tmp_path / "two.xlsx"


# -- the same refusals as the gate ----------------------------------------------------------------------

def _bad_crc(tmp_path: Path) -> Path:
    path = stored_copy(make_workbook(tmp_path / "src.xlsx"), tmp_path / "crc.xlsx")
    flip(path, b"100.25", b"900.25")
    return path


def _laughs(tmp_path: Path) -> Path:
    src = make_workbook(tmp_path / "src.xlsx")
    body = _without_declaration(_sheet_xml(src)).replace(b"<v>100.25</v>", b"<v>&lol9;</v>")
    return rewrite_zip(src, tmp_path / "lol.xlsx", {SHEET: BILLION_LAUGHS + body})


def _dtd_in_unread_part(tmp_path: Path) -> Path:
    src = make_workbook(tmp_path / "src.xlsx")
    with zipfile.ZipFile(src) as zf:
        styles = zf.read("xl/styles.xml")
    return rewrite_zip(src, tmp_path / "dtd.xlsx", {"xl/styles.xml": BILLION_LAUGHS + _without_declaration(styles)})


def _truncated(tmp_path: Path) -> Path:
    src = make_workbook(tmp_path / "src.xlsx")
    path = tmp_path / "half.xlsx"
    path.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    return path


def _more_data_than_declared(tmp_path: Path) -> Path:
    path = rewrite_zip(make_workbook(tmp_path / "src.xlsx"), tmp_path / "size.xlsx")
    with zipfile.ZipFile(path) as zf:
        size = zf.getinfo(SHEET).file_size
    patch_declared_size(path, SHEET, size // 2)
    return path


def _not_a_zip(tmp_path: Path) -> Path:
    path = tmp_path / "text.xlsx"
    path.write_text("单位名称,金额\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("build, reason", [
    (_bad_crc, Reason.corrupt_zip),
    (_laughs, Reason.unsafe_xml),
    (_dtd_in_unread_part, Reason.unsafe_xml),
    (_truncated, Reason.corrupt_zip),
    (_more_data_than_declared, Reason.corrupt_zip),
    (_not_a_zip, Reason.not_a_zip),
], ids=lambda v: getattr(v, "__name__", str(v)).strip("_"))
def test_refuses_what_the_gate_refuses(tmp_path, build, reason):
    path = build(tmp_path)
    with pytest.raises(UnreadableWorkbook) as gate:
        inspect(path)
    assert gate.value.reason is reason
    refused = stream_refuses(path, reason)
    assert refused.message == gate.value.message


def test_damage_in_a_skipped_sheet_is_still_found(tmp_path):
    path = stored_copy(two_sheets(tmp_path), tmp_path / "stored.xlsx")
    assert "审核" in from_xml(path, skip=frozenset({"审核"})).sheets
    flip(path, b"SKIPPED-SHEET-TEXT", b"SKIPPED-SHEET-TEXX")
    stream_refuses(path, Reason.corrupt_zip, skip=frozenset({"审核"}))


def test_damage_after_the_cells_is_still_found(tmp_path):
    """The reader stops parsing a sheet after its cells; the rest is still read for its CRC."""
    src = make_workbook(tmp_path / "src.xlsx")
    sheet = _sheet_xml(src).replace(b"</worksheet>", b'<headerFooter><oddHeader>TAIL-MARK</oddHeader></headerFooter></worksheet>')
    path = stored_copy(rewrite_zip(src, tmp_path / "tail.xlsx", {SHEET: sheet}), tmp_path / "stored.xlsx")
    assert from_xml(path).sheets["数据"].get("B2").value == 100.25
    flip(path, b"TAIL-MARK", b"TAIL-MARX")
    stream_refuses(path, Reason.corrupt_zip)


def test_every_part_is_decompressed_once(tmp_path, monkeypatch):
    path = two_sheets(tmp_path)
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def counting_open(self, name, *args, **kwargs):
        opened.append(name if isinstance(name, str) else name.filename)
        return real_open(self, name, *args, **kwargs)

    package = open_package(path)  # identifying the package reads [Content_Types].xml
    monkeypatch.setattr(zipfile.ZipFile, "open", counting_open)
    book, facts = read_package(package, skip=frozenset({"审核"}))
    with zipfile.ZipFile(path) as zf:
        entries = sorted(i.filename for i in zf.infolist() if not i.is_dir())
    assert sorted(opened) == entries
    assert book.sheets["数据"].get("B1").value == 100.25 and not book.sheets["审核"].cells
    assert facts.sha256 == inspect(path).sha256 and facts.sheets == ()


# -- the reader's own bounds ----------------------------------------------------------------------------

def test_cells_are_bounded_per_sheet_and_in_total(tmp_path):
    path = make_workbook(tmp_path / "rows.xlsx", rows=400)  # 1,203 cells
    assert len(from_xml(path).sheets["数据"].cells) == 1203
    exc = stream_refuses(path, Reason.too_many_cells, Limits(max_cells_per_sheet=1000))
    assert "数据" in exc.message and "1,001" in exc.message
    stream_refuses(path, Reason.too_many_cells, Limits(max_total_cells=1000))
    # the gate counts rows too, so it refuses at least as early
    with pytest.raises(UnreadableWorkbook):
        inspect(path, Limits(max_cells_per_sheet=1203))


def test_the_total_spans_sheets(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    for title in ("甲", "乙"):
        ws = wb.create_sheet(title)
        for i in range(300):
            ws.append([i, i + 0.5])
    wb.save(tmp_path / "two.xlsx")
    from_xml(tmp_path / "two.xlsx", limits=Limits(max_cells_per_sheet=700, max_total_cells=1200))
    exc = stream_refuses(tmp_path / "two.xlsx", Reason.too_many_cells, Limits(max_cells_per_sheet=700, max_total_cells=1000))
    assert exc.detail.startswith("workbook cell total")


def test_defined_names_and_shared_strings_are_bounded(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx")
    with zipfile.ZipFile(src) as zf:
        workbook = zf.read("xl/workbook.xml")
    names = b"".join(b'<definedName name="n%d">\'\xe6\x95\xb0\xe6\x8d\xae\'!$A$1</definedName>' % i for i in range(3000))
    workbook = re.sub(rb"</sheets>", b"</sheets><definedNames>" + names + b"</definedNames>", workbook, count=1)
    path = rewrite_zip(src, tmp_path / "names.xlsx", {"xl/workbook.xml": workbook})
    assert len(from_xml(path).names) == 3000
    stream_refuses(path, Reason.too_many_elements, Limits(max_xml_elements=2000))

    strings = b"".join(b"<si><t>s%d</t></si>" % i for i in range(1500))
    sst = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + strings + b"</sst>"
    with zipfile.ZipFile(src) as zf:
        rels = zf.read("xl/_rels/workbook.xml.rels")
        types = zf.read("[Content_Types].xml")
    rels = rels.replace(b"</Relationships>", b'<Relationship Id="rIdS" Target="sharedStrings.xml" Type="http://'
                        b'schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/></Relationships>')
    types = types.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                          b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    path = rewrite_zip(src, tmp_path / "sst.xlsx", {"xl/_rels/workbook.xml.rels": rels, "[Content_Types].xml": types},
                       {"xl/sharedStrings.xml": sst})
    from_xml(path)
    stream_refuses(path, Reason.too_many_elements, Limits(max_xml_elements=2000))


def test_a_lying_dimension_costs_the_reader_nothing(tmp_path):
    """openpyxl would size the sheet by <dimension>; the streaming reader holds only real cells,
    so it reads such a sheet while the gate in front of openpyxl refuses it."""
    src = make_workbook(tmp_path / "src.xlsx")
    sheet = re.sub(rb"<dimension [^>]*/>", b'<dimension ref="A1:XFD1048576"/>', _sheet_xml(src))
    path = rewrite_zip(src, tmp_path / "dim.xlsx", {SHEET: sheet})
    with pytest.raises(UnreadableWorkbook) as gate:
        load(path)
    assert gate.value.reason is Reason.too_many_cells
    assert len(from_xml(path).sheets["数据"].cells) == 12


def test_a_workbook_that_is_not_ours_is_refused_before_its_sheets_are_parsed(tmp_path):
    """read_path reads the identification sheet first: a foreign workbook, however many cells it
    holds, costs one part's parsing. With a cell limit below its size, reading it whole would be
    refused as too big; read_path refuses it as not ours, without reading it."""
    from xltool.read.reader import NotOurWorkbook, read_path

    path = make_workbook(tmp_path / "foreign.xlsx", rows=400)
    small = Limits(max_cells_per_sheet=1000)
    stream_refuses(path, Reason.too_many_cells, small)
    with pytest.raises(NotOurWorkbook) as refused:
        read_path(path, limits=small)
    assert refused.value.reason == "not_ours" and "xltool" in refused.value.message


def test_our_identification_sheet_is_read_first_and_the_book_keeps_workbook_order():
    from xltool.read.reader import META_SHEET, read_path

    example = Path(__file__).resolve().parents[1] / "examples" / "luosong_2023_filled.xlsx"
    seen: list[tuple[str, ...]] = []
    book, _facts = read_package(open_package(example), frozenset({"审核"}), first=META_SHEET,
                                accept=lambda b: seen.append(tuple(b.sheets)))
    assert seen == [(META_SHEET,)]
    assert list(book.sheets) == list(from_xml(example).sheets)
    assert list(book.sheets)[-1] == META_SHEET and read_path(example).meta.year == 2023
