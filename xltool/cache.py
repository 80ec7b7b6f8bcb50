"""A small on-disk cache for what xltool derives from its own declarations (compiled catalogues,
rule code, the 审核 sheet's expected formulas), so that each process does not derive it again.

Entries are named by a digest of everything they are derived from, so a stale entry is never
found; nothing a workbook, a request or a mail supplies is ever stored here. The folder is
``$XLTOOL_CACHE_DIR``, else the user's cache folder (``$XDG_CACHE_HOME/xltool``,
``~/.cache/xltool``, ``%LOCALAPPDATA%\\xltool``). A read-only or missing folder only means
the value is derived again: reading and writing never fail.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent  # xltool's own sources: the code stamp walks them


def cache_dir() -> Path | None:
    if os.environ.get("XLTOOL_CACHE_DIR"):
        return Path(os.environ["XLTOOL_CACHE_DIR"])
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "xltool"
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "xltool"
    try:
        return Path.home() / ".cache" / "xltool"
    except RuntimeError:  # no home folder
        return None


# Every entry: this, a 16-byte BLAKE2b of the data, the data. BLAKE2b because its module is
# built in (hashlib's OpenSSL costs a check's process milliseconds to import: xltool.digests).
_MAGIC = b"xltc2"


def read(name: str) -> bytes | None:
    """The entry *name* (a relative path of our own making), or None (absent, or not as written:
    a damaged, truncated or foreign file is never returned)."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        with open(folder / name, "rb") as fh:
            if not _own(os.fstat(fh.fileno())):
                return None
            blob = fh.read()
    except (OSError, ValueError):
        return None
    head = len(_MAGIC) + 16
    if not blob.startswith(_MAGIC) or len(blob) < head:
        return None
    data = blob[head:]
    return data if _check(data) == blob[len(_MAGIC):head] else None


def _own(st: os.stat_result) -> bool:
    """Whether an entry is this user's alone: owned by them and writable by no one else. A cache
    folder others can write to (``XLTOOL_CACHE_DIR`` on a shared folder) must not let them choose
    the help printed or the code run here; the checksum has no secret, so it cannot tell."""
    if not hasattr(os, "getuid"):  # Windows: the folder under %LOCALAPPDATA% is the user's own
        return True
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def _check(data: bytes) -> bytes:
    from xltool.digests import blake2b

    return blake2b(data, digest_size=16).digest()


def load(name: str):
    """The value ``store`` kept as *name*, or None (absent, damaged, or not marshal data)."""
    data = read(name)
    if data is None:
        return None
    import marshal

    try:
        return marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None


def store(name: str, value) -> None:
    """Keep *value* (marshal data: str, bytes, numbers, tuples, lists, dicts, code) as *name*;
    nothing when it is not such data (it is derived each time then)."""
    import marshal

    try:
        data = marshal.dumps(value)
    except ValueError:
        return
    write(name, data)


_CODES: dict[str, object] = {}  # source digest → code object, in this process


def code(source: str, filename: str, folder: str = "code"):
    """*source* compiled (SyntaxError as ``compile`` raises it): from this process, the entry kept
    under a digest of the source and of the interpreter's bytecode version in *folder*, or
    compiled (and kept). Only source xltool wrote from its own declarations is compiled here."""
    from importlib.util import MAGIC_NUMBER

    from xltool.digests import sha256

    digest = sha256(MAGIC_NUMBER + filename.encode("utf-8") + b"\0" + source.encode("utf-8")).hexdigest()[:40]
    found = _CODES.get(digest)
    if found is not None:
        return found
    name = f"{folder}/{digest}.code"
    entry = load(name)
    # The entry names the source it was compiled from: one stored under this name for another
    # source (copied between cache folders, or planted) is compiled again, never run.
    if (type(entry) is tuple and len(entry) == 2 and entry[0] == digest and hasattr(entry[1], "co_code")
            and entry[1].co_filename == filename):
        found = entry[1]
    else:  # absent, damaged, foreign, or of an earlier layout
        found = compile(source, filename, "exec")
        store(name, (digest, found))
    if len(_CODES) > 16:
        _CODES.clear()
    _CODES[digest] = found
    return found


def writable() -> bool:
    """Whether entries can be stored at all (values costly to write out are not, otherwise)."""
    folder = cache_dir()
    if folder is None:
        return False
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError):
        return False
    return os.access(folder, os.W_OK)


def write(name: str, data: bytes) -> None:
    """Store *data* as *name* atomically; silently nothing when the folder cannot be written."""
    folder = cache_dir()
    if folder is None:
        return
    target = folder / name
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Readable and writable by this user only, whatever the umask: ``read`` trusts no other.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(_MAGIC + _check(data) + data)
        os.replace(tmp, target)
    except (OSError, ValueError):
        try:
            tmp.unlink()
        except OSError:
            pass


@lru_cache(maxsize=1)
def code_stamp() -> str:
    """Size and mtime of every source of xltool (code, packs, catalogues): changes with the code."""
    from xltool import __version__

    sources = []
    for dirpath, dirnames, filenames in os.walk(PACKAGE):
        dirnames[:] = sorted(d for d in dirnames if d not in ("__pycache__", "static", "templates"))
        sources += (os.path.join(dirpath, name) for name in sorted(filenames) if name.endswith((".py", ".toml", ".po")))
    return files_stamp(sources, __version__.encode())


def files_stamp(paths, seed: bytes = b"") -> str:
    """A digest of *paths*' names, sizes and modification times (a file gone is left out): it
    changes when any of them is edited, without reading them."""
    from xltool.digests import blake2b

    h = blake2b(seed, digest_size=32)
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogatepass"))
    return h.hexdigest()
