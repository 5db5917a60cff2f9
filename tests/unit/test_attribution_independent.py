"""Heuristic attribution against implementations that share no code with it.

marketing_attribution_models 2.1.1 (import name `mam`: polars, float math) is fed the same journeys in its
"journey" format (one row per conversion: the channels in order, each touch's hours before the conversion, the
amount as the conversion value) and offers five heuristic models:
- first click, last click, linear: mam totals them per channel. Compared per channel: our exact shares (weight x
  amount) to 1e-9 relative, and our minor-unit credits to within one unit per touch of the channel (each credit
  is its exact share rounded down or up). First and last click also name a channel per conversion: the same as
  the touch we credit.
- position based: mam's is 40 % first, 40 % last, 20 % shared by the touches between (50/50 for two touches):
  the U-shaped model when the lead was created at the closing touch. Journeys built that way (the lead created
  at the conversion) are compared touch by touch (mam keeps one row per touch) to 1e-9 relative.
- time decay: mam weighs a touch 0.5^(hours before the conversion / half-life in hours) and normalizes per
  journey; ours computes the same normalized weights relative to the closing touch, in 40-digit decimals.
  Compared touch by touch, to 1e-9 relative (float exponentials lose ~1e-13 here). mam's floats underflow to
  0 for every touch (and its shares become NaN) when the conversion comes over ~1000 half-lives after the
  closing touch; ours stays defined. So the comparison keeps half-lives of an hour or more, with journeys of at
  most 120 days: mam's weights stay normal floats.

mam has no W-shaped or full-path model, and its position-based model knows no lead creation. U-shaped with any
lead, W-shaped and full path (and first / last touch again) are compared with `float_position_weights` below:
a separate float implementation of the definitions as the README states them (roles by a linear scan, the
rest handed back by dividing), to 1e-12.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mam import MAM

from shared.attribution.credits import heuristic_credits
from shared.attribution.heuristics import heuristic_weights
from shared.attribution.journeys import Credit, Journey, Model
from tests.unit.test_attribution_properties import journeys

MAM_SETTINGS = settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
SETTINGS = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
RELATIVE = 1e-9

half_lives = st.integers(3600, 120 * 86_400).map(lambda seconds: timedelta(seconds=seconds))


@st.composite
def batches(draw: st.DrawFn) -> list[Journey]:
    """Up to 20 conversions with distinct ids and amounts small enough for floats to carry them exactly."""
    batch = draw(st.lists(journeys(), min_size=1, max_size=20))
    amounts = draw(st.lists(st.integers(0, 10**9), min_size=len(batch), max_size=len(batch)))
    return [
        replace(journey, conversion_id=f"c{index}", amount_minor=amount)
        for index, (journey, amount) in enumerate(zip(batch, amounts, strict=True))
    ]


def hours_before(journey: Journey, moment: datetime) -> float:
    return (journey.converted_at - moment).total_seconds() / 3600


def run_mam(batch: list[Journey]) -> MAM:
    frame = pl.DataFrame(
        {
            "journey_id": [journey.conversion_id for journey in batch],
            "path": [" > ".join(touch.channel for touch in journey.touches) for journey in batch],
            "hours": [
                " > ".join(repr(hours_before(journey, touch.occurred_at)) for touch in journey.touches)
                for journey in batch
            ],
            "converted": [True] * len(batch),
            "value": [float(journey.amount_minor) for journey in batch],
        }
    )
    return MAM(
        frame,
        format_type="journey",
        channels_colname="path",
        journey_with_conv_colname="converted",
        user_id_colname="journey_id",
        time_till_conv_colname="hours",
        conversion_value_colname="value",
    )


def mam_channel_totals(result: object) -> dict[str, float]:
    totals = result.to_dict()  # type: ignore[attr-defined]
    return dict(zip(totals["channels"], totals["attribution"], strict=True))


def mam_touch_values(result: object) -> dict[str, list[tuple[str, float]]]:
    """(channel, value) per touch, per conversion, from mam's one-row-per-touch results, in the rows' order."""
    rows = result.to_raw_polars()  # type: ignore[attr-defined]
    by_journey: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for journey_id, channel, value in rows.select("journey_id", "channels", "attribution_value").iter_rows():
        by_journey[journey_id].append((channel, value))
    return by_journey


def credits_of(batch: list[Journey], model: Model, half_life: timedelta) -> list[tuple[Journey, list[Credit]]]:
    return [(journey, heuristic_credits(journey, half_life)[model]) for journey in batch]


def assert_channel_totals_agree(batch: list[Journey], model: Model, theirs: dict[str, float]) -> None:
    exact: dict[str, Fraction] = defaultdict(Fraction)
    minor: dict[str, int] = defaultdict(int)
    touches: dict[str, int] = defaultdict(int)
    for journey, credits in credits_of(batch, model, timedelta(days=7)):
        for touch, credit in zip(journey.touches, credits, strict=True):
            exact[touch.channel] += credit.weight * journey.amount_minor
            minor[touch.channel] += credit.minor
            touches[touch.channel] += 1
    # mam lists every channel of a touch it shares among (first / last click: only those it credits)
    for channel in set(exact) | set(theirs):
        expected = theirs.get(channel, 0.0)
        assert float(exact[channel]) == pytest.approx(expected, rel=RELATIVE, abs=1e-6), (model, channel)
        assert abs(minor[channel] - expected) < touches[channel] + 1e-6, (model, channel)


@MAM_SETTINGS
@given(batches())
def test_first_last_and_linear_channel_totals_agree_with_mam(batch: list[Journey]) -> None:
    attribution = run_mam(batch)
    assert_channel_totals_agree(batch, Model.FIRST_TOUCH, mam_channel_totals(attribution.run_first_click()))
    assert_channel_totals_agree(batch, Model.LAST_TOUCH, mam_channel_totals(attribution.run_last_click()))
    assert_channel_totals_agree(batch, Model.LINEAR, mam_channel_totals(attribution.run_linear()))
    # And each conversion's first / last click names the channel of the touch we credit
    for model, result in (
        (Model.FIRST_TOUCH, attribution.run_first_click()),
        (Model.LAST_TOUCH, attribution.run_last_click()),
    ):
        named = dict(result.to_raw_polars().select("journey_id", "attribution_channel").iter_rows())
        for journey, credits in credits_of(batch, model, timedelta(days=7)):
            credited = next(t for t, c in zip(journey.touches, credits, strict=True) if c.weight == 1)
            assert named[journey.conversion_id] == credited.channel


@MAM_SETTINGS
@given(batches())
def test_u_shaped_with_the_lead_created_at_the_close_agrees_with_mams_position_based_touch_by_touch(
    batch: list[Journey],
) -> None:
    # Given leads created at the conversion: the closing touch holds lead creation, as mam's "last" does
    batch = [replace(journey, lead_created_at=journey.converted_at) for journey in batch]
    theirs = mam_touch_values(run_mam(batch).run_position_based())
    for journey, credits in credits_of(batch, Model.U_SHAPED, timedelta(days=7)):
        rows = theirs[journey.conversion_id]
        assert [channel for channel, _ in rows] == [touch.channel for touch in journey.touches]
        ours = [float(credit.weight * journey.amount_minor) for credit in credits]
        assert ours == pytest.approx([value for _, value in rows], rel=RELATIVE, abs=1e-6)
    assert_channel_totals_agree(batch, Model.U_SHAPED, mam_channel_totals(run_mam(batch).run_position_based()))


@MAM_SETTINGS
@given(batches(), half_lives)
def test_time_decay_agrees_with_mam_touch_by_touch(batch: list[Journey], half_life: timedelta) -> None:
    theirs = mam_touch_values(run_mam(batch).run_time_decay(half_life_hours=half_life.total_seconds() / 3600))
    for journey, credits in credits_of(batch, Model.TIME_DECAY, half_life):
        rows = theirs[journey.conversion_id]
        assert [channel for channel, _ in rows] == [touch.channel for touch in journey.touches]
        ours = [float(credit.weight * journey.amount_minor) for credit in credits]
        assert ours == pytest.approx([value for _, value in rows], rel=RELATIVE, abs=1e-6)
        assert all(abs(credit.minor - value) < 1 + 1e-6 for credit, (_, value) in zip(credits, rows, strict=True))


# ------------------------------------------------------------------------ a separate float implementation

# (role percentages, the rest shared by the other touches), as the README states them
FLOAT_MODELS: dict[Model, tuple[dict[str, float], float]] = {
    Model.FIRST_TOUCH: ({"first": 1.0}, 0.0),
    Model.LAST_TOUCH: ({"last": 1.0}, 0.0),
    Model.U_SHAPED: ({"first": 0.4, "lead": 0.4}, 0.2),
    Model.W_SHAPED: ({"first": 0.3, "lead": 0.3, "opportunity": 0.3}, 0.1),
    Model.FULL_PATH: ({"first": 0.225, "lead": 0.225, "opportunity": 0.225, "last": 0.225}, 0.1),
}


def float_roles(journey: Journey) -> dict[str, int]:
    times = [touch.occurred_at for touch in journey.touches]

    def last_at_or_before(moment: datetime | None, without: int) -> int:
        if moment is None:
            return without
        at_or_before = [index for index, time in enumerate(times) if time <= moment]
        return at_or_before[-1] if at_or_before else 0

    lead = last_at_or_before(journey.lead_created_at, 0)
    opportunity = last_at_or_before(journey.opportunity_created_at, len(times) - 1)
    return {"first": 0, "lead": lead, "opportunity": max(opportunity, lead), "last": len(times) - 1}


def float_position_weights(journey: Journey, model: Model) -> list[float]:
    percentages, rest = FLOAT_MODELS[model]
    roles = float_roles(journey)
    weights = [0.0] * len(journey.touches)
    for role, percentage in percentages.items():
        weights[roles[role]] += percentage
    holders = {roles[role] for role in percentages}
    others = [index for index in range(len(weights)) if index not in holders]
    for index in others:
        weights[index] = rest / len(others)
    if not others:
        weights = [weight / (1 - rest) for weight in weights]
    return weights


@SETTINGS
@given(journeys())
def test_position_models_agree_with_a_separate_float_implementation(journey: Journey) -> None:
    for model in FLOAT_MODELS:
        ours = [float(weight) for weight, _ in heuristic_weights(journey, model)]
        assert ours == pytest.approx(float_position_weights(journey, model), rel=1e-12, abs=1e-12), model
