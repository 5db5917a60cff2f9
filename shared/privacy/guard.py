"""No resurrection: an event about a person who was erased, that happened or reached the hub before the erasure
(a vendor's retry, an archive replay, a redriven dead letter), is dropped by every consumer that keeps personal
data; an event that happened, and reached the hub, after it is new, and starts a fresh profile.

Each consumer asks `ErasureGuard.drops(source, detail)` before its service sees the event: the event's subject
keys (`subject_keys_of`) are looked up among the tombstones in one read, and none are for most events.

The moment compared with the erasure is the earlier of the event's `occurred_at` and, when it carries one, its
`received_at` (canonical events: when the hub received the delivery). `occurred_at` alone is the sender's word
and may lie ahead (a tracking call's client `timestamp`): an event the hub held before the erasure is about the
past, however late it claims to happen. The hub's own events (lead, handoff, sync, ...) carry no receipt time;
their `occurred_at` is the hub's clock.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shared.leads.crm_changes import lead_id_of_record
from shared.leads.identity import person_identities
from shared.privacy.ports import Tombstones
from shared.privacy.subject_keys import contact_key, email_key, subject_hash

_log = logging.getLogger(__name__)

WEBHOOK_SOURCE = "revops.webhooks"


def subject_keys_of(source: str, detail: Mapping[str, Any]) -> list[str]:
    """Who a bus event is about, as subject keys: a canonical event's subject and the ids Segment-style messages
    carry, read as the lead processor resolves them (`shared.leads.identity.person_identities`: a group call's
    company traits are no one's, an alias's previous id is both a user and an anonymous id); a hub event's
    lead (`lead_id`, or a sync event's `contact:` record) and email."""
    keys: list[str] = []
    if source == WEBHOOK_SOURCE:
        subject, data = _mapping(detail.get("subject")), _mapping(detail.get("data"))
        event_type = detail.get("event_type")
        keys = [
            identity.key
            for identity in person_identities(
                str(detail.get("source_vendor") or ""),
                event_type if isinstance(event_type, str) else None,
                subject.get("contact_id"),
                subject.get("email"),
                data,
            )
        ]
    else:
        if isinstance(detail.get("lead_id"), str) and detail["lead_id"]:
            keys.append(contact_key(detail["lead_id"]))
        record = detail.get("record")  # the CRM sync's events name a lead as its record `contact:<lead id>`
        if isinstance(record, str) and (lead_id := lead_id_of_record(record)) is not None:
            keys.append(contact_key(lead_id))
        if (key := email_key(detail.get("email"))) is not None:
            keys.append(key)
    return keys


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _moment(raw: object) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def known_at_of(detail: Mapping[str, Any]) -> datetime | None:
    """The earliest moment the event is known to be about: the earlier of its `occurred_at` and its `received_at`
    (when the hub received it), whichever it carries; None when it carries neither."""
    moments = [m for m in (_moment(detail.get("occurred_at")), _moment(detail.get("received_at"))) if m is not None]
    return min(moments, default=None)


def erased_before(known_at: datetime, erased_at: Mapping[str, datetime]) -> bool:
    """Whether an event known at `known_at` (see `known_at_of`) is about a subject erased at or after that moment."""
    return any(known_at <= moment for moment in erased_at.values())


class ErasureGuard:
    def __init__(self, tombstones: Tombstones) -> None:
        self._tombstones = tombstones

    def drops(self, source: str, detail: Mapping[str, Any]) -> bool:
        """True when the event is about an erased person and happened, or reached the hub, before their erasure."""
        keys = subject_keys_of(source, detail)
        known_at = known_at_of(detail)
        if not keys or known_at is None:
            return False
        return erased_before(known_at, self._tombstones.erased_at([subject_hash(key) for key in keys]))

    def drops_event(self, event: Mapping[str, Any]) -> bool:
        """`drops` for a bus event as a consumer receives it (source and detail), logging the event id it drops."""
        detail = event.get("detail") or {}
        dropped = self.drops(str(event.get("source")), detail)
        if dropped:
            _log.info("event about an erased person dropped", extra={"event_id": detail.get("event_id")})
        return dropped


ERASED_NOTE = "dropped: about a person erased after this happened"
