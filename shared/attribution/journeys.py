"""What attribution credits: a conversion's journey of touches, the roles a touch can hold in it, the models,
and a credit (a touch's exact share of the conversion, in minor units, with the rule that gave it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fractions import Fraction


class Model(StrEnum):
    FIRST_TOUCH = "first_touch"
    LAST_TOUCH = "last_touch"
    LINEAR = "linear"
    TIME_DECAY = "time_decay"
    U_SHAPED = "u_shaped"
    W_SHAPED = "w_shaped"
    FULL_PATH = "full_path"
    DATA_DRIVEN = "data_driven"


HEURISTIC_MODELS: tuple[Model, ...] = tuple(model for model in Model if model is not Model.DATA_DRIVEN)


class Role(StrEnum):
    """The touches a position-based model singles out. One touch may hold several roles."""

    FIRST = "first"
    LEAD_CREATION = "lead_creation"  # the touch at which the person became a Lead
    OPPORTUNITY_CREATION = "opportunity_creation"  # the touch at which the deal / opportunity was created
    LAST = "last"  # the closing touch: the last one before the conversion


@dataclass(frozen=True)
class Touch:
    touch_id: str  # stable: the engagement's event id
    occurred_at: datetime  # aware, UTC
    channel: str  # the spend vocabulary's channels, plus direct / organic_search / organic_social / referral
    campaign_id: str | None = None
    content: str | None = None


@dataclass(frozen=True)
class Journey:
    """A conversion and the touches that led to it, ordered by (occurred_at, touch_id), all at or before
    `converted_at` and inside the lookback window. `lead_created_at` / `opportunity_created_at` are when the
    person became a Lead and when the opportunity was created (None when the hub never saw it)."""

    conversion_id: str
    converted_at: datetime
    amount_minor: int
    currency: str
    touches: tuple[Touch, ...]
    lead_created_at: datetime | None = None
    opportunity_created_at: datetime | None = None


@dataclass(frozen=True)
class Credit:
    """A touch's part of a conversion under one model: `weight` is its exact share (the weights of a
    conversion sum to 1), `minor` that share in minor units (largest remainder: they sum to the amount
    exactly), `rule` says in words which rule of the model gave it."""

    touch_id: str
    minor: int
    weight: Fraction
    rule: str
