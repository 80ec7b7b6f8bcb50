"""Facts derived from a form's declaration, kept in the on-disk cache (``xltool.cache``).

Some facts take a tenth of a second to derive (the template fingerprint, the ≈5,000 formulas of
the 审核 sheet) and are the same in every process that reads the same pack, version, year and
settings. They are stored under a key made of everything they are derived from: the form's
identity (pack id and version, template id and version, year, settings, locale), the digest
of the pack's whole declaration, and a stamp of xltool's code and packs (size and modification time of each source
file), so a change to any of them derives afresh. Only values computed here from the form
are stored; nothing a workbook says.
"""

from __future__ import annotations

import json
from functools import lru_cache

from xltool import cache
from xltool.cache import code_stamp
from xltool.digests import sha256
from xltool.form.model import Form


def _pack_digest(pack_ref: str) -> str:
    """The digest of the pack's whole declaration (an extension's base included)."""
    from xltool.form.registry import get_pack

    try:
        return get_pack(pack_ref or None).digest
    except Exception:  # noqa: BLE001 - an unknown pack: the key then rests on its id and version alone
        return ""


def form_key(form: Form) -> str:
    """The cache key of *form*: what its derived facts depend on (see the module's docstring)."""
    from xltool.i18n import current_locale

    return _key(current_locale(), form.pack_ref, form.pack_version, form.template_id, form.version, form.year,
                form.scoring_json)


@lru_cache(maxsize=64)
def _key(*ident) -> str:
    pack = _pack_digest(ident[1])
    blob = json.dumps([code_stamp(), *ident, pack], ensure_ascii=False).encode("utf-8")
    return sha256(blob).hexdigest()[:40]


_MEMO: dict[tuple[str, str], object] = {}  # this process's loads and stores


def load(form: Form, kind: str):
    """The stored *kind* of *form*, or None."""
    key = (form_key(form), kind)
    if key in _MEMO:
        return _MEMO[key]
    value = cache.load(f"forms/{key[0]}.{kind}")
    if value is None:
        return None
    _remember(key, value)
    return value


def store(form: Form, kind: str, value) -> None:
    """Keep *value* (plain data: str, bytes, tuples) as the *kind* of *form*."""
    key = (form_key(form), kind)
    _remember(key, value)
    cache.store(f"forms/{key[0]}.{kind}", value)


def _remember(key: tuple[str, str], value) -> None:
    if len(_MEMO) > 256:
        _MEMO.clear()
    _MEMO[key] = value


# -- built forms -----------------------------------------------------------------------------

def _form_name(pack_ref: str, pack_digest: str, year: int, cfg_json: str) -> str:
    from xltool.i18n import current_locale

    blob = json.dumps([code_stamp(), "form", current_locale(), pack_ref, pack_digest, year, cfg_json],
                      ensure_ascii=False).encode("utf-8")
    return f"forms/{sha256(blob).hexdigest()[:40]}.form"


def load_form(pack_ref: str, pack_digest: str, year: int, cfg_json: str) -> Form | None:
    """The form laid out before from the pack with this digest, for *year* and these settings
    (None: not kept). Laying a form out validates its pack and takes a tenth of a second."""
    from xltool.form.model import form_from_plain

    plain = cache.load(_form_name(pack_ref, pack_digest, year, cfg_json))
    if plain is None:
        return None
    try:
        return form_from_plain(plain)
    except Exception:  # noqa: BLE001 - a damaged or older entry: laid out again
        return None


def store_form(form: Form, pack_ref: str, pack_digest: str, year: int, cfg_json: str) -> None:
    """Keep *form*, laid out from that pack for *year* and these settings (see load_form)."""
    from xltool.form.model import form_to_plain

    try:
        plain = form_to_plain(form)
    except (TypeError, ValueError):
        return
    cache.store(_form_name(pack_ref, pack_digest, year, cfg_json), plain)
