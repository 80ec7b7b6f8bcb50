"""The bureau's password (argon2 hash in web.toml), the desk session, and the CSRF token.

Every way a password is tried (the login form, HTTP Basic on ``/api/*``) goes through one
:class:`PasswordGate` — failures per client address and in all, checked *before* the hash —
and one :class:`HashPool`, which runs at most ``argon2_concurrency`` verifications at once
(64 MiB each) and answers "busy" beyond a short queue, so anonymous traffic cannot make the
server allocate memory without bound.

Sessions are Starlette's signed cookie (``SessionMiddleware``, HttpOnly, SameSite=Lax) holding a
random CSRF token for every visitor and, once the password was given, the id of a server-side
desk session (``web.sqlite``). A desk session is valid while its row exists, its generation is
the current one and the password hash is the one it was opened under: logout deletes the row,
``serve --set-password`` bumps the generation and changes the hash, so every older cookie stops
working, with or without a restart.

Every form that changes something carries the CSRF token; the API takes it as ``X-CSRF-Token``
when the caller uses the session cookie, or needs HTTP Basic authentication with the password
instead (a request without the cookie carries no ambient authority, so nothing to forge).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import HTTPException, Request

from xltool.i18n import _
from xltool.netaddr import is_loopback
from xltool.web.config import WebConfig, save_config

_hasher = PasswordHasher()
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # characters; argon2 takes any length, but nobody types more
BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="xltool"'}


def set_password(cfg: WebConfig, password: str) -> None:
    """Store the argon2 hash of *password* and revoke every desk session opened before."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(_("The password must have at least {n} characters.").format(n=MIN_PASSWORD))
    cfg.password_hash = _hasher.hash(password)
    save_config(cfg)
    from xltool.web.store import Store

    Store(cfg.data).revoke_sessions()


def verify_password(cfg: WebConfig, password: str) -> bool:
    if not cfg.password_hash or not password or len(password) > MAX_PASSWORD:
        return False
    try:
        return _hasher.verify(cfg.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_tag(password_hash: str) -> str:
    """A short stamp of the current hash, kept with each session (a new password ends them)."""
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:16]


def too_many(what: str = "password") -> HTTPException:
    if what == "code":
        return HTTPException(429, _("Too many wrong submission codes from this computer. Wait a few minutes and "
                                    "try again, or submit without a code and let the bureau confirm the file."))
    return HTTPException(429, _("Too many wrong passwords. Wait a few minutes and try again."))


class PasswordGate:
    """Failed attempts per client address and in all within *window* seconds; an attempt in
    progress counts as a failure until it succeeds, so parallel guesses from one client are
    bounded too. Clients on this computer (loopback) are spared the global limit, so strangers
    cannot lock the bureau out from the server's own console; the per-client limit applies."""

    MAX_CLIENTS = 50_000

    def __init__(self, per_client: int = 10, overall: int = 100, window: float = 300.0, what: str = "password") -> None:
        self.per_client, self.overall, self.window, self.what = per_client, overall, window, what
        self._failures: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> int:
        times = self._failures.get(client)
        if times is None:
            return 0
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            del self._failures[client]
            return 0
        return len(times)

    def _trim(self, now: float) -> None:
        while self._all and now - self._all[0] >= self.window:
            self._all.popleft()
        if len(self._failures) > self.MAX_CLIENTS:  # forget clients whose failures have expired
            for client in list(self._failures):
                self._recent(client, now)

    def begin(self, client: str) -> None:
        """Start an attempt (raise 429 if the client may not try now)."""
        now = time.monotonic()
        with self._lock:
            self._trim(now)
            if self._recent(client, now) + self._running.get(client, 0) >= self.per_client or (
                    len(self._all) >= self.overall and not is_loopback(client)):
                raise too_many(self.what)
            self._running[client] = self._running.get(client, 0) + 1

    def end(self, client: str, ok: bool) -> None:
        now = time.monotonic()
        with self._lock:
            left = self._running.get(client, 1) - 1
            if left > 0:
                self._running[client] = left
            else:
                self._running.pop(client, None)
            if ok:
                self._failures.pop(client, None)
            else:
                self._failures.setdefault(client, deque()).append(now)
                self._all.append(now)


