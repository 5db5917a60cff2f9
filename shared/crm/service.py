"""The CRM sync use cases: take a change the hub made, take a change a CRM reports, tell the CRMs (the writer),
let a person resolve a conflict, and reconcile what changed in each CRM with the hub's records. Who wins a field
is `shared.crm.resolution`'s to say; the writer's calls are `shared.crm.writer`'s, a reconcile run's reading
and tallying `shared.crm.reconciliation`'s, the bus events a decision makes `shared.crm.decision_events`';
this module decides changes on the record and commits them.

Every decision is made on the synced record, read and stored at a version: two functions deciding on one
record at once cannot both win (the loser reads again and decides again). A decision's audit entries, a
flagged conflict and the links to CRM records are stored with the record, all or nothing. What must go out is
never carried in a message: after any decision that changed the record, each CRM whose copy differs from it
gets a notice, and the writer writes the record's latest values. A notice lost or repeated is harmless. A bus
event is decided once: recorded with the commit, a redelivery of it (a delivery that failed after committing)
sends the notices again while that commit is the record's latest, and a replay changes nothing and tells no
CRM anything again."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from shared.crm.audit import AuditEntry, Conflict, ConflictStatus
from shared.crm.commits import ATTEMPTS, commit_change
from shared.crm.decided import Decided
from shared.crm.decision_events import decision_events
from shared.crm.hub_changes import HubUpdate, hub_update, lead_merge, lead_unmerge
from shared.crm.inbound import CrmReport, crm_report
from shared.crm.links import canonical_links, hub_link, stored_links
from shared.crm.mappings import CRMS, HUB, MAX_VALUE_LENGTH, CrmMappings, FieldMapping
from shared.crm.outbound import planned_write
from shared.crm.pacing import CallPacer
from shared.crm.ports import (
    ChangeNotice,
    ChangeQueue,
    CrmClient,
    CrmName,
    HubDirectory,
    Link,
    ObjectKind,
    StaleRecord,
)
from shared.crm.reconciliation import Reconciler, ReconcileRun
from shared.crm.record_view import record_view, unsynced_record
from shared.crm.records import MISSING, CrmCopy, FieldState, SyncedRecord, parse_record_key, record_key
from shared.crm.resolution import AUDITED, Decision, Outcome, applied, crm_change, hub_change
from shared.crm.store import SyncStore
from shared.crm.writer import CrmWriter, WriteReport
from shared.errors import InvalidInput
from shared.events.canonical import WEBHOOK_EVENT_SOURCE, CanonicalEvent
from shared.events.sync_events import SyncEvent
from shared.webhooks.ports import Clock, EventPublisher

PERSON = "person"
DUPLICATE = "duplicate event; decided once already"
# The lead profile fields an unmerge may take from a side (the lead directory's, less the email each side keeps)
UNMERGE_TRIMMED = ("first_name", "last_name", "company", "job_title", "phone", "country")
MERGE_HOPS = 20  # a chain of merged records longer than this is not followed (a cycle written by a bug)


class ConflictNotFound(LookupError):
    pass


class ConflictClosed(InvalidInput):
    """The conflict was resolved already."""


class InvalidResolution(InvalidInput):
    """A person's value for a conflict the field cannot hold (no email address for an email, none of an owner's
    or a stage's values, a link to no record the hub knows)."""


