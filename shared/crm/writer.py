"""The writer: brings each noticed CRM up to its records, in one batch call per CRM and object. What a record
needs written is `shared.crm.outbound`'s to say, and when a batch waits to fill under load `shared.crm.pacing`'s;
this module makes the calls, waits out a CRM's rate limit, remembers what it writes (so the CRM's webhook of
it is known as the hub's own echo) and settles each record's copy with the CRM's answer.

Creates happen once, though the sync queue is a standard one read by two writers at once and a CRM's answer can
be lost: before a create goes out, the writer commits a claim on it to the record (`CreateClaim`, on the record's
version, with the echoes). A writer that finds another's unexpired claim creates nothing and retries the notice
later; one that finds its own or an expired one looks the CRM's record up by every value the claims sent, and
updates what it finds rather than creating again (`OutboundWrite.match_also`). A create that fails, or whose
answer is lost, releases its claim (the values stay for that lookup); one answered with the record's id clears it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from uuid import uuid4

from shared.crm.commits import commit_change
from shared.crm.erasure import CREATE_IN_FLIGHT_SECONDS, ErasureNotice
from shared.crm.links import stored_links
from shared.crm.mappings import CrmMappings
from shared.crm.outbound import PlannedWrite, link_waits_for, linked_to_parent, parent_link, planned_write
from shared.crm.pacing import CallPacer
from shared.crm.ports import (
    ChangeNotice,
    CrmClient,
    CrmName,
    CrmRefused,
    CrmUnavailable,
    HubDirectory,
    Link,
    ObjectKind,
    RateLimited,
    StaleRecord,
    WriteResult,
)
from shared.crm.records import FieldState, SyncedRecord, record_key
from shared.crm.store import SyncStore
from shared.webhooks.ports import Clock

MAX_THROTTLES = 100  # times a notice waits out a rate limit before it counts as failing
# times a notice waits out another writer's create claim (a new message each time, spending none of the queue's
# receive count) before it is dead-lettered with the reason: a claim lasts a minute, so this is half an hour of
# claims that never clear (a create that never settles: a writer that keeps failing after the CRM applied it)
MAX_CLAIM_WAITS = 30
# How long a CRM call may take: a webhook of a write still in flight comes stamped no later than its start plus this
WRITE_IN_FLIGHT = timedelta(seconds=60)
# How long a create claim holds (`CreateClaim`): longer than a writer invocation runs (its function's timeout), so a
# claim still unexpired is a create in flight, or one whose answer is being settled
CREATE_CLAIM = timedelta(seconds=CREATE_IN_FLIGHT_SECONDS)
# An account's contacts looked at for a link waiting for it, at most (an account of more leaves the rest's
# association to their next write)
MAX_WAITING_LINKS = 1000


@dataclass
class WriteReport:
    """What a writer's batch did: notices done (written, or nothing to write), to retry, or refused for good."""

    written: dict[CrmName, int] = field(default_factory=dict)  # records written per CRM
    calls: dict[CrmName, int] = field(default_factory=dict)  # CRM API calls per CRM
    retry: list[ChangeNotice] = field(default_factory=list)
    refused: list[tuple[ChangeNotice, str]] = field(default_factory=list)
    # notices a CRM asked to wait for (429, REQUEST_LIMIT_EXCEEDED), and how long: they are queued again to come
    # back after that wait, rather than retried, so a storm of rate limits spends none of their receive count
    throttled: list[ChangeNotice] = field(default_factory=list)
    retry_after: float | None = None
    # notices held back to fill a batch under load (`shared.crm.pacing`), and for how long per CRM: queued again
    held: list[ChangeNotice] = field(default_factory=list)
    hold_seconds: dict[CrmName, float] = field(default_factory=dict)
    # records a CRM holds for a person erased while they were being written (the erasure found no CRM id yet):
    # deleted in their CRM like any erasure notice
    erased_meanwhile: list[ErasureNotice] = field(default_factory=list)
    # notices of records whose link waited for one this batch put in a CRM (a contact's association with the company
    # its account just became): queued, so the link goes out without waiting for the record's next change
    linked: list[ChangeNotice] = field(default_factory=list)
    # records whose write was applied but whose answer could not be stored (the store failing): retried, and why
    unsettled: list[str] = field(default_factory=list)
    # notices of records another writer's create claim holds (`CreateClaim`), each counted once more, with the
    # seconds the claim has left: queued again to come back then, as new messages (the originals are done), so
    # waiting for another writer spends none of the queue's receive count
    claimed: list[tuple[ChangeNotice, float]] = field(default_factory=list)


