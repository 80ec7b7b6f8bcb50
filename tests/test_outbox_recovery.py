"""What a killed process leaves in the outbox, and how the next run recovers from it, against a
real SMTP server on 127.0.0.1: locks of dead owners, a message without its ledger entry, two
messages with one key, a message interrupted during its SMTP conversation."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

from test_mail_smtp import (  # noqa: F401 - fixtures
    _clean_environment, attachments, report, settings_for, smtp_server, start_server,
)
from xltool.mail import DeliveryStatus, MessageStatus, Outbox, deliver_report, flush
from xltool.mail.outbox import LEDGER_LOCK, _FileLock


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_lock_whose_owner_died_is_broken_at_once(tmp_path, smtp_server, report, attachments) -> None:
    settings = settings_for(tmp_path, smtp_server.port)
    settings.outbox.mkdir(parents=True)
    (settings.outbox / LEDGER_LOCK).write_text(json.dumps({"pid": _dead_pid(), "host": socket.gethostname(),
                                                           "at": "2026-01-01T00:00:00+08:00"}))
    started = time.monotonic()
    result = deliver_report(report, attachments, settings)
    assert result.status is DeliveryStatus.SENT and time.monotonic() - started < 5
    assert len(smtp_server.messages) == 1


def test_a_lock_of_a_live_process_is_respected(tmp_path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        path = tmp_path / "x.lock"
        path.write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname(), "at": "now"}))
        assert _FileLock(path, stale_after=600).try_acquire() is False
        empty = tmp_path / "y.lock"  # a creator killed before it wrote its name: broken after a grace
        empty.write_text("")
        os.utime(empty, (time.time() - 60, time.time() - 60))
        assert _FileLock(empty, stale_after=600).try_acquire() is True
    finally:
        holder.kill()
        holder.wait()


def test_a_message_stored_without_its_ledger_entry_is_sent_once(tmp_path, smtp_server, report, attachments) -> None:
    """An outbox left by a process killed between the message and the ledger (older versions
    wrote them in that order): the next run adopts the stored message instead of composing
    a second one."""
    offline = settings_for(tmp_path, smtp_server.port, host="")
    stored = deliver_report(report, attachments, offline)
    assert stored.status is DeliveryStatus.WRITTEN_TO_OUTBOX
    (offline.outbox / "ledger.json").unlink()
    settings = settings_for(tmp_path, smtp_server.port)
    again = deliver_report(report, attachments, settings)
    assert again.status is DeliveryStatus.SENT and again.message_id == stored.message_id
    assert flush(settings) == []
    assert len(smtp_server.messages) == 1
    assert len(Outbox(settings.outbox).list()) == 1


def test_two_messages_with_one_key_are_delivered_once(tmp_path, smtp_server, report, attachments) -> None:
    offline = settings_for(tmp_path, smtp_server.port, host="")
    first = deliver_report(report, attachments, offline)
    second = deliver_report(report, attachments, offline, resend=True)  # same key, a second message
    outbox = Outbox(offline.outbox)
    state = outbox.get(first.message_id)
    # The ledger is rolled back to the first one, as a crash between the two writes could leave it.
    ledger = json.loads(outbox.ledger_path.read_text(encoding="utf-8"))
    ledger[state.dedupe_key]["message_id"] = first.message_id
    outbox.ledger_path.write_text(json.dumps(ledger), encoding="utf-8")
    results = flush(settings_for(tmp_path, smtp_server.port))
    assert sorted(r.status.value for r in results) == ["duplicate_refused", "sent"]
    assert len(smtp_server.messages) == 1
    assert outbox.get(second.message_id).status is MessageStatus.FAILED


def test_an_interrupted_send_is_held_until_a_person_confirms(tmp_path, smtp_server, report, attachments) -> None:
    offline = settings_for(tmp_path, smtp_server.port, host="")
    stored = deliver_report(report, attachments, offline)
    outbox = Outbox(offline.outbox)
    state = outbox.get(stored.message_id)
    outbox.mark_sending(state)  # what a sender killed during the SMTP conversation leaves
    settings = settings_for(tmp_path, smtp_server.port)
    (held,) = flush(settings)
    assert held.status is DeliveryStatus.FAILED and "可能已经送达" in held.message
    assert flush(settings) == [] and len(smtp_server.messages) == 0
    again = deliver_report(report, attachments, settings)  # a later audit does not send it either
    assert again.status is DeliveryStatus.DUPLICATE_REFUSED and len(smtp_server.messages) == 0
    (sent,) = flush(settings, include_permanent=True)  # mail flush --all: someone asked the recipient
    assert sent.status is DeliveryStatus.SENT and len(smtp_server.messages) == 1
