"""From a checked workbook to a delivered (or safely stored) message.

Every message goes to the outbox first; only then is it sent, and it is marked sent
as soon as the server accepts it. Without an SMTP host the outbox is where it stays
until ``xltool mail flush``. The dedupe ledger refuses to send the same findings for
the same workbook to the same recipient twice unless asked to resend.
"""

from __future__ import annotations

import email
from collections.abc import Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from enum import Enum
from pathlib import Path

from pydantic import BaseModel, Field

from xltool import faults
from xltool.check.finding import WorkbookReport
from xltool.i18n import _
from xltool.mail.addresses import capped_address_list, parse_address, parse_address_list
from xltool.mail.compose import (
    MAIL_POLICY,
    PLACEHOLDER_SENDER,
    AttachmentLike,
    sender_address,
    attachment_summary,
    compose_notice,
    compose_report_message,
    compose_test_message,
    dedupe_key,
    workbook_digest,
)
from xltool.mail.config import MailSettings
from xltool.mail.errors import AddressError, MailConfigError
from xltool.mail.outbox import (
    AttachmentInfo,
    AttemptRecord,
    DuplicateMessage,
    MessageState,
    MessageStatus,
    Outbox,
    now_iso,
)
from xltool.mail.smtp import SendFailure, send_with_retries
from xltool.plaintext import clip


class DeliveryStatus(str, Enum):
    WRITTEN_TO_OUTBOX = "written_to_outbox"  # no SMTP host: stored, waiting for flush
    SENT = "sent"
    DUPLICATE_REFUSED = "duplicate_refused"
    FAILED = "failed"  # see DeliveryResult.permanent
    DRY_RUN = "dry_run"
    SKIPPED = "skipped"  # flush only: another process is sending this message

    @property
    def label(self) -> str:
        return {
            DeliveryStatus.WRITTEN_TO_OUTBOX: _("written to outbox"),
            DeliveryStatus.SENT: _("message sent"),
            DeliveryStatus.DUPLICATE_REFUSED: _("duplicate refused"),
            DeliveryStatus.FAILED: _("sending failed"),
            DeliveryStatus.DRY_RUN: _("dry run, nothing sent"),
            DeliveryStatus.SKIPPED: _("skipped, busy"),
        }[self]


class DeliveryResult(BaseModel):
    """What happened to one message; ``message`` is a translated sentence for the user."""

    status: DeliveryStatus
    message: str
    message_id: str | None = None
    outbox_path: Path | None = Field(default=None, description="the .eml file in the outbox")
    sender: str = ""
    to: list[str] = Field(default_factory=list)
    cc: list[str] = Field(default_factory=list)
    recipients: list[str] = Field(default_factory=list, description="envelope: To + Cc")
    subject: str = ""
    attachments: list[AttachmentInfo] = Field(default_factory=list)
    size: int = 0
    attempts: int = 0
    reason: str | None = None
    permanent: bool | None = None
    refused: dict[str, str] = Field(default_factory=dict)
    dropped: dict[str, str] = Field(default_factory=dict, description="workbook addresses not used, with the reason")
    dedupe_key: str | None = None
    duplicate_of: str | None = None

    @property
    def ok(self) -> bool:
        """False for failed and duplicate_refused."""
        return self.status in (
            DeliveryStatus.SENT,
            DeliveryStatus.WRITTEN_TO_OUTBOX,
            DeliveryStatus.DRY_RUN,
            DeliveryStatus.SKIPPED,
        )


def _join(addresses: Sequence[str]) -> str:
    return ", ".join(addresses)


def resolve_recipients(
    report: WorkbookReport,
    settings: MailSettings,
    to: str | Sequence[str] | None = None,
    cc: str | Sequence[str] | None = None,
) -> tuple[list[Address], list[Address]]:
    """To: *to* if given, else the workbook's 电子邮箱. Cc: *cc* plus the configured
    reviewer, minus anything already in To. Raises AddressError (translated)."""
    to_list, cc_list, _dropped = recipients(report, settings, to, cc)
    return to_list, cc_list