class SyncService:
    def __init__(
        self,
        mappings: CrmMappings,
        store: SyncStore,
        directory: HubDirectory,
        clock: Clock,
        queue: ChangeQueue | None = None,
        publisher: EventPublisher | None = None,
        pacer: CallPacer | None = None,
    ) -> None:
        self.mappings = mappings
        self.store = store
        self.directory = directory
        self._clock = clock
        self._queue = queue
        self._publisher = publisher
        self._writer = CrmWriter(mappings, store, clock, pacer, directory)
        self._reconciler = Reconciler(
            mappings,
            store,
            clock,
            # a run's cause is no bus event's: compared by content
            lambda report: self.crm_changed(report, once=False),
            self.publish,
        )

    def now(self) -> datetime:
        return self._clock.now()

    # ------------------------------------------------------------------------------------------ from the bus

    def on_bus_event(self, source: str, detail: Mapping[str, Any]) -> Decided:
        """An event of the hub's bus: a CRM's webhook (canonical) or a change the hub's domains published."""
        if source == WEBHOOK_EVENT_SOURCE:
            report = crm_report(CanonicalEvent.model_validate(detail), self.mappings)
            return self.crm_changed(report) if report else Decided(None, note="no CRM record change")
        merge = lead_merge(source, detail)
        if merge is not None:
            return self.leads_merged(*merge)
        unmerge = lead_unmerge(source, detail)
        if unmerge is not None:
            return self.leads_unmerged(*unmerge)
        update = hub_update(source, detail, self.directory)
        if update is not None and not self.mappings.has_object(update.kind):
            # an expansion signal creates what the mappings' `expansion` object says: without one, nothing
            return Decided(None, note=f"the mappings sync no {update.kind}")
        return self.hub_changed(update) if update else Decided(None, note="nothing synced changes")

    def leads_merged(self, survivor_id: str, absorbed_id: str, cause: str) -> Decided:
        """Two leads were found to be one person: the absorbed lead's record writes nothing any more, and the CRM
        records it was linked to (a contact a CRM created before the hub knew its email) are the survivor's,
        unless the survivor has its own there."""
        absorbed_key, survivor_key = record_key("contact", absorbed_id), record_key("contact", survivor_id)
        absorbed = self.store.record(absorbed_key)
        if absorbed is None or absorbed.merged_into == survivor_key:
            return Decided(survivor_key, note="nothing synced to merge")
        if self.store.applied(absorbed_key, cause):
            return Decided(absorbed_key, note=DUPLICATE)  # a replay after an unmerge: the two are apart again
        adopted = {crm: copy.crm_id for crm, copy in absorbed.crms.items() if copy.crm_id is not None}

        def adopt(record: SyncedRecord) -> tuple[SyncedRecord, list[Decision], list[Conflict]]:
            for crm, crm_id in adopted.items():
                if record.copy_in(crm).crm_id is None:
                    record = record.with_copy(crm, replace(record.copy_in(crm), crm_id=crm_id))
            return record, [], []

        links = [Link(crm, "contact", crm_id, survivor_key) for crm, crm_id in adopted.items() if crm_id]
        survivor = self.store.record(survivor_key)
        keep = [link for link in links if survivor is None or survivor.copy_in(link.crm).crm_id in (None, link.crm_id)]
        decided = self._decide(survivor_key, "contact", survivor_id, adopt, cause, links=keep)
        commit_change(
            self.store, absorbed_key, lambda record: replace(record, merged_into=survivor_key), [], applied=cause
        )
        return decided

    def leads_unmerged(self, lead_id: str, other_id: str, cause: str, at: datetime) -> Decided:
        """A merge was undone (`lead.unmerged`, one for each side, in either order). The side that comes back (the
        one whose record was merged into the other's, or into one merged into it since) writes to the CRMs again:
        to the CRM records it had before the merge, each written again with its whole profile (what a CRM reported
        of them while merged went to the survivor), except those its survivor took over in the merge (it had none
        of its own there): the survivor keeps those, and the side is created anew there (matched on its own email,
        under a create claim). Each side's record, as its own event comes, takes the lead's profile as the unmerge
        left it (`_unmerge_profile`), so the survivor's is rewritten with its own, without the other's values; its
        lead.profile_changed, before or after, changes nothing more."""
        key, other_key = record_key("contact", lead_id), record_key("contact", other_id)
        back_key, chain = key, self._merge_chain(key, other_key)
        if chain is None:
            back_key, chain = other_key, self._merge_chain(other_key, key)
        profile = self._unmerge_profile(lead_id, at)
        split_decided = None
        if chain is not None:
            taken = {crm: {r.copy_in(crm).crm_id for r in chain} - {None} for crm in CRMS}
            outbound = [m.hub_field for m in self.mappings.fields("contact") if m.outbound]

            def split(record: SyncedRecord) -> tuple[SyncedRecord, list[Decision], list[Conflict]]:
                record = replace(record, merged_into=None)
                for crm in CRMS:
                    copy = record.copy_in(crm)
                    if copy.crm_id is None:
                        continue
                    if copy.crm_id in taken[crm]:
                        record = record.with_copy(crm, CrmCopy())  # the survivor's now: created anew
                        continue
                    for hub_field in outbound:
                        if record.value(hub_field) is not None:
                            copy = copy.unsure_of(hub_field)
                    record = record.with_copy(crm, copy)
                return profile(record) if back_key == key else (record, [], [])

            back = self.store.record(back_key)
            assert back is not None  # it has a chain
            relinks = [
                Link(crm, "contact", copy.crm_id, back_key)
                for crm, copy in back.crms.items()
                if copy.crm_id is not None
                and copy.crm_id not in taken[crm]
                and self.store.linked(crm, "contact", copy.crm_id) != back_key
            ]
            split_decided = self._decide(back_key, "contact", back.hub_id, split, cause, links=(), relinks=relinks)
            if back_key == key:
                return split_decided
        decided = self._decide(key, "contact", lead_id, profile, cause, links=())
        if split_decided is None:
            return decided
        return replace(  # the survivor's event: the side that comes back split off, and the survivor's own profile
            decided,
            decisions=[*split_decided.decisions, *decided.decisions],
            notices=[*split_decided.notices, *decided.notices],
            events=[*split_decided.events, *decided.events],
        )

    def _merge_chain(self, key: str, into: str) -> list[SyncedRecord] | None:
        """The records `key`'s record is merged into, one after another, up to `into`'s; None unless it reaches it."""
        record = self.store.record(key)
        chain: list[SyncedRecord] = []
        for _ in range(MERGE_HOPS):
            if record is None or record.merged_into is None:
                return None
            survivor = self.store.record(record.merged_into)
            if survivor is None:
                return None
            chain.append(survivor)
            if survivor.key == into:
                return chain
            record = survivor
        return None

    def _unmerge_profile(
        self, lead_id: str, at: datetime
    ) -> Callable[[SyncedRecord], tuple[SyncedRecord, list[Decision], list[Conflict]]]:
        """The decision taking the lead's profile as the unmerge left it, as of the unmerge (`at`): its values come
        back with their own, older times (the survivor's email from before the merge), which a hub change would
        take for superseded. A profile value the hub told the record that the profile no longer holds (one that was
        the other side's) is cleared. A CRM user's change made since stands, as does a value the hub told last
        (`hub_change`). Nothing when the directory does not know the lead."""
        profile = self.directory.contact_profile(lead_id)

        def decide(record: SyncedRecord) -> tuple[SyncedRecord, list[Decision], list[Conflict]]:
            if profile is None:
                return record, [], []
            decisions = []
            for hub_field in dict.fromkeys((*profile.values, *UNMERGE_TRIMMED)):
                state = record.fields.get(hub_field)
                if self.mappings.field("contact", hub_field) is None:
                    continue
                if hub_field in profile.values:
                    raw = profile.values[hub_field][0]
                    value = raw[:MAX_VALUE_LENGTH] if raw is not None else None
                elif state is not None and state.source == HUB and record.hub_told.get(hub_field) == state.value:
                    value = None  # the other side's, which the hub told this record while they were one
                else:
                    continue
                if (state.value if state is not None else None) == value:
                    continue
                decision = hub_change(record, hub_field, value, at, self.mappings, "revops.leads")
                if hub_field in record.open_conflicts and decision.outcome is not Outcome.UNCHANGED:
                    decision = replace(decision, outcome=Outcome.KEPT, rule="conflict_open")
                record = applied(record, decision, None)
                if decision.outcome is not Outcome.UNCHANGED:
                    record = record.told_by_hub(hub_field, value)
                decisions.append(decision)
            return record, decisions, []

        return decide

    # ------------------------------------------------------------------------------------------ the hub's changes

    def hub_changed(self, update: HubUpdate) -> Decided:
        """The hub changed fields of a record (a lead's score or stage, a handoff's owner, an account's health):
        each settles against the record (a later CRM change stands), and the CRMs are told. A record that belongs
        to another (an expansion, to its account) is made its, and takes its owner."""
        key = record_key(update.kind, update.hub_id)
        update = self._with_parent_owner(update)

        def decide(record: SyncedRecord) -> tuple[SyncedRecord, list[Decision], list[Conflict]]:
            decisions = []
            conflicts = []
            record = canonical_links(record, self.mappings, self.store, self.directory)
            if update.parent is not None and record.parent is None:
                record = replace(record, parent=update.parent)
            for hub_field, (raw, at) in update.values.items():
                mapping = self.mappings.field(update.kind, hub_field)
                if mapping is None:
                    continue
                value = raw[:MAX_VALUE_LENGTH] if raw is not None else None
                decision = hub_change(record, hub_field, value, at, self.mappings, update.actor)
                if hub_field in record.open_conflicts and decision.outcome is not Outcome.UNCHANGED:
                    # a critical field in conflict waits for a person, whoever changes it meanwhile
                    decision = replace(decision, outcome=Outcome.KEPT, rule="conflict_open")
                elif mapping.critical and decision.outcome is Outcome.KEPT and decision.rule != "conflict_open":
                    state = record.fields.get(hub_field)
                    if state is not None and state.source in CRMS:
                        # the hub changed a critical field a CRM changed later: a person decides, as the other way
                        conflict = Conflict(
                            Conflict.id_for(record.key, hub_field, HUB, value, at),
                            record.key,
                            record.kind,
                            record.hub_id,
                            hub_field,
                            value,
                            HUB,
                            at,
                            state.source,
                            state.value,
                            state.modified_at,
                            self._clock.now(),
                        )
                        record = record.with_conflict(hub_field, conflict.conflict_id)
                        conflicts.append(conflict)
                        decision = replace(decision, outcome=Outcome.CONFLICT, rule="critical_conflict")
                record = applied(record, decision, None)
                if decision.outcome is not Outcome.UNCHANGED or decision.rule == "same_value":
                    record = record.told_by_hub(hub_field, value)  # (not a late one the hub superseded itself)
                decisions.append(decision)
            return record, decisions, conflicts

        return self._decide(key, update.kind, update.hub_id, decide, update.cause, links=())

    def _with_parent_owner(self, update: HubUpdate) -> HubUpdate:
        """An expansion's owner is its account's, as the CRMs report it (`account.owner`): the rep the task is
        for. Taken once, as the record is made: an owner changing later moves the account, not its open tasks."""
        if update.parent is None or "owner" in update.values or self.mappings.field(update.kind, "owner") is None:
            return update
        parent = self.store.record(update.parent)
        owner = parent.fields.get("owner") if parent is not None else None
        if owner is None or owner.value is None or not update.values:
            return update
        at = max(at for _, at in update.values.values())  # as of the signal, as its other fields
        return replace(update, values={**update.values, "owner": (owner.value, at)})

    # ------------------------------------------------------------------------------------------ a CRM's changes

    def crm_changed(self, report: CrmReport, once: bool = True) -> Decided:
        """A CRM reports a record's fields: each mapped field settles by its rule; a critical field both sides
        changed is flagged; the hub's own writes coming back are recognized and dropped. `once`: the report is a
        bus event's (its `cause`), decided on once (`_decide`). A record the hub only writes (an expansion's task)
        is never read back: a rep completing it is theirs, and changes nothing of the hub's."""
        if not self.mappings.reads_back(report.kind):
            return Decided(None, note=f"the hub never reads {report.kind} records back from {report.crm}")
        key = self.store.linked(report.crm, report.kind, report.crm_id) or self._known_key(report)
        if key is None:
            return Decided(None, note=f"{report.crm} {report.kind} {report.crm_id} is no record the hub syncs")
        linked = self.store.record(key)
        if linked is not None and linked.merged_into is not None:
            if once and self.store.applied(key, report.cause):
                # decided on this record before it was merged away (a replay): its survivor has it already, and
                # the merged record writes nothing any more
                return Decided(key, note=DUPLICATE)
            key = linked.merged_into
        parsed = parse_record_key(key)
        assert parsed is not None
        kind, hub_id = parsed
        by_field = self.mappings.by_crm_field(kind, report.crm)
        now = self._clock.now()

        def decide(record: SyncedRecord) -> tuple[SyncedRecord, list[Decision], list[Conflict]]:
            decisions, conflicts = [], []
            record = canonical_links(record, self.mappings, self.store, self.directory)
            for crm_field, raw in report.values.items():
                mapping = by_field.get(crm_field)
                if mapping is None:
                    continue
                value = mapping.to_hub(report.crm, raw)
                if mapping.links_to is not None:
                    # the CRM's id of the linked record (a HubSpot company) as the hub's (the account's id)
                    value = hub_link(mapping, report.crm, value, self.store, self.directory)
                if mapping.hub_field in record.open_conflicts:
                    held = record.value(mapping.hub_field)
                    if value != held:
                        # held for the person deciding: audited, neither applied nor flagged again
                        decisions.append(
                            Decision(
                                mapping.hub_field,
                                Outcome.KEPT,
                                "conflict_open",
                                report.crm,
                                report.at,
                                held,
                                value,
                                report.actor,
                            )
                        )
                    continue
                decision = crm_change(
                    record,
                    mapping,
                    self.mappings,
                    report.crm,
                    value,
                    report.at,
                    report.actor,
                    report.by_person,
                    report.whole_record,
                    self._never_sent(record, mapping, report.crm),
                )
                if decision.outcome is Outcome.CONFLICT:
                    conflict = self._conflict(record, decision, report.crm, now)
                    record = record.with_conflict(mapping.hub_field, conflict.conflict_id)
                    conflicts.append(conflict)
                record = applied(record, decision, report.crm)
                decisions.append(decision)
            return record, decisions, conflicts

        link = Link(report.crm, kind, report.crm_id, key)
        return self._decide(key, kind, hub_id, decide, report.cause, links=(link,), source_crm=report.crm, once=once)

    def _never_sent(self, record: SyncedRecord, mapping: FieldMapping, crm: CrmName) -> bool:
        """Whether the record's link (a contact's account) is one `crm` was never told and cannot be yet (the
        account is not there: most leads' accounts are in no CRM), the two never having agreed on it: the CRM's
        first company for the contact is then no conflict with the hub's domain match (HubSpot associates a new
        contact with its domain's company on its own)."""
        held = record.value(mapping.hub_field)
        if mapping.links_to is None or held is None or record.copy_in(crm).agreed_on(mapping.hub_field) is not MISSING:
            return False
        return stored_links(self.store)(mapping.links_to, held, crm) is None

    def _known_key(self, report: CrmReport) -> str | None:
        """A CRM record the hub has not linked yet: the lead (or account) the lead domain knows it as."""
        if report.kind == "contact":
            lead_id = self.directory.lead_for(report.crm, report.crm_id, report.email)
            if lead_id is None:
                return None
            profile = self.directory.contact_profile(lead_id)
            if profile is None or not (profile.values.get("email") or (None,))[0]:
                # a contact the lead domain made of this very CRM record before it knew whose it is: nothing
                # to sync until it has an email (a merge then hands its CRM records to the lead it is)
                return None
            return record_key("contact", lead_id)
        if report.kind == "account":
            account_id = self.directory.account_for(report.crm, report.crm_id)
            return record_key("account", account_id) if account_id else None
        # a deal is the CRM's own: the hub knows it by its qualified id (`hubspot:7001`), as attribution does
        return record_key("deal", f"{report.crm}:{report.crm_id}")

    def _conflict(self, record: SyncedRecord, decision: Decision, crm: CrmName, now: datetime) -> Conflict:
        state = record.fields.get(decision.hub_field)
        held_at = state.modified_at if state else decision.at
        return Conflict(
            Conflict.id_for(record.key, decision.hub_field, crm, decision.incoming, decision.at),
            record.key,
            record.kind,
            record.hub_id,
            decision.hub_field,
            decision.previous,
            state.source if state else "hub",
            held_at,
            crm,
            decision.incoming,
            decision.at,
            now,
        )

    # ------------------------------------------------------------------------------------------ conflicts

    def resolve(self, conflict_id: str, value: str | None, actor: str) -> Conflict:
        """A person settles a conflict with `value` (the hub's, the CRM's, or another): it becomes the record's
        value, as of now, and goes to every CRM."""
        conflict = self.store.conflict(conflict_id)
        if conflict is None:
            raise ConflictNotFound(conflict_id)
        if conflict.status is ConflictStatus.RESOLVED:
            if conflict.resolved_value == value or conflict.resolved_value == self._normal(conflict, value):
                return conflict
            raise ConflictClosed(
                f"conflict {conflict_id} was resolved already, with {conflict.resolved_value!r} "
                f"by {conflict.resolved_by}"
            )
        value = self._resolution_value(conflict, value)
        now = self._clock.now()
        resolved = replace(
            conflict, status=ConflictStatus.RESOLVED, resolved_value=value, resolved_by=actor, resolved_at=now
        )

        def decide(record: SyncedRecord) -> tuple[SyncedRecord, list[Decision], list[Conflict]]:
            if record.open_conflicts.get(conflict.hub_field) != conflict_id:
                # resolved by someone else between the read above and this decision
                raise ConflictClosed(f"conflict {conflict_id} was resolved already")
            state = record.fields.get(conflict.hub_field)
            decision = Decision(
                conflict.hub_field,
                Outcome.APPLIED,
                "resolved_by_person",
                PERSON,
                now,
                state.value if state else None,
                value,
                actor,
            )
            record = record.with_field(conflict.hub_field, FieldState(value, now, PERSON, actor))
            record = record.with_conflict(conflict.hub_field, None)
            return record, [decision], [resolved]

        self._decide(
            conflict.record_key,
            conflict.kind,
            conflict.hub_id,
            decide,
            f"conflict:{conflict_id}",
            links=(),
            once=False,  # a resolution is settled once by the conflict's status, not by a bus event's id
        )
        return resolved

    def _resolution_value(self, conflict: Conflict, value: str | None) -> str | None:
        """A person's value for the conflict's field as the hub holds it: either side's value of the conflict as
        it is, another normalized as a CRM's value of the field is (`FieldMapping.from_person`) and refused
        (InvalidResolution: the API's 400, naming the field and what it accepts) when no CRM could hold it; a
        link's names a record the hub knows (`_check_link`)."""
        mapping = self.mappings.field(conflict.kind, conflict.hub_field)
        if mapping is None or value is None or value in (conflict.hub_value, conflict.crm_value):
            return value
        if mapping.links_to is not None:
            self._check_link(conflict, value)
            return value
        try:
            return mapping.from_person(value)
        except ValueError as exc:
            raise InvalidResolution(f"{conflict.kind}.{conflict.hub_field}: {exc}") from None

    def _normal(self, conflict: Conflict, value: str | None) -> str | None:
        """`value` as a resolution of the conflict would be held (a repeated resolution), else as it is."""
        try:
            return self._resolution_value(conflict, value)
        except InvalidResolution:
            return value

    def _check_link(self, conflict: Conflict, value: str | None) -> None:
        """A link field's (a contact's account) resolution names a record the hub knows: the hub's or the CRM's
        value of the conflict, one the record held or a CRM agreed on, a synced record or one the hub's directory
        knows by that id, or a CRM's own id qualified (`hubspot:501`, which the lead processor finds or makes);
        anything else is refused (InvalidInput: the API's 400), naming the field."""
        mapping = self.mappings.field(conflict.kind, conflict.hub_field)
        if mapping is None or mapping.links_to is None or value is None:
            return
        crm, _, bare = value.partition(":")
        if crm in CRMS and bare.strip():
            return
        if value in (conflict.hub_value, conflict.crm_value):
            return
        record = self.store.record(conflict.record_key)
        if record is not None and (
            record.value(conflict.hub_field) == value
            or any(record.copy_in(c).agreed_on(conflict.hub_field) == value for c in CRMS)
        ):
            return
        if self.store.record(record_key(mapping.links_to, value)) is not None:
            return
        if mapping.links_to == "account" and self.directory.account_profile(value) is not None:
            return
        raise InvalidResolution(
            f"{conflict.kind}.{conflict.hub_field}: {value[:100]!r} is no {mapping.links_to} the hub knows; give a "
            f"{mapping.links_to} id or a CRM's id of it as <crm>:<id> ({', '.join(CRMS)})"
        )

    # ------------------------------------------------------------------------------------------ deciding

    def _decide(
        self,
        key: str,
        kind: ObjectKind,
        hub_id: str,
        decide: Callable[[SyncedRecord], tuple[SyncedRecord, list[Decision], list[Conflict]]],
        cause: str,
        links: Sequence[Link],
        source_crm: CrmName | None = None,
        once: bool = True,
        relinks: Sequence[Link] = (),
    ) -> Decided:
        """Decide `decide` on the record as stored, commit what changed and tell the CRMs whose copy differs.
        `once`: `cause` is the id of a bus event, decided on once: it is recorded with the commit that changed the
        record, and a redelivery or a replay of it changes nothing and audits nothing. A decision that changed
        nothing on a stored record is recorded too (`mark_decided`), without a commit: a hub change reads the
        lead's profile from the lead store as it is when decided, so deciding the event again after the profile
        moved on (a name a support tool set since, which no lead event told) would apply under this event what it
        never said. It tells no CRM: every commit tells
        them of itself, so a replay tells them nothing again, even of a write a CRM keeps refusing (its notices
        are in the dead-letter queue, for a redrive). `relinks`: links of CRM records the record holds already, stored
        (again) with a commit that changes it (an unmerged lead's own records, which reports while it was merged
        linked to its survivor)."""
        for attempt in range(ATTEMPTS):
            if once:
                found, decided_version = self.store.record_and_applied(key, cause)
                if decided_version is not None:
                    stored = found or SyncedRecord(kind, hub_id)
                    # The delivery that committed may have failed before telling the CRMs: told now, unless another
                    # commit followed (which told them of itself)
                    linked_in = [link.crm for link in links if stored.copy_in(link.crm).crm_id == link.crm_id]
                    notices = self._notify(stored, linked_in) if stored.version == decided_version else []
                    return Decided(key, [], notices, [], note=DUPLICATE)
            else:
                found = self.store.record(key)
            stored = found or SyncedRecord(kind, hub_id)
            record, decisions, conflicts = decide(stored)
            now = self._clock.now()
            audit = [AuditEntry.of(key, d, now, cause) for d in decisions if d.outcome in AUDITED]
            resolutions = [c for c in conflicts if c.status is ConflictStatus.RESOLVED]
            if resolutions:
                audit = [_resolution_entry(key, d, now, cause) for d in decisions]
            new_links = [link for link in links if stored.copy_in(link.crm).crm_id != link.crm_id]
            if new_links:
                for link in new_links:
                    copy = record.copy_in(link.crm)
                    if copy.crm_id is None:
                        record = record.with_copy(link.crm, replace(copy, crm_id=link.crm_id))
            events = decision_events(key, decisions, conflicts, source_crm, cause, now)
            changed = bool(audit or conflicts or new_links) or record != stored
            if changed:
                self.publish(events)
                try:
                    linking = [*new_links, *relinks]
                    record = self.store.commit(record, audit, conflicts, linking, applied=cause if once else None)
                except StaleRecord:
                    if attempt == ATTEMPTS - 1:
                        raise
                    continue
            if not changed:
                if once and found is not None:
                    self.store.mark_decided(key, cause)
                return Decided(key, decisions, [], [])
            return Decided(key, decisions, self._notify(record, [link.crm for link in new_links]), events)
        raise AssertionError("unreachable")

    def _notify(self, record: SyncedRecord, linked_in: Sequence[CrmName] = ()) -> list[ChangeNotice]:
        """Tell the CRMs whose copy differs; and, for each CRM `linked_in` (the record just linked to its record
        there: an account to a company a person made), the records whose link waited for it (its contacts)."""
        notices = [
            ChangeNotice(crm, record.key, record.version)
            for crm in CRMS
            if planned_write(record, crm, self.mappings, stored_links(self.store)) is not None
        ]
        for crm in dict.fromkeys(linked_in):
            notices += self._writer.links_waiting(record.key, crm)
        if notices and self._queue is not None:
            self._queue.send(notices)
        return notices

    def publish(self, events: Sequence[SyncEvent]) -> None:
        if not events:
            return
        if self._publisher is None:
            raise RuntimeError("this function publishes nothing: it cannot decide CRM changes")
        failed = self._publisher.publish(list(events)).failed
        if failed:
            raise RuntimeError(f"the bus refused {len(failed)} sync event(s): {next(iter(failed.values()))}")

    # ------------------------------------------------------------------------------------------ the writer

    def write(self, notices: Sequence[ChangeNotice], clients: Mapping[CrmName, CrmClient]) -> WriteReport:
        """Bring each noticed CRM up to its records (`CrmWriter.write`)."""
        return self._writer.write(notices, clients)

    # ------------------------------------------------------------------------------------------ reconciliation

    def reconcile(self, clients: Mapping[CrmName, CrmClient], run_id: str) -> ReconcileRun:
        """Compare what changed in each CRM since the last run with the hub's records (`Reconciler.reconcile`)."""
        return self._reconciler.reconcile(clients, run_id)

    # ------------------------------------------------------------------------------------------ reading

    def record_view(self, key: str) -> dict[str, Any] | None:
        """The synced record; else, for an account or a lead the hub knows and has not synced yet, what the hub
        knows of it (version 0, in no CRM); None when neither knows the id."""
        record = self.store.record(key) or self._unsynced(key)
        return record_view(record, self.mappings, stored_links(self.store)) if record is not None else None

    def _unsynced(self, key: str) -> SyncedRecord | None:
        parsed = parse_record_key(key)
        if parsed is None or not self.mappings.has_object(parsed[0]):
            return None
        kind, hub_id = parsed
        if kind == "contact":
            profile = self.directory.contact_profile(hub_id)
        elif kind == "account":
            profile = self.directory.account_profile(hub_id)
        else:
            return None  # a deal is the CRM's, an expansion the hub's signal: neither is known before it is synced
        return unsynced_record(kind, hub_id, profile, self.mappings) if profile is not None else None


def _resolution_entry(key: str, decision: Decision, now: datetime, cause: str) -> AuditEntry:
    entry = AuditEntry.of(key, decision, now, cause)
    return replace(entry, outcome="resolved")
