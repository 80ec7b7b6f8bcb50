"""The message catalogues: the .po files of one locale merged and compiled into one .mo.

Catalogues live as .po files under ``xltool/locale/<locale>/LC_MESSAGES/``, one per area
(core.po, mail.po, …; any ``*.po`` there counts). A build (``setup.py``'s build_py, also for
editable installs) writes the merged ``xltool.mo`` beside them, stamped with a digest of the
.po files it was made from; at run time that file is loaded when its stamp matches the .po
files present, and otherwise the catalogue is compiled once into the user cache
(``xltool.cache``). This module imports only the standard library until it must compile
(babel), so that ``setup.py`` can load it by path.
"""

from __future__ import annotations

import io
from pathlib import Path

MO_NAME = "xltool.mo"


def po_files(folder: Path) -> list[Path]:
    return sorted(Path(folder).glob("*.po"))


def sources_digest(files: list[Path]) -> str:
    """A digest of the .po files' names and contents: what a compiled catalogue must match."""
    from xltool.digests import sha256

    h = sha256()
    for path in files:
        data = path.read_bytes()
        h.update(path.name.encode("utf-8") + b"\0" + str(len(data)).encode() + b"\0" + data)
    return h.hexdigest()[:32]


def compile_catalog(files: list[Path], locale: str, digest: str) -> bytes:
    """The .po files merged (a later file's entry wins) and compiled, stamped with *digest*."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

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
    # The stamp is the catalogue's version (Project-Id-Version: xltool <digest>), read back by
    # gettext's info() without any other parsing.
    catalog.project, catalog.version = "xltool", digest
    buf = io.BytesIO()
    write_mo(buf, catalog)
    return buf.getvalue()


def stamp_of(translations) -> str:
    """The digest a compiled catalogue (a gettext.GNUTranslations) was stamped with."""
    return translations.info().get("project-id-version", "").rpartition(" ")[2]


def build(locale_dir: Path) -> list[Path]:
    """Write the merged ``xltool.mo`` of every locale under *locale_dir* (the build step)."""
    written = []
    for folder in sorted(Path(locale_dir).glob("*/LC_MESSAGES")):
        files = po_files(folder)
        if not files:
            continue
        locale = folder.parent.name
        target = folder / MO_NAME
        target.write_bytes(compile_catalog(files, locale, sources_digest(files)))
        written.append(target)
    return written
