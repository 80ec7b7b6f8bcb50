"""Which form packs exist: the shipped ones and the bureau's own, every version side by side.

Shipped packs live in ``form/packs/<id>/<version>.toml``; a version once shipped never
changes (tests/test_pack_versions.py holds every one's layout), a change is a new version
beside it. A bureau registers its packs by putting them in the folder named by the
environment variable XLTOOL_FORMS_DIR, as ``<id>/<version>.toml`` or directly in the folder
(each file declares its id and version). A workbook names its pack by id and version only
(in the very hidden meta sheet); both are looked up here, so a workbook's text never
chooses a file to read. A pack that extends another names its base the same way.

One bad file in the bureau's folder never stops the others: it is left out, and
``broken()`` says why (``xltool forms`` prints it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from xltool.form.declared import Pack, parse
from xltool.form.pack import PackError, Problem, read_data, read_pack_text
from xltool.i18n import _
from xltool.lazyre import lazy_compile
from xltool.plaintext import plain
from xltool.record import record

SHIPPED_DIR = Path(__file__).with_name("packs")
DEFAULT_FORM = "example"
ENV_DIR = "XLTOOL_FORMS_DIR"
_ID = lazy_compile(r"^[a-z][a-z0-9-]{1,40}$")
_VERSION = lazy_compile(r"^\d+(?:\.\d+)*$")


class UnknownForm(ValueError):
    def __init__(self, form_id: str) -> None:
        self.form_id = form_id
        known = "、".join(sorted(available()))
        super().__init__(_(
            "The form pack “{id}” is not known here (known: {known}). A bureau's own pack must be placed in the "
            "folder named by XLTOOL_FORMS_DIR."
        ).format(id=plain(form_id, 60), known=known))  # a workbook may carry 100 KB here


class UnknownVersion(UnknownForm):
    """The pack is known, but not in the version asked for: never another version instead."""

    def __init__(self, form_id: str, version: str) -> None:
        self.form_id, self.version = form_id, version
        known = "、".join(e.version for e in versions(form_id))
        ValueError.__init__(self, _(
            "The form pack “{id}” has no version {version} here (versions here: {known}). A workbook is read only "
            "with the pack version that made it: keep every version of a pack (the bureau's in the folder named by "
            "XLTOOL_FORMS_DIR), or update xltool if the version is newer."
        ).format(id=form_id, version=version, known=known))


@record
class Entry:
    id: str
    version: str
    path: Path
    shipped: bool

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"


@record
class Broken:
    """A file in the bureau's folder that is not a usable pack, and why."""

    path: Path
    problems: tuple[Problem, ...]


def version_key(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text or "0"))


def split_ref(ref: str) -> tuple[str, str | None]:
    """``id@version`` → (id, version); a bare id → (id, None), meaning its newest version."""
    form_id, _sep, version = (ref or DEFAULT_FORM).partition("@")
    return form_id, (version or None)


def bureau_dir() -> Path | None:
    value = os.environ.get(ENV_DIR, "").strip()
    return Path(value) if value else None


# -- finding the files ------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _shipped() -> dict[str, Entry]:
    """ref → entry; a shipped file's place states its id and version (a test holds them equal)."""
    out = {}
    for path in sorted(SHIPPED_DIR.glob("*/*.toml")):
        entry = Entry(path.parent.name, path.stem, path, True)
        out[entry.ref] = entry
    return out


def _header(path: str, mtime: int, size: int) -> tuple[str, str, str | None]:
    """(id, version, extends) a file declares; PackError when it cannot be read within bounds.
    A refusal is remembered like an answer: a bad file is not read again on every lookup."""
    found = _header_or_error(path, mtime, size)
    if isinstance(found, PackError):
        raise found
    return found


@lru_cache(maxsize=256)
def _header_or_error(path: str, mtime: int, size: int) -> tuple[str, str, str | None] | PackError:
    try:
        return _read_header(path)
    except PackError as exc:
        return exc


