"""Whom to answer: only a unit's registered address, once per message, a few times an hour.

A workbook names its unit (单位编码, 单位名称); the roster gives the unit's address(es). The
sender must be one of them. When ``trust_workbook_email`` is set, the workbook's own 填表人
e-mail counts instead, but only where the roster names no address for the unit (or there is no
roster): a roster address always wins. A file that cannot be read names no unit: its sender
must be registered for some unit. Anything else is held for a person.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from xltool.audit.roster import Roster, RosterUnit, load_roster
from xltool.i18n import _
from xltool.intake.screen import Checked
from xltool.mail.addresses import parse_address_list
from xltool.mail.errors import AddressError

ANSWER, NOTICE, HELD, IGNORED = "answer", "notice", "held", "ignored"


class Decision(NamedTuple):
    outcome: str  # answer, notice or held
    reason: str  # why held (Chinese); "" otherwise
    by_roster: bool = False  # held because of whose address it is: a changed roster may answer it


def _addresses(text: str | None) -> set[str]:
    try:
        return {a.addr_spec.lower() for a in parse_address_list(text or "", source="roster")}
    except AddressError:
        return set()


@dataclass
class Registry:
    """The roster's addresses, and whether a workbook's own 填表人 e-mail may stand in."""

    roster: Roster | None
    trust_workbook_email: bool = False
    _emails: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None, trust_workbook_email: bool) -> Registry:
        return cls(load_roster(path) if path is not None else None, trust_workbook_email)

    def emails(self, unit: RosterUnit) -> set[str]:
        if unit.key not in self._emails:
            self._emails[unit.key] = _addresses(unit.email)
        return self._emails[unit.key]

    @property
    def digest(self) -> str:
        """What decides whose address is whose: the roster's units and addresses, and the trust setting."""
        units = sorted((u.key, sorted(self.emails(u))) for u in self.roster.units) if self.roster is not None else None
        text = json.dumps([units, self.trust_workbook_email], ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def registered(self, sender: str) -> bool:
        """The sender is some unit's address on the roster."""
        sender = sender.lower()
        return self.roster is not None and any(sender in self.emails(u) for u in self.roster.units)

    def allows(self, sender: str, checked: Checked) -> str | None:
        """None when *sender* may be answered about *checked*, else why not (Chinese)."""
        sender = sender.lower()
        if checked.status != "ok":
            if self.registered(sender):
                return None
            return _("the file {name} cannot be read, so it names no unit, and {sender} is not on the roster").format(
                name=checked.name, sender=sender)
        h = checked.header
        unit = self.roster.match(h.get("unit_code"), h.get("unit")) if self.roster is not None else None
        label = h.get("unit") or h.get("unit_code") or checked.name
        if unit is not None and self.emails(unit):
            if sender in self.emails(unit):
                return None
            return _("the workbook {name} belongs to {unit}, whose registered address is not {sender}").format(
                name=checked.name, unit=unit.label, sender=sender)
        if self.roster is not None and unit is None:
            return _("the unit {unit} of the workbook {name} is not on the roster").format(unit=label, name=checked.name)
        if self.trust_workbook_email and sender in _addresses(h.get("email")):
            return None
        if unit is not None:
            return _("the roster has no e-mail address for {unit}").format(unit=unit.label)
        return _("there is no roster to tell whose address {sender} is").format(sender=sender)


def decide(*, sender: str, senders: int, malformed: str, oversize: bool, has_parts: bool, dropped: bool,
           checked: list[Checked], registry: Registry, used: int, budget: int) -> Decision:
    """Answer (findings), notice (what to send instead) or held, and why."""
    if senders != 1 or not sender:
        return Decision(HELD, _("the From header does not name exactly one sender"))
    try:
        parse_address_list(sender, source="From")
    except AddressError:
        return Decision(HELD, _("the sender's address {sender} is not valid").format(sender=sender[:80]))
    if malformed:
        return Decision(HELD, malformed)
    if not has_parts and not oversize:
        return Decision(HELD, (_("no attachment was looked at (too many attachments)") if dropped
                               else _("the message has no attachment; a person should read it")))
    if (oversize or not checked) and not registry.registered(sender):  # nothing to check: registered only
        return Decision(HELD, _("{sender} is not a unit's address on the roster").format(sender=sender), True)
    for item in checked:
        why = registry.allows(sender, item)
        if why is not None:
            return Decision(HELD, why, True)
    if used >= budget:
        return Decision(HELD, _("{sender} was already answered {n} times in the last hour").format(sender=sender,
                                                                                                   n=used))
    return Decision(ANSWER if checked else NOTICE, "")
