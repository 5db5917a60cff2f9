"""Fit rules: each kind of rule on contact and account fields, fit groups, disqualifiers and ICP fit."""

from __future__ import annotations

from typing import Any

import pytest

from shared.scoring import Profile, Score, score
from tests.unit.test_scoring_support import AS_OF, build


def fit_of(rules: list[dict[str, Any]], profile: Profile, icp_min: float = 0) -> Score:
    return score(build(fit_rules=rules, icp_min=icp_min), profile, [], AS_OF)


INDUSTRY = {"id": "industry-core", "kind": "in", "field": "industry", "values": ["Software", "SaaS"], "points": 15}


@pytest.mark.parametrize(("industry", "points"), [("software", 15.0), ("  SAAS ", 15.0), ("Retail", 0.0), (None, 0.0)])
def test_an_in_rule_matches_its_values_case_insensitively(industry: str | None, points: float) -> None:
    # given an industry rule; when a profile with that industry is scored
    result = fit_of([INDUSTRY], Profile(industry=industry))
    # then the rule scores exactly when the industry is one of its values
    assert result.fit_score == points
    assert [line.rule_id for line in result.fit_lines] == (["industry-core"] if points else [])


SIZE_BANDS = [
    {"id": "small", "kind": "band", "field": "employee_count", "group": "size", "points": 5, "max": 200},
    {"id": "mid", "kind": "band", "field": "employee_count", "group": "size", "points": 20, "min": 200, "max": 1000},
    {"id": "large", "kind": "band", "field": "employee_count", "group": "size", "points": 10, "min": 1000},
]


@pytest.mark.parametrize(
    ("employees", "rule_id"), [(199, "small"), (200, "mid"), (999, "mid"), (1000, "large"), (None, None)]
)
def test_bands_include_their_min_and_exclude_their_max(employees: int | None, rule_id: str | None) -> None:
    result = fit_of(SIZE_BANDS, Profile(employee_count=employees))
    assert [line.rule_id for line in result.fit_lines] == ([rule_id] if rule_id else [])


def test_a_revenue_band_reads_annual_revenue() -> None:
    band = {"id": "rev", "kind": "band", "field": "annual_revenue", "points": 10, "min": 5e6, "max": 5e7}
    assert fit_of([band], Profile(annual_revenue=2e7)).fit_lines[0].matched == "20,000,000"
    assert fit_of([band], Profile(annual_revenue=5e7)).fit_score == 0


def test_a_band_on_a_custom_attribute_reads_numbers_written_as_text() -> None:
    band = {"id": "seats", "kind": "band", "field": "attributes.seats", "points": 7, "min": 1000}
    assert fit_of([band], Profile(attributes={"seats": "1,200"})).fit_score == 7
    assert fit_of([band], Profile(attributes={"seats": "many"})).fit_score == 0


def test_a_country_rule_matches_iso_codes_case_insensitively() -> None:
    country = {"id": "core-markets", "kind": "in", "field": "country", "values": ["US", "GB"], "points": 10}
    assert fit_of([country], Profile(country="gb")).fit_score == 10
    assert fit_of([country], Profile(country="BR")).fit_score == 0


SENIORITY = [
    {"id": "vp", "kind": "keywords", "group": "seniority", "points": 20, "keywords": ["vp", "vice president"]},
    {"id": "c-level", "kind": "keywords", "group": "seniority", "points": 25, "keywords": ["chief", "president"]},
    {"id": "manager", "kind": "keywords", "group": "seniority", "points": 10, "keywords": ["manager"]},
]


@pytest.mark.parametrize(
    ("title", "rule_id"),
    [
        ("VP, Marketing", "vp"),
        ("Vice-President of Sales", "vp"),  # first match in the group wins: not also "president"
        ("President", "c-level"),
        ("Chief Revenue Officer", "c-level"),
        ("Senior Manager, Revenue Operations", "manager"),
        ("MVP Lead", None),  # whole words only: "vp" is not in "mvp"
        ("Account Executive", None),
    ],
)
def test_title_keywords_match_whole_words_and_the_first_rule_of_a_group_wins(title: str, rule_id: str | None) -> None:
    result = fit_of(SENIORITY, Profile(job_title=title))
    assert [line.rule_id for line in result.fit_lines] == ([rule_id] if rule_id else [])


