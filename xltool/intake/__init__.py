"""The bureau's mailbox as the intake: returns arrive by e-mail and each sender gets its findings back.

``xltool intake`` reads new messages over IMAP (:mod:`.imap`), takes their attachments apart
(:mod:`.parse`), lets every workbook through the audit's own safety gate, checker and rounds
(:mod:`.screen`, :func:`xltool.audit.run.run_audit`), decides whom to answer (:mod:`.decide`),
answers through the ``[mail]`` outbox (:mod:`.reply`) and files the message away on the
server. Every step is recorded in a ledger (:mod:`.ledger`) before the next one starts, so a
pass killed at any moment is finished by the next one, with no second reply.

Nothing below this package knows that mail arrives by IMAP: the audit sees a folder of files,
the mail package an outbox message.
"""
