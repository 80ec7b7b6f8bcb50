"""Every error a browser or an API client can get, in Chinese.

Starlette answers an unknown address with ``Not Found``, a wrong method with ``Method Not
Allowed``, and pydantic explains a malformed JSON body in English; here each status has its own
sentence and title, and each validation error a short Chinese reason. Messages the app raised
itself (already a sentence) pass through unchanged.
"""

from __future__ import annotations

import errno
import sqlite3
from http import HTTPStatus

from xltool.i18n import _


def _sentences() -> dict[int, tuple[str, str]]:
    """status → (page title, sentence); looked up when needed, so the current locale applies."""
    return {
        400: (_("The request cannot be used"), _("The request is incomplete or malformed.")),
        401: (_("Log in first"), _("Log in to the audit desk first.")),
        403: (_("Not allowed"), _("This action is not allowed from here. Reload the page and try again.")),
        404: (_("Page not found"), _("There is no page at this address. Check the address, or start again from the "
                                     "self-check page or the audit desk.")),
        405: (_("Not available this way"), _("This address cannot be used this way (for example, opened directly "
                                             "instead of through its button). Go back and use the page's buttons.")),
        408: (_("Too slow"), _("The request arrived too slowly and was stopped. Check the network connection and "
                               "try again.")),
        409: (_("Cannot do this now"), _("This cannot be done now. Reload the page and try again.")),
        413: (_("Too large"), _("The upload is too large.")),
        415: (_("The request cannot be used"), _("The request is incomplete or malformed.")),
        422: (_("The request cannot be used"), _("The request is incomplete or malformed.")),
        429: (_("Too many requests"), _("Too many requests from this computer in a short time. Wait a minute and "
                                        "try again.")),
        500: (_("Server error"), _("Something went wrong on the server; nothing was changed. Try again, and if it "
                                   "happens again tell the finance bureau (the details are in the server's log).")),
        503: (_("Server busy"), _("The server cannot do this just now. Try again later.")),
        507: (_("Server disk full"), _("The server's disk is full, so nothing was stored. Tell the finance bureau; "
                                      "try again later.")),
    }


def title_for(status: int) -> str:
    """The heading of the error page for *status*."""
    return _sentences().get(status, (_("Cannot continue"), ""))[0]


def message_for(status: int, detail: object = None) -> str:
    """The sentence to show for an HTTP error: the app's own sentence, or a Chinese one in
    place of Starlette's English reason phrase (``Not Found``, ``Method Not Allowed``...)."""
    text = "" if detail is None else str(detail)
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    if text and text != phrase:
        return text
    fallback = _sentences().get(status)
    if fallback is not None:
        return fallback[1]
    return _("The request could not be completed (HTTP {status}).").format(status=status)


def _reason(error: dict) -> str:
    kind = str(error.get("type", ""))
    reasons = {
        "missing": _("required"),
        "json_invalid": _("not valid JSON"),
        "string_too_long": _("too long"),
        "string_too_short": _("too short"),
        "int_parsing": _("must be a whole number"),
        "int_type": _("must be a whole number"),
        "float_parsing": _("must be a number"),
        "bool_parsing": _("must be true or false"),
        "bool_type": _("must be true or false"),
        "string_type": _("must be text"),
        "extra_forbidden": _("not expected"),
        "model_attributes_type": _("must be a JSON object"),
        "dict_type": _("must be a JSON object"),
        "list_type": _("must be a list"),
    }
    for prefix, text in reasons.items():
        if kind == prefix or kind.startswith(prefix + "_"):
            return text
    return _("not in the expected form")


def validation_errors(errors) -> list[dict]:
    """FastAPI's validation errors as ``{"loc": [...], "msg": <Chinese>}``; no pydantic English."""
    return [{"loc": [str(part) for part in e.get("loc", ())], "msg": _reason(e)} for e in errors]


def storage_message(exc: BaseException) -> str:
    """A full or unusable data folder, said in one sentence (fail closed: nothing was stored)."""
    from xltool.web.store import StorageFull

    if isinstance(exc, StorageFull) or getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or (
            isinstance(exc, sqlite3.Error) and "full" in str(exc).lower()):
        return _("The server's disk is full, so nothing was stored. Tell the finance bureau; try again later.")
    return _("The server cannot use its data folder just now (it may be read-only or a file has gone missing), "
             "so nothing was changed. Tell the finance bureau; try again later.")
