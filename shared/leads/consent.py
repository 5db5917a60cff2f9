"""A person's consent, kept per contact and honoured by marketing-only processing.

What is kept. Each vendor mapping of the consent policy (`config/consent.json`) reads statements from events:
Segment's `context.consent.categoryPreferences` on any call, a HubSpot opt-out property change, a Salesforce
opt-out field of a Lead or Contact outbound message; a captured lead states its own (`consent`). The lead keeps
the *changes* of each source's statement per purpose, as `ConsentRecord`s: a statement that repeats what that
source said last adds nothing (Segment sends its consent object on every call; a Salesforce message carries
every field); a statement is made when its event happened, but never later than the hub received it (no
sender's clock can post-date one); a statement older than that source's last recorded one is stale and adds
nothing either; and a CRM's opt-out flag that is false says nothing until that CRM withdrew (false is "not
opted out", not a grant of its own; after that CRM's opt-out, false grants again). The contact's log is its own
records and those of the contacts merged into it.

What it means. A purpose's state at a moment is the latest record at or before it (on a tie of times, the
withdrawal), else the purpose's default. The contact's state is its state now.

How it is honoured. Engagement from tracking (`processing.tracked_engagement.sources`, except the
`exempt_kinds` a person asks sales for) scores only while every purpose it requires is granted now *and* was
granted when it happened: a withdrawal stops it counting at once; a grant again brings back what was
collected under consent, never what was collected while consent was withdrawn. Excluded engagements stay in
the log and in the breakdown, at 0 points with the reason. Nurture (the hourly clock and the standard handoff
it leads to) runs only while its purposes are granted now. All of it is a pure function of the policy, the
log and the moment, so recomputing a score gives the stored one.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.events.canonical import CanonicalEvent, EventType
from shared.leads.consent_policy import ConsentPolicy
from shared.leads.model import ConsentRecord, EngagementRecord

CAPTURE = "capture"
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


@dataclass(frozen=True)
class ConsentStatement:
    """What one source said about one purpose at one moment, before the log decides whether it changes anything."""

    purpose: str
    granted: bool
    at: datetime
    source: str
    detail: str
    event_id: str | None = None
    opt_out_flag: bool = False  # a CRM's flag: false grants only after that source withdrew


@dataclass(frozen=True)
class CaptureConsent:
    """The consent a captured lead states: purpose -> granted, where it was collected, and when."""

    purposes: Mapping[str, bool]
    source: str
    at: datetime | None = None


# --------------------------------------------------------------------------------------------- statements


def statements_of_event(event: CanonicalEvent, policy: ConsentPolicy) -> list[ConsentStatement]:
    """What the event says about the person's consent, by the policy's mapping for its vendor."""
    vendor = policy.vendor_for(event.source_vendor)
    if vendor is None or event.data_by_reference:
        return []
    data = event.data
    found: dict[str, Any] = {}
    if vendor.id == "segment":
        consent = data.get("consent")
        preferences = consent.get("categoryPreferences") if isinstance(consent, Mapping) else None
        if isinstance(preferences, Mapping):
            found = {name: preferences[name] for name in vendor.categories if name in preferences}
        where = "context.consent.categoryPreferences."
    elif event.event_type is not EventType.CONTACT_UPSERTED:
        return []  # a CRM's opt-out is a field of its person records only
    elif vendor.id == "hubspot":
        prop = data.get("property")
        if isinstance(prop, str) and prop in vendor.opt_out_fields:
            found = {prop: data.get("value")}
        where = ""
    else:
        fields = data.get("fields")
        if isinstance(fields, Mapping):
            found = {name: fields[name] for name in vendor.opt_out_fields if name in fields}
        where = ""
    flags = {name: flag for name, value in found.items() if (flag := _flag(value)) is not None}
    # what each purpose's fields say: granted when every field sent grants it (an opt-out flag grants when false)
    said: dict[str, list[tuple[str, bool]]] = {}
    for name, flag in flags.items():
        granting = not flag if vendor.opt_out_fields else flag
        for purpose in vendor.fields[name]:
            said.setdefault(purpose, []).append((f"{where}{name} = {str(flag).lower()}", granting))
    # no statement is later than the hub received it: a sender's clock ahead (a device's `timestamp`) would
    # otherwise hold a withdrawal off until then, and make a later, correctly timed statement stale
    at = min(event.occurred_at, event.received_at)
    return [
        ConsentStatement(
            purpose=purpose,
            granted=all(granting for _, granting in parts),
            at=at,
            source=vendor.id,
            detail=", ".join(detail for detail, _ in parts),
            event_id=event.event_id,
            opt_out_flag=bool(vendor.opt_out_fields),
        )
        for purpose, parts in sorted(said.items())
    ]


def statements_of_capture(consent: CaptureConsent, at: datetime) -> list[ConsentStatement]:
    when = consent.at or at
    return [
        ConsentStatement(
            purpose=purpose,
            granted=granted,
            at=when,
            source=CAPTURE,
            detail=f"captured {purpose} = {str(granted).lower()} ({consent.source})",
        )
        for purpose, granted in sorted(consent.purposes.items())
    ]


def new_records(
    statements: Iterable[ConsentStatement],
    log: Sequence[ConsentRecord],
    contact_id: str,
    recorded_at: datetime,
    record_id: str | None = None,
) -> list[ConsentRecord]:
    """The records the statements add to the log: those that change what their source said last (see the
    module's docstring). `record_id` stands in for the event id of statements that have none (a capture)."""
    latest: dict[tuple[str, str], ConsentRecord] = {}
    for record in sorted(log, key=_order):
        latest[(record.source, record.purpose)] = record
    added: list[ConsentRecord] = []
    for statement in statements:
        last = latest.get((statement.source, statement.purpose))
        if last is not None and (statement.at < last.at or statement.granted == last.granted):
            continue  # stale, or a repeat
        if last is None and statement.opt_out_flag and statement.granted:
            continue  # "not opted out" in a CRM that never opted the person out says nothing
        record = ConsentRecord(
            record_id=f"{statement.event_id or record_id}:{statement.purpose}",
            contact_id=contact_id,
            purpose=statement.purpose,
            granted=statement.granted,
            at=statement.at,
            source=statement.source,
            detail=statement.detail,
            recorded_at=recorded_at,
            event_id=statement.event_id,
        )
        added.append(record)
        latest[(statement.source, statement.purpose)] = record
    return added


def _flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        return True if text in _TRUE else False if text in _FALSE else None
    return None


def _order(record: ConsentRecord) -> tuple[datetime, int, str]:
    """Time order; at one instant a withdrawal comes last, so it is the state there."""
    return (record.at, 0 if record.granted else 1, record.record_id)


# ----------------------------------------------------------------------------------------------- the state


@dataclass(frozen=True)
class PurposeState:
    purpose: str
    granted: bool
    record: ConsentRecord | None  # the statement it rests on; None: the purpose's default

    def explained(self) -> str:
        if self.record is None:
            return f"{self.purpose}: the default ({'granted' if self.granted else 'withdrawn'}), nothing stated"
        r = self.record
        state = "granted" if r.granted else "withdrawn"
        return f"{self.purpose} {state} by {r.source} ({r.detail}) at {r.at.isoformat()}"


class ConsentTimeline:
    """A contact's consent log read as states over time, with what the policy makes of them."""

    def __init__(self, policy: ConsentPolicy, records: Iterable[ConsentRecord]) -> None:
        self.policy = policy
        self.records = sorted(records, key=_order)
        self._by_purpose: dict[str, list[ConsentRecord]] = {}
        for record in self.records:
            self._by_purpose.setdefault(record.purpose, []).append(record)
        self._times = {purpose: [r.at for r in rs] for purpose, rs in self._by_purpose.items()}
        tracked = policy.processing.tracked_engagement
        self._tracked_sources = frozenset(tracked.sources)
        self._exempt = frozenset(tracked.exempt_kinds)

    def state(self, purpose: str, at: datetime) -> PurposeState:
        records = self._by_purpose.get(purpose, [])
        index = bisect.bisect_right(self._times.get(purpose, []), at)
        if index:
            record = records[index - 1]
            return PurposeState(purpose, record.granted, record)
        configured = self.policy.purpose(purpose)
        return PurposeState(purpose, configured.granted_by_default if configured else True, None)

    def withheld_reason(self, engagement: EngagementRecord, as_of: datetime) -> str | None:
        """Why a tracked engagement may not be scored as of `as_of`; None when it may (or is not tracking's)."""
        if engagement.source_vendor not in self._tracked_sources or engagement.kind in self._exempt:
            return None
        for purpose in self.policy.processing.tracked_engagement.requires:
            now = self.state(purpose, as_of)
            if not now.granted:
                return f"excluded: consent withdrawn ({now.explained()})"
            then = self.state(purpose, engagement.occurred_at)
            if not then.granted:
                return f"excluded: collected while consent was withdrawn ({then.explained()})"
        return None

    def nurture_withheld(self, as_of: datetime) -> str | None:
        """Why the contact is not nurtured as of `as_of`; None when it is."""
        for purpose in self.policy.processing.nurture.requires:
            now = self.state(purpose, as_of)
            if not now.granted:
                return f"not nurtured: consent withdrawn ({now.explained()})"
        return None

    def tracked_engagement_allowed(self, as_of: datetime) -> bool:
        return all(self.state(p, as_of).granted for p in self.policy.processing.tracked_engagement.requires)
