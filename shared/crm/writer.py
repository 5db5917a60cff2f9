"""The writer: brings each noticed CRM up to its records, in one batch call per CRM and object. What a record
needs written is `shared.crm.outbound`'s to say, and when a batch waits to fill under load `shared.crm.pacing`'s;
this module makes the calls, waits out a CRM's rate limit, remembers what it writes (so the CRM's webhook of
it is known as the hub's own echo) and settles each record's copy with the CRM's answer."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from shared.crm.commits import commit_change
from shared.crm.erasure import ErasureNotice
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
# How long a CRM call may take: a webhook of a write still in flight comes stamped no later than its start plus this
WRITE_IN_FLIGHT = timedelta(seconds=60)
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

    def write(self, notices: Sequence[ChangeNotice], clients: Mapping[CrmName, CrmClient]) -> WriteReport:
        """Bring each noticed CRM up to its records: one batch call per CRM and object (of at most the client's
        batch size) for every record of the notices that needs a write. A CRM that is rate limited or down
        fails its notices (retried); a record the CRM refuses for good is reported as refused."""
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
            self._write_to(crm, client, keyed, report)
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
                # remembered before the call, so a webhook faster than the call's answer is known as an echo
                plans.append(self._remember_echoes(plan))
            except StaleRecord:
                report.retry.extend(keyed[key])
        return plans

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
                    continue
                try:
                    results = client.write([plan.write for plan in chunk])
                except RateLimited as exc:
                    limited = True
                    report.retry_after = max(report.retry_after or 0.0, exc.retry_after)
                    _wait_out(chunk, keyed, report)
                    continue
                except CrmUnavailable:
                    report.retry.extend(n for plan in chunk for n in keyed[plan.record.key])
                    continue
                except CrmRefused as exc:
                    report.refused.extend((n, str(exc)) for plan in chunk for n in keyed[plan.record.key])
                    continue
                finally:
                    report.calls[crm] = report.calls.get(crm, 0) + 1
                self._settle(crm, chunk, results, keyed, report)
        return limited

    def _remember_echoes(self, plan: PlannedWrite) -> PlannedWrite:
        record = plan.record
        until = self._clock.now() + WRITE_IN_FLIGHT
        copy = record.copy_in(plan.crm).wrote(plan.values, record.version, None, plan.placeholders, until)
        if copy == record.copy_in(plan.crm):
            return plan
        stored = self._store.commit(record.with_copy(plan.crm, copy))
        return PlannedWrite(stored, plan.crm, plan.values, plan.write, plan.placeholders)

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
                continue
            if not result.ok:
                report.refused.extend((n, f"{crm} refused {key}: {result.error}") for n in keyed[key])
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
            report.written[crm] = report.written.get(crm, 0) + 1
            # written values that changed meanwhile go out with the next notice (the record still differs)
            if planned_write(stored, crm, self._mappings, self._links) is not None:
                report.retry.extend(keyed[key])


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
