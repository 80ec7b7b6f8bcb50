"""User-facing text through gettext catalogues (zh_CN by default, en beside it).

Catalogues live as .po files under xltool/locale/<locale>/LC_MESSAGES/, one file per
area of the package (core.po, mail.po, ...), merged into one catalogue and compiled in
memory with babel on first use, so no binary .mo file has to be committed or built.
"""

from __future__ import annotations

import gettext
import io
import os
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "xltool"
DEFAULT_LOCALE = "zh_CN"


def current_locale() -> str:
    return os.environ.get("XLTOOL_LANG", DEFAULT_LOCALE)


@lru_cache(maxsize=None)
def translations(locale: str) -> gettext.NullTranslations:
    files = sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po"))
    if not files:
        return gettext.NullTranslations()
    catalog = None
    for po in files:
        with po.open("rb") as fh:
            part = read_po(fh, locale=locale)
        if catalog is None:
            catalog = part
            continue
        for message in part:
            if message.id:
                catalog[message.id] = message
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def _(message: str) -> str:
    """Translate *message* (an English msgid) into the current locale."""
    return translations(current_locale()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_locale()).ngettext(singular, plural, n)
