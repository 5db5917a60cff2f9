"""Customers' subscriptions (LTV) in the attribution table: one item per billing customer,
pk=CUSTOMER_REVENUE#<identity key>, sk=CUSTOMER_REVENUE, with a map of its subscriptions' states and a `version`.

A change is a PutItem on condition of the version read (`put_at_version`): a concurrent writer's change is a
StaleRevenue, nothing written, for the caller to read again and fold once more. Reads are strongly consistent
BatchGetItems (100 keys a call, unprocessed keys asked again). A customer keeps at most `MAX_SUBSCRIPTIONS`
subscriptions (Stripe's own limit is far lower in practice); a change past it is an InvalidInput."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from shared.adapters.dynamodb_items import VersionConflict, key, put_at_version
from shared.adapters.dynamodb_reads import batch_get
from shared.attribution.ports import StaleRevenue
from shared.attribution.revenue import CustomerRevenue, SubscriptionState
from shared.errors import InvalidInput

PREFIX = "CUSTOMER_REVENUE"
MAX_SUBSCRIPTIONS = 200


def revenue_pk(customer_key: str) -> str:
    return f"{PREFIX}#{customer_key}"


def revenue_item(revenue: CustomerRevenue) -> dict[str, Any]:
    return {
        "pk": revenue_pk(revenue.customer_key),
        "sk": PREFIX,
        "customer_key": revenue.customer_key,
        "version": revenue.version,
        "subscriptions": {
            subscription_id: {
                "status": state.status,
                "mrr_minor": state.mrr_minor,
                "currency": state.currency,
                "at": _time(state.at),
                "first_paid_at": _time(state.first_paid_at) if state.first_paid_at else None,
                "paid_at": _time(state.paid_at) if state.paid_at else None,
                "paid_mrr_minor": state.paid_mrr_minor,
            }
            for subscription_id, state in revenue.subscriptions.items()
        },
    }


def revenue_from(item: dict[str, Any]) -> CustomerRevenue:
    return CustomerRevenue(
        customer_key=str(item["customer_key"]),
        subscriptions={
            str(subscription_id): SubscriptionState(
                status=str(state["status"]),
                mrr_minor=_int(state.get("mrr_minor")),
                currency=state.get("currency"),
                at=datetime.fromisoformat(state["at"]),
                first_paid_at=_when(state.get("first_paid_at")),
                paid_at=_when(state.get("paid_at")),
                paid_mrr_minor=_int(state.get("paid_mrr_minor")),
            )
            for subscription_id, state in item.get("subscriptions", {}).items()
        },
        version=int(item["version"]),
    )


class DynamoDbCustomerRevenueStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def revenues(self, customer_keys: Sequence[str]) -> dict[str, CustomerRevenue]:
        keys = [key(revenue_pk(k), PREFIX) for k in dict.fromkeys(customer_keys)]
        items = batch_get(self._client, self._table, keys, "customer revenues", time.sleep)
        return {revenue.customer_key: revenue for revenue in map(revenue_from, items)}

    def save_revenue(self, revenue: CustomerRevenue) -> CustomerRevenue:
        if len(revenue.subscriptions) > MAX_SUBSCRIPTIONS:
            raise InvalidInput(
                f"customer {revenue.customer_key}: at most {MAX_SUBSCRIPTIONS} subscriptions are kept, "
                f"not {len(revenue.subscriptions)}"
            )
        stored = CustomerRevenue(revenue.customer_key, revenue.subscriptions, revenue.version + 1)
        try:
            put_at_version(self._client, self._table, revenue_item(stored), revenue.version)
        except VersionConflict as conflict:
            found = conflict.found["version"] if conflict.found else "none"
            raise StaleRevenue(
                f"customer {revenue.customer_key} is at version {found}, not {revenue.version} as read"
            ) from None
        return stored


def _time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"a naive datetime cannot be stored: {moment!r}")
    return moment.astimezone(UTC).isoformat()


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _int(value: Any) -> int | None:
    return None if value is None else int(value)
