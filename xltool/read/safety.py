"""The gate every workbook passes before any parser touches it.

``inspect(path)`` sniffs a file by its magic bytes (never by its extension), checks the
zip container (declared sizes, compression ratios, entry count, entry names, CRCs), tells
apart xlsx/xlsm from xlsb, ods, legacy xls and password-encrypted files, refuses XML with
DTDs or entity declarations, and bounds the number of cells each worksheet declares and
actually holds. ``load(path)`` runs ``inspect`` and then ``openpyxl.load_workbook`` on the
very bytes that were inspected, mapping every failure to ``UnreadableWorkbook``.
``open_package(path)`` is the same gate for the streaming XML reader (``read.book``): the
container checks up front, the per-part checks as the reader decompresses each part once,
and cell counting left to the reader, which bounds what it parses itself.

Every refusal is an ``UnreadableWorkbook`` with a ``Reason`` and a Chinese sentence (via
gettext) that tells a finance clerk what happened and what to do. Nothing here raises
anything else for a bad file, and all work is bounded by ``Limits``.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from enum import StrEnum
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, TypeVar

from xltool.digests import sha256
from xltool.form.address import column_index, column_letters
from xltool.i18n import _
from xltool.lazyre import lazy_compile
from xltool.record import field, record

if TYPE_CHECKING:  # pragma: no cover
    from openpyxl.workbook.workbook import Workbook

__all__ = [
    "MESSAGES",
    "FileFacts",
    "Limits",
    "Reason",
    "SheetFacts",
    "UnreadableWorkbook",
    "describe_note",
    "inspect",
    "load",
    "load_checked",
    "message_for",
    "open_package",
    "Package",
    "DtdScan",
    "xml_has_dtd",
]


# --------------------------------------------------------------------------- public types


class Reason(StrEnum):
    """Why a file cannot be read (or, for ``macro_enabled``, a note about a readable one)."""

    missing = "missing"
    not_a_file = "not_a_file"
    io_error = "io_error"
    empty = "empty"
    too_large = "too_large"
    legacy_xls = "legacy_xls"
    encrypted = "encrypted"
    xlsb = "xlsb"
    ods = "ods"
    not_a_zip = "not_a_zip"
    corrupt_zip = "corrupt_zip"
    not_a_workbook = "not_a_workbook"
    zip_bomb = "zip_bomb"
    too_many_entries = "too_many_entries"
    unsafe_entry = "unsafe_entry"
    unsafe_xml = "unsafe_xml"
    too_many_cells = "too_many_cells"
    too_many_elements = "too_many_elements"
    strict_ooxml = "strict_ooxml"
    macro_enabled = "macro_enabled"
    parse_error = "parse_error"


class UnreadableWorkbook(Exception):
    """A file that xltool will not (or cannot) read.

    ``reason`` is machine-readable, ``message`` is the translated sentence for the person
    who submitted the file, ``detail`` is optional technical context (English, for logs).
    ``str(exc)`` is the message. Instances pickle, so worker processes can return them.
    """

    def __init__(self, reason: Reason, message: str, detail: str = "", path: str = "") -> None:
        super().__init__(message)
        self.reason = Reason(reason)
        self.message = message
        self.detail = detail
        self.path = path

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # keep all fields across pickling (multiprocessing)
        return (type(self), (self.reason, self.message, self.detail, self.path))


@record
class Limits:
    """Bounds applied before any parser runs (``inspect``), or by the streaming reader as it
    parses (``open_package``: cells it reads, elements of workbook.xml and the shared strings).
    All sizes in bytes.

    openpyxl needs roughly 400 bytes and 12 microseconds per cell: a sheet of 1,800,000 cells
    took 21 s and 680 MB to load (measured), while inspect() scanned it in 1 s. Returned
    workbooks hold a few thousand cells, so a caller may well choose far lower limits.
    """

    max_file_bytes: int = 20 * 1024 * 1024
    max_total_uncompressed: int = 200 * 1024 * 1024  # sum of the declared entry sizes
    max_entry_ratio: float = 100.0  # uncompressed : compressed, for entries above the next size
    ratio_min_entry_bytes: int = 1024 * 1024
    max_entries: int = 2000
    # Per sheet, each of: the declared <dimension> area, the scanned extent (last row x last
    # column) and the scanned cost (cells + rows + cells covered by merged/hyperlink ranges).
    max_cells_per_sheet: int = 2_000_000
    max_total_cells: int = 2_000_000  # the scanned cost summed over the workbook
    # XML elements in all other parts openpyxl parses (styles, shared strings, drawings, ...);
    # about 5-15 microseconds each. Excel's own cap of 64,000 cell formats is ~250,000 elements.
    max_xml_elements: int = 2_000_000
    allow_macros: bool = True  # xlsm is read (macros never run) and noted


@record
class SheetFacts:
    part: str  # zip entry name, e.g. "xl/worksheets/sheet1.xml"
    title: str | None  # the tab name, when workbook.xml names it
    dimension: str | None  # the declared <dimension ref=...>
    cells: int  # number of <c> elements
    max_row: int
    max_column: int
    expanded_cells: int = 0  # cells covered by merged ranges and hyperlink ranges


@record
class FileFacts:
    path: str
    size: int
    sha256: str
    kind: str  # "xlsx" or "xlsm"
    entries: tuple[str, ...]
    uncompressed_size: int
    workbook_part: str
    sheets: tuple[SheetFacts, ...] = ()
    macro_enabled: bool = False
    notes: tuple[Reason, ...] = field(default=())

    @property
    def total_cells(self) -> int:
        return sum(s.cells for s in self.sheets)


# --------------------------------------------------------------------------- messages


def _fmt(text: str, msgid: str, **values: Any) -> str:
    """Fill placeholders; fall back to the English msgid if a translation broke them."""
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):
        return msgid.format(**values)


def _mb(n: int | float) -> str:
    return f"{n / (1024 * 1024):.1f}"


def N_(message: str) -> str:
    """Mark a msgid for extraction (gettext_noop); it is translated by _() where it is used."""
    return message


# (reason, variant) -> English msgid. Placeholders: {name} is the file name; others per entry.
MESSAGES: dict[tuple[Reason, str], str] = {
    (Reason.missing, ""): N_(
        "The file {name} does not exist. Check the file path and try again."),
    (Reason.not_a_file, ""): N_(
        "{name} is not a regular file (it may be a folder). Choose the Excel workbook file itself."),
    (Reason.io_error, ""): N_(
        "The file {name} could not be read ({error}). If it is open in Excel or WPS, close it and "
        "try again."),
    (Reason.io_error, "changing"): N_(
        "The file {name} changed while it was being read (it may still be copying or saving). Wait "
        "until it is complete and try again."),
    (Reason.empty, ""): N_(
        "The file {name} is empty (0 bytes); the upload or e-mail attachment probably failed. "
        "Please send the workbook again."),
    (Reason.too_large, ""): N_(
        "The file {name} is {size} MB, larger than the limit of {limit} MB. Delete unused sheets, "
        "pictures and blank rows, save it as .xlsx and submit it again."),
    (Reason.legacy_xls, ""): N_(
        "The file {name} is in the old Excel 97-2003 format (.xls), which cannot be read. Open it "
        "in Excel or WPS, use Save As to save it as an Excel workbook (.xlsx), and submit it again."),
    (Reason.legacy_xls, "et"): N_(
        "The file {name} is in the WPS Spreadsheets format (.et), which cannot be read. Open it in WPS, use Save "
        "As to save it as an Excel workbook (.xlsx), and submit it again."),
    (Reason.encrypted, ""): N_(
        "The file {name} is protected by a password to open, so it cannot be read. Remove the "
        "password in Excel or WPS (clear the password under file encryption), save it as .xlsx "
        "and submit it again."),
    (Reason.encrypted, "xls"): N_(
        "The file {name} is an encrypted workbook in the old Excel 97-2003 format (.xls), which "
        "cannot be read. Open it in Excel or WPS, remove the password to open if there is one, save "
        "it as an Excel workbook (.xlsx) and submit it again."),
    (Reason.xlsb, ""): N_(
        "The file {name} is an Excel binary workbook (.xlsb), which cannot be read. Open it in "
        "Excel or WPS, save it as an Excel workbook (.xlsx) and submit it again."),
    (Reason.ods, ""): N_(
        "The file {name} is an OpenDocument spreadsheet (.ods), which cannot be read. Open it in "
        "Excel, WPS or LibreOffice, save it as an Excel workbook (.xlsx) and submit it again."),
    (Reason.not_a_zip, ""): N_(
        "The file {name} is not an Excel workbook, or it is damaged. Open it in Excel or WPS to "
        "check it, save it as an Excel workbook (.xlsx) and submit it again."),
    (Reason.not_a_zip, "pdf"): N_(
        "The file {name} is a PDF document, not an Excel workbook. Please submit the Excel "
        "workbook (.xlsx) itself."),
    (Reason.not_a_zip, "web"): N_(
        "The file {name} is a web page or XML file with an Excel file name (often exported by "
        "another system), not a real Excel workbook. Open it in Excel or WPS, save it as an Excel "
        "workbook (.xlsx) and submit it again."),
    (Reason.not_a_zip, "archive"): N_(
        "The file {name} is a compressed archive (such as RAR, 7z or gzip), not an Excel workbook. "
        "Extract it and submit the Excel workbook (.xlsx) itself."),
    (Reason.not_a_zip, "text"): N_(
        "The file {name} is a plain text file (such as CSV), not an Excel workbook. Open it in "
        "Excel or WPS, save it as an Excel workbook (.xlsx) and submit it again."),
    (Reason.corrupt_zip, ""): N_(
        "The file {name} is damaged and cannot be opened (the upload or copy may be incomplete). "
        "Open it in Excel or WPS to check it: if it opens, save it again as .xlsx; otherwise send "
        "the original file again."),
    (Reason.corrupt_zip, "content_types"): N_(
        "The file {name} lacks the list of its parts ([Content_Types].xml) that every Excel workbook "
        "holds: it was changed outside Excel or damaged, and Excel cannot open it either. Send the "
        "workbook again as saved by Excel or WPS."),
    (Reason.corrupt_zip, "content_type_missing"): N_(
        "The file {name} does not declare the type of every part it holds (its [Content_Types].xml "
        "is incomplete): it was changed outside Excel or damaged, and Excel cannot open it without "
        "repairing it. Send the workbook again as saved by Excel or WPS."),
    (Reason.not_a_workbook, ""): N_(
        "The file {name} is an office document but not an Excel workbook. Please submit the Excel "
        "workbook (.xlsx)."),
    (Reason.not_a_workbook, "word"): N_(
        "The file {name} is a Word document, not an Excel workbook. Please submit the Excel "
        "workbook (.xlsx)."),
    (Reason.not_a_workbook, "powerpoint"): N_(
        "The file {name} is a PowerPoint presentation, not an Excel workbook. Please submit the "
        "Excel workbook (.xlsx)."),
    (Reason.not_a_workbook, "zip"): N_(
        "The file {name} is a ZIP archive, not an Excel workbook. Extract it and submit the Excel "
        "workbook (.xlsx) itself."),
    (Reason.zip_bomb, ""): N_(
        "The file {name} would expand to {size} MB when opened, far more than a normal workbook "
        "(limit {limit} MB), so it cannot be read safely. Open it in Excel or WPS, delete unused "
        "sheets and blank rows and columns, save it as .xlsx and submit it again."),
    (Reason.zip_bomb, "ratio"): N_(
        "The file {name} contains a part that is compressed {ratio} to 1 and would expand to {size} "
        "MB, far more than a normal workbook, so it cannot be read safely. Open it in Excel or WPS, "
        "delete unused sheets and blank rows and columns, save it as .xlsx and submit it again."),
    (Reason.too_many_entries, ""): N_(
        "The file {name} contains {count} internal parts, more than the limit of {limit}. Delete "
        "unused sheets, pictures and objects, save it as .xlsx and submit it again."),
    (Reason.unsafe_entry, ""): N_(
        "The file {name} contains an invalid internal path ({entry}); it was not saved by Excel or "
        "WPS and will not be opened. Save the workbook again in Excel or WPS as .xlsx and submit "
        "it again."),
    (Reason.unsafe_xml, ""): N_(
        "The file {name} contains XML declarations (DTD or entities) that Excel and WPS never "
        "write; it will not be opened. Save the workbook again in Excel or WPS as .xlsx and submit "
        "it again."),
    (Reason.too_many_cells, ""): N_(
        "The sheet \u201c{sheet}\u201d in {name} reaches cell {cell} ({cells} cells, limit {limit}), "
        "usually because of formatting or content far below or to the right of the table. Delete "
        "the empty rows and columns after the table (Ctrl+End shows the last cell), save it and "
        "submit it again."),
    (Reason.too_many_cells, "total"): N_(
        "The workbook {name} contains {cells} cells in all, more than the limit of {limit}. Delete "
        "unused sheets and blank rows and columns, save it and submit it again."),
    (Reason.too_many_elements, ""): N_(
        "The file {name} contains {count} XML elements outside its worksheets (limit {limit}), far "
        "more than a normal workbook; the most common cause is a huge number of cell styles. Open it "
        "in Excel or WPS, remove unused cell styles and formats, save it as .xlsx and submit it "
        "again."),
    (Reason.strict_ooxml, ""): N_(
        "The file {name} is saved as \u201cStrict Open XML Spreadsheet\u201d, which cannot be read. "
        "Open it in Excel, save it as \u201cExcel Workbook (*.xlsx)\u201d and submit it again."),
    (Reason.macro_enabled, ""): N_(
        "The file {name} contains macros (.xlsm), which are not accepted. Open it in Excel or WPS, "
        "save it as an Excel workbook (.xlsx) without macros and submit it again."),
    (Reason.macro_enabled, "note"): N_(
        "The file {name} contains macros (.xlsm). Macros are never run; only cell contents are "
        "read. Next time, please save it as an Excel workbook (.xlsx) before submitting."),
    (Reason.parse_error, ""): N_(
        "The file {name} looks like an Excel workbook, but its content could not be read (technical "
        "detail: {detail}). Open it in Excel or WPS, save it again as .xlsx and submit it again; if "
        "the problem remains, send this message to the finance bureau."),
    (Reason.parse_error, "no_sheets"): N_(
        "The workbook {name} contains no worksheet that can be read. Open it in Excel or WPS, check "
        "that the sheets are there, save it as .xlsx and submit it again."),
}


def message_for(reason: Reason, name: str, variant: str = "", **values: Any) -> str:
    """The translated sentence for *reason* about the file called *name*."""
    msgid = MESSAGES.get((reason, variant)) or MESSAGES[(reason, "")]
    return _fmt(_(msgid), msgid, name=name, **values)


def describe_note(note: Reason, facts: FileFacts) -> str:
    """The sentence for a note on a readable file (currently only ``macro_enabled``)."""
    name = Path(facts.path).name
    return message_for(note, name, "note" if note is Reason.macro_enabled else "")


class _Refusal(Exception):
    """Internal: carries reason + message parts until the file name is known."""

    def __init__(self, reason: Reason, variant: str = "", detail: str = "", **values: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.variant = variant
        self.detail = detail
        self.values = values

    def build(self, path: str) -> UnreadableWorkbook:
        name = Path(path).name or path
        variant = self.variant
        if self.reason is Reason.legacy_xls and not variant and Path(path).suffix.lower() in (".et", ".ett"):
            variant = "et"  # a WPS user knows the file as .et, not as .xls
        values = dict(self.values)
        shown = values.pop("shown", self.detail)
        if self.reason is Reason.parse_error:
            values["detail"] = shown
        msg = message_for(self.reason, name, variant, **values)
        return UnreadableWorkbook(self.reason, msg, self.detail, path)


# --------------------------------------------------------------------------- reading the file

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


def _read_file(path: str, limits: Limits) -> bytes:
    """Read the whole file (bounded), refusing anything that is not a regular file."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)  # a FIFO must not block
    try:
        fd = os.open(path, flags)
    except (FileNotFoundError, NotADirectoryError):
        raise _Refusal(Reason.missing) from None
    except IsADirectoryError:
        raise _Refusal(Reason.not_a_file) from None
    except OSError as exc:
        if os.path.isdir(path):  # Windows refuses to open folders with PermissionError
            raise _Refusal(Reason.not_a_file) from None
        raise _Refusal(Reason.io_error, detail=repr(exc), error=exc.strerror or type(exc).__name__) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # folders, FIFOs, devices (/dev/zero never ends)
            raise _Refusal(Reason.not_a_file)
        if st.st_size > limits.max_file_bytes:
            raise _Refusal(Reason.too_large, size=_mb(st.st_size), limit=_mb(limits.max_file_bytes))
        with os.fdopen(fd, "rb", closefd=False) as fh:
            # read(n) reserves n bytes up front: ask for the size fstat() reported, plus one to see growth
            data = fh.read(st.st_size + 1)
    except OSError as exc:
        raise _Refusal(Reason.io_error, detail=repr(exc), error=exc.strerror or type(exc).__name__) from None
    finally:
        os.close(fd)
    if len(data) > st.st_size:
        raise _Refusal(Reason.io_error, "changing", detail="the file grew while being read")
    if not data:
        raise _Refusal(Reason.empty)
    return data


