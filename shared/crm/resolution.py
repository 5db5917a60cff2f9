"""Who wins a field: the pure rules that settle a change coming from a CRM or from the hub against the hub's
synced record. Each decision says what happened, by which rule, and the value that lost, which is what the
audit trail records.

A CRM's report of a field is a change on the CRM's side only when it differs from the value the two last
agreed on; a value the hub wrote lately coming back is the hub's own echo (recognized by value, so it is
neither applied nor sent again, however late it comes). A CRM change to a field the hub changed too since
they agreed is a conflict: a critical field (email, owner, lifecycle stage) waits for a person; any other is
settled by the mapping's rule. `last_modified_wins` compares modification times at the precision of the coarser
of the two sources (Salesforce stamps whole seconds, HubSpot milliseconds, the hub microseconds: a Salesforce
change stamped 10:00:05 may have been made at 10:00:05.9, after the hub's of 10:00:05.6); on a tie the source
earlier in the mappings' `tie_break` wins (default: hub, then Salesforce, then HubSpot).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shared.crm.inbound import TIME_PRECISION
from shared.crm.mappings import HUB, CrmMappings, FieldMapping, SyncRule
from shared.crm.ports import CrmName
from shared.crm.records import MISSING, FieldState, SyncedRecord


class Outcome(StrEnum):
    APPLIED = "applied"  # the incoming value is the record's now
    KEPT = "kept"  # the record kept its value; the incoming one lost (`losing_value`)
    CONFLICT = "conflict"  # both sides changed a critical field: flagged for a person, nothing applied
    ECHO = "echo"  # the hub's own write coming back: nothing to do
    UNCHANGED = "unchanged"  # the same value, or a CRM still holding the value last agreed on


AUDITED = frozenset({Outcome.APPLIED, Outcome.KEPT, Outcome.CONFLICT})
_EXACT = timedelta(microseconds=1)  # the hub's clock, and a person's resolution (timed by it)
_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class Decision:
    hub_field: str
    outcome: Outcome
    rule: str  # the mapping's rule, or what decided before any rule did (echo, direction, conflict, tie_break)
    source: str  # where the incoming value came from
    at: datetime  # when it changed there
    previous: str | None  # the record's value before
    incoming: str | None
    actor: str | None = None

    @property
    def held(self) -> str | None:
        """The record's value after the decision."""
        return self.incoming if self.outcome is Outcome.APPLIED else self.previous

    @property
    def losing_value(self) -> str | None:
        return self.incoming if self.outcome in (Outcome.KEPT, Outcome.CONFLICT) else None


def crm_change(
    record: SyncedRecord,
    mapping: FieldMapping,
    mappings: CrmMappings,
    crm: CrmName,
    value: str | None,
    at: datetime,
    actor: str | None = None,
    by_person: bool = False,
    whole_record: bool = False,
    never_sent: bool = False,
) -> Decision:
    """How a CRM's report of a field's value settles against the record. `by_person`: the CRM says a person
    made the change (HubSpot's `changeSource` CRM_UI), so it is no echo of the hub's, whatever its value.
    `whole_record`: the report carries every field as it was then (Salesforce's outbound message), not the one
    that changed, so a person having changed the record says nothing of this field: a value the hub wrote there
    lately, in a report no later than that write's answer (and `CLOCK_SKEW`), is that write's. The price: a
    person setting a field back to one of the hub's last few values within seconds of the hub writing it is
    taken for the echo; reconciliation does not see it either. `never_sent`: the hub's value is one that CRM
    could never be told yet (a contact's account not in that CRM), and the two never agreed on the field: the
    CRM's first value is no conflict with it, but settled by the mapping's rule."""
    state = record.fields.get(mapping.hub_field)
    held = state.value if state else None
    copy = record.copy_in(crm)

    def decided(outcome: Outcome, rule: str) -> Decision:
        return Decision(mapping.hub_field, outcome, rule, crm, at, held, value, actor)

    if (whole_record or not by_person) and copy.echoes(mapping.hub_field, value, at, whole_record):
        return decided(Outcome.ECHO, "echo")
    if copy.seen_after(mapping.hub_field, at):
        # that CRM reported a later change of the field already: this older one, arriving after it, is stale. It
        # loses, in the trail with its value, when it is a change of this field (one property's report, HubSpot's);
        # a whole record's older snapshot (Salesforce's) restates fields it did not change: nothing to audit
        if whole_record or value == held:
            return decided(Outcome.UNCHANGED, "older_than_reported")
        return decided(Outcome.KEPT, "older_than_reported")
    if value == held:
        # a person setting the field to the value it holds, later than it was set: that is its latest change now
        confirmed = by_person and not whole_record and state is not None and at > state.modified_at
        return decided(Outcome.UNCHANGED, "confirmed_by_person" if confirmed else "same_value")
    agreed = copy.agreed_on(mapping.hub_field)
    # A CRM still holding the value last agreed on has not changed it, unless a person says they just did (a
    # field set away and back)
    if agreed is not MISSING and value == agreed and (whole_record or not by_person):
        return decided(Outcome.UNCHANGED, "crm_unchanged")
    if not mapping.inbound:
        return decided(Outcome.KEPT, f"direction_{mapping.direction.value}")
    hub_changed = state is not None and (
        held != agreed if agreed is not MISSING else held is not None and not never_sent
    )
    if mapping.critical and hub_changed:
        return decided(Outcome.CONFLICT, "critical_conflict")
    rule = mapping.rule
    if rule is SyncRule.NEVER_OVERWRITE:
        return decided(Outcome.KEPT if held is not None else Outcome.APPLIED, rule.value)
    if rule is SyncRule.PREFER_HUB_UNLESS_BLANK:
        return decided(Outcome.KEPT if held is not None else Outcome.APPLIED, rule.value)
    if rule is SyncRule.PREFER_CRM_UNLESS_BLANK:
        return decided(Outcome.APPLIED if value is not None else Outcome.KEPT, rule.value)
    tie = state is not None and _order(state.source, state.modified_at, crm, at) == 0 and state.source != crm
    return decided(_later(state, crm, at, mappings), "tie_break" if tie else rule.value)


