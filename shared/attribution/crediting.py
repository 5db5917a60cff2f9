"""A journey credited under every model at once: each touch with its roles, its credit under each of the eight
models (minor units that sum exactly to the conversion's amount per model) and its share of the conversion as
a deal (DEAL_UNITS, shared the same way, so fractional deals also sum exactly to one per conversion)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from shared.allocation import allocate
from shared.attribution.config import AttributionConfig
from shared.attribution.credits import heuristic_credits
from shared.attribution.journeys import Credit, Journey, Model
from shared.attribution.markov import MarkovFit, data_driven_credits
from shared.attribution.ports import DEAL_UNITS, CreditedTouch
from shared.attribution.roles import touch_roles


def half_life_of(config: AttributionConfig) -> timedelta:
    # exact to the microsecond: a fractional number of days (7.5) is a whole number of microseconds
    return timedelta(microseconds=int(config.half_life_days * Decimal(86_400_000_000)))


def credited_touches(journey: Journey, half_life: timedelta, fit: MarkovFit | None) -> tuple[CreditedTouch, ...]:
    """Every touch of the journey with its credits under every model; () for a journey without touches."""
    if not journey.touches:
        return ()
    by_model: dict[Model, list[Credit]] = dict(heuristic_credits(journey, half_life))
    by_model[Model.DATA_DRIVEN] = data_driven_credits(journey, fit)
    units = {model: deal_units(credits) for model, credits in by_model.items()}
    roles = touch_roles(journey)
    return tuple(
        CreditedTouch(
            touch=touch,
            roles=roles[index],
            credits={model: by_model[model][index] for model in Model},
            deal_units={model: units[model][index] for model in Model},
        )
        for index, touch in enumerate(journey.touches)
    )


def deal_units(credits: list[Credit]) -> list[int]:
    """The conversion as DEAL_UNITS shared by the credits' exact weights (the same largest remainder)."""
    return allocate(DEAL_UNITS, [credit.weight for credit in credits])
