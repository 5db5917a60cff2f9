"""The data-driven (Markov chain, removal effect) model: hand-computed chains give their exact conversion
probability and removal effects, self-loops and empty paths change nothing, the fit is the same whatever the
order or grouping of its journeys and reloads exactly from its record, each journey's credits are
non-negative and sum to its amount, and the fit agrees with an independent exact solver and with
ChannelAttribution (a simulation, so within a stated tolerance)."""

from __future__ import annotations

import contextlib
import io
import json
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from itertools import groupby, pairwise
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.attribution.journeys import Journey, Touch
from shared.attribution.markov import (
    CONVERSION,
    NULL,
    START,
    MarkovFit,
    PathCount,
    data_driven_credits,
    data_driven_weights,
    fit_markov,
    path_counts,
)

with contextlib.redirect_stdout(io.StringIO()):  # it advertises its Pro edition on import
    import ChannelAttribution

SETTINGS = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

# paths "a>b" converted; "b" not; "a>c" once converted, once not; "c" converted: 3 conversions of 5 journeys
SMALL = [PathCount(("a", "b"), 1, 0), PathCount(("b",), 0, 1), PathCount(("a", "c"), 1, 1), PathCount(("c",), 1, 0)]


def journey(*channels: str, amount: int = 10_000) -> Journey:
    touches = tuple(Touch(f"t{n}", T0 + timedelta(hours=n), channel) for n, channel in enumerate(channels, start=1))
    return Journey("conv-1", T0 + timedelta(days=1), amount, "USD", touches)


# ------------------------------------------------------------------------------------------------ by hand


def test_small_chain_gives_the_hand_computed_probability_and_removal_effects() -> None:
    # Given the small example: start > a 3, start > b 1, start > c 1; a > b 1, a > c 2;
    # b > conversion 1, b > null 1; c > conversion 2, c > null 1
    # When the chain is fitted
    fit = fit_markov(SMALL)
    # Then h(b) = 1/2, h(c) = 2/3, h(a) = 1/3 * 1/2 + 2/3 * 2/3 = 11/18 and
    # P(conversion) = 3/5 * 11/18 + 1/5 * 1/2 + 1/5 * 2/3 = 3/5, the observed conversion rate
    assert (fit.journeys, fit.conversions) == (5, 3)
    assert fit.conversion_probability == Fraction(3, 5)
    # without a: 1/5 * 1/2 + 1/5 * 2/3 = 7/30; without b: h(a) = 4/9, 3/5 * 4/9 + 1/5 * 2/3 = 2/5;
    # without c: h(a) = 1/6, 3/5 * 1/6 + 1/5 * 1/2 = 1/5
    assert fit.removal_effects == {
        "a": 1 - Fraction(7, 30) / Fraction(3, 5),  # 11/18, 0.6111
        "b": 1 - Fraction(2, 5) / Fraction(3, 5),  # 1/3
        "c": 1 - Fraction(1, 5) / Fraction(3, 5),  # 2/3
    }
    assert fit.removal_effects["a"] == Fraction(11, 18)
    # And the shares are the removal effects over their sum 29/18, the conversions divided the same way
    assert fit.channel_shares() == {"a": Fraction(11, 29), "b": Fraction(6, 29), "c": Fraction(12, 29)}
    assert fit.channel_conversions() == {"a": Fraction(33, 29), "b": Fraction(18, 29), "c": Fraction(36, 29)}
    # And the transitions are the counts behind them
    assert fit.transitions == {
        (START, "a"): 3,
        (START, "b"): 1,
        (START, "c"): 1,
        ("a", "b"): 1,
        ("a", "c"): 2,
        ("b", CONVERSION): 1,
        ("b", NULL): 1,
        ("c", CONVERSION): 2,
        ("c", NULL): 1,
    }
    assert fit.transition_probability("a", "c") == Fraction(2, 3)
    assert fit.transition_probability(CONVERSION, "a") == 0


def test_a_cycle_between_channels_is_solved_exactly() -> None:
    # Given "a>b>a" converted, "b" not, "a>b" not: a > b 2, b > a 1, a > conversion 1, b > null 2
    fit = fit_markov([PathCount(("a", "b", "a"), 1, 0), PathCount(("b",), 0, 1), PathCount(("a", "b"), 0, 1)])
    # Then h(a) = 2/3 h(b) + 1/3 and h(b) = 1/3 h(a): h(a) = 3/7, h(b) = 1/7, so
    # P(conversion) = 2/3 * 3/7 + 1/3 * 1/7 = 1/3 (1 conversion in 3 journeys)
    assert fit.conversion_probability == Fraction(1, 3)
    # And without a nothing converts; without b, h(a) = 1/3 and P = 2/3 * 1/3 = 2/9
    assert fit.removal_effects == {"a": Fraction(1), "b": 1 - Fraction(2, 9) / Fraction(1, 3)}


