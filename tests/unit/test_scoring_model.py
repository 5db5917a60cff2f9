"""The scoring model file: a bad model is refused at load with a message naming the offending rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.errors import InvalidInput
from shared.scoring import DEFAULT_MODEL_PATH, ModelError, load_model, parse_model
from tests.unit.test_scoring_support import model_dict, rule


def refused(data: dict[str, Any] | str) -> str:
    with pytest.raises(ModelError) as caught:
        parse_model(data)
    return str(caught.value)


def test_a_per_day_cap_below_the_points_names_the_rule() -> None:
    # given a rule that could never award its own points in a day
    data = model_dict(rules=[rule("email-open", "email_open", 5, max_per_day=3)])
    # when it is loaded, then it is refused, naming the rule and the problem
    assert 'engagement rule "email-open": max_per_day must be >= points' in refused(data)


def test_a_lifetime_cap_below_a_negative_rules_magnitude_names_the_rule() -> None:
    data = model_dict(rules=[rule("meeting-canceled", "meeting_canceled", -25, max_lifetime=10)])
    assert 'engagement rule "meeting-canceled": max_lifetime must be >= |points|' in refused(data)


def test_a_rule_in_an_undefined_group_names_the_rule_and_the_groups() -> None:
    data = model_dict(rules=[rule("demo", "demo_request", 100, group="intent")])
    assert 'engagement rule "demo": group "intent" is not defined (groups: email)' in refused(data)


def test_points_with_three_decimals_name_the_rule_and_the_field() -> None:
    data = model_dict(rules=[rule("email-open", "email_open", 1.234)])
    assert 'engagement rule "email-open": points: Decimal input should have no more than 2 decimal places' in refused(
        data
    )


def test_an_unknown_engagement_kind_names_the_rule() -> None:
    data = model_dict(rules=[rule("fax", "fax_received", 1)])
    assert 'engagement rule "fax": kind: Input should be' in refused(data)


def test_a_condition_without_its_operand_names_the_rule_and_the_condition() -> None:
    data = model_dict(rules=[rule("pricing", "page_view", 5, when=[{"field": "path", "op": "prefix"}])])
    assert 'engagement rule "pricing": when.0: op prefix needs a value and no values' in refused(data)


def test_a_condition_on_an_unknown_field_names_the_rule() -> None:
    data = model_dict(rules=[rule("r", "page_view", 5, when=[{"field": "title", "op": "exists"}])])
    assert 'engagement rule "r": when.0.field: field must be name, url, path or properties.<key>' in refused(data)


def test_an_empty_band_names_the_fit_rule() -> None:
    data = model_dict(fit_rules=[{"id": "mid-market", "kind": "band", "field": "employee_count", "points": 5}])
    assert 'fit rule "mid-market": a band needs min, max or both' in refused(data)


def test_an_inverted_band_names_the_fit_rule() -> None:
    band = {"id": "mid-market", "kind": "band", "field": "employee_count", "points": 5, "min": 500, "max": 100}
    assert 'fit rule "mid-market": min must be < max' in refused(model_dict(fit_rules=[band]))


def test_a_text_rule_on_an_unknown_profile_field_names_the_fit_rule() -> None:
    data = model_dict(fit_rules=[{"id": "shoe", "kind": "in", "field": "shoe_size", "values": ["9"], "points": 1}])
    assert 'fit rule "shoe": field: field must be one of company_domain, country, email' in refused(data)


def test_an_unknown_fit_rule_kind_names_the_rule() -> None:
    data = model_dict(fit_rules=[{"id": "vibes", "kind": "vibes", "points": 1}])
    assert "fit rule \"vibes\": Input tag 'vibes' found using 'kind' does not match" in refused(data)


def test_a_malformed_domain_names_the_fit_rule() -> None:
    data = model_dict(fit_rules=[{"id": "competitor", "kind": "domain", "domains": ["not a domain"], "points": -50}])
    assert "fit rule \"competitor\": domains: 'not a domain' is not a domain" in refused(data)


def test_a_rule_without_an_id_is_named_by_its_position() -> None:
    data = model_dict(rules=[rule("a", "email_open", 1), {"kind": "email_click", "group": "email", "points": 1}])
    assert "engagement rule #2: id: Field required" in refused(data)


def test_two_rules_with_one_id_are_refused() -> None:
    data = model_dict(rules=[rule("open", "email_open", 1), rule("open", "email_click", 2)])
    assert 'engagement rule "open": id is used by another rule' in refused(data)


def test_an_mql_email_group_that_does_not_exist_is_refused() -> None:
    data = model_dict(mql={"email_group": "mail"})
    assert 'mql: email_group "mail" is not an engagement group' in refused(data)


def test_an_unknown_top_level_key_is_refused() -> None:
    data = {**model_dict(), "thresholds": {}}
    assert "scoring model: thresholds: Extra inputs are not permitted" in refused(data)


def test_every_problem_is_reported_at_once() -> None:
    data = model_dict(rules=[rule("a", "email_open", 5, max_per_day=1), rule("b", "email_click", 5, max_lifetime=1)])
    with pytest.raises(ModelError) as caught:
        parse_model(data)
    assert len(caught.value.problems) == 2


def test_text_that_is_not_json_is_refused() -> None:
    assert "scoring model: not valid JSON" in refused("{version: 1")


def test_a_missing_model_file_is_refused_with_its_path(tmp_path: Path) -> None:
    missing = tmp_path / "scoring-model.json"
    with pytest.raises(ModelError, match="cannot be read"):
        load_model(missing)


def test_a_model_error_is_an_invalid_input_for_the_http_layer() -> None:
    with pytest.raises(InvalidInput):
        parse_model(model_dict(rules=[rule("a", "email_open", 5, max_per_day=1)]))


def test_a_model_file_is_loaded_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model_dict(rules=[rule("open", "email_open", 2.5)])))
    model = load_model(path)
    assert (model.version, model.engagement.rules[0].points) == ("test-1", 2.5)


def test_the_shipped_default_model_loads_with_the_seed_thresholds() -> None:
    # when the default model file is loaded
    model = load_model()
    # then it is the file in config/ and carries the seeds' thresholds
    assert DEFAULT_MODEL_PATH.name == "scoring-model.json"
    assert model.version
    assert (
        model.mql.email_engagement_min,
        model.mql.content_pieces_min,
        model.mql.website_sessions_min,
        model.mql.require_icp_fit,
        model.mql.session_gap_minutes,
    ) == (70, 3, 5, True, 30)
    assert model.handoff.immediate_total_min == 500
    assert {k.value for k in model.handoff.priority_kinds} == {"demo_request", "pricing_page_visit", "trial_signup"}
    assert model.handoff.standard_after_nurture_days == 14


def test_the_default_model_penalises_personal_email_and_disqualifies_competitors() -> None:
    fit = {r.id: r for r in load_model().fit.rules}
    assert fit["personal-email"].points < 0
    assert "gmail.com" in fit["personal-email"].domains  # type: ignore[union-attr]
    assert fit["competitor"].points < 0
    assert fit["competitor"].disqualifies
