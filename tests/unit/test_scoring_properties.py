"""Properties of scoring on random models, profiles and logs: the breakdown adds up exactly, recomputation is
deterministic and order-independent, duplicates score once, engagements after as_of change nothing, the fast
path gives the explained figures, and the caps hold."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.scoring import Engagement, Profile, ScoringModel, load_model, parse_model, score, summarize, to_us
from shared.scoring.fit_matching import extractor, fit_unit, generic_fit_unit
from shared.scoring.inputs import US_PER_DAY
from shared.scoring.model import Condition
from shared.scoring.rule_selection import fused_selector, generic_selector
from tests.unit.test_scoring_support import AS_OF, model_dict

AS_OF_US = to_us(AS_OF)
KINDS = ["email_open", "email_click", "page_view", "pricing_page_visit", "content_download", "demo_request", "track"]
WORDS = ["/pricing", "/p", "/careers", "Guide", "guide ", "revops", "RevOps", "https://x.example/p?q=1", ""]
FIELDS = ["name", "url", "path", "properties.topic", "properties.plan.tier"]
PROPERTIES: list[dict[str, Any]] = [{}, {"topic": "revops"}, {"topic": " RevOps "}, {"plan": {"tier": "guide"}}]
SETTINGS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

hundredths = st.integers(-5_000, 20_000)


def as_points(value: int) -> float:
    return value / 100


@st.composite
def conditions(draw: st.DrawFn, fields: list[str] = FIELDS) -> dict[str, Any]:
    op = draw(st.sampled_from(["equals", "in", "prefix", "contains", "exists"]))
    spec: dict[str, Any] = {"field": draw(st.sampled_from(fields)), "op": op}
    if op == "in":
        spec["values"] = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3))
    elif op != "exists":
        spec["value"] = draw(st.sampled_from(WORDS))
    return spec


@st.composite
def random_models(draw: st.DrawFn) -> ScoringModel:
    groups = []
    for index in range(draw(st.integers(1, 3))):
        group: dict[str, Any] = {
            "id": f"g{index}",
            "decay": draw(
                st.one_of(
                    st.just({"kind": "none"}),
                    st.sampled_from([0.5, 1, 7, 30]).map(lambda d: {"kind": "half_life", "days": d}),
                    st.sampled_from([1, 7, 30]).map(lambda d: {"kind": "window", "days": d}),
                )
            ),
        }
        if draw(st.booleans()):
            group["cap"] = as_points(draw(st.integers(1, 30_000)))
        groups.append(group)
    rules = []
    for index in range(draw(st.integers(0, 7))):
        points = draw(hundredths)
        floor = max(abs(points), 1)
        rule: dict[str, Any] = {
            "id": f"r{index}",
            "kind": draw(st.sampled_from(KINDS)),
            "group": draw(st.sampled_from([g["id"] for g in groups])),
            "points": as_points(points),
            "repeat": draw(st.sampled_from(["repeatable", "once"])),
            "when": draw(st.lists(conditions(), max_size=2)),
        }
        if draw(st.booleans()):
            rule["max_per_day"] = as_points(draw(st.integers(floor, floor * 4)))
        if draw(st.booleans()):
            rule["max_lifetime"] = as_points(draw(st.integers(floor, floor * 8)))
        rules.append(rule)
    fit_rules = [
        {
            "id": "industry",
            "kind": "in",
            "field": "industry",
            "values": ["software"],
            "points": draw(st.integers(-50, 50)),
        },
        {"id": "size-a", "kind": "band", "field": "employee_count", "group": "size", "points": 10, "max": 200},
        {
            "id": "size-b",
            "kind": "band",
            "field": "employee_count",
            "group": "size",
            "points": draw(st.integers(-9, 40)),
            "min": 100,
        },
        {"id": "vp", "kind": "keywords", "points": draw(st.integers(-30, 30)), "keywords": ["vp", "vice president"]},
        {"id": "free-mail", "kind": "domain", "points": draw(st.integers(-40, 0)), "domains": ["gmail.com"]},
        {"id": "rival", "kind": "domain", "points": -60, "disqualifies": True, "domains": ["rival.com"]},
    ]
    data = {
        "version": "random",
        "fit": {"icp_min": draw(st.integers(-20, 60)), "rules": draw(st.permutations(fit_rules))},
        "engagement": {"groups": groups, "rules": rules},
        "total": {
            "cap": draw(st.none() | st.integers(1, 50_000).map(as_points)),
            "allow_negative": draw(st.booleans()),
        },
        "mql": {
            "email_group": "g0",
            "email_engagement_min": draw(st.integers(0, 50)),
            "content_pieces_min": draw(st.integers(0, 2)),
            "website_sessions_min": draw(st.integers(0, 3)),
            "require_icp_fit": draw(st.booleans()),
            "lookback_days": draw(st.sampled_from([None, 1, 30])),
        },
        "handoff": {
            "immediate_total_min": draw(st.none() | st.integers(0, 300)),
            "priority_kinds": draw(st.lists(st.sampled_from(KINDS), max_size=2)),
            "priority_lookback_days": draw(st.sampled_from([1, 30])),
            "priority_below_icp_fit": draw(st.booleans()),
            "standard_after_nurture_days": draw(st.sampled_from([None, 1, 14])),
            "suppress_when_disqualified": draw(st.booleans()),
        },
    }
    return parse_model(data)


models = st.one_of(random_models(), st.just(load_model()))

moments = st.one_of(
    st.integers(AS_OF_US - 40 * US_PER_DAY, AS_OF_US),
    st.integers(0, 40).map(lambda days: AS_OF_US - days * US_PER_DAY),  # exact decay and window edges
    st.integers(0, 200).map(lambda minutes: AS_OF_US - minutes * 60_000_000),  # session gaps
)
engagements = st.builds(
    Engagement,
    event_id=st.sampled_from([f"e{n}" for n in range(15)]),  # a small pool: ids collide, contents may differ
    at_us=moments,
    kind=st.sampled_from([*KINDS, "webinar_attended", "meeting_booked", "unknown_kind"]),
    name=st.none() | st.sampled_from(WORDS),
    url=st.none() | st.sampled_from(WORDS),
    path=st.none() | st.sampled_from(WORDS),
    properties=st.sampled_from(PROPERTIES),
)
logs = st.lists(engagements, max_size=30)
later = st.lists(
    st.builds(
        Engagement,
        event_id=st.sampled_from(["e1", "late-1", "late-2"]),
        at_us=st.integers(AS_OF_US + 1, AS_OF_US + 10 * US_PER_DAY),
        kind=st.sampled_from(KINDS),
        name=st.none(),
        url=st.none(),
        path=st.sampled_from([None, "/pricing"]),
        properties=st.just({}),
    ),
    min_size=1,
    max_size=5,
)
profiles = st.builds(
    Profile,
    email=st.sampled_from([None, "a@gmail.com", "b@rival.com", "c@acme.com", "d@eu.rival.com"]),
    job_title=st.sampled_from([None, "VP Sales", "Vice-President", "MVP"]),
    industry=st.sampled_from([None, "Software", "retail"]),
    employee_count=st.none() | st.integers(0, 1000),
)


@SETTINGS
@given(models, profiles, logs)
def test_breakdown_lines_sum_exactly_to_the_total(model: ScoringModel, profile: Profile, log: list[Engagement]) -> None:
    result = score(model, profile, log, AS_OF)
    group_caps = sum(a.points_hundredths for a in result.adjustments if a.kind == "group_cap")
    assert result.breakdown_hundredths() == result.total_hundredths
    assert sum(line.points_hundredths for line in result.fit_lines) == result.fit_hundredths
    assert sum(line.points_hundredths for line in result.engagement_lines) + group_caps == result.engagement_hundredths
    assert sum(g.points_hundredths for g in result.groups) == result.engagement_hundredths


@SETTINGS
@given(models, profiles, logs)
def test_the_fast_path_gives_the_explained_figures(
    model: ScoringModel, profile: Profile, log: list[Engagement]
) -> None:
    assert summarize(model, profile, log, AS_OF) == score(model, profile, log, AS_OF).summary()


@SETTINGS
@given(models, profiles, logs, st.data())
def test_recomputation_is_deterministic_and_independent_of_input_order(
    model: ScoringModel, profile: Profile, log: list[Engagement], data: st.DataObject
) -> None:
    first = score(model, profile, log, AS_OF)
    assert score(model, profile, log, AS_OF) == first
    assert score(model, profile, data.draw(st.permutations(log)), AS_OF) == first
    assert score(model, profile, iter(log[::-1]), AS_OF) == first


@SETTINGS
@given(models, profiles, logs, st.data())
def test_a_duplicated_event_id_never_scores_twice(
    model: ScoringModel, profile: Profile, log: list[Engagement], data: st.DataObject
) -> None:
    copies = data.draw(st.lists(st.sampled_from(log), max_size=10)) if log else []
    with_copies = data.draw(st.permutations(log + copies))
    assert score(model, profile, with_copies, AS_OF) == score(model, profile, log, AS_OF)
    result = score(model, profile, with_copies, AS_OF)
    ids = [line.event_id for line in result.engagement_lines]
    assert len(ids) == len(set(ids))


@SETTINGS
@given(models, profiles, logs, later)
def test_engagements_after_as_of_change_nothing(
    model: ScoringModel, profile: Profile, log: list[Engagement], future: list[Engagement]
) -> None:
    assert score(model, profile, log + future, AS_OF) == score(model, profile, log, AS_OF)


@SETTINGS
@given(random_models(), profiles, logs)
def test_caps_hold_line_by_line(model: ScoringModel, profile: Profile, log: list[Engagement]) -> None:
    result = score(model, profile, log, AS_OF)
    rules = {r.id: r for r in model.engagement.rules}
    lifetime: dict[str, int] = defaultdict(int)
    daily: dict[tuple[str, int], int] = defaultdict(int)
    earned: dict[str, int] = defaultdict(int)
    for line in result.engagement_lines:
        spec = rules[line.rule_id]
        assert abs(line.awarded_hundredths) <= abs(line.raw_hundredths)
        assert abs(line.points_hundredths) <= abs(line.awarded_hundredths)
        assert line.awarded_hundredths * line.raw_hundredths >= 0  # caps never flip a sign
        lifetime[line.rule_id] += abs(line.awarded_hundredths)
        daily[line.rule_id, line.at_us // US_PER_DAY] += abs(line.awarded_hundredths)
        earned[line.rule_id] += line.awarded_hundredths != 0
        if spec.max_lifetime is not None:
            assert lifetime[line.rule_id] <= spec.max_lifetime * 100
        if spec.max_per_day is not None:
            assert daily[line.rule_id, line.at_us // US_PER_DAY] <= spec.max_per_day * 100
        if spec.repeat == "once":
            assert earned[line.rule_id] <= 1
    for group in result.groups:
        assert group.cap_hundredths is None or group.points_hundredths <= group.cap_hundredths
    if model.total.cap is not None:
        assert result.total_hundredths <= model.total.cap * 100
    if not model.total.allow_negative:
        assert result.total >= 0


@SETTINGS
@given(
    st.lists(st.one_of(st.none(), conditions(["path"]).map(lambda c: [c])), min_size=1, max_size=5),
    st.lists(engagements, max_size=10),
)
def test_the_fused_rule_ladder_selects_what_the_generic_one_selects(
    ladder: list[list[dict[str, Any]] | None], events: list[Engagement]
) -> None:
    # given rules of one kind each with at most one condition on the path (the shape the engine fuses)
    specs = [[Condition.model_validate(c) for c in conds or []] for conds in ladder]
    rules = tuple(range(len(specs)))  # selection returns one of the rules it is given, whatever they are
    fused = fused_selector(rules, specs)
    generic = generic_selector(rules, specs)
    if fused is None:  # no conditioned rule at all: nothing to fuse
        assert all(not conds for conds in specs)
        return
    # then for every engagement both pick the same rule
    for event in events:
        assert fused(event) == generic(event)


FIT_VALUES = ["software", " Software ", "saas", "retail", "vp", "vice president", "manager"]
TITLES = [None, "VP Sales", "Vice-President", "Senior Manager", "software manager", "SaaS", "MVP"]


@st.composite
def fit_groups(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Rules of one kind on one field sharing one group: the shape `_fit_unit` fuses."""
    kind = draw(st.sampled_from(["in", "band", "keywords"]))
    rules = []
    for index in range(draw(st.integers(2, 5))):
        spec: dict[str, Any] = {"id": f"f{index}", "kind": kind, "group": "g", "points": index + 1}
        if kind == "in":
            spec |= {"field": "job_title", "values": draw(st.lists(st.sampled_from(FIT_VALUES), min_size=1))}
        elif kind == "keywords":
            spec |= {"field": "job_title", "keywords": draw(st.lists(st.sampled_from(FIT_VALUES), min_size=1))}
        else:
            low = draw(st.none() | st.integers(0, 500))
            high = draw(st.integers(501, 2000)) if low is None else draw(st.none() | st.integers(low + 1, 2000))
            spec |= {"field": "employee_count", "min": low, "max": high}
        rules.append(spec)
    return rules


@SETTINGS
@given(fit_groups(), st.sampled_from(TITLES), st.none() | st.integers(0, 2500))
def test_a_fused_fit_group_matches_what_trying_its_rules_in_order_matches(
    rules: list[dict[str, Any]], title: str | None, employees: int | None
) -> None:
    model = parse_model({**model_dict(), "fit": {"icp_min": 0, "rules": rules}})
    unit = list(enumerate(model.fit.rules))
    slots: dict[tuple[str, str], int] = {}

    def slot(name: str, form: str) -> int:
        return slots.setdefault((name, form), len(slots))

    fused, generic = fit_unit(unit, slot), generic_fit_unit(unit, slot)
    profile = Profile(job_title=title, employee_count=employees)
    vals = [extractor(name, form)(profile) for name, form in slots]
    assert fused(vals) == generic(vals)
