"""The routing file: a versioned JSON document (`config/routing.json`) and the pydantic schema it must meet.

    regions   ISO country code -> region name (AMER, EMEA, APAC, ...): a lead's region when it has none
    reps      who takes handoffs: team, role, territories, skills, capacity, weight, working hours, absences
    teams     members (in the order ties are broken), manager, fallback queue, Slack channel
    rules     ordered, first match wins, per kind (`lead` / `customer`): conditions -> team + strategy
    sla       per priority: minutes to accept and to first touch, business time or not, reminders;
              and after how many reassignments a handoff escalates to the team's manager
    gates     which handoff requests go to a person at all (see `shared/handoffs/gates.py`)

Conventions: country codes upper case (ISO 3166-1 alpha-2), states as ISO 3166-2 (`US-CA`), languages lower
case (ISO 639-1); products, industries and sources compare case-insensitively. Ranges (`employee_count`,
`annual_revenue`, `score`) are [min, max): min inclusive, max exclusive, either may be left out, as the
scoring model's bands. Decimals are written as strings (`"10"`, `"2500000.50"`) or integers, never as JSON
numbers with a fraction (a float would not hold them exactly); `load_routing` reads such numbers exactly, a
dict handed to `parse_routing` must not contain floats.

A file that does not meet the schema is refused by `parse_routing` / `load_routing` with an
`InvalidRoutingConfig` whose message names each offending rep, team or rule by its id, e.g.
`rule "emea-sdr": team "sdr-emae" is not defined`. Beyond each field's own checks, the file must hold
together: ids are unique, every rep's team exists and lists it (managers excepted), team members and managers
exist (a manager has role `manager`), rules name existing teams (and, for `direct`, an existing rep),
territories and rule regions name regions of the `regions` map, and each kind ends with a catch-all rule (an
empty `when`) with no rule after it. These are checked once every field is valid (pydantic runs the
file-wide check last), so a file with field problems reports those first.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from shared.config_files import (
    ConfigFile,
    FileProblems,
    InvalidConfigFile,
    lowered,
    no_float,
    repeated_ids,
    stripped,
    uppered,
)
from shared.handoffs.model import HandoffKind, Priority, Role
from shared.handoffs.working_hours import WEEKDAYS, Schedule, clock_minutes

DEFAULT_ROUTING_PATH = Path(__file__).resolve().parent.parent.parent / "config" / "routing.json"


class InvalidRoutingConfig(InvalidConfigFile):
    """The routing file is not valid; `problems` lists each problem, naming the rep, team or rule it is about."""

    noun = "routing file"


Identifier = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$")]
CountryCode = Annotated[str, BeforeValidator(uppered), Field(pattern=r"^[A-Z]{2}$")]
# regions have three or more letters, so a territory reads unambiguously as region, country or state
RegionName = Annotated[str, BeforeValidator(uppered), Field(pattern=r"^[A-Z][A-Z0-9_]{2,19}$")]
StateCode = Annotated[str, BeforeValidator(uppered), Field(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$")]
Territory = Annotated[str, BeforeValidator(uppered), Field(pattern=r"^[A-Z][A-Z0-9_]{1,19}(?:-[A-Z0-9]{1,3})?$")]
LanguageCode = Annotated[str, BeforeValidator(lowered), Field(pattern=r"^[a-z]{2}$")]
Label = Annotated[str, BeforeValidator(stripped), Field(min_length=1, max_length=120)]
ExactDecimal = Annotated[Decimal, BeforeValidator(no_float), Field(allow_inf_nan=False)]
PositiveInt = Annotated[StrictInt, Field(ge=1)]
Minutes = Annotated[StrictInt, Field(ge=1, le=366 * 24 * 60)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ------------------------------------------------------------------------------------------------------ reps


class WorkingHours(_Strict):
    """Weekly hours on the rep's local wall clock: `days` from `start` (inclusive) to `end` (exclusive)."""

    time_zone: str = Field(description="An IANA time zone, e.g. Europe/Berlin.")
    days: list[str] = Field(min_length=1, description="Working weekdays: mon, tue, wed, thu, fri, sat, sun.")
    start: str = Field(description="HH:MM, e.g. 09:00.")
    end: str = Field(description="HH:MM after start, e.g. 17:30 (24:00: until midnight).")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory or an overlong name
            raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
        return name

    @field_validator("days")
    @classmethod
    def _weekdays(cls, days: list[str]) -> list[str]:
        cleaned = [day.strip().lower() for day in days]
        for day in cleaned:
            if day not in WEEKDAYS:
                raise ValueError(f"{day!r} is not a weekday ({', '.join(WEEKDAYS)})")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("a weekday is listed twice")
        return cleaned

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, text: str) -> str:
        clock_minutes(text)
        return text

    @model_validator(mode="after")
    def _start_before_end(self) -> WorkingHours:
        if clock_minutes(self.start) == 24 * 60:
            raise ValueError("start must be before 24:00")
        if clock_minutes(self.start) >= clock_minutes(self.end):
            raise ValueError(f"start {self.start} must be before end {self.end} (overnight shifts are not supported)")
        return self


