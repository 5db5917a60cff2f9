"""Credits: a conversion's amount shared among its touches by a model's weights, in minor units that sum to the
amount exactly (largest remainder, `shared.allocation.allocate`: each credit is its exact share rounded down or
up, ties to the earlier touch). An amount of 0 gives every touch 0; a negative amount is a ValueError.

    credits_for(journey, Model.DATA_DRIVEN, weights)     # any model's [(weight, rule)] per touch
    heuristic_credits(journey)                           # {model: [Credit, ...]} for every heuristic model
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from fractions import Fraction

from shared.allocation import allocate
from shared.attribution.heuristics import DEFAULT_HALF_LIFE, exact_weights
from shared.attribution.journeys import HEURISTIC_MODELS, Credit, Journey, Model
from shared.attribution.roles import role_holders

__all__ = ["credits_for", "heuristic_credits"]


def credits_for(journey: Journey, model: Model, weights: Sequence[tuple[Fraction, str]]) -> list[Credit]:
    """The journey's amount shared by `weights` (one (weight, rule) per touch, in order; non-negative, summing
    to exactly 1) under `model`. ValueError when they do not fit the journey or the amount is negative."""
    _check_amount(journey)
    if len(weights) != len(journey.touches):
        raise ValueError(f"{model}: {len(weights)} weights for the {len(journey.touches)} touches of a journey")
    fractions = [weight for weight, _ in weights]
    if any(weight < 0 for weight in fractions) or sum(fractions) != 1:
        raise ValueError(f"{model}: a journey's weights are non-negative and sum to exactly 1")
    return _credits(journey, allocate(journey.amount_minor, fractions), fractions, [rule for _, rule in weights])


def heuristic_credits(journey: Journey, half_life: timedelta = DEFAULT_HALF_LIFE) -> dict[Model, list[Credit]]:
    """Every heuristic model's credits for the journey, the roles found once. ValueError for a journey without
    touches or with a negative amount."""
    _check_amount(journey)
    holders = role_holders(journey)
    by_model: dict[Model, list[Credit]] = {}
    for model in HEURISTIC_MODELS:
        weights = exact_weights(journey, holders, model, half_life)
        # The integer numerators are proportional to the fractions: the same shares, without Fraction arithmetic.
        minors = allocate(journey.amount_minor, weights.numerators)
        by_model[model] = _credits(journey, minors, weights.fractions, weights.rules)
    return by_model


def _check_amount(journey: Journey) -> None:
    if journey.amount_minor < 0:
        raise ValueError(f"conversion {journey.conversion_id} has a negative amount: there is nothing to credit")


def _credits(
    journey: Journey, minors: Sequence[int], fractions: Sequence[Fraction], rules: Sequence[str]
) -> list[Credit]:
    return [
        Credit(touch.touch_id, minor, weight, rule)
        for touch, minor, weight, rule in zip(journey.touches, minors, fractions, rules, strict=True)
    ]