def _read_header(path: str) -> tuple[str, str, str | None]:
    text = read_pack_text(Path(path))
    data = read_data(text, path)
    info = data.get("pack") if isinstance(data.get("pack"), dict) else {}
    form_id, version, extends = info.get("id"), info.get("version"), info.get("extends")
    if not isinstance(form_id, str) or not _ID.match(form_id):
        raise PackError(path, [Problem("pack › id", None, _("a pack id is lower-case letters, digits and hyphens, e.g. hunan-2023"))])
    if not isinstance(version, str) or not _VERSION.match(version):
        raise PackError(path, [Problem("pack › version", None, _("a pack version is numbers with dots, e.g. 1.0"))])
    return form_id, version, extends if isinstance(extends, str) else None


def _stat(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path.resolve()), st.st_mtime_ns, st.st_size


def _bureau_files(folder: Path) -> list[Path]:
    """The folder's own .toml files and those one level down (<id>/<version>.toml); no deeper."""
    files = [p for p in folder.glob("*.toml") if p.is_file()]
    for sub in sorted(folder.iterdir()):
        if sub.is_dir() and not sub.name.startswith("."):
            files.extend(p for p in sub.glob("*.toml") if p.is_file())
    return sorted(files)


def _catalogue() -> tuple[dict[str, Entry], list[Broken]]:
    """Every usable pack (ref → entry) and the bureau's files that are not."""
    from xltool.form.bounds import LIMITS

    found = dict(_shipped())
    shipped_ids = {e.id for e in found.values()}
    broken: list[Broken] = []
    folder = bureau_dir()
    if folder is None or not folder.is_dir():
        return found, broken
    try:
        files = _bureau_files(folder)
    except OSError as exc:
        return found, [Broken(folder, (Problem(_("the folder"), None, _("cannot be read: {error}").format(
            error=exc.strerror or exc)),))]
    for path in files[LIMITS.bureau_files:]:
        broken.append(Broken(path, (Problem(_("the folder"), None, _(
            "more than {most} pack files in the folder; this one is not read").format(most=LIMITS.bureau_files)),)))
    mine: dict[str, list[Path]] = {}
    for path in files[: LIMITS.bureau_files]:
        try:
            form_id, version, _extends = _header(*_stat(path))
        except PackError as exc:
            broken.append(Broken(path, tuple(exc.problems)))
            continue
        except (OSError, RecursionError, MemoryError, ValueError) as exc:
            broken.append(Broken(path, (Problem(_("the file"), None, _("cannot be read: {error}").format(
                error=exc.__class__.__name__)),)))
            continue
        if form_id in shipped_ids:
            broken.append(Broken(path, (Problem("pack › id", None, _(
                "“{id}” is the id of a pack shipped with xltool; give your pack an id of its own").format(id=form_id)),)))
            continue
        if path.parent != folder and (path.parent.name, path.stem) != (form_id, version):
            broken.append(Broken(path, (Problem("pack › id", None, _(
                "the file declares {ref} but its place says {place}: name it {id}/{version}.toml").format(
                ref=f"{form_id}@{version}", place=f"{path.parent.name}/{path.name}", id=form_id, version=version)),)))
            continue
        mine.setdefault(f"{form_id}@{version}", []).append(path)
    for ref, paths in mine.items():
        if len(paths) > 1:  # never one of them silently
            for path in paths:
                broken.append(Broken(path, (Problem("pack › version", None, _(
                    "{ref} is declared by {n} files ({paths}); keep one").format(
                    ref=ref, n=len(paths), paths="、".join(str(p) for p in paths))),)))
            continue
        form_id, version = split_ref(ref)
        found[ref] = Entry(form_id, version or "", paths[0], False)
    return found, broken


def entries() -> list[Entry]:
    """Every usable pack version, shipped first, each id's versions oldest first."""
    found, _broken = _catalogue()
    return sorted(found.values(), key=lambda e: (not e.shipped, e.id != DEFAULT_FORM, e.id, version_key(e.version)))


def broken() -> list[Broken]:
    """The files of the bureau's folder left out, with their problems."""
    return _catalogue()[1]


