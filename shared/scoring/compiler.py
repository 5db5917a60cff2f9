"""Compiling a `ScoringModel` into the form the engine runs: `CompiledModel`, built once per model.

The pydantic model is compiled into integers (points in hundredths, durations in microseconds), closures and
one `KindPlan` per engagement kind: whether the kind counts towards website sessions, content pieces and
priority handoffs, and which of its rules (`RulePlan`) an engagement of the kind scores under. Fit rules
become per-field extractors and one closure per fit group (see `fit_matching.py`); engagement rule
conditions become a selector per kind (see `rule_selection.py`).

`compiled(model)` builds the compiled form on first use and caches it on the model, which is immutable.

The plans are slotted dataclasses rather than named tuples: the engine reads them by attribute for every
engagement, and in CPython 3.11 a slot read is specialized (about as cheap as indexing a tuple) while a named
tuple gets none of the tuple fast paths: its attributes are descriptor calls and unpacking it goes through the
iterator protocol, about twice the cost of unpacking a tuple. Named-tuple plans unpacked per engagement ran
~4% more instructions over the whole fast path than these slot reads (measured under callgrind).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from shared.scoring.fit_matching import Extractor, FitUnit, Form, IndexedRule, extractor, fit_unit
from shared.scoring.inputs import US_PER_DAY, hundredths
from shared.scoring.rule_selection import Selector, selector

if TYPE_CHECKING:
    from shared.scoring.model import Condition, EngagementGroup, FitRule, ScoringModel


@dataclass(frozen=True, slots=True)
class FitRulePlan:
    """A fit rule's outcome when it matches: its points (hundredths) and whether it rules out ICP fit."""

    id: str
    points: int
    disqualifies: bool


@dataclass(frozen=True, slots=True)
class RulePlan:
    """An engagement rule as the engine applies it. Points and caps in hundredths, durations in microseconds."""

    index: int  # position among the model's engagement rules: where the engine keeps its cap counters
    id: str
    group: str
    group_index: int  # position of `group` among the model's engagement groups
    points: int
    magnitude: int  # |points|: caps count magnitudes, so they also bound negative rules
    once: bool
    max_per_day: int  # 0: no daily cap
    max_lifetime: int  # 0: no lifetime cap
    half_life_us: int | None  # the group's decay: at most one of half-life and window, neither for `none`
    window_us: int | None


@dataclass(frozen=True, slots=True)
class KindPlan:
    """What the engine does with an engagement of one kind."""

    counts_sessions: bool  # one of `mql.session_kinds`
    counts_content: bool  # one of `mql.content_kinds`
    priority: bool  # one of `handoff.priority_kinds`
    # The rule every engagement of the kind scores under, when the kind's first rule has no conditions;
    # otherwise `select` picks one per engagement. Both None: no rule scores the kind.
    rule: RulePlan | None
    select: Selector[RulePlan] | None


@dataclass(frozen=True, slots=True)
class CompiledModel:
    """The model as the engine runs it: integers (hundredths, microseconds), closures and per-kind plans."""

    version: str
    # fit
    fit_rules: tuple[FitRulePlan, ...]  # in model order: a fit hit's index points here
    fit_extractors: tuple[Extractor, ...]  # by slot: the profile fields the fit units read
    fit_units: tuple[FitUnit, ...]  # one per fit group or ungrouped rule
    icp_min: int
    # engagement
    rule_count: int
    group_ids: tuple[str, ...]
    group_caps: tuple[int | None, ...]
    plans: Mapping[str, KindPlan]  # by engagement kind; a kind without a plan costs nothing
    # total
    total_cap: int | None
    allow_negative: bool
    # MQL
    email_group: int  # index into group_ids
    email_min: int
    pieces_min: int
    sessions_min: int
    require_icp: bool
    session_gap_us: int
    lookback_us: int | None
    # handoff
    immediate_min: int | None
    priority_lookback_us: int
    priority_requires_icp: bool
    standard_nurture_us: int | None
    suppress_disqualified: bool


def compiled(model: ScoringModel) -> CompiledModel:
    """`model` compiled: built on first use, then cached on the model (a model never changes)."""
    cached = model._compiled
    if not isinstance(cached, CompiledModel):
        cached = compile_model(model)
        model._compiled = cached
    return cached


