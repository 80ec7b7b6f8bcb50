"""The bureau's password (argon2 hash in web.toml), the session, and the CSRF token.

Sessions are Starlette's signed cookie (``SessionMiddleware``, HttpOnly, SameSite=Lax) holding
``desk: True`` once the password was given, and a random CSRF token for every visitor. Every
form that changes something carries that token; the API takes it as ``X-CSRF-Token`` when the
caller uses the session cookie, or needs HTTP Basic authentication with the password instead
(a request without the cookie carries no ambient authority, so nothing to forge).
"""

from __future__ import annotations

import base64
import hmac
import secrets
import threading
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import HTTPException, Request

from xltool.i18n import _
from xltool.web.config import WebConfig, save_config

_hasher = PasswordHasher()
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MIN_PASSWORD = 8


def set_password(cfg: WebConfig, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(_("The password must have at least {n} characters.").format(n=MIN_PASSWORD))
    cfg.password_hash = _hasher.hash(password)
    save_config(cfg)


def verify_password(cfg: WebConfig, password: str) -> bool:
    if not cfg.password_hash or not password:
        return False
    try:
        return _hasher.verify(cfg.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class LoginThrottle:
    """At most *attempts* wrong passwords per client address in *window* seconds."""

    def __init__(self, attempts: int = 10, window: float = 300.0) -> None:
        self.attempts, self.window = attempts, window
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, client: str) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(client, []) if now - t < self.window]
            self._failures[client] = recent
            return len(recent) >= self.attempts

    def failed(self, client: str) -> None:
        with self._lock:
            self._failures.setdefault(client, []).append(time.monotonic())


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def check_csrf(request: Request, submitted: str | None) -> None:
    """A form post must carry the session's token (a forged cross-site form cannot know it)."""
    if not _same(request.session.get("csrf"), submitted):
        raise HTTPException(403, _("The page has expired or the request did not come from this site. "
                                   "Reload the page and try again."))


def logged_in(request: Request) -> bool:
    return bool(request.session.get("desk"))


def basic_password(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2]


def api_desk(request: Request, cfg: WebConfig) -> None:
    """The bureau's API: HTTP Basic with the password, or the session plus the CSRF header for changes."""
    password = basic_password(request)
    if password is not None:
        if verify_password(cfg, password):
            return
        raise HTTPException(401, _("Wrong password."), headers={"WWW-Authenticate": 'Basic realm="xltool"'})
    if not logged_in(request):
        raise HTTPException(401, _("Log in to the audit desk first."), headers={"WWW-Authenticate": 'Basic realm="xltool"'})
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        check_csrf(request, request.headers.get(CSRF_HEADER))
