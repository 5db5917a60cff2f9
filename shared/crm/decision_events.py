"""What the bus is told of a decision on a synced record: each field a CRM's change applied, and each conflict
flagged or resolved."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shared.crm.audit import Conflict, ConflictStatus
from shared.crm.ports import CrmName
from shared.crm.resolution import Decision, Outcome
from shared.events.sync_events import SyncEvent, SyncEventType


def decision_events(
    key: str,
    decisions: Sequence[Decision],
    conflicts: Sequence[Conflict],
    source_crm: CrmName | None,
    cause: str,
    now: datetime,
) -> list[SyncEvent]:
    events = []
    for decision in decisions:
        if decision.outcome is Outcome.APPLIED and source_crm is not None:
            events.append(
                SyncEvent(
                    event_id=SyncEvent.id_for(key, decision.hub_field, cause, SyncEventType.FIELD_CHANGED.value),
                    event_type=SyncEventType.FIELD_CHANGED,
                    occurred_at=now,
                    record=key,
                    field=decision.hub_field,
                    crm=source_crm,
                    value=decision.incoming,
                    previous_value=decision.previous,
                    changed_at=decision.at,
                    actor=decision.actor,
                )
            )
    for conflict in conflicts:
        kind = (
            SyncEventType.CONFLICT_RESOLVED
            if conflict.status is ConflictStatus.RESOLVED
            else SyncEventType.CONFLICT_FLAGGED
        )
        events.append(
            SyncEvent(
                event_id=SyncEvent.id_for(conflict.conflict_id, kind.value),
                event_type=kind,
                occurred_at=now,
                record=key,
                field=conflict.hub_field,
                crm=conflict.crm,
                value=conflict.resolved_value if conflict.status is ConflictStatus.RESOLVED else conflict.crm_value,
                previous_value=conflict.hub_value,
                changed_at=conflict.crm_modified_at,
                actor=conflict.resolved_by,
                conflict_id=conflict.conflict_id,
            )
        )
    return events
