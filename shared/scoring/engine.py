"""The scoring engine: `score(model, profile, engagements, as_of)` and its fast twin `summarize(...)`.

Both run one loop (`_evaluate`) over the compiled model (`compiler.py`); `summarize` only skips recording
breakdown lines and building the result objects, so its figures are the explained ones by construction (and
the tests check it on random models).

The log is reduced first (`_prepare`), then each engagement costs a dict lookup of its kind's `KindPlan`
and, when a rule scores it, integer arithmetic for the caps; engagement times are integer microseconds, so
filtering, de-duplication, ordering, day bucketing and windows are integer operations and the only float
operation is the half-life factor.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import TYPE_CHECKING

from shared.scoring.compiler import CompiledModel, compiled
from shared.scoring.fit_matching import FitHit
from shared.scoring.inputs import US_PER_DAY, Engagement, Profile, to_us
from shared.scoring.results import (
    Adjustment,
    EngagementLine,
    FitLine,
    GroupScore,
    HandoffLevel,
    HandoffTrigger,
    Score,
    ScoreSummary,
    from_us,
    points,
)
from shared.scoring.sessions import content_key, count_sessions

if TYPE_CHECKING:
    from shared.scoring.model import ScoringModel

_new_tuple = tuple.__new__  # builds a named tuple from a plain one without its Python-level constructor
# (at_us, event_id), by position: the sort key is read for every engagement, and `itemgetter` costs less than
# `attrgetter` on a named tuple
_LOG_ORDER = itemgetter(Engagement._fields.index("at_us"), Engagement._fields.index("event_id"))


def _identity(e: Engagement) -> tuple[object, ...]:
    """Which copy of a duplicated event id counts: the least by time, then by content."""
    properties = json.dumps(e.properties, sort_keys=True, default=str)
    return (e.at_us, e.kind, e.name or "", e.url or "", e.path or "", properties, e.withheld or "")


def _prepare(engagements: Iterable[Engagement], as_of_us: int) -> list[Engagement]:
    """The log as scored: engagements after `as_of` dropped, one per event id, in (time, event id) order.

    Of several engagements sharing an event id the one with the least `_identity` counts, so the result
    does not depend on the input's order.
    """
    events = [e for e in engagements if e.at_us <= as_of_us]
    if len({e.event_id for e in events}) != len(events):
        chosen: dict[str, Engagement] = {}
        for e in events:
            prev = chosen.setdefault(e.event_id, e)
            if prev is not e and prev != e and _identity(e) < _identity(prev):
                chosen[e.event_id] = e
        events = list(chosen.values())
    events.sort(key=_LOG_ORDER)
    return events


@dataclass(slots=True, init=False)
class _Run:
    """What one pass over a contact found: the figures, and what the breakdown is built from.

    Built empty and filled in by name, once per contact: in CPython 3.11 that costs under a third of a named
    tuple's positional constructor and a tenth of its keyword one (measured), which showed on the fast path.
    """

    fit: int
    fit_hits: list[FitHit]
    disqualified: list[int]  # indices of the disqualifying fit rules that matched
    engagement: int
    uncapped: list[int]  # per group, before its cap
    groups: list[int]  # per group, after its cap
    total: int
    total_adjustments: list[tuple[str, int]]  # (`total_cap` or `floor`, points added)
    sessions: int
    pieces: int
    icp: bool
    mql: bool
    immediate: bool
    priority: dict[str, Engagement]  # the latest engagement of each priority kind within the look-back
    standard_since: int | None
    lines: list[EngagementLine] | None


def _fit(c: CompiledModel, profile: Profile) -> tuple[int, list[FitHit], list[int]]:
    """(fit score, hits, indices of the disqualifying rules among them)."""
    vals = [extract(profile) for extract in c.fit_extractors]
    total = 0
    hits: list[FitHit] = []
    disqualified: list[int] = []
    rules = c.fit_rules
    for unit in c.fit_units:
        hit = unit(vals)
        if hit is not None:
            index, _ = hit
            rule = rules[index]
            total += rule.points
            hits.append(hit)
            if rule.disqualifies:
                disqualified.append(index)
    return total, hits, disqualified


def _evaluate(
    c: CompiledModel, profile: Profile, engagements: Iterable[Engagement], as_of_us: int, explain: bool
) -> _Run:
    fit, fit_hits, disqualified = _fit(c, profile)
    events = _prepare(engagements, as_of_us)

    # per rule, by RulePlan.index: what its caps have counted so far
    matches = [0] * c.rule_count  # engagements it matched (`once`)
    earned = [0] * c.rule_count  # magnitude earned in all (`max_lifetime`)
    day_of = [-1] * c.rule_count  # the UTC day `earned_today` is about (`max_per_day`)
    earned_today = [0] * c.rule_count
    gsum = [0] * len(c.group_ids)
    plans = c.plans
    metrics_after = as_of_us - c.lookback_us if c.lookback_us is not None else -(1 << 62)
    priority_after = as_of_us - c.priority_lookback_us
    session_times: list[int] = []
    pieces: set[str] = set()
    priority: dict[str, Engagement] = {}
    lines: list[EngagementLine] | None = [] if explain else None

    for ev in events:
        kind = ev.kind
        plan = plans.get(kind)
        if plan is None:
            continue
        at = ev.at_us
        if ev.withheld is not None:  # the caller may not score it: shown, at 0, counting toward nothing
            if lines is not None:
                rule = plan.rule or (plan.select(ev) if plan.select is not None else None)
                if rule is not None:
                    shown = (rule.id, rule.group, kind, ev.event_id, at, rule.points, 0, 0, None, ev.withheld)
                    lines.append(_new_tuple(EngagementLine, shown))
            continue
        if at > metrics_after:
            if plan.counts_sessions:
                session_times.append(at)
            if plan.counts_content:
                key = content_key(ev.name, ev.url)
                if key is not None:
                    pieces.add(key)
        if plan.priority and at > priority_after:
            priority[kind] = ev
        rule = plan.rule
        if rule is None:
            select = plan.select
            if select is None:
                continue
            rule = select(ev)
            if rule is None:
                continue
        ri = rule.index
        got = rule.magnitude
        cap: str | None = None  # the cap that reduced what the engagement earned, as EngagementLine names it
        if rule.once and matches[ri]:
            got = 0
            cap = "once"
        else:
            max_day = rule.max_per_day
            if max_day:
                day = at // US_PER_DAY
                if day_of[ri] != day:
                    day_of[ri] = day
                    earned_today[ri] = 0
                room = max_day - earned_today[ri]
                if room < got:
                    got = room
                    cap = "max_per_day"
            max_life = rule.max_lifetime
            if max_life:
                room = max_life - earned[ri]
                if room < got:
                    got = room
                    cap = "max_lifetime"
                earned[ri] += got
            if max_day:
                earned_today[ri] += got
        matches[ri] += 1
        pts = rule.points
        awarded = got if pts >= 0 else -got
        if not awarded:
            worth = 0
        elif (half_life := rule.half_life_us) is not None:
            age = as_of_us - at
            if age:
                v = awarded * 2.0 ** (-age / half_life)
                worth = int(v + 0.5) if v >= 0 else -int(0.5 - v)  # to the nearest hundredth, half away from 0
            else:
                worth = awarded
        elif (window := rule.window_us) is not None:
            worth = awarded if as_of_us - at < window else 0
        else:
            worth = awarded
        gsum[rule.group_index] += worth
        if lines is not None:
            line = (rule.id, rule.group, kind, ev.event_id, at, pts, awarded, worth, cap, None)  # EngagementLine's
            lines.append(_new_tuple(EngagementLine, line))

    uncapped = list(gsum)
    engagement = 0
    for gi, group_cap in enumerate(c.group_caps):
        if group_cap is not None and gsum[gi] > group_cap:
            gsum[gi] = group_cap
        engagement += gsum[gi]

    total = fit + engagement
    adjustments: list[tuple[str, int]] = []
    if c.total_cap is not None and total > c.total_cap:
        adjustments.append(("total_cap", c.total_cap - total))
        total = c.total_cap
    if not c.allow_negative and total < 0:
        adjustments.append(("floor", -total))
        total = 0

    sessions = count_sessions(session_times, c.session_gap_us)
    icp = fit >= c.icp_min and not disqualified
    mql = (
        gsum[c.email_group] >= c.email_min
        and len(pieces) >= c.pieces_min
        and sessions >= c.sessions_min
        and (icp or not c.require_icp)
    )
    allowed = not (c.suppress_disqualified and disqualified)
    immediate = allowed and c.immediate_min is not None and total >= c.immediate_min
    if not allowed or (c.priority_requires_icp and not icp):
        priority = {}
    standard_since: int | None = None
    if allowed and mql and c.standard_nurture_us is not None and profile.nurture_withheld is None:
        start = to_us(profile.nurture_started_at) if profile.nurture_started_at is not None else None
        if start is None:
            start = next((ev.at_us for ev in events if ev.withheld is None), None)
        if start is not None and as_of_us - start >= c.standard_nurture_us:
            standard_since = start
    run = _Run()
    run.fit = fit
    run.fit_hits = fit_hits
    run.disqualified = disqualified
    run.engagement = engagement
    run.uncapped = uncapped
    run.groups = gsum
    run.total = total
    run.total_adjustments = adjustments
    run.sessions = sessions
    run.pieces = len(pieces)
    run.icp = icp
    run.mql = mql
    run.immediate = immediate
    run.priority = priority
    run.standard_since = standard_since
    run.lines = lines
    return run


def _level(run: _Run) -> HandoffLevel | None:
    if run.immediate:
        return "immediate"
    if run.priority:
        return "priority"
    if run.standard_since is not None:
        return "standard"
    return None


def _compiled(model: ScoringModel | CompiledModel) -> CompiledModel:
    return model if isinstance(model, CompiledModel) else compiled(model)


# ---------------------------------------------------------------------------------------------------------- API


def summarize(
    model: ScoringModel | CompiledModel, profile: Profile, engagements: Iterable[Engagement], as_of: datetime
) -> ScoreSummary:
    """The fast path: the same figures as `score(...).summary()`, without building the breakdown."""
    c = _compiled(model)
    run = _evaluate(c, profile, engagements, to_us(as_of), False)
    # positional, in ScoreSummary's field order: its keyword constructor would cost ~1.5% of this path
    return ScoreSummary(
        run.total,
        run.fit,
        run.engagement,
        run.groups[c.email_group],
        run.pieces,
        run.sessions,
        run.icp,
        run.mql,
        _level(run),
    )


def score(
    model: ScoringModel | CompiledModel, profile: Profile, engagements: Iterable[Engagement], as_of: datetime
) -> Score:
    """The contact's score as of `as_of`, with its breakdown: a pure function of its arguments."""
    c = _compiled(model)
    as_of_us = to_us(as_of)
    run = _evaluate(c, profile, engagements, as_of_us, True)
    assert run.lines is not None

    fit_lines = []
    for index, matched in sorted(run.fit_hits):
        rule = c.fit_rules[index]
        fit_lines.append(FitLine(rule.id, rule.points, _shown(matched), rule.disqualifies))
    adjustments: list[Adjustment] = []
    groups: list[GroupScore] = []
    for gi, group in enumerate(c.group_ids):
        uncapped, capped, cap = run.uncapped[gi], run.groups[gi], c.group_caps[gi]
        groups.append(GroupScore(group, uncapped, capped, cap))
        if capped != uncapped:
            detail = f"group {group}: {points(uncapped):.2f} capped at {points(capped):.2f}"
            adjustments.append(Adjustment("group_cap", group, capped - uncapped, detail))
    for kind, amount in run.total_adjustments:
        if kind == "total_cap":
            cap_h = c.total_cap or 0
            detail = f"total {points(cap_h - amount):.2f} capped at {points(cap_h):.2f}"
            adjustments.append(Adjustment("total_cap", "total", amount, detail))
        else:
            adjustments.append(Adjustment("floor", "total", amount, "a negative total is raised to 0"))

    return Score(
        model_version=c.version,
        as_of=as_of,
        total_hundredths=run.total,
        fit_hundredths=run.fit,
        engagement_hundredths=run.engagement,
        email_engagement_hundredths=run.groups[c.email_group],
        content_pieces=run.pieces,
        website_sessions=run.sessions,
        icp_fit=run.icp,
        disqualified_by=tuple(c.fit_rules[index].id for index in sorted(run.disqualified)),
        mql=run.mql,
        handoff=_triggers(c, run, as_of_us),
        groups=tuple(groups),
        fit_lines=tuple(fit_lines),
        engagement_lines=tuple(run.lines),
        adjustments=tuple(adjustments),
    )


