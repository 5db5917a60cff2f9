"""Properties of heuristic attribution on random journeys (ties in time, creation times anywhere or missing,
half-lives from a second to months): every model's weights are non-negative and sum to exactly 1, its credits
are non-negative, within a unit of their exact share and sum exactly to the amount; one touch takes everything;
first and last touch credit the touches they name; roles follow their definitions; time decay never favours an
older touch; the same journey always gives the same credits; and computing all models at once agrees with
computing each alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.attribution.credits import credits_for, heuristic_credits
from shared.attribution.heuristics import ROLE_SHARES, heuristic_weights
from shared.attribution.journeys import HEURISTIC_MODELS, Journey, Model, Touch
from shared.attribution.roles import role_holders

SETTINGS = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
T0 = datetime(2026, 9, 1, tzinfo=UTC)
WINDOW_S = 90 * 86_400
CHANNELS = ["email", "paid_search", "direct", "referral"]

half_lives = st.integers(1, 120 * 86_400).map(lambda seconds: timedelta(seconds=seconds))


@st.composite
def journeys(draw: st.DrawFn, min_touches: int = 1, max_touches: int = 15) -> Journey:
    # half the time on the hour, so that touches at the same moment (ordered by touch id) are common
    seconds = sorted(draw(st.lists(st.integers(0, WINDOW_S), min_size=min_touches, max_size=max_touches)))
    if draw(st.booleans()):
        seconds = [second // 3600 * 3600 for second in seconds]
    touches = tuple(
        Touch(f"e{index:03d}", T0 + timedelta(seconds=second), draw(st.sampled_from(CHANNELS)))
        for index, second in enumerate(seconds)
    )
    converted = seconds[-1] + draw(st.integers(0, 30 * 86_400))
    # creation times: missing, or anywhere from before the window to after the conversion
    creation = st.none() | st.integers(-86_400, converted + 86_400).map(lambda s: T0 + timedelta(seconds=s))
    return Journey(
        conversion_id="conv",
        converted_at=T0 + timedelta(seconds=converted),
        amount_minor=draw(st.integers(0, 10**12)),
        currency="USD",
        touches=touches,
        lead_created_at=draw(creation),
        opportunity_created_at=draw(creation),
    )


@SETTINGS
@given(journeys(), half_lives)
def test_every_models_credits_are_non_negative_exact_shares_summing_to_the_amount(
    journey: Journey, half_life: timedelta
) -> None:
    for model, credits in heuristic_credits(journey, half_life).items():
        assert [credit.touch_id for credit in credits] == [touch.touch_id for touch in journey.touches]
        assert all(credit.weight >= 0 and credit.minor >= 0 for credit in credits), model
        assert sum(credit.weight for credit in credits) == 1, model
        assert sum(credit.minor for credit in credits) == journey.amount_minor, model
        # largest remainder: each credit is its exact share rounded down or up
        assert all(abs(credit.minor - journey.amount_minor * credit.weight) < 1 for credit in credits), model


@SETTINGS
@given(journeys(), half_lives)
def test_the_weights_of_every_model_sum_to_exactly_one(journey: Journey, half_life: timedelta) -> None:
    for model in HEURISTIC_MODELS:
        weights = heuristic_weights(journey, model, half_life)
        assert len(weights) == len(journey.touches)
        assert all(isinstance(weight, Fraction) and weight >= 0 for weight, _ in weights)
        assert sum(weight for weight, _ in weights) == 1
        assert all(rule.startswith(f"{model}: ") for _, rule in weights)


@SETTINGS
@given(journeys(max_touches=1), half_lives)
def test_a_single_touch_takes_the_whole_amount_under_every_model(journey: Journey, half_life: timedelta) -> None:
    for credits in heuristic_credits(journey, half_life).values():
        assert [(credit.minor, credit.weight) for credit in credits] == [(journey.amount_minor, 1)]


@SETTINGS
@given(journeys())
def test_first_and_last_touch_credit_the_first_and_the_closing_touch(journey: Journey) -> None:
    credits = heuristic_credits(journey)
    amounts = [0] * len(journey.touches)
    assert [credit.minor for credit in credits[Model.FIRST_TOUCH]] == [journey.amount_minor, *amounts[1:]]
    assert [credit.minor for credit in credits[Model.LAST_TOUCH]] == [*amounts[:-1], journey.amount_minor]


@SETTINGS
@given(journeys())
def test_roles_follow_their_definitions(journey: Journey) -> None:
    holders = role_holders(journey)
    times = [touch.occurred_at for touch in journey.touches]

    def last_at_or_before(moment: datetime) -> int:
        return max(index for index, time in enumerate(times) if time <= moment)

    assert (holders.first, holders.last) == (0, len(times) - 1)
    lead, opportunity = journey.lead_created_at, journey.opportunity_created_at
    # the lead: the last touch at or before its creation, else the first touch
    if lead is None or lead < times[0]:
        assert holders.lead_creation == 0
    else:
        assert holders.lead_creation == last_at_or_before(lead)
    # the opportunity: the last touch at or before its creation, the closing touch without a time, the first
    # before the window; never before the lead's touch
    if opportunity is None:
        expected = holders.last
    elif opportunity < times[0]:
        expected = 0
    else:
        expected = last_at_or_before(opportunity)
    assert holders.opportunity_creation == max(expected, holders.lead_creation)


@SETTINGS
@given(journeys(min_touches=2))
def test_a_touch_gets_at_least_its_roles_percentages(journey: Journey) -> None:
    # Handing back the rest only ever adds to a role holder
    holders = role_holders(journey)
    for model, shares in ROLE_SHARES.items():
        weights = [weight for weight, _ in heuristic_weights(journey, model)]
        for role, share in shares.roles.items():
            assert weights[holders.index_of(role)] >= share, (model, role)


@SETTINGS
@given(journeys(), half_lives)
def test_time_decay_never_gives_an_older_touch_more(journey: Journey, half_life: timedelta) -> None:
    weights = [weight for weight, _ in heuristic_weights(journey, Model.TIME_DECAY, half_life)]
    assert weights == sorted(weights)
    # and the closing touch, the most recent, always counts
    assert weights[-1] > 0


@SETTINGS
@given(journeys(), half_lives)
def test_the_same_journey_always_gives_the_same_credits(journey: Journey, half_life: timedelta) -> None:
    # An equal journey built again (no shared objects) gives identical credits, weights and rules
    again = replace(journey, touches=tuple(replace(touch) for touch in journey.touches))
    assert heuristic_credits(journey, half_life) == heuristic_credits(again, half_life)
    assert heuristic_credits(journey, half_life) == heuristic_credits(journey, half_life)


@SETTINGS
@given(journeys(), half_lives)
def test_all_models_at_once_agree_with_each_model_alone(journey: Journey, half_life: timedelta) -> None:
    # heuristic_credits allocates by integer numerators, credits_for by the fractions: the same shares
    at_once = heuristic_credits(journey, half_life)
    for model in HEURISTIC_MODELS:
        assert at_once[model] == credits_for(journey, model, heuristic_weights(journey, model, half_life))
