"""Reconciliation: what changed in each CRM since the last run, compared with the hub's records. Each CRM
record changed is decided on as if its webhook had come (by the sync's `crm_changed`), and tallied by what
that did to it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from shared.crm.decided import Decided
from shared.crm.inbound import CrmReport
from shared.crm.mappings import CrmMappings
from shared.crm.ports import CrmClient, CrmName, CrmSnapshot, ObjectKind
from shared.crm.resolution import Outcome
from shared.crm.store import SyncStore
from shared.events.sync_events import SyncEvent, SyncEventType
from shared.webhooks.ports import Clock

RECONCILE_FIRST_WINDOW = timedelta(days=1)  # a CRM never reconciled is compared from this far back
RECONCILE_PAGE = 200
# Pages read per CRM and object in one run, each from the last one's latest change on. Records changed in the very
# moment a full page ends at beyond that page are read on no later page (the CRMs' change queries take no cursor
# within one moment): a bulk edit of more than 200 records stamped alike is reconciled in part.
RECONCILE_PAGES = 50
RECONCILED_KINDS: tuple[ObjectKind, ...] = ("contact", "account", "deal")


@dataclass(frozen=True)
class ReconcileRun:
    run_id: str
    counts: dict[str, dict[str, int]]  # "<crm>.<kind>" -> counts


class Reconciler:
    def __init__(
        self,
        mappings: CrmMappings,
        store: SyncStore,
        clock: Clock,
        crm_changed: Callable[[CrmReport], Decided],
        publish: Callable[[Sequence[SyncEvent]], None],
    ) -> None:
        """`crm_changed` decides a CRM's report on the record it is about; `publish` tells the bus."""
        self._mappings = mappings
        self._store = store
        self._clock = clock
        self._crm_changed = crm_changed
        self._publish = publish

    def reconcile(self, clients: Mapping[CrmName, CrmClient], run_id: str) -> ReconcileRun:
        """Compare what changed in each CRM since the last run with the hub's records: a CRM value the hub did
        not hear of is decided as if its webhook had come (rules repair, critical conflicts are flagged, a CRM
        holding a value that lost is written again). Counts per CRM and object. A hub change whose notices were
        dead-lettered (a CRM down for more than two hours) goes out when the dead-letter queue is redriven, not
        here: this reads what changed in the CRMs."""
        counts: dict[str, dict[str, int]] = {}
        for crm, client in clients.items():
            for kind in RECONCILED_KINDS:
                fields = [m.crm_field(crm) for m in self._mappings.fields(kind) if m.crm_field(crm)]
                since = self._store.checkpoint(crm, kind) or self._clock.now() - RECONCILE_FIRST_WINDOW
                tally = {"compared": 0, "in_step": 0, "repaired": 0, "flagged": 0, "unlinked": 0}
                until = since
                for _ in range(RECONCILE_PAGES):
                    page = client.changed_since(kind, until, [f for f in fields if f], RECONCILE_PAGE)
                    for snapshot in page:
                        until = max(until, snapshot.modified_at)
                        self._reconcile_one(crm, kind, snapshot, run_id, tally)
                    if len(page) < RECONCILE_PAGE:
                        break
                if until > since:
                    self._store.save_checkpoint(crm, kind, until)
                counts[f"{crm}.{kind}"] = tally
        now = self._clock.now()
        totals: dict[str, int] = {}
        for tally in counts.values():
            for name, count in tally.items():
                totals[name] = totals.get(name, 0) + count
        self._publish(
            [
                SyncEvent(
                    event_id=SyncEvent.id_for(run_id, SyncEventType.RECONCILED.value),
                    event_type=SyncEventType.RECONCILED,
                    occurred_at=now,
                    run_id=run_id,
                    counts=totals,
                )
            ]
        )
        return ReconcileRun(run_id, counts)

    def _reconcile_one(
        self, crm: CrmName, kind: ObjectKind, snapshot: CrmSnapshot, run_id: str, tally: dict[str, int]
    ) -> None:
        tally["compared"] += 1
        email = snapshot.fields.get("email") or snapshot.fields.get("Email")
        cause = f"reconcile:{run_id}"
        report = CrmReport(
            crm, kind, snapshot.crm_id, dict(snapshot.fields), snapshot.modified_at, None, email, cause, True
        )
        decided = self._crm_changed(report)
        if decided.record_key is None:
            tally["unlinked"] += 1
        elif any(d.outcome is Outcome.CONFLICT for d in decided.decisions):
            tally["flagged"] += 1
        elif any(d.outcome in (Outcome.APPLIED, Outcome.KEPT) for d in decided.decisions):
            tally["repaired"] += 1
        else:
            tally["in_step"] += 1
