"""A synced record: the hub's copy of the fields it keeps in step with the CRMs, each with when it last changed
and who changed it, and per CRM what that CRM holds as far as the hub knows (its id, the values the two last
agreed on, the values the hub wrote lately). Everything sync decides is read from here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from shared.crm.ports import CrmName, ObjectKind

WRITES_REMEMBERED = 5  # values written to a CRM per field that are still recognized when they come back
# How far ahead of the hub's clock a CRM's may run: an echo stamped this much after the write's answer is still one
CLOCK_SKEW = timedelta(seconds=5)
Missing = Literal["missing"]
Written = tuple[str | None, datetime]
MISSING: Missing = "missing"


@dataclass(frozen=True)
class FieldState:
    value: str | None
    modified_at: datetime
    source: str  # "hub", "hubspot", "salesforce", or "person" (a resolved conflict)
    actor: str | None = None  # who: a rep or CRM user id, the hub's domain, the person who resolved


@dataclass(frozen=True)
class CreateClaim:
    """A create of the record on its way to one CRM: the writer's claim, committed (on the record's version) before
    the create is sent. Another writer that finds it unexpired creates nothing (it retries later: the create is in
    flight, or its answer is being settled); one that finds its own, or an expired one (the create failed, its
    answer was lost, or its writer died), looks the CRM's record up by every value in `sent` before creating, so a
    create the CRM applied but never answered is adopted, not made twice. Cleared when a write's answer gives the
    record's CRM id. An erasure of the record while a claim is there asks the CRM to delete the record it finds by
    `sent` (`shared.crm.erasure`)."""

    writer: str  # the writer invocation that made the claim
    match_field: str  # the CRM field the create is matched on (email, domain, the signal id)
    sent: tuple[str, ...]  # every value of it sent in a create so far, oldest first
    at: datetime  # when the latest create was sent
    until: datetime  # in flight no later than this: an expired claim is no one's

    def held_by_other(self, writer: str, now: datetime) -> bool:
        return self.writer != writer and self.until > now


@dataclass(frozen=True)
class CrmCopy:
    """What one CRM holds of the record, as far as the hub knows."""

    crm_id: str | None = None
    # hub field -> the value the CRM and the hub last agreed on (the hub wrote it, or read it and took or kept
    # its own); a field absent was never agreed on
    agreed: Mapping[str, str | None] = field(default_factory=dict)
    # hub field -> the values the hub wrote lately, oldest first, each with the latest time the CRM can have
    # stamped on that write: a webhook bringing one back, of a change made no later, is the hub's echo
    written: Mapping[str, tuple[Written, ...]] = field(default_factory=dict)
    sync_version: int = 0  # the record version last written to this CRM
    # fields whose value there is not known (a late report that may predate the hub's last write): written again
    unsure: frozenset[str] = frozenset()
    # hub field -> the time of the latest change of it this CRM reported: an older report arriving later says
    # nothing of what the CRM holds now
    seen: Mapping[str, datetime] = field(default_factory=dict)
    # a create of the record on its way to this CRM, or sent and not answered (`CreateClaim`); None once it has an id
    creating: CreateClaim | None = None

    def agreed_on(self, hub_field: str) -> str | Missing | None:
        return self.agreed.get(hub_field, MISSING)

    def agreeing(self, hub_field: str, value: str | None) -> CrmCopy:
        return replace(self, agreed={**self.agreed, hub_field: value}, unsure=self.unsure - {hub_field})

    def seeing(self, hub_field: str, at: datetime) -> CrmCopy:
        held = self.seen.get(hub_field)
        return self if held is not None and held >= at else replace(self, seen={**self.seen, hub_field: at})

    def seen_after(self, hub_field: str, at: datetime) -> bool:
        """Whether the CRM reported a later change of the field than one made at `at`."""
        held = self.seen.get(hub_field)
        return held is not None and held > at

    def unsure_of(self, hub_field: str) -> CrmCopy:
        """What the CRM holds of the field is not known: the next write sends the record's value."""
        return replace(self, unsure=self.unsure | {hub_field})

    def claiming(self, writer: str, match_field: str, value: str, at: datetime, until: datetime) -> CrmCopy:
        """The copy with the writer's claim on creating the record matched on `match_field` = `value`: the values
        of earlier claims (of that field) are kept, so a lookup finds a create whose answer was lost."""
        earlier = self.creating.sent if self.creating and self.creating.match_field == match_field else ()
        sent = (*(v for v in earlier if v != value), value)
        return replace(self, creating=CreateClaim(writer, match_field, sent, at, until))

    def released(self, writer: str, at: datetime) -> CrmCopy:
        """The writer's claim expired at `at` (its create failed, or its answer never came): the values it sent are
        kept for the next create's lookup."""
        if self.creating is None or self.creating.writer != writer or self.creating.until <= at:
            return self
        return replace(self, creating=replace(self.creating, until=at))

    def last_written_at(self, hub_field: str) -> datetime | None:
        """The latest time the CRM can have stamped on the hub's last write of the field."""
        return max((until for _, until in self.written.get(hub_field, ())), default=None)

    def wrote(
        self,
        values: Mapping[str, str | None],
        version: int,
        crm_id: str | None,
        echoes: Mapping[str, str | None],
        until: datetime,
    ) -> CrmCopy:
        """After a write answered at `until`: the CRM holds `values` (agreed on), and `values` and `echoes`
        (placeholders it was given) coming back stamped no later than `until` are the hub's own. `crm_id`
        None: the write is about to be made, `until` the latest its answer may come (only the echoes are
        remembered, so a webhook faster than the write's answer is known as the hub's too)."""
        written = dict(self.written)
        for hub_field, value in {**values, **echoes}.items():
            kept = tuple(w for w in written.get(hub_field, ()) if w[0] != value)
            written[hub_field] = (*kept[-(WRITES_REMEMBERED - 1) :], (value, until))
        if crm_id is None:
            return replace(self, written=written)
        unsure = self.unsure - set(values)
        return CrmCopy(crm_id, {**self.agreed, **values}, written, max(self.sync_version, version), unsure, self.seen)

    def echoes(self, hub_field: str, value: str | None, at: datetime, whole_record: bool = False) -> bool:
        """Whether a CRM's report of `value`, changed at `at`, is one of the hub's recent writes coming back: a
        value it wrote, in a report no later than that write's answer. `whole_record`: a report of every field
        as it was (Salesforce's), in which a value the hub wrote before its latest write is that write's too,
        if the report is no later than the latest (a snapshot taken before the latest write landed)."""
        written = self.written.get(hub_field, ())
        if whole_record:
            latest = max((until for _, until in written), default=None)
            return latest is not None and at <= latest + CLOCK_SKEW and any(v == value for v, _ in written)
        return any(v == value and at <= until + CLOCK_SKEW for v, until in written)


