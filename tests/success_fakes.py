"""The success store contract in memory (`shared.success.ports.SuccessStore`), as the DynamoDB adapter keeps
it: a signal is kept once per id and time, an event's signal filed (with its claim) under one account only; a
reported message's marker and its signal are written together or not at all, a used message id answering with
the digest stored with it (and a signal kept before without a marker with the caller's own digest, nothing
written); a health snapshot moves one version at a time; the
accounts with a snapshot are listed shard by shard, each in tenant id order, with the adapter's cursor. An
intervention is opened with its playbook's open marker, or not at all: the open one of its playbook answering
(or, its id stored already and closed, the stored one); it is closed once, its marker removed with it; an
account's are listed newest opened first, every account's of a status in the adapter's `by-status` order
(`status_sort`: ascending for open ones, descending for closed ones), with the adapter's cursors. Feedback is
kept once per feature and key, a launch and a campaign once per id, a repeat answering with the one kept
(nothing written); feedback is listed by feature (its sort key's escaped prefix, as the adapter queries), then
in the order received. Safe to share between threads.

It holds the adapter's items and pages them as it does (`shared.adapters.dynamodb_success_items` and
`dynamodb_success_pages`: built and read by the same functions), so both refuse exactly the same writes (a naive
datetime, values JSON cannot hold: ValueError; an item or key over DynamoDB's limits: TooLargeToStore) and give
back exactly the same (values through JSON, datetimes in UTC).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from shared.adapters.dynamodb_items import stale_version
from shared.adapters.dynamodb_success_items import (
    campaign_from,
    campaign_item,
    check_status,
    claim_item,
    claim_key,
    due_until,
    feedback_from,
    feedback_item,
    feedback_listed,
    feedback_prefix,
    health_from,
    health_item,
    intervention_from,
    intervention_item,
    launch_from,
    launch_item,
    marker_item,
    open_marker_item,
    parked_entry_from,
    parked_entry_item,
    shard_of,
    signal_from,
    signal_item,
    signal_sk,
    signals_range,
    unmarked,
)
from shared.adapters.dynamodb_success_pages import (
    account_page,
    check_limit,
    decode_account_cursor,
    decode_cursor,
    decode_parked_cursor,
    decode_status_cursor,
    listed_status,
    parked_page,
    status_page,
    status_position,
    tenant_page,
)
from shared.events.canonical import Subject
from shared.handoffs.model import Handoff, HandoffKind, HandoffStatus, Priority
from shared.success.campaigns import CsCampaign
from shared.success.feedback import Feedback
from shared.success.interventions import Intervention, InterventionStatus
from shared.success.ports import InterventionPage, ParkedLog, ParkedPage, StaleHealth, StoredHealth, TenantPage
from shared.success.product import Launch
from shared.success.signals import Signal


class InMemoryHealthStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.logs: dict[str, dict[str, dict[str, Any]]] = {}  # tenant -> signal sort key -> signal item
        self.markers: dict[tuple[str, str], dict[str, Any]] = {}  # (tenant, message id) -> marker item
        self.claims: dict[tuple[str, str], dict[str, Any]] = {}  # claim key -> a filed signal's claim item
        self.parked_entries: dict[str, dict[str, Any]] = {}  # parked log -> its index entry item
        self.snapshots: dict[str, dict[str, Any]] = {}  # tenant -> health item
        self.intervention_items: dict[tuple[str, str], dict[str, Any]] = {}  # (tenant, id) -> intervention item
        self.open_markers: dict[tuple[str, str], dict[str, Any]] = {}  # (tenant, playbook) -> open marker item
        self.feedback_items: dict[str, dict[str, Any]] = {}  # sort key (`<feature>#<key>`) -> feedback item
        self.launch_items: dict[str, dict[str, Any]] = {}  # launch id -> launch item
        self.campaign_items: dict[str, dict[str, Any]] = {}  # campaign id -> campaign item

    # --------------------------------------------------------------------------------------------- signals

    def append_signal(self, tenant_id: str, signal: Signal) -> bool:
        item = signal_item(tenant_id, signal)
        with self._lock:
            log = self.logs.setdefault(tenant_id, {})
            if item["sk"] in log:
                return False
            log[item["sk"]] = item
            return True

    def file_signal(self, tenant_id: str, signal: Signal) -> str | None:
        item, claim = signal_item(tenant_id, signal), claim_item(tenant_id, signal)
        with self._lock:
            held = self.claims.get(claim_key(signal))
            if held is not None:
                return str(held["log"])
            log = self.logs.setdefault(tenant_id, {})
            if item["sk"] in log:
                return tenant_id  # kept before, without a claim: nothing written
            self.claims[claim_key(signal)] = claim
            log[item["sk"]] = item
            return None

    def filed_under(self, signal: Signal) -> str | None:
        with self._lock:
            held = self.claims.get(claim_key(signal))
        return None if held is None else str(held["log"])

    def park_signal(self, log: str, signal: Signal, names: Sequence[str]) -> bool:
        item, entry = signal_item(log, signal), parked_entry_item(log, signal, names)
        with self._lock:
            kept = self.logs.setdefault(log, {})
            if item["sk"] in kept:
                return False
            kept[item["sk"]] = item
            self.parked_entries[log] = entry
            return True

    def parked(self, cursor: str | None = None, limit: int = 100) -> ParkedPage:
        check_limit(limit)
        after = None if cursor is None else decode_parked_cursor(cursor)
        with self._lock:
            listed = sorted(self.parked_entries)
            found = [parked_entry_from(self.parked_entries[log]) for log in listed if after is None or log > after]
        return parked_page(found[: limit + 1], limit)

    def unindex_parked(self, parked: ParkedLog) -> bool:
        with self._lock:
            held = self.parked_entries.get(parked.log)
            if held is None or held["mark"] != parked.mark:
                return False
            del self.parked_entries[parked.log]
            return True

    def drop_signals(self, tenant_id: str, signals: Sequence[Signal]) -> None:
        with self._lock:
            log = self.logs.get(tenant_id, {})
            for signal in signals:
                log.pop(signal_sk(signal), None)

    def append_reported(self, tenant_id: str, signal: Signal, message_id: str, digest: str) -> str | None:
        item = signal_item(tenant_id, signal)
        marker = marker_item(tenant_id, message_id, digest, item["sk"])
        with self._lock:
            stored = self.markers.get((tenant_id, message_id))
            if stored is not None:
                return str(stored["digest"])
            log = self.logs.setdefault(tenant_id, {})
            if item["sk"] in log:
                return digest  # kept before, without this marker: nothing written
            self.markers[(tenant_id, message_id)] = marker
            log[item["sk"]] = item
            return None

    def signals(self, tenant_id: str, since: datetime) -> list[Signal]:
        lower, upper = signals_range(since)
        with self._lock:
            log = dict(self.logs.get(tenant_id, {}))
        found = (signal_from(log[sk]) for sk in sorted(log) if lower <= sk <= upper)
        return [signal for signal in found if signal.at > since]

    # ---------------------------------------------------------------------------------------------- health

    def health(self, tenant_id: str) -> StoredHealth | None:
        with self._lock:
            item = self.snapshots.get(tenant_id)
        return None if item is None else health_from(item)

    def save_health(self, health: StoredHealth) -> StoredHealth:
        expected = health.version
        item = health_item(replace(health, version=expected + 1))
        with self._lock:
            held = self.snapshots.get(health.tenant_id)
            found = None if held is None else int(held["version"])
            if (found or 0) != expected:
                raise StaleHealth(stale_version(f"health of {health.tenant_id}", expected, found))
            self.snapshots[health.tenant_id] = item
        return health_from(item)

    def tenants(self, cursor: str | None = None, limit: int = 100) -> TenantPage:
        check_limit(limit)
        start = None if cursor is None else decode_cursor(cursor)
        with self._lock:
            listed = sorted((shard_of(tenant), tenant) for tenant in self.snapshots)
        following = [tenant for shard, tenant in listed if start is None or (shard, tenant) > start]
        return tenant_page(following[: limit + 1], limit)

    # ----------------------------------------------------------------------------------------- interventions

    def open_intervention(self, intervention: Intervention) -> Intervention:
        check_status(intervention, InterventionStatus.OPEN, "opened")
        item = intervention_item(intervention)
        marker = open_marker_item(intervention)
        tenant = intervention.tenant_id
        with self._lock:
            held = self.open_markers.get((tenant, intervention.playbook))
            if held is not None:  # the open one of its playbook: nothing written
                return intervention_from(self.intervention_items[(tenant, str(held["intervention_id"]))])
            stored = self.intervention_items.get((tenant, intervention.intervention_id))
            if stored is not None:  # that id is stored, closed: nothing written
                return intervention_from(stored)
            self.open_markers[(tenant, intervention.playbook)] = marker
            self.intervention_items[(tenant, intervention.intervention_id)] = item
        return intervention_from(item)

    def intervention(self, tenant_id: str, intervention_id: str) -> Intervention | None:
        with self._lock:
            item = self.intervention_items.get((tenant_id, intervention_id))
        return None if item is None else intervention_from(item)

    def interventions(
        self,
        tenant_id: str | None = None,
        status: InterventionStatus | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> InterventionPage:
        check_limit(limit)
        if tenant_id is not None:
            before = None if cursor is None else decode_account_cursor(cursor, tenant_id)
            with self._lock:
                items = [item for (tenant, _), item in self.intervention_items.items() if tenant == tenant_id]
            return account_page(tenant_id, (intervention_from(item) for item in items), status, before, limit)
        listed = listed_status(status)
        start = None if cursor is None else status_position(decode_status_cursor(cursor, listed))
        ascending = listed is InterventionStatus.OPEN
        with self._lock:
            items = [item for item in self.intervention_items.values() if item["intervention_status"] == listed]
        ordered = sorted(items, key=status_position, reverse=not ascending)
        if start is not None:
            ordered = [
                item
                for item in ordered
                if (status_position(item) > start if ascending else status_position(item) < start)
            ]
        return status_page(ordered[: limit + 1], limit)

    def due_interventions(self, now: datetime, limit: int = 100) -> list[Intervention]:
        check_limit(limit)
        due = due_until(now)
        with self._lock:
            items = [
                item
                for item in self.intervention_items.values()
                if item["intervention_status"] == InterventionStatus.OPEN and item["status_sort"] <= due
            ]
        return [intervention_from(item) for item in sorted(items, key=status_position)[:limit]]

    def close_intervention(self, intervention: Intervention) -> bool:
        check_status(intervention, InterventionStatus.CLOSED, "closed")
        item = intervention_item(intervention)
        tenant, marker = intervention.tenant_id, (intervention.tenant_id, intervention.playbook)
        with self._lock:
            stored = self.intervention_items.get((tenant, intervention.intervention_id))
            if stored is None or stored["intervention_status"] != InterventionStatus.OPEN:
                return False  # closed already (or never opened): nothing written
            held = self.open_markers.get(marker)
            if held is None or held["intervention_id"] != intervention.intervention_id:
                raise RuntimeError(unmarked(intervention))
            self.intervention_items[(tenant, intervention.intervention_id)] = item
            del self.open_markers[marker]
        return True

    # ----------------------------------------------------------------------------------------------- product

    def add_feedback(self, feedback: Feedback) -> Feedback | None:
        item = feedback_item(feedback)
        with self._lock:
            stored = self.feedback_items.setdefault(item["sk"], item)
        return None if stored is item else feedback_from(stored)

    def feedback(self, feature: str | None = None) -> list[Feedback]:
        prefix = "" if feature is None else feedback_prefix(feature)
        with self._lock:
            items = [item for sk, item in self.feedback_items.items() if sk.startswith(prefix)]
        return feedback_listed(items)

    def add_launch(self, launch: Launch) -> Launch | None:
        item = launch_item(launch)
        with self._lock:
            stored = self.launch_items.setdefault(launch.launch_id, item)
        return None if stored is item else launch_from(stored)

    def launch(self, launch_id: str) -> Launch | None:
        with self._lock:
            item = self.launch_items.get(launch_id)
        return None if item is None else launch_from(item)

    def add_campaign(self, campaign: CsCampaign) -> CsCampaign | None:
        item = campaign_item(campaign)
        with self._lock:
            stored = self.campaign_items.setdefault(campaign.campaign_id, item)
        return None if stored is item else campaign_from(stored)

    def campaign(self, campaign_id: str) -> CsCampaign | None:
        with self._lock:
            item = self.campaign_items.get(campaign_id)
        return None if item is None else campaign_from(item)


class InMemoryAccountCsms:
    """`shared.success.ports.AccountCsms` in memory: each account's CSM (rep id), as set by the test."""

    def __init__(self, csms: dict[str, str] | None = None) -> None:
        self.csms = dict(csms or {})

    def csm_of(self, tenant_id: str) -> str | None:
        return self.csms.get(tenant_id)


