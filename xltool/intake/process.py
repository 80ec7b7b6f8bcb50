"""One pass over the mailbox, in stages that each finish before the next begins.

1. take      new UIDs: headers and sizes first; auto-replies, bounces and lists are ignored
             from their headers, messages over the size limit are never downloaded; the rest
             are downloaded and their attachments stored under ``收件/`` (quarantine).
2. decide    every file checked by the audit's own check (:mod:`.screen`); the message is
             answered, answered with a notice (what to send instead) or held; its folder moves
             to ``已受理/`` (the audit's input) or ``待处理/``.
3. audit     one round of ``xltool audit`` over ``已受理/`` into ``--out`` (history, rounds,
             审核汇总, units/), unless the last finished round already holds the files.
4. reply     composed and stored in the ``[mail]`` outbox under the message's key, then sent.
5. file      moved (or flagged) on the server, only after the reply is in the outbox ledger.

The ledger records each stage; a pass killed anywhere leaves the message at its last stage and
the next pass finishes it: the outbox refuses a second reply with the same key, the audit
resumes its round, and nothing is downloaded twice.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
import traceback
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from xltool import faults
from xltool.atomic import write_bytes_atomic
from xltool.audit.history import DB_NAME, History
from xltool.audit.lock import AuditLock, AuditLocked
from xltool.audit.model import AuditOutcome
from xltool.i18n import _
from xltool.intake.config import IntakeSettings
from xltool.intake.decide import ANSWER, HELD, IGNORED, NOTICE, Decision, Registry, decide
from xltool.intake.imap import Envelope, Mailbox, quoted
from xltool.intake.ledger import LEDGER_NAME, Ledger, Row, Stored, utc_now
from xltool.intake.parse import Headers, Parsed, parse_message, read_headers
from xltool.intake.reply import Incoming, compose_reply, reply_key
from xltool.intake.screen import LOCK_WAIT, Folder, Screen
from xltool.mail.config import MailSettings
from xltool.safenames import Names, component, inside

NEW, ACCEPTED, HELD_DIR = "收件", "已受理", "待处理"
MAX_CANDIDATES = 50  # messages looked at when a held message is searched for in its folder
STOP_NEVER: Callable[[], bool] = lambda: False  # noqa: E731


class IntakeBusy(Exception):
    """Another intake works on the same store; the message is a translated sentence."""


@dataclass
class PassReport:
    """What one pass did, for the command's output."""

    seen: int = 0
    answered: list[Row] = field(default_factory=list)
    held: list[Row] = field(default_factory=list)
    ignored: list[Row] = field(default_factory=list)
    filed: int = 0
    audit: AuditOutcome | None = None
    replies: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _folder_name(sent: str, sender: str, key: str) -> str:
    """``20240315-103000_zhangsan@163.com_1a2b3c4d``: when, from whom, and which message."""
    when = sent.replace("-", "").replace(":", "").replace(" ", "-") or "nodate"
    return component(f"{when}_{component(sender or 'unknown', max_length=40)}_{key[:8]}", max_length=80)


def header_key(headers: Headers, kind: str) -> str:
    """The key of a message known only by its headers (never downloaded)."""
    ident = headers.message_id or "digest:" + headers.raw_digest
    return hashlib.sha256(f"{kind}|{ident}".encode()).hexdigest()


def message_key(parsed: Parsed) -> str:
    """Message-ID (or the message's digest when it has none) and the digests of its attachments."""
    ident = parsed.headers.message_id or "digest:" + parsed.raw_digest
    digests = ",".join(sorted(p.sha256 for p in parsed.parts))
    return hashlib.sha256(f"message|{ident}|{digests}".encode()).hexdigest()