def _shown(matched: object) -> str:
    if isinstance(matched, float):
        return f"{matched:,.0f}" if matched.is_integer() else f"{matched:,}"
    return str(matched)


def _triggers(c: CompiledModel, run: _Run, as_of_us: int) -> tuple[HandoffTrigger, ...]:
    """The triggers that fire, most urgent first (immediate, then priority by recency, then standard)."""
    triggers: list[HandoffTrigger] = []
    if run.immediate:
        triggers.append(
            HandoffTrigger("immediate", f"total {points(run.total):.2f} >= {points(c.immediate_min or 0):.2f}")
        )
    lookback = f"{c.priority_lookback_us / US_PER_DAY:g}"
    for kind, ev in sorted(run.priority.items(), key=lambda item: (-item[1].at_us, item[0])):
        reason = f"{kind} at {from_us(ev.at_us).isoformat()}, within the last {lookback} days"
        triggers.append(HandoffTrigger("priority", reason, ev.event_id))
    if run.standard_since is not None:
        days = (as_of_us - run.standard_since) / US_PER_DAY
        minimum = (c.standard_nurture_us or 0) / US_PER_DAY
        triggers.append(
            HandoffTrigger(
                "standard",
                f"MQL after {days:.1f} days of nurturing (since {from_us(run.standard_since).isoformat()}; "
                f"minimum {minimum:g})",
            )
        )
    return tuple(triggers)
