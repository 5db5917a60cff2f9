"""Sharing an amount of minor units exactly: budgets' forecasts, attribution credits. Largest remainder, so the
shares always sum to the total and each is its exact share rounded down or up; ties go to the earlier weight,
so the result is deterministic."""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction


def allocate(total: int, weights: Sequence[int | Fraction]) -> list[int]:
    """`total` (>= 0) shared in proportion to `weights` (>= 0, ints or exact fractions) by largest remainder:
    the shares sum to `total` exactly; each is its exact share rounded down or up, the units left over going to
    the largest remainders (the earliest weight first on a tie). All zero when the weights are."""
    if any(isinstance(w, Fraction) for w in weights):
        # the same proportions as integers over their common denominator: integer arithmetic is far cheaper
        pairs = [(w.numerator, w.denominator) if isinstance(w, Fraction) else (int(w), 1) for w in weights]
        common = math.lcm(*(denominator for _, denominator in pairs))
        weights = [numerator * (common // denominator) for numerator, denominator in pairs]
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError("allocate takes a non-negative total and weights")
    whole = sum(weights)
    if whole == 0 or total == 0:
        return [0] * len(weights)
    parts = [divmod(total * weight, whole) for weight in weights]
    shares = [int(quotient) for quotient, _ in parts]
    left = total - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-parts[i][1], i))
    for index in by_remainder[:left]:
        shares[index] += 1
    return shares
