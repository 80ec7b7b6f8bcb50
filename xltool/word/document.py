"""A .docx read as a sequence of paragraphs and tables, after a safety gate.

The file is hostile until read: bounded in size, every zip entry decompressed under limits
(declared sizes, compression ratio, entry count) before python-docx sees it, XML parts holding
a DOCTYPE or any other markup declaration anywhere, in any encoding, refused. Merged table cells come back from python-docx once per grid column and once
per row they span; here a row holds each cell once, and a cell continued from the row above
is marked ``continued`` (its text is kept: it names the group a row belongs to).
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from xltool.i18n import _
from xltool.read.safety import DtdScan, Reason, UnreadableWorkbook

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAIN_PART = "word/document.xml"


@dataclass(frozen=True)
class DocLimits:
    max_file_bytes: int = 20 * 1024 * 1024
    max_total_uncompressed: int = 100 * 1024 * 1024
    max_entry_ratio: float = 100.0  # for entries above ratio_min_entry_bytes
    ratio_min_entry_bytes: int = 1024 * 1024
    max_entries: int = 1000
    max_paragraphs: int = 20_000
    max_table_cells: int = 50_000


class UnreadableReport(UnreadableWorkbook):
    """A .docx xltool will not read; ``reason`` is a plain string (e.g. ``legacy_doc``)."""

    def __init__(self, reason: str, message: str, detail: str = "", path: str = "") -> None:
        Exception.__init__(self, message)
        self.reason = reason  # type: ignore[assignment]
        self.message = message
        self.detail = detail
        self.path = path

    def __reduce__(self):
        return (type(self), (self.reason, self.message, self.detail, self.path))


@dataclass
class Para:
    text: str
    style: str = ""


@dataclass
class Cell:
    text: str
    row: int  # 1-based, as a reader counts them
    col: int  # 1-based grid column of the cell's first column
    continued: bool = False  # the lower part of a vertically merged cell


@dataclass
class Table:
    rows: list[list[Cell]] = field(default_factory=list)


@dataclass
class Document:
    blocks: list[Para | Table]
    sha256: str = ""


def _refuse(reason: str, message: str, path: Path, detail: str = "") -> UnreadableReport:
    return UnreadableReport(reason, message.format(name=path.name), detail, str(path))


def _read_bytes(path: Path, limits: DocLimits) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (FileNotFoundError, NotADirectoryError):
        raise _refuse(Reason.missing, _("The file {name} does not exist."), path) from None
    except IsADirectoryError:
        raise _refuse(Reason.not_a_file, _("{name} is a folder, not a Word report."), path) from None
    except OSError as exc:
        raise _refuse(Reason.io_error, _("The file {name} could not be opened."), path, repr(exc)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(Reason.not_a_file, _("{name} is a folder, not a Word report."), path)
        if st.st_size > limits.max_file_bytes:
            raise _refuse(Reason.too_large, _("The report {name} is larger than {limit} MB; a report is far smaller. "
                                              "Save it without embedded pictures and send it again.").replace(
                "{limit}", str(limits.max_file_bytes // (1024 * 1024))), path)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(st.st_size + 1)
    finally:
        os.close(fd)
    if not data:
        raise _refuse(Reason.empty, _("The file {name} is empty."), path)
    return data


def _gate(data: bytes, path: Path, limits: DocLimits) -> None:
    """Refuse what is not a plain .docx, before python-docx parses anything."""
    if data.startswith(OLE_MAGIC):
        raise _refuse("legacy_doc", _("{name} is an old .doc file or a password-protected document. Open it in Word "
                                      "or WPS, remove the password if any, save it as .docx and send it again."), path)
    if not data.startswith(b"PK"):
        raise _refuse(Reason.not_a_zip, _("{name} is not a Word document (.docx)."), path)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _refuse(Reason.corrupt_zip, _("{name} is damaged and cannot be opened as a Word document."), path,
                      repr(exc)) from None
    if len(infos) > limits.max_entries:
        raise _refuse(Reason.too_many_entries, _("{name} holds too many parts for a report."), path)
    if sum(i.file_size for i in infos) > limits.max_total_uncompressed:
        raise _refuse(Reason.zip_bomb, _("{name} expands to far more data than a report holds; it was not opened."),
                      path)
    names = {i.filename for i in infos}
    if MAIN_PART not in names:
        raise _refuse("not_a_document", _("{name} is not a Word document (.docx)."), path)
    total = 0
    for info in infos:
        if info.file_size > limits.ratio_min_entry_bytes and info.file_size > limits.max_entry_ratio * max(
                info.compress_size, 1):
            raise _refuse(Reason.zip_bomb, _("{name} expands to far more data than a report holds; it was not opened."),
                          path)
        # Every XML part is scanned whole, in the encoding it declares (not only its first bytes).
        scan = DtdScan() if info.filename.lower().endswith((".xml", ".rels", ".vml")) else None
        unsafe = False
        try:
            with zf.open(info) as fh:  # streamed: the declared size is not trusted
                while chunk := fh.read(65536):
                    total += len(chunk)
                    if total > limits.max_total_uncompressed:
                        raise _refuse(Reason.zip_bomb, _("{name} expands to far more data than a report holds; it "
                                                         "was not opened."), path)
                    if scan is not None and scan.feed(chunk):
                        unsafe = True
                        break
                else:
                    unsafe = scan is not None and scan.feed(b"", final=True)
        except UnreadableReport:
            raise
        except Exception as exc:  # noqa: BLE001 - CRC errors, unsupported compression, truncation
            raise _refuse(Reason.corrupt_zip, _("{name} is damaged and cannot be opened as a Word document."), path,
                          repr(exc)) from None
        if unsafe:
            raise _refuse(Reason.unsafe_xml, _("{name} contains XML that xltool does not read (a document type "
                                               "declaration); save it again from Word or WPS."), path)


def read_document(path: Path, limits: DocLimits | None = None) -> Document:
    """Paragraphs and tables of the .docx at *path*, in document order (body only)."""
    import hashlib

    path = Path(path)
    limits = limits or DocLimits()
    data = _read_bytes(path, limits)
    _gate(data, path, limits)
    try:
        import docx
        from docx.table import Table as DocxTable

        doc = docx.Document(io.BytesIO(data))
        blocks: list[Para | Table] = []
        paragraphs = cells = 0
        for item in doc.iter_inner_content():
            if isinstance(item, DocxTable):
                table = _table(item)
                cells += sum(len(r) for r in table.rows)
                blocks.append(table)
            else:
                paragraphs += 1
                blocks.append(Para(item.text, item.style.name if item.style is not None else ""))
            if paragraphs > limits.max_paragraphs or cells > limits.max_table_cells:
                raise _refuse(Reason.too_many_elements, _("{name} is far longer than a report; it was not read."),
                              path)
    except UnreadableReport:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure becomes one clear sentence
        raise _refuse(Reason.parse_error, _("{name} could not be read as a Word document; open it in Word or WPS, "
                                            "save it as .docx and send it again."), path, repr(exc)) from None
    return Document(blocks=blocks, sha256=hashlib.sha256(data).hexdigest())


def _table(table) -> Table:
    out = Table()
    seen: set[int] = set()  # cells of earlier rows: a repeat is a vertical merge
    alive = []  # lxml proxies stay alive, so their ids are never reused within the table
    for r, row in enumerate(table.rows, start=1):
        cells: list[Cell] = []
        here: set[int] = set()
        for c, cell in enumerate(row.cells, start=1):
            alive.append(cell._tc)
            key = id(cell._tc)
            if key in here:
                continue  # a horizontal merge repeats the cell once per grid column
            here.add(key)
            cells.append(Cell(cell.text, r, c, continued=key in seen))
        seen |= here
        out.rows.append(cells)
    return out
