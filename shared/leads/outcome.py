"""What a lead use case did: the contact it was about, whether it was created, the lead events it published (made
and committed with its change, into the outbox the lead publisher puts on the bus), and a note saying why when it
did nothing."""

from __future__ import annotations

from dataclasses import dataclass

from shared.events.lead_events import LeadEvent


@dataclass(frozen=True)
class Outcome:
    contact_id: str | None
    created: bool = False
    published: tuple[LeadEvent, ...] = ()
    note: str = ""