# Dates a routing file may name: working-time arithmetic steps a day past an absence, which must stay a date.
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2199, 12, 31)


class OutOfOffice(_Strict):
    """An absence, both days inclusive, as dates of the rep's own time zone."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    first: date = Field(alias="from")
    last: date = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> OutOfOffice:
        if self.first > self.last:
            raise ValueError(f"from {self.first} is after to {self.last}")
        if not (self.first >= EARLIEST_DATE and self.last <= LATEST_DATE):
            raise ValueError(f"absences lie between {EARLIEST_DATE} and {LATEST_DATE}")
        return self


class Skills(_Strict):
    products: list[Label] = Field(default_factory=list)
    languages: list[LanguageCode] = Field(default_factory=list)


class Rep(_Strict):
    rep_id: Identifier
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    slack_user_id: str | None = Field(default=None, pattern=r"^[UW][A-Z0-9]{2,}$")
    team: Identifier
    role: Role
    territories: list[Territory] = Field(
        default_factory=list, description="Regions (EMEA), countries (DE) or states (US-CA) the rep covers."
    )
    skills: Skills = Field(default_factory=Skills)
    capacity: PositiveInt = Field(description="At most this many open handoffs at once.")
    weight: PositiveInt = Field(default=1, description="Share under weighted round robin: 2 takes twice as many.")
    working_hours: WorkingHours
    out_of_office: list[OutOfOffice] = Field(default_factory=list)
    active: StrictBool = True

    _schedule: Schedule | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _build_schedule(self) -> Rep:
        hours = self.working_hours
        self._schedule = Schedule(
            zone=ZoneInfo(hours.time_zone),
            weekdays=frozenset(WEEKDAYS.index(day) for day in hours.days),
            start_minute=clock_minutes(hours.start),
            end_minute=clock_minutes(hours.end),
            out_of_office=tuple(sorted((absence.first, absence.last) for absence in self.out_of_office)),
        )
        return self

    @property
    def schedule(self) -> Schedule:
        """The rep's working time as `shared.handoffs.working_hours` computes with it."""
        assert self._schedule is not None  # set by the validator of every Rep that exists
        return self._schedule

    def covers(self, country: str | None, region: str | None, state: str | None) -> bool:
        """The rep's territories include the lead's region, country or (ISO 3166-2) state; no territories: all.

        Informational: rules pick the team by place; the engine does not filter members by territory."""
        if not self.territories:
            return True
        return any(place is not None and place in self.territories for place in (region, country, state))


# ----------------------------------------------------------------------------------------------------- teams


class Team(_Strict):
    team: Identifier
    members: list[Identifier] = Field(
        min_length=1, description="Rep ids taking this team's handoffs; ties between them go by this order."
    )
    manager: Identifier = Field(description="The rep (role manager) escalations and breaches go to.")
    fallback_queue: Annotated[str, Field(min_length=1, max_length=80)] = Field(
        description="Where a handoff waits when no member is eligible; never dropped."
    )
    slack_channel: str | None = Field(default=None, min_length=2, max_length=80)

    @field_validator("members")
    @classmethod
    def _distinct(cls, members: list[str]) -> list[str]:
        repeated = sorted({m for m in members if members.count(m) > 1})
        if repeated:
            raise ValueError(f"{', '.join(repeated)} listed more than once")
        return members


# ----------------------------------------------------------------------------------------------------- rules


