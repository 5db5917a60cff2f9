"""Budget alert thresholds: when one is reached, crossed and re-armed.

Thresholds. Threshold t (%) is *reached* when actual x 100 >= t x budget (exactly, in integers); with a zero
budget, when actual > 0. A threshold is *crossed* when consumption goes from not reached to reached; when it
falls back under (a reversal, or a larger budget) it re-arms, and the next rise crosses it again. So over any
sequence of spend, each threshold fires once per upward crossing, never twice for one. `crossed_thresholds`
compares two actuals (a counter's value before and after an atomic add: concurrent writers each see a distinct
interval, so exactly one of them sees each crossing); `threshold_transition` compares a stored set of fired
thresholds with the current actual (re-arming those no longer reached), for when the budget changes too. The
forecast overrun is the same rule on the forecast: `threshold_transition(fired, forecast, budget,
[overrun_threshold])` (the stored form, since a forecast also moves as days pass without any spend).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import NamedTuple


def reached(actual: int, budget: int, threshold: int) -> bool:
    """Whether consumption is at or above `threshold` %: actual x 100 >= threshold x budget, exactly; with a
    zero budget, whenever anything is spent."""
    if budget <= 0:
        return actual > 0
    return actual * 100 >= threshold * budget


def crossed_thresholds(
    previous_actual: int, new_actual: int, budget_amount: int, thresholds: Iterable[int]
) -> list[int]:
    """The thresholds (ascending) consumption crosses upwards from `previous_actual` to `new_actual`: not
    reached before, reached after. A fall back below re-arms (see `rearmed_thresholds`): the next rise crosses
    again. Summed over a sequence of actuals, each threshold fires once per upward crossing."""
    return [
        t
        for t in sorted(set(thresholds))
        if not reached(previous_actual, budget_amount, t) and reached(new_actual, budget_amount, t)
    ]


def rearmed_thresholds(
    previous_actual: int, new_actual: int, budget_amount: int, thresholds: Iterable[int]
) -> list[int]:
    """The thresholds (ascending) consumption falls back under from `previous_actual` to `new_actual`."""
    return [
        t
        for t in sorted(set(thresholds))
        if reached(previous_actual, budget_amount, t) and not reached(new_actual, budget_amount, t)
    ]


class ThresholdChange(NamedTuple):
    crossed: tuple[int, ...]  # to publish now (ascending)
    rearmed: tuple[int, ...]  # fired before, no longer reached: they will fire again on the next crossing
    fired: frozenset[int]  # the state to store: the thresholds reached now


def threshold_transition(
    fired: Collection[int], actual: int, budget_amount: int, thresholds: Iterable[int]
) -> ThresholdChange:
    """Compare the stored set of `fired` thresholds with the current `actual` against `budget_amount` (which may
    have changed since): crossed = reached now and not fired; re-armed = fired and not reached now. Storing
    `fired` (conditionally on the previous value) after publishing makes each crossing fire once."""
    wanted = sorted(set(thresholds))
    now = frozenset(t for t in wanted if reached(actual, budget_amount, t))
    before = frozenset(fired) & frozenset(wanted)
    return ThresholdChange(
        crossed=tuple(sorted(now - before)),
        rearmed=tuple(sorted(before - now)),
        fired=now,
    )
