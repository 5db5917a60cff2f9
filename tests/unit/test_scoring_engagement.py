"""Engagement rules: conditions, once vs repeatable, per-day and lifetime caps, group caps, decay, the overall
cap and the floor, de-duplication and `as_of`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.scoring import Engagement, Profile, Score, score
from tests.unit.test_scoring_support import AS_OF, ago, at, build, rule

DAY = timedelta(days=1)


def scored(rules: list[dict[str, Any]], log: list[Engagement], **parts: Any) -> Score:
    return score(build(rules=rules, **parts), Profile(), log, AS_OF)


def lines(result: Score) -> list[tuple[str, str, float, float, str | None]]:
    return [(x.event_id, x.rule_id, x.awarded, x.points, x.cap) for x in result.engagement_lines]


# ------------------------------------------------------------------------------------------------ conditions


def test_an_engagement_no_rule_matches_scores_nothing_and_is_not_in_the_breakdown() -> None:
    result = scored([rule("open", "email_open", 5)], [ago("e1", "email_click")])
    assert (result.total, result.engagement_lines) == (0, ())


PRICING = rule("pricing", "page_view", 10, when=[{"field": "path", "op": "prefix", "value": "/pricing"}])
PAGE = rule("page", "page_view", 2)


@pytest.mark.parametrize(
    ("path", "rule_id"),
    [("/pricing", "pricing"), ("/Pricing/enterprise", "pricing"), ("/blog/pricing", "page"), (None, "page")],
)
def test_a_path_prefix_condition_and_first_matching_rule_wins(path: str | None, rule_id: str) -> None:
    # given a pricing rule before a generic page-view rule
    # when a page view is scored, then it scores under exactly one rule: the first whose conditions hold
    result = scored([PRICING, PAGE], [ago("e1", "page_view", path=path)])
    assert [x.rule_id for x in result.engagement_lines] == [rule_id]


def test_a_property_equals_condition_compares_text_case_insensitively() -> None:
    topic = rule(
        "revops", "content_download", 20, when=[{"field": "properties.topic", "op": "equals", "value": "revops"}]
    )
    log = [
        ago("e1", "content_download", properties={"topic": " RevOps "}),
        ago("e2", "content_download", properties={"topic": "sales"}),
        ago("e3", "content_download"),
    ]
    assert [x.event_id for x in scored([topic], log).engagement_lines] == ["e1"]


def test_a_name_in_condition() -> None:
    activation = rule(
        "activation", "track", 10, when=[{"field": "name", "op": "in", "values": ["Workflow Created", "Invited"]}]
    )
    log = [ago("e1", "track", name="workflow created"), ago("e2", "track", name="Dashboard Viewed")]
    assert [x.event_id for x in scored([activation], log).engagement_lines] == ["e1"]


def test_contains_exists_and_nested_property_conditions() -> None:
    rules = [
        rule("utm", "page_view", 3, when=[{"field": "url", "op": "contains", "value": "utm_source=linkedin"}]),
        rule("plan", "form_submit", 4, when=[{"field": "properties.plan.tier", "op": "equals", "value": "enterprise"}]),
        rule("named", "form_submit", 1, when=[{"field": "name", "op": "exists"}]),
    ]
    log = [
        ago("e1", "page_view", url="https://x.example/?utm_source=LinkedIn"),
        ago("e2", "page_view", url="https://x.example/"),
        ago("e3", "form_submit", properties={"plan": {"tier": "Enterprise"}}),
        ago("e4", "form_submit", name="Contact us", properties={"plan": "enterprise"}),
        ago("e5", "form_submit", name="   "),
    ]
    assert [(x.event_id, x.rule_id) for x in scored(rules, log).engagement_lines] == [
        ("e1", "utm"),
        ("e3", "plan"),
        ("e4", "named"),
    ]


def test_all_conditions_of_a_rule_must_hold() -> None:
    both = rule(
        "webinar-revops",
        "webinar_attended",
        25,
        when=[
            {"field": "properties.topic", "op": "equals", "value": "revops"},
            {"field": "properties.live", "op": "equals", "value": True},
        ],
    )
    log = [
        ago("e1", "webinar_attended", properties={"topic": "revops", "live": True}),
        ago("e2", "webinar_attended", properties={"topic": "revops", "live": False}),
    ]
    assert [x.event_id for x in scored([both], log).engagement_lines] == ["e1"]


# ---------------------------------------------------------------------------------------------- once / caps


def test_a_once_rule_scores_only_the_contacts_first_matching_engagement() -> None:
    # given a once rule and two demo requests
    log = [ago("late", "demo_request", DAY), ago("early", "demo_request", 2 * DAY)]
    # when scored, then only the earlier one earns; the later shows the "once" cap
    result = scored([rule("demo", "demo_request", 100, repeat="once")], log)
    assert lines(result) == [("early", "demo", 100, 100, None), ("late", "demo", 0, 0, "once")]
    assert result.total == 100


def test_a_repeatable_rule_scores_every_matching_engagement() -> None:
    log = [ago("e1", "demo_request", DAY), ago("e2", "demo_request", 2 * DAY)]
    assert scored([rule("demo", "demo_request", 100)], log).total == 200


def test_a_per_day_cap_trims_the_engagement_that_reaches_it_and_resets_on_the_next_utc_day() -> None:
    # given opens worth 4 capped at 10 a day: three at 09:00-11:00 one day, one just after midnight UTC
    day = datetime(2026, 2, 20, tzinfo=UTC)
    log = [at(f"e{h}", "email_open", day + timedelta(hours=h)) for h in (9, 10, 11)]
    log.append(at("next", "email_open", day + timedelta(days=1, seconds=1)))
    # when scored
    result = scored([rule("open", "email_open", 4, max_per_day=10)], log)
    # then the third open earns the 2 left that day, the next day starts afresh
    assert lines(result) == [
        ("e9", "open", 4, 4, None),
        ("e10", "open", 4, 4, None),
        ("e11", "open", 2, 2, "max_per_day"),
        ("next", "open", 4, 4, None),
    ]
    assert result.total == 14


def test_a_per_day_cap_uses_utc_days_not_24_hour_spans() -> None:
    late = datetime(2026, 2, 20, 23, 59, tzinfo=UTC)
    log = [at("a", "email_open", late), at("b", "email_open", late + timedelta(minutes=2))]
    assert scored([rule("open", "email_open", 5, max_per_day=5)], log).total == 10


def test_a_lifetime_cap_holds_across_days() -> None:
    log = [ago(f"e{n}", "email_click", n * DAY) for n in range(1, 5)]
    result = scored([rule("click", "email_click", 15, max_lifetime=40)], log)
    assert [x.awarded for x in result.engagement_lines] == [15, 15, 10, 0]
    assert [x.cap for x in result.engagement_lines] == [None, None, "max_lifetime", "max_lifetime"]
    assert result.total == 40


def test_caps_bound_a_negative_rule_by_magnitude() -> None:
    # given cancellations worth -25, at most 30 (in magnitude) ever, and a meeting booked worth 100
    rules = [
        rule("booked", "meeting_booked", 100),
        rule("canceled", "meeting_canceled", -25, max_lifetime=30),
    ]
    log = [ago("m", "meeting_booked", 5 * DAY), *(ago(f"c{n}", "meeting_canceled", n * DAY) for n in (3, 2, 1))]
    result = scored(rules, log)
    assert [x.awarded for x in result.engagement_lines] == [100, -25, -5, 0]
    assert result.total == 70


def test_a_zero_point_rule_claims_engagements_from_later_rules() -> None:
    careers = rule("careers", "page_view", 0, when=[{"field": "path", "op": "prefix", "value": "/careers"}])
    result = scored([careers, PAGE], [ago("e1", "page_view", path="/careers/engineer")])
    assert lines(result) == [("e1", "careers", 0, 0, None)]


# ------------------------------------------------------------------------------------------------ group caps

GROUPS = [{"id": "email", "cap": 20}, {"id": "web"}]


def test_a_group_cap_is_an_explicit_adjustment_and_the_breakdown_still_adds_up() -> None:
    # given a group capped at 20 and 35 points of opens in it, plus 4 points elsewhere
    rules = [rule("open", "email_open", 5), rule("page", "page_view", 2, group="web")]
    log = [ago(f"o{n}", "email_open", n * DAY) for n in range(7)] + [ago(f"p{n}", "page_view") for n in range(2)]
    # when scored
    result = scored(rules, log, groups=GROUPS)
    # then every line keeps its own points, one adjustment takes the group down to its cap
    assert sum(x.points for x in result.engagement_lines) == 39
    assert [(a.kind, a.scope, a.points) for a in result.adjustments] == [("group_cap", "email", -15)]
    assert (result.engagement_score, result.total) == (24, 24)
    assert result.breakdown_hundredths() == result.total_hundredths
    assert [(g.group, g.points, g.uncapped_hundredths) for g in result.groups] == [("email", 20, 3500), ("web", 4, 400)]


def test_a_group_under_its_cap_has_no_adjustment() -> None:
    result = scored([rule("open", "email_open", 5)], [ago("o", "email_open")], groups=GROUPS)
    assert result.adjustments == ()


# ------------------------------------------------------------------------------------------------------ decay

HALF_LIFE = [{"id": "email", "decay": {"kind": "half_life", "days": 30}}]
WINDOW = [{"id": "email", "decay": {"kind": "window", "days": 30}}]


@pytest.mark.parametrize(
    ("age", "points"),
    [(timedelta(0), 10.0), (timedelta(days=30), 5.0), (timedelta(days=60), 2.5), (timedelta(days=15), 7.07)],
)
def test_half_life_decay_halves_at_exactly_one_half_life(age: timedelta, points: float) -> None:
    result = scored([rule("click", "email_click", 10)], [ago("e", "email_click", age)], groups=HALF_LIFE)
    line = result.engagement_lines[0]
    assert (line.awarded, line.points, result.total) == (10, points, points)


def test_half_life_rounds_each_line_to_the_nearest_hundredth_half_up() -> None:
    # 0.05 points at one half-life is 2.5 hundredths: rounded to 0.03; at two half-lives 1.25: 0.01
    log = [ago("a", "email_open", timedelta(days=30)), ago("b", "email_open", timedelta(days=60))]
    result = scored([rule("open", "email_open", 0.05)], log, groups=HALF_LIFE)
    assert [x.points_hundredths for x in result.engagement_lines] == [1, 3]


def test_half_life_decay_of_a_negative_rule_rounds_away_from_zero() -> None:
    result = scored([rule("unsub", "track", -0.05)], [ago("a", "track", timedelta(days=30))], groups=HALF_LIFE)
    assert result.engagement_lines[0].points_hundredths == -3


@pytest.mark.parametrize(
    ("age", "points"), [(timedelta(days=30) - timedelta(microseconds=1), 10.0), (timedelta(days=30), 0.0)]
)
def test_a_window_drops_points_at_its_edge(age: timedelta, points: float) -> None:
    result = scored([rule("click", "email_click", 10)], [ago("e", "email_click", age)], groups=WINDOW)
    line = result.engagement_lines[0]
    assert (line.awarded, line.points) == (10, points)


def test_caps_count_what_was_earned_even_after_it_decayed_away() -> None:
    # given a once rule in a 30-day window, first hit 40 days ago (worth nothing now)
    log = [ago("old", "trial_signup", timedelta(days=40)), ago("new", "trial_signup", DAY)]
    result = scored([rule("trial", "trial_signup", 80, repeat="once")], log, groups=WINDOW)
    # then the new one does not score: once means once in the contact's life
    assert lines(result) == [("old", "trial", 80, 0, None), ("new", "trial", 0, 0, "once")]


def test_decay_is_chosen_per_group() -> None:
    groups = [{"id": "email", "decay": {"kind": "half_life", "days": 10}}, {"id": "web", "decay": {"kind": "none"}}]
    rules = [rule("open", "email_open", 8), rule("page", "page_view", 8, group="web")]
    log = [ago("o", "email_open", timedelta(days=10)), ago("p", "page_view", timedelta(days=400))]
    assert [x.points for x in scored(rules, log, groups=groups).engagement_lines] == [8, 4]


# ------------------------------------------------------------------------------------------- total and floor


def test_the_total_cap_is_an_adjustment_line() -> None:
    result = scored(
        [rule("demo", "demo_request", 300)], [ago("a", "demo_request"), ago("b", "demo_request")], total={"cap": 500}
    )
    assert result.total == 500
    assert [(a.kind, a.points) for a in result.adjustments] == [("total_cap", -100)]
    assert result.breakdown_hundredths() == 50000


def test_a_negative_total_floors_at_zero_with_a_floor_line() -> None:
    result = scored([rule("cancel", "meeting_canceled", -25)], [ago("c", "meeting_canceled")])
    assert (result.engagement_score, result.total) == (-25, 0)
    assert [(a.kind, a.points) for a in result.adjustments] == [("floor", 25)]
    assert result.breakdown_hundredths() == 0


def test_a_negative_total_stays_negative_where_the_model_allows_it() -> None:
    result = scored(
        [rule("cancel", "meeting_canceled", -25)], [ago("c", "meeting_canceled")], total={"allow_negative": True}
    )
    assert (result.total, result.adjustments) == (-25, ())


# ------------------------------------------------------------------------------------------- log semantics


def test_an_engagement_with_a_duplicate_event_id_scores_once() -> None:
    log = [ago("e1", "demo_request"), ago("e1", "demo_request"), ago("e1", "demo_request", timedelta(hours=1))]
    result = scored([rule("demo", "demo_request", 100)], log)
    assert result.total == 100
    assert [x.occurred_at for x in result.engagement_lines] == [AS_OF - timedelta(hours=1)]  # the earliest copy


def test_engagements_after_as_of_are_ignored_and_one_at_as_of_counts() -> None:
    log = [ago("now", "email_open"), Engagement.of("later", AS_OF + timedelta(microseconds=1), "email_open")]
    assert [x.event_id for x in scored([rule("open", "email_open", 5)], log).engagement_lines] == ["now"]


def test_the_breakdown_names_rule_event_time_and_points() -> None:
    result = scored([rule("click", "email_click", 12.5)], [ago("evt-9", "email_click", timedelta(hours=2))])
    line = result.engagement_lines[0]
    assert (line.rule_id, line.group, line.kind, line.event_id, line.occurred_at) == (
        "click",
        "email",
        "email_click",
        "evt-9",
        AS_OF - timedelta(hours=2),
    )
    assert (line.raw, line.awarded, line.points, line.points_hundredths) == (12.5, 12.5, 12.5, 1250)


def test_a_score_serializes_to_json_with_two_decimal_points() -> None:
    result = scored([rule("click", "email_click", 12.5)], [ago("e", "email_click")], groups=GROUPS)
    document = json.loads(json.dumps(result.to_dict()))
    assert document["total"] == 12.5
    assert document["breakdown"]["engagement"][0]["points"] == 12.5
    assert document["model_version"] == "test-1"


def test_a_naive_as_of_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        score(build(), Profile(), [], datetime(2026, 3, 1))  # naive on purpose


def test_an_engagement_is_built_from_a_canonical_engagement_event() -> None:
    from shared.events.canonical import CanonicalEvent, EventType

    event = CanonicalEvent(
        event_id="11111111-1111-1111-1111-111111111111",
        event_type=EventType.ENGAGEMENT_RECORDED,
        occurred_at=AS_OF,
        received_at=AS_OF,
        source_vendor="segment",
        vendor_event_id="m1",
        vendor_event_type="page",
        data={"kind": "pricing_page_visit", "name": "Pricing", "url": "https://x/pricing", "path": "/pricing"},
        correlation_id="r",
        delivery_id="d",
    )
    engagement = Engagement.from_event(event)
    assert engagement == Engagement(
        event.event_id, engagement.at_us, "pricing_page_visit", "Pricing", "https://x/pricing", "/pricing"
    )
    assert engagement.occurred_at == AS_OF