class IntRange(_Strict):
    """[min, max): min inclusive, max exclusive; either may be left out, not both."""

    min: Annotated[StrictInt, Field(ge=0)] | None = None
    max: Annotated[StrictInt, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _bounds(self) -> IntRange:
        return _check_bounds(self)


class DecimalRange(_Strict):
    """[min, max): min inclusive, max exclusive; either may be left out, not both. Decimals as strings."""

    min: ExactDecimal | None = None
    max: ExactDecimal | None = None

    @model_validator(mode="after")
    def _bounds(self) -> DecimalRange:
        return _check_bounds(self)


_Bounds = TypeVar("_Bounds", IntRange, DecimalRange)


def _check_bounds(bounds: _Bounds) -> _Bounds:
    if bounds.min is None and bounds.max is None:
        raise ValueError("a range needs min, max or both")
    if bounds.min is not None and bounds.max is not None and bounds.min >= bounds.max:
        raise ValueError("min must be < max")
    return bounds


class Conditions(_Strict):
    """All conditions given must hold; a condition on a fact the lead does not have (None) does not hold.
    No condition at all: the rule matches every lead of its kind (a catch-all)."""

    countries: list[CountryCode] | None = Field(default=None, min_length=1)
    regions: list[RegionName] | None = Field(default=None, min_length=1)
    states: list[StateCode] | None = Field(default=None, min_length=1)
    industries: list[Label] | None = Field(default=None, min_length=1)
    employee_count: IntRange | None = None
    annual_revenue: DecimalRange | None = None
    product_interest: list[Label] | None = Field(default=None, min_length=1, description="Any one of them.")
    languages: list[LanguageCode] | None = Field(default=None, min_length=1)
    score: DecimalRange | None = None
    priorities: list[Priority] | None = Field(default=None, min_length=1)
    sources: list[Label] | None = Field(default=None, min_length=1)
    has_account_owner: StrictBool | None = None

    @property
    def is_catch_all(self) -> bool:
        return all(getattr(self, name) is None for name in type(self).model_fields)


class Strategy(StrEnum):
    ROUND_ROBIN = "round_robin"
    WEIGHTED_ROUND_ROBIN = "weighted_round_robin"
    LEAST_LOADED = "least_loaded"
    ACCOUNT_OWNER = "account_owner"
    SKILL = "skill"
    DIRECT = "direct"


class Rule(_Strict):
    rule_id: Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9_.:-]*$")]
    description: str = ""
    applies_to: HandoffKind = HandoffKind.LEAD
    when: Conditions = Field(default_factory=Conditions)
    team: Identifier
    strategy: Strategy
    rep_id: Identifier | None = Field(default=None, description="The rep a `direct` rule names (only then).")

    @model_validator(mode="after")
    def _direct_names_a_rep(self) -> Rule:
        if self.strategy is Strategy.DIRECT and self.rep_id is None:
            raise ValueError("strategy direct needs rep_id")
        if self.strategy is not Strategy.DIRECT and self.rep_id is not None:
            raise ValueError(f"rep_id is only for strategy direct, not {self.strategy.value}")
        return self


# ------------------------------------------------------------------------------------------------ sla, gates