def recipients(
    report: WorkbookReport,
    settings: MailSettings,
    to: str | Sequence[str] | None = None,
    cc: str | Sequence[str] | None = None,
) -> tuple[list[Address], list[Address], dict[str, str]]:
    """:func:`resolve_recipients` and the workbook addresses left out: a workbook is hostile, so
    at most ``max_workbook_recipients`` of its addresses are used, and only valid ones."""
    dropped: dict[str, str] = {}
    if to:
        to_list = parse_address_list(to, source="--to")
    else:
        to_list, left_out = capped_address_list(report.contact_email, source=_("e-mail address in the workbook"),
                                                limit=settings.max_workbook_recipients)
        dropped = {address: clip(why, 200) for address, why in left_out}
        if len(to_list) == 1 and report.contact_name:
            # Greet the 填表人 by name in the To header too.
            to_list = [parse_address(to_list[0].addr_spec, source="", display_name=report.contact_name)]
        if not to_list and dropped:
            raise AddressError(next(iter(dropped.values())))
    if not to_list:
        raise AddressError(
            _("The workbook has no e-mail address and no recipient was given with --to")
        )
    cc_list = parse_address_list(cc, source="--cc") if cc else []
    if settings.reviewer:
        cc_list += parse_address_list(settings.reviewer, source=_("reviewer in the mail settings"))
    taken = {a.addr_spec.lower() for a in to_list}
    unique_cc: list[Address] = []
    for address in cc_list:
        key = address.addr_spec.lower()
        if key not in taken:
            taken.add(key)
            unique_cc.append(address)
    return to_list, unique_cc, dropped


def _state_for(message: EmailMessage, *, kind: str, sender: str, to: list[str], cc: list[str]) -> MessageState:
    return MessageState(
        id=Outbox.new_id(),
        sender=sender,
        to=to,
        cc=cc,
        subject=str(message["Subject"] or ""),
        kind=kind,
        attachments=[AttachmentInfo(filename=n, size=s) for n, s in attachment_summary(message)],
    )


def _result_from_state(outbox: Outbox, state: MessageState, status: DeliveryStatus, message: str) -> DeliveryResult:
    return DeliveryResult(
        status=status,
        message=message,
        message_id=state.id,
        outbox_path=outbox.eml_path(state.id),
        sender=state.sender,
        to=state.to,
        cc=state.cc,
        recipients=state.recipients,
        subject=state.subject,
        attachments=state.attachments,
        size=state.size,
        attempts=state.attempts,
        reason=state.reason,
        permanent=state.permanent if state.status is MessageStatus.FAILED else None,
        refused=state.refused,
        dedupe_key=state.dedupe_key,
    )


def _adopt_sender(outbox: Outbox, state: MessageState, settings: MailSettings) -> None:
    """A message written while no sender was configured carries a placeholder From;
    replace it by the configured sender before it goes to a real server."""
    configured = settings.from_address()
    if state.sender != PLACEHOLDER_SENDER or not configured:
        return
    parsed = email.message_from_bytes(outbox.read_message(state.id), policy=MAIL_POLICY)
    sender = sender_address(settings)
    parsed.replace_header("From", sender)
    outbox.replace_message(state.id, parsed.as_bytes(policy=MAIL_POLICY))
    state.sender = sender.addr_spec
    outbox.save(state)


