"""What a lead use case did: the contact it was about, whether it was created, the lead events it published,
and a note saying why when it did nothing."""

from __future__ import annotations

from dataclasses import dataclass

from shared.events.lead_events import LeadEvent


@dataclass(frozen=True)
class Outcome:
    contact_id: str | None
    created: bool = False
    published: tuple[LeadEvent, ...] = ()
    note: str = ""
