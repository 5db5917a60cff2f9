"""Fit bands compare exactly: a profile's number and a band's bounds are Decimals, never floats."""

from __future__ import annotations

import json
from decimal import Decimal, localcontext
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.leads.scoring_models import document_of
from shared.scoring import ModelError, Profile, Score, ScoringModel, load_model, parse_model, score
from shared.scoring.model import BandRule
from tests.unit.test_scoring_support import AS_OF, build, model_dict

SETTINGS = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def fit_of(rules: list[dict[str, Any]], profile: Profile) -> Score:
    return score(build(fit_rules=rules, icp_min=0), profile, [], AS_OF)


def model_text(rules: list[dict[str, Any]], numbers: dict[str, str]) -> str:
    """The model as JSON text, each `"<name>"` placeholder string replaced by the raw JSON number numbers[name]."""
    text = json.dumps(model_dict(fit_rules=rules, icp_min=0))
    for name, number in numbers.items():
        text = text.replace(json.dumps(name), number)
    return text


def matched(model: ScoringModel, profile: Profile) -> list[tuple[str, str]]:
    return [(line.rule_id, line.matched) for line in score(model, profile, [], AS_OF).fit_lines]


def band(rule_id: str, field: str = "attributes.n", **extra: Any) -> dict[str, Any]:
    """A band rule worth 10 points; `extra`: its bounds, group and so on."""
    return {"id": rule_id, "kind": "band", "field": field, "points": 10, **extra}


# ------------------------------------------------------------------------------------- profile values are exact


@pytest.mark.parametrize(
    ("value", "scores"),
    [
        ("9999999.99999999999", False),  # a float reads this as 1e7 exactly
        ("9,999,999.999999999999999", False),
        ("10000000", True),
        ("10,000,000.000000000000001", True),
    ],
)
def test_a_number_written_as_text_is_compared_with_the_band_exactly(value: str, scores: bool) -> None:
    # given a band from 10,000,000 up
    rule = band("arr", field="attributes.arr", min=10_000_000)
    # when a profile whose value lies a hair off the bound is scored
    result = fit_of([rule], Profile(attributes={"arr": value}))
    # then it scores exactly when the value is at or above the bound
    assert result.fit_score == (10 if scores else 0)


@pytest.mark.parametrize(("value", "scores"), [(9007199254740992, False), (9007199254740993, True)])
def test_integers_beyond_a_floats_precision_are_compared_exactly(value: int, scores: bool) -> None:
    # given a band whose bound a float cannot hold (2**53 + 1)
    rule = band("big", min=9007199254740993)
    # when the integer just below it, or the bound itself, is scored
    result = fit_of([rule], Profile(attributes={"n": value}))
    # then only the bound scores
    assert result.fit_score == (10 if scores else 0)


@pytest.mark.parametrize(("value", "scores"), [("49999999.999999999999", True), ("50000000", False)])
def test_a_value_just_below_the_max_is_inside_the_band(value: str, scores: bool) -> None:
    # given a band below 50,000,000 (max exclusive)
    rule = band("rev", max=50_000_000)
    # when a value a hair below the max (which a float rounds up to it), or the max itself, is scored
    result = fit_of([rule], Profile(attributes={"n": value}))
    # then only the value below the max is inside the band
    assert result.fit_score == (10 if scores else 0)


@pytest.mark.parametrize(("value", "scores"), [(Decimal("9999999.99999999999"), False), (Decimal("1E+7"), True)])
def test_a_decimal_attribute_is_read_as_the_number_it_is(value: Decimal, scores: bool) -> None:
    # given a band from 10,000,000 up and a custom attribute held as a Decimal (as a DynamoDB item gives it)
    rule = band("arr", field="attributes.arr", min=10_000_000)
    # when it is scored
    result = fit_of([rule], Profile(attributes={"arr": value}))
    # then it is compared as the number it is, not ignored
    assert result.fit_score == (10 if scores else 0)


@pytest.mark.parametrize(
    "value",
    ["inf", "Infinity", "-inf", "NaN", "snan", float("inf"), float("nan"), Decimal("Infinity"), Decimal("NaN"), True],
)
def test_what_is_not_a_finite_number_matches_no_band(value: object) -> None:
    # given open-ended bands on either side and a closed one
    rules = [band("low", group="g", max=0), band("high", group="g", min=1000), band("mid", min=0, max=1000)]
    # when a profile whose value is an infinity, a NaN or a boolean is scored
    result = fit_of(rules, Profile(attributes={"n": value}))
    # then no band matches (and nothing raises)
    assert result.fit_lines == ()


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (2e7, "20,000,000"),
        (12000, "12,000"),
        ("1,200", "1,200"),
        ("1234.50", "1,234.5"),
        (0.1, "0.1"),
        (9007199254740993, "9,007,199,254,740,993"),
        ("1e40", "1E+40"),
    ],
)
def test_a_fit_line_shows_the_number_a_band_matched_on(value: object, shown: str) -> None:
    # given an open-ended band; when a profile is scored, then its line shows the exact number readably
    assert matched(build(fit_rules=[band("any", min=-1)], icp_min=0), Profile(attributes={"n": value})) == [
        ("any", shown)
    ]


# ------------------------------------------------------------------------------------------ band bounds are exact


