"""The routing engine: which rep (or queue) takes a handoff, and why. Pure: no clock, no I/O, no randomness.

    router = compile_routing(load_routing())            # once per cold start
    decision = route(router, lead, loads, as_of)        # RoutingDecision: rep or queue, skips, explanation

Rules are tried in file order, only those whose `applies_to` is the lead's kind; the first whose conditions
all hold decides the team and the strategy (see `routing_conditions.py`). The strategy then picks among the
team's eligible members (see `routing_strategies.py` for eligibility, each strategy and the skip order).
Nobody eligible: `rep_id` None and `queue` the team's fallback queue; the handoff waits there, never dropped.
No rule matching (a file always ends each kind with a catch-all, so only a file without one could get
here): `rule_id` None, `team` "" and `queue` the gates' qualification queue. `route` never raises for a
lead; it raises only for a naive `as_of`, a bug of the caller.

The same router, lead, loads, `as_of` and exclusions always give the same decision. A decision does not
change the loads: the caller stores the assignment (with the load's version as its condition) and routes
the next handoff with the loads updated.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from shared.handoffs.model import HandoffKind, LeadFacts, RepLoad, RoutingDecision, Skip, SkipReason
from shared.handoffs.routing_conditions import Check, LeadView, compile_conditions, lead_view
from shared.handoffs.routing_config import Rep, RoutingConfig, Rule, Strategy, Team
from shared.handoffs.routing_strategies import (
    Eligibility,
    Pick,
    RepPlan,
    TeamPlan,
    choose,
    effective_capacity,
    is_available,
    reason_words,
    unavailability,
)
from shared.handoffs.working_hours import is_working, local_date

__all__ = [
    "Router",
    "RulePlan",
    "compile_routing",
    "effective_capacity",
    "is_available",
    "route",
]

NO_RULE_STRATEGY = "none"  # RoutingDecision.strategy when no rule matched
# a rep's availability note when routing skips them whatever the time and load, by the skip's reason
UNAVAILABILITY_NOTES = {
    SkipReason.UNAVAILABLE: "set unavailable (run-time override)",
    SkipReason.INACTIVE: "inactive in the routing file",
}

_STRATEGY_WORDS = {
    Strategy.ROUND_ROBIN: "round robin",
    Strategy.WEIGHTED_ROUND_ROBIN: "weighted round robin",
    Strategy.LEAST_LOADED: "least loaded",
    Strategy.ACCOUNT_OWNER: "account owner",
    Strategy.SKILL: "skill",
    Strategy.DIRECT: "direct assignment",
}


@dataclass(frozen=True, slots=True)
class RulePlan:
    rule: Rule
    rule_id: str
    matches: Check
    team: TeamPlan
    strategy: Strategy
    direct: RepPlan | None  # the named rep of a `direct` rule


@dataclass(frozen=True, slots=True)
class Router:
    """A routing file compiled for `route`: reps and teams indexed, rules split by kind with their conditions
    compiled. Also what the handoff service looks reps, teams and managers up in."""

    config: RoutingConfig
    regions: Mapping[str, str]
    rep_plans: Mapping[str, RepPlan]
    team_plans: Mapping[str, TeamPlan]
    rules: Mapping[HandoffKind, tuple[RulePlan, ...]]

    @property
    def version(self) -> str:
        return self.config.version

    def rep(self, rep_id: str) -> Rep:
        """The rep of that id; KeyError naming it when the file has none (a stored handoff may name a rep a
        newer file no longer has)."""
        plan = self.rep_plans.get(rep_id)
        if plan is None:
            raise KeyError(f'rep "{rep_id}" is not in routing file {self.config.version}')
        return plan.rep

    def team(self, team_id: str) -> Team:
        """The team of that id; KeyError naming it when the file has none."""
        plan = self.team_plans.get(team_id)
        if plan is None:
            raise KeyError(f'team "{team_id}" is not in routing file {self.config.version}')
        return plan.team

    def manager_of(self, team_id: str) -> Rep:
        """The team's manager; KeyError naming the team when the file has no such team."""
        return self.rep(self.team(team_id).manager)  # the file's validation guarantees the manager is a rep

    def rep_by_login(self, username: str, email: str | None = None) -> Rep | None:
        """The rep a signed-in user is: by username equal to a rep id, else by email (case-insensitive)."""
        plan = self.rep_plans.get(username)
        if plan is not None:
            return plan.rep
        wanted = email.strip().lower() if email else ""
        if not wanted:
            return None
        return next((rep for rep in self.config.reps if rep.email.lower() == wanted), None)

    def rep_by_slack_user(self, slack_user_id: str) -> Rep | None:
        """The rep with that Slack user id (who clicked Accept / Reject), or None."""
        wanted = slack_user_id.strip()
        if not wanted:
            return None
        return next((rep for rep in self.config.reps if rep.slack_user_id == wanted), None)

    def capacity_of(self, rep: Rep, load: RepLoad | None) -> int:
        """`effective_capacity` under this file's version."""
        return effective_capacity(rep, load, self.config.version)

    def availability(self, rep: Rep, load: RepLoad | None, at: datetime) -> tuple[bool, str]:
        """Whether the rep can take a handoff at `at` (routing would not skip them as set unavailable, inactive,
        out of office or at capacity), with a note for people: why not, or what limits them (outside working
        hours matters to immediate handoffs only)."""
        unavailable = unavailability(rep, load, self.version)
        if unavailable is not None:  # the same reason routing records in its skips (`unavailable`, `inactive`)
            return False, UNAVAILABILITY_NOTES[unavailable]
        schedule = rep.schedule
        if schedule.out_of_office:
            absent_until = schedule.out_of_office_until(local_date(schedule, at))
            if absent_until is not None:
                return False, f"out of office until {absent_until.isoformat()} (inclusive)"
        capacity = self.capacity_of(rep, load)
        open_handoffs = load.open_handoffs if load is not None else 0
        if open_handoffs >= capacity:
            return False, f"at capacity ({open_handoffs} of {capacity} open)"
        if not is_working(schedule, at):
            hours = rep.working_hours
            days = ", ".join(hours.days)
            return True, (
                f"outside working hours ({days} {hours.start}-{hours.end} {hours.time_zone}): "
                "takes priority and standard handoffs, not immediate ones"
            )
        return True, "working"


