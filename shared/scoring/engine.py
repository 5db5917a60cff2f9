"""The scoring engine: `score(model, profile, engagements, as_of)` and its fast twin `summarize(...)`.

Both run one loop (`_evaluate`); `summarize` only skips recording breakdown lines and building the result
objects, so its figures are the explained ones by construction (and the tests check it on random models).

Hot-path layout: the pydantic model is compiled once (`CompiledModel`, cached on the model) into plain
tuples: a plan per engagement kind (is it a session / content / priority kind, and its rules in order), each
rule with its points, caps and decay as integers (hundredths of a point, microseconds) and its conditions as
one closure over the engagement tuple; where a kind's rules form a ladder of single conditions on one of
name/url/path (`path prefix /careers`, `/pricing`, ..., then a catch-all), the ladder is fused into one
closure that normalizes the field once (`_fused_selector`, proven equal to `_generic_selector` by a property
test). Fit groups whose rules are of one kind on one field (size bands, title keywords) run as one closure
too (`_fit_unit`). Engagements are `Engagement` named tuples whose time is integer microseconds since the
epoch, so filtering, de-duplication, ordering, day bucketing and windows are integer operations; the only
float operation is the half-life factor.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from operator import attrgetter, itemgetter
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from shared.scoring.results import (
    EPOCH,
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
from shared.scoring.text import collapse, domain_of, words

if TYPE_CHECKING:
    from shared.events.canonical import CanonicalEvent
    from shared.scoring.model import Condition, ScoringModel

US_PER_DAY = 86_400_000_000
_ONE_US = timedelta(microseconds=1)
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_new_tuple = tuple.__new__  # builds a named tuple from a plain one without a Python-level call
_CAP_NAMES: tuple[str | None, ...] = (None, "once", "max_per_day", "max_lifetime")
_DECAY_NONE, _DECAY_HALF_LIFE, _DECAY_WINDOW = 0, 1, 2


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (no float rounding). `moment` must be timezone-aware."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no timezone: scoring needs timezone-aware times")
    return (moment - EPOCH) // _ONE_US


def hundredths(value: Decimal | int | float) -> int:
    """Points as integer hundredths (`Decimal("2.5")` -> 250); the model allows at most two decimals."""
    return int(Decimal(str(value)) * 100)


# ------------------------------------------------------------------------------------------------------ inputs


class Engagement(NamedTuple):
    """One engagement of a contact, in the engine's compact form.

    `at_us`: when it happened, in microseconds since the epoch (`to_us`); `kind`: an `EngagementKind` value;
    `name`, `url`, `path` (text or None) and `properties` as in the canonical engagement event's `data`.
    """

    event_id: str
    at_us: int
    kind: str
    name: str | None = None
    url: str | None = None
    path: str | None = None
    properties: Mapping[str, Any] = _EMPTY

    @classmethod
    def of(
        cls,
        event_id: str,
        occurred_at: datetime,
        kind: str,
        *,
        name: str | None = None,
        url: str | None = None,
        path: str | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> Engagement:
        return cls(event_id, to_us(occurred_at), str(kind), name, url, path, properties or _EMPTY)

    @classmethod
    def from_data(cls, event_id: str, occurred_at: datetime, data: Mapping[str, Any]) -> Engagement:
        """From the `data` of an `engagement.recorded` canonical event (`kind`, `name`, `url`, `path`,
        `properties`; Calendly's `event_name` stands in for a missing `name`)."""
        properties = data.get("properties")
        return cls(
            event_id,
            to_us(occurred_at),
            str(data.get("kind") or ""),
            _str_or_none(data.get("name") or data.get("event_name")),
            _str_or_none(data.get("url")),
            _str_or_none(data.get("path")),
            properties if isinstance(properties, Mapping) else _EMPTY,
        )

    @classmethod
    def from_event(cls, event: CanonicalEvent) -> Engagement:
        if event.event_type != "engagement.recorded":
            raise ValueError(f"event {event.event_id} is {event.event_type}, not engagement.recorded")
        return cls.from_data(event.event_id, event.occurred_at, event.data)

    @property
    def occurred_at(self) -> datetime:
        return from_us(self.at_us)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Profile:
    """What fit rules read about a contact and its account. Unknown fields are None and match no rule.

    `country`: ISO 3166 alpha-2 in the default model. `annual_revenue`: in the model's currency (USD in the
    default). `attributes`: custom fields, read by rules on `attributes.<name>`. `nurture_started_at`: when
    the contact entered nurturing, if known; otherwise nurturing starts at its first engagement in the log.
    """

    email: str | None = None
    job_title: str | None = None
    industry: str | None = None
    country: str | None = None
    company_domain: str | None = None
    employee_count: int | None = None
    annual_revenue: float | None = None
    nurture_started_at: datetime | None = None
    attributes: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


# ----------------------------------------------------------------------------------------------------- compile

_Predicate = Callable[[tuple[Any, ...]], bool]
_Extractor = Callable[[Profile], Any]
_Matcher = Callable[[list[Any]], Any]  # what the rule matched on (text or number), or None
_Unit = Callable[[list[Any]], "tuple[int, Any] | None"]
_FIELD_INDEX = {"name": 3, "url": 4, "path": 5}


def _text(value: object) -> str | None:
    """How engagement attributes and condition operands compare: as text, case-insensitively, trimmed."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().casefold()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return None


def _property_getter(path: str) -> Callable[[Mapping[str, Any]], object]:
    keys = tuple(path.split(".")[1:])
    if len(keys) == 1:
        key = keys[0]
        return lambda props: props.get(key)

    def nested(props: Mapping[str, Any]) -> object:
        value: object = props
        for k in keys:
            if not isinstance(value, Mapping):
                return None
            value = value.get(k)
        return value

    return nested


def _condition(spec: Condition) -> _Predicate:
    """One condition as one closure over the engagement tuple."""
    op = spec.op
    options = frozenset(t for t in (_text(v) for v in spec.values or ()) if t is not None)
    operand = _text(spec.value) or ""
    if spec.field in _FIELD_INDEX:  # name, url, path: text or None
        i = _FIELD_INDEX[spec.field]
        if op == "exists":
            return lambda ev: (v := ev[i]) is not None and bool(v.strip())
        if op == "in":
            return lambda ev: (v := ev[i]) is not None and v.strip().casefold() in options
        if op == "equals":
            return lambda ev: (v := ev[i]) is not None and v.strip().casefold() == operand
        if op == "prefix":
            return lambda ev: (v := ev[i]) is not None and v.strip().casefold().startswith(operand)
        return lambda ev: (v := ev[i]) is not None and operand in v.strip().casefold()
    get = _property_getter(spec.field)
    if op == "exists":
        return lambda ev: (v := get(ev[6])) is not None and (not isinstance(v, str) or bool(v.strip()))
    if op == "in":
        return lambda ev: _text(get(ev[6])) in options
    if op == "equals":
        return lambda ev: _text(get(ev[6])) == operand
    if op == "prefix":
        return lambda ev: (t := _text(get(ev[6]))) is not None and t.startswith(operand)
    return lambda ev: (t := _text(get(ev[6]))) is not None and operand in t


def _predicate(conditions: list[Condition]) -> _Predicate | None:
    tests = tuple(_condition(c) for c in conditions)
    if not tests:
        return None
    if len(tests) == 1:
        return tests[0]
    return lambda ev: all(test(ev) for test in tests)


_Rule = tuple[Any, ...]
_Selector = Callable[[tuple[Any, ...]], "_Rule | None"]
_OPS = {"exists": 0, "equals": 1, "prefix": 2, "in": 3, "contains": 4}
_ALWAYS = -1


def _generic_selector(rules: tuple[_Rule, ...]) -> _Selector:
    """The first rule whose predicate (rule[1]) holds for the engagement, or None."""

    def select(ev: tuple[Any, ...]) -> _Rule | None:
        for rule in rules:
            pred = rule[1]
            if pred is None or pred(ev):
                return rule
        return None

    return select


def _fused_selector(rules: tuple[_Rule, ...], conditions: tuple[list[Condition], ...]) -> _Selector | None:
    """When every conditioned rule of a kind tests the same one of name/url/path with a single condition (the
    usual `path prefix /pricing`, `/careers`, ... ladder), one closure that normalizes that field once and runs
    the ladder inline; None when the rules do not have that shape. Same answers as `_generic_selector`."""
    fields = {c[0].field for c in conditions if c}
    if len(fields) != 1 or any(len(c) > 1 for c in conditions) or (name := fields.pop()) not in _FIELD_INDEX:
        return None
    i = _FIELD_INDEX[name]
    ladder: list[tuple[int, Any, _Rule]] = []
    for rule, conds in zip(rules, conditions, strict=True):
        if not conds:
            ladder.append((_ALWAYS, None, rule))
            continue
        spec = conds[0]
        if spec.op == "in":
            operand: Any = frozenset(t for t in (_text(v) for v in spec.values or ()) if t is not None)
        else:
            operand = _text(spec.value) or ""
        ladder.append((_OPS[spec.op], operand, rule))
    steps = tuple(ladder)

    def select(ev: tuple[Any, ...]) -> _Rule | None:
        v = ev[i]
        t = v.strip().casefold() if v is not None else None
        for op, operand, rule in steps:
            if op == _ALWAYS:
                return rule
            if t is None:
                continue
            if op == 2:
                if t.startswith(operand):
                    return rule
            elif op == 1:
                if t == operand:
                    return rule
            elif op == 3:
                if t in operand:
                    return rule
            elif op == 4:
                if operand in t:
                    return rule
            elif t:
                return rule
        return None

    return select


def _plan_rules(rules: tuple[_Rule, ...], conditions: tuple[list[Condition], ...]) -> tuple[Any, Any]:
    """(fixed rule, selector) of a kind: the fixed rule when its first rule has no conditions (no selection
    needed), else a selector (fused when it can be)."""
    if not rules:
        return None, None
    if rules[0][1] is None:
        return rules[0], None
    return None, _fused_selector(rules, conditions) or _generic_selector(rules)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace(",", "").strip())
        except ValueError:
            return None
    return None


def _raw_getter(name: str) -> _Extractor:
    if name.startswith("attributes."):
        key = name[len("attributes.") :]
        return lambda p: p.attributes.get(key)
    if name == "email_domain":
        return lambda p: e if (e := p.email) and "@" in e else None
    return attrgetter(name)


def _extractor(name: str, form: str) -> _Extractor:
    """Reads one profile field in the form rules compare it in: number, text, words or domain."""
    get = _raw_getter(name)
    if form == "number":
        return lambda p: _number(get(p))

    def text(p: Profile) -> Any:
        raw = get(p)
        value = raw if isinstance(raw, str) else _text(raw)
        if not value or not value.strip():
            return None
        if form == "words":
            return f" {words(value)} "
        if form == "domain":
            return domain_of(value) or None
        return collapse(value)

    return text


def _fit_matcher(rule: Any, slot: Callable[[str, str], int]) -> _Matcher:
    """One fit rule as a closure over the profile's extracted values: what it matched on, or None."""
    kind = rule.kind
    if kind == "in":
        i = slot(rule.field, "text")
        options = frozenset(collapse(v) for v in rule.values)
        return lambda vals: v if (v := vals[i]) in options else None
    if kind == "band":
        i = slot(rule.field, "number")
        low, high = _bounds(rule)
        return lambda vals: v if (v := vals[i]) is not None and low <= v < high else None
    if kind == "keywords":
        i = slot(rule.field, "words")
        needles = tuple((f" {words(kw)} ", kw) for kw in rule.keywords)

        def keywords(vals: list[Any]) -> str | None:
            padded = vals[i]
            if padded is not None:
                for needle, keyword in needles:
                    if needle in padded:
                        return str(keyword)
            return None

        return keywords
    slots = tuple(slot(f, "domain") for f in rule.fields)
    listed = frozenset(rule.domains)

    def domain(vals: list[Any]) -> str | None:
        for i in slots:
            d = vals[i]
            while d:
                if d in listed:
                    return str(d)
                d = d.partition(".")[2]
        return None

    return domain


def _bounds(rule: Any) -> tuple[float, float]:
    return (float("-inf") if rule.min is None else rule.min, float("inf") if rule.max is None else rule.max)


def _fit_unit(unit: list[tuple[int, Any]], slot: Callable[[str, str], int]) -> _Unit:
    """A fit group (or a lone rule) as one closure: (index, matched) of its first matching rule, or None.

    Groups whose rules are all of one kind on one field (industry values, size bands, title keywords) are
    fused into a single lookup or scan; any other group tries its rules' matchers in order.
    """
    kinds = {rule.kind for _, rule in unit}
    fields = {str(getattr(rule, "field", "")) for _, rule in unit}
    if len(unit) > 1 and len(kinds) == 1 and len(fields) == 1 and "" not in fields:
        kind, name = kinds.pop(), fields.pop()
        if kind == "in":
            i = slot(name, "text")
            table: dict[str, int] = {}
            for index, rule in unit:
                for value in rule.values:
                    table.setdefault(collapse(value), index)

            def in_unit(vals: list[Any]) -> tuple[int, Any] | None:
                v = vals[i]
                index = table.get(v) if v is not None else None
                return None if index is None else (index, v)

            return in_unit
        if kind == "band":
            i = slot(name, "number")
            bands = tuple((*_bounds(rule), index) for index, rule in unit)

            def band_unit(vals: list[Any]) -> tuple[int, Any] | None:
                v = vals[i]
                if v is not None:
                    for low, high, index in bands:
                        if low <= v < high:
                            return index, v
                return None

            return band_unit
        if kind == "keywords":
            i = slot(name, "words")
            needles = tuple((f" {words(kw)} ", kw, index) for index, rule in unit for kw in rule.keywords)

            def keywords_unit(vals: list[Any]) -> tuple[int, Any] | None:
                padded = vals[i]
                if padded is not None:
                    for needle, keyword, index in needles:
                        if needle in padded:
                            return index, keyword
                return None

            return keywords_unit
    return _generic_fit_unit(unit, slot)


def _generic_fit_unit(unit: list[tuple[int, Any]], slot: Callable[[str, str], int]) -> _Unit:
    """A fit group tried rule by rule, in order: what the fused forms of `_fit_unit` must agree with."""
    matchers = tuple((index, _fit_matcher(rule, slot)) for index, rule in unit)

    def any_unit(vals: list[Any]) -> tuple[int, Any] | None:
        for index, matcher in matchers:
            matched = matcher(vals)
            if matched is not None:
                return index, matched
        return None

    return any_unit


def _days_us(days: Decimal) -> int:
    return int(days * US_PER_DAY)


class CompiledModel:
    """The model as the hot loop wants it: tuples, ints, closures, and a plan per engagement kind."""

    __slots__ = (
        "allow_negative",
        "email_group",
        "email_min",
        "fit_extractors",
        "fit_rules",
        "fit_units",
        "group_caps",
        "group_ids",
        "icp_min",
        "immediate_min",
        "lookback_us",
        "pieces_min",
        "plans",
        "priority_lookback_us",
        "priority_requires_icp",
        "require_icp",
        "rule_groups",
        "rule_ids",
        "rule_kinds",
        "session_gap_us",
        "sessions_min",
        "standard_nurture_us",
        "suppress_disqualified",
        "total_cap",
        "version",
    )

    def __init__(self, model: ScoringModel) -> None:
        self.version = model.version
        self._compile_fit(model)
        self._compile_engagement(model)
        self.total_cap = None if model.total.cap is None else hundredths(model.total.cap)
        self.allow_negative = model.total.allow_negative
        mql, handoff = model.mql, model.handoff
        self.email_group = self.group_ids.index(mql.email_group)
        self.email_min = hundredths(mql.email_engagement_min)
        self.pieces_min = mql.content_pieces_min
        self.sessions_min = mql.website_sessions_min
        self.require_icp = mql.require_icp_fit
        self.session_gap_us = int(mql.session_gap_minutes * 60_000_000)
        self.lookback_us = None if mql.lookback_days is None else _days_us(mql.lookback_days)
        self.immediate_min = None if handoff.immediate_total_min is None else hundredths(handoff.immediate_total_min)
        self.priority_lookback_us = _days_us(handoff.priority_lookback_days)
        self.priority_requires_icp = not handoff.priority_below_icp_fit
        self.standard_nurture_us = (
            None if handoff.standard_after_nurture_days is None else _days_us(handoff.standard_after_nurture_days)
        )
        self.suppress_disqualified = handoff.suppress_when_disqualified

    def _compile_fit(self, model: ScoringModel) -> None:
        slots: dict[tuple[str, str], int] = {}

        def slot(name: str, form: str) -> int:
            return slots.setdefault((name, form), len(slots))

        units: dict[object, list[tuple[int, Any]]] = {}
        for index, rule in enumerate(model.fit.rules):
            # a group is one unit (its first matching rule scores); an ungrouped rule is a unit of its own
            units.setdefault(rule.group if rule.group is not None else index, []).append((index, rule))
        self.fit_rules = tuple((rule.id, hundredths(rule.points), rule.disqualifies) for rule in model.fit.rules)
        self.fit_units = tuple(_fit_unit(unit, slot) for unit in units.values())
        self.fit_extractors = tuple(_extractor(name, form) for name, form in slots)
        self.icp_min = hundredths(model.fit.icp_min)

    def _compile_engagement(self, model: ScoringModel) -> None:
        groups = model.engagement.groups
        self.group_ids = tuple(g.id for g in groups)
        self.group_caps = tuple(None if g.cap is None else hundredths(g.cap) for g in groups)
        group_index = {g: i for i, g in enumerate(self.group_ids)}
        decay: dict[str, tuple[int, int]] = {}
        for g in groups:
            if g.decay.kind == "half_life":
                decay[g.id] = (_DECAY_HALF_LIFE, _days_us(g.decay.days))
            elif g.decay.kind == "window":
                decay[g.id] = (_DECAY_WINDOW, _days_us(g.decay.days))
            else:
                decay[g.id] = (_DECAY_NONE, 0)

        by_kind: dict[str, list[tuple[Any, ...]]] = {}
        conditions: dict[str, list[list[Condition]]] = {}
        for index, rule in enumerate(model.engagement.rules):
            pts = hundredths(rule.points)
            conditions.setdefault(rule.kind.value, []).append(rule.when)
            by_kind.setdefault(rule.kind.value, []).append(
                (
                    index,
                    _predicate(rule.when),
                    pts,
                    abs(pts),
                    rule.repeat == "once",
                    0 if rule.max_per_day is None else hundredths(rule.max_per_day),
                    0 if rule.max_lifetime is None else hundredths(rule.max_lifetime),
                    group_index[rule.group],
                    *decay[rule.group],
                )
            )
        self.rule_ids = tuple(r.id for r in model.engagement.rules)
        self.rule_groups = tuple(r.group for r in model.engagement.rules)
        self.rule_kinds = tuple(r.kind.value for r in model.engagement.rules)

        sessions = {k.value for k in model.mql.session_kinds}
        content = {k.value for k in model.mql.content_kinds}
        priority = {k.value for k in model.handoff.priority_kinds}
        self.plans = {
            kind: (
                kind in sessions,
                kind in content,
                kind in priority,
                *_plan_rules(tuple(by_kind.get(kind, ())), tuple(conditions.get(kind, ()))),
            )
            for kind in sessions | content | priority | set(by_kind)
        }


def compile_model(model: ScoringModel) -> CompiledModel:
    return CompiledModel(model)


# -------------------------------------------------------------------------------------------------------- core

_ORDER = itemgetter(1, 0)  # (at_us, event_id)


def _identity(e: tuple[Any, ...]) -> tuple[Any, ...]:
    """Which copy of a duplicated event id counts: the least by time, then by content."""
    return (e[1], e[2], e[3] or "", e[4] or "", e[5] or "", json.dumps(e[6], sort_keys=True, default=str))


def _prepare(engagements: Iterable[tuple[Any, ...]], as_of_us: int) -> list[tuple[Any, ...]]:
    """The log as scored: engagements after `as_of` dropped, one per event id, in (time, event id) order.

    Of several engagements sharing an event id the one with the least `_identity` counts, so the result
    does not depend on the input's order.
    """
    events = [e for e in engagements if e[1] <= as_of_us]
    if len({e[0] for e in events}) != len(events):
        chosen: dict[str, tuple[Any, ...]] = {}
        for e in events:
            prev = chosen.setdefault(e[0], e)
            if prev is not e and prev != e and _identity(e) < _identity(prev):
                chosen[e[0]] = e
        events = list(chosen.values())
    events.sort(key=_ORDER)
    return events


class _Run(NamedTuple):
    fit: int
    fit_hits: list[tuple[int, Any]]
    disqualified: list[int]
    engagement: int
    uncapped: list[int]
    groups: list[int]
    total: int
    total_adjustments: list[tuple[str, int]]
    sessions: int
    pieces: int
    icp: bool
    mql: bool
    immediate: bool
    priority: dict[str, tuple[Any, ...]]
    standard_since: int | None
    lines: list[EngagementLine] | None


def _fit(c: CompiledModel, profile: Profile) -> tuple[int, list[tuple[int, Any]], list[int]]:
    vals = [extract(profile) for extract in c.fit_extractors]
    total = 0
    hits: list[tuple[int, Any]] = []
    disqualified: list[int] = []
    rules = c.fit_rules
    for unit in c.fit_units:
        hit = unit(vals)
        if hit is not None:
            _, pts, disqualifies = rules[hit[0]]
            total += pts
            hits.append(hit)
            if disqualifies:
                disqualified.append(hit[0])
    return total, hits, disqualified


def _evaluate(
    c: CompiledModel, profile: Profile, engagements: Iterable[tuple[Any, ...]], as_of_us: int, explain: bool
) -> _Run:
    fit, fit_hits, disqualified = _fit(c, profile)
    events = _prepare(engagements, as_of_us)

    n = len(c.rule_ids)
    count = [0] * n
    used = [0] * n
    day_of = [-1] * n
    day_used = [0] * n
    gsum = [0] * len(c.group_ids)
    plans = c.plans
    metrics_after = as_of_us - c.lookback_us if c.lookback_us is not None else -(1 << 62)
    priority_after = as_of_us - c.priority_lookback_us
    session_times: list[int] = []
    pieces: set[str] = set()
    priority: dict[str, tuple[Any, ...]] = {}
    lines: list[EngagementLine] | None = [] if explain else None
    rule_ids, rule_groups, rule_kinds = c.rule_ids, c.rule_groups, c.rule_kinds

    for ev in events:
        plan = plans.get(ev[2])
        if plan is None:
            continue
        is_session, is_content, is_priority, rule, select = plan
        at = ev[1]
        if at > metrics_after:
            if is_session:
                session_times.append(at)
            if is_content:
                key = content_key(ev[3], ev[4])
                if key is not None:
                    pieces.add(key)
        if is_priority and at > priority_after:
            priority[ev[2]] = ev
        if rule is None:
            if select is None:
                continue
            rule = select(ev)
            if rule is None:
                continue
        ri, _, pts, got, once, max_day, max_life, gi, decay, param = rule
        cap = 0
        if once and count[ri]:
            got = 0
            cap = 1
        else:
            if max_day:
                day = at // US_PER_DAY
                if day_of[ri] != day:
                    day_of[ri] = day
                    day_used[ri] = 0
                room = max_day - day_used[ri]
                if room < got:
                    got = room
                    cap = 2
            if max_life:
                room = max_life - used[ri]
                if room < got:
                    got = room
                    cap = 3
                used[ri] += got
            if max_day:
                day_used[ri] += got
        count[ri] += 1
        awarded = got if pts >= 0 else -got
        if not awarded:
            dec = 0
        elif decay == _DECAY_HALF_LIFE:
            age = as_of_us - at
            if age:
                v = awarded * 2.0 ** (-age / param)
                dec = int(v + 0.5) if v >= 0 else -int(0.5 - v)
            else:
                dec = awarded
        elif decay == _DECAY_WINDOW:
            dec = awarded if as_of_us - at < param else 0
        else:
            dec = awarded
        gsum[gi] += dec
        if lines is not None:
            line = (rule_ids[ri], rule_groups[ri], rule_kinds[ri], ev[0], at, pts, awarded, dec, _CAP_NAMES[cap])
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
    if allowed and mql and c.standard_nurture_us is not None:
        start = to_us(profile.nurture_started_at) if profile.nurture_started_at is not None else None
        if start is None and events:
            start = events[0][1]
        if start is not None and as_of_us - start >= c.standard_nurture_us:
            standard_since = start
    return _Run(
        fit,
        fit_hits,
        disqualified,
        engagement,
        uncapped,
        gsum,
        total,
        adjustments,
        sessions,
        len(pieces),
        icp,
        mql,
        immediate,
        priority,
        standard_since,
        lines,
    )


def _level(run: _Run) -> HandoffLevel | None:
    if run.immediate:
        return "immediate"
    if run.priority:
        return "priority"
    if run.standard_since is not None:
        return "standard"
    return None


def _compiled(model: ScoringModel | CompiledModel) -> CompiledModel:
    return model if isinstance(model, CompiledModel) else model.compiled()


# ---------------------------------------------------------------------------------------------------------- API


def summarize(
    model: ScoringModel | CompiledModel, profile: Profile, engagements: Iterable[Engagement], as_of: datetime
) -> ScoreSummary:
    """The fast path: the same figures as `score(...).summary()`, without building the breakdown."""
    c = _compiled(model)
    run = _evaluate(c, profile, engagements, to_us(as_of), False)
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

    fit_lines = tuple(
        FitLine(c.fit_rules[index][0], c.fit_rules[index][1], _shown(matched), c.fit_rules[index][2])
        for index, matched in sorted(run.fit_hits)
    )
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
        disqualified_by=tuple(c.fit_rules[index][0] for index in sorted(run.disqualified)),
        mql=run.mql,
        handoff=_triggers(c, run, as_of_us),
        groups=tuple(groups),
        fit_lines=fit_lines,
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
    for kind, ev in sorted(run.priority.items(), key=lambda item: (-item[1][1], item[0])):
        reason = f"{kind} at {from_us(ev[1]).isoformat()}, within the last {lookback} days"
        triggers.append(HandoffTrigger("priority", reason, ev[0]))
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
