"""User-facing text through gettext catalogues (zh_CN by default, en beside it).

Catalogues live as .po files under xltool/locale/<locale>/LC_MESSAGES/, one file per area of
the package (core.po, mail.po, ...). They are merged and compiled into one ``xltool.mo`` per
locale when the package is built (see ``xltool.catalogs`` and ``setup.py``); at run time that
file is loaded as long as it was made from the .po files present, and otherwise the catalogue is
compiled once into the user cache (``xltool.cache``) or, failing that, in memory.
"""

from __future__ import annotations

import gettext
import io
import os
import struct
from bisect import bisect_left
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "xltool"
DEFAULT_LOCALE = "zh_CN"


def current_locale() -> str:
    return os.environ.get("XLTOOL_LANG", DEFAULT_LOCALE)


@lru_cache(maxsize=None)
def translations(locale: str) -> gettext.NullTranslations:
    from xltool import cache, catalogs

    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    files = catalogs.po_files(folder)
    if not files:
        return gettext.NullTranslations()
    # A catalogue found current for these very files (names, sizes, modification times) before:
    # loaded without reading the .po files again.
    quick = f"locale/{locale}-{cache.files_stamp(files)[:32]}.mo"
    data = cache.read(quick)
    if data:
        try:
            return _Catalog(io.BytesIO(data))
        except (OSError, ValueError, UnicodeDecodeError, struct.error):
            pass
    digest = catalogs.sources_digest(files)
    for data in (_read(folder / catalogs.MO_NAME), cache.read(f"locale/{locale}-{digest}.mo")):
        if data:
            try:
                built = _Catalog(io.BytesIO(data))
            except (OSError, ValueError, UnicodeDecodeError, struct.error):  # a truncated or foreign file: compile
                continue
            if catalogs.stamp_of(built) == digest:
                cache.write(quick, data)
                return built
    data = catalogs.compile_catalog(files, locale, digest)
    cache.write(f"locale/{locale}-{digest}.mo", data)
    cache.write(quick, data)
    return _Catalog(io.BytesIO(data))


class _Catalog(gettext.GNUTranslations):
    """A compiled catalogue whose messages are looked up in the .mo's sorted table when asked
    for, rather than all decoded when it loads (a check asks for a few dozen of ≈1,700). A file
    that is not sorted, or not as gettext expects, is read the usual way."""

    def _parse(self, fp) -> None:
        buf = fp.read()
        index = _MoIndex.of(buf)
        if index is None:
            super()._parse(io.BytesIO(buf))
            return
        header = index.header()
        # gettext's own reading of the header (charset, plural forms, info), from a catalogue
        # holding the header alone.
        # (magic, version, one message, originals at 28, translations at 36, no hash table)
        tables = struct.pack("<9I", 0x950412DE, 0, 1, 28, 36, 0, 0, 0, 44) + struct.pack("<2I", len(header), 44)
        super()._parse(io.BytesIO(tables + header + b"\0"))
        index.charset = self._charset or "ascii"
        self._catalog = index  # type: ignore[assignment]


class _MoIndex:
    """gettext's catalogue mapping (msgid → text, (msgid, n) → plural text) over a .mo's tables."""

    charset = "ascii"

    def __init__(self, buf: bytes, keys: list[bytes], texts: list[tuple[int, int]]) -> None:
        self._buf, self._keys, self._texts = buf, keys, texts

    @classmethod
    def of(cls, buf: bytes) -> _MoIndex | None:
        if len(buf) < 20 or buf[:4] != b"\xde\x12\x04\x95":  # little-endian only (what babel writes)
            return None
        version, count, masters, trans = struct.unpack("<4I", buf[4:20])
        if version >> 16 not in (0, 1) or masters + 8 * count > len(buf) or trans + 8 * count > len(buf):
            return None
        size = len(buf)
        keys, texts = [], []
        for (mlen, moff), (tlen, toff) in zip(struct.iter_unpack("<II", buf[masters:masters + 8 * count]),
                                              struct.iter_unpack("<II", buf[trans:trans + 8 * count])):
            if moff + mlen >= size or toff + tlen >= size:
                return None
            keys.append(buf[moff:moff + mlen])
            texts.append((toff, tlen))
        if not keys or keys[0] != b"" or any(a >= b for a, b in zip(keys, keys[1:])):
            return None  # no header first, or not strictly sorted: looked up the usual way
        return cls(buf, keys, texts)

    def header(self) -> bytes:
        toff, tlen = self._texts[0]
        return self._buf[toff:toff + tlen]

    def _at(self, key: bytes) -> int:
        i = bisect_left(self._keys, key)
        return i if i < len(self._keys) and self._keys[i] == key else -1

    def _text(self, i: int) -> bytes:
        toff, tlen = self._texts[i]
        return self._buf[toff:toff + tlen]

    def get(self, key, default=None):
        if type(key) is str:
            k = key.encode(self.charset)
            i = -1 if b"\0" in k else self._at(k)
            return default if i < 0 else str(self._text(i), self.charset)
        if type(key) is tuple and len(key) == 2 and type(key[0]) is str:
            prefix = key[0].encode(self.charset) + b"\0"
            i = bisect_left(self._keys, prefix)
            if i < len(self._keys) and self._keys[i].startswith(prefix) and self._keys[i].count(b"\0") == 1:
                forms = self._text(i).split(b"\0")
                if isinstance(key[1], int) and 0 <= key[1] < len(forms):
                    return str(forms[key[1]], self.charset)
        return default

    def __getitem__(self, key):
        missing = object()
        found = self.get(key, missing)
        if found is missing:
            raise KeyError(key)
        return found

    def __contains__(self, key) -> bool:
        missing = object()
        return self.get(key, missing) is not missing

    def __len__(self) -> int:
        return len(self._keys)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _(message: str) -> str:
    """Translate *message* (an English msgid) into the current locale."""
    return translations(current_locale()).gettext(message)


def N_(message: str) -> str:
    """Mark *message* for extraction; it is translated with ``_()`` where it is shown."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_locale()).ngettext(singular, plural, n)