def _send_stored(outbox: Outbox, message_id: str, settings: MailSettings, *, confirmed: bool = False) -> DeliveryResult:
    """Send one stored message under its lock and record the outcome. *confirmed*: a person
    asked to send messages whose earlier sending was interrupted (``mail flush --all``)."""
    with outbox.claim(message_id) as claimed:
        state = outbox.get(message_id)
        if state is None:
            raise FileNotFoundError(outbox.state_path(message_id))
        if not claimed:
            return _result_from_state(
                outbox, state, DeliveryStatus.SKIPPED,
                _("Message {id} is being sent by another process; skipped").format(id=message_id),
            )
        if state.status is MessageStatus.SENT:  # sent meanwhile by someone else
            return _result_from_state(
                outbox, state, DeliveryStatus.SENT,
                _("Already sent on {at}: {path}").format(at=state.sent_at, path=outbox.eml_path(message_id)),
            )
        if state.sending_since is not None and not confirmed:
            # Its sender was killed during the SMTP conversation (we hold its lock): the server
            # may have accepted it. Sending again could deliver it twice, so a person decides.
            state.status, state.permanent = MessageStatus.FAILED, True
            state.reason = _("interrupted while it was being sent on {at}; it may have been delivered").format(
                at=state.sending_since)
            outbox.save(state)
            return _result_from_state(outbox, state, DeliveryStatus.FAILED, _(
                "Message {id} was interrupted while it was being sent ({at}) and may already have been "
                "delivered; it is not sent again automatically. Ask the recipient, then send it with "
                "“xltool mail flush --all” if it did not arrive."
            ).format(id=message_id, at=state.sending_since))
        holder = outbox.ledger_holder(state.dedupe_key) if state.dedupe_key else None
        if holder is not None and holder != message_id and outbox.get(holder) is not None:
            state.status, state.permanent = MessageStatus.FAILED, True
            state.reason = _("a duplicate of message {id}").format(id=holder)
            outbox.save(state)
            result = _result_from_state(outbox, state, DeliveryStatus.DUPLICATE_REFUSED, _(
                "Message {id} holds the same findings as message {other}; it was not sent."
            ).format(id=message_id, other=holder))
            result.duplicate_of = holder
            return result
        _adopt_sender(outbox, state, settings)
        data = outbox.read_message(message_id)

        def record(attempt: AttemptRecord) -> None:
            state.attempts += 1
            state.last_attempt = attempt.at
            state.history.append(attempt)
            if not attempt.ok:
                state.reason = attempt.reason
            outbox.save(state)

        faults.point("mail_before_smtp")
        outbox.mark_sending(state)
        try:
            outcome = send_with_retries(settings, state.sender, state.recipients, data, on_attempt=record)
        except SendFailure as failure:
            state.sending_since = None  # the server answered: nothing is in doubt
            state.status = MessageStatus.FAILED
            state.permanent = failure.permanent
            state.reason = failure.reason
            outbox.save(state)
            path = outbox.eml_path(message_id)
            if failure.permanent:
                text = _(
                    "The mail server refused the message: {reason}. It is kept in the outbox ({path}) "
                    "and will not be retried automatically."
                ).format(reason=failure.reason, path=path)
            else:
                text = _(
                    "Sending failed after {attempts} attempt(s): {reason}. The message is kept in the outbox "
                    "({path}); run “xltool mail flush” to retry."
                ).format(attempts=state.attempts, reason=failure.reason, path=path)
            return _result_from_state(outbox, state, DeliveryStatus.FAILED, text)
        faults.point("mail_after_accept")
        state.status = MessageStatus.SENT
        state.permanent = False
        state.reason = None
        state.sent_at = now_iso()
        state.sending_since = None
        state.refused = outcome.refused
        outbox.save(state)
        faults.point("mail_after_sent")
        text = _("Sent to {recipients} (attempt {attempts}); a copy is kept in the outbox: {path}").format(
            recipients=_join(state.recipients), attempts=state.attempts, path=outbox.eml_path(message_id)
        )
        if outcome.refused:
            text += " " + _("The server refused some recipients: {details}").format(
                details="; ".join(f"{k}: {v}" for k, v in outcome.refused.items())
            )
        return _result_from_state(outbox, state, DeliveryStatus.SENT, text)