def versions(form_id: str) -> list[Entry]:
    """The versions of pack *form_id*, oldest first (empty: no such pack)."""
    if any(e.id == form_id for e in _shipped().values()):
        found = _shipped()  # a bureau pack cannot take a shipped id: the folder need not be read
    else:
        found = _catalogue()[0]
    return sorted((e for e in found.values() if e.id == form_id), key=lambda e: version_key(e.version))


def available() -> dict[str, Entry]:
    """Pack id → its newest version."""
    out: dict[str, Entry] = {}
    for entry in entries():
        out[entry.id] = entry  # entries() puts each id's versions oldest first
    return out


def shipped_refs() -> list[str]:
    return sorted(_shipped())


# -- loading ------------------------------------------------------------------------------------

def _base(ref: str) -> Pack:
    """The base an extension names: a registered pack by id and version, never a file.

    Its chain of bases is followed through the files' headers first (no loading, no
    recursion), so a circle or a chain too long is refused before anything is laid out.
    """
    from xltool.form.bounds import LIMITS

    def refused(message: str) -> PackError:
        return PackError("", [Problem("pack › extends", None, message)])

    if split_ref(ref)[1] is None:
        raise refused(_("extends names the base pack by id and version, e.g. extends = \"example@1.0\""))
    seen: list[str] = []
    below: str | None = ref
    while below is not None:
        if below in seen:
            raise refused(_("the packs extend each other in a circle ({chain})").format(chain=" → ".join([*seen, below])))
        if len(seen) >= LIMITS.extends:
            raise refused(_("a pack may stand on at most {most} others, one on another").format(most=LIMITS.extends))
        seen.append(below)
        try:
            below = _header(*_stat(find(below).path))[2]
        except UnknownForm as exc:
            raise refused(str(exc)) from None
        except OSError as exc:
            raise refused(_("cannot be read: {error}").format(error=exc.strerror or exc)) from None
    try:
        return get_pack(ref, session=False)
    except UnknownForm as exc:
        raise refused(str(exc)) from None


_PACKS: dict[tuple, tuple[Pack | PackError, tuple]] = {}  # (file stamp, laid out?) → (pack or refusal, stamps of its bases)


def load_file(path: Path, *, check_layout: bool | None = None) -> Pack:
    """The pack in *path*, its base (if it extends one) found among the registered packs.
    *check_layout*: lay it out once while loading (default: all but shipped packs)."""
    path = Path(path)
    try:
        key = _stat(path)
    except OSError:
        return parse(read_pack_text(path), str(path), base=_base)  # read_pack_text words the error
    if check_layout is None:
        check_layout = path.resolve().parent.parent != SHIPPED_DIR.resolve()
    hit = _PACKS.get((key, check_layout))
    if hit is not None and hit[1] == _stamps(hit[0]):
        if isinstance(hit[0], PackError):
            raise hit[0]
        return hit[0]
    try:
        pack = _load(key, check_layout)
    except PackError as exc:  # remembered too: a bad pack is not laid out again on every lookup
        _remember(key, check_layout, exc)
        raise
    _remember(key, check_layout, pack)
    return pack


def _remember(key: tuple, check_layout: bool, found: Pack | PackError) -> None:
    if len(_PACKS) > 64:
        _PACKS.clear()
    _PACKS[(key, check_layout)] = (found, _stamps(found))


def _stamps(pack: Pack | PackError) -> tuple:
    """The files an extension stands on, as they are now (a changed base means loading again);
    a refusal stands while the registered packs stay the same."""
    if isinstance(pack, PackError):  # the files of every registered pack as they are now
        try:
            return tuple(sorted((ref, _stat(e.path)) for ref, e in _catalogue()[0].items() if not e.shipped))
        except OSError:
            return ("gone",)
    try:
        return tuple(_stat(find(ref).path) for ref in pack.bases)
    except (OSError, UnknownForm):
        return ("gone",)