def hub_change(
    record: SyncedRecord, hub_field: str, value: str | None, at: datetime, mappings: CrmMappings, actor: str
) -> Decision:
    """How a change the hub made (a lead's score, a handoff's owner, an account's health) settles against the
    record: applied unless the record holds a later value (a CRM's change made after it, audited as kept); a
    value the hub itself changed later already supersedes it (a redelivered, replayed or late event of the
    hub's: nothing lost, nothing to audit), and a restatement of the value the hub told last
    (`SyncedRecord.hub_told`) is nothing new: a CRM user's change made since stands, and is not taken for a
    conflict."""
    state = record.fields.get(hub_field)
    held = state.value if state else None
    if state is not None and value == held:
        return Decision(hub_field, Outcome.UNCHANGED, "same_value", HUB, at, held, value, actor)
    if state is not None and state.source == HUB and at < state.modified_at:
        return Decision(hub_field, Outcome.UNCHANGED, "superseded", HUB, at, held, value, actor)
    if hub_field in record.hub_told and record.hub_told[hub_field] == value:
        # what the hub told last, said again (every lead event restates the lead's stage and profile): nothing
        # new, whatever a CRM changed since; timed now, it would undo a CRM user's later change of it
        return Decision(hub_field, Outcome.UNCHANGED, "restated", HUB, at, held, value, actor)
    outcome = _later(state, HUB, at, mappings)
    tie = state is not None and _order(state.source, state.modified_at, HUB, at) == 0 and state.source != HUB
    rule = "tie_break" if tie else SyncRule.LAST_MODIFIED_WINS.value
    return Decision(hub_field, outcome, rule, HUB, at, held, value, actor)


def _later(state: FieldState | None, source: str, at: datetime, mappings: CrmMappings) -> Outcome:
    if state is None:
        return Outcome.APPLIED
    order = _order(state.source, state.modified_at, source, at)
    if order < 0:
        return Outcome.APPLIED
    if order > 0:
        return Outcome.KEPT
    if source == state.source:
        return Outcome.APPLIED  # one source's two changes of one moment: the later to arrive is its latest
    return Outcome.APPLIED if mappings.rank(source) < mappings.rank(state.source) else Outcome.KEPT


def _order(held_source: str, held_at: datetime, source: str, at: datetime) -> int:
    """-1, 0 or 1 as the held change was made before, at the same time as, or after the incoming one, told at
    the coarser of the two sources' precisions (`TIME_PRECISION`): a whole-second Salesforce time and the hub's
    microsecond one within that second are a tie, for the tie break to decide."""
    tick = max(TIME_PRECISION.get(held_source, _EXACT), TIME_PRECISION.get(source, _EXACT))
    held, incoming = _truncated(held_at, tick), _truncated(at, tick)
    return (held > incoming) - (held < incoming)


def _truncated(at: datetime, tick: timedelta) -> datetime:
    if tick <= _EXACT:
        return at
    return at - (at - _EPOCH.replace(tzinfo=at.tzinfo)) % tick


def applied(record: SyncedRecord, decision: Decision, crm: CrmName | None) -> SyncedRecord:
    """The record after the decision. The CRM a value came from holds it, so the two agree on it now (whether
    it won or lost: a losing value is what that CRM holds, and the hub's value goes back to it), unless the
    report is no later than the hub's last write of that field there."""
    if decision.outcome is Outcome.APPLIED or decision.rule == "confirmed_by_person":
        record = record.with_field(
            decision.hub_field, FieldState(decision.incoming, decision.at, decision.source, decision.actor)
        )
    if crm is None:
        return record
    copy = record.copy_in(crm)
    if copy.seen_after(decision.hub_field, decision.at):
        return record  # an older report of that CRM, arriving after a later change: it holds the later one's value
    if decision.outcome is not Outcome.ECHO:
        # what that CRM held at that moment (the hub's own writes coming back are not counted: their time is the
        # write's, and a person's change made before it and reported late may still be the latest change)
        record = record.with_copy(crm, copy.seeing(decision.hub_field, decision.at))
        copy = record.copy_in(crm)
    agrees = decision.outcome in (Outcome.APPLIED, Outcome.KEPT) or decision.rule in (
        "same_value",
        "confirmed_by_person",
    )
    if not agrees:
        return record
    last_write = copy.last_written_at(decision.hub_field)
    if last_write is not None and decision.at <= last_write:
        # The report may be older than the hub's last write there (a late webhook, or a snapshot taken before the
        # write landed) or not: what the CRM holds is unknown. A value that won or lost is written again (one
        # write more at worst; never a CRM left holding a value that lost); the same value proves nothing.
        if decision.outcome is Outcome.UNCHANGED:
            return record
        return record.with_copy(crm, copy.unsure_of(decision.hub_field))
    return record.with_copy(crm, copy.agreeing(decision.hub_field, decision.incoming))