class WriteInterrupted(Exception):
    """A write failed part way (`__cause__` says why) after finding records of erased people in a CRM: the caller
    queues their deletion (`erased_meanwhile`) before failing the batch, as no one else knows those CRM ids."""

    def __init__(self, erased_meanwhile: Sequence[ErasureNotice]) -> None:
        super().__init__(f"a write failed after finding {len(erased_meanwhile)} record(s) of erased people")
        self.erased_meanwhile = list(erased_meanwhile)


class _ClaimedByAnother(Exception):
    """Another writer's create of the record is in flight (its claim unexpired, until `until`): this one creates
    nothing."""

    def __init__(self, record_key: str, until: datetime) -> None:
        super().__init__(record_key)
        self.until = until


class CrmWriter:
    def __init__(
        self,
        mappings: CrmMappings,
        store: SyncStore,
        clock: Clock,
        pacer: CallPacer | None = None,
        directory: HubDirectory | None = None,
    ) -> None:
        self._mappings = mappings
        self._store = store
        self._clock = clock
        self._pacer = pacer
        self._directory = directory  # an account's contacts, whose link may wait for it (None: not looked for)
        self._links = stored_links(store)  # a contact's account's id in each CRM, as its synced record holds it
        self._writer = uuid4().hex  # whose create claims (`CreateClaim`): a new id per `write`

    def write(self, notices: Sequence[ChangeNotice], clients: Mapping[CrmName, CrmClient]) -> WriteReport:
        """Bring each noticed CRM up to its records: one batch call per CRM and object (of at most the client's
        batch size) for every record of the notices that needs a write. A CRM that is rate limited or down
        fails its notices (retried); a record the CRM refuses for good is reported as refused. An exception
        after records of erased people were found is raised as WriteInterrupted, carrying them."""
        self._writer = uuid4().hex
        report = WriteReport()
        by_crm: dict[CrmName, dict[str, list[ChangeNotice]]] = {}
        for notice in notices:
            by_crm.setdefault(notice.crm, {}).setdefault(notice.record_key, []).append(notice)
        for crm, keyed in by_crm.items():
            client = clients.get(crm)
            if client is None:
                report.refused.extend((n, f"no {crm} client is configured") for ns in keyed.values() for n in ns)
                continue
            hold = self._hold(crm, keyed, client)
            if hold is not None:
                # one notice per record is enough: the writer reads the record when it writes
                report.held.extend(replace(ns[-1], held=ns[-1].held + 1) for ns in keyed.values())
                report.hold_seconds[crm] = hold.total_seconds()
                continue
            try:
                self._write_to(crm, client, keyed, report)
            except Exception as exc:
                if report.erased_meanwhile:
                    raise WriteInterrupted(report.erased_meanwhile) from exc
                raise
        return report

    def _hold(self, crm: CrmName, keyed: dict[str, list[ChangeNotice]], client: CrmClient) -> timedelta | None:
        if self._pacer is None:
            return None
        notices = [n for ns in keyed.values() for n in ns]
        return self._pacer.hold(crm, notices, len(keyed), client.max_batch, self._clock.now())

    def _write_to(
        self, crm: CrmName, client: CrmClient, keyed: dict[str, list[ChangeNotice]], report: WriteReport
    ) -> None:
        records = self._store.records(list(keyed))
        children = {key for key, record in records.items() if record.parent is not None}
        # records others link to (accounts) that this batch may put in the CRM, or found there with nothing to write
        # (a redelivery: a batch that failed after writing one finds its waiting links again)
        linked_to = {key for key, record in records.items() if self._linked_to(record)}
        plans = self._plans(crm, [key for key in keyed if key not in children], records, keyed, report)
        written = {plan.record.key for plan in plans}
        limited = self._send(crm, client, plans, keyed, report, limited=False)
        if children:
            # after the batch's other records: a parent written just now (an account) has its id in the CRM for them
            plans = self._child_plans(crm, [key for key in keyed if key in children], keyed, report)
            self._send(crm, client, plans, keyed, report, limited)
        for key in sorted(linked_to):
            before = records[key].copy_in(crm).crm_id
            if key not in written and before is None:
                continue  # not written: nothing is in the CRM yet
            if key in written and before is not None:
                continue  # in the CRM before: what linked to it went out with its own writes
            report.linked.extend(self.links_waiting(key, crm))

    def _linked_to(self, record: SyncedRecord) -> bool:
        return self._directory is not None and any(m.links_to == record.kind for m in self._mappings.mappings)

    def links_waiting(self, key: str, crm: CrmName) -> list[ChangeNotice]:
        """Notices for the records whose link to `key` (a contact's to its account) waits to go to `crm` and can
        now, the record being there: found among the account's contacts (the lead directory's), each noticed at
        its stored version. Nothing when the record is not in `crm` (yet), or no directory knows its contacts."""
        linked = self._store.record(key)
        if self._directory is None or linked is None or linked.copy_in(crm).crm_id is None:
            return []
        if linked.kind != "account" or linked.merged_into is not None:
            return []
        leads = self._directory.account_contacts(linked.hub_id)[:MAX_WAITING_LINKS]
        records = self._store.records([record_key("contact", lead) for lead in leads])
        return [
            ChangeNotice(crm, record.key, record.version)
            for record in records.values()
            if link_waits_for(record, linked, crm, self._mappings, self._links)
        ]

    def _plans(
        self,
        crm: CrmName,
        keys: Sequence[str],
        records: Mapping[str, SyncedRecord],
        keyed: dict[str, list[ChangeNotice]],
        report: WriteReport,
    ) -> list[PlannedWrite]:
        plans: list[PlannedWrite] = []
        for key in keys:
            record = records.get(key)
            plan = planned_write(record, crm, self._mappings, self._links) if record is not None else None
            if plan is None:
                continue
            try:
                # remembered before the call, so a webhook faster than the call's answer is known as an echo; a
                # create's claim with them, so no other writer creates the record meanwhile
                plans.append(self._remember_echoes(plan))
            except StaleRecord:
                report.retry.extend(keyed[key])
            except _ClaimedByAnother as claimed:
                self._wait_for_claim(keyed[key], claimed.until, report)
        return plans

    def _wait_for_claim(self, notices: Sequence[ChangeNotice], until: datetime, report: WriteReport) -> None:
        """The notices of a record another writer is creating come back once its claim has expired (the create
        settled by then, or released); one that waited out claims MAX_CLAIM_WAITS times is refused with why."""
        seconds = max(1.0, (until - self._clock.now()).total_seconds())
        for n in notices:
            if n.claimed < MAX_CLAIM_WAITS:
                report.claimed.append((replace(n, claimed=n.claimed + 1), seconds))
            else:
                reason = (
                    f"{n.crm} {n.record_key}: blocked by another writer's create claim {n.claimed + 1} times "
                    f"(the last until {until.isoformat()}): its create never settled"
                )
                report.refused.append((n, reason))

    def _child_plans(
        self, crm: CrmName, keys: Sequence[str], keyed: dict[str, list[ChangeNotice]], report: WriteReport
    ) -> list[PlannedWrite]:
        """The writes of records that belong to another (expansions), each linked to its parent's CRM record: one
        whose parent is not there yet (no record of it in the hub yet, or not written to that CRM yet) waits
        (retried, then dead-lettered when the queue's receive count runs out: a redrive writes it), one whose
        parent the hub can never create there is refused, saying why. One about to be created without an owner
        takes its parent's owner as it is now."""
        records = self._store.records(list(keys))
        parents = self._store.records([p for r in records.values() if (p := r.parent) is not None])
        ready: dict[str, SyncedRecord] = {}
        for key in keys:
            record = records.get(key)
            if record is None or record.parent is None:
                continue
            parent = parents.get(record.parent)
            link = parent_link(record, parent, crm, self._mappings)
            if link.crm_id is not None and parent is not None:
                try:
                    ready[key] = self._with_parent_owner(record, parent, crm)
                except StaleRecord:
                    report.retry.extend(keyed[key])  # gone, or others kept storing it: read again on the retry
            elif planned_write(record, crm, self._mappings, self._links) is None:
                continue  # nothing to write anyway
            elif link.waiting:
                report.retry.extend(keyed[key])
            else:
                report.refused.extend((n, f"{crm} refused {key}: {link.reason}") for n in keyed[key])
        plans = []
        for plan in self._plans(crm, list(ready), ready, keyed, report):
            parent = parents[ready[plan.record.key].parent or ""]
            plans.append(linked_to_parent(plan, parent, parent.copy_in(crm).crm_id or ""))
        return plans

    def _with_parent_owner(self, record: SyncedRecord, parent: SyncedRecord, crm: CrmName) -> SyncedRecord:
        """A record about to be created in `crm` that has no owner yet takes its parent's, as the parent's record
        holds it now (an expansion's owner is its account's rep): a signal decided before its account's record
        was there, or before its owner was known, does not create an unowned task when the account has one."""
        mapping = self._mappings.field(record.kind, "owner")
        owner = parent.value("owner")
        if mapping is None or owner is None or record.value("owner") is not None or record.copy_in(crm).crm_id:
            return record
        at = max((state.modified_at for state in record.fields.values()), default=self._clock.now())

        def change(stored: SyncedRecord) -> SyncedRecord:
            if stored.value("owner") is not None:
                return stored
            return stored.with_field("owner", FieldState(owner, at, "hub", "revops.success"))

        return commit_change(self._store, record.key, change, links=[])

    def _send(
        self,
        crm: CrmName,
        client: CrmClient,
        plans: list[PlannedWrite],
        keyed: dict[str, list[ChangeNotice]],
        report: WriteReport,
        limited: bool,
    ) -> bool:
        """The plans in one batch call per kind (of at most the client's batch size); True once the CRM said to
        wait (its calls after that wait too, without being made)."""
        by_kind: dict[ObjectKind, list[PlannedWrite]] = {}
        for plan in plans:
            by_kind.setdefault(plan.record.kind, []).append(plan)
        for kind_plans in by_kind.values():
            for start in range(0, len(kind_plans), client.max_batch):
                chunk = kind_plans[start : start + client.max_batch]
                if limited:  # the CRM said to wait: its other calls of this batch wait too, without being made
                    _wait_out(chunk, keyed, report)
                    self._release(crm, chunk)
                    continue
                try:
                    results = client.write([plan.write for plan in chunk])
                except RateLimited as exc:
                    limited = True
                    report.retry_after = max(report.retry_after or 0.0, exc.retry_after)
                    _wait_out(chunk, keyed, report)
                    self._release(crm, chunk)
                    continue
                except CrmUnavailable:
                    # nothing known to be applied: a create may have been (its answer lost), found by its claim
                    report.retry.extend(n for plan in chunk for n in keyed[plan.record.key])
                    self._release(crm, chunk)
                    continue
                except CrmRefused as exc:
                    report.refused.extend((n, str(exc)) for plan in chunk for n in keyed[plan.record.key])
                    self._release(crm, chunk)
                    continue
                finally:
                    report.calls[crm] = report.calls.get(crm, 0) + 1
                self._settle(crm, chunk, results, keyed, report)
        return limited

    def _remember_echoes(self, plan: PlannedWrite) -> PlannedWrite:
        """The plan's record with the values it writes remembered as the hub's echoes and, for a create, the
        writer's claim on it, committed on the record's version (StaleRecord: another writer stored it since).
        _ClaimedByAnother: another writer's create of it is in flight."""
        record = plan.record
        now = self._clock.now()
        until = now + WRITE_IN_FLIGHT
        copy = record.copy_in(plan.crm).wrote(plan.values, record.version, None, plan.placeholders, until)
        if plan.write.crm_id is None and plan.write.match_on is not None:
            claim = copy.creating
            if claim is not None and claim.held_by_other(self._writer, now):
                raise _ClaimedByAnother(record.key, claim.until)
            field_name, value = plan.write.match_on
            copy = copy.claiming(self._writer, field_name, value, now, now + CREATE_CLAIM)
        if copy == record.copy_in(plan.crm):
            return plan
        stored = self._store.commit(record.with_copy(plan.crm, copy))
        return PlannedWrite(stored, plan.crm, plan.values, plan.write, plan.placeholders)

    def _release(self, crm: CrmName, plans: Sequence[PlannedWrite]) -> None:
        """Release this writer's claims on the plans' creates (none was answered with the record's id): the next
        writer need not wait for them to expire, and looks the record up by what they sent. A release that fails
        leaves the claim to expire."""
        at = self._clock.now()
        for plan in plans:
            if plan.write.crm_id is not None or plan.write.match_on is None:
                continue
            with suppress(Exception):  # the store failing: the claim expires anyway
                for _ in range(3):
                    record = self._store.record(plan.record.key)
                    changed = _released_claim(crm, self._writer, at)(record) if record is not None else None
                    if changed is None:
                        break
                    try:
                        self._store.commit(changed)
                        break
                    except StaleRecord:
                        continue

    def _settle(
        self,
        crm: CrmName,
        chunk: Sequence[PlannedWrite],
        results: Sequence[WriteResult],
        keyed: dict[str, list[ChangeNotice]],
        report: WriteReport,
    ) -> None:
        by_id = {result.write_id: result for result in results}
        answered = self._clock.now()
        for plan in chunk:
            key = plan.record.key
            result = by_id.get(plan.write.write_id)
            if result is None or (not result.ok and result.retryable):
                report.retry.extend(keyed[key])
                self._release(crm, [plan])
                continue
            if not result.ok:
                report.refused.extend((n, f"{crm} refused {key}: {result.error}") for n in keyed[key])
                self._release(crm, [plan])
                continue
            crm_id = result.crm_id or plan.record.copy_in(crm).crm_id
            try:
                stored = commit_change(
                    self._store,
                    key,
                    _written(crm, plan, crm_id, answered),
                    links=[Link(crm, plan.record.kind, crm_id, key)] if crm_id else [],
                )
            except StaleRecord:
                if self._store.record(key) is None:
                    # gone while the CRM wrote it: only an erasure removes a record. It asked the CRM to delete
                    # the record the CRM had; one the CRM created just now it could not know of: the writer asks
                    if crm_id and not plan.record.copy_in(crm).crm_id:
                        report.erased_meanwhile.append(ErasureNotice(crm, plan.record.kind, crm_id))
                    continue
                report.retry.extend(keyed[key])
                continue
            except Exception as exc:
                # the store failing (throttled, a transaction cancelled): the CRM holds the write, the record does
                # not know it yet. Retried: a create's claim (released, or left to expire) has its retry find the
                # record; the batch's other records settle, and those of erased people are still reported
                report.unsettled.append(f"{crm} {key}: {type(exc).__name__}: {exc}"[:500])
                report.retry.extend(keyed[key])
                if plan.write.crm_id is None:
                    self._release(crm, [plan])  # the retry need not wait for the claim to expire
                continue
            report.written[crm] = report.written.get(crm, 0) + 1
            # written values that changed meanwhile go out with the next notice (the record still differs)
            if planned_write(stored, crm, self._mappings, self._links) is not None:
                report.retry.extend(keyed[key])


def _released_claim(crm: CrmName, writer: str, at: datetime) -> Callable[[SyncedRecord], SyncedRecord | None]:
    def change(record: SyncedRecord) -> SyncedRecord | None:
        copy = record.copy_in(crm)
        released = copy.released(writer, at)
        return None if released == copy else record.with_copy(crm, released)

    return change


def _written(
    crm: CrmName, plan: PlannedWrite, crm_id: str | None, answered: datetime
) -> Callable[[SyncedRecord], SyncedRecord]:
    """The change a successful write makes to the record (applied to whatever version is stored by then)."""

    def change(record: SyncedRecord) -> SyncedRecord:
        copy = record.copy_in(crm).wrote(plan.values, plan.record.version, crm_id, plan.placeholders, answered)
        return record.with_copy(crm, copy)

    return change


def _wait_out(chunk: Sequence[PlannedWrite], keyed: Mapping[str, list[ChangeNotice]], report: WriteReport) -> None:
    """The chunk's notices wait out a CRM's rate limit; a CRM that never stops refusing ends like one that is
    down: its notices are retried, then dead-lettered."""
    for n in (n for plan in chunk for n in keyed[plan.record.key]):
        (report.throttled if n.throttled < MAX_THROTTLES else report.retry).append(n)
