"""Header-safe text and validated e-mail addresses.

Workbooks are filled by hand, so the 电子邮箱 cell may hold full-width characters
(``zhangsan＠163.com``), several addresses separated by ``；`` or ``、``, stray spaces or
even line breaks. Everything that ends up in a header goes through this module: CR/LF
and other control characters never reach a header, and an address is accepted only if
it parses as exactly one plain ``local@domain`` mailbox.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from email.headerregistry import Address
from email.policy import default as default_policy

from xltool.i18n import _
from xltool.mail.errors import AddressError
from xltool.safenames import strip_bidi

# C0/C1 control characters plus Unicode line/paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Separators people type between several addresses in one cell.
_LIST_SEPARATORS = re.compile(r"[,;，；、\s]+")
_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_DOMAIN_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def clean_header_text(text: object, *, max_length: int = 200) -> str:
    """Text that is safe in a header: control characters (CR, LF, TAB, ...) become
    single spaces, runs of spaces collapse, the result is trimmed and shortened."""
    if text is None:
        return ""
    cleaned = _CONTROL.sub(" ", strip_bidi(text))  # bidi controls would reorder what the reader sees
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    if len(cleaned) > max_length:
        cleaned = cleaned[: max_length - 1].rstrip() + "…"
    return cleaned


def _visible(text: str) -> str:
    """Show a hostile value in an error message without its line breaks taking effect."""
    return text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


def _invalid(value: str, source: str, why: str) -> AddressError:
    return AddressError(
        _("Invalid e-mail address “{value}” ({source}): {why}").format(
            value=_visible(value), source=source, why=why
        )
    )


def parse_address(text: str | Address | None, *, source: str, display_name: str | None = None) -> Address:
    """Parse exactly one mailbox, ``a@b.cn`` or ``张三 <a@b.cn>``.

    Full-width characters are normalised (NFKC) first. Raises AddressError with a
    translated message naming *source* (where the value came from) on anything else.
    """
    if isinstance(text, Address):
        text = str(text)
    raw = "" if text is None else str(text)
    if any(ch in raw for ch in "\r\n\x00"):
        raise _invalid(raw, source, _("it contains a line break"))
    value = unicodedata.normalize("NFKC", raw).strip()
    if not value:
        raise _invalid(raw, source, _("it is empty"))
    if _CONTROL.search(value):
        raise _invalid(raw, source, _("it contains control characters"))
    header = default_policy.header_factory("To", value)
    addresses = list(header.addresses)
    if len(addresses) != 1:
        raise _invalid(raw, source, _("exactly one address is expected here"))
    address = addresses[0]
    local, domain = address.username, address.domain
    if not local or not domain:
        raise _invalid(raw, source, _("it is not of the form name@domain"))
    if not (local + domain).isascii():
        raise _invalid(raw, source, _("only letters, digits and symbols are allowed in the address"))
    if (
        not _LOCAL_PART.match(local)
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
        or len(local) > 64
    ):
        raise _invalid(raw, source, _("the part before @ is not valid"))
    labels = domain.split(".")
    if len(domain) > 253 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        raise _invalid(raw, source, _("the domain after @ is not valid"))
    if len(labels) < 2 and domain.lower() != "localhost":
        raise _invalid(raw, source, _("the domain after @ is not valid"))
    if header.defects:
        raise _invalid(raw, source, _("it is not of the form name@domain"))
    name = clean_header_text(display_name if display_name is not None else address.display_name, max_length=80)
    return Address(display_name=name, username=local, domain=domain.lower())


def parse_address_list(values: str | Iterable[str] | None, *, source: str) -> list[Address]:
    """Parse one or several addresses. A string may hold several addresses separated by
    commas, semicolons (also full-width ``，；``), ``、`` or spaces; a display name form
    ``张三 <a@b.cn>`` is accepted for a single address. Duplicates are dropped."""
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(values)
    result: list[Address] = []
    seen: set[str] = set()
    for item in items:
        if item is None:
            continue
        raw = str(item)
        if any(ch in raw for ch in "\r\n\x00"):
            raise _invalid(raw, source, _("it contains a line break"))
        normalised = unicodedata.normalize("NFKC", raw).strip()
        if not normalised:
            continue
        if "<" in normalised:
            parts = [normalised]  # a display-name form; do not split on its spaces
        else:
            parts = [p for p in _LIST_SEPARATORS.split(normalised) if p]
        for part in parts:
            address = parse_address(part, source=source)
            key = address.addr_spec.lower()
            if key not in seen:
                seen.add(key)
                result.append(address)
    return result


def capped_address_list(values: str | Iterable[str] | None, *, source: str,
                        limit: int) -> tuple[list[Address], list[tuple[str, str]]]:
    """Addresses a workbook (or a roster) names, at most *limit* of them and only valid ones.

    Returns (kept, dropped): *dropped* lists each address not used, with the reason in a
    sentence. A value holding a line break is refused as a whole (AddressError): it is an
    attempt to add headers, not a typing slip."""
    if values is None:
        return [], []
    items = [values] if isinstance(values, str) else list(values)
    kept: list[Address] = []
    dropped: list[tuple[str, str]] = []
    seen: set[str] = set()
    for item in items:
        if item is None:
            continue
        raw = str(item)
        if any(ch in raw for ch in "\r\n\x00"):
            raise _invalid(raw[:200], source, _("it contains a line break"))
        normalised = unicodedata.normalize("NFKC", raw[:20_000]).strip()
        parts = [normalised] if "<" in normalised else [p for p in _LIST_SEPARATORS.split(normalised) if p]
        for part in parts:
            try:
                address = parse_address(part, source=source)
            except AddressError as exc:
                dropped.append((part[:80], exc.message))
                continue
            key = address.addr_spec.lower()
            if key in seen:
                continue
            seen.add(key)
            if len(kept) < limit:
                kept.append(address)
            else:
                dropped.append((address.addr_spec, _("more than {n} addresses; only the first {n} are used").format(
                    n=limit)))
    return kept, dropped


def addr_spec(address: Address) -> str:
    """The bare ``local@domain`` of an address (what goes on the SMTP envelope)."""
    return address.addr_spec
