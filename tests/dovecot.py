"""A throwaway IMAP server for the tests: Debian's dovecot on 127.0.0.1, in a temporary folder.

Package: ``dovecot-imapd`` (it brings ``dovecot-core``, whose ``/usr/sbin/dovecot`` this starts;
``.ci/run`` installs it). Without it the tests that need it are skipped, and fail under CI=true.

The configuration is written fresh for each server: its own base_dir and state_dir, one user in a
passwd-file (password in plain text, it only ever guards a temporary maildir), maildir storage in
the folder, a free port on 127.0.0.1, no SSL or a self-signed certificate made with openssl. Run
as root, dovecot's login processes take Debian's ``dovenull`` user and the mail files the
``dovecot`` user (dovecot refuses UID 0 for both); run as anyone else, everything is that user.
Messages are put in with IMAP APPEND, as a mail server's delivery would.
"""

from __future__ import annotations

import atexit
import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

DOVECOT = os.environ.get("XLTOOL_DOVECOT", "/usr/sbin/dovecot")
PACKAGE = "dovecot-imapd"
USER = "czj"
PASSWORD = "授权码-2024"  # non-ASCII on purpose: LOGIN cannot carry it, AUTHENTICATE PLAIN must


_STOPPING: list[threading.Thread] = []  # servers told to stop, still shutting down


@atexit.register
def _wait_for_stops() -> None:
    while _STOPPING:
        _STOPPING.pop().join(timeout=30)


def available() -> bool:
    return Path(DOVECOT).is_file() and os.access(DOVECOT, os.X_OK)


def require() -> None:
    """Skip (or, under CI=true, fail) when dovecot is not installed."""
    if available():
        return
    message = f"dovecot is not installed ({DOVECOT}); apt-get install {PACKAGE}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " — required in CI")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ids() -> tuple[str, str, int, int]:
    """(login user, internal user, mail uid, mail gid) for this process."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return me.pw_name, me.pw_name, me.pw_uid, me.pw_gid
    owner = pwd.getpwnam("dovecot")
    return "dovenull", "dovecot", owner.pw_uid, owner.pw_gid


class Dovecot:
    """``with Dovecot() as server:`` a running server; ``server.append(raw)`` delivers a message."""

    def __init__(self, *, ssl_files: tuple[Path, Path] | None = None, capability: str | None = None) -> None:
        # Its own folder under /tmp: dovecot's auth and mail processes run as other users (when the
        # tests run as root) and cannot enter pytest's private tmp_path.
        self.folder = Path(tempfile.mkdtemp(prefix="xltool-dovecot-"))
        self.port = free_port()
        self.ssl_files = ssl_files
        self.capability = capability  # what the server advertises after login, e.g. without IDLE and MOVE
        self.process: subprocess.Popen | None = None

    @property
    def mail_dir(self) -> Path:
        return self.folder / "mail"

    def _config(self) -> Path:
        self.folder.chmod(0o755)
        login_user, internal_user, uid, gid = _ids()
        base = self.folder / "run"
        for path in (base, self.folder / "state", self.mail_dir):
            path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(self.mail_dir, uid, gid)
        (self.folder / "passwd").write_text(
            f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{self.mail_dir / USER}::\n", encoding="utf-8")
        if self.ssl_files:
            cert, key = self.ssl_files
            ssl = f"ssl = required\nssl_cert = <{cert}\nssl_key = <{key}\n"
            listener = f"inet_listener imap {{\n    port = 0\n  }}\n  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {self.port}\n    ssl = yes\n  }}"
        else:
            ssl = "ssl = no\n"
            listener = f"inet_listener imap {{\n    address = 127.0.0.1\n    port = {self.port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}"
        config = self.folder / "dovecot.conf"
        config.write_text(f"""
base_dir = {base}
state_dir = {self.folder / 'state'}
log_path = {self.folder / 'dovecot.log'}
protocols = imap
listen = 127.0.0.1
{ssl}disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal_user}
default_internal_group = {grp.getgrgid(pwd.getpwnam(internal_user).pw_gid).gr_name}
default_login_user = {login_user}
first_valid_uid = 1
mail_location = maildir:{self.mail_dir}/%u
{f"imap_capability = {self.capability}" if self.capability else ""}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.folder / 'passwd'}
}}
userdb {{
  driver = passwd-file
  args = {self.folder / 'passwd'}
}}
service imap-login {{
  {listener}
  chroot =
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
""", encoding="utf-8")
        return config

    def start(self) -> Dovecot:
        require()
        config = self._config()
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                why = self.process.stderr.read().decode(errors="replace")
                self.stop()  # removes its folder
                raise RuntimeError(f"dovecot stopped: {why}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if self.ssl_files or sock.recv(64).startswith(b"* OK"):  # TLS speaks first from the client
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("dovecot did not start within 15 s: " + self.log())

    def stop(self, *, wait: bool = True) -> None:
        """Stop the server. dovecot's master takes about a second to see its children out after
        SIGTERM; with ``wait=False`` that happens in a thread (the next test starts its own server
        on another port and folder meanwhile) and the process waits for every such stop at exit."""
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        if wait:
            self._reap(process)
            return
        thread = threading.Thread(target=self._reap, args=(process,), name="dovecot-stop")
        thread.start()
        _STOPPING.append(thread)

    def _reap(self, process: subprocess.Popen) -> None:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()
        self._log = self.log()
        shutil.rmtree(self.folder, ignore_errors=True)

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        if not path.is_file():
            return getattr(self, "_log", "")
        return path.read_text(encoding="utf-8", errors="replace")[-20000:]

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop(wait=False)

    # -- the test's side of the mailbox --------------------------------------------------------------------
    def client(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=20)
        imap.authenticate("PLAIN", lambda _c: f"\0{USER}\0{PASSWORD}".encode("utf-8"))
        return imap

    def append(self, *messages: bytes, folder: str = "INBOX") -> None:
        imap = self.client()
        try:
            for raw in messages:
                typ, data = imap.append(folder, None, None, raw)
                assert typ == "OK", data
        finally:
            imap.logout()

    def folders(self) -> dict[str, int]:
        """Folder (as IMAP names it) → number of messages not marked deleted."""
        imap = self.client()
        try:
            _typ, listing = imap.list()
            found = {}
            for line in listing:
                name = line.decode().rsplit(' "." ', 1)[-1].strip('"')
                imap.select(f'"{name}"', readonly=True)
                _t, data = imap.search(None, "UNDELETED")
                found[name] = len(data[0].split()) if data and data[0] else 0
            return found
        finally:
            imap.logout()

    def flags(self, folder: str = "INBOX") -> list[str]:
        imap = self.client()
        try:
            imap.select(folder, readonly=True)
            _typ, data = imap.fetch("1:*", "(FLAGS)")
            return [d.decode() for d in data if d]
        finally:
            imap.logout()