class Intake:
    """The intake of one store folder (one at a time: a second process is refused)."""

    def __init__(self, settings: IntakeSettings, mail: MailSettings) -> None:
        self.settings = settings
        self.mail = mail
        self.store = Path(settings.store).resolve()
        self.out = Path(settings.out).resolve()
        if self.store == self.out or self.out in self.store.parents:
            from xltool.intake.config import IntakeConfigError

            raise IntakeConfigError(_("The store folder {store} must not lie inside the output folder {out}.").format(
                store=self.store, out=self.out))
        self.registry = Registry.load(settings.roster, settings.trust_workbook_email)  # a bad roster: nothing taken
        self.cfg = settings.scoring()  # a bad rules file: nothing taken either
        self.store.mkdir(parents=True, exist_ok=True)
        self._lock = AuditLock(self.store)
        try:
            self._lock.acquire()
        except AuditLocked:
            owner = self._lock.owner()
            raise IntakeBusy(_("Another xltool intake (process {pid} on {host}) is working on {store}; stop it first.")
                             .format(pid=owner.get("pid", "?"), host=owner.get("host", "?"), store=self.store)) from None
        try:
            self.ledger = Ledger(self.store / LEDGER_NAME)
        except BaseException:
            self._lock.release()
            raise
        self.jobs = settings.jobs or os.cpu_count() or 1
        self._refile: list[Row] = []
        self.screen = Screen(self.out, cfg=self.cfg, jobs=self.jobs)

    def close(self) -> None:
        self.ledger.close()
        self._lock.release()

    def __enter__(self) -> Intake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the pass ---------------------------------------------------------------------------------------
    def run(self, box: Mailbox, stop: Callable[[], bool] = STOP_NEVER) -> PassReport:
        report = PassReport()
        self._refile: list[Row] = []
        uidvalidity = box.select()
        uids = box.uids()
        known = self.ledger.known_uids(self.settings.folder, uidvalidity)
        new = [u for u in uids if u not in known]
        for envelope in box.envelopes(new):
            if stop():
                break
            report.seen += 1
            try:
                self._take(box, uidvalidity, envelope, report)
            except OSError:
                raise  # the store itself cannot be written: the pass stops, the command says why
            except Exception as exc:  # noqa: BLE001 - one message never stops the others
                self._broken(uidvalidity, envelope, exc, report)
        self._reconsider(report)
        self._decide(report)
        self._publish(report)
        self._audit(report)
        self._reply(report, stop)
        self._file(box, uidvalidity, set(uids), report)
        return report

    # -- 1. take ------------------------------------------------------------------------------------------
    @staticmethod
    def _base(headers: Headers, envelope: Envelope, key: str, *, folder: str = "", oversize: bool = False,
              malformed: str = "", automatic: str = "", dropped: list[str] | None = None, stage: str = "downloaded",
              outcome: str = "", reason: str = "", decided: str | None = None) -> Row:
        return Row(key=key, message_id=headers.message_id, sender=headers.sender or ", ".join(headers.senders)[:200],
                   sender_name=headers.sender_name[:80], subject=headers.subject[:300],
                   sent=_when(headers.date or envelope.internaldate), size=envelope.size, folder=folder,
                   oversize=oversize, malformed=malformed, automatic=automatic, dropped=dropped or [],
                   senders=len(headers.senders), stage=stage, outcome=outcome, reason=reason, decided=decided,
                   run_id=None, reply_id=None, reply_status="", seen=utc_now())

    def _known(self, key: str, uidvalidity: int, uid: int) -> bool:
        """Whether the message is in the ledger already (seen again under a new UID: filed again)."""
        row = self.ledger.get(key)
        if row is None:
            return False
        self.ledger.map_uid(self.settings.folder, uidvalidity, uid, key)
        if row.stage == "filed":
            self._refile.append(row)
        return True

    def _take(self, box: Mailbox, uidvalidity: int, envelope: Envelope, report: PassReport) -> None:
        where = (self.settings.folder, uidvalidity, envelope.uid)
        headers = read_headers(envelope.header)
        limit = self.settings.max_message_bytes
        if headers.automatic:  # decided from the headers: never downloaded, never answered
            key = header_key(headers, "automatic")
            if not self._known(key, uidvalidity, envelope.uid):
                row = self._base(headers, envelope, key, automatic=headers.automatic, stage="decided",
                                 outcome=IGNORED, reason=headers.automatic, decided=utc_now())
                self.ledger.add(row, [], where)
                report.ignored.append(row)
            return
        raw = box.body(envelope.uid, limit) if envelope.size <= limit else b""
        if raw is None:
            return  # gone meanwhile (another client moved it)
        if envelope.size > limit or len(raw) > limit:  # the server's RFC822.SIZE, or what it actually sent
            key = header_key(headers, "oversize")
            if not self._known(key, uidvalidity, envelope.uid):
                self.ledger.add(self._base(headers, envelope, key, oversize=True), [], where)
            return
        parsed = parse_message(raw, self.settings.max_attachments, headers)
        key = message_key(parsed)
        if self._known(key, uidvalidity, envelope.uid):
            return
        folder = ""
        stored: list[Stored] = []
        if any(p.kind == "check" for p in parsed.parts):
            folder = _folder_name(_when(headers.date or envelope.internaldate), headers.sender, key)
            target = self._locate(folder) or self.store / NEW / folder
            moment = envelope.internaldate or headers.date
            names = Names()
            for part in parsed.parts:
                if part.kind != "check":
                    continue
                stem = part.name[: -len(part.suffix)] if part.name.lower().endswith(part.suffix) else part.name
                name = names.take(stem, part.suffix, fallback="attachment")
                path = write_bytes_atomic(inside(target, name), part.data)
                if moment is not None:  # the audit keeps a unit's latest file: latest by arrival
                    os.utime(path, (moment.timestamp(), moment.timestamp()))
                stored.append(Stored(part.n, part.name, name, part.suffix, part.kind, part.sha256, len(part.data)))
        stored += [Stored(p.n, p.name, "", p.suffix, p.kind, p.sha256, len(p.data))
                   for p in parsed.parts if p.kind != "check"]
        row = self._base(headers, envelope, key, folder=folder, malformed=parsed.malformed or "", dropped=parsed.dropped)
        self.ledger.add(row, sorted(stored, key=lambda s: s.n), where)
        faults.point("intake_after_download")

    def _broken(self, uidvalidity: int, envelope: Envelope, exc: Exception, report: PassReport) -> None:
        """A message that made the intake fail: held with the reason, never retried in a loop."""
        try:
            headers = read_headers(envelope.header)
        except Exception:  # noqa: BLE001
            headers = Headers(message_id="", senders=[], sender_name="", subject="", date=None, automatic=None,
                              raw_digest=hashlib.sha256(envelope.header).hexdigest())
        key = header_key(headers, "broken")
        reason = _("the message could not be processed ({error}); a person should read it").format(
            error=type(exc).__name__)
        report.problems.append(f"UID {envelope.uid}: {reason}: {''.join(traceback.format_exception_only(exc)).strip()}")
        if not self._known(key, uidvalidity, envelope.uid):
            self.ledger.add(self._base(headers, envelope, key, stage="decided", outcome=HELD, reason=reason,
                                       decided=utc_now()), [], (self.settings.folder, uidvalidity, envelope.uid))

    def _locate(self, folder: str) -> Path | None:
        if not folder:
            return None
        for sub in (NEW, ACCEPTED, HELD_DIR):
            path = self.store / sub / folder
            if path.is_dir():
                return path
        return None

    # -- 2. decide ----------------------------------------------------------------------------------------
    def _folders(self, rows: list[Row]) -> dict[str, Folder]:
        folders = {}
        for row in rows:
            path = self._locate(row.folder)
            if path is None:
                continue
            names = {a.stored: (a.n, a.name) for a in self.ledger.attachments(row.key) if a.kind == "check"}
            folders[row.key] = Folder(path, names)
        return folders

    def _archives_too_big(self, row: Row) -> str | None:
        """Why the zip archives of *row* are too much to check (more files than the attachment limit,
        or more bytes than a workbook may unpack to), read from their directories alone; or None."""
        limit, declared, members = self.settings.max_attachments, 0, 0
        folder = self._locate(row.folder)
        for a in self.ledger.attachments(row.key):
            if a.suffix != ".zip" or folder is None:
                continue
            try:
                with zipfile.ZipFile(folder / a.stored) as archive:
                    infos = [i for i in archive.infolist() if not i.is_dir()]
            except (zipfile.BadZipFile, OSError, ValueError):
                continue  # the check says what is wrong with it
            members += len(infos)
            declared += sum(i.file_size for i in infos)
        if members > limit:
            return _("the zip archives hold {n} files, more than the {limit} this mailbox checks per message").format(
                n=members, limit=limit)
        if declared > self.screen.limits.max_total_uncompressed:
            return _("the zip archives unpack to {mb} MB, more than this mailbox checks per message").format(
                mb=declared // (1024 * 1024))
        return None

    def _decide(self, report: PassReport) -> None:
        rows = self.ledger.at("downloaded")
        if not rows:
            return
        too_big = {row.key: why for row in rows if (why := self._archives_too_big(row))}
        with self.screen.check(self._folders([r for r in rows if r.key not in too_big])) as checked:
            for row in rows:
                attachments = self.ledger.attachments(row.key)
                items = checked.get(row.key, [])
                if row.key in too_big:  # never unpacked, never checked: a person looks at it
                    decision = Decision(HELD, too_big[row.key])
                elif any(a.kind == "check" for a in attachments) and not items:
                    decision = Decision(HELD, _("the attachments of this message are missing from {store}").format(
                        store=self.store))
                else:
                    decision = self._judge(row, items, attachments)
                self._settle(row, decision, report)
        faults.point("intake_after_decide")

    def _judge(self, row: Row, items: list, attachments: list[Stored]) -> Decision:
        return decide(sender=row.sender, senders=row.senders, malformed=row.malformed, oversize=row.oversize,
                      has_parts=bool(attachments), dropped=bool(row.dropped), checked=items,
                      registry=self.registry, used=self.ledger.budget_used(row.sender, datetime.now(timezone.utc)),
                      budget=self.settings.replies_per_hour)

    def _settle(self, row: Row, decision: Decision, report: PassReport, *, reopened: bool = False,
                held_in: str | None = None) -> None:
        """Record *decision*; the stored attachments move to the folder of their outcome."""
        current = self._locate(row.folder)
        if current is not None:
            target = self.store / (HELD_DIR if decision.outcome == HELD else ACCEPTED) / row.folder
            if current != target:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(current, target)
        if decision.outcome == ANSWER:
            self.ledger.mark_duplicates(row.key)
        self.ledger.decide(row.key, decision.outcome, decision.reason, utc_now(), by_roster=decision.by_roster,
                           reopened=reopened, held_in=held_in)
        decided = self.ledger.get(row.key)
        assert decided is not None
        (report.held if decision.outcome == HELD else report.answered).append(decided)

    def _reconsider(self, report: PassReport) -> None:
        """When the roster changed (its units or addresses, or trust_workbook_email), the messages held
        because the roster did not know their sender are decided again: an address added since is answered
        now. Held for any other reason, or still unknown, they stay as they were."""
        digest = self.registry.digest
        if self.ledger.state("registry") == digest:
            return
        rows = self.ledger.held_by_roster()
        if rows:
            with self.screen.check(self._folders(rows)) as checked:
                for row in rows:
                    items = checked.get(row.key, [])
                    if not items:
                        continue  # the attachments are gone from the store: it stays with the person
                    decision = self._judge(row, items, self.ledger.attachments(row.key))
                    if decision.outcome != HELD:  # filed as held by an older ledger: in today's held folder
                        legacy = self.settings.held_folder if row.stage == "filed" else None
                        self._settle(row, decision, report, reopened=True, held_in=legacy)
        self.ledger.set_state("registry", digest)

    def _publish(self, report: PassReport) -> None:
        """With a desk folder set, the answered files enter its current round and the held messages its
        list; each message once (the desk's store refuses a second copy of a file)."""
        if self.settings.desk is None:
            return
        from xltool.web.store import Store

        rows = self.ledger.not_on_desk()
        if not rows:
            return
        try:
            desk = Store(Path(self.settings.desk))
            current = desk.current_round(_("Round 1"))
            for row in rows:
                attachments = self.ledger.attachments(row.key)
                if row.outcome == HELD:
                    names = "、".join(a.name for a in attachments)
                    desk.hold_mail(current.id, row.key, row.sender, row.subject, row.sent, row.reason, names)
                else:
                    desk.release_mail(row.key)
                    folder = self._locate(row.folder)
                    for a in attachments:
                        if a.kind == "check" and folder is not None:  # the desk keeps a file once (digest, name)
                            desk.add_mail_file(current.id, row.key, a.name, (folder / a.stored).read_bytes(),
                                               a.sha256, row.sender, row.subject, row.sent)
                self.ledger.put_on_desk(row.key)
        except (OSError, sqlite3.Error) as exc:  # the desk is a view: the next pass tries again
            report.problems.append(_("The desk folder {desk} could not be updated: {error}").format(
                desk=self.settings.desk, error=type(exc).__name__))

    # -- 3. audit -----------------------------------------------------------------------------------------
    @property
    def accepted_root(self) -> Path:
        return self.store / ACCEPTED

    def _covered(self, rows: list[Row]) -> int | None:
        """The last finished round, when it already holds every file of *rows* (a pass killed after its audit)."""
        db = self.out / DB_NAME
        if not db.is_file():
            return None
        history = History(db, readonly=True)
        try:
            run_id = history.last_finished_run()
            if run_id is None:
                return None
            sources = [source for source, *_rest in history.submissions(run_id)]
        finally:
            history.db.close()
        root = str(self.accepted_root)
        for row in rows:
            prefix = os.path.join(root, row.folder) + os.sep
            if not any(s.startswith(prefix) for s in sources):
                return None
        return run_id

    def _only_duplicates(self, row: Row) -> bool:
        """Every workbook of *row* came before in an answered message: nothing new for a round."""
        checked = [a for a in self.ledger.attachments(row.key) if a.kind == "check"]
        return bool(checked) and all(a.dup_of is not None for a in checked)

    def _inputs(self) -> list[Path]:
        """What a round audits: 已受理/, less the workbooks that came before (a unit sent the same file
        twice: the round keeps the first, and sets nothing aside for the second)."""
        duplicates = self.ledger.duplicates()
        root = self.accepted_root
        if not any((root / folder).is_dir() for folder in duplicates):
            return [root]
        inputs: list[Path] = []
        for entry in sorted(root.iterdir()):
            if entry.name in duplicates and entry.is_dir():
                inputs += [p for p in sorted(entry.iterdir()) if p.name not in duplicates[entry.name]]
            else:
                inputs.append(entry)
        return inputs

    def _audit(self, report: PassReport) -> None:
        from xltool.audit.run import AuditOptions, run_audit

        rows = [r for r in self.ledger.at("decided") if r.outcome in (ANSWER, NOTICE)]
        repeated = {r.key for r in rows if r.outcome == ANSWER and r.folder and self._only_duplicates(r)}
        notices = [r.key for r in rows if r.outcome == NOTICE or not r.folder or r.key in repeated]
        answers = [r for r in rows if r.outcome == ANSWER and r.folder and r.key not in repeated]
        if notices:
            self.ledger.audited(notices, None)
        if not answers:
            return
        run_id = self._covered(answers)
        if run_id is None:
            options = AuditOptions(inputs=self._inputs(), out=self.out, roster=self.settings.roster,
                                   cfg=self.cfg, jobs=self.jobs, wait=LOCK_WAIT)
            outcome = run_audit(options)
            report.audit = outcome
            run_id = outcome.run_id
        self.ledger.audited([r.key for r in answers], run_id)
        faults.point("intake_after_audit")

    # -- 4. reply -----------------------------------------------------------------------------------------
    def _reply(self, report: PassReport, stop: Callable[[], bool]) -> None:
        from xltool.mail.deliver import DeliveryStatus, deliver_message
        from xltool.mail.errors import MailError
        from xltool.mail.outbox import Outbox

        rows = self.ledger.at("audited")
        if not rows:
            return
        with self.screen.check(self._folders(rows)) as checked, tempfile.TemporaryDirectory() as tmp:
            for row in rows:
                if stop():
                    return
                attachments = self.ledger.attachments(row.key)
                incoming = Incoming(
                    key=row.key, message_id=row.message_id, sender=row.sender, sender_name=row.sender_name,
                    subject=row.subject, sent=row.sent[:16], size=row.size,
                    oversize_limit=self.settings.max_message_bytes if row.oversize else 0,
                    advice=[(a.name, a.suffix) for a in attachments if a.kind != "check"],
                    dropped=row.dropped, max_attachments=self.settings.max_attachments,
                    duplicates=self._earlier(attachments, self.ledger.original),
                    returned=self._earlier(attachments, self.ledger.returned))
                try:
                    message = compose_reply(incoming, checked.get(row.key, []), self.mail,
                                            Path(tmp) / row.key[:16])
                    result = deliver_message(message, self.mail, dedupe_key=reply_key(row.key))
                except MailError as exc:
                    self.ledger.decide(row.key, HELD, _("the reply could not be made: {error}").format(error=exc.message))
                    report.problems.append(exc.message)
                    continue
                reply_id, status = result.message_id, result.status.value
                if result.status is DeliveryStatus.DUPLICATE_REFUSED:  # stored by a pass that was killed
                    reply_id = result.duplicate_of
                    earlier = Outbox(self.mail.outbox).get(reply_id) if reply_id else None
                    status = earlier.status.value if earlier is not None else "sent"
                    if earlier is not None and earlier.sending_since is not None:
                        status = "interrupted"  # killed while the server took it: a person decides, never a resend
                        report.problems.append(_(
                            "The reply to {sender} (outbox message {id}) was interrupted while it was being sent and "
                            "may have been delivered; it is not sent again. Ask the unit, then send it with "
                            "“xltool mail flush --all” if it did not arrive.").format(sender=row.sender, id=reply_id))
                if reply_id:
                    self._remember_sent(row.key, Outbox(self.mail.outbox), reply_id)
                self.ledger.replied(row.key, reply_id, status)
                report.replies[status] = report.replies.get(status, 0) + 1
                faults.point("intake_after_reply")

    @staticmethod
    def _earlier(attachments: list[Stored], lookup: Callable[[str, str], tuple[str, str] | None]
                 ) -> dict[int, tuple[str, str]]:
        """Attachment n → (when, name) that *lookup* finds for each duplicate: ``ledger.original``, the
        earlier message that brought the same workbook; ``ledger.returned``, the file our reply to it
        carried, sent back unchanged."""
        found = {}
        for a in attachments:
            if a.dup_of is not None and (earlier := lookup(a.dup_of, a.sha256)) is not None:
                found[a.n] = (earlier[0][:16], earlier[1])
        return found

    def _remember_sent(self, key: str, outbox, reply_id: str) -> None:
        """The digests of the files the reply carried, read from the message the outbox keeps (the bytes
        that went out, also when a killed pass had stored it): a unit that sends one back unchanged is
        told so, and its copy is not audited as a new return."""
        import email
        import email.policy

        try:
            raw = outbox.read_message(reply_id)
        except OSError:
            return  # the outbox was tidied: nothing to compare later, each file is then audited
        files = []
        for part in email.message_from_bytes(raw, policy=email.policy.default).iter_attachments():
            data = part.get_payload(decode=True)
            if data:
                files.append((hashlib.sha256(data).hexdigest(), str(part.get_filename() or "")))
        self.ledger.sent_files(key, files)

    # -- 5. file ------------------------------------------------------------------------------------------
    def _file(self, box: Mailbox, uidvalidity: int, present: set[int], report: PassReport) -> None:
        rows = self.ledger.at("replied") + [r for r in self.ledger.at("decided") if r.outcome in (HELD, IGNORED)]
        rows += self._refile
        if not rows:
            return
        held = {r.key for r in rows if r.outcome == HELD}
        uids = {u: k for u, k in self.ledger.uids_of(self.settings.folder, uidvalidity, {r.key for r in rows}).items()
                if u in present}
        here = set(uids.values())
        # Held once and flagged where it stood, answered since: the flag that asked a person to look goes.
        box.flags([u for u, k in uids.items() if k not in held and k in {r.key for r in rows if r.held_in == ""}],
                  "-", r"\Flagged")
        faults.point("intake_before_file")
        held_folder = self.settings.held_folder
        placed = box.file_away([u for u, k in uids.items() if k in held], held_folder, r"\Flagged")
        for uid, (validity, there) in placed.items():
            self.ledger.place(uids[uid], held_folder, validity, there)
        box.file_away([u for u, k in uids.items() if k not in held], self.settings.processed_folder, r"\Seen")
        self.ledger.filed(sorted(held), held_folder)
        # Answered since it was filed as held (the roster changed): fetched back from the held folder.
        away = [r for r in rows if r.key not in held and r.key not in here and r.held_in]
        self.ledger.filed([r.key for r in rows if r.key not in held and r.key not in {a.key for a in away}])
        if away:
            self._take_back(box, away)
        report.filed += len(rows)
        self._refile = []

    def _take_back(self, box: Mailbox, rows: list[Row]) -> None:
        """Move answered messages that wait in the held folder to where answered mail goes: the processed
        folder, or (with none) the intake folder, read. Each is found by its key (the ledger decides, never
        a guess by subject); a message no longer there was moved already, by this pass killed half way or
        by a person, and is left where it is. Without MOVE, a copy already in the target (a pass killed
        after its COPY) is not made twice."""
        target = self.settings.processed_folder or self.settings.folder
        by_folder: dict[str, list[Row]] = {}
        for row in rows:
            by_folder.setdefault(row.held_in or "", []).append(row)
        try:
            for folder, group in by_folder.items():
                if folder == target or box.open_folder(folder) is None:
                    self.ledger.filed([r.key for r in group])  # nowhere to fetch it from: it is where it ends
                    continue
                for row in group:
                    uids = self._find(box, folder, row)
                    if uids:
                        box.flags(uids, "-", r"\Flagged")
                        if not self.settings.processed_folder:
                            box.flags(uids, "+", r"\Seen")  # as answered mail stays in the intake folder
                        if target != self.settings.folder:
                            box.make_folder(target)
                        copied = False
                        if "MOVE" not in box.capabilities:  # a pass killed after its COPY: not copied twice
                            box.open_folder(target)
                            copied = bool(self._find(box, target, row, placed=False))
                            box.open_folder(folder)
                        placed = box.move(uids, target, copied=copied)
                        if target == self.settings.folder:  # back in the intake folder: known, not read again
                            for validity, there in placed.values():
                                self.ledger.map_uid(target, validity, there, row.key)
                        faults.point("intake_after_take_back")
                    self.ledger.filed([row.key])
        finally:
            box.select()  # back to the intake folder: IDLE and the next pass watch it

    def _find(self, box: Mailbox, folder: str, row: Row, *, placed: bool = True) -> list[int]:
        """The UIDs in the selected *folder* of the message ledgered as *row*: where the intake placed it
        (when the server said), else those with its Message-ID (else from its sender), each checked by
        downloading it and computing its key."""
        candidates: list[int] = []
        where = self.ledger.placed(row.key) if placed else None
        if where is not None and where[0] == folder and where[1] == box.selected_validity:
            candidates = [where[2]]
        found = self._matching(box, candidates, row)
        if found:
            return found
        if row.message_id and row.message_id.isascii():
            candidates = box.search("HEADER", "Message-ID", quoted(row.message_id))
        elif row.sender and row.sender.isascii():
            candidates = box.search("FROM", quoted(row.sender))
        else:
            candidates = box.search()
        return self._matching(box, candidates[-MAX_CANDIDATES:], row)

    def _matching(self, box: Mailbox, uids: list[int], row: Row) -> list[int]:
        limit = self.settings.max_message_bytes
        found = []
        for envelope in box.envelopes(uids):
            if envelope.size != row.size or envelope.size > limit:
                continue
            raw = box.body(envelope.uid, limit)
            if raw is None:
                continue
            if message_key(parse_message(raw, self.settings.max_attachments, read_headers(envelope.header))) == row.key:
                found.append(envelope.uid)
        return found
