"""Which form packs exist: the shipped ones (form/packs/*.toml) and the bureau's own.

A bureau registers its packs by putting them in the folder named by the environment
variable XLTOOL_FORMS_DIR. A workbook names its pack by id only (in the very hidden meta
sheet); the id is looked up here, so a workbook's text never chooses a file to read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from xltool.form.layout import Pack, load
from xltool.form.pack import PackError
from xltool.i18n import _
from xltool.plaintext import plain

SHIPPED_DIR = Path(__file__).with_name("packs")
DEFAULT_FORM = "example"
ENV_DIR = "XLTOOL_FORMS_DIR"


class UnknownForm(ValueError):
    def __init__(self, form_id: str) -> None:
        self.form_id = form_id
        known = "、".join(sorted(available()))
        super().__init__(_(
            "The form pack “{id}” is not known here (known: {known}). A bureau's own pack must be placed in the "
            "folder named by XLTOOL_FORMS_DIR."
        ).format(id=plain(form_id, 60), known=known))  # a workbook may carry 100 KB here


@dataclass(frozen=True)
class Entry:
    id: str
    path: Path
    shipped: bool


def _ids_in(folder: Path, shipped: bool) -> list[Entry]:
    out = []
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.toml")):
        try:
            pack = load_file(path)
        except PackError:
            continue  # `xltool forms` shows why
        out.append(Entry(pack.id, path, shipped))
    return out


def bureau_dir() -> Path | None:
    value = os.environ.get(ENV_DIR, "").strip()
    return Path(value) if value else None


def available() -> dict[str, Entry]:
    """Pack id → where it is; a bureau pack cannot replace a shipped id."""
    found: dict[str, Entry] = {e.id: e for e in _ids_in(SHIPPED_DIR, True)}
    folder = bureau_dir()
    if folder is not None:
        for entry in _ids_in(folder, False):
            found.setdefault(entry.id, entry)
    return found


def load_file(path: Path) -> Pack:
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return load(path)  # the loader words the error
    return _load_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=32)
def _load_cached(path: str, mtime: int, size: int) -> Pack:
    # Shipped packs are laid out by the tests; a bureau's pack is laid out once on loading.
    shipped = Path(path).parent == SHIPPED_DIR.resolve()
    return load(Path(path), check_layout=not shipped)


# Packs given on this command line (make-template --form FILE): usable in this process only.
_SESSION: dict[str, Pack] = {}


class FormClash(ValueError):
    pass


def use_file(path: Path) -> Pack:
    """Load a pack file named by the user on the command line and make its id usable here."""
    pack = load_file(Path(path))
    entry = available().get(pack.id)
    if entry is not None and entry.path.resolve() != Path(path).resolve():
        if load_file(entry.path).text != pack.text:
            raise FormClash(_(
                "The pack id “{id}” is already used by {other}; give your pack an id of its own."
            ).format(id=pack.id, other=entry.path))
    _SESSION[pack.id] = pack
    return pack


def is_registered(form_id: str) -> bool:
    return form_id == DEFAULT_FORM or form_id in available()


def get_pack(form_id: str | None = None, *, session: bool = True) -> Pack:
    """The registered pack *form_id* (the default form when empty). *session*: also the packs
    given on this command line; a workbook's stated id is looked up with session=False."""
    form_id = form_id or DEFAULT_FORM
    if form_id == DEFAULT_FORM:
        return load_file(SHIPPED_DIR / "example.toml")
    if session and form_id in _SESSION:
        return _SESSION[form_id]
    entry = available().get(form_id)
    if entry is None:
        raise UnknownForm(form_id)
    return load_file(entry.path)
