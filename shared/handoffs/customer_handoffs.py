"""The sales -> customer success handoff (seed 000): what sales hand over about a won customer, the success plan
it starts and the baseline captured, as stored on the handoff; and the same request read from a `deal.won`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.events.canonical import CanonicalEvent
from shared.handoffs.model import HandoffKind, LeadFacts, Priority
from shared.handoffs.success_plans import SuccessPlanTemplate, plan_for


class ConflictingHandoff(ValueError):
    """A second, different handoff of the same customer: the message says why (answered 409)."""


@dataclass(frozen=True)
class Person:
    name: str
    email: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class CustomerHandoffRequest:
    customer_id: str  # the hub's account id
    deal_id: str
    stakeholders: tuple[Person, ...] = ()
    executive_sponsor: Person | None = None
    goals: tuple[str, ...] = ()
    success_criteria: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    contract_value: Decimal | None = None  # major units of `currency`
    currency: str | None = None
    seats: int | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    risks: tuple[str, ...] = ()
    notes: str | None = None
    country: str | None = None
    language: str | None = None
    source: str = "api"  # `api`, or the vendor whose deal.won started it
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        """What holds the one-open-handoff lock for a customer (the lead id of lead handoffs)."""
        return f"customer:{self.customer_id}"

    def record(self) -> dict[str, Any]:
        """The request as stored (JSON values only): what a repeat is compared with."""
        document = asdict(self)
        document["contract_value"] = None if self.contract_value is None else str(self.contract_value)
        document["starts_on"] = None if self.starts_on is None else self.starts_on.isoformat()
        document["ends_on"] = None if self.ends_on is None else self.ends_on.isoformat()
        document.pop("extra")
        return _lists(document)


def details_of(request: CustomerHandoffRequest, template: SuccessPlanTemplate, now: datetime) -> dict[str, Any]:
    starts_on = request.starts_on or now.date()
    baseline: dict[str, Any] = {"captured_at": now.isoformat()}
    values: dict[str, Any] = {
        "contract_value": None if request.contract_value is None else str(request.contract_value),
        "seats": request.seats,
        "products": list(request.products),
        "stakeholders": len(request.stakeholders) + (1 if request.executive_sponsor else 0),
    }
    baseline |= {name: values.get(name) for name in template.baseline_metrics}
    return {"request": request.record(), "success_plan": plan_for(template, starts_on), "baseline": baseline}


def routing_facts(subject: str, customer_id: str, record: dict[str, Any]) -> LeadFacts:
    """What the customer rules read, from a request's stored record (`CustomerHandoffRequest.record()`): the
    same when it is first routed and whenever it is routed again (an SLA breach, a rejection)."""
    products = record.get("products") or ()
    return LeadFacts(
        lead_id=subject,
        kind=HandoffKind.CUSTOMER,
        country=record.get("country"),
        language=record.get("language"),
        annual_revenue=_decimal(record.get("contract_value")),
        product_interest=tuple(str(product).lower() for product in products),
        priority=Priority.STANDARD,
        source=record.get("source"),
        account_id=customer_id,
    )


def differing_fields(stored: dict[str, Any], request: CustomerHandoffRequest) -> list[str]:
    new = request.record()
    return sorted(name for name in set(stored) | set(new) if stored.get(name) != new.get(name))


def request_from_deal(event: CanonicalEvent, customer_id: str) -> CustomerHandoffRequest | None:
    """A won deal as a handoff request: its id, value and currency, and its products when the sender says."""
    deal_id = event.subject.deal_id or _text(event.data.get("deal_id"))
    if not deal_id:
        return None
    amount = event.data.get("amount") if "amount" in event.data else event.data.get("Amount")
    products = event.data.get("products")
    return CustomerHandoffRequest(
        customer_id=customer_id,
        deal_id=deal_id,
        contract_value=_decimal(amount),
        currency=(_text(event.data.get("currency")) or "").upper() or None,
        products=tuple(str(p) for p in products) if isinstance(products, list) else (),
        source=event.source_vendor,
    )


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _lists(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(item) for item in value]
    return value


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value not in (None, "") else None


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() and number >= 0 else None