def test_self_loops_and_empty_paths_change_nothing() -> None:
    # Given the small example with its channels repeated in place, and journeys without any touch
    repeated = [
        PathCount(("a", "a", "b"), 1, 0),
        PathCount(("b", "b", "b"), 0, 1),
        PathCount(("a", "c", "c"), 1, 1),
        PathCount(("c",), 1, 0),
        PathCount((), 4, 9),
    ]
    # When it is fitted
    # Then it is exactly the fit without them: a repeat is a self-loop, which does not move absorption, and
    # an empty path says nothing about any channel
    assert fit_markov(repeated) == fit_markov(SMALL)


def test_no_conversion_gives_no_removal_effect_and_linear_credit() -> None:
    # Given journeys none of which converted
    fit = fit_markov([PathCount(("a", "b"), 0, 3), PathCount(("b",), 0, 1)])
    # Then nothing converts, no channel has a removal effect, and a journey is credited linearly, saying why
    assert fit.conversion_probability == 0
    assert fit.removal_effects == {"a": 0, "b": 0}
    assert fit.channel_shares() == {"a": 0, "b": 0}
    assert (
        data_driven_weights(["a", "b"], fit)
        == [(Fraction(1, 2), "data_driven: no channel of this journey has a removal effect yet, linear")] * 2
    )


def test_no_journeys_give_an_empty_fit() -> None:
    fit = fit_markov([PathCount((), 2, 0)])
    assert (fit.journeys, fit.conversions, fit.conversion_probability) == (0, 0, 0)
    assert fit.removal_effects == {}
    assert fit.transitions == {}


@pytest.mark.parametrize(
    ("channels", "conversions", "nulls"),
    [(("(start)",), 1, 0), (("a", "(null)"), 1, 0), (("a",), -1, 0), (("a",), 0, 1.5), (("a",), True, 0)],
)
def test_bad_path_counts_are_refused(channels: tuple[str, ...], conversions: Any, nulls: Any) -> None:
    with pytest.raises(ValueError, match=r"PathCount|states"):
        PathCount(channels, conversions, nulls)


def test_path_counts_groups_journeys_by_path() -> None:
    assert path_counts([(["a", "b"], True), (("a", "b"), False), (["c"], False), (["a", "b"], True)]) == [
        PathCount(("a", "b"), 2, 1),
        PathCount(("c",), 0, 1),
    ]


def test_a_journey_is_credited_by_removal_effect_shared_among_its_touches() -> None:
    # Given the small example's fit (a 11/18, b 1/3) and a journey a, b, a, then a channel the fit never saw
    fit = fit_markov(SMALL)
    # When its touches are weighted
    weights = data_driven_weights(["a", "b", "a", "webinar"], fit)
    # Then a's 11/18 of 17/18 goes half to each of its touches, b gets 6/17, the unknown channel nothing
    assert weights == [
        (Fraction(11, 34), "data_driven: a removal effect 0.6111 of 0.9444 in this journey, shared by 2 touches"),
        (Fraction(6, 17), "data_driven: b removal effect 0.3333 of 0.9444 in this journey"),
        (Fraction(11, 34), "data_driven: a removal effect 0.6111 of 0.9444 in this journey, shared by 2 touches"),
        (Fraction(0), "data_driven: webinar is not in the fitted model, no credit"),
    ]
    # And 100.00 is shared by largest remainder: 32.3529.. twice, 35.2941.., the left-over cent to b
    credits = data_driven_credits(journey("a", "b", "a", "webinar"), fit)
    assert [(c.touch_id, c.minor, c.weight) for c in credits] == [
        ("t1", 3235, Fraction(11, 34)),
        ("t2", 3530, Fraction(6, 17)),
        ("t3", 3235, Fraction(11, 34)),
        ("t4", 0, Fraction(0)),
    ]


