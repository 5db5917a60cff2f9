"""Which customer segment an account is in (the health model's `segments`): the first whose conditions it meets,
from its signal log at a moment. Pure.

The facts: its annual revenue, what it paid in the trailing twelve months in the company currency (`arr_of`, as
feedback ranking weighs it; payments in another currency are not counted), and its licensed seats, from its latest
usage report that gives them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shared.finance.money import currency
from shared.success.feedback import arr_of
from shared.success.model import Segment
from shared.success.signals import Signal, SignalKind


@dataclass(frozen=True)
class SegmentFacts:
    arr: Decimal  # company currency, major units; 0 without payments (or without a company currency)
    seats: int | None  # None: no usage report gave licensed seats

    def meet(self, segment: Segment) -> bool:
        if segment.min_arr is not None and self.arr < segment.min_arr:
            return False
        return segment.min_seats is None or (self.seats is not None and self.seats >= segment.min_seats)


def facts_of(signals: Sequence[Signal], now: datetime, company_currency: str | None) -> SegmentFacts:
    arr = Decimal(0)
    if company_currency is not None:
        minor = arr_of(signals, now, company_currency).minor
        arr = Decimal(minor).scaleb(-currency(company_currency).exponent)
    seats = None
    for signal in sorted(signals, key=lambda s: s.at, reverse=True):
        if signal.kind is SignalKind.USAGE and signal.at <= now and signal.values.get("licensed_seats") is not None:
            seats = int(signal.values["licensed_seats"])
            break
    return SegmentFacts(arr, seats)


def segment_of(
    segments: Sequence[Segment], signals: Sequence[Signal], now: datetime, company_currency: str | None
) -> str | None:
    """The id of the first segment the account meets; None when the model has no segments."""
    if not segments:
        return None
    facts = facts_of(signals, now, company_currency)
    return next((segment.id for segment in segments if facts.meet(segment)), None)