def _sniff_other(data: bytes) -> str:
    """Name the kind of a file that is neither OLE2 nor zip, to pick a helpful message."""
    head = data[:4096]
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith((b"Rar!", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b", b"BZh")):
        return "archive"
    text = head
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if text.startswith(bom):
            text = text[len(bom):].decode(enc, errors="ignore").encode("utf-8")
            break
    low = text.lstrip().lower()
    if low.startswith((b"<html", b"<!doctype html", b"<table", b"<?xml", b"mime-version:", b"<meta", b"<head")):
        return "web"
    if b"urn:schemas-microsoft-com:office:spreadsheet" in low or b"<html" in low[:1024]:
        return "web"
    for encoding in ("utf-8", "gb18030"):  # Chinese CSV exports are often GBK
        try:  # final=False: the 4 KB head may end inside a multi-byte character
            decoded = codecs.getincrementaldecoder(encoding)().decode(text, final=False)
            break
        except UnicodeDecodeError:
            continue
    else:
        return ""
    if decoded and sum(ch.isprintable() or ch in "\r\n\t" for ch in decoded) >= 0.95 * len(decoded):
        return "text"
    return ""


# --------------------------------------------------------------------------- OLE2 (CFB)

_MAXREGSECT = 0xFFFFFFFA


class _CfbError(Exception):
    pass


class _Cfb:
    """A minimal, bounded reader of the compound file directory (MS-CFB).

    Only what is needed to tell xls from encrypted OOXML: the stream names, and the first
    bytes of one stream. Every loop is bounded by the number of sectors in the file.
    """

    def __init__(self, data: bytes) -> None:
        if len(data) < 512 or not data.startswith(_OLE_MAGIC):
            raise _CfbError("short header")
        self.data = data
        self.sector_shift, mini_shift = struct.unpack_from("<HH", data, 0x1E)
        if self.sector_shift not in (9, 12) or mini_shift != 6:
            raise _CfbError("bad sector shift")
        self.ss = 1 << self.sector_shift
        (n_fat, first_dir, _txn, self.mini_cutoff, self.first_minifat, self.n_minifat,
         first_difat, n_difat) = struct.unpack_from("<8I", data, 0x2C)
        self.n_sectors = max(1, (len(data) + self.ss - 1) // self.ss - 1)
        # DIFAT: 109 entries in the header, then a chain of DIFAT sectors
        difat = list(struct.unpack_from("<109I", data, 0x4C))
        per = self.ss // 4 - 1
        sid, seen = first_difat, set()
        for _i in range(min(n_difat, self.n_sectors)):
            if sid > _MAXREGSECT or sid in seen:
                break
            seen.add(sid)
            vals = struct.unpack_from(f"<{per + 1}I", self._sector(sid))
            difat.extend(vals[:per])
            sid = vals[per]
        self.fat = self._table(s for s in difat[: min(n_fat, self.n_sectors)] if s <= _MAXREGSECT)
        self.entries = self._directory(first_dir)

    def _sector(self, sid: int) -> bytes:
        off = (sid + 1) * self.ss
        if sid > _MAXREGSECT or off >= len(self.data):
            raise _CfbError(f"sector {sid} out of range")
        return self.data[off:off + self.ss].ljust(self.ss, b"\0")  # the last sector may be short

    def _table(self, sids: Iterable[int]) -> tuple[int, ...]:
        """Concatenate allocation-table sectors; entries past the file's sector count are useless."""
        buf = bytearray()
        cap = 4 * (self.n_sectors + 1)
        for s in sids:
            if len(buf) >= cap:
                break
            buf += self._sector(s)
        buf = buf[: min(len(buf), cap) // 4 * 4]
        return struct.unpack(f"<{len(buf) // 4}I", buf)

    @staticmethod
    def _chain(start: int, table: tuple[int, ...], limit: int) -> list[int]:
        out: list[int] = []
        seen: set[int] = set()
        sid = start
        while sid <= _MAXREGSECT and len(out) < limit and sid < len(table) and sid not in seen:
            seen.add(sid)
            out.append(sid)
            sid = table[sid]
        return out

    def _directory(self, first_dir: int) -> list[tuple[str, int, int, int]]:
        entries = []
        for sid in self._chain(first_dir, self.fat, self.n_sectors):
            block = self._sector(sid)
            for off in range(0, self.ss, 128):
                raw = block[off:off + 128]
                name_len, obj_type = struct.unpack_from("<HB", raw, 64)
                if obj_type not in (1, 2, 5) or not 2 <= name_len <= 64:
                    continue
                name = raw[: name_len - 2].decode("utf-16-le", errors="replace")
                start, size = struct.unpack_from("<IQ", raw, 116)
                if self.sector_shift == 9:
                    size &= 0xFFFFFFFF
                entries.append((name, obj_type, start, size))
        if not entries:
            raise _CfbError("empty directory")
        return entries

    def names(self) -> set[str]:
        return {name.lower() for name, obj_type, _s, _z in self.entries if obj_type in (1, 2)}

    def read_head(self, stream_name: str, limit: int = 8192) -> bytes:
        """The first ``limit`` bytes of a stream (regular or mini stream)."""
        found = next((e for e in self.entries if e[1] == 2 and e[0].lower() == stream_name.lower()), None)
        if found is None:
            return b""
        _name, _type, start, size = found
        want = min(size, limit)
        out = bytearray()
        if size >= self.mini_cutoff:
            for sid in self._chain(start, self.fat, want // self.ss + 1):
                out += self._sector(sid)
            return bytes(out[:want])
        # mini stream: 64-byte sectors inside the root entry's stream
        root = next((e for e in self.entries if e[1] == 5), None)
        if root is None:
            return b""
        minifat = self._table(self._chain(self.first_minifat, self.fat, min(self.n_minifat, self.n_sectors)))
        container = self._chain(root[2], self.fat, self.n_sectors)
        per = self.ss // 64
        for msid in self._chain(start, minifat, want // 64 + 1):
            idx, sub = divmod(msid, per)
            if idx >= len(container):
                break
            out += self._sector(container[idx])[sub * 64:(sub + 1) * 64]
        return bytes(out[:want])


def _biff_has_filepass(head: bytes) -> bool:
    """True if a BIFF workbook stream starts with BOF ... FILEPASS (an encrypted .xls)."""
    pos = 0
    for i in range(64):
        if pos + 4 > len(head):
            return False
        rtype, rlen = struct.unpack_from("<HH", head, pos)
        if i == 0 and rtype not in (0x0809, 0x0409, 0x0209, 0x0009):
            return False
        if rtype == 0x002F:
            return True
        if rtype == 0x0085:  # BOUNDSHEET: FILEPASS would have come earlier
            return False
        pos += 4 + rlen
    return False


def _classify_ole(data: bytes) -> _Refusal:
    encrypted_names = ("encryptioninfo", "encryptedpackage")
    try:
        cfb = _Cfb(data)
        names = cfb.names()
    except (_CfbError, struct.error, ValueError, TypeError, IndexError, MemoryError):
        cfb, names = None, set()
    if cfb is not None:
        if any(n in names for n in encrypted_names):
            return _Refusal(Reason.encrypted, detail="OLE2 with EncryptionInfo/EncryptedPackage")
        for stream in ("workbook", "book"):
            if stream in names:
                try:
                    head = cfb.read_head(stream)
                except (_CfbError, struct.error, ValueError, TypeError, IndexError):
                    head = b""
                if _biff_has_filepass(head):
                    # Also written for workbooks whose structure is protected (the default password
                    # "VelvetSweatshop"), so the message allows for there being no password to open.
                    return _Refusal(Reason.encrypted, "xls", detail="BIFF FILEPASS record")
                return _Refusal(Reason.legacy_xls, detail=f"OLE2 with {stream} stream")
        if "worddocument" in names:
            return _Refusal(Reason.not_a_workbook, "word", detail="OLE2 Word document")
        if "powerpoint document" in names:
            return _Refusal(Reason.not_a_workbook, "powerpoint", detail="OLE2 PowerPoint document")
        return _Refusal(Reason.legacy_xls, detail="OLE2 without a known stream: " + ", ".join(sorted(names))[:200])
    # damaged directory: look for the stream names anywhere (bounded: the file is <= max_file_bytes)
    if any(n.encode("utf-16-le") in data for n in ("EncryptionInfo", "EncryptedPackage")):
        return _Refusal(Reason.encrypted, detail="OLE2 (damaged directory) naming EncryptedPackage")
    return _Refusal(Reason.legacy_xls, detail="OLE2 with a damaged directory")


# --------------------------------------------------------------------------- zip / OOXML

_CT_WORKBOOK = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": "xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.main+xml": "xlsm",
    "application/vnd.ms-excel.template.macroenabled.main+xml": "xlsm",
    "application/vnd.ms-excel.addin.macroenabled.main+xml": "xlsm",
    "application/vnd.ms-excel.sheet.binary.macroenabled.main": "xlsb",
}
_CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_CT_COMMENTS = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
_ODS_MIMETYPES = (b"application/vnd.oasis.opendocument.spreadsheet",)
_STRICT_NS = b"purl.oclc.org/ooxml/spreadsheetml/main"
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_CHUNK = 256 * 1024
_HEAD = 64 * 1024
_MAX_META_PART = 8 * 1024 * 1024  # [Content_Types].xml, workbook.xml and its rels are parsed whole


def _norm(name: str) -> str:
    return name.replace("\\", "/")


def _check_names(infos: list[zipfile.ZipInfo]) -> None:
    seen: set[str] = set()
    for info in infos:
        raw = info.filename
        name = _norm(raw)
        bad = (
            "\0" in raw
            or name.startswith("/")
            or re.match(r"^[A-Za-z]:", name) is not None
            or ".." in name.split("/")
            or any(ord(ch) < 32 for ch in raw)
        )
        if bad:
            raise _Refusal(Reason.unsafe_entry, detail=f"entry name {raw!r}", entry=raw[:80])
        key = name.lower()
        if key in seen and not name.endswith("/"):
            raise _Refusal(Reason.unsafe_entry, detail=f"duplicate entry {raw!r}", entry=raw[:80])
        seen.add(key)


def _check_sizes(infos: list[zipfile.ZipInfo], limits: Limits) -> int:
    total = 0
    for info in infos:
        total += info.file_size
        if total > limits.max_total_uncompressed:
            raise _Refusal(Reason.zip_bomb, detail=f"declared uncompressed total > {limits.max_total_uncompressed}",
                           size=_mb(sum(i.file_size for i in infos)), limit=_mb(limits.max_total_uncompressed))
        if info.file_size > limits.ratio_min_entry_bytes:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_entry_ratio:
                raise _Refusal(Reason.zip_bomb, "ratio", detail=f"{info.filename}: ratio {ratio:.0f}:1",
                               ratio=f"{ratio:,.0f}", size=_mb(info.file_size))
    return total


def _check_small(info: zipfile.ZipInfo, limit: int = _MAX_META_PART) -> None:
    """A part read whole (content types, relationships, workbook.xml for the tab names)."""
    if info.file_size > limit:
        raise _Refusal(Reason.parse_error, detail=f"{info.filename} is {info.file_size} bytes",
                       shown=f"{info.filename} too large")


def _read_small(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int = _MAX_META_PART) -> bytes:
    _check_small(info, limit)
    with zf.open(info) as fh:
        return fh.read(limit + 1)[:limit]


def _parse_xml(blob: bytes, part: str):
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        return fromstring(blob)
    except DefusedXmlException:
        raise _Refusal(Reason.unsafe_xml, detail=f"{part}: DTD/entity declaration") from None
    except Exception as exc:  # ParseError and friends
        raise _Refusal(Reason.parse_error, detail=f"{part}: {type(exc).__name__}: {exc}"[:300],
                       shown=f"{part}: malformed XML") from None


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _content_types(zf: zipfile.ZipFile, by_norm: dict[str, zipfile.ZipInfo]) -> dict[str, str]:
    """Map normalised part name -> content type (Overrides only)."""
    info = by_norm.get("[content_types].xml")
    if info is None:
        return {}
    root = _parse_xml(_read_small(zf, info), "[Content_Types].xml")
    out = {}
    for el in root.iter():
        if _local(el.tag) == "Override":
            part = (el.get("PartName") or "").lstrip("/")
            ctype = (el.get("ContentType") or "").strip().lower()
            if part:
                out[_norm(part).lower()] = ctype
    return out


# The content type a part must have, by the type of the relationship that reaches it.
_CT_BY_REL = {
    "worksheet": "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml",
    "styles": "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml",
    "sharedStrings": "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedstrings+xml",
    "theme": "application/vnd.openxmlformats-officedocument.theme+xml",
    "calcChain": "application/vnd.openxmlformats-officedocument.spreadsheetml.calcchain+xml",
    "comments": "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml",
    "drawing": "application/vnd.openxmlformats-officedocument.drawing+xml",
    "chart": "application/vnd.openxmlformats-officedocument.drawingml.chart+xml",
    "table": "application/vnd.openxmlformats-officedocument.spreadsheetml.table+xml",
    "core-properties": "application/vnd.openxmlformats-package.core-properties+xml",
    "extended-properties": "application/vnd.openxmlformats-officedocument.extended-properties+xml",
    "custom-properties": "application/vnd.openxmlformats-officedocument.custom-properties+xml",
}


def _mistyped_part(zf: zipfile.ZipFile, by_norm: dict[str, zipfile.ZipInfo], overrides: dict[str, str],
                   wb_part: str) -> str | None:
    """The first part [Content_Types].xml types wrongly: none at all (neither an Override nor a
    Default for its extension), or a sheet, the styles, the shared strings or the core properties
    typed as something else (a bare "xml" Default). Excel repairs such a package."""
    root = _parse_xml(_read_small(zf, by_norm["[content_types].xml"]), "[Content_Types].xml")
    defaults = {(el.get("Extension") or "").lower(): (el.get("ContentType") or "").strip().lower()
                for el in root.iter() if _local(el.tag) == "Default"}

    def ctype(name: str) -> str | None:
        return overrides.get(name, defaults.get(name.rsplit("/", 1)[-1].rpartition(".")[2]))

    for name in by_norm:
        if not name.endswith("/") and name != "[content_types].xml" and ctype(name) is None:
            return name
    for source in ("", wb_part):
        for path, kind in _rel_targets(zf, by_norm, source).values():
            if kind == "officeDocument":
                if path in by_norm and ctype(path) not in _CT_WORKBOOK:
                    return path
                continue
            wanted = _CT_BY_REL.get(kind)
            if wanted and path in by_norm and ctype(path) != wanted.lower():
                return path
    return None


def _rel_targets(zf: zipfile.ZipFile, by_norm: dict[str, zipfile.ZipInfo], part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (target part, normalised and lower case; the relationship type's last
    word) of *part* ("" for the package's own relationships)."""
    folder, base = part.rsplit("/", 1) if "/" in part else ("", part)
    rels_name = f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"
    rels_info = by_norm.get(rels_name.lower())
    if rels_info is None:
        return {}
    targets = {}
    for el in _parse_xml(_read_small(zf, rels_info), rels_name).iter():
        if _local(el.tag) == "Relationship" and el.get("Id") and el.get("TargetMode") != "External":
            target = _norm(el.get("Target") or "")
            if target.startswith("/"):
                path = target.lstrip("/")
            else:
                path = str(PurePosixPath(folder, target)) if folder else target
                path = os.path.normpath(path).replace("\\", "/")
            targets[el.get("Id")] = (path.lower(), (el.get("Type") or "").rsplit("/", 1)[-1])
    return targets


def _sheet_titles(zf: zipfile.ZipFile, by_norm: dict[str, zipfile.ZipInfo], wb_part: str) -> dict[str, str]:
    """Map worksheet part name (normalised, lower case) -> tab name. Best effort."""
    try:
        wb_info = by_norm.get(wb_part.lower())
        targets = {rid: path for rid, (path, _kind) in _rel_targets(zf, by_norm, wb_part).items()}
        if wb_info is None or not targets:
            return {}
        titles = {}
        for el in _parse_xml(_sheets_fragment(_read_small(zf, wb_info)), wb_part).iter():
            if _local(el.tag) == "sheet":
                rid = next((v for k, v in el.attrib.items() if _local(k) == "id"), None)
                if rid in targets and el.get("name"):
                    titles[targets[rid]] = el.get("name")
        return titles
    except Exception:  # names are a nicety for messages; damage is reported by the full scan
        return {}


_SHEETS_END = lazy_compile(rb"</(?:[A-Za-z_][\w.\-]{0,64}:)?sheets\s*>")
_WORKBOOK_ROOT = lazy_compile(rb"<((?:[A-Za-z_][\w.\-]{0,64}:)?workbook)[\s>]")


def _sheets_fragment(blob: bytes) -> bytes:
    """workbook.xml cut after </sheets> and closed: the tab names without the hundreds of
    defined names that follow (a template defines one per field). Falls back to the whole part."""
    end, root = _SHEETS_END.search(blob), _WORKBOOK_ROOT.search(blob)
    if end is None or root is None or root.start() > end.start():
        return blob
    return blob[: end.end()] + b"</" + root.group(1) + b">"


# Attribute spans are bounded ({0,1024}) so that a tag without a closing ">" costs linear time.
_DIM_RE = lazy_compile(rb"<(?:[A-Za-z_][\w.\-]{0,64}:)?dimension\b[^<>]{0,1024}?\sref\s*=\s*[\"']([^\"']{0,64})[\"']")
_ROOT_RE = lazy_compile(rb"<(?:([A-Za-z_][\w.\-]{0,64}):)?worksheet[\s/>]")


@lru_cache(maxsize=16)
def _scan_patterns(prefix: bytes | None) -> tuple[re.Pattern[bytes], ...]:
    """Patterns for one namespace prefix; each starts with a literal, which keeps the scan fast.

    ``None`` (root element not found) falls back to any prefix, which is slower.
    """
    p = rb"(?:[A-Za-z_][\w.\-]{0,64}:)?" if prefix is None else re.escape(prefix + b":" if prefix else b"")
    ref = rb"\b[^<>]{0,1024}?\sref\s*=\s*[\"']([^\"']{1,64})[\"']"
    return (
        re.compile(rb"<" + p + rb"c[\s/>]"),  # cells
        re.compile(rb"<" + p + rb"row[\s/>]"),  # rows
        re.compile(rb"<" + p + rb"row\b[^<>]{0,1024}?\sr\s*=\s*[\"']([0-9]{1,9})"),  # row numbers
        re.compile(rb" r=[\"']\$?([A-Za-z]{1,4})\$?[0-9]"),  # cell column letters
        # openpyxl creates a cell object for every cell these ranges cover
        re.compile(rb"<" + p + rb"(?:mergeCell|hyperlink)" + ref),
        re.compile(rb"<" + p + rb"comment" + ref),
    )


_A1_RE = lazy_compile(r"^\$?([A-Za-z]{1,4})?\$?([0-9]{1,9})?$")


def _col_index(letters: str | bytes) -> int:
    if isinstance(letters, bytes):
        letters = letters.decode("ascii")
    return column_index(letters.upper())


def _col_letters(n: int) -> str:
    return column_letters(n) or "A"


_MAX_ROW, _MAX_COL = 1_048_576, 16_384


def _range_bounds(ref: str) -> tuple[int, int, int, int] | None:
    """(min_row, min_col, max_row, max_col) of "B2", "A1:XFD1048576", "A:C" or "3:5".

    A missing row or column part spans the whole sheet, as openpyxl would expand it.
    None if the text is not a reference at all.
    """
    pieces = ref.strip().split(":")
    if not 1 <= len(pieces) <= 2:
        return None
    rows, cols = [], []
    for piece in pieces:
        m = _A1_RE.match(piece.strip())
        if not m or not (m.group(1) or m.group(2)):
            return None
        if m.group(1):
            cols.append(_col_index(m.group(1)))
        if m.group(2):
            rows.append(int(m.group(2)))
    row_lo, row_hi = (min(rows), max(rows)) if rows else (1, _MAX_ROW)
    col_lo, col_hi = (min(cols), max(cols)) if cols else (1, _MAX_COL)
    return row_lo, col_lo, row_hi, col_hi


def _area(bounds: tuple[int, int, int, int]) -> int:
    return (bounds[2] - bounds[0] + 1) * (bounds[3] - bounds[1] + 1)


def _xml_head_is_unsafe(head: bytes) -> bool:
    """True if the XML prolog holds a DOCTYPE (or any other <! declaration).

    Office never writes one; a DTD is how entity-expansion attacks start. Linear in the head.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16-le" if head.startswith(b"\xff\xfe") else "utf-16-be"
        head = head[2:].decode(enc, errors="ignore").encode("utf-8")
    elif head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    elif head[:4] in (b"<\0?\0", b"\0<\0?"):
        head = head.decode("utf-16-le" if head[0] else "utf-16-be", errors="ignore").encode("utf-8")
    pos, n = 0, len(head)
    while pos < n:
        if head[pos] in b" \t\r\n":
            pos += 1
        elif head.startswith(b"<?", pos):
            end = head.find(b"?>", pos + 2)
            if end < 0:  # a prolog longer than the head is as suspicious as a DTD
                return n >= _HEAD
            pos = end + 2
        elif head.startswith(b"<!--", pos):
            end = head.find(b"-->", pos + 4)
            if end < 0:
                return n >= _HEAD
            pos = end + 3
        else:
            return head.startswith(b"<!", pos)
    return False


# A markup declaration (<!DOCTYPE, <!ENTITY, <!ELEMENT, ...) as an ASCII-compatible encoding,
# UTF-16 and UTF-32 (either byte order) write it: "<!" and a letter. Comments (<!--) and CDATA
# (<![CDATA[) do not match. Office never writes any of them; a DTD is how XXE and entity
# expansion start, so one anywhere in a part refuses the file.
_DECL = lazy_compile(
    rb"<![A-Za-z]"
    rb"|<\x00!\x00[A-Za-z]\x00"
    rb"|\x00<\x00!\x00[A-Za-z]"
    rb"|<\x00\x00\x00!\x00\x00\x00[A-Za-z]\x00\x00\x00"
    rb"|\x00\x00\x00<\x00\x00\x00!\x00\x00\x00[A-Za-z]")
# A cheap find before the regular expression. Searching for "<!" is slow (a sheet has a "<"
# every 20 bytes); a DTD always holds the keyword DOCTYPE (entities, elements and the rest are
# only legal inside one, and XML parsers take the keyword in capitals only), and a long needle
# is found fast. The regular expression then confirms a real "<!" declaration, so the word in
# a cell's text refuses nothing.
_DECL_HINT = b"DOCTYPE"
_DECL_WIDE_HINTS = tuple("DOCTYPE".encode(enc) for enc in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"))
_DECL_TEXT = lazy_compile(r"<![A-Za-z]")
_ENC_DECL = re.compile(r"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_BOMS = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\xef\xbb\xbf", "utf-8"),
         (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"))


def _family(head: bytes) -> str:
    """The encoding family of an XML entity from its first bytes (XML 1.0 appendix F), also
    without a byte order mark and whatever the first character is."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    if len(head) >= 4:
        if head[:3] == b"\x00\x00\x00" and head[3]:
            return "utf-32-be"
        if head[0] and head[1:4] == b"\x00\x00\x00":
            return "utf-32-le"
        if head[0] == 0 and head[1] and head[2] == 0:
            return "utf-16-be"
        if head[0] and head[1] == 0 and head[3] == 0:
            return "utf-16-le"
        if head[:4] == b"\x4c\x6f\xa7\x94":  # "<?xm" in EBCDIC
            return "cp037"
    return "utf-8"


# Encodings in which "<", "!" and ASCII letters can only be those very bytes (no other byte
# sequence decodes to them), or UTF-16/32: the byte patterns above see every declaration.
_RAW_SCANNED = {"utf-8", "utf-8-sig", "ascii", "gbk", "gb2312", "gb18030", "big5", "big5hkscs", "shift_jis",
                "cp932", "euc_jp", "euc_kr", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"}


def _raw_scanned(encoding: str) -> bool:
    name = codecs.lookup(encoding).name
    return name in _RAW_SCANNED or name.startswith(("iso8859-", "cp125"))


class DtdScan:
    """A whole XML part, chunk by chunk, for a markup declaration anywhere in it, in whatever
    encoding the part declares or its bytes imply: UTF-8, UTF-16 and UTF-32 with or without a
    byte order mark, any ASCII-compatible encoding (GBK, GB18030, ...) and, decoded, any other
    encoding Python knows (EBCDIC, UTF-7, ...). An encoding Python does not know is refused.
    ``feed`` returns True as soon as the part is unsafe."""

    _TAIL = 40  # bytes kept between chunks: the longest needle is 28 bytes (DOCTYPE in UTF-32)
    _HEAD = 1024

    def __init__(self) -> None:
        self._tail = b""
        self._head = b""
        self._decoder = None
        self._text_tail = ""
        self._decided = False

    def _decide(self, final: bool) -> bool:
        family = _family(self._head)
        text = self._head[: self._HEAD].decode(family, errors="replace")
        match = _ENC_DECL.match(text.lstrip("\ufeff"))
        declared = match.group(1).lower() if match else family
        try:
            codecs.lookup(declared)
        except LookupError:
            return True  # a parser might know it; this gate cannot read it, so it is not opened
        self._decided = True
        for name in (declared, family):
            if not _raw_scanned(name):  # EBCDIC, UTF-7, ...: read as the parser would, then look
                self._decoder = codecs.getincrementaldecoder(name)(errors="replace")
                break
        if self._decoder is not None:
            return self._decoded(self._head, final)  # everything seen so far, then each chunk
        return False

    def _decoded(self, chunk: bytes, final: bool) -> bool:
        text = self._text_tail + self._decoder.decode(chunk, final)  # type: ignore[union-attr]
        self._text_tail = text[-4:]
        return _DECL_TEXT.search(text) is not None

    def feed(self, chunk: bytes, final: bool = False) -> bool:
        seam = self._tail + chunk[: self._TAIL]  # a declaration split between two chunks
        # rfind: the same answer as "in", measured twice as fast on worksheet XML (CPython 3.11)
        hit = chunk.rfind(_DECL_HINT) >= 0 or _DECL_HINT in seam
        if not hit and (b"\x00" in chunk or b"\x00" in seam):  # UTF-16/32 only: memchr finds no NUL otherwise
            hit = any(chunk.rfind(h) >= 0 or h in seam for h in _DECL_WIDE_HINTS)
        if hit and _DECL.search(self._tail + chunk):
            return True
        self._tail = (self._tail + chunk)[-self._TAIL:] if len(chunk) < self._TAIL else chunk[-self._TAIL:]
        if not self._decided:
            self._head += chunk  # at most the first kilobyte and one chunk
            if len(self._head) < self._HEAD and not final:
                return False
            return self._decide(final)
        if self._decoder is not None:
            return self._decoded(chunk, final)
        return False


def xml_has_dtd(chunks) -> bool:
    """Whether any chunk of an XML part (an iterable of bytes) holds a markup declaration."""
    scan = DtdScan()
    for chunk in chunks:
        if scan.feed(chunk):
            return True
    return scan.feed(b"", final=True)


class _Budget:
    """Cells openpyxl will create, per sheet and for the whole workbook."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.total = 0

    def add(self, cells: int) -> None:
        self.total += cells
        if self.total > self.limits.max_total_cells:
            raise _Refusal(Reason.too_many_cells, "total", detail=f"workbook cell total {self.total}",
                           cells=f"{self.total:,}", limit=f"{self.limits.max_total_cells:,}")


class _PartScan:
    """Streaming scan of one worksheet (or comments) part, in chunks cut after a '>'."""

    def __init__(self, part: str, title: str | None, budget: _Budget, comments: bool = False) -> None:
        self.part, self.title, self.budget, self.comments = part, title, budget, comments
        self.limit = budget.limits.max_cells_per_sheet
        self.dimension: str | None = None
        self.cells = self.rows = self.expanded = self.max_row = self.max_col = 0
        self.carry = b""
        self.patterns: tuple[re.Pattern[bytes], ...] | None = None

    def _refuse(self, max_row: int, max_col: int, cells: int) -> _Refusal:
        return _Refusal(
            Reason.too_many_cells,
            detail=(f"{self.part}: extent {max_row}x{max_col}, {cells} cells "
                    f"({self.expanded} in merged/linked ranges), dimension {self.dimension!r}"),
            sheet=self.title or self.part, cell=f"{_col_letters(max_col)}{max_row}",
            cells=f"{cells:,}", limit=f"{self.limit:,}",
        )

    def feed(self, chunk: bytes, final: bool = False) -> None:
        buf = self.carry + chunk
        if final:
            self.carry = b""
        else:
            cut = buf.rfind(b">") + 1
            if cut == 0 and len(buf) < 1024 * 1024:
                self.carry = buf
                return
            buf, self.carry = (buf[:cut], buf[cut:]) if cut else (buf, b"")
        if not buf:
            return
        if self.patterns is None:  # the first buffer: namespace prefix and <dimension>
            root = _ROOT_RE.search(buf[:_HEAD])
            self.patterns = _scan_patterns(root.group(1) or b"" if root else None)
            m = None if self.comments else _DIM_RE.search(buf[:_HEAD])
            if m:
                self.dimension = m.group(1).decode("ascii", errors="replace")[:64]
                dim = _range_bounds(self.dimension)
                if dim and dim[2] * dim[3] > self.limit:
                    raise self._refuse(dim[2], dim[3], dim[2] * dim[3])
        cell_re, row_re, row_num_re, col_re, range_re, comment_re = self.patterns
        before = self.cells + self.rows + self.expanded
        if self.comments:
            ranges = comment_re.findall(buf)
        else:
            self.cells += len(cell_re.findall(buf))
            self.rows += len(row_re.findall(buf))
            rows = set(row_num_re.findall(buf))
            if rows:
                self.max_row = max(self.max_row, max(int(r) for r in rows))
            cols = set(col_re.findall(buf))
            if cols:
                self.max_col = max(self.max_col, max(_col_index(c) for c in cols))
            ranges = range_re.findall(buf)
        for raw in ranges:
            bounds = _range_bounds(raw.decode("ascii", errors="replace"))
            if bounds is None or (bounds[0] == bounds[2] and bounds[1] == bounds[3]):
                continue
            self.expanded += _area(bounds)
            self.max_row = max(self.max_row, bounds[2])
            self.max_col = max(self.max_col, bounds[3])
        max_row = max(self.max_row, self.rows)
        max_col = max(self.max_col, 1 if max_row else 0)
        cost = self.cells + self.rows + self.expanded
        if cost > self.limit or max_row * max_col > self.limit:
            raise self._refuse(max_row, max_col, max(cost, max_row * max_col))
        self.budget.add(cost - before)

    def facts(self) -> SheetFacts:
        return SheetFacts(self.part, self.title, self.dimension, self.cells,
                          max(self.max_row, self.rows), self.max_col, self.expanded)


@record(frozen=False)
class _Package:
    """What the container checks learned about a zip that claims to be a workbook."""

    zf: zipfile.ZipFile
    infos: list[zipfile.ZipInfo]
    by_norm: dict[str, zipfile.ZipInfo]  # normalised, lower-case name -> entry (no folders)
    total: int  # declared uncompressed bytes
    ctypes: dict[str, str] = field(default_factory=dict)  # part -> content type (Overrides)
    wb_part: str = ""  # normalised, lower case
    kind: str = ""


def _check_container(zf: zipfile.ZipFile, limits: Limits) -> _Package:
    """Entry count, names, encryption flags and declared sizes: the central directory only."""
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise _Refusal(Reason.too_many_entries, detail=f"{len(infos)} entries",
                       count=f"{len(infos):,}", limit=f"{limits.max_entries:,}")
    _check_names(infos)
    if any(info.flag_bits & 0x1 for info in infos):
        raise _Refusal(Reason.encrypted, detail="zip entries encrypted")
    total = _check_sizes(infos, limits)
    by_norm = {_norm(i.filename).lower(): i for i in infos if not i.is_dir()}
    return _Package(zf, infos, by_norm, total)


def _identify(pkg: _Package) -> None:
    """Fill in the workbook part and kind, or refuse: ods, xlsb, docx, plain zip, ..."""
    zf, by_norm = pkg.zf, pkg.by_norm
    mimetype = by_norm.get("mimetype")
    if mimetype is not None:
        with zf.open(mimetype) as fh:
            mt = fh.read(256).strip()
        if mt.startswith(b"application/vnd.oasis.opendocument."):
            label = mt.decode("ascii", "replace")[:80]
            if not mt.startswith(_ODS_MIMETYPES):
                raise _Refusal(Reason.not_a_workbook, detail=label)
            manifest = by_norm.get("meta-inf/manifest.xml")
            if manifest is not None and b"encryption-data" in _read_small(zf, manifest):
                raise _Refusal(Reason.encrypted, detail=f"{label}, manifest with encryption-data")
            raise _Refusal(Reason.ods, detail=label)
    pkg.ctypes = ctypes = _content_types(zf, by_norm)
    for part, ctype in ctypes.items():
        if ctype in _CT_WORKBOOK and part in by_norm:
            pkg.wb_part, pkg.kind = part, _CT_WORKBOOK[ctype]
            break
    else:
        if "xl/workbook.bin" in by_norm:
            pkg.wb_part, pkg.kind = "xl/workbook.bin", "xlsb"
        elif "xl/workbook.xml" in by_norm:
            if "[content_types].xml" not in by_norm:  # Excel refuses such a package: edited outside it
                raise _Refusal(Reason.corrupt_zip, "content_types", detail="no [Content_Types].xml")
            pkg.wb_part, pkg.kind = "xl/workbook.xml", "xlsx"
    if pkg.kind == "xlsb":
        raise _Refusal(Reason.xlsb, detail=pkg.wb_part)
    if pkg.kind == "xlsx" and "[content_types].xml" in by_norm:
        untyped = _mistyped_part(zf, by_norm, ctypes, pkg.wb_part)
        if untyped is not None:
            raise _Refusal(Reason.corrupt_zip, "content_type_missing", detail=f"no content type for {untyped}")
    if not pkg.wb_part:
        if "word/document.xml" in by_norm or any("wordprocessingml" in c for c in ctypes.values()):
            raise _Refusal(Reason.not_a_workbook, "word", detail="docx")
        if "ppt/presentation.xml" in by_norm or any("presentationml" in c for c in ctypes.values()):
            raise _Refusal(Reason.not_a_workbook, "powerpoint", detail="pptx")
        if "[content_types].xml" in by_norm:
            raise _Refusal(Reason.not_a_workbook, detail="OPC package without a workbook part")
        raise _Refusal(Reason.not_a_workbook, "zip", detail="plain zip")
    if any(n.endswith("vbaproject.bin") for n in by_norm):
        pkg.kind = "xlsm"


def _chunks(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, *, xml: bool,
            workbook: bool = False) -> Iterator[bytes]:
    """One entry, decompressed in chunks: its CRC (zipfile checks it at the end), no more data
    than declared, no DTD anywhere in an XML part (in any encoding, :class:`DtdScan`), no
    strict namespace in the workbook part."""
    read = 0
    scan = DtdScan() if xml else None
    try:
        fh = zf.open(info)
    except Exception as exc:  # BadZipFile, NotImplementedError (compression method), ...
        raise _Refusal(Reason.corrupt_zip, detail=f"{info.filename}: {type(exc).__name__}: {exc}"[:300]) from None
    with fh:
        while True:
            try:
                chunk = fh.read(_CHUNK)
            except Exception as exc:  # BadZipFile (CRC), zlib.error, EOFError
                raise _Refusal(Reason.corrupt_zip,
                               detail=f"{info.filename}: {type(exc).__name__}: {exc}"[:300]) from None
            if not chunk:
                if scan is not None and scan.feed(b"", final=True):
                    raise _Refusal(Reason.unsafe_xml, detail=f"{info.filename}: markup declaration")
                return
            if scan is not None and scan.feed(chunk):
                raise _Refusal(Reason.unsafe_xml, detail=f"{info.filename}: markup declaration")
            if read == 0:
                head = chunk[:_HEAD]
                if xml and _xml_head_is_unsafe(head):
                    raise _Refusal(Reason.unsafe_xml, detail=f"{info.filename}: DTD in prolog")
                if workbook and _STRICT_NS in head:
                    raise _Refusal(Reason.strict_ooxml, detail="strict namespace in workbook part")
            read += len(chunk)
            if read > info.file_size:  # zipfile stops at the declared size; belt and braces
                raise _Refusal(Reason.zip_bomb, detail=f"{info.filename}: more data than declared",
                               size=_mb(read), limit=_mb(limits.max_total_uncompressed))
            yield chunk


def _is_xml(key: str, wb_part: str) -> bool:
    # customXml holds arbitrary user data that no spreadsheet reader parses
    return (key.endswith(_XML_SUFFIXES) or key == wb_part) and not key.startswith("customxml/")


def _scan_entries(pkg: _Package, limits: Limits) -> tuple[SheetFacts, ...]:
    """Decompress every entry once, in chunks: CRCs, XML prologs, strict namespace, cells."""
    zf, by_norm, wb_part = pkg.zf, pkg.by_norm, pkg.wb_part
    sheet_parts = {p for p, c in pkg.ctypes.items() if c == _CT_WORKSHEET and p in by_norm}
    sheet_parts |= {p for p in by_norm if re.fullmatch(r"(?:.*/)?worksheets/[^/]+\.xml", p)}
    comment_parts = {p for p, c in pkg.ctypes.items() if c == _CT_COMMENTS and p in by_norm}
    comment_parts |= {p for p in by_norm if re.fullmatch(r"(?:.*/)?comments?[0-9]*\.xml", p)}
    titles = _sheet_titles(zf, by_norm, wb_part)
    sheets: list[SheetFacts] = []
    budget = _Budget(limits)
    elements = 0
    for info in pkg.infos:
        if info.is_dir():
            continue
        key = _norm(info.filename).lower()
        scan = None
        if key in sheet_parts:
            scan = _PartScan(_norm(info.filename), titles.get(key), budget)
        elif key in comment_parts:
            scan = _PartScan(_norm(info.filename), None, budget, comments=True)
        is_xml = scan is not None or _is_xml(key, wb_part)
        for chunk in _chunks(zf, info, limits, xml=is_xml, workbook=key == wb_part):
            if scan is not None:
                scan.feed(chunk)
            elif is_xml:
                elements += chunk.count(b"<") - chunk.count(b"</")
                if elements > limits.max_xml_elements:
                    raise _Refusal(Reason.too_many_elements, detail=f"{elements} elements by {info.filename}",
                                   count=f"{elements:,}", limit=f"{limits.max_xml_elements:,}")
        if scan is not None:
            scan.feed(b"", final=True)
            if not scan.comments:
                sheets.append(scan.facts())
    return tuple(sheets)


def _open_zip(path: str, limits: Limits) -> tuple[bytes, _Package]:
    """The file's bytes and its zip after the container checks and identification."""
    data = _read_file(path, limits)
    magic = data[:8]
    if magic == _OLE_MAGIC:
        raise _classify_ole(data)
    if not magic.startswith(_ZIP_MAGICS):
        raise _Refusal(Reason.not_a_zip, _sniff_other(data), detail=f"magic {magic.hex()}")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:  # BadZipFile, LargeZipFile, struct.error, UnicodeDecodeError, ...
        raise _Refusal(Reason.corrupt_zip, detail=f"{type(exc).__name__}: {exc}"[:300]) from None
    try:
        pkg = _check_container(zf, limits)
        try:
            _identify(pkg)
        except _Refusal:
            raise
        except Exception as exc:  # decompression errors in the small parts read to identify
            raise _Refusal(Reason.corrupt_zip, detail=f"{type(exc).__name__}: {exc}"[:300]) from None
        macro = pkg.kind == "xlsm"
        if macro and not limits.allow_macros:
            raise _Refusal(Reason.macro_enabled, detail="vbaProject or macro-enabled content type")
    except BaseException:
        zf.close()
        raise
    return data, pkg


def _facts(path: str, data: bytes, pkg: _Package, sheets: tuple[SheetFacts, ...]) -> FileFacts:
    macro = pkg.kind == "xlsm"
    return FileFacts(
        path=path,
        size=len(data),
        sha256=sha256(data).hexdigest(),
        kind=pkg.kind,
        entries=tuple(i.filename for i in pkg.infos),
        uncompressed_size=pkg.total,
        workbook_part=pkg.by_norm[pkg.wb_part].filename,
        sheets=sheets,
        macro_enabled=macro,
        notes=(Reason.macro_enabled,) if macro else (),
    )


def _inspect_data(path: str, limits: Limits) -> tuple[bytes, FileFacts]:
    data, pkg = _open_zip(path, limits)
    with pkg.zf:
        sheets = _scan_entries(pkg, limits)
    return data, _facts(path, data, pkg, sheets)


_T = TypeVar("_T")


def _gated(step: Callable[[str, Limits], _T], what: str, path: str, limits: Limits) -> _T:
    """``step(path, limits)``, with every refusal (and any gap in the checks) as ``UnreadableWorkbook``."""
    try:
        return step(path, limits)
    except _Refusal as refusal:
        raise refusal.build(path) from None
    except Exception as exc:  # pragma: no cover - a gap in the checks must not escape as a traceback
        raise _Refusal(Reason.parse_error, detail=f"{what}: {type(exc).__name__}: {exc}"[:300]).build(path) from exc


def _checked_data(path: str, limits: Limits) -> tuple[bytes, FileFacts]:
    return _gated(_inspect_data, "inspect", path, limits)


def inspect(path: str | os.PathLike[str], limits: Limits | None = None) -> FileFacts:
    """Check a file without parsing it as a workbook. Raises only ``UnreadableWorkbook``."""
    return _checked_data(os.fspath(path), limits or Limits())[1]


# --------------------------------------------------------------------------- streaming

class Package:
    """A workbook zip that passed the container checks, for a reader that streams its parts.

    ``inspect`` scans every worksheet for the cells openpyxl would create, because openpyxl
    builds them all before anyone can stop it. A streaming reader holds only the cells it
    parses and can stop itself, so ``open_package`` leaves the counting to it (``cell_limit``,
    ``too_many_cells``, ``too_many_elements``) and each part is decompressed exactly once:
    ``stream`` yields a part's chunks with the same per-part checks as ``inspect`` (CRC,
    declared size, no DTD, no strict namespace), and ``close`` puts every part the reader did
    not touch through them too. Every method raises only ``UnreadableWorkbook``.
    """

    def __init__(self, path: str, data: bytes, pkg: _Package, limits: Limits) -> None:
        self.path, self.limits = path, limits
        self._data, self._pkg = data, pkg
        self._infos = {i.filename: i for i in pkg.infos if not i.is_dir()}
        self._done: set[str] = set()
        self.cells = 0  # counted by the reader, over the whole workbook

    @property
    def workbook_part(self) -> str:
        return self._pkg.by_norm[self._pkg.wb_part].filename

    def __contains__(self, part: str) -> bool:
        return part in self._infos

    def stream(self, part: str) -> Iterator[bytes]:
        """The chunks of *part* (a zip entry name, exactly), checked as they are decompressed."""
        info = self._infos[part]
        key = _norm(part).lower()
        try:
            yield from _chunks(self._pkg.zf, info, self.limits, xml=_is_xml(key, self._pkg.wb_part),
                               workbook=key == self._pkg.wb_part)
        except _Refusal as refusal:
            raise refusal.build(self.path) from None
        self._done.add(part)  # only once read to the end, where zipfile checks the CRC

    def read(self, part: str) -> bytes:
        """A small part (relationships), whole."""
        try:
            _check_small(self._infos[part])
        except _Refusal as refusal:
            raise refusal.build(self.path) from None
        return b"".join(self.stream(part))

    def cell_limit(self) -> int:
        """How many more cells the next worksheet may hold."""
        return max(0, min(self.limits.max_cells_per_sheet, self.limits.max_total_cells - self.cells))

    def too_many_cells(self, part: str, title: str, cells: int, last: str) -> UnreadableWorkbook:
        if self.cells + cells > self.limits.max_total_cells and cells <= self.limits.max_cells_per_sheet:
            total = self.cells + cells
            refusal = _Refusal(Reason.too_many_cells, "total", detail=f"workbook cell total above {total}",
                               cells=f"{total:,}", limit=f"{self.limits.max_total_cells:,}")
        else:
            refusal = _Refusal(Reason.too_many_cells, detail=f"{part}: more than {cells - 1} cells",
                               sheet=title or part, cell=last or "?", cells=f"{cells:,}",
                               limit=f"{self.limits.max_cells_per_sheet:,}")
        return refusal.build(self.path)

    def too_many_elements(self, part: str, count: int) -> UnreadableWorkbook:
        return _Refusal(Reason.too_many_elements, detail=f"{count} elements by {part}", count=f"{count:,}",
                        limit=f"{self.limits.max_xml_elements:,}").build(self.path)

    def close(self) -> FileFacts:
        """Check the parts not streamed yet, close the zip, and return the file's facts
        (without per-sheet facts: nothing was scanned)."""
        with self._pkg.zf:
            for part in self._infos:
                if part not in self._done:
                    for _chunk in self.stream(part):
                        pass
        return _facts(self.path, self._data, self._pkg, ())

    def discard(self) -> None:
        self._pkg.zf.close()


def open_package(path: str | os.PathLike[str], limits: Limits | None = None) -> Package:
    """The container half of ``inspect`` (file, magic bytes, zip directory, sizes, names,
    identity); the parts are checked as the reader streams them. Raises only ``UnreadableWorkbook``."""
    spath, limits = os.fspath(path), limits or Limits()
    data, pkg = _gated(_open_zip, "open", spath, limits)
    return Package(spath, data, pkg, limits)


# --------------------------------------------------------------------------- loading


def _load_error(exc: BaseException, facts: FileFacts) -> _Refusal:
    """Map whatever openpyxl raised to a refusal."""
    from defusedxml import DefusedXmlException

    text = f"{type(exc).__name__}: {exc}"[:300]
    if isinstance(exc, DefusedXmlException):
        return _Refusal(Reason.unsafe_xml, detail=text)
    if isinstance(exc, (zipfile.BadZipFile, zlib.error, EOFError)):
        return _Refusal(Reason.corrupt_zip, detail=text)
    detail = text
    if isinstance(exc, KeyError) and "There is no item named" in str(exc):
        missing = str(exc).split("'")[1] if "'" in str(exc) else str(exc)
        detail = f"missing part {missing}"
        if any("\\" in n for n in facts.entries):
            detail += " (zip entry names use backslashes)"
    elif isinstance(exc, MemoryError):
        detail = "MemoryError"
    return _Refusal(Reason.parse_error, detail=text, shown=detail)


def load_checked(
    path: str | os.PathLike[str], limits: Limits | None = None, **openpyxl_kwargs: Any
) -> tuple[Workbook, FileFacts]:
    """``inspect`` then ``openpyxl.load_workbook`` on the inspected bytes; returns both."""
    import openpyxl

    spath = os.fspath(path)
    data, facts = _checked_data(spath, limits or Limits())
    openpyxl_kwargs.setdefault("keep_links", False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(data), **openpyxl_kwargs)
    except Exception as exc:  # openpyxl raises almost anything on odd input (incl. MemoryError)
        raise _load_error(exc, facts).build(spath) from exc
    if not wb.worksheets:
        raise _Refusal(Reason.parse_error, "no_sheets", detail="openpyxl found no worksheets").build(spath)
    return wb, facts


def load(path: str | os.PathLike[str], limits: Limits | None = None, **openpyxl_kwargs: Any) -> Workbook:
    """Open a workbook with openpyxl after the safety gate. Raises only ``UnreadableWorkbook``."""
    return load_checked(path, limits, **openpyxl_kwargs)[0]


