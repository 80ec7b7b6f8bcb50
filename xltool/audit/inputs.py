"""What the audit reads: files, folders (recursively) and zip archives of returned workbooks.

Every file found is accounted for: a workbook or Word report is checked, a zip archive is
opened, and anything else (a PDF, a photo, a .doc, a CSV, a RAR archive) is listed as not
audited with what it is and what to do (``xltool.audit.filetypes``); only system clutter (lock
files, Thumbs.db, macOS forks) is merely counted.

Archives are extracted member by member into a private temporary folder: names are never
used as paths (a member becomes ``<n>/<basename>``), absolute paths, ``..``, drive letters,
links and encrypted members are refused, and every member's declared and actual size is
bounded, as is the archive's total. A refused member is reported like an unreadable
workbook; it never stops the batch.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from xltool.audit.filetypes import is_archive, is_candidate, is_clutter, not_audited_message, worth_checking
from xltool.i18n import _
from xltool.read.safety import Limits

MAX_ARCHIVE_MEMBERS = 10_000
MAX_ARCHIVE_TOTAL = 4 * 1024 * 1024 * 1024  # extracted bytes per audit
MAX_NESTING = 2  # a zip inside a zip inside the input


@dataclass(frozen=True)
class InputFile:
    path: Path  # a readable file (an extracted copy for archive members)
    source: str  # what the user knows it by: its path, or "archive.zip!folder/member.xlsx"
    mtime: float
    size: int


NOT_AUDITED = "file_type"  # Rejected.reason of a file that is not a workbook (a PDF, a photo, ...)


@dataclass(frozen=True)
class Rejected:
    """An input that is not checked at all (a PDF or other file type, a refused archive member,
    a missing path)."""

    source: str
    reason: str  # machine-readable
    message: str  # translated sentence: what the file is and what to do


@dataclass
class Collected:
    files: list[InputFile] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    clutter: int = 0  # lock files, Thumbs.db, macOS forks, hidden files: nobody's submission


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(8)
    except OSError:
        return b""


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name; names from Chinese Windows archives are GBK without the UTF-8 flag."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            raw = name.encode("cp437")
        except UnicodeEncodeError:
            return name
        for encoding in ("utf-8", "gb18030"):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                continue
    return name


def _unsafe(name: str) -> bool:
    norm = name.replace("\\", "/")
    return (
        "\0" in name or norm.startswith("/") or re.match(r"^[A-Za-z]:", norm) is not None
        or ".." in norm.split("/") or any(ord(ch) < 32 for ch in name)
    )


def _is_ooxml_package(zf: zipfile.ZipFile) -> bool:
    names = {n.lower() for n in zf.namelist()}
    return "[content_types].xml" in names and any(n.startswith("xl/") for n in names)


class Collector:
    """Walk the inputs; extract archive members into *workdir*."""

    def __init__(self, workdir: Path, *, exclude: list[Path] | None = None, limits: Limits | None = None) -> None:
        self.workdir = workdir
        self.limits = limits or Limits()
        self.exclude = [p.resolve() for p in exclude or []]
        self.result = Collected()
        self._seen: set[Path] = set()
        self._extracted = 0
        self._counter = 0

    def _excluded(self, path: Path) -> bool:
        resolved = path.resolve()
        return any(resolved == ex or ex in resolved.parents for ex in self.exclude)

    def add(self, path: Path) -> None:
        """An input argument: a file (any extension), a folder, or a zip archive."""
        if not path.exists():
            self._reject(str(path), "missing", _("The input {path} does not exist.").format(path=path))
        elif path.is_dir():
            self._walk(path)
        else:
            self._file(path, explicit=True)

    def _walk(self, folder: Path) -> None:
        for root, dirs, files in os.walk(folder):
            root_path = Path(root)
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not self._excluded(root_path / d))
            for name in sorted(files):
                self._file(root_path / name, explicit=False)

    def _file(self, path: Path, *, explicit: bool) -> None:
        if self._excluded(path):
            return
        resolved = path.resolve()
        if resolved in self._seen:
            return
        if is_archive(path.name):
            self._seen.add(resolved)
            self._archive(path, str(path), depth=1)
            return
        if not explicit and is_clutter(path.name):
            self.result.clutter += 1
            return
        if not is_candidate(path.name) and not worth_checking(path.name, _head(path)):
            self._seen.add(resolved)
            self._reject(str(path), NOT_AUDITED, not_audited_message(path.name))
            return
        try:
            st = path.stat()
        except OSError as exc:
            self._reject(str(path), "io_error", _("The input {path} cannot be read: {error}").format(
                path=path, error=exc.strerror or exc))
            return
        if not stat.S_ISREG(st.st_mode):
            return
        self._seen.add(resolved)
        self.result.files.append(InputFile(path=path, source=str(path), mtime=st.st_mtime, size=st.st_size))

    def _reject(self, source: str, reason: str, message: str) -> None:
        self.result.rejected.append(Rejected(source=source, reason=reason, message=message))

    def _archive(self, path: Path, source: str, depth: int) -> None:
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            self._reject(source, "corrupt_zip", _("The archive {name} cannot be opened ({error}).").format(
                name=Path(source).name, error=type(exc).__name__))
            return
        with zf:
            if _is_ooxml_package(zf):  # an Excel workbook renamed to .zip
                st = path.stat()
                self.result.files.append(InputFile(path=path, source=source, mtime=st.st_mtime, size=st.st_size))
                return
            infos = [i for i in zf.infolist() if not i.is_dir()]
            if len(infos) > MAX_ARCHIVE_MEMBERS:
                self._reject(source, "too_many_entries", _(
                    "The archive {name} holds {count} files, more than {limit}; split it into smaller archives."
                ).format(name=Path(source).name, count=len(infos), limit=MAX_ARCHIVE_MEMBERS))
                return
            for info in infos:
                self._member(zf, info, source, depth)

    def _member(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive: str, depth: int) -> None:
        name = _member_name(info)
        source = f"{archive}!{name}"
        nested = is_archive(name)
        if is_clutter(name):
            self.result.clutter += 1
            return
        if not (nested or is_candidate(name) or worth_checking(name, self._member_head(zf, info))):
            self._reject(source, NOT_AUDITED, not_audited_message(name))
            return
        if _unsafe(name):
            self._reject(source, "unsafe_entry", _(
                "The archive member {name} has an unsafe path and was not extracted.").format(name=name))
            return
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            self._reject(source, "unsafe_entry", _("The archive member {name} is a link and was not extracted.").format(
                name=name))
            return
        if info.flag_bits & 0x1:
            self._reject(source, "encrypted", _(
                "The archive member {name} is encrypted (the archive has a password); extract it yourself and "
                "audit the folder.").format(name=name))
            return
        limit = self.limits.max_file_bytes if not nested else self.limits.max_total_uncompressed
        if info.file_size > limit:
            self._reject(source, "too_large", _(
                "The archive member {name} is {size} MB, larger than the limit of {limit} MB.").format(
                name=name, size=f"{info.file_size / 1048576:.1f}", limit=f"{limit / 1048576:.1f}"))
            return
        if self._extracted + info.file_size > MAX_ARCHIVE_TOTAL:
            self._reject(source, "too_large", _(
                "The archives hold more data than one audit extracts ({limit} GB); audit them in parts.").format(
                limit=MAX_ARCHIVE_TOTAL // 1024**3))
            return
        self._counter += 1
        # Its own folder keeps the member's file name, which messages about the file quote.
        base = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", PurePosixPath(name.replace("\\", "/")).name)[-120:] or "member"
        target = self.workdir / f"{self._counter:05d}" / base
        target.parent.mkdir(parents=True)
        try:
            written = self._extract(zf, info, target, limit)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            target.unlink(missing_ok=True)
            self._reject(source, "corrupt_zip", _(
                "The archive member {name} is damaged and could not be extracted ({error}).").format(
                name=name, error=type(exc).__name__))
            return
        self._extracted += written
        mtime = datetime(*info.date_time).timestamp() if info.date_time[0] >= 1980 else 0.0
        os.utime(target, (mtime, mtime))
        if nested:
            if depth >= MAX_NESTING:
                self._reject(source, "too_deep", _(
                    "The archive {name} is nested too deeply inside other archives; extract it first.").format(name=name))
            else:
                self._archive(target, source, depth + 1)
            return
        self.result.files.append(InputFile(path=target, source=source, mtime=mtime, size=written))

    @staticmethod
    def _member_head(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
        """The first bytes of a member of unknown type (nothing for an encrypted or damaged one)."""
        if info.flag_bits & 0x1:
            return b""
        try:
            with zf.open(info) as src:
                return src.read(8)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError):
            return b""

    @staticmethod
    def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, limit: int) -> int:
        """Copy one member, never more bytes than declared (zipfile also stops there) or than *limit*."""
        written = 0
        with zf.open(info) as src, open(target, "xb") as dst:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > min(info.file_size, limit):
                    raise ValueError("member larger than declared")
                dst.write(chunk)
        return written


def collect(paths: list[Path], workdir: Path, *, exclude: list[Path] | None = None,
            limits: Limits | None = None) -> Collected:
    """Every workbook the inputs hold, in a stable order (the order of the arguments, then by name)."""
    collector = Collector(workdir, exclude=exclude, limits=limits)
    for path in paths:
        collector.add(Path(path))
    return collector.result


WORKDIR_PREFIX = "xltool-audit-"
_OWNED = re.compile(re.escape(WORKDIR_PREFIX) + r"(\d+)-[a-z0-9_]+")
_UNOWNED = re.compile(re.escape(WORKDIR_PREFIX) + r"[a-z0-9_]+")  # named by older versions: no owner
UNOWNED_AGE = 24 * 3600  # seconds: an empty folder of an older version's round is removed after a day


def make_workdir(root: Path | None = None) -> Path:
    """A private work folder for one round (archive members, the summary's package), named for
    the process that owns it; the folders of rounds whose process is gone (killed, the machine
    restarted) are removed first, so they never pile up."""
    import tempfile

    root = Path(root) if root is not None else Path(tempfile.gettempdir())
    sweep_workdirs(root)
    return Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-", dir=root))


def sweep_workdirs(root: Path) -> int:
    """Remove the work folders in *root* whose owner process is no longer running (only this
    user's folders, never through a link); returns how many were removed."""
    import time

    from xltool.audit.lock import _alive

    removed = 0
    try:
        entries = list(os.scandir(root))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(WORKDIR_PREFIX):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
            continue
        owned = _OWNED.fullmatch(entry.name)
        if owned is not None:
            pid = int(owned.group(1))
            if pid == os.getpid() or _alive(pid):
                continue
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += not os.path.lexists(entry.path)
        elif _UNOWNED.fullmatch(entry.name) and time.time() - info.st_mtime > UNOWNED_AGE:
            try:
                os.rmdir(entry.path)  # empty only: whatever is in it may still be in use
                removed += 1
            except OSError:
                pass
    return removed


def remove_workdir(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
