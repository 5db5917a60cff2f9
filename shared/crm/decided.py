"""What a change did to a synced record, as the sync's use cases answer it."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.crm.ports import ChangeNotice
from shared.crm.resolution import Decision
from shared.events.sync_events import SyncEvent


@dataclass(frozen=True)
class Decided:
    """What a change did to a record: its decisions (the audited ones are in the trail) and the notices sent."""

    record_key: str | None
    decisions: list[Decision] = field(default_factory=list)
    notices: list[ChangeNotice] = field(default_factory=list)
    events: list[SyncEvent] = field(default_factory=list)
    note: str = ""
