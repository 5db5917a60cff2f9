"""What each CRM sync event type means, and an example of it: prose for the schema registry and
`docs/events.md`. What is published when is `shared/crm/decision_events.py`'s (and `reconciliation.py`'s, for
a run's summary) to say."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from shared.events.sync_events import SyncEvent, SyncEventType


@dataclass(frozen=True)
class SyncEventTypeInfo:
    meaning: str
    described: bool = True


NOT_DESCRIBED = SyncEventTypeInfo(
    meaning="Not described yet: add it to `SYNC_EVENT_TYPES` in `shared/events/sync_taxonomy.py`.", described=False
)

SYNC_EVENT_TYPES: Mapping[SyncEventType, SyncEventTypeInfo] = MappingProxyType(
    {
        SyncEventType.FIELD_CHANGED: SyncEventTypeInfo(
            "A CRM's change of a synced field won (its mapping's rule decided so) and is the hub's value now: "
            "`record`, `field`, `value` and `previous_value`, the `crm` it came from, when it was made there "
            "(`changed_at`) and by whom (`actor`). The other CRM is written next; "
            "`GET /api/v1/sync/audit?record=` has the decision."
        ),
        SyncEventType.CONFLICT_FLAGGED: SyncEventTypeInfo(
            "A CRM changed a critical field (email, owner, lifecycle stage) that the hub had changed too since the "
            "two last agreed: nothing is applied and the field goes to no CRM until a person decides "
            "(`POST /api/v1/sync/conflicts/{conflict_id}/resolve`). `value` is the CRM's, `previous_value` the "
            "hub's. Once per conflict."
        ),
        SyncEventType.CONFLICT_RESOLVED: SyncEventTypeInfo(
            "A person settled a conflict: `value` is the record's value now, as of `occurred_at`, and goes to "
            "every CRM; `actor` is who decided."
        ),
        SyncEventType.RECONCILED: SyncEventTypeInfo(
            "A reconciliation run compared what changed in each CRM since the last run with the hub's records: "
            "`counts` says how many were compared, in step, repaired by the rules, flagged as conflicts, and not "
            "linked to any hub record. Once per run."
        ),
    }
)

_AT = datetime(2026, 11, 30, 9, 30, 0, tzinfo=UTC)
_RECORD = "contact:lead-7c1e"
_CONFLICT = "3f9c0d2e8b7a6c5d4e3f2a1b"
_EXAMPLES: Mapping[SyncEventType, tuple[tuple[str, ...], dict[str, Any]]] = {
    SyncEventType.FIELD_CHANGED: (
        (_RECORD, "owner", "salesforce-00Q"),
        {
            "record": _RECORD,
            "field": "owner",
            "crm": "salesforce",
            "value": "ae-daniel-kim",
            "previous_value": "sdr-maya-chen",
            "changed_at": _AT - timedelta(seconds=4),
            "actor": "salesforce:005000000000099AAA",
        },
    ),
    SyncEventType.CONFLICT_FLAGGED: (
        (_CONFLICT,),
        {
            "record": _RECORD,
            "field": "email",
            "crm": "hubspot",
            "value": "ana@silva.dev",
            "previous_value": "ana.silva@example.com",
            "changed_at": _AT - timedelta(seconds=10),
            "conflict_id": _CONFLICT,
        },
    ),
    SyncEventType.CONFLICT_RESOLVED: (
        (_CONFLICT, "resolved"),
        {
            "record": _RECORD,
            "field": "email",
            "crm": "hubspot",
            "value": "ana@silva.dev",
            "previous_value": "ana.silva@example.com",
            "changed_at": _AT - timedelta(seconds=10),
            "actor": "sales-ops@example.com",
            "conflict_id": _CONFLICT,
        },
    ),
    SyncEventType.RECONCILED: (
        ("reconcile-2026-11-30T09:30",),
        {
            "run_id": "reconcile-2026-11-30T09:30",
            "counts": {"compared": 42, "in_step": 39, "repaired": 2, "flagged": 1, "unlinked": 0},
        },
    ),
}


def describe(event_type: SyncEventType) -> SyncEventTypeInfo:
    return SYNC_EVENT_TYPES.get(event_type, NOT_DESCRIBED)


def example_event(event_type: SyncEventType) -> SyncEvent:
    key, fields = _EXAMPLES[event_type]
    return SyncEvent.model_validate(
        {"event_id": SyncEvent.id_for(*key, event_type.value), "event_type": event_type, "occurred_at": _AT} | fields
    )