def customer_handoff(tenant_id: str, rep_id: str | None, status: HandoffStatus, number: int = 1) -> Handoff:
    """An account's customer handoff (sales -> CS) as the handoff domain stores it, to commit to a repository."""
    return Handoff(
        handoff_id=f"h-{tenant_id}-{number}",
        lead_id=f"customer:{tenant_id}",
        kind=HandoffKind.CUSTOMER,
        priority=Priority.STANDARD,
        status=status,
        team="csm",
        requested_at=datetime(2026, 9, 1, tzinfo=UTC),
        rep_id=rep_id,
        customer_id=tenant_id,
        version=1,
    )


class EveryAccount:
    """An account directory knowing every account under its own id (as the store lists them), each with
    `contacts` contacts, named by `contact_id(n)` (n counting every contact given out)."""

    def __init__(self, contacts: int = 0, contact_id: Callable[[int], str] = lambda n: f"lead-{n}") -> None:
        self.contacts = contacts
        self._contact_id = contact_id
        self._n = itertools.count()

    def account_of(self, subject: Subject) -> str | None:
        return None

    def name_of(self, tenant_id: str) -> str:
        return tenant_id

    def contacts_of(self, tenant_id: str) -> list[str]:
        return [self._contact_id(next(self._n)) for _ in range(self.contacts)]

    def resolve(self, reference: str) -> str | None:
        return reference
