"""MQL metrics (email engagement, content pieces, website sessions, ICP fit), the MQL criteria, handoff triggers,
and the shipped default model on realistic leads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.scoring import Engagement, Profile, Score, load_model, score, summarize
from shared.scoring.sessions import content_key, count_sessions
from tests.unit.test_scoring_support import AS_OF, ago, build, rule

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


def metrics(log: list[Engagement], **parts: Any) -> Score:
    return score(build(**parts), Profile(), log, AS_OF)


# -------------------------------------------------------------------------------------------------- sessions


@pytest.mark.parametrize(("gap", "sessions"), [(30 * MINUTE - timedelta(seconds=1), 1), (30 * MINUTE, 2)])
def test_website_sessions_split_at_30_minutes_of_inactivity(gap: timedelta, sessions: int) -> None:
    # given two page views `gap` apart; when scored; then 30:00 of inactivity starts a new session, 29:59 does not
    log = [ago("a", "page_view", DAY), ago("b", "page_view", DAY - gap)]
    assert metrics(log).website_sessions == sessions


def test_a_session_is_measured_from_the_last_view_not_the_first() -> None:
    # views every 20 minutes for two hours are one session
    log = [ago(f"v{n}", "page_view", DAY - n * 20 * MINUTE) for n in range(7)]
    assert metrics(log).website_sessions == 1


def test_pricing_page_visits_are_page_views_for_sessions_and_other_kinds_are_not() -> None:
    log = [
        ago("a", "page_view", 3 * DAY),
        ago("b", "pricing_page_visit", 2 * DAY),
        ago("c", "email_open", DAY),
        ago("d", "form_submit", 4 * DAY),
    ]
    assert metrics(log).website_sessions == 2


def test_sessions_older_than_the_lookback_do_not_count() -> None:
    log = [ago("old", "page_view", 90 * DAY), ago("recent", "page_view", 89 * DAY)]
    assert metrics(log, mql={"lookback_days": 90}).website_sessions == 1


def test_count_sessions_on_bare_timestamps() -> None:
    assert count_sessions([], 30) == 0
    assert count_sessions([0, 29, 58, 100, 129, 159], 30) == 3


# ---------------------------------------------------------------------------------------------------- content


def test_content_pieces_are_distinct_by_name_then_by_url() -> None:
    log = [
        ago("a", "content_download", name="RevOps Playbook"),
        ago("b", "content_download", name="  revops   playbook "),  # same piece
        ago("c", "webinar_attended", name="RevOps Playbook"),  # a webinar of that name: same piece
        ago("d", "content_download", url="https://x.example/guide.pdf?utm_source=mail"),
        ago("e", "content_download", url="https://X.example/guide.pdf#page=2"),  # same url
        ago("f", "content_download"),  # names no piece
        ago("g", "webinar_attended", name="Pipeline Reviews"),
        ago("h", "page_view", name="Pricing"),  # not a content kind
    ]
    assert metrics(log).content_pieces == 3


def test_content_key_prefers_the_name() -> None:
    assert content_key("Guide", "https://x/guide") == "name:guide"
    assert content_key(None, "https://x/guide/") == "url:https://x/guide"
    assert content_key("  ", None) is None


# -------------------------------------------------------------------------------------------- email and MQL


def test_email_engagement_is_the_email_groups_points_after_its_cap() -> None:
    log = [ago(f"o{n}", "email_open", n * DAY) for n in range(10)] + [ago("p", "page_view")]
    rules = [rule("open", "email_open", 8), rule("page", "page_view", 50, group="web")]
    result = metrics(log, rules=rules, groups=[{"id": "email", "cap": 60}, {"id": "web"}])
    assert (result.email_engagement, result.engagement_score) == (60, 110)


MQL = {"email_engagement_min": 20, "content_pieces_min": 2, "website_sessions_min": 2, "require_icp_fit": True}
ICP = [{"id": "software", "kind": "in", "field": "industry", "values": ["software"], "points": 50}]


def mql_lead(drop: str = "") -> tuple[Profile, list[Engagement]]:
    """A lead meeting every criterion of MQL, except the one named by `drop`."""
    log = [ago("o1", "email_open", DAY), ago("o2", "email_open", 2 * DAY)]
    log += [ago("c1", "content_download", 3 * DAY, name="A"), ago("c2", "content_download", 4 * DAY, name="B")]
    log += [ago("v1", "page_view", 5 * DAY), ago("v2", "page_view", 6 * DAY)]
    drops = {"email": "o2", "content": "c2", "sessions": "v2"}
    log = [e for e in log if e.event_id != drops.get(drop)]
    return Profile(industry="retail" if drop == "icp" else "software"), log


def mql_model() -> Any:
    return build(fit_rules=ICP, icp_min=50, rules=[rule("open", "email_open", 10)], mql=MQL)


def test_a_lead_meeting_every_criterion_is_an_mql() -> None:
    profile, log = mql_lead()
    result = score(mql_model(), profile, log, AS_OF)
    assert (result.email_engagement, result.content_pieces, result.website_sessions, result.icp_fit) == (20, 2, 2, True)
    assert result.mql


@pytest.mark.parametrize("missing", ["email", "content", "sessions", "icp"])
def test_a_lead_missing_any_one_criterion_is_not_an_mql(missing: str) -> None:
    profile, log = mql_lead(drop=missing)
    assert not score(mql_model(), profile, log, AS_OF).mql


def test_icp_fit_is_not_required_where_the_model_says_so() -> None:
    profile, log = mql_lead(drop="icp")
    model = build(
        fit_rules=ICP, icp_min=50, rules=[rule("open", "email_open", 10)], mql={**MQL, "require_icp_fit": False}
    )
    assert score(model, profile, log, AS_OF).mql


# ---------------------------------------------------------------------------------------------------- handoff

HANDOFF = {
    "immediate_total_min": 200,
    "priority_kinds": ["demo_request", "trial_signup"],
    "priority_lookback_days": 30,
    "standard_after_nurture_days": 14,
}


def handoff_of(log: list[Engagement], profile: Profile | None = None, **parts: Any) -> Score:
    model_parts: dict[str, Any] = {
        "rules": [rule("demo", "demo_request", 150, group="intent"), rule("open", "email_open", 1)],
        "groups": [{"id": "email"}, {"id": "intent"}],
        "handoff": HANDOFF,
        "mql": {"email_engagement_min": 1},
        **parts,
    }
    return score(build(**model_parts), profile or Profile(), log, AS_OF)


def test_a_total_at_the_threshold_is_an_immediate_handoff() -> None:
    result = handoff_of([ago("d1", "demo_request", 40 * DAY), ago("d2", "demo_request", 45 * DAY)])
    assert [(t.level, t.reason) for t in result.handoff] == [("immediate", "total 300.00 >= 200.00")]
    assert result.handoff_level == "immediate"


def test_a_demo_request_within_the_lookback_is_a_priority_handoff_naming_the_event() -> None:
    result = handoff_of([ago("demo-1", "demo_request", 29 * DAY)])
    (trigger,) = result.handoff
    assert (trigger.level, trigger.event_id) == ("priority", "demo-1")
    assert trigger.reason.startswith("demo_request at 2026-01-31T12:00:00+00:00")


def test_a_priority_engagement_older_than_the_lookback_is_not_a_trigger() -> None:
    assert handoff_of([ago("demo-1", "demo_request", 30 * DAY)]).handoff == ()


def test_priority_triggers_are_listed_most_recent_first_after_immediate() -> None:
    log = [ago("d", "demo_request", 3 * DAY), ago("t", "trial_signup", DAY), ago("d2", "demo_request", 5 * DAY)]
    assert [(t.level, t.event_id) for t in handoff_of(log).handoff] == [
        ("immediate", None),
        ("priority", "t"),
        ("priority", "d"),
    ]


@pytest.mark.parametrize(("nurtured", "fires"), [(14 * DAY, True), (14 * DAY - MINUTE, False)])
def test_an_mql_nurtured_for_14_days_is_a_standard_handoff(nurtured: timedelta, fires: bool) -> None:
    # given an MQL whose first engagement was `nurtured` ago
    log = [ago("first", "email_open", nurtured), ago("recent", "email_open", DAY)]
    # when scored, then the standard trigger fires from 14 days of nurturing on
    result = handoff_of(log)
    assert result.mql
    assert [t.level for t in result.handoff] == (["standard"] if fires else [])


def test_nurturing_starts_when_the_profile_says_so() -> None:
    profile = Profile(nurture_started_at=AS_OF - 20 * DAY)
    assert handoff_of([ago("recent", "email_open", DAY)], profile).handoff_level == "standard"


def test_a_lead_that_is_not_an_mql_gets_no_standard_handoff() -> None:
    assert handoff_of([ago("first", "email_open", 40 * DAY)], mql={"email_engagement_min": 5}).handoff == ()


def test_a_disqualified_contact_is_never_handed_off() -> None:
    competitor = {"id": "competitor", "kind": "domain", "points": 0, "disqualifies": True, "domains": ["rival.com"]}
    log = [ago("d1", "demo_request", DAY), ago("d2", "demo_request", 2 * DAY)]
    assert handoff_of(log, Profile(email="x@rival.com"), fit_rules=[competitor]).handoff == ()


def test_a_buying_signal_below_the_icp_line_hands_off_nothing_by_default() -> None:
    handoff = {**HANDOFF, "immediate_total_min": None}
    result = handoff_of([ago("d", "demo_request", DAY)], fit_rules=ICP, icp_min=50, handoff=handoff)
    assert result.handoff == ()


def test_a_model_may_let_buying_signals_below_the_icp_line_hand_off() -> None:
    handoff = {**HANDOFF, "priority_below_icp_fit": True, "immediate_total_min": None}
    result = handoff_of([ago("d", "demo_request", DAY)], fit_rules=ICP, icp_min=50, handoff=handoff)
    assert [trigger.level for trigger in result.handoff] == ["priority"]


def test_summarize_reports_the_most_urgent_level() -> None:
    model = build(rules=[rule("demo", "demo_request", 150)], handoff=HANDOFF, mql={"email_engagement_min": 1})
    assert summarize(model, Profile(), [ago("d", "demo_request", DAY)], AS_OF).handoff == "priority"


# --------------------------------------------------------------------------------------- the default model

ICP_LEAD = Profile(
    email="ada@acme-software.com",
    job_title="Director of Marketing Operations",
    industry="Software",
    country="US",
    employee_count=350,
    company_domain="acme-software.com",
)
GMAIL_STUDENT = Profile(email="jane.doe@gmail.com", job_title="Student", country="US")


def engaged_three_weeks() -> list[Engagement]:
    """Three weeks of a realistically engaged lead: 12 opens, 5 clicks, 2 downloads, 1 webinar, 6 visits."""
    log = [ago(f"open-{d}", "email_open", d * DAY) for d in (1, 2, 3, 5, 6, 8, 9, 11, 13, 15, 18, 20)]
    log += [ago(f"click-{d}", "email_click", d * DAY + MINUTE) for d in (2, 6, 9, 13, 18)]
    log += [
        ago("dl-1", "content_download", 4 * DAY, name="RevOps Benchmark Report", properties={"topic": "revops"}),
        ago("dl-2", "content_download", 10 * DAY, name="CRM Hygiene Checklist"),
        ago("webinar", "webinar_attended", 16 * DAY, name="Pipeline Reviews That Work"),
    ]
    for d in (1, 3, 6, 9, 12, 17, 21):
        log += [ago(f"view-{d}-{n}", "page_view", d * DAY - n * 5 * MINUTE, path=f"/page-{n}") for n in range(3)]
    return log


def test_the_default_model_makes_an_engaged_icp_lead_an_mql() -> None:
    # given the shipped model and an ICP contact engaged for three weeks
    result = score(load_model(), ICP_LEAD, engaged_three_weeks(), AS_OF)
    # then it fits, meets each MQL criterion and is handed off as standard after 14+ days of nurturing
    assert result.icp_fit
    assert result.fit_score == 80
    assert result.email_engagement >= 70
    assert (result.content_pieces, result.website_sessions) == (3, 7)
    assert result.mql
    assert result.handoff_level == "standard"
    assert result.breakdown_hundredths() == result.total_hundredths


def test_the_default_model_does_not_make_a_gmail_student_an_mql() -> None:
    # given the very same engagement from a student with a gmail address
    result = score(load_model(), GMAIL_STUDENT, engaged_three_weeks(), AS_OF)
    # then the engagement metrics are there but the fit is not
    assert result.email_engagement >= 70
    assert result.fit_score < 0
    assert not result.icp_fit
    assert not result.mql
    assert result.handoff == ()


def test_the_default_model_takes_a_very_engaged_icp_lead_past_500() -> None:
    log = engaged_three_weeks()
    log += [ago(f"click-extra-{d}", "email_click", d * DAY + 2 * MINUTE) for d in (1, 3, 5, 8, 11)]
    log += [ago("demo", "demo_request", 2 * DAY), ago("meeting", "meeting_booked", DAY + MINUTE)]
    log += [ago(f"pricing-{d}", "pricing_page_visit", d * DAY + MINUTE, path="/pricing") for d in (1, 2, 4)]
    log += [ago(f"activation-{d}", "track", d * DAY, name="Workflow Created") for d in (1, 2, 3)]
    result = score(load_model(), ICP_LEAD, log, AS_OF)
    assert result.total >= 500
    assert result.handoff_level == "immediate"
    assert {t.level for t in result.handoff} == {"immediate", "priority", "standard"}