@dataclass(frozen=True)
class SyncedRecord:
    kind: ObjectKind
    hub_id: str  # the lead id, the hub's account id, the deal's id
    fields: Mapping[str, FieldState] = field(default_factory=dict)
    crms: Mapping[CrmName, CrmCopy] = field(default_factory=dict)
    open_conflicts: Mapping[str, str] = field(default_factory=dict)  # hub field -> conflict id
    version: int = 0  # 0: never stored
    # the record this one was merged into (two leads found to be one person): it writes nothing any more, and what
    # the CRMs report of its records goes to the survivor
    merged_into: str | None = None
    # per field, the value the hub told last: the hub's events restate what it knows (every lead event the lead's
    # stage and profile), and a restatement of it says nothing new (`hub_change`)
    hub_told: Mapping[str, str | None] = field(default_factory=dict)
    # the record this one belongs to (an expansion signal's account, `account:<id>`): it is written to a CRM only
    # once that one has an id there, and linked to it (`shared.crm.outbound.parent_link`)
    parent: str | None = None

    @property
    def key(self) -> str:
        return record_key(self.kind, self.hub_id)

    def value(self, hub_field: str) -> str | None:
        state = self.fields.get(hub_field)
        return state.value if state else None

    def copy_in(self, crm: CrmName) -> CrmCopy:
        return self.crms.get(crm) or CrmCopy()

    def with_field(self, hub_field: str, state: FieldState) -> SyncedRecord:
        return replace(self, fields={**self.fields, hub_field: state})

    def with_copy(self, crm: CrmName, copy: CrmCopy) -> SyncedRecord:
        return replace(self, crms={**self.crms, crm: copy})

    def with_conflict(self, hub_field: str, conflict_id: str | None) -> SyncedRecord:
        conflicts = {k: v for k, v in self.open_conflicts.items() if k != hub_field}
        if conflict_id is not None:
            conflicts[hub_field] = conflict_id
        return replace(self, open_conflicts=conflicts)

    def told_by_hub(self, hub_field: str, value: str | None) -> SyncedRecord:
        """The record knowing `value` is what the hub told it last of `hub_field`."""
        if hub_field in self.hub_told and self.hub_told[hub_field] == value:
            return self
        return replace(self, hub_told={**self.hub_told, hub_field: value})


def record_key(kind: ObjectKind, hub_id: str) -> str:
    return f"{kind}:{hub_id}"


def parse_record_key(key: str) -> tuple[ObjectKind, str] | None:
    kind, _, hub_id = key.partition(":")
    if kind in ("contact", "account", "deal", "expansion") and hub_id:
        return kind, hub_id  # type: ignore[return-value]
    return None
