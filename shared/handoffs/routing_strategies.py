"""Choosing a rep once a rule has matched: who is eligible, and each strategy's pick among them.

Eligibility, checked in this order (the first reason that applies is the one recorded in the `Skip`):

1. unavailable: the run-time override `RepLoad.available` is False (`PUT /api/v1/routing/reps/{rep_id}`);
   inactive: the file's `active` is false, with no run-time override saying available;
2. out of office: the rep's *local* date at `as_of` lies in one of their out-of-office ranges;
3. at capacity: `open_handoffs >= capacity` (the file's capacity, or the run-time override `RepLoad.capacity`);
4. outside working hours: only for `Priority.IMMEDIATE` (a hot lead needs someone now; a priority or standard
   handoff may wait for the morning, its SLA clock counting business time);
5. excluded: the rep breached this handoff's SLA or rejected it.

Run-time overrides (`available`, `capacity`) count only while `RepLoad.overrides_version` equals the routing
file's `version`: shipping a new file resets them to what the file says.

Strategies, among the eligible members of the rule's team; ties always go to the earlier member in the team's
`members` order. All comparisons are exact integer arithmetic (cross-multiplied fractions), never floats.

- `round_robin`: the next in the rotation (`next_in_rotation`): each rep's `RepLoad.rotation` is a pass
  (stride scheduling) that moves on by one stride each time a round robin picks them; the least pass is next
  (before any pass is recorded, the fewest `assignments`). A rep whose pass fell behind while they were away
  (ineligible: out of office, unavailable, at capacity) rejoins just behind the eligible rep furthest behind
  in the rotation: back, they take their turn, not every lead until their lifetime count catches up. 60
  handoffs to a team of 3 give 20 each.
- `weighted_round_robin`: the same rotation with a stride of `ROTATION_STRIDE / weight`, so over time each
  rep takes a share in proportion to their weight (60 handoffs to weights 1, 2, 3 give 10, 20, 30), the same
  catch-up bound holding; equal passes go to the least `(assignments + 1) / weight`.
- `least_loaded`: the least `open_handoffs / capacity`, then the fewest assignments.
- `account_owner`: the lead's `account_owner`, when that rep is a member of the team and eligible; otherwise
  (no owner, an owner the file does not know, an owner outside the team -> `NOT_IN_TEAM`, an ineligible owner)
  round robin among the other eligible members, the reason said in the explanation.
- `skill`: each eligible member is scored on the lead's *known* needs: +1 when the member speaks the lead's
  language, +1 when the member knows one of the lead's products of interest. The members with the best
  score > 0 are chosen among by round robin, and the eligible members below that score are recorded as
  `NO_SKILL_MATCH` skips. When no eligible member meets any need (or the lead states none), round robin runs
  among all eligible members and no `NO_SKILL_MATCH` is recorded: a lead is never held back for want of a
  skill match.
- `direct`: the rule's named rep if eligible (team membership is not required); otherwise nobody (the
  handoff waits in the team's fallback queue).

`Skip`s come in the order reps were considered: for `account_owner` and `direct` the named rep first, then
the team's members in order; each rep is skipped at most once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from shared.handoffs.model import LeadFacts, Priority, RepLoad, Skip, SkipReason
from shared.handoffs.routing_conditions import LeadView, folded
from shared.handoffs.routing_config import Rep, Strategy, Team
from shared.handoffs.working_hours import Schedule, is_out_of_office, is_working

_NO_LOAD = RepLoad(rep_id="")  # a rep never assigned: nothing open, nothing assigned, no override


def _overrides_apply(load: RepLoad | None, config_version: str) -> bool:
    return load is not None and load.overrides_version == config_version


def effective_capacity(rep: Rep, load: RepLoad | None, config_version: str) -> int:
    """The run-time capacity override when set under this routing file's version, else the file's capacity."""
    if load is not None and load.capacity is not None and _overrides_apply(load, config_version):
        return load.capacity
    return rep.capacity


def is_available(rep: Rep, load: RepLoad | None, config_version: str) -> bool:
    """The run-time availability override when set under this routing file's version, else the file's `active`."""
    return unavailability(rep, load, config_version) is None


def unavailability(rep: Rep, load: RepLoad | None, config_version: str) -> SkipReason | None:
    """Why the rep takes no handoff at all, whatever the time and load: set unavailable by the run-time override
    (under this routing file's version), else inactive in the file; None when available (an override saying
    available revives a rep the file has inactive)."""
    if load is not None and load.available is not None and _overrides_apply(load, config_version):
        return None if load.available else SkipReason.UNAVAILABLE
    return None if rep.active else SkipReason.INACTIVE


@dataclass(frozen=True, slots=True)
class RepPlan:
    """A rep as the engine uses it, its skills normalized once."""

    rep: Rep
    rep_id: str
    label: str  # "Lena Vogel (sdr-lena-vogel)"
    schedule: Schedule
    products: frozenset[str]
    languages: frozenset[str]

    @classmethod
    def of(cls, rep: Rep) -> RepPlan:
        return cls(
            rep=rep,
            rep_id=rep.rep_id,
            label=f"{rep.name} ({rep.rep_id})",
            schedule=rep.schedule,
            products=frozenset(p for p in map(folded, rep.skills.products) if p is not None),
            languages=frozenset(rep.skills.languages),
        )


@dataclass(frozen=True, slots=True)
class TeamPlan:
    team: Team
    team_id: str
    members: tuple[RepPlan, ...]  # in the file's order: the tie-break order
    member_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class Candidate:
    """An eligible rep with the load and capacity its eligibility was judged on."""

    plan: RepPlan
    load: RepLoad
    capacity: int


class Eligibility:
    """Who may take this handoff now: one per routing request (loads, instant, priority and exclusions)."""

    __slots__ = ("as_of", "config_version", "excluded", "immediate", "loads")

    def __init__(
        self,
        loads: Mapping[str, RepLoad],
        as_of: datetime,
        priority: Priority,
        exclude: Collection[str],
        config_version: str,
    ) -> None:
        self.loads = loads
        self.as_of = as_of
        self.immediate = priority is Priority.IMMEDIATE
        self.excluded = exclude if isinstance(exclude, set | frozenset) else frozenset(exclude)
        self.config_version = config_version

    def judge(self, plan: RepPlan) -> Candidate | SkipReason:
        """The rep as a candidate, or the first reason (in the module's order) it may not take the handoff."""
        load = self.loads.get(plan.rep_id) or _NO_LOAD
        rep = plan.rep
        unavailable = unavailability(rep, load, self.config_version)
        if unavailable is not None:
            return unavailable
        if plan.schedule.out_of_office and is_out_of_office(plan.schedule, self.as_of):
            return SkipReason.OUT_OF_OFFICE
        capacity = effective_capacity(rep, load, self.config_version)
        if load.open_handoffs >= capacity:
            return SkipReason.AT_CAPACITY
        if self.immediate and not is_working(plan.schedule, self.as_of):
            return SkipReason.OUTSIDE_WORKING_HOURS
        if plan.rep_id in self.excluded:
            return SkipReason.EXCLUDED
        return Candidate(plan, load, capacity)

    def sort(self, plans: Sequence[RepPlan], skips: list[Skip]) -> list[Candidate]:
        """The eligible ones among `plans`, in order; a Skip appended to `skips` for each of the others."""
        eligible: list[Candidate] = []
        for plan in plans:
            verdict = self.judge(plan)
            if isinstance(verdict, Candidate):
                eligible.append(verdict)
            else:
                skips.append(Skip(plan.rep_id, verdict))
        return eligible


@dataclass(frozen=True, slots=True)
class Pick:
    """A strategy's outcome: the chosen rep (None: nobody eligible), the reps passed over, and why, as a
    clause the explanation ends with (`"Lena Vogel (sdr-lena-vogel) has the fewest assignments (3)"`)."""

    chosen: Candidate | None
    skips: tuple[Skip, ...]
    reason: str
    rotation: int | None = None  # the chosen rep's rotation after this pick, when a round robin chose


_REASON_WORDS = {
    SkipReason.INACTIVE: "inactive",
    SkipReason.UNAVAILABLE: "set unavailable",
    SkipReason.OUT_OF_OFFICE: "out of office",
    SkipReason.AT_CAPACITY: "at capacity",
    SkipReason.OUTSIDE_WORKING_HOURS: "outside working hours",
    SkipReason.NO_SKILL_MATCH: "without the skills",
    SkipReason.EXCLUDED: "excluded from this handoff",
    SkipReason.NOT_IN_TEAM: "not in the team",
}


def reason_words(reason: SkipReason) -> str:
    """`SkipReason.OUT_OF_OFFICE` -> "out of office": how explanations say it."""
    return _REASON_WORDS[reason]


# ------------------------------------------------------------------------------------------- the strategies


ROTATION_STRIDE = 720_720  # a rotation's stride at weight 1: divisible by every weight from 1 to 16


class Turn(NamedTuple):
    """Round robin's pick: the rep, their rotation after it, and whether the rotation decided (else no pass
    was recorded yet, and the assignments did)."""

    chosen: Candidate
    rotation: int
    by_rotation: bool


def next_in_rotation(candidates: Sequence[Candidate], weighted: bool = False) -> Turn:
    """The least pass among the candidates (stride scheduling), a pass more than a stride behind the furthest
    counting as that (so a rep back from leave takes one turn, not a burst); equal passes go to the earlier
    member. Before any of them has a pass (loads stored before the rotation, or none yet), the fewest
    assignments (weighted: the least `(assignments + 1) / weight`) go first, as before."""
    best = candidates[0]
    furthest = best.load.rotation
    for candidate in candidates[1:]:  # one pass: the furthest pass, and the pick by lifetime assignments
        load = candidate.load
        if load.rotation > furthest:
            furthest = load.rotation
        if _fewer(candidate, best) if weighted else load.assignments < best.load.assignments:
            best = candidate
    if furthest <= 0:  # no rotation recorded yet: lifetime assignments decide (equal: the earlier member)
        return Turn(best, ROTATION_STRIDE // best.plan.rep.weight if weighted else ROTATION_STRIDE, False)
    strides = [ROTATION_STRIDE // c.plan.rep.weight if weighted else ROTATION_STRIDE for c in candidates]
    # A rep in the rotation all along is never more than the longest stride behind the furthest; one further
    # behind was away, and rejoins just behind the last of those (one turn, then the back of the line).
    floor = furthest - max(strides)
    best, best_pass, best_stride = candidates[0], _rejoined(candidates[0].load.rotation, floor), strides[0]
    for candidate, stride in zip(candidates[1:], strides[1:], strict=True):
        effective = _rejoined(candidate.load.rotation, floor)
        if effective < best_pass:
            best, best_pass, best_stride = candidate, effective, stride
    return Turn(best, best_pass + best_stride, True)


def _rejoined(rotation: int, floor: int) -> int:
    return rotation if rotation >= floor else floor + 1


def _fewer(candidate: Candidate, best: Candidate) -> bool:
    # (a + 1) / w < (b + 1) / v  <=>  (a + 1) * v < (b + 1) * w, weights being positive
    return (candidate.load.assignments + 1) * best.plan.rep.weight < (
        best.load.assignments + 1
    ) * candidate.plan.rep.weight


def least_loaded(candidates: Sequence[Candidate]) -> Candidate:
    best = candidates[0]
    for candidate in candidates[1:]:
        mine = candidate.load.open_handoffs * best.capacity
        theirs = best.load.open_handoffs * candidate.capacity
        if mine < theirs or (mine == theirs and candidate.load.assignments < best.load.assignments):
            best = candidate
    return best


def _round_robin_reason(turn: Turn) -> str:
    chosen = turn.chosen
    if turn.by_rotation:
        return f"{chosen.plan.label} is next in the rotation ({chosen.load.assignments} assignments)"
    return f"{chosen.plan.label} has the fewest assignments ({chosen.load.assignments})"


def _nobody(skips: list[Skip], reason: str = "no member is eligible") -> Pick:
    return Pick(None, tuple(skips), reason)


def _round_robin(team: TeamPlan, eligibility: Eligibility) -> Pick:
    skips: list[Skip] = []
    eligible = eligibility.sort(team.members, skips)
    if not eligible:
        return _nobody(skips)
    turn = next_in_rotation(eligible)
    return Pick(turn.chosen, tuple(skips), _round_robin_reason(turn), turn.rotation)


def _weighted_round_robin(team: TeamPlan, eligibility: Eligibility) -> Pick:
    skips: list[Skip] = []
    eligible = eligibility.sort(team.members, skips)
    if not eligible:
        return _nobody(skips)
    turn = next_in_rotation(eligible, weighted=True)
    chosen = turn.chosen
    reason = (
        f"{chosen.plan.label} is next by weight ({chosen.load.assignments} assignments, "
        f"weight {chosen.plan.rep.weight})"
    )
    return Pick(chosen, tuple(skips), reason, turn.rotation)


def _least_loaded(team: TeamPlan, eligibility: Eligibility) -> Pick:
    skips: list[Skip] = []
    eligible = eligibility.sort(team.members, skips)
    if not eligible:
        return _nobody(skips)
    chosen = least_loaded(eligible)
    reason = f"{chosen.plan.label} has the lightest load ({chosen.load.open_handoffs} of {chosen.capacity} open)"
    return Pick(chosen, tuple(skips), reason)


def _account_owner(team: TeamPlan, eligibility: Eligibility, lead: LeadFacts, reps: Mapping[str, RepPlan]) -> Pick:
    skips: list[Skip] = []
    owner_id = lead.account_owner.strip() if lead.account_owner else ""
    owner = reps.get(owner_id) if owner_id else None
    if not owner_id:
        why_not = "the account has no owner"
    elif owner is None:
        why_not = f"the account owner {owner_id} is not a rep in the routing file"
    elif owner.rep_id not in team.member_ids:
        skips.append(Skip(owner.rep_id, SkipReason.NOT_IN_TEAM))
        why_not = f"the account owner {owner.label} is not in the team"
    else:
        verdict = eligibility.judge(owner)
        if isinstance(verdict, Candidate):
            return Pick(verdict, (), f"{owner.label} owns the account")
        skips.append(Skip(owner.rep_id, verdict))
        why_not = f"the account owner {owner.label} is {_REASON_WORDS[verdict]}"
    others = [plan for plan in team.members if owner is None or plan.rep_id != owner.rep_id]
    eligible = eligibility.sort(others, skips)
    if not eligible:
        other = "other " if owner is not None and owner.rep_id in team.member_ids else ""
        return _nobody(skips, f"{why_not} and no {other}member is eligible")
    turn = next_in_rotation(eligible)
    return Pick(turn.chosen, tuple(skips), f"{why_not}, so round robin: {_round_robin_reason(turn)}", turn.rotation)


def _skill(team: TeamPlan, eligibility: Eligibility, view: LeadView) -> Pick:
    skips: list[Skip] = []
    eligible = eligibility.sort(team.members, skips)
    if not eligible:
        return _nobody(skips)
    needs = []
    if view.language is not None:
        needs.append(f"language {view.language}")
    if view.products:
        needs.append(f"interest in {', '.join(sorted(view.products))}")
    if not needs:
        turn = next_in_rotation(eligible)
        return Pick(
            turn.chosen,
            tuple(skips),
            f"the {view.lead.kind.value} states no language or product, so {_round_robin_reason(turn)}",
            turn.rotation,
        )
    wanted = " and ".join(needs)
    scores = [
        (view.language is not None and view.language in c.plan.languages)
        + (not view.products.isdisjoint(c.plan.products))
        for c in eligible
    ]
    best = max(scores)
    if best == 0:
        turn = next_in_rotation(eligible)
        reason = (
            f"no eligible member matches the {view.lead.kind.value}'s {wanted}, so round robin: "
            f"{_round_robin_reason(turn)}"
        )
        return Pick(turn.chosen, tuple(skips), reason, turn.rotation)
    matching = [c for c, score in zip(eligible, scores, strict=True) if score == best]
    unmatched = {c.plan.rep_id for c, score in zip(eligible, scores, strict=True) if score < best}
    if unmatched:
        # one skip per rep, in member order: merge the skill skips into the eligibility skips
        skipped = {skip.rep_id: skip for skip in skips}
        skipped.update({rep_id: Skip(rep_id, SkipReason.NO_SKILL_MATCH) for rep_id in unmatched})
        skips = [skipped[plan.rep_id] for plan in team.members if plan.rep_id in skipped]
    turn = next_in_rotation(matching)
    chosen = turn.chosen
    how = "matches" if best == len(needs) else "comes closest to"
    among = "next in the rotation" if turn.by_rotation else "with the fewest assignments"
    reason = (
        f"{chosen.plan.label} {how} the {view.lead.kind.value}'s {wanted}, {among} of those who do "
        f"({chosen.load.assignments})"
    )
    return Pick(chosen, tuple(skips), reason, turn.rotation)


def _direct(eligibility: Eligibility, rep: RepPlan) -> Pick:
    verdict = eligibility.judge(rep)
    if isinstance(verdict, Candidate):
        return Pick(verdict, (), f"the rule names {rep.label}")
    return Pick(None, (Skip(rep.rep_id, verdict),), f"the rule names {rep.label}, who is {_REASON_WORDS[verdict]}")


def choose(
    strategy: Strategy,
    team: TeamPlan,
    eligibility: Eligibility,
    view: LeadView,
    reps: Mapping[str, RepPlan],
    direct: RepPlan | None = None,
) -> Pick:
    """The rule's strategy applied to its team (or, for `direct`, to its named rep)."""
    if strategy is Strategy.ROUND_ROBIN:
        return _round_robin(team, eligibility)
    if strategy is Strategy.WEIGHTED_ROUND_ROBIN:
        return _weighted_round_robin(team, eligibility)
    if strategy is Strategy.LEAST_LOADED:
        return _least_loaded(team, eligibility)
    if strategy is Strategy.ACCOUNT_OWNER:
        return _account_owner(team, eligibility, view.lead, reps)
    if strategy is Strategy.SKILL:
        return _skill(team, eligibility, view)
    if direct is None:
        raise ValueError("a direct rule needs its rep")  # the config validation makes this unreachable
    return _direct(eligibility, direct)