def test_without_a_fit_or_a_known_channel_the_journey_is_credited_linearly() -> None:
    # Given no fit yet
    credits = data_driven_credits(journey("a", "b", "c"), None)
    # Then each touch gets a third, and the rule says why
    assert [c.minor for c in credits] == [3334, 3333, 3333]
    assert {c.rule for c in credits} == {"data_driven: no fitted model yet, linear"}
    # Given a fit that knows none of the journey's channels
    weights = data_driven_weights(["x", "y"], fit_markov(SMALL))
    assert weights == [(Fraction(1, 2), "data_driven: no channel of this journey has a removal effect yet, linear")] * 2
    # And a journey without touches has no credits
    assert data_driven_credits(journey(), fit_markov(SMALL)) == []


def test_a_channel_with_no_removal_effect_gets_nothing() -> None:
    # Given c only ever ends journeys that did not convert
    fit = fit_markov([PathCount(("a",), 2, 0), PathCount(("c",), 0, 3), PathCount(("a", "c"), 0, 1)])
    assert fit.removal_effects["c"] == 0
    # Then in a journey a, c the conversion is all a's
    assert data_driven_weights(["a", "c"], fit) == [
        (Fraction(1), "data_driven: a removal effect 1.0000 of 1.0000 in this journey"),
        (Fraction(0), "data_driven: c has no removal effect, no credit"),
    ]


def test_the_record_is_json_and_reloads_exactly() -> None:
    fit = fit_markov(SMALL)
    record = json.loads(json.dumps(fit.to_record()))
    assert record["conversion_probability"] == "3/5"
    assert record["removal_effects"] == {"a": "11/18", "b": "1/3", "c": "2/3"}
    assert record["transitions"][0] == ["(start)", "a", 3]
    assert MarkovFit.from_record(record) == fit


@pytest.mark.parametrize(
    "change",
    [
        {"journeys": -1},
        {"conversions": "3"},
        {"conversion_probability": 0.6},
        {"conversion_probability": "6/5"},
        {"removal_effects": {"a": "x"}},
        {"transitions": [["(start)", "a"]]},
        {"transitions": [["(start)", "a", 0]]},
        {"transitions": None},
    ],
)
def test_a_malformed_record_is_refused(change: dict[str, Any]) -> None:
    record = fit_markov(SMALL).to_record() | change
    with pytest.raises(ValueError):  # noqa: PT011 - each malformation has its own message
        MarkovFit.from_record(record)


def test_a_record_missing_fields_is_refused() -> None:
    with pytest.raises(ValueError, match="not a Markov fit record"):
        MarkovFit.from_record({"journeys": 1})


# ------------------------------------------------------------------------------------------------ properties

