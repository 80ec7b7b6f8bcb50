"""A held message answered later (the roster changed) leaves the held folder as answered mail does.

Against dovecot: with MOVE (the usual server), and without it (COPY, \\Deleted, UID EXPUNGE of that
UID only), killed between the COPY and the delete; another client's deleted message is never expunged.
"""

from __future__ import annotations

import sqlite3

import dovecot
from helpers import form, zh_locale  # noqa: F401
from intake_mail import message, write_config
from test_intake import STRANGER, UNITS, _environment, books, imap, ledger, run_cli, run_pass, smtp  # noqa: F401

PROCESSED, HELD = "&XfJZBHQG-", "&X4VZBHQG-"  # 已处理, 待处理 as IMAP names them


def _register_b_for_a(tmp_path, config, books) -> None:
    """The bureau adds unit B's address to unit A (B sends A's return)."""
    roster = tmp_path / "roster.csv"
    roster.write_text(books["roster"].read_text(encoding="utf-8").replace(
        UNITS["a"][2], f"{UNITS['a'][2]}；{UNITS['b'][2]}"), encoding="utf-8")
    config.write_text(config.read_text(encoding="utf-8").replace(books["roster"].as_posix(), roster.as_posix()),
                      encoding="utf-8")


def _all(server: dovecot.Dovecot, folder: str) -> list[str]:
    """Every message of *folder*, deleted or not: its Message-ID and flags."""
    client = server.client()
    try:
        client.select(f'"{folder}"', readonly=True)
        _typ, data = client.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        found = []
        for item in data:
            if isinstance(item, tuple):
                found.append(item[1].decode().split(":", 1)[-1].strip() + " " + item[0].decode().split("FLAGS", 1)[1])
        return found
    finally:
        client.logout()


def test_a_held_message_answered_later_moves_to_the_processed_folder(tmp_path, imap, smtp, books):
    config = write_config(tmp_path, imap.port, smtp.port, roster=books["roster"])
    imap.append(message(UNITS["b"][2], "甲单位的表", [("甲.xlsx", books["a"].read_bytes())], message_id="<b-for-a@b>"),
                message(STRANGER, "陌生人", [("甲.xlsx", books["a"].read_bytes())], message_id="<s@x>"))
    report = run_pass(config)
    assert len(report.held) == 2 and not smtp.messages
    assert imap.folders()[HELD] == 2
    db = sqlite3.connect(tmp_path / "store" / "intake.sqlite")
    assert [(f, u) for f, u in db.execute("SELECT folder, uid FROM placed ORDER BY uid")] == [("待处理", 1), ("待处理", 2)]
    db.close()
    _register_b_for_a(tmp_path, config, books)
    # Killed right after the MOVE, before the ledger knew: the next pass finds it gone and only records it.
    killed = run_cli("--once", "--config", str(config), cwd=tmp_path, kill="intake_after_take_back")
    assert killed.returncode == -9, killed.stderr
    assert [m.rcpt_tos for m in smtp.messages] == [[UNITS["b"][2]]]
    assert {r["message_id"]: r["stage"] for r in ledger(tmp_path)}["<b-for-a@b>"] == "replied"
    report = run_pass(config)
    assert not report.answered and not report.held and report.filed == 1
    assert [m.rcpt_tos for m in smtp.messages] == [[UNITS["b"][2]]]
    folders = imap.folders()
    assert folders[HELD] == 1 and folders[PROCESSED] == 1 and folders["INBOX"] == 0, folders
    assert [m.split()[0] for m in _all(imap, PROCESSED)] == ["<b-for-a@b>"]
    assert [m.split()[0] for m in _all(imap, HELD)] == ["<s@x>"], "the stranger's stays held"
    rows = {r["message_id"]: r for r in ledger(tmp_path)}
    assert rows["<b-for-a@b>"]["stage"] == "filed" and rows["<b-for-a@b>"]["held_in"] is None
    assert rows["<s@x>"]["held_in"] == "待处理"
    # Again: nothing moves, nothing is answered twice.
    run_pass(config)
    assert len(smtp.messages) == 1 and imap.folders() == folders