def _store_and_send(
    outbox: Outbox, message: EmailMessage, state: MessageState, settings: MailSettings, *, resend: bool
) -> DeliveryResult:
    try:
        outbox.add(message, state, resend=resend)
    except DuplicateMessage as dup:
        existing = dup.existing
        if settings.sends and existing is not None and existing.retryable and existing.sending_since is None:
            # Stored by a run that stopped before sending it (e.g. a killed audit): send that one.
            return _send_stored(outbox, existing.id, settings)
        if existing is not None and existing.status is MessageStatus.SENT:
            when = _("sent on {at}").format(at=existing.sent_at)
        elif existing is not None:
            when = _("waiting in the outbox, status {status}").format(status=existing.status_label)
        else:
            when = _("recorded in the ledger")
        result = DeliveryResult(
            status=DeliveryStatus.DUPLICATE_REFUSED,
            message=_(
                "The same findings for this workbook were already sent to {to} (message {id}, {when}); "
                "nothing was sent. Use --resend to send them again."
            ).format(to=_join(state.to), id=dup.message_id, when=when),
            sender=state.sender,
            to=state.to,
            cc=state.cc,
            recipients=state.recipients,
            subject=state.subject,
            attachments=state.attachments,
            dedupe_key=state.dedupe_key,
            duplicate_of=dup.message_id,
            outbox_path=outbox.eml_path(dup.message_id) if existing is not None else None,
        )
        return result
    if not settings.sends:
        return _result_from_state(
            outbox, state, DeliveryStatus.WRITTEN_TO_OUTBOX,
            _("No SMTP server is configured; the message was written to the outbox: {path}").format(
                path=outbox.eml_path(state.id)
            ),
        )
    return _send_stored(outbox, state.id, settings)


def _dry_run_result(outbox: Outbox, message: EmailMessage, state: MessageState, resend: bool) -> DeliveryResult:
    data = message.as_bytes(policy=message.policy)
    text = _("Dry run: nothing was written or sent.")
    duplicate_of = None
    if state.dedupe_key and not resend:
        earlier = outbox.find_duplicate(state.dedupe_key)
        if earlier is not None:
            duplicate_of = earlier if isinstance(earlier, str) else earlier.id
            text += " " + _("Without --resend it would be refused as a duplicate of message {id}.").format(
                id=duplicate_of
            )
    return DeliveryResult(
        status=DeliveryStatus.DRY_RUN,
        message=text,
        sender=state.sender,
        to=state.to,
        cc=state.cc,
        recipients=state.recipients,
        subject=state.subject,
        attachments=state.attachments,
        size=len(data),
        dedupe_key=state.dedupe_key,
        duplicate_of=duplicate_of,
    )


def deliver_report(
    report: WorkbookReport,
    attachments: Sequence[AttachmentLike],
    settings: MailSettings,
    to: str | Sequence[str] | None = None,
    cc: str | Sequence[str] | None = None,
    dry_run: bool = False,
    resend: bool = False,
) -> DeliveryResult:
    """Compose, store and (with a host configured) send the review result of *report*.

    Raises MailError subclasses (translated message) for problems the user must fix
    before anything is stored: AddressError (bad or missing recipient),
    AttachmentError, MailConfigError. Delivery problems are returned as
    ``status=failed`` with ``reason`` and ``permanent``.
    """
    to_list, cc_list, dropped = recipients(report, settings, to, cc)
    if settings.sends and not dry_run:
        settings.check_can_send()
    message = compose_report_message(report, to=to_list, cc=cc_list, attachments=attachments, settings=settings)
    sender = message["From"].addresses[0].addr_spec
    state = _state_for(
        message,
        kind="report",
        sender=sender,
        to=[a.addr_spec for a in to_list],
        cc=[a.addr_spec for a in cc_list],
    )
    state.workbook = str(report.path)
    state.workbook_sha256 = workbook_digest(report)
    state.dedupe_key = dedupe_key(report, to_list)
    outbox = Outbox(settings.outbox)
    if dry_run:
        result = _dry_run_result(outbox, message, state, resend)
    else:
        result = _store_and_send(outbox, message, state, settings, resend=resend)
    return _with_dropped(result, dropped)


