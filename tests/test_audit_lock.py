"""Issue 14: two audits on the same --out never run at once. Real processes and a real SMTP
server on 127.0.0.1 that holds the first audit mid-mail: the second audit refuses at once
(exit 2, naming the owner), a third with --wait waits and then finds every message already
sent; each unit gets exactly one message. A lock left by a killed audit is broken."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from helpers import edit_inputs, filled_file, form_2023, in_ci
from xltool.audit.lock import LOCK_NAME, AuditLock, AuditLocked

UNITS = [("430203101", "甲单位", "jia@example.cn"), ("430203102", "乙单位", "yi@example.cn"),
         ("430203103", "丙单位", "bing@example.cn")]


class HoldingHandler:
    """Accepts messages, but holds the first DATA until released."""

    def __init__(self) -> None:
        self.messages: list[list[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.entered.set()
        while not self.release.is_set():
            await asyncio.sleep(0.05)
        self.messages.append(sorted(envelope.rcpt_tos))
        return "250 OK"


@pytest.fixture
def smtp():
    try:
        from aiosmtpd.controller import Controller
    except ImportError:  # pragma: no cover
        if in_ci():
            pytest.fail("aiosmtpd is required in CI")
        pytest.skip("aiosmtpd not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handler = HoldingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=5)
    controller.start()
    yield port, handler
    handler.release.set()
    controller.stop()


@pytest.fixture
def workdir(tmp_path, smtp) -> Path:
    port, _ = smtp
    (tmp_path / "xltool.toml").write_text(
        f'[mail]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nsender = "jxg@czj.example.cn"\n'
        f'timeout = 60\nretries = 1\n', encoding="utf-8")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for code, name, mail in UNITS:
        edit_inputs(filled_file(), inbox / f"{code}.xlsx", form_2023(),
                    {"info_unit_code": code, "info_unit_name": name, "info_email": mail})
    return tmp_path


def _audit(cwd: Path, *extra: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLTOOL_")}
    env["XLTOOL_LANG"] = "zh_CN"
    return subprocess.Popen([sys.executable, "-m", "xltool", "audit", "inbox", "--out", "out", "--jobs", "1",
                             "--email", *extra], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_a_second_audit_refuses_a_third_waits_and_nothing_is_sent_twice(workdir, smtp) -> None:
    _, handler = smtp
    first = _audit(workdir)
    try:
        assert handler.entered.wait(120), first.communicate(timeout=5)
        lock = workdir / "out" / LOCK_NAME
        assert json.loads(lock.read_text(encoding="utf-8"))["pid"] == first.pid

        second = _audit(workdir)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 2, out + err
        assert "另一个审核" in err and str(first.pid) in err and "Traceback" not in err

        third = _audit(workdir, "--wait", "120")
        time.sleep(2.0)
        assert third.poll() is None, "the third audit must wait while the first holds the folder"
        handler.release.set()
        out1, err1 = first.communicate(timeout=120)
        out3, err3 = third.communicate(timeout=120)
    finally:
        handler.release.set()
        for proc in (first,):
            if proc.poll() is None:
                proc.kill()
    assert first.returncode == 1, out1 + err1
    assert third.returncode == 1, out3 + err3
    assert "Traceback" not in err1 + err3
    # One message per unit, whatever the number of audits.
    assert sorted(m[0] for m in handler.messages) == sorted(mail for _, _, mail in UNITS)
    assert not (workdir / "out" / LOCK_NAME).exists()
    assert (workdir / "out" / "审核汇总.xlsx").is_file()


def test_a_lock_left_by_a_dead_audit_is_broken(tmp_path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK_NAME).write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "since": "2020-01-01"}),
                                 encoding="utf-8")
    with AuditLock(out) as lock:
        assert json.loads(lock.path.read_text(encoding="utf-8"))["pid"] == os.getpid()
    assert not (out / LOCK_NAME).exists()


def test_a_live_owner_is_never_broken_and_the_wait_is_bounded(tmp_path) -> None:
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        out.mkdir()
        (out / LOCK_NAME).write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname(), "since": "now"}),
                                     encoding="utf-8")
        started = time.monotonic()
        with pytest.raises(AuditLocked) as caught:
            AuditLock(out, wait=0.5).acquire()
        assert 0.4 <= time.monotonic() - started < 10
        assert str(holder.pid) in caught.value.message
        assert json.loads((out / LOCK_NAME).read_text(encoding="utf-8"))["pid"] == holder.pid
    finally:
        holder.kill()
        holder.wait()
