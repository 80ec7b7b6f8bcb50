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
    digest = catalogs.sources_digest(files)
    for data in (_read(folder / catalogs.MO_NAME), cache.read(f"locale/{locale}-{digest}.mo")):
        if data:
            try:
                built = gettext.GNUTranslations(io.BytesIO(data))
            except (OSError, ValueError, UnicodeDecodeError):  # a truncated or foreign file: compile
                continue
            if catalogs.stamp_of(built) == digest:
                return built
    data = catalogs.compile_catalog(files, locale, digest)
    cache.write(f"locale/{locale}-{digest}.mo", data)
    return gettext.GNUTranslations(io.BytesIO(data))


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
