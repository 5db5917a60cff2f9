"""Heuristic attribution by hand: which touch holds each role (lead and opportunity times missing, before the
window, between touches), each model's exact weights and rule texts on one-, two-, three- and five-touch
journeys (shared roles, the rest handed back when no touch is left to take it), time decay's half-life, and the
credits: exact shares in minor units that sum to the amount."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction as F

import pytest

from shared.attribution.credits import credits_for, heuristic_credits
from shared.attribution.heuristics import heuristic_weights
from shared.attribution.journeys import HEURISTIC_MODELS, Journey, Model, Role, Touch
from shared.attribution.roles import RoleHolders, role_holders, touch_roles

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
POSITION_MODELS = (Model.U_SHAPED, Model.W_SHAPED, Model.FULL_PATH)


def journey(
    days: list[float],
    *,
    converted: float | None = None,
    lead: float | None = None,
    opportunity: float | None = None,
    amount: int = 100_00,
) -> Journey:
    """Touches `days` after T0 (t0, t1, ... in order), converting `converted` days after T0 (the last touch's
    day unless said); `lead` / `opportunity` are days after T0 too."""

    def at(day: float) -> datetime:
        return T0 + day * DAY

    touches = tuple(Touch(f"t{index}", at(day), "email") for index, day in enumerate(days))
    if converted is None:
        converted = days[-1] if days else 0
    return Journey(
        conversion_id="c1",
        converted_at=at(converted),
        amount_minor=amount,
        currency="USD",
        touches=touches,
        lead_created_at=None if lead is None else at(lead),
        opportunity_created_at=None if opportunity is None else at(opportunity),
    )


def weights(the_journey: Journey, model: Model, half_life: timedelta = 7 * DAY) -> list[F]:
    return [weight for weight, _ in heuristic_weights(the_journey, model, half_life)]


def rules(the_journey: Journey, model: Model) -> list[str]:
    return [rule for _, rule in heuristic_weights(the_journey, model)]


def minors(the_journey: Journey, model: Model) -> list[int]:
    return [credit.minor for credit in heuristic_credits(the_journey)[model]]


# ------------------------------------------------------------------------------------------------------- roles


def test_roles_go_to_the_touches_at_or_before_each_creation() -> None:
    # Given five daily touches, the lead created 2 hours after the second, the opportunity on the fourth's day
    five = journey([0, 1, 2, 3, 4], lead=1 + 2 / 24, opportunity=3)
    # Then the lead's touch is the last one before it, the opportunity's the touch at that very moment
    assert role_holders(five) == RoleHolders(first=0, lead_creation=1, opportunity_creation=3, last=4)
    assert touch_roles(five) == [
        {Role.FIRST},
        {Role.LEAD_CREATION},
        set(),
        {Role.OPPORTUNITY_CREATION},
        {Role.LAST},
    ]


def test_without_creation_times_the_lead_is_the_first_touch_and_the_opportunity_the_closing_one() -> None:
    # Given a journey the hub never saw the lead or the opportunity created for
    three = journey([0, 1, 2])
    # Then the earliest touch we can see is the nearest to the lead's creation, and the deal existed by the close
    assert touch_roles(three) == [{Role.FIRST, Role.LEAD_CREATION}, set(), {Role.OPPORTUNITY_CREATION, Role.LAST}]


def test_creations_before_the_window_go_to_the_first_touch() -> None:
    # Given a person who was a Lead, with an opportunity, before the first touch in the window
    three = journey([5, 6, 7], lead=1, opportunity=2)
    # Then both go to the first touch: it is the nearest we can see
    assert role_holders(three) == RoleHolders(0, 0, 0, 2)
    assert touch_roles(three)[0] == {Role.FIRST, Role.LEAD_CREATION, Role.OPPORTUNITY_CREATION}


def test_an_opportunity_created_before_the_lead_goes_to_the_lead_creation_touch() -> None:
    # Given an opportunity dated at the first touch but the lead at the third (two systems' clocks)
    four = journey([0, 1, 2, 3], lead=2.5, opportunity=0.5)
    # Then the opportunity is not put before the lead: it shares the lead's touch
    assert role_holders(four) == RoleHolders(0, 2, 2, 3)


def test_a_lead_created_after_the_last_touch_goes_to_the_last_touch() -> None:
    assert role_holders(journey([0, 1, 2], converted=4, lead=3)) == RoleHolders(0, 2, 2, 2)


def test_touches_at_the_same_moment_give_the_role_to_the_last_of_them() -> None:
    # Given two touches at the lead's creation instant (ordered by touch id)
    tied = journey([0, 1, 1, 2], lead=1)
    # Then "at or before" includes them both and the later in the journey's order holds the role
    assert role_holders(tied).lead_creation == 2


def test_a_single_touch_holds_every_role() -> None:
    assert touch_roles(journey([0], lead=3, opportunity=4)) == [set(Role)]


def test_a_journey_without_touches_holds_no_roles() -> None:
    empty = journey([], converted=1)
    with pytest.raises(ValueError, match="no touches"):
        touch_roles(empty)
    with pytest.raises(ValueError, match="no touches"):
        heuristic_weights(empty, Model.LINEAR)
    with pytest.raises(ValueError, match="no touches"):
        heuristic_credits(empty)


# ----------------------------------------------------------------------------------------------------- weights


@pytest.mark.parametrize("model", HEURISTIC_MODELS)
def test_a_single_touch_takes_everything_under_every_model(model: Model) -> None:
    one = journey([0], converted=3, lead=1, amount=12_345)
    assert heuristic_weights(one, model) == [(F(1), f"{model}: the only touch, 100 %")]
    assert minors(one, model) == [12_345]


def test_first_and_last_touch_give_everything_to_one_touch() -> None:
    three = journey([0, 1, 2], amount=999)
    assert heuristic_weights(three, Model.FIRST_TOUCH) == [
        (F(1), "first_touch: first touch 100 %"),
        (F(0), "first_touch: not the first touch"),
        (F(0), "first_touch: not the first touch"),
    ]
    assert heuristic_weights(three, Model.LAST_TOUCH) == [
        (F(0), "last_touch: not the closing touch"),
        (F(0), "last_touch: not the closing touch"),
        (F(1), "last_touch: closing touch 100 %"),
    ]
    assert minors(three, Model.FIRST_TOUCH) == [999, 0, 0]
    assert minors(three, Model.LAST_TOUCH) == [0, 0, 999]


def test_linear_shares_equally_and_gives_leftover_units_to_the_earliest_touches() -> None:
    five = journey([0, 1, 2, 3, 4])
    assert heuristic_weights(five, Model.LINEAR) == [(F(1, 5), "linear: 1 of 5 touches")] * 5
    # 100 minor units in three: 33 1/3 each, the one unit left to the earliest
    assert minors(journey([0, 1, 2], amount=100), Model.LINEAR) == [34, 33, 33]


def test_five_touches_with_each_role_on_its_own_touch() -> None:
    # Given the lead created at the second touch and the opportunity at the fourth
    five = journey([0, 1, 2, 3, 4], lead=1, opportunity=3)
    # Then U-shaped: 40 % first, 40 % lead creation, the other three share 20 %
    assert weights(five, Model.U_SHAPED) == [F(2, 5), F(2, 5), F(1, 15), F(1, 15), F(1, 15)]
    assert rules(five, Model.U_SHAPED) == [
        "u_shaped: first touch 40 %",
        "u_shaped: lead creation 40 %",
        *["u_shaped: 20 % shared by 3 other touches"] * 3,
    ]
    # And W-shaped: 30 % to each of first, lead and opportunity creation, the other two share 10 %
    assert weights(five, Model.W_SHAPED) == [F(3, 10), F(3, 10), F(1, 20), F(3, 10), F(1, 20)]
    assert rules(five, Model.W_SHAPED)[2] == "w_shaped: 10 % shared by 2 other touches"
    # And full path: 22.5 % to each of the four roles, 10 % to the one touch between them
    assert weights(five, Model.FULL_PATH) == [F(9, 40), F(9, 40), F(1, 10), F(9, 40), F(9, 40)]
    assert rules(five, Model.FULL_PATH)[2:] == [
        "full_path: 10 % shared by 1 other touch",
        "full_path: opportunity creation 22.5 %",
        "full_path: closing touch 22.5 %",
    ]
    # And in minor units: 20 % of 100.00 is 6.666... three times; the two units left go to the earlier touches
    assert minors(five, Model.U_SHAPED) == [40_00, 40_00, 6_67, 6_67, 6_66]


def test_a_touch_holding_several_roles_gets_their_sum() -> None:
    # Given no creation times: the first touch created the lead, the closing touch the opportunity
    five = journey([0, 1, 2, 3, 4])
    assert rules(five, Model.U_SHAPED)[0] == "u_shaped: first touch 40 % + lead creation 40 %"
    assert weights(five, Model.U_SHAPED) == [F(4, 5), F(1, 20), F(1, 20), F(1, 20), F(1, 20)]
    assert weights(five, Model.W_SHAPED) == [F(3, 5), F(1, 30), F(1, 30), F(1, 30), F(3, 10)]
    assert weights(five, Model.FULL_PATH) == [F(9, 20), F(1, 30), F(1, 30), F(1, 30), F(9, 20)]
    assert rules(five, Model.FULL_PATH)[4] == "full_path: opportunity creation 22.5 % + closing touch 22.5 %"


def test_three_touches_with_every_touch_holding_a_role_share_the_rest_by_their_percentages() -> None:
    # Given the lead created at the middle touch: first, lead creation, opportunity creation + closing
    three = journey([0, 1, 2], lead=1)
    # Then under W-shaped nobody is left for the 10 %: 30/30/30 scaled to a third each
    assert weights(three, Model.W_SHAPED) == [F(1, 3)] * 3
    assert rules(three, Model.W_SHAPED)[0] == (
        "w_shaped: first touch 30 %, raised to 33.33 %: no other touch takes the 10 %"
    )
    # And under full path 22.5/22.5/45 scaled by 100/90
    assert weights(three, Model.FULL_PATH) == [F(1, 4), F(1, 4), F(1, 2)]
    assert rules(three, Model.FULL_PATH)[2] == (
        "full_path: opportunity creation 22.5 % + closing touch 22.5 %, raised to 50 %: no other touch takes the 10 %"
    )
    # And under U-shaped the closing touch holds none of its roles: it is the other touch, with the whole 20 %
    assert weights(three, Model.U_SHAPED) == [F(2, 5), F(2, 5), F(1, 5)]
    assert rules(three, Model.U_SHAPED)[2] == "u_shaped: 20 % shared by 1 other touch"


@pytest.mark.parametrize(
    ("lead", "u_shaped", "w_shaped", "full_path"),
    [
        # the first touch created the lead: under U-shaped the closing touch is the other touch
        (None, [F(4, 5), F(1, 5)], [F(2, 3), F(1, 3)], [F(1, 2), F(1, 2)]),
        (0.5, [F(4, 5), F(1, 5)], [F(2, 3), F(1, 3)], [F(1, 2), F(1, 2)]),
        # the closing touch created the lead: every touch holds a role under every model
        (1, [F(1, 2), F(1, 2)], [F(1, 3), F(2, 3)], [F(1, 4), F(3, 4)]),
    ],
)
def test_two_touches(lead: float | None, u_shaped: list[F], w_shaped: list[F], full_path: list[F]) -> None:
    two = journey([0, 1], lead=lead)
    assert weights(two, Model.U_SHAPED) == u_shaped
    assert weights(two, Model.W_SHAPED) == w_shaped
    assert weights(two, Model.FULL_PATH) == full_path


def test_time_decay_halves_a_touch_per_half_life_before_the_conversion() -> None:
    # Given touches two half-lives, one half-life and none before the conversion: 1/4, 1/2 and 1
    three = journey([0, 7, 14])
    # Then normalized by their 7/4: exactly 1/7, 2/7, 4/7
    assert weights(three, Model.TIME_DECAY) == [F(1, 7), F(2, 7), F(4, 7)]
    assert rules(three, Model.TIME_DECAY) == [
        "time_decay: 2^(-14.00 d / 7 d) = 0.2500 of 1.7500 in all",
        "time_decay: 2^(-7.00 d / 7 d) = 0.5000 of 1.7500 in all",
        "time_decay: 2^(-0.00 d / 7 d) = 1.0000 of 1.7500 in all",
    ]
    # And a 14-day half-life makes the old touches count more
    assert weights(three, Model.TIME_DECAY, 14 * DAY)[0] > F(1, 7)


def test_time_decay_weighs_touches_at_the_same_moment_the_same() -> None:
    # Given two touches half a half-life before the conversion and one at it
    three = journey([0, 0, 3.5])
    decayed = weights(three, Model.TIME_DECAY)
    assert decayed[0] == decayed[1]
    assert sum(decayed) == 1
    # And each is 2^(-1/2) of 1 + 2 x 2^(-1/2), to 40 digits
    assert abs(decayed[0] - F(0.5**0.5 / (1 + 2 * 0.5**0.5))) < F(1, 10**15)
    assert rules(three, Model.TIME_DECAY)[0] == "time_decay: 2^(-3.50 d / 7 d) = 0.7071 of 2.4142 in all"


def test_time_decay_does_not_depend_on_how_long_after_the_closing_touch_the_conversion_came() -> None:
    # Normalizing cancels the common factor: a later conversion shrinks every touch alike
    assert weights(journey([0, 2, 3], converted=3), Model.TIME_DECAY) == weights(
        journey([0, 2, 3], converted=40), Model.TIME_DECAY
    )


def test_time_decay_gives_nothing_to_a_touch_far_older_than_the_closing_touch() -> None:
    # Given a touch 1000 half-lives before the closing touch (2^-1000 of it: below the 40 digits)
    far = journey([0, 940, 1000])
    decayed = weights(far, Model.TIME_DECAY, DAY)
    # Then it weighs 0, the one 60 half-lives back a tiny but exact share, and they still sum to 1
    assert decayed[0] == 0
    assert 0 < decayed[1] < F(1, 10**18)
    assert sum(decayed) == 1


def test_time_decay_needs_a_positive_half_life_and_touches_before_the_conversion() -> None:
    with pytest.raises(ValueError, match="positive half-life"):
        heuristic_weights(journey([0, 1]), Model.TIME_DECAY, timedelta(0))
    with pytest.raises(ValueError, match="touch after it"):
        heuristic_weights(journey([0, 2], converted=1), Model.TIME_DECAY)


def test_time_decay_defaults_to_a_seven_day_half_life() -> None:
    three = journey([0, 3, 10])
    assert heuristic_weights(three, Model.TIME_DECAY) == heuristic_weights(three, Model.TIME_DECAY, 7 * DAY)
    assert heuristic_credits(three)[Model.TIME_DECAY] == heuristic_credits(three, 7 * DAY)[Model.TIME_DECAY]


def test_the_data_driven_model_has_no_heuristic_weights() -> None:
    with pytest.raises(ValueError, match="not a heuristic model"):
        heuristic_weights(journey([0, 1]), Model.DATA_DRIVEN)


# ----------------------------------------------------------------------------------------------------- credits


def test_credits_name_the_touch_its_exact_weight_and_the_rule() -> None:
    five = journey([0, 1, 2, 3, 4], lead=1, opportunity=3, amount=1_000)
    credits = heuristic_credits(five)
    # Every heuristic model, in the models' order
    assert list(credits) == list(HEURISTIC_MODELS)
    w_shaped = credits[Model.W_SHAPED]
    assert [credit.touch_id for credit in w_shaped] == ["t0", "t1", "t2", "t3", "t4"]
    assert [credit.minor for credit in w_shaped] == [300, 300, 50, 300, 50]
    assert w_shaped[3].weight == F(3, 10)
    assert w_shaped[3].rule == "w_shaped: opportunity creation 30 %"


def test_a_zero_amount_credits_every_touch_zero() -> None:
    for model, credits in heuristic_credits(journey([0, 1, 2], amount=0)).items():
        assert [credit.minor for credit in credits] == [0, 0, 0], model
        assert sum(credit.weight for credit in credits) == 1


def test_a_negative_amount_is_refused() -> None:
    refund = journey([0, 1], amount=-5)
    with pytest.raises(ValueError, match="negative amount"):
        heuristic_credits(refund)
    with pytest.raises(ValueError, match="negative amount"):
        credits_for(refund, Model.LINEAR, [(F(1, 2), "half"), (F(1, 2), "half")])


def test_credits_for_takes_any_models_weights() -> None:
    # Given data-driven weights from elsewhere: two thirds and a third of 1.00
    credits = credits_for(journey([0, 1], amount=100), Model.DATA_DRIVEN, [(F(2, 3), "a"), (F(1, 3), "b")])
    # Then 66.67 and 33.33 round to 67 and 33 (the larger remainder first)
    assert [(credit.minor, credit.weight, credit.rule) for credit in credits] == [
        (67, F(2, 3), "a"),
        (33, F(1, 3), "b"),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        [(F(1), "all")],  # one weight for two touches
        [(F(1, 2), "half"), (F(1, 3), "third")],  # not summing to 1
        [(F(3, 2), "more"), (F(-1, 2), "less")],  # negative
    ],
)
def test_credits_for_refuses_weights_that_do_not_fit_the_journey(bad: list[tuple[F, str]]) -> None:
    with pytest.raises(ValueError, match="data_driven"):
        credits_for(journey([0, 1]), Model.DATA_DRIVEN, bad)


@pytest.mark.parametrize("model", HEURISTIC_MODELS)
def test_all_at_once_gives_the_credits_of_each_model_alone(model: Model) -> None:
    # heuristic_credits allocates by integer numerators; the same shares as by the fractions
    seven = journey([0, 0.3, 1, 2.25, 3, 5, 8], lead=2.5, opportunity=5, amount=1_000_003)
    assert heuristic_credits(seven)[model] == credits_for(seven, model, heuristic_weights(seven, model))