def test_a_bound_written_as_a_json_float_is_the_decimal_of_its_text() -> None:
    # given a model file whose bounds are JSON numbers with more digits than a float holds
    rules = [band("tenth", min="LOW", max="HIGH")]
    model = parse_model(model_text(rules, {"LOW": "0.1", "HIGH": "10000000.000000000001"}))
    # when it is loaded, then each bound is the Decimal of its text
    rule = model.fit.rules[0]
    assert isinstance(rule, BandRule)
    assert (rule.min, rule.max) == (Decimal("0.1"), Decimal("10000000.000000000001"))
    # and profiles a hair inside and outside each bound are told apart
    assert matched(model, Profile(attributes={"n": "0.0999999999999999999"})) == []
    assert matched(model, Profile(attributes={"n": 0.1})) == [("tenth", "0.1")]
    assert matched(model, Profile(attributes={"n": 10_000_000})) == [("tenth", "10,000,000")]
    assert matched(model, Profile(attributes={"n": "10000000.000000000001"})) == []


def test_the_shipped_model_loads_with_exact_bounds() -> None:
    # given the shipped model file; when it is loaded
    model = load_model()
    bands = [rule for rule in model.fit.rules if isinstance(rule, BandRule)]
    # then its bands are there, bounded by Decimals
    assert bands
    assert all(isinstance(b, Decimal) for rule in bands for b in (rule.min, rule.max) if b is not None)


@pytest.mark.parametrize(("number", "kind"), [("NaN", "min"), ("Infinity", "max"), ("-Infinity", "min")])
def test_a_nan_or_infinite_bound_in_the_file_names_the_rule(number: str, kind: str) -> None:
    # given a model file with a NaN or infinite bound (Python's JSON reads these tokens)
    text = model_text([band("revenue-band", **{kind: "BOUND"})], {"BOUND": number})
    # when it is loaded, then it is refused, naming the rule and the bound
    with pytest.raises(ModelError) as caught:
        parse_model(text)
    assert f'fit rule "revenue-band": {kind}: Input should be a finite number' in str(caught.value)


@pytest.mark.parametrize("bound", [Decimal("NaN"), Decimal("-Infinity"), float("inf")])
def test_a_nan_or_infinite_bound_in_a_mapping_names_the_rule(bound: object) -> None:
    with pytest.raises(ModelError) as caught:
        build(fit_rules=[band("revenue-band", min=bound)])
    assert 'fit rule "revenue-band": min: Input should be a finite number' in str(caught.value)


def test_the_stored_document_keeps_bounds_exact_and_as_they_were_written() -> None:
    # given a model with a bound a float cannot hold and one it can
    model = build(fit_rules=[band("big", min=9007199254740993, max=2**60), band("small", min=0.5, max=200)])
    # when it is stored (as the document a rescore applies) and read back
    document = document_of(model)
    again = parse_model(document)
    # then the bounds come back exactly, as the same document
    assert [(r.min, r.max) for r in again.fit.rules if isinstance(r, BandRule)] == [
        (Decimal(9007199254740993), Decimal(2**60)),
        (Decimal("0.5"), Decimal(200)),
    ]
    assert document_of(again) == document
    # and a bound a float spells exactly keeps the JSON number it always had (an applied model's hash holds)
    small = json.loads(document)["fit"]["rules"][1]
    assert (small["min"], small["max"]) == (0.5, 200.0)


# ------------------------------------------------------------------------------------------------ property test

ANCHORS = st.builds(
    lambda digits, shift: Decimal(digits).scaleb(shift),
    st.integers(-(10**22), 10**22),
    st.integers(-12, 6),
)


@st.composite
def near(draw: st.DrawFn, anchor: Decimal) -> Decimal:
    """A number at, or a hair either side of, the anchor (far beyond a float's precision)."""
    step = draw(st.integers(-2, 2))
    shift = draw(st.integers(-40, 0))
    with localcontext(prec=200):
        return anchor + Decimal(step).scaleb(shift)


@st.composite
def band_and_value(draw: st.DrawFn) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    low, mid, high = sorted(draw(st.lists(ANCHORS, min_size=3, max_size=3, unique=True)))
    value = draw(st.one_of(near(low), near(mid), near(high), ANCHORS))
    return low, mid, high, value


def forms(value: Decimal) -> list[tuple[object, Decimal]]:
    """The ways a profile may hold the value, each with the exact number it stands for."""
    held: list[tuple[object, Decimal]] = [(value, value), (str(value), value), (f"{value:,f}", value)]
    if value == value.to_integral_value():
        held.append((int(value), value))
    as_float = float(value)
    held.append((as_float, Decimal(repr(as_float))))  # a float stands for the decimal it prints as
    return held


@SETTINGS
@given(band_and_value())
def test_fit_matching_a_number_agrees_with_exact_decimal_comparison(
    case: tuple[Decimal, Decimal, Decimal, Decimal],
) -> None:
    # given a fused group of two bands [low, mid) and [mid, high), and a lone band [mid, ...), bounds in JSON text
    low, mid, high, value = case
    rules = [
        band("lower", group="g", min="LOW", max="MID"),
        band("upper", group="g", min="MID", max="HIGH"),
        band("lone", min="MID"),
    ]
    model = parse_model(model_text(rules, {"LOW": str(low), "MID": str(mid), "HIGH": str(high)}))
    for held, exact in forms(value):
        # when a profile holding the value (as a Decimal, text, an int or a float) is scored
        hits = [rule_id for rule_id, _ in matched(model, Profile(attributes={"n": held}))]
        # then the bands that match are those an exact Decimal comparison puts it in
        expected = [
            rule_id
            for rule_id, lo, hi in (("lower", low, mid), ("upper", mid, high), ("lone", mid, None))
            if lo <= exact and (hi is None or exact < hi)
        ]
        assert hits == expected, (held, exact)