def _with_dropped(result: DeliveryResult, dropped: dict[str, str]) -> DeliveryResult:
    """Say which of the workbook's addresses were not used, and why."""
    if not dropped:
        return result
    note = _("Not sent to {n} address(es) from the workbook: {list}").format(
        n=len(dropped), list="；".join(f"{address}（{why}）" for address, why in list(dropped.items())[:5])
        + ("…" if len(dropped) > 5 else ""))
    return result.model_copy(update={"dropped": dropped, "message": f"{result.message} {note}"})


def deliver_notice(settings: MailSettings, to: Sequence[Address], subject: str, text: str, *,
                   kind: str = "notice") -> DeliveryResult:
    """A short plain-text message from the bureau (e.g. a unit's submission code) through the
    outbox; never deduplicated (the desk sends it again when asked)."""
    if not to:
        raise AddressError(_("The workbook has no e-mail address and no recipient was given with --to"))
    if settings.sends:
        settings.check_can_send()
    message = compose_notice(settings, to, subject, text)
    sender = message["From"].addresses[0].addr_spec
    state = _state_for(message, kind=kind, sender=sender, to=[a.addr_spec for a in to], cc=[])
    return _store_and_send(Outbox(settings.outbox), message, state, settings, resend=True)


def deliver_message(message: EmailMessage, settings: MailSettings, *, dedupe_key: str,
                    kind: str = "reply") -> DeliveryResult:
    """Store an already composed *message* in the outbox under *dedupe_key* and (with a host
    configured) send it. The ledger holds one message per key: a second call with the same key
    sends the stored one if it never left (its writer was killed), else returns
    ``duplicate_refused`` naming it; whatever the moment a process was killed, the key's
    message reaches the server at most once."""
    if settings.sends:
        settings.check_can_send()
    sender = message["From"].addresses[0].addr_spec
    to = [a.addr_spec for a in message["To"].addresses]
    cc = [a.addr_spec for a in message["Cc"].addresses] if message["Cc"] is not None else []
    state = _state_for(message, kind=kind, sender=sender, to=to, cc=cc)
    state.dedupe_key = dedupe_key
    return _store_and_send(Outbox(settings.outbox), message, state, settings, resend=False)


def send_test(settings: MailSettings, to: str | Sequence[str] | None = None, dry_run: bool = False) -> DeliveryResult:
    """Send (or, without a host, store) a test message to *to*, default the reviewer,
    else the sender. Never deduplicated."""
    target = to or settings.reviewer or settings.from_address()
    if not target:
        raise AddressError(_("No recipient: give --to or configure reviewer"))
    to_list = parse_address_list(target, source="--to")
    if not to_list:
        raise AddressError(_("No recipient: give --to or configure reviewer"))
    if settings.sends and not dry_run:
        settings.check_can_send()
    message = compose_test_message(settings, to_list)
    sender = message["From"].addresses[0].addr_spec
    state = _state_for(message, kind="test", sender=sender, to=[a.addr_spec for a in to_list], cc=[])
    outbox = Outbox(settings.outbox)
    if dry_run:
        return _dry_run_result(outbox, message, state, resend=True)
    return _store_and_send(outbox, message, state, settings, resend=True)


def flush(settings: MailSettings, include_permanent: bool = False) -> list[DeliveryResult]:
    """Send every pending or transiently failed message of the outbox (with
    *include_permanent*, also those the server refused). Oldest first."""
    settings.check_can_send()
    outbox = Outbox(settings.outbox)
    return [_send_stored(outbox, state.id, settings, confirmed=include_permanent)
            for state in outbox.retryable(include_permanent)]


__all__ = [
    "DeliveryResult",
    "DeliveryStatus",
    "MailConfigError",
    "deliver_message",
    "deliver_notice",
    "deliver_report",
    "flush",
    "resolve_recipients",
    "send_test",
]