CHANNELS = ["a", "b", "c", "d", "e"]
channel_paths = st.lists(st.sampled_from(CHANNELS), max_size=6).map(tuple)
path_lists = st.lists(
    st.builds(PathCount, channel_paths, st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=12
)


def oracle(paths: Sequence[PathCount]) -> tuple[Fraction, dict[str, Fraction]]:
    """An independent exact solver: transition probabilities from the paths with repeats collapsed, then
    Gauss-Jordan over fractions on (I - Q) h = r, once per removed channel (its column sent to null)."""
    counts: dict[str, dict[str, int]] = {}
    for path in paths:
        collapsed = [channel for channel, _ in groupby(path.channels)]
        if not collapsed or path.conversions + path.nulls == 0:  # no journey: no transition
            continue
        states = [START, *collapsed]
        for source, target in pairwise(states):
            counts.setdefault(source, {}).setdefault(target, 0)
            counts[source][target] += path.conversions + path.nulls
        for end, n in ((CONVERSION, path.conversions), (NULL, path.nulls)):
            counts.setdefault(collapsed[-1], {}).setdefault(end, 0)
            counts[collapsed[-1]][end] += n
    channels = sorted(set(counts) - {START})

    def probability(removed: str | None) -> Fraction:
        transient = [START, *(c for c in channels if c != removed)]
        rows = []
        for source in transient:
            out = sum(counts.get(source, {}).values())
            row = [Fraction(int(source == target)) for target in transient]
            for target, n in counts.get(source, {}).items():
                if target in transient:
                    row[transient.index(target)] -= Fraction(n, out)
            rows.append([*row, Fraction(counts.get(source, {}).get(CONVERSION, 0), out) if out else Fraction(0)])
        for k in range(len(rows)):
            pivot = next(i for i in range(k, len(rows)) if rows[i][k] != 0)
            rows[k], rows[pivot] = rows[pivot], rows[k]
            rows[k] = [x / rows[k][k] for x in rows[k]]
            for i in range(len(rows)):
                if i != k and rows[i][k]:
                    rows[i] = [x - rows[i][k] * y for x, y in zip(rows[i], rows[k], strict=True)]
        return rows[0][-1]

    full = probability(None)
    return full, {c: (1 - probability(c) / full if full else Fraction(0)) for c in channels}


@SETTINGS
@given(paths=path_lists)
def test_the_fit_is_the_independent_exact_solution(paths: list[PathCount]) -> None:
    fit = fit_markov(paths)
    assert (fit.conversion_probability, fit.removal_effects) == oracle(paths)
    # And on the journeys it was estimated from, P(conversion) is the observed conversion rate
    if fit.journeys:
        assert fit.conversion_probability == Fraction(fit.conversions, fit.journeys)


@SETTINGS
@given(paths=path_lists)
def test_removal_effects_are_in_0_1_and_shares_sum_to_1(paths: list[PathCount]) -> None:
    fit = fit_markov(paths)
    assert all(0 <= effect <= 1 for effect in fit.removal_effects.values())
    shares = fit.channel_shares()
    assert sum(shares.values()) == (1 if any(fit.removal_effects.values()) else 0)
    assert sum(fit.channel_conversions().values()) == (fit.conversions if any(shares.values()) else 0)


@SETTINGS
@given(paths=path_lists, seed=st.integers(0, 2**32), repeats=st.lists(st.integers(1, 3), min_size=6, max_size=6))
def test_order_grouping_and_repeats_do_not_change_the_fit(
    paths: list[PathCount], seed: int, repeats: list[int]
) -> None:
    fit = fit_markov(paths)
    # the same journeys shuffled, each path split into its converted and its lost journeys
    shuffled = [PathCount(p.channels, p.conversions, 0) for p in paths] + [
        PathCount(p.channels, 0, p.nulls) for p in paths
    ]
    random.Random(seed).shuffle(shuffled)  # noqa: S311 -- a reproducible order, not a secret
    assert fit_markov(shuffled) == fit
    assert fit_markov(shuffled).to_record() == fit.to_record()
    # each touch repeated in place 1 to 3 times: self-loops only
    stuttered = [
        PathCount(tuple(c for c, n in zip(p.channels, repeats, strict=False) for _ in range(n)), p.conversions, p.nulls)
        for p in paths
    ]
    assert fit_markov(stuttered) == fit


@SETTINGS
@given(paths=path_lists)
def test_the_record_round_trips_exactly(paths: list[PathCount]) -> None:
    fit = fit_markov(paths)
    assert MarkovFit.from_record(json.loads(json.dumps(fit.to_record()))) == fit


@SETTINGS
@given(
    paths=path_lists,
    no_fit=st.booleans(),
    channels=st.lists(st.sampled_from([*CHANNELS, "new"]), max_size=8),
    amount=st.integers(0, 10**9),
)
def test_credits_are_non_negative_and_sum_exactly_to_the_amount(
    paths: list[PathCount], no_fit: bool, channels: list[str], amount: int
) -> None:
    fit = None if no_fit else fit_markov(paths)
    credits = data_driven_credits(journey(*channels, amount=amount), fit)
    assert len(credits) == len(channels)
    if channels:
        assert sum(c.weight for c in credits) == 1
        assert sum(c.minor for c in credits) == amount
    for credit in credits:
        assert credit.minor >= 0
        assert abs(credit.minor - credit.weight * amount) < 1  # its exact share rounded down or up
        assert credit.rule.startswith("data_driven: ")
    assert data_driven_credits(journey(*channels, amount=amount), fit) == credits  # deterministic


@SETTINGS
@given(paths=path_lists, no_fit=st.booleans(), channel=st.sampled_from([*CHANNELS, "new"]), touches=st.integers(1, 5))
def test_a_one_channel_journey_gets_all_the_credit(
    paths: list[PathCount], no_fit: bool, channel: str, touches: int
) -> None:
    fit = None if no_fit else fit_markov(paths)
    weights = data_driven_weights([channel] * touches, fit)
    assert [weight for weight, _ in weights] == [Fraction(1, touches)] * touches


# ------------------------------------------------------------------------------------------------ ChannelAttribution

# ChannelAttribution estimates removal effects by simulating paths through the fitted chain (it has no exact
# mode; `seed` does not move its results). With 10^6 simulated paths its removal effects were within 0.006 of
# the exact ones, and its channel conversions within 0.003 of a channel's share of all conversions, over 20
# generated datasets of 3,000 journeys and 4 to 14 channels; the tolerances below leave about 3x that.
# 10^7 simulations bring it within 0.002, at 1 s a dataset.
SIMULATIONS = 1_000_000
REMOVAL_TOLERANCE = 0.02
SHARE_TOLERANCE = 0.01


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def channel_attribution(paths: Sequence[PathCount], simulations: int = SIMULATIONS) -> dict[str, Any]:
    """ChannelAttribution's first-order model of `paths` (it takes no empty path): its removal effects,
    channel conversions and transition probabilities, with its channel numbers turned back into names."""
    rows = [p for p in paths if p.channels]
    data = pd.DataFrame(
        {
            "path": [" > ".join(p.channels) for p in rows],
            "total_conversions": [p.conversions for p in rows],
            "total_null": [p.nulls for p in rows],
        }
    )
    with quiet():
        result = ChannelAttribution.markov_model(
            data,
            "path",
            "total_conversions",
            var_null="total_null",
            order=1,
            nsim_start=simulations,
            max_step=500,  # not the longest observed path: a simulated path is cut there, a bias towards null
            out_more=True,
            verbose=False,
            flg_pro=False,
        )
    effects = result["removal_effects"]
    names = dict(enumerate(effects["channel_name"], start=1))  # its states are numbered in this order
    matrix = result["transition_matrix"]
    return {
        "removal_effects": dict(zip(effects["channel_name"], effects["removal_effect"], strict=True)),
        "conversions": dict(zip(result["result"]["channel_name"], result["result"]["total_conversions"], strict=True)),
        "transitions": {
            (names.get(int(s)) if s.isdigit() else s, names.get(int(t)) if t.isdigit() else t): p
            for s, t, p in zip(
                matrix["channel_from"], matrix["channel_to"], matrix["transition_probability"], strict=True
            )
        },
    }


def generated_paths(seed: int, channels: int, journeys: int = 3_000) -> list[PathCount]:
    """Journeys walked through a random chain: each channel has its own chance to stop, to convert when last
    and next-channel weights (itself included, so repeats occur); c0 lifts conversion; some have no touch."""
    rng = random.Random(seed)  # noqa: S311 -- reproducible synthetic data, not secrets
    names = [f"c{i}" for i in range(channels)]
    stop = {c: rng.uniform(0.15, 0.5) for c in names}
    convert = {c: rng.uniform(0.02, 0.3) for c in names}
    following = {c: [rng.random() for _ in names] for c in names}
    walked: list[tuple[list[str], bool]] = []
    for _ in range(journeys):
        if rng.random() < 0.02:
            walked.append(([], rng.random() < 0.5))
            continue
        channel = rng.choice(names)
        path = [channel]
        while rng.random() > stop[channel] and len(path) < 20:
            channel = rng.choices(names, following[channel])[0]
            path.append(channel)
        walked.append((path, rng.random() < convert[path[-1]] + 0.05 * ("c0" in path)))
    return path_counts(walked)


def test_channel_attribution_matches_the_hand_computed_example() -> None:
    # Given the small example, simulated ten times as long
    theirs = channel_attribution(SMALL, simulations=10_000_000)
    # Then its removal effects are the exact 11/18, 1/3, 2/3 to within 0.002
    assert theirs["removal_effects"] == pytest.approx({"a": 11 / 18, "b": 1 / 3, "c": 2 / 3}, abs=0.002)


@pytest.mark.parametrize(("seed", "channels"), [(1, 4), (2, 6), (3, 10), (4, 14)])
def test_channel_attribution_agrees_on_generated_journeys(seed: int, channels: int) -> None:
    # Given a few thousand journeys with repeats, loops and a few without touches
    paths = generated_paths(seed, channels)
    # When both fit them
    ours = fit_markov(paths)
    theirs = channel_attribution(paths)
    # Then the transition probabilities are the same (so repeats and empty paths are treated alike)
    assert theirs["transitions"] == pytest.approx(
        {pair: float(ours.transition_probability(*pair)) for pair in ours.transitions}, abs=1e-9
    )
    # And the removal effects and channel conversions agree to within the simulation's tolerance
    assert theirs["removal_effects"] == pytest.approx(
        {c: float(e) for c, e in ours.removal_effects.items()}, abs=REMOVAL_TOLERANCE
    )
    share_tolerance = SHARE_TOLERANCE * ours.conversions
    assert theirs["conversions"] == pytest.approx(
        {c: float(n) for c, n in ours.channel_conversions().items()}, abs=share_tolerance
    )
