"""The customer success -> sales handoff: an account the health engine found ready to expand (its
`customer.expansion_signal`) goes to a person in sales, its owner first, as the routing file's expansion rules
say, with the evidence and the products its use suggests. A deal of that account won completes it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shared.errors import InvalidInput
from shared.events.success_events import SUCCESS_EVENT_SOURCE, SuccessEvent, SuccessEventType
from shared.handoffs.event_details import detail_of

SOURCE = SUCCESS_EVENT_SOURCE  # who requests it, in the handoff's history


def expansion_subject(account_id: str) -> str:
    """What holds the one-open-expansion-handoff lock of an account (beside its customer handoff's)."""
    return f"expansion:{account_id}"


@dataclass(frozen=True)
class ExpansionSignal:
    account_id: str  # the hub's account id
    event_id: str  # the signal's: one handoff per signal
    readiness: Decimal
    reasons: tuple[str, ...] = ()
    suggestions: tuple[str, ...] = ()
    health_score: Decimal | None = None
    band: str | None = None

    @property
    def subject(self) -> str:
        return expansion_subject(self.account_id)

    @property
    def why(self) -> str:
        return f"expansion readiness {self.readiness}" + (f" ({', '.join(self.reasons)})" if self.reasons else "")

    def details(self) -> dict[str, Any]:
        """What the handoff keeps and the AE is shown: the readiness, its evidence, the health, the products."""
        return {
            "expansion_readiness": str(self.readiness),
            "evidence": list(self.reasons),
            "suggested_products": list(self.suggestions),
            "health_score": None if self.health_score is None else str(self.health_score),
            "health_band": self.band,
        }


def signal_from(event: dict[str, Any]) -> ExpansionSignal:
    """The signal of an EventBridge event whose detail is a `customer.expansion_signal`; InvalidInput otherwise
    (dead-lettered at once: no retry can fix it)."""
    detail = detail_of(SuccessEvent, event, "a success event")
    if detail.event_type is not SuccessEventType.EXPANSION_SIGNAL:
        raise InvalidInput(f"{detail.event_type.value} is not an expansion signal")
    if not detail.tenant_id or detail.readiness is None:
        raise InvalidInput("an expansion signal names its account (tenant_id) and its readiness")
    return ExpansionSignal(
        account_id=detail.tenant_id,
        event_id=detail.event_id,
        readiness=_exact(detail.readiness),
        reasons=tuple(detail.reasons),
        suggestions=tuple(detail.suggestions or ()),
        health_score=None if detail.score is None else _exact(detail.score),
        band=detail.band,
    )


def _exact(value: float) -> Decimal:
    """The two-decimal figure the event carries, as written (its JSON number read as a float on the way)."""
    return Decimal(str(value)).quantize(Decimal("0.01"))
