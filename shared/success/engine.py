"""Account health: a pure function of the health model, the account's signal log and the moment.

Each measure that has data is scored 0-100; the overall score is their weighted mean, in hundredths of a point,
rounded half up: sum(weight x score) / sum(weight), over the measures that are not NA (their weights
renormalize; an NA measure is never scored as 0). Renormalizing makes a mean of whatever is there, which for a
new account is next to nothing: during the model's onboarding period (`onboarding.days` from its first success
plan, payment or subscription change, else from its first signal), while the measures with data carry less than
`onboarding.min_coverage` of the total weight, the account is onboarding: no score and no band, as when every
measure is NA (`coverage` says how much is there). The breakdown shares the score among the measures in
proportion to weight x score by largest remainder, so the contributions (hundredths) sum to the score exactly.
A cap of the model whose conditions all hold lowers the score to its ceiling; the points it takes away are a
line of their own (negative hundredths), so contributions and adjustments still sum to the score exactly.
The trend is the same function at 7 and 30 days before, from the same log: recomputing any of them from the
log gives the same numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from shared.allocation import allocate
from shared.success.measures import RawValue, Window, raw_value
from shared.success.model import HealthModel, MeasureGroup
from shared.success.signals import Signal, SignalKind

TREND_DAYS = (7, 30)
# the signals that say an account is a customer: the first starts its onboarding period (`HealthModel.onboarding`)
CUSTOMER_KINDS = (
    SignalKind.SUCCESS_PLAN,
    SignalKind.PAYMENT_SUCCEEDED,
    SignalKind.PAYMENT_FAILED,
    SignalKind.SUBSCRIPTION,
)
COVERAGE_PLACES = Decimal("0.0001")
# the value of the mark a `carried` signal leaves of the account's first signal of any kind (the customer one's is
# empty): what the onboarding period starts from while the account has no customer signal
FIRST_SIGNAL_MARK = {"first": "signal"}


@dataclass(frozen=True)
class MeasureLine:
    measure: str
    group: MeasureGroup
    value: RawValue | None  # None: NA
    score: int | None  # 0-100; None when NA
    weight: int
    contribution_hundredths: int  # this measure's share of the overall score; 0 when NA

    @property
    def na(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class Adjustment:
    cap: str
    hundredths: int  # negative: what the cap took away


@dataclass(frozen=True)
class Health:
    as_of: datetime
    model_version: str
    score_hundredths: int | None  # None when every measure is NA
    band: str | None  # green / yellow / red; None without a score
    lines: tuple[MeasureLine, ...]
    adjustments: tuple[Adjustment, ...] = ()
    onboarding: bool = False  # no score: in the onboarding period with too little data (`HealthModel.onboarding`)

    @property
    def na(self) -> list[str]:
        return [line.measure for line in self.lines if line.na]

    @property
    def coverage(self) -> Decimal:
        """The share of the measures' weight that has data (0-1, four places; 0 without measures)."""
        total = sum(line.weight for line in self.lines)
        measured = sum(line.weight for line in self.lines if not line.na)
        return (Decimal(measured) / total).quantize(COVERAGE_PLACES) if total else Decimal(0)


@dataclass(frozen=True)
class Trend:
    d7_hundredths: int | None  # the change over 7 days; None without a score then or now
    d30_hundredths: int | None
    direction: str  # up / down / flat (from the 30-day change; the 7-day one when there is no 30-day one)

    def change_over(self, days: int) -> int | None:
        """The change over one of `TREND_DAYS` (KeyError for another horizon)."""
        return {7: self.d7_hundredths, 30: self.d30_hundredths}[days]


def evaluate(model: HealthModel, signals: Sequence[Signal], as_of: datetime) -> Health:
    """The account's health at `as_of` from its signals (any order; those after `as_of` are not read)."""
    window = Window(sorted(signals, key=lambda s: (s.at, s.signal_id)), as_of)
    measured: list[tuple[str, MeasureGroup, RawValue | None, int | None, int]] = []
    for measure in model.measures:
        value = raw_value(measure, model, window)
        score = None if value is None else measure.score_of(value)
        measured.append((measure.id, measure.group, value, score, measure.weight))
    scored = [(weight, score) for *_, score, weight in measured if score is not None]
    total_weight = sum(weight for weight, _ in scored)
    onboarding = _onboarding(model, window) and total_weight < model.onboarding.min_coverage * sum(
        weight for *_, weight in measured
    )
    if total_weight == 0 or onboarding:
        lines = tuple(MeasureLine(m, g, v, s, w, 0) for m, g, v, s, w in measured)
        return Health(as_of, model.version, None, None, lines, onboarding=onboarding)
    weighted = sum(weight * score for weight, score in scored)
    score_hundredths = int((Decimal(weighted * 100) / total_weight).to_integral_value(ROUND_HALF_UP))
    shares = iter(allocate(score_hundredths, [weight * score for weight, score in scored]))
    lines = tuple(MeasureLine(m, g, v, s, w, next(shares) if s is not None else 0) for m, g, v, s, w in measured)
    adjustments = _capped(model, lines, score_hundredths)
    score_hundredths += sum(a.hundredths for a in adjustments)
    return Health(as_of, model.version, score_hundredths, model.band_of(score_hundredths), lines, adjustments)


def _onboarding(model: HealthModel, window: Window) -> bool:
    """Within the onboarding period: since the account became a customer, its first success plan (a handoff),
    payment or subscription change (`CUSTOMER_KINDS`; the mark a `carried` signal leaves of the first, once it is
    out of the read window); without any, since its first signal (or the mark a `carried` signal leaves of it).
    Not from a touch or an engagement once it is a customer: a prospect's meeting months before it buys starts
    nothing, and a later plan (a renewal's handoff) does not restart the period of an account already scored."""
    customer = [s for s in window.of(*CUSTOMER_KINDS, SignalKind.CARRIED) if s.values != FIRST_SIGNAL_MARK]
    starts = customer or window.signals[:1]
    return bool(starts) and window.as_of - starts[0].at < timedelta(days=model.onboarding.days)


def _capped(model: HealthModel, lines: Sequence[MeasureLine], score_hundredths: int) -> tuple[Adjustment, ...]:
    scores = {line.measure: line.score for line in lines}
    met = [
        cap
        for cap in model.caps
        if all((s := scores.get(c.measure)) is not None and s <= c.score_at_most for c in cap.when)
    ]
    if not met:
        return ()
    lowest = min(met, key=lambda cap: cap.score_at_most)
    ceiling = lowest.score_at_most * 100
    return (Adjustment(lowest.id, ceiling - score_hundredths),) if score_hundredths > ceiling else ()


def trend_of(model: HealthModel, signals: Sequence[Signal], now: Health) -> Trend:
    """How the score moved over 7 and 30 days: the same evaluation at those earlier moments, from the same log."""
    changes: list[int | None] = []
    for days in TREND_DAYS:
        then = evaluate(model, signals, now.as_of - timedelta(days=days)).score_hundredths
        changes.append(None if then is None or now.score_hundredths is None else now.score_hundredths - then)
    d7, d30 = changes
    basis = d30 if d30 is not None else d7
    flat = int(model.trend.flat_within * 100)
    direction = "flat" if basis is None or abs(basis) < flat else ("up" if basis > 0 else "down")
    return Trend(d7, d30, direction)