def test_without_move_a_pass_killed_after_the_copy_leaves_one_copy_and_one_reply(tmp_path, smtp, books):
    """COPY, \\Deleted and UID EXPUNGE of that UID; the pass is killed right after the COPY, the next one
    finds the copy in 已处理 and only deletes the original. Another client's \\Deleted message stays."""
    server = dovecot.Dovecot(capability="IMAP4rev1 LITERAL+ UIDPLUS")
    with server:
        config = write_config(tmp_path, server.port, smtp.port, roster=books["roster"])
        server.append(message(UNITS["b"][2], "甲单位的表", [("甲.xlsx", books["a"].read_bytes())],
                              message_id="<b-for-a@b>"))
        assert len(run_pass(config).held) == 1
        # Someone else marked a message of the held folder deleted: no expunge of ours may remove it.
        server.append(message(STRANGER, "别人删的", [], message_id="<deleted-by-another@x>"), folder=HELD)
        client = server.client()
        client.select(f'"{HELD}"')
        client.uid("SEARCH", "ALL")
        typ, _data = client.uid("STORE", "2", "+FLAGS", r"(\Deleted)")
        assert typ == "OK"
        client.logout()
        # A ledger from a server that gave no COPYUID: the message is found by its Message-ID.
        db = sqlite3.connect(tmp_path / "store" / "intake.sqlite")
        with db:
            db.execute("DELETE FROM placed")
        db.close()
        _register_b_for_a(tmp_path, config, books)
        killed = run_cli("--once", "--config", str(config), cwd=tmp_path, kill="intake_after_copy")
        assert killed.returncode == -9, killed.stderr
        assert len(smtp.messages) == 1
        assert len(_all(server, PROCESSED)) == 1 and server.folders()[HELD] == 1  # copied, not yet deleted
        again = run_cli("--once", "--config", str(config), cwd=tmp_path)
        assert again.returncode == 0 and "Traceback" not in again.stdout + again.stderr, again.stderr
        assert len(smtp.messages) == 1, "answered once"
        assert [m.split()[0] for m in _all(server, PROCESSED)] == ["<b-for-a@b>"], "one copy"
        held = _all(server, HELD)
        assert [m.split()[0] for m in held] == ["<deleted-by-another@x>"] and "\\Deleted" in held[0]
        assert [r["stage"] for r in ledger(tmp_path)] == ["filed"]


def test_held_flagged_in_place_is_answered_where_it_stands(tmp_path, imap, smtp, books):
    """No held or processed folder: a held message stays in INBOX flagged; answered later, it loses the
    flag and is marked read, as answered mail is."""
    config = write_config(tmp_path, imap.port, smtp.port, roster=books["roster"], held_folder="",
                          processed_folder="")
    imap.append(message(UNITS["b"][2], "甲单位的表", [("甲.xlsx", books["a"].read_bytes())], message_id="<f@b>"))
    run_pass(config)
    assert "\\Flagged" in imap.flags()[0]
    _register_b_for_a(tmp_path, config, books)
    run_pass(config)
    flags = imap.flags()
    assert len(flags) == 1 and "\\Flagged" not in flags[0] and "\\Seen" in flags[0], flags
    assert len(smtp.messages) == 1


def test_uid_sets_of_copyuid_are_read_in_order():
    from xltool.intake.imap import _uids_of

    assert _uids_of("3:5,9", 4) == [3, 4, 5, 9] and _uids_of("7", 1) == [7] and _uids_of("5:3", 3) == [5, 4, 3]


def test_a_copyuid_set_the_server_garbled_or_inflated_is_not_read():
    """The server's text never sizes a list nor raises: a range beyond the UIDs moved, or a set
    that is no UID set, reads as none (the message is then found by its key, as without COPYUID)."""
    from xltool.intake.imap import _uids_of

    assert _uids_of("1:4294967295", 2) is None and _uids_of("3:5,9", 3) is None
    assert _uids_of("3::5", 5) is None and _uids_of("3,,4", 5) is None and _uids_of("", 5) is None


def test_held_then_answered_without_a_processed_folder_returns_to_the_inbox_read(tmp_path, imap, smtp, books):
    """processed_folder = "": answered mail stays in INBOX, read; a held message answered later comes back
    there from 待处理, read, and the next pass knows it without downloading it again."""
    config = write_config(tmp_path, imap.port, smtp.port, roster=books["roster"], processed_folder="")
    imap.append(message(UNITS["b"][2], "甲单位的表", [("甲.xlsx", books["a"].read_bytes())], message_id="<p@b>"))
    run_pass(config)
    assert imap.folders() == {"INBOX": 0, HELD: 1}
    _register_b_for_a(tmp_path, config, books)
    run_pass(config)
    assert imap.folders() == {"INBOX": 1, HELD: 0}
    flags = imap.flags()
    assert len(flags) == 1 and "\\Seen" in flags[0] and "\\Flagged" not in flags[0], flags
    report = run_pass(config)
    assert report.seen == 0 and len(smtp.messages) == 1