def compile_model(model: ScoringModel) -> CompiledModel:
    """A fresh compiled form of `model` (`compiled(model)` caches it)."""
    fit_rules, fit_extractors, fit_units = _compile_fit(model.fit.rules)
    groups = model.engagement.groups
    group_ids = tuple(g.id for g in groups)
    mql, handoff = model.mql, model.handoff
    return CompiledModel(
        version=model.version,
        fit_rules=fit_rules,
        fit_extractors=fit_extractors,
        fit_units=fit_units,
        icp_min=hundredths(model.fit.icp_min),
        rule_count=len(model.engagement.rules),
        group_ids=group_ids,
        group_caps=tuple(None if g.cap is None else hundredths(g.cap) for g in groups),
        plans=_compile_plans(model, groups),
        total_cap=None if model.total.cap is None else hundredths(model.total.cap),
        allow_negative=model.total.allow_negative,
        email_group=group_ids.index(mql.email_group),
        email_min=hundredths(mql.email_engagement_min),
        pieces_min=mql.content_pieces_min,
        sessions_min=mql.website_sessions_min,
        require_icp=mql.require_icp_fit,
        session_gap_us=int(mql.session_gap_minutes * 60_000_000),
        lookback_us=None if mql.lookback_days is None else _days_us(mql.lookback_days),
        immediate_min=None if handoff.immediate_total_min is None else hundredths(handoff.immediate_total_min),
        priority_lookback_us=_days_us(handoff.priority_lookback_days),
        priority_requires_icp=not handoff.priority_below_icp_fit,
        standard_nurture_us=(
            None if handoff.standard_after_nurture_days is None else _days_us(handoff.standard_after_nurture_days)
        ),
        suppress_disqualified=handoff.suppress_when_disqualified,
    )


def _days_us(days: Decimal) -> int:
    return int(days * US_PER_DAY)


def _compile_fit(
    rules: Sequence[FitRule],
) -> tuple[tuple[FitRulePlan, ...], tuple[Extractor, ...], tuple[FitUnit, ...]]:
    """(rule outcomes, extractors by slot, units) of the model's fit rules."""
    slots: dict[tuple[str, Form], int] = {}

    def slot(name: str, form: Form) -> int:
        return slots.setdefault((name, form), len(slots))

    units: dict[object, list[IndexedRule]] = {}
    for index, rule in enumerate(rules):
        # a group is one unit (its first matching rule scores); an ungrouped rule is a unit of its own
        units.setdefault(rule.group if rule.group is not None else index, []).append((index, rule))
    outcomes = tuple(FitRulePlan(rule.id, hundredths(rule.points), rule.disqualifies) for rule in rules)
    compiled_units = tuple(fit_unit(unit, slot) for unit in units.values())  # hands out the slots
    return outcomes, tuple(extractor(name, form) for name, form in slots), compiled_units


def _compile_plans(model: ScoringModel, groups: Sequence[EngagementGroup]) -> dict[str, KindPlan]:
    group_index = {g.id: i for i, g in enumerate(groups)}
    decay = {g.id: g.decay for g in groups}
    by_kind: dict[str, list[RulePlan]] = {}
    conditions: dict[str, list[list[Condition]]] = {}
    for index, rule in enumerate(model.engagement.rules):
        pts = hundredths(rule.points)
        group_decay = decay[rule.group]
        conditions.setdefault(rule.kind.value, []).append(rule.when)
        by_kind.setdefault(rule.kind.value, []).append(
            RulePlan(
                index=index,
                id=rule.id,
                group=rule.group,
                group_index=group_index[rule.group],
                points=pts,
                magnitude=abs(pts),
                once=rule.repeat == "once",
                max_per_day=0 if rule.max_per_day is None else hundredths(rule.max_per_day),
                max_lifetime=0 if rule.max_lifetime is None else hundredths(rule.max_lifetime),
                half_life_us=_days_us(group_decay.days) if group_decay.kind == "half_life" else None,
                window_us=_days_us(group_decay.days) if group_decay.kind == "window" else None,
            )
        )

    sessions = {k.value for k in model.mql.session_kinds}
    content = {k.value for k in model.mql.content_kinds}
    priority = {k.value for k in model.handoff.priority_kinds}
    plans: dict[str, KindPlan] = {}
    for kind in sessions | content | priority | set(by_kind):
        rules, conds = by_kind.get(kind, []), conditions.get(kind, [])
        fixed = rules[0] if rules and not conds[0] else None  # the first rule takes every engagement
        plans[kind] = KindPlan(
            counts_sessions=kind in sessions,
            counts_content=kind in content,
            priority=kind in priority,
            rule=fixed,
            select=selector(rules, conds) if rules and fixed is None else None,
        )
    return plans
