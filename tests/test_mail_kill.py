"""Kill a real ``xltool`` process at every stage of mailing and resume: no message is
delivered twice to the real SMTP server on 127.0.0.1, and every unit gets its message once.

The process kills itself with SIGKILL at a named stage (``XLTOOL_KILL_AT``, xltool/faults.py):
after the outbox ledger entry, after the message files, before the SMTP conversation, after
the server accepted the message and after its state was saved. The resumed audit (or
``mail flush``) must neither stall on the dead process's locks nor compose, store or send
the same message again.
"""

from __future__ import annotations

import email
import os
import subprocess
import sys
import time
from collections import Counter
from email import policy
from pathlib import Path

import pytest

from helpers import ROOT, edit_inputs, filled_file, form, scratch  # noqa: F401
from test_mail_smtp import Recorder, Server

UNITS = [("株洲市甲单位", "430203001", "a@unit-a.example.cn"),
         ("株洲市乙单位", "430203002", "b@unit-b.example.cn"),
         ("株洲市丙单位", "430203003", "c@unit-c.example.cn")]
AUDIT_STAGES = ["outbox_after_ledger", "outbox_after_state", "mail_before_smtp", "mail_after_accept",
                "mail_after_sent"]
FLUSH_STAGES = ["mail_before_smtp", "mail_after_accept", "mail_after_sent"]
TALLY = {"kills": 0, "doubles": 0, "messages": 0}


@pytest.fixture(scope="module")
def inputs(form) -> Path:
    folder = scratch("kill_inputs")
    for n, (name, code, mail) in enumerate(UNITS):
        edit_inputs(filled_file(), folder / f"unit{n}.xlsx", form,
                    {"info_unit_name": name, "info_unit_code": code, "info_email": mail})
    return folder


@pytest.fixture
def server():
    srv = Server(Recorder())
    yield srv
    srv.stop()


def _config(folder: Path, port: int | None) -> Path:
    host = f'host = "127.0.0.1"\nport = {port}\nsecurity = "none"\n' if port else ""
    path = folder / "xltool.toml"
    path.write_text(f'[mail]\n{host}sender = "jxg@czj.example.cn"\nhelo_name = "localhost"\n'
                    f'outbox = "{(folder / "outbox").as_posix()}"\ntimeout = 5\nretries = 1\nbackoff = 0.01\n',
                    encoding="utf-8")
    return path


def _run(*args: str, kill: str | None = None, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLTOOL_MAIL_") and k != "XLTOOL_KILL_AT"}
    env.update(XLTOOL_LANG="zh_CN", PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    if kill:
        env["XLTOOL_KILL_AT"] = kill
    return subprocess.run([sys.executable, "-m", "xltool", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)


def _audit(inputs: Path, folder: Path, config: Path, kill: str | None = None) -> subprocess.CompletedProcess:
    return _run("audit", str(inputs), "--out", str(folder / "out"), "--email", "--config", str(config), "--jobs", "1",
                kill=kill, cwd=folder)


def _deliveries(server: Server) -> Counter:
    return Counter(
        (tuple(sorted(m.rcpt_tos)), email.message_from_bytes(m.data, policy=policy.default)["Message-ID"])
        for m in server.messages)


def _check_once(server: Server, stage: str) -> None:
    by_recipient = Counter(tuple(sorted(m.rcpt_tos)) for m in server.messages)
    TALLY["messages"] += len(server.messages)
    TALLY["doubles"] += sum(n - 1 for n in by_recipient.values() if n > 1)
    assert all(n == 1 for n in _deliveries(server).values()), f"{stage}: the same message delivered twice"
    assert by_recipient == Counter({(mail,): 1 for _n, _c, mail in UNITS}), f"{stage}: {by_recipient}"


@pytest.mark.parametrize("stage", AUDIT_STAGES)
def test_killed_audit_resumes_without_sending_twice(stage, inputs, server) -> None:
    folder = scratch(f"kill_audit_{stage}")
    config = _config(folder, server.port)
    killed = _audit(inputs, folder, config, kill=f"{stage}:2")  # the second unit's message
    assert killed.returncode == -9, (killed.returncode, killed.stderr[-2000:])
    TALLY["kills"] += 1
    started = time.monotonic()
    resumed = _audit(inputs, folder, config)
    assert resumed.returncode in (0, 1), resumed.stderr[-2000:]
    assert "Traceback" not in resumed.stderr
    assert time.monotonic() - started < 40, "the resumed audit waited for the dead process's locks"
    flushed = _run("mail", "flush", "--config", str(config), cwd=folder)
    assert "Traceback" not in flushed.stderr + flushed.stdout
    _check_once(server, stage)
    if stage == "mail_after_accept":
        # Delivered, but the sender died before recording it: held for a person, not resent.
        assert "可能已经送达" in resumed.stdout + flushed.stdout + resumed.stderr or flushed.returncode == 1


@pytest.mark.parametrize("stage", FLUSH_STAGES)
def test_killed_flush_resumes_without_sending_twice(stage, inputs, server) -> None:
    folder = scratch(f"kill_flush_{stage}")
    offline = _config(folder, None)
    stored = _audit(inputs, folder, offline)  # no host: every message waits in the outbox
    assert stored.returncode in (0, 1), stored.stderr[-2000:]
    config = _config(folder, server.port)
    killed = _run("mail", "flush", "--config", str(config), kill=f"{stage}:2", cwd=folder)
    assert killed.returncode == -9, (killed.returncode, killed.stderr[-2000:])
    TALLY["kills"] += 1
    started = time.monotonic()
    again = _run("mail", "flush", "--config", str(config), cwd=folder)
    assert "Traceback" not in again.stderr + again.stdout
    assert time.monotonic() - started < 40
    resumed = _audit(inputs, folder, config)  # a later audit sends nothing again
    assert resumed.returncode in (0, 1), resumed.stderr[-2000:]
    _check_once(server, f"flush {stage}")


def test_kill_tally(capsys) -> None:
    """Prints the figures the README's reliability table quotes (runs after the kill tests)."""
    with capsys.disabled():
        print(f"\n[reliability] kills during mailing: {TALLY['kills']}, messages delivered: {TALLY['messages']}, "
              f"doubles: {TALLY['doubles']}")
    assert TALLY["doubles"] == 0
