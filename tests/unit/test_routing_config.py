"""The routing file: the shipped example holds what sales asked for, and a bad file is refused at load with a
message naming the offending rep, team or rule and the problem.

The builders here (`rep_dict`, `team_dict`, `rule_dict`, `routing_dict`) are shared by the other routing tests."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared.errors import InvalidInput
from shared.handoffs.model import HandoffKind, LeadFacts, Role
from shared.handoffs.routing import compile_routing, route
from shared.handoffs.routing_config import (
    DEFAULT_ROUTING_PATH,
    InvalidRoutingConfig,
    RoutingConfig,
    Strategy,
    load_routing,
    parse_routing,
)
from shared.scoring.model import load_model

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def rep_dict(rep_id: str, team: str = "sdr", role: str = "SDR", **overrides: Any) -> dict[str, Any]:
    rep: dict[str, Any] = {
        "rep_id": rep_id,
        "name": rep_id.replace("-", " ").title(),
        "email": f"{rep_id}@example.com",
        "slack_user_id": "U0" + rep_id.upper().replace("-", "")[:8],
        "team": team,
        "role": role,
        "territories": [],
        "skills": {"products": [], "languages": ["en"]},
        "capacity": 10,
        "weight": 1,
        "working_hours": {"time_zone": "UTC", "days": WEEKDAYS, "start": "09:00", "end": "17:30"},
        "out_of_office": [],
        "active": True,
    }
    rep.update(overrides)
    return rep


def team_dict(team: str, members: list[str], manager: str = "boss", **overrides: Any) -> dict[str, Any]:
    return {"team": team, "members": members, "manager": manager, "fallback_queue": f"{team}-queue", **overrides}


def rule_dict(rule_id: str, team: str = "sdr", strategy: str = "round_robin", **fields: Any) -> dict[str, Any]:
    return {"rule_id": rule_id, "team": team, "strategy": strategy, "when": {}, **fields}


CATCH_ALL_LEADS = rule_dict("leads-catch-all")
CATCH_ALL_CUSTOMERS = rule_dict("customers-catch-all", team="csm", applies_to="customer")
CATCH_ALL_EXPANSIONS = rule_dict("expansions-catch-all", applies_to="expansion")


def routing_dict(
    reps: list[dict[str, Any]] | None = None,
    teams: list[dict[str, Any]] | None = None,
    rules: list[dict[str, Any]] | None = None,
    **top: Any,
) -> dict[str, Any]:
    """A small valid file: team `sdr` (a, b, c), team `csm` (csm-1), manager `boss` of both; `rules` come
    before the three catch-alls (lead -> sdr, customer -> csm, expansion -> sdr)."""
    if reps is None:
        reps = [rep_dict("a"), rep_dict("b"), rep_dict("c")]
    if teams is None:
        teams = [team_dict("sdr", [r["rep_id"] for r in reps if r["team"] == "sdr" and r["role"] != "manager"])]
    data: dict[str, Any] = {
        "version": "test-1",
        "description": "a test routing file",
        "regions": {"US": "AMER", "CA": "AMER", "DE": "EMEA", "GB": "EMEA", "JP": "APAC"},
        "reps": [*reps, rep_dict("csm-1", team="csm", role="CSM"), rep_dict("boss", role="manager")],
        "teams": [*teams, team_dict("csm", ["csm-1"])],
        "rules": [*(rules or []), CATCH_ALL_LEADS, CATCH_ALL_CUSTOMERS, CATCH_ALL_EXPANSIONS],
    }
    data.update(top)
    return data


def refused(data: dict[str, Any] | str) -> str:
    with pytest.raises(InvalidRoutingConfig) as caught:
        parse_routing(data)
    return str(caught.value)


# ------------------------------------------------------------------------------------------ the shipped file


@pytest.fixture(scope="module")
def shipped() -> RoutingConfig:
    return load_routing()


def test_the_shipped_file_loads_from_the_repository_config(shipped: RoutingConfig) -> None:
    # given the repository, when the default routing file is loaded, then it is config/routing.json and valid
    assert Path(__file__).resolve().parents[2] / "config" / "routing.json" == DEFAULT_ROUTING_PATH
    assert shipped.version
    assert shipped.description


def _team(config: RoutingConfig, team_id: str) -> Any:
    return next(team for team in config.teams if team.team == team_id)


def test_the_shipped_file_has_three_sdrs_in_amer_and_in_emea(shipped: RoutingConfig) -> None:
    reps = {rep.rep_id: rep for rep in shipped.reps}
    for team_id in ("sdr-amer", "sdr-emea"):
        members = _team(shipped, team_id).members
        assert len(members) == 3
        assert {reps[m].role for m in members} == {Role.SDR}
    assert any("de" in reps[m].skills.languages for m in _team(shipped, "sdr-emea").members)


def test_the_shipped_file_has_ae_and_csm_teams_and_a_manager_for_every_team(shipped: RoutingConfig) -> None:
    reps = {rep.rep_id: rep for rep in shipped.reps}
    roles = {team.team: {reps[m].role for m in team.members} for team in shipped.teams}
    assert Role.AE in set().union(*roles.values())
    assert Role.CSM in set().union(*roles.values())
    assert all(reps[team.manager].role is Role.MANAGER for team in shipped.teams)


def test_the_shipped_file_has_account_owner_skill_and_catch_all_rules(shipped: RoutingConfig) -> None:
    strategies = {rule.strategy for rule in shipped.rules}
    assert {Strategy.ACCOUNT_OWNER, Strategy.SKILL} <= strategies
    for kind in HandoffKind:
        last = [rule for rule in shipped.rules if rule.applies_to is kind][-1]
        assert last.when.is_catch_all
    customer_teams = {rule.team for rule in shipped.rules if rule.applies_to is HandoffKind.CUSTOMER}
    reps = {rep.rep_id: rep for rep in shipped.reps}
    assert all(reps[m].role is Role.CSM for team in customer_teams for m in _team(shipped, team).members)
    expansions = [(rule.team, rule.strategy) for rule in shipped.rules if rule.applies_to is HandoffKind.EXPANSION]
    assert expansions == [("ae", Strategy.ACCOUNT_OWNER)]  # an account ready to expand: its owner, else an AE


def test_the_shipped_file_keeps_every_email_at_example_com(shipped: RoutingConfig) -> None:
    assert all(rep.email.endswith("@example.com") for rep in shipped.reps)


def test_a_german_lead_goes_to_the_emea_sdrs_and_a_german_speaker(shipped: RoutingConfig) -> None:
    # given a German-speaking lead from Germany with no region of its own
    from datetime import UTC, datetime

    lead = LeadFacts("lead-de", email="max@firma.example", country="DE", language="de")
    # when it is routed on a Tuesday morning
    decision = route(compile_routing(shipped), lead, {}, datetime(2026, 3, 10, 10, tzinfo=UTC))
    # then the EMEA SDR team takes it, through a rep who speaks German
    assert decision.team == "sdr-emea"
    assert decision.rep_id is not None
    assert "de" in next(r for r in shipped.reps if r.rep_id == decision.rep_id).skills.languages


def test_the_shipped_regions_cover_the_common_countries(shipped: RoutingConfig) -> None:
    expected = {"US": "AMER", "CA": "AMER", "BR": "AMER", "GB": "EMEA", "DE": "EMEA", "FR": "EMEA", "AU": "APAC"}
    assert {country: shipped.regions[country] for country in expected} == expected
    assert {"JP", "IN", "SG", "NL", "ES", "IT", "SE", "MX"} <= set(shipped.regions)


def test_the_builders_make_a_valid_file() -> None:
    config = parse_routing(routing_dict())
    assert [rule.rule_id for rule in config.rules] == ["leads-catch-all", "customers-catch-all", "expansions-catch-all"]


# ------------------------------------------------------------------------------------------ refused: references


def test_a_rep_in_an_undefined_team_names_the_rep_and_the_team() -> None:
    data = routing_dict(reps=[rep_dict("a"), rep_dict("b", team="sdr-emae")])
    assert 'rep "b": team "sdr-emae" is not defined' in refused(data)


def test_a_team_member_that_is_no_rep_names_the_team_and_the_member() -> None:
    data = routing_dict(teams=[team_dict("sdr", ["a", "ghost"])], reps=[rep_dict("a")])
    assert 'team "sdr": member "ghost" is not a rep' in refused(data)


def test_a_rep_missing_from_its_own_team_names_the_rep() -> None:
    data = routing_dict(teams=[team_dict("sdr", ["a"])], reps=[rep_dict("a"), rep_dict("b")])
    assert 'rep "b": not among the members of its team "sdr"' in refused(data)


def test_a_manager_that_is_no_rep_names_the_team() -> None:
    data = routing_dict(teams=[team_dict("sdr", ["a"], manager="nobody")], reps=[rep_dict("a")])
    assert 'team "sdr": manager "nobody" is not a rep' in refused(data)


def test_a_manager_without_the_manager_role_names_the_team() -> None:
    data = routing_dict(teams=[team_dict("sdr", ["a", "b"], manager="b")], reps=[rep_dict("a"), rep_dict("b")])
    assert 'team "sdr": manager "b" has role SDR, not manager' in refused(data)


def test_a_rule_on_an_undefined_team_names_the_rule() -> None:
    data = routing_dict(rules=[rule_dict("emea", team="sdr-emae", when={"regions": ["EMEA"]})])
    assert 'rule "emea": team "sdr-emae" is not defined' in refused(data)


def test_a_direct_rule_naming_no_rep_names_the_rule() -> None:
    data = routing_dict(rules=[rule_dict("vip", strategy="direct", rep_id="ghost", when={"sources": ["vip"]})])
    assert 'rule "vip": rep_id "ghost" is not a rep' in refused(data)


def test_a_direct_rule_without_rep_id_names_the_rule() -> None:
    data = routing_dict(rules=[rule_dict("vip", strategy="direct", when={"sources": ["vip"]})])
    assert 'rule "vip": strategy direct needs rep_id' in refused(data)


def test_a_rep_id_on_another_strategy_names_the_rule() -> None:
    data = routing_dict(rules=[rule_dict("vip", rep_id="a", when={"sources": ["vip"]})])
    assert 'rule "vip": rep_id is only for strategy direct, not round_robin' in refused(data)


def test_an_unknown_strategy_names_the_rule() -> None:
    data = routing_dict(rules=[rule_dict("vip", strategy="random", when={"sources": ["vip"]})])
    assert 'rule "vip": strategy: Input should be' in refused(data)


def test_duplicate_ids_name_the_rep_the_team_and_the_rule() -> None:
    data = routing_dict(
        reps=[rep_dict("a"), rep_dict("a")],
        teams=[team_dict("sdr", ["a"]), team_dict("sdr", ["a"])],
        rules=[rule_dict("r", when={"sources": ["x"]}), rule_dict("r", when={"sources": ["y"]})],
    )
    message = refused(data)
    assert 'rep "a": rep_id is used by another rep' in message
    assert 'team "sdr": team id is used by another team' in message
    assert 'rule "r": rule_id is used by another rule' in message


def test_a_member_listed_twice_names_the_team() -> None:
    data = routing_dict(teams=[team_dict("sdr", ["a", "a"])], reps=[rep_dict("a")])
    assert 'team "sdr": members: a listed more than once' in refused(data)


def test_an_empty_fallback_queue_names_the_team() -> None:
    data = routing_dict(teams=[team_dict("sdr", ["a"], fallback_queue="")], reps=[rep_dict("a")])
    assert 'team "sdr": fallback_queue: String should have at least 1 character' in refused(data)


def test_a_rule_region_missing_from_the_regions_map_names_the_rule_and_the_known_regions() -> None:
    data = routing_dict(rules=[rule_dict("emea", when={"regions": ["EMAE"]})])
    assert 'rule "emea": region "EMAE" is not a region of the regions map (AMER, APAC, EMEA)' in refused(data)


def test_a_territory_naming_an_unknown_region_names_the_rep() -> None:
    data = routing_dict(reps=[rep_dict("a", territories=["LATAM"])])
    assert 'rep "a": territory "LATAM" is not a region (AMER, APAC, EMEA)' in refused(data)


def test_a_kind_without_a_catch_all_is_refused() -> None:
    data = routing_dict()
    data["rules"] = [CATCH_ALL_LEADS, {**CATCH_ALL_CUSTOMERS, "when": {"regions": ["EMEA"]}}, CATCH_ALL_EXPANSIONS]
    assert "rules: no catch-all for customer handoffs" in refused(data)


def test_a_rule_after_its_kinds_catch_all_names_the_rule_it_never_reaches() -> None:
    data = routing_dict()
    data["rules"] = [
        CATCH_ALL_LEADS,
        rule_dict("too-late", when={"regions": ["EMEA"]}),
        CATCH_ALL_CUSTOMERS,
        CATCH_ALL_EXPANSIONS,
    ]
    assert 'rule "too-late": never reached: catch-all rule "leads-catch-all" before it matches every lead' in refused(
        data
    )


def test_a_catch_all_of_one_kind_does_not_shadow_rules_of_the_other() -> None:
    data = routing_dict()
    customer_rule = rule_dict("big-customers", team="csm", applies_to="customer", when={"regions": ["EMEA"]})
    data["rules"] = [CATCH_ALL_LEADS, customer_rule, CATCH_ALL_CUSTOMERS, CATCH_ALL_EXPANSIONS]
    assert [rule.rule_id for rule in parse_routing(data).rules][1] == "big-customers"


# --------------------------------------------------------------------------------------- refused: field checks


def test_an_unknown_time_zone_names_the_rep() -> None:
    hours = {"time_zone": "Europe/Berlim", "days": WEEKDAYS, "start": "09:00", "end": "17:30"}
    data = routing_dict(reps=[rep_dict("a", working_hours=hours)])
    assert "rep \"a\": working_hours.time_zone: 'Europe/Berlim' is not an IANA time zone" in refused(data)


def test_a_path_as_time_zone_is_refused() -> None:
    hours = {"time_zone": "../../etc/passwd", "days": WEEKDAYS, "start": "09:00", "end": "17:30"}
    assert 'rep "a": working_hours.time_zone' in refused(routing_dict(reps=[rep_dict("a", working_hours=hours)]))


def test_working_hours_ending_before_they_start_name_the_rep() -> None:
    hours = {"time_zone": "UTC", "days": WEEKDAYS, "start": "17:00", "end": "09:00"}
    data = routing_dict(reps=[rep_dict("a", working_hours=hours)])
    assert 'rep "a": working_hours: start 17:00 must be before end 09:00' in refused(data)


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("start", "9:00", "'9:00' is not a time of day as HH:MM"),
        ("end", "25:00", "'25:00' is not a time of day as HH:MM"),
        ("days", ["mon", "funday"], "'funday' is not a weekday"),
        ("days", ["mon", "mon"], "a weekday is listed twice"),
        ("days", [], "List should have at least 1 item"),
    ],
)
def test_insane_working_hours_name_the_rep_and_the_field(field: str, value: Any, problem: str) -> None:
    hours = {"time_zone": "UTC", "days": WEEKDAYS, "start": "09:00", "end": "17:30", field: value}
    message = refused(routing_dict(reps=[rep_dict("a", working_hours=hours)]))
    assert f'rep "a": working_hours.{field}: ' in message
    assert problem in message


def test_an_absence_ending_before_it_starts_names_the_rep() -> None:
    data = routing_dict(reps=[rep_dict("a", out_of_office=[{"from": "2026-08-14", "to": "2026-08-03"}])])
    assert 'rep "a": out_of_office.0: from 2026-08-14 is after to 2026-08-03' in refused(data)


@pytest.mark.parametrize(("field", "value"), [("capacity", 0), ("weight", 0), ("capacity", True), ("weight", 1.5)])
def test_a_capacity_or_weight_below_one_or_not_an_integer_names_the_rep(field: str, value: Any) -> None:
    assert f'rep "a": {field}: ' in refused(routing_dict(reps=[rep_dict("a", **{field: value})]))


def test_an_unknown_field_of_a_rule_names_the_rule() -> None:
    data = routing_dict(rules=[rule_dict("emea", when={"region": ["EMEA"]})])
    assert 'rule "emea": when.region: Extra inputs are not permitted' in refused(data)


def test_an_inverted_range_names_the_rule() -> None:
    data = routing_dict(rules=[rule_dict("mid", when={"employee_count": {"min": 500, "max": 100}})])
    assert 'rule "mid": when.employee_count: min must be < max' in refused(data)


def test_a_float_revenue_bound_in_a_mapping_is_refused_naming_the_rule() -> None:
    data = routing_dict(rules=[rule_dict("big", when={"annual_revenue": {"min": 1.5e7}})])
    assert 'rule "big": when.annual_revenue.min: write a decimal as a string' in refused(data)


def test_decimal_strings_and_json_numbers_of_a_file_are_read_exactly() -> None:
    # given bounds written as a string in a mapping and as a JSON number with a fraction in the text of a file
    data = routing_dict(rules=[rule_dict("big", when={"annual_revenue": {"min": "10000000.10"}})])
    text = json.dumps(routing_dict(rules=[rule_dict("big", when={"score": {"min": 0}})])).replace(
        '"min": 0', '"min": 0.1'
    )
    # when they are parsed, then they are exact decimals
    assert parse_routing(data).rules[0].when.annual_revenue.min == Decimal("10000000.10")  # type: ignore[union-attr]
    assert parse_routing(text).rules[0].when.score.min == Decimal("0.1")  # type: ignore[union-attr]


def test_reminders_at_or_after_the_accept_deadline_name_the_priority() -> None:
    sla = {"priority": {"accept_minutes": 30, "first_touch_minutes": 60, "reminders_minutes": [10, 30]}}
    assert "sla: priority: reminders_minutes 30 must be < accept_minutes 30" in refused(routing_dict(sla=sla))


def test_a_first_touch_before_the_accept_deadline_is_refused() -> None:
    sla = {"standard": {"accept_minutes": 510, "first_touch_minutes": 60}}
    assert "sla: standard: first_touch_minutes must be >= accept_minutes" in refused(routing_dict(sla=sla))


def test_sla_and_gates_default_to_the_documented_policy() -> None:
    config = parse_routing(routing_dict())
    assert (config.sla.immediate.accept_minutes, config.sla.immediate.business_hours) == (5, False)
    assert (config.sla.priority.accept_minutes, config.sla.standard.accept_minutes) == (30, 510)
    assert config.sla.standard.business_hours
    assert config.sla.escalate_after_reassignments == 2
    assert config.gates.require_email
    assert config.gates.min_fit_score_for_behaviour_trigger == Decimal(40)
    assert config.gates.qualification_queue == "sdr-qualification"


def test_a_file_that_would_route_leads_without_an_email_is_refused_saying_why() -> None:
    # Given a routing file turning the email gate off, When it is loaded
    problem = refused(routing_dict(gates={"require_email": False}))
    # Then it is refused, not ignored: the lead engine never requests a handoff for a lead without an email
    assert (
        "gates: require_email: false is not supported: the lead engine hands over only leads with an email" in problem
    )


def test_the_shipped_fit_gate_is_the_scoring_models_icp_line() -> None:
    # Given the shipped scoring model and routing file
    model, routing = load_model(), load_routing()
    # Then a buying signal below the ICP line reaches routing (the model hands it over) and routing sends it to
    # the qualification queue at exactly that line: an AE never gets one, an SDR qualifies it
    assert model.handoff.priority_below_icp_fit
    assert routing.gates.min_fit_score_for_behaviour_trigger == model.fit.icp_min


def test_codes_are_normalized_and_validated() -> None:
    # given lower-case country and state codes and an upper-case language
    data = routing_dict(rules=[rule_dict("ca", when={"countries": ["us"], "states": ["us-ca"], "languages": ["EN"]})])
    when = parse_routing(data).rules[0].when
    # then they are kept in the file's conventions
    assert (when.countries, when.states, when.languages) == (["US"], ["US-CA"], ["en"])
    assert 'rule "bad": when.states.0: String should match pattern' in refused(
        routing_dict(rules=[rule_dict("bad", when={"states": ["California"]})])
    )


# ---------------------------------------------------------------------------------------------- the error


def test_every_field_problem_is_reported_at_once_and_the_error_is_invalid_input() -> None:
    data = routing_dict(reps=[rep_dict("a", weight=0), rep_dict("b", capacity=0)])
    with pytest.raises(InvalidRoutingConfig) as caught:
        parse_routing(data)
    assert isinstance(caught.value, InvalidInput)
    assert str(caught.value).startswith("invalid routing file: ")
    assert [problem.split(":")[0] for problem in caught.value.problems] == ['rep "a"', 'rep "b"']


def test_cross_reference_problems_are_listed_one_by_one() -> None:
    # given two reps of undefined teams (cross-references are checked once every field is valid)
    data = routing_dict(reps=[rep_dict("a", team="x"), rep_dict("b", team="y")], teams=[team_dict("sdr", ["a"])])
    with pytest.raises(InvalidRoutingConfig) as caught:
        parse_routing(data)
    assert 'rep "a": team "x" is not defined' in caught.value.problems
    assert 'rep "b": team "y" is not defined' in caught.value.problems


def test_text_that_is_not_json_is_refused() -> None:
    assert "routing file: not valid JSON" in refused("{not json")
    assert "routing file: must be a JSON object" in refused("[]")


def test_a_missing_file_is_refused_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(InvalidRoutingConfig, match="cannot be read"):
        load_routing(tmp_path / "nope.json")


def test_a_file_elsewhere_loads(tmp_path: Path) -> None:
    path = tmp_path / "routing.json"
    data = copy.deepcopy(routing_dict())
    path.write_text(json.dumps(data))
    assert load_routing(path).version == "test-1"
