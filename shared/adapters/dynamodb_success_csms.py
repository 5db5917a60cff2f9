"""Who an account's CSM is, read from the handoff store (table `handoffs`, read only): the rep holding the
account's customer handoff, the sales -> CS handoff of `shared.handoffs.customer_handoffs`, whose subject is
`customer:<account id>`.

Two gets, then the handoff: `LEAD#customer:<account id>` / `ONBOARDED` (the handoff a CSM accepted: the CSM who
took the account, kept after the handoff completes), else `LEAD#customer:<account id>` / `OPEN_HANDOFF` (the open
one, while a CSM is assigned and has not accepted yet). The handoff domain's access patterns, as its repository
reads them (`shared.catalog.handoffs`); nothing here writes.
"""

from __future__ import annotations

from typing import Any, Protocol

from shared.adapters.dynamodb_handoffs import DynamoDbHandoffRepository
from shared.handoffs.model import Handoff, HandoffStatus

_HOLDING = frozenset({HandoffStatus.ASSIGNED, HandoffStatus.ACCEPTED, HandoffStatus.COMPLETED})


class HandoffReader(Protocol):
    """The reads of `shared.handoffs.ports.HandoffRepository` this needs."""

    def handoff(self, handoff_id: str) -> Handoff | None: ...

    def open_handoff_of(self, lead_id: str) -> str | None: ...

    def onboarded_by(self, subject: str) -> str | None: ...


class HandoffStoreCsms:
    """`shared.success.ports.AccountCsms` over any handoff repository (the DynamoDB one, or its fake)."""

    def __init__(self, handoffs: HandoffReader) -> None:
        self._handoffs = handoffs

    def csm_of(self, tenant_id: str) -> str | None:
        subject = f"customer:{tenant_id}"
        for handoff_id in (self._handoffs.onboarded_by(subject), self._handoffs.open_handoff_of(subject)):
            handoff = self._handoffs.handoff(handoff_id) if handoff_id else None
            if handoff is not None and handoff.rep_id and handoff.status in _HOLDING:
                return handoff.rep_id
        return None


class DynamoDbAccountCsms(HandoffStoreCsms):
    def __init__(self, client: Any, table_name: str) -> None:
        super().__init__(DynamoDbHandoffRepository(client, table_name))
