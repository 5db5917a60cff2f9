"""A won deal (canonical `deal.won`) hands its customer to success automatically, when the hub can tell which
of its accounts the deal is about (a vendor account id it knows, the contact's email, or the hub's account id
in `data.account_id`, as a Standard Webhooks sender can give), and completes the account's open expansion
handoff. A deal it cannot place is logged and left for `POST /api/v1/cs-sales/handoff/{customer_id}`."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from shared.events.canonical import CanonicalEvent
from shared.handoffs.customer_handoffs import ConflictingHandoff, request_from_deal
from shared.handoffs.event_details import detail_of
from shared.handoffs.service import HandoffService, Outcome


class CustomerDirectory(Protocol):
    def customer_of(self, event: CanonicalEvent) -> str | None: ...


def apply_won_deal(service: HandoffService, directory: CustomerDirectory, event: dict[str, Any]) -> Outcome:
    won = detail_of(CanonicalEvent, event, "a canonical event")
    customer_id = directory.customer_of(won)
    if customer_id is None:
        return Outcome(None, note=f"deal.won {won.event_id}: no account of the hub is known for it")
    request = request_from_deal(won, customer_id)
    if request is None:
        return Outcome(None, note=f"deal.won {won.event_id} names no deal")
    expansion = service.account_deal_won(customer_id, request.deal_id, won.event_id)
    try:
        handed = service.customer_handoff(request, f"{won.source_vendor} deal.won", won.event_id)
    except ConflictingHandoff as exc:
        handed = Outcome(None, note=str(exc))
    return replace(handed, events=(*expansion.events, *handed.events))
