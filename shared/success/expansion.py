"""Expansion readiness (pure): how ready an account is to buy more, from its health's measures (and band, and the
features of the catalog's products it asked for) as the model's expansion components score them, with the
evidence summing exactly to the readiness, and the products its feature use and its requests suggest
(cross-sell). A readiness at or above `ready_from` is an expansion signal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from shared.allocation import allocate
from shared.success.engine import Health
from shared.success.measures import RawValue
from shared.success.model import HealthModel
from shared.success.signals import Signal, SignalKind

FEATURE_WINDOW_DAYS = 30
REQUEST_WINDOW_DAYS = 180  # a feature asked for in product feedback counts this long


@dataclass(frozen=True)
class Evidence:
    component: str
    measure: str
    value: RawValue | None
    score: int
    weight: int
    contribution_hundredths: int


@dataclass(frozen=True)
class Suggestion:
    product: str
    name: str
    because: list[str]  # the features used that suggest it


@dataclass(frozen=True)
class Readiness:
    score_hundredths: int
    ready: bool
    evidence: tuple[Evidence, ...]
    suggestions: tuple[Suggestion, ...]


def readiness_of(model: HealthModel, health: Health, signals: Sequence[Signal]) -> Readiness:
    """The account's expansion readiness at its health's moment."""
    values: dict[str, RawValue | None] = {line.measure: line.value for line in health.lines}
    values["band"] = health.band
    values["feature_requests"] = Decimal(len(_requested(model, health, signals)))
    scored = [(c, values.get(c.measure), c.score_of(values.get(c.measure))) for c in model.expansion.components]
    total_weight = sum(c.weight for c, _, _ in scored)
    if total_weight == 0:
        return Readiness(0, False, (), _suggestions(model, health, signals))
    weighted = sum(c.weight * score for c, _, score in scored)
    hundredths = int((Decimal(weighted * 100) / total_weight).to_integral_value(ROUND_HALF_UP))
    shares = allocate(hundredths, [c.weight * score for c, _, score in scored])
    evidence = tuple(
        Evidence(c.id, c.measure, value, score, c.weight, share)
        for (c, value, score), share in zip(scored, shares, strict=True)
    )
    ready = hundredths >= model.expansion.ready_from * 100
    return Readiness(hundredths, ready, evidence, _suggestions(model, health, signals))


def _suggestions(model: HealthModel, health: Health, signals: Sequence[Signal]) -> tuple[Suggestion, ...]:
    start = health.as_of - timedelta(days=FEATURE_WINDOW_DAYS)
    used = {
        name
        for s in signals
        if s.kind is SignalKind.USAGE and start < s.at <= health.as_of
        for name, events in (s.values.get("features") or {}).items()
        if events > 0
    }
    utilization = next((line.value for line in health.lines if line.measure == "seat_utilization"), None)
    seats = utilization if isinstance(utilization, Decimal) else Decimal(0)
    requested = _requested(model, health, signals)
    # a product is suggested by features of it in use (when the seats are used enough), or asked for: a request
    # is demand whatever the seats
    return tuple(
        Suggestion(p.id, p.name, sorted(set(p.features) & (used | requested)))
        for p in model.expansion.products
        if (set(p.features) & used and seats >= p.min_seat_utilization) or set(p.features) & requested
    )


def _requested(model: HealthModel, health: Health, signals: Sequence[Signal]) -> set[str]:
    """The features of the catalog's products the account asked for in the last `REQUEST_WINDOW_DAYS`."""
    start = health.as_of - timedelta(days=REQUEST_WINDOW_DAYS)
    catalog = {feature for product in model.expansion.products for feature in product.features}
    return {
        str(s.values.get("feature"))
        for s in signals
        if s.kind is SignalKind.FEATURE_REQUESTED and start < s.at <= health.as_of
    } & catalog