RouterSource = Callable[[], Router]


def compile_routing(config: RoutingConfig) -> Router:
    """Index the file's reps and teams and compile its rules' conditions: once per cold start."""
    reps = {rep.rep_id: RepPlan.of(rep) for rep in config.reps}
    teams = {
        team.team: TeamPlan(
            team=team,
            team_id=team.team,
            members=tuple(reps[member] for member in team.members),
            member_ids=frozenset(team.members),
        )
        for team in config.teams
    }
    rules: dict[HandoffKind, list[RulePlan]] = {kind: [] for kind in HandoffKind}
    for rule in config.rules:
        rules[rule.applies_to].append(
            RulePlan(
                rule=rule,
                rule_id=rule.rule_id,
                matches=compile_conditions(rule.when),
                team=teams[rule.team],
                strategy=rule.strategy,
                direct=reps[rule.rep_id] if rule.rep_id is not None else None,
            )
        )
    return Router(
        config=config,
        regions=dict(config.regions),
        rep_plans=reps,
        team_plans=teams,
        rules={kind: tuple(plans) for kind, plans in rules.items()},
    )


def route(
    router: Router,
    lead: LeadFacts,
    loads: Mapping[str, RepLoad],
    as_of: datetime,
    exclude: Collection[str] = (),
) -> RoutingDecision:
    """Who takes the handoff of `lead` at `as_of`, given every rep's load (a rep absent from `loads` has none)
    and the reps `exclude`d from this handoff (breached or rejected it). Pure and deterministic."""
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError(f"as_of must be timezone-aware (UTC), got naive {as_of.isoformat()}")
    view = lead_view(lead, router.regions)
    for plan in router.rules[lead.kind]:
        if plan.matches(view):
            eligibility = Eligibility(loads, as_of, lead.priority, exclude, router.config.version)
            pick = choose(plan.strategy, plan.team, eligibility, view, router.rep_plans, plan.direct)
            return _decision(plan, view, pick)
    return _no_rule(router, view)


def _decision(plan: RulePlan, view: LeadView, pick: Pick) -> RoutingDecision:
    team = plan.team.team
    subject = f'Rule "{plan.rule_id}" sent {view.lead.kind.value} {view.lead.lead_id} to team "{team.team}" by '
    subject += _STRATEGY_WORDS[plan.strategy]
    if pick.chosen is not None:
        explanation = f"{subject}: {pick.reason}; {_skipped(pick.skips)}."
        return RoutingDecision(
            rule_id=plan.rule_id,
            team=team.team,
            strategy=plan.strategy.value,
            rep_id=pick.chosen.plan.rep_id,
            queue=None,
            skips=pick.skips,
            explanation=explanation,
            rotation=pick.rotation,
        )
    explanation = f'{subject}, but {pick.reason}: it waits in queue "{team.fallback_queue}"; {_skipped(pick.skips)}.'
    return RoutingDecision(
        rule_id=plan.rule_id,
        team=team.team,
        strategy=plan.strategy.value,
        rep_id=None,
        queue=team.fallback_queue,
        skips=pick.skips,
        explanation=explanation,
    )


def _no_rule(router: Router, view: LeadView) -> RoutingDecision:
    queue = router.config.gates.qualification_queue
    place = ", ".join(
        f"{name} {value}" for name, value in (("region", view.region), ("country", view.country)) if value
    )
    facts = f" ({place})" if place else ""
    return RoutingDecision(
        rule_id=None,
        team="",
        strategy=NO_RULE_STRATEGY,
        rep_id=None,
        queue=queue,
        explanation=(
            f"No routing rule matched {view.lead.kind.value} {view.lead.lead_id}{facts}: it waits in the "
            f'qualification queue "{queue}".'
        ),
    )


def _skipped(skips: tuple[Skip, ...]) -> str:
    if not skips:
        return "no rep skipped"
    counts = Counter(skip.reason for skip in skips)
    detail = ", ".join(f"{count} {reason_words(reason)}" for reason, count in counts.items())
    return f"{len(skips)} rep{'s' if len(skips) > 1 else ''} skipped ({detail})"