def _load(key: tuple[str, int, int], check_layout: bool) -> Pack:
    path = key[0]
    try:
        return parse(read_pack_text(Path(path)), path, check_layout=check_layout, base=_base)
    except (RecursionError, MemoryError) as exc:  # not reachable within the bounds; never a traceback
        raise PackError(path, [Problem(_("the file"), None, _("cannot be read: {error}").format(
            error=exc.__class__.__name__))]) from None


# Packs given on this command line (make-template --form FILE): usable in this process only.
_SESSION: dict[str, Pack] = {}


class FormClash(ValueError):
    pass


def use_file(path: Path) -> Pack:
    """Load a pack file named by the user on the command line and make it usable here."""
    pack = load_file(Path(path), check_layout=True)
    if pack.id in {e.id for e in _shipped().values()}:
        own = _shipped().get(pack.ref)  # the shipped file itself may be named
        if own is None or own.path.resolve() != Path(path).resolve():
            raise FormClash(_("“{id}” is the id of a pack shipped with xltool; give your pack an id of its own").format(
                id=pack.id))
    entry = _catalogue()[0].get(pack.ref)
    if entry is not None and entry.path.resolve() != Path(path).resolve():
        if get_pack(pack.ref, session=False).digest != pack.digest:
            raise FormClash(_(
                "The pack {ref} is already registered ({other}) and differs from this file; a changed pack is a new "
                "version: raise version in [pack]."
            ).format(ref=pack.ref, other=entry.path))
    _SESSION[pack.ref] = pack
    _SESSION.setdefault(pack.id, pack)
    return pack


def is_registered(form_id: str) -> bool:
    """Whether *form_id* (an id, or ``id@version``) names a registered pack."""
    name, version = split_ref(form_id)
    found = versions(name)
    return bool(found) and (version is None or any(e.version == version for e in found))


def find(form_id: str | None) -> Entry:
    """The registered entry of ``id`` (its newest version) or ``id@version``; UnknownForm."""
    name, version = split_ref(form_id or DEFAULT_FORM)
    found = versions(name)
    if not found:
        raise UnknownForm(name[:60])
    if version is None:
        return found[-1]
    for entry in found:
        if entry.version == version:
            return entry
    raise UnknownVersion(name, version[:20])


# Packs resolved within a batch (``pinned``): (form id, session) → pack, each looked up once.
# A context variable: the web server's other threads keep resolving afresh while a round runs.
_PINNED: ContextVar[dict[tuple[str, bool], Pack] | None] = ContextVar("xltool_pinned_packs", default=None)


@contextmanager
def pinned() -> Iterator[None]:
    """Within it, each pack is resolved once and kept: a batch (an audit round) reads one set of
    packs, and does not list the bureau's folder and stat the pack files for every workbook.
    A pack changed meanwhile is seen by the next batch."""
    token = _PINNED.set({}) if _PINNED.get() is None else None
    try:
        yield
    finally:
        if token is not None:
            _PINNED.reset(token)


def pin() -> None:
    """Resolve each pack once for the rest of this process (an audit worker: one round)."""
    if _PINNED.get() is None:
        _PINNED.set({})


def get_pack(form_id: str | None = None, *, session: bool = True) -> Pack:
    """The registered pack *form_id*: an id (its newest version) or ``id@version`` (exactly that
    version, or UnknownVersion; never another). *session*: also the packs given on this command
    line; a workbook's stated pack is looked up with session=False."""
    form_id = form_id or DEFAULT_FORM
    if session and form_id in _SESSION:
        return _SESSION[form_id]
    kept = _PINNED.get()
    if kept is None:
        return load_file(find(form_id).path)
    found = kept.get((form_id, session))
    if found is None:  # an unknown or refused pack raises here, as unpinned, and is not kept
        found = kept[(form_id, session)] = load_file(find(form_id).path)
    return found


def shipped_path(form_id: str = DEFAULT_FORM) -> Path:
    """The file of a shipped pack: ``id`` (its newest version) or ``id@version``."""
    entry = find(form_id)
    if not entry.shipped:
        raise UnknownForm(form_id)
    return entry.path