class HashPool:
    """argon2 verifications in a pool of *workers* threads with at most *queue* waiting; beyond
    that the caller is told the server is busy (503) rather than queued without bound."""

    def __init__(self, workers: int = 2, queue: int = 16) -> None:
        self.workers, self.queue = max(1, workers), max(0, queue)
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="argon2")
        self._pending = 0
        self._lock = threading.Lock()
        self._known: dict[bytes, float] = {}  # keyed digests of passwords verified recently

    def _key(self, cfg: WebConfig, password: str) -> bytes:
        return hmac.new(cfg.secret.encode("utf-8"), cfg.password_hash.encode("utf-8") + b"\0" + password.encode(
            "utf-8", "surrogatepass"), hashlib.sha256).digest()

    async def verify(self, cfg: WebConfig, password: str) -> bool:
        cfg.refresh()
        if not cfg.password_hash or not password or len(password) > MAX_PASSWORD:
            return False
        key = self._key(cfg, password)
        now = time.monotonic()
        with self._lock:
            if self._known.get(key, 0) > now:  # the same right password again (an API client): no new hash
                return True
            if self._pending >= self.workers + self.queue:
                raise HTTPException(503, _("The server is busy checking passwords. Try again in a minute."),
                                    headers={"Retry-After": "30"})
            self._pending += 1
        try:
            ok = await asyncio.wrap_future(self._pool.submit(verify_password, cfg, password))
        finally:
            with self._lock:
                self._pending -= 1
        if ok:
            with self._lock:
                if len(self._known) > 16:
                    self._known = {k: t for k, t in self._known.items() if t > now}
                self._known[key] = now + 300
        return ok


async def try_password(request: Request, password: str) -> bool:
    """One password attempt through the gate and the pool; raises 429 when the client is blocked."""
    s = request.app.state.services
    client = client_address(request)
    s.logins.begin(client)
    ok = False
    try:
        ok = await s.hashes.verify(s.cfg, password)
        return ok
    finally:
        s.logins.end(client, ok)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# -- sessions ---------------------------------------------------------------------------------------------

def start_session(request: Request) -> None:
    """A fresh session (and CSRF token) holding a new server-side desk session."""
    s = request.app.state.services
    request.session.clear()
    request.session["desk"] = s.store.new_session(password_tag(s.cfg.password_hash))
    request.state.desk = True


def end_session(request: Request) -> None:
    sid = request.session.get("desk")
    if isinstance(sid, str):
        request.app.state.services.store.end_session(sid)
    request.session.clear()
    request.state.desk = False


def logged_in(request: Request) -> bool:
    """Whether the request holds a live desk session (checked once per request)."""
    known = getattr(request.state, "desk", None)
    if known is not None:
        return known
    sid = request.session.get("desk")
    ok = False
    if isinstance(sid, str) and sid:
        s = request.app.state.services
        s.cfg.refresh()
        ok = bool(s.cfg.password_hash) and s.store.session_valid(
            sid, password_tag(s.cfg.password_hash), s.cfg.session_hours * 3600)
    request.state.desk = ok
    return ok


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


def basic_password(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    if len(header) > 4 * MAX_PASSWORD:
        return ""
    try:
        decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return ""  # a malformed header is a wrong password, not a missing one
    return decoded.partition(":")[2]


async def api_desk(request: Request) -> None:
    """The bureau's API: HTTP Basic with the password, or the session plus the CSRF header for changes."""
    password = basic_password(request)
    if password is not None:
        if await try_password(request, password):
            return
        raise HTTPException(401, _("Wrong password."), headers=BASIC_CHALLENGE)
    if not logged_in(request):
        raise HTTPException(401, _("Log in to the audit desk first."), headers=BASIC_CHALLENGE)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        check_csrf(request, request.headers.get(CSRF_HEADER))