def test_seniority_and_department_are_separate_groups_that_both_score() -> None:
    department = {"id": "revops", "kind": "keywords", "group": "dept", "points": 20, "keywords": ["revenue operations"]}
    result = fit_of([*SENIORITY, department], Profile(job_title="VP Revenue Operations"))
    assert [(line.rule_id, line.matched) for line in result.fit_lines] == [
        ("vp", "vp"),
        ("revops", "revenue operations"),
    ]
    assert result.fit_score == 40


PERSONAL = {
    "id": "personal-email",
    "kind": "domain",
    "fields": ["email_domain"],
    "points": -20,
    "domains": ["gmail.com"],
}
COMPETITOR = {"id": "competitor", "kind": "domain", "points": -100, "disqualifies": True, "domains": ["rival.com"]}


def test_a_personal_email_domain_takes_points_off() -> None:
    result = fit_of([PERSONAL], Profile(email="Jane.Doe@GMAIL.com"))
    assert (result.fit_score, result.fit_lines[0].matched) == (-20.0, "gmail.com")


def test_a_personal_email_rule_ignores_the_company_domain_when_told_to() -> None:
    assert fit_of([PERSONAL], Profile(email="jane@acme.com", company_domain="gmail.com")).fit_score == 0


@pytest.mark.parametrize(
    "profile",
    [
        Profile(email="spy@rival.com"),
        Profile(email="spy@eu.mail.rival.com"),  # subdomains count
        Profile(email="spy@gmail.com", company_domain="https://www.rival.com/about"),
    ],
)
def test_a_competitor_domain_disqualifies_even_a_perfect_fit(profile: Profile) -> None:
    # given a model where the contact otherwise scores far above the ICP threshold
    rules = [COMPETITOR, {"id": "big", "kind": "in", "field": "industry", "values": ["software"], "points": 500}]
    profile = Profile(email=profile.email, company_domain=profile.company_domain, industry="Software", job_title="CEO")
    # when scored
    result = fit_of(rules, profile, icp_min=40)
    # then the competitor rule scores its negative points and rules out ICP fit
    assert result.fit_score == 400
    assert not result.icp_fit
    assert result.disqualified_by == ("competitor",)


def test_a_lookalike_domain_is_not_a_competitor() -> None:
    result = fit_of([COMPETITOR], Profile(email="a@notrival.com", company_domain="rival.com.example"))
    assert result.fit_lines == ()
    assert result.icp_fit


@pytest.mark.parametrize(("industry_points", "icp"), [(40, True), (39.99, False)])
def test_icp_fit_is_a_fit_score_of_at_least_the_threshold(industry_points: float, icp: bool) -> None:
    rules = [{**INDUSTRY, "points": industry_points}]
    assert fit_of(rules, Profile(industry="software"), icp_min=40).icp_fit is icp


def test_an_email_rule_on_the_whole_address_and_a_custom_attribute() -> None:
    rules = [
        {"id": "vip", "kind": "in", "field": "email", "values": ["ceo@acme.com"], "points": 30},
        {"id": "partner", "kind": "in", "field": "attributes.source", "values": ["partner referral"], "points": 12},
    ]
    result = fit_of(rules, Profile(email="CEO@acme.com", attributes={"source": "Partner  Referral"}))
    assert result.fit_score == 42


def test_fit_lines_sum_to_the_fit_score_and_list_in_model_order() -> None:
    rules = [PERSONAL, *SENIORITY, INDUSTRY]
    result = fit_of(rules, Profile(email="a@gmail.com", job_title="Manager", industry="SaaS"))
    assert [line.rule_id for line in result.fit_lines] == ["personal-email", "manager", "industry-core"]
    assert sum(line.points_hundredths for line in result.fit_lines) == result.fit_hundredths == 500