class SlaPolicy(_Strict):
    """Deadlines after assignment. With `business_hours`, minutes count only in the assignee's working time."""

    accept_minutes: Minutes
    first_touch_minutes: Minutes
    business_hours: StrictBool = False
    reminders_minutes: list[Minutes] = Field(
        default_factory=list, description="Remind the assignee at these offsets after assignment (< accept)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> SlaPolicy:
        late = [m for m in self.reminders_minutes if m >= self.accept_minutes]
        if late:
            raise ValueError(
                f"reminders_minutes {', '.join(map(str, late))} must be < accept_minutes {self.accept_minutes}"
            )
        if len(set(self.reminders_minutes)) != len(self.reminders_minutes):
            raise ValueError("reminders_minutes lists an offset twice")
        if self.first_touch_minutes < self.accept_minutes:
            raise ValueError("first_touch_minutes must be >= accept_minutes (a lead is touched after acceptance)")
        return self


class Sla(_Strict):
    immediate: SlaPolicy = Field(
        default_factory=lambda: SlaPolicy(accept_minutes=5, first_touch_minutes=15, reminders_minutes=[2])
    )
    priority: SlaPolicy = Field(
        default_factory=lambda: SlaPolicy(
            accept_minutes=30, first_touch_minutes=120, business_hours=True, reminders_minutes=[15]
        )
    )
    standard: SlaPolicy = Field(
        # one business day: a 09:00-17:30 working day is 510 minutes
        default_factory=lambda: SlaPolicy(
            accept_minutes=510, first_touch_minutes=1020, business_hours=True, reminders_minutes=[240]
        )
    )
    escalate_after_reassignments: Annotated[StrictInt, Field(ge=1)] = Field(
        default=2, description="At this many reassignments (breaches or rejections) the manager is told."
    )

    def policy(self, priority: Priority) -> SlaPolicy:
        policy: SlaPolicy = getattr(self, priority.value)
        return policy


class Gates(_Strict):
    require_email: StrictBool = Field(
        default=True,
        description="A lead without an email waits to be identified. Only `true`: the lead engine requests a "
        "handoff for a person with an email and no one else (shared/leads/progression.py), so `false` could "
        "change nothing and is refused rather than ignored.",
    )
    min_fit_score_for_behaviour_trigger: ExactDecimal = Field(
        default=Decimal(40),
        description="A `priority` (behaviour) trigger below this fit score goes to qualify. The shipped value is "
        "the scoring model's ICP line (`fit.icp_min`), which hands below-ICP buying signals to routing "
        "(`handoff.priority_below_icp_fit`).",
    )

    @field_validator("require_email")
    @classmethod
    def _email_required(cls, value: bool) -> bool:
        if not value:
            raise ValueError(
                "false is not supported: the lead engine hands over only leads with an email, "
                "so no handoff of a lead without one ever reaches routing"
            )
        return value

    qualification_queue: Annotated[str, Field(min_length=1, max_length=80)] = "sdr-qualification"


# -------------------------------------------------------------------------------------------------- the file


class RoutingConfig(_Strict):
    """A validated routing file. Immutable: `shared.handoffs.routing.compile_routing` indexes it once."""

    version: str = Field(min_length=1, max_length=80)
    description: str = ""
    regions: dict[CountryCode, RegionName] = Field(default_factory=dict)
    reps: list[Rep] = Field(min_length=1)
    teams: list[Team] = Field(min_length=1)
    rules: list[Rule] = Field(min_length=1)
    sla: Sla = Field(default_factory=Sla)
    gates: Gates = Field(default_factory=Gates)

    @model_validator(mode="after")
    def _references(self) -> RoutingConfig:
        problems = _reference_problems(self)
        if problems:
            raise FileProblems(problems)
        return self


def _reference_problems(config: RoutingConfig) -> list[str]:
    problems: list[str] = []
    reps = {rep.rep_id: rep for rep in config.reps}
    teams = {team.team: team for team in config.teams}
    regions = set(config.regions.values())
    known_regions = ", ".join(sorted(regions)) or "none: the regions map is empty"

    problems += [
        f'rep "{rep_id}": rep_id is used by another rep' for rep_id in repeated_ids([r.rep_id for r in config.reps])
    ]
    problems += [
        f'team "{team}": team id is used by another team' for team in repeated_ids([t.team for t in config.teams])
    ]
    problems += [
        f'rule "{rule}": rule_id is used by another rule' for rule in repeated_ids([r.rule_id for r in config.rules])
    ]

    for rep in config.reps:
        home = teams.get(rep.team)
        if home is None:
            problems.append(f'rep "{rep.rep_id}": team "{rep.team}" is not defined')
        elif rep.role is not Role.MANAGER and rep.rep_id not in home.members:
            problems.append(f'rep "{rep.rep_id}": not among the members of its team "{rep.team}"')
        for place in rep.territories:
            if "-" not in place and len(place) > 2 and place not in regions:
                problems.append(f'rep "{rep.rep_id}": territory "{place}" is not a region ({known_regions})')

    for team in config.teams:
        for member in team.members:
            if member not in reps:
                problems.append(f'team "{team.team}": member "{member}" is not a rep')
        manager = reps.get(team.manager)
        if manager is None:
            problems.append(f'team "{team.team}": manager "{team.manager}" is not a rep')
        elif manager.role is not Role.MANAGER:
            problems.append(f'team "{team.team}": manager "{team.manager}" has role {manager.role.value}, not manager')

    catch_all: dict[HandoffKind, str] = {}
    for rule in config.rules:
        subject = f'rule "{rule.rule_id}"'
        if rule.team not in teams:
            problems.append(f'{subject}: team "{rule.team}" is not defined')
        if rule.rep_id is not None and rule.rep_id not in reps:
            problems.append(f'{subject}: rep_id "{rule.rep_id}" is not a rep')
        for region in rule.when.regions or ():
            if region not in regions:
                problems.append(f'{subject}: region "{region}" is not a region of the regions map ({known_regions})')
        earlier = catch_all.get(rule.applies_to)
        if earlier is not None:
            problems.append(
                f'{subject}: never reached: catch-all rule "{earlier}" before it matches every {rule.applies_to.value}'
            )
        elif rule.when.is_catch_all:
            catch_all[rule.applies_to] = rule.rule_id
    for kind in HandoffKind:
        if kind not in catch_all:
            problems.append(
                f'rules: no catch-all for {kind.value} handoffs (a last rule with applies_to "{kind.value}" and '
                "an empty when): every request must reach a team"
            )
    return problems


# ---------------------------------------------------------------------------------------- parsing and errors

_LISTS = {"reps": ("rep", "rep_id"), "teams": ("team", "team"), "rules": ("rule", "rule_id")}


_FILE: ConfigFile[RoutingConfig] = ConfigFile("routing file", RoutingConfig, InvalidRoutingConfig, _LISTS)


def parse_routing(data: Mapping[str, Any] | str | bytes) -> RoutingConfig:
    """Validate a routing file given as a mapping or JSON text; raises `InvalidRoutingConfig` naming each
    offending rep, team or rule. JSON text is read with exact decimals; a mapping must hold no floats."""
    return _FILE.parse(data)


def load_routing(path: str | Path | None = None) -> RoutingConfig:
    """Read and validate the routing file (default: `config/routing.json` of this repository)."""
    return _FILE.load(Path(path) if path is not None else DEFAULT_ROUTING_PATH)
