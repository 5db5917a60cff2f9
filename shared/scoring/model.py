"""The scoring model: a versioned JSON document (`config/scoring-model.json`) and the pydantic schema it must meet.

Points are written in the file as numbers with at most two decimals (`2`, `2.5`, `-15`); the engine keeps them
as integer hundredths of a point. Days (half-lives, windows, look-backs) may be fractional; the engine keeps
them as integer microseconds.

A model that does not meet the schema is refused by `parse_model` / `load_model` with a `ModelError` whose
message names the offending rule, e.g. `engagement rule "email-open": max_per_day must be >= points`.

See `shared/scoring/__init__.py` for what each part of the model means when scoring.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from shared.errors import InvalidInput
from shared.events.canonical import EngagementKind

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent.parent.parent / "config" / "scoring-model.json"

Points = Annotated[Decimal, Field(decimal_places=2, ge=-1_000_000, le=1_000_000, allow_inf_nan=False)]
PositivePoints = Annotated[Decimal, Field(decimal_places=2, gt=0, le=1_000_000, allow_inf_nan=False)]
Days = Annotated[Decimal, Field(gt=0, le=36_500, allow_inf_nan=False)]
RuleId = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9_.:-]*$")]

# Profile fields a fit rule may read; `attributes.<name>` reads a custom attribute of the profile.
TEXT_FIELDS = frozenset({"email", "email_domain", "job_title", "industry", "country", "company_domain"})
NUMBER_FIELDS = frozenset({"employee_count", "annual_revenue"})
ATTRIBUTE_PREFIX = "attributes."
# Engagement attributes a condition may read; `properties.<key>[.<key>...]` reads the engagement's properties.
ENGAGEMENT_FIELDS = frozenset({"name", "url", "path"})
PROPERTIES_PREFIX = "properties."


class ModelError(InvalidInput):
    """The scoring model is not valid; `problems` lists each problem, naming the rule it is about."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid scoring model: " + "; ".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _is_attribute(field: str) -> bool:
    return field.startswith(ATTRIBUTE_PREFIX) and len(field) > len(ATTRIBUTE_PREFIX)


# --------------------------------------------------------------------------------------------------- fit rules


class _FitRule(_Strict):
    id: RuleId
    description: str = ""
    points: Points
    group: str | None = Field(
        default=None,
        description="Rules sharing a group are alternatives: only the first one (in file order) that matches scores.",
    )
    disqualifies: bool = Field(
        default=False, description="A match rules out ICP fit (and, per the handoff section, handoffs)."
    )


class InRule(_FitRule):
    """A text field equals one of `values` (case-insensitive, surrounding and repeated spaces ignored)."""

    kind: Literal["in"]
    field: str
    values: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)

    @field_validator("field")
    @classmethod
    def _text_field(cls, field: str) -> str:
        if field not in TEXT_FIELDS and not _is_attribute(field):
            raise ValueError(f"field must be one of {', '.join(sorted(TEXT_FIELDS))} or attributes.<name>")
        return field


class BandRule(_FitRule):
    """A numeric field lies in [min, max): `min` inclusive, `max` exclusive; either may be left out. Bounds are
    exact Decimals (a JSON `0.1` is 0.1, `9007199254740993` that integer), compared exactly with the profile's
    number; NaN and infinities are refused."""

    kind: Literal["band"]
    field: str
    min: Decimal | None = Field(default=None, allow_inf_nan=False)
    max: Decimal | None = Field(default=None, allow_inf_nan=False)

    @field_validator("field")
    @classmethod
    def _number_field(cls, field: str) -> str:
        if field not in NUMBER_FIELDS and not _is_attribute(field):
            raise ValueError(f"field must be one of {', '.join(sorted(NUMBER_FIELDS))} or attributes.<name>")
        return field

    @field_serializer("min", "max", when_used="json")
    def _bound_json(self, bound: Decimal | None) -> float | str | None:
        """A bound in the stored model document: the JSON number it has always been written as when that number's
        text is the bound exactly (so a model applied before keeps its document and hash), else the exact text."""
        if bound is None:
            return None
        spelled = float(bound)
        return spelled if Decimal(repr(spelled)) == bound else str(bound)

    @model_validator(mode="after")
    def _bounds(self) -> BandRule:
        if self.min is None and self.max is None:
            raise ValueError("a band needs min, max or both")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError("min must be < max")
        return self


class KeywordsRule(_FitRule):
    """A keyword occurs in a text field (default `job_title`) as whole words: `vp` matches "VP, Marketing" but
    not "MVP Lead". Case and punctuation are ignored."""

    kind: Literal["keywords"]
    field: str = "job_title"
    keywords: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)

    @field_validator("field")
    @classmethod
    def _text_field(cls, field: str) -> str:
        return InRule._text_field(field)

    @field_validator("keywords")
    @classmethod
    def _words(cls, keywords: list[str]) -> list[str]:
        from shared.scoring.text import words

        for keyword in keywords:
            if not words(keyword).strip():
                raise ValueError(f"keyword {keyword!r} has no letters or digits")
        return keywords


DomainField = Literal["email_domain", "company_domain"]
DOMAIN_FIELDS: tuple[DomainField, ...] = ("email_domain", "company_domain")


class DomainRule(_FitRule):
    """The email's domain or the company domain is one of `domains` or a subdomain of one (`mail.acme.com`
    matches `acme.com`). Personal email providers and competitors are domain rules with negative points."""

    kind: Literal["domain"]
    domains: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    fields: list[DomainField] = Field(default_factory=lambda: list(DOMAIN_FIELDS), min_length=1)

    @field_validator("domains")
    @classmethod
    def _domains(cls, domains: list[str]) -> list[str]:
        from shared.scoring.text import domain_of

        cleaned = [domain_of(d) for d in domains]
        for raw, clean in zip(domains, cleaned, strict=True):
            if not clean or "." not in clean:
                raise ValueError(f"{raw!r} is not a domain")
        return [c for c in cleaned if c]


FitRule = Annotated[InRule | BandRule | KeywordsRule | DomainRule, Field(discriminator="kind")]


class Fit(_Strict):
    icp_min: Points = Field(description="ICP fit needs a fit score of at least this (and no disqualifying match).")
    rules: list[FitRule] = Field(default_factory=list)


# --------------------------------------------------------------------------------------------- engagement rules


class Condition(_Strict):
    """A test on one attribute of the engagement, compared as text: case-insensitively, surrounding spaces
    ignored; numbers and booleans as their text (`3`, `true`); a missing attribute matches only nothing.

    `field`: `name`, `url`, `path` or `properties.<key>` (dots reach into nested objects).
    `op`: `equals` / `prefix` / `contains` (`value`), `in` (`values`), `exists` (neither).
    """

    field: str
    op: Literal["equals", "in", "prefix", "contains", "exists"]
    value: str | int | float | bool | None = None
    values: list[str | int | float | bool] | None = None

    @field_validator("field")
    @classmethod
    def _field(cls, field: str) -> str:
        if field in ENGAGEMENT_FIELDS:
            return field
        if field.startswith(PROPERTIES_PREFIX) and all(field[len(PROPERTIES_PREFIX) :].split(".")):
            return field
        raise ValueError("field must be name, url, path or properties.<key>")

    @model_validator(mode="after")
    def _operands(self) -> Condition:
        if self.op == "in":
            if not self.values or self.value is not None:
                raise ValueError("op in needs values (a non-empty list) and no value")
        elif self.op == "exists":
            if self.value is not None or self.values is not None:
                raise ValueError("op exists takes neither value nor values")
        elif self.value is None or self.values is not None:
            raise ValueError(f"op {self.op} needs a value and no values")
        return self


class EngagementRule(_Strict):
    id: RuleId
    description: str = ""
    kind: EngagementKind
    group: str
    points: Points = Field(description="Points per matching event (negative for events that lower the score).")
    when: list[Condition] = Field(default_factory=list, description="All must hold for the rule to match.")
    repeat: Literal["repeatable", "once"] = Field(
        default="repeatable", description="`once`: only the contact's first matching event scores."
    )
    max_per_day: PositivePoints | None = Field(
        default=None, description="At most this many points (in magnitude) per UTC day from this rule."
    )
    max_lifetime: PositivePoints | None = Field(
        default=None, description="At most this many points (in magnitude) ever from this rule."
    )

    @model_validator(mode="after")
    def _caps(self) -> EngagementRule:
        magnitude = abs(self.points)
        what = "points" if self.points >= 0 else "|points|"
        for name in ("max_per_day", "max_lifetime"):
            cap = getattr(self, name)
            if cap is not None and cap < magnitude:
                raise ValueError(f"{name} must be >= {what}")
        return self


class HalfLife(_Strict):
    """Points lose half their value every `days`: worth points x 2^(-age / days)."""

    kind: Literal["half_life"]
    days: Days


class Window(_Strict):
    """Points count in full while younger than `days` and not at all from that age on."""

    kind: Literal["window"]
    days: Days


class NoDecay(_Strict):
    kind: Literal["none"]


Decay = Annotated[HalfLife | Window | NoDecay, Field(discriminator="kind")]


class EngagementGroup(_Strict):
    id: RuleId
    description: str = ""
    decay: Decay = Field(default_factory=lambda: NoDecay(kind="none"))
    cap: PositivePoints | None = Field(
        default=None, description="The group's decayed points count for at most this much."
    )


class Engagement(_Strict):
    groups: list[EngagementGroup] = Field(min_length=1)
    rules: list[EngagementRule] = Field(default_factory=list)


# ------------------------------------------------------------------------------------------ total, MQL, handoff


class Total(_Strict):
    cap: PositivePoints | None = Field(default=None, description="The total is at most this.")
    allow_negative: bool = Field(default=False, description="When false, a negative total is raised to 0.")


class Mql(_Strict):
    email_group: str = Field(default="email", description="The engagement group whose points are email engagement.")
    email_engagement_min: Points
    content_pieces_min: int = Field(ge=0)
    website_sessions_min: int = Field(ge=0)
    require_icp_fit: bool = True
    content_kinds: list[EngagementKind] = Field(
        default_factory=lambda: [EngagementKind.CONTENT_DOWNLOAD, EngagementKind.WEBINAR_ATTENDED]
    )
    session_kinds: list[EngagementKind] = Field(
        default_factory=lambda: [EngagementKind.PAGE_VIEW, EngagementKind.PRICING_PAGE_VISIT]
    )
    session_gap_minutes: Annotated[Decimal, Field(gt=0, le=1440)] = Decimal(30)
    lookback_days: Days | None = Field(
        default=Decimal(90), description="Content pieces and sessions count only engagements younger than this."
    )


class Handoff(_Strict):
    immediate_total_min: Points | None = None
    priority_kinds: list[EngagementKind] = Field(default_factory=list)
    priority_lookback_days: Days = Decimal(30)
    priority_below_icp_fit: bool = Field(
        default=False,
        description="Let a buying signal (priority_kinds) hand off a lead below the ICP fit line. Off by default: "
        "sales wants no priority handoff for a student who looked at pricing; the signal still counts for the "
        "lookback, so it fires once the lead's fit reaches the line.",
    )
    standard_after_nurture_days: Days | None = None
    suppress_when_disqualified: bool = True


class ScoringModel(_Strict):
    """A validated scoring model. Immutable, so its compiled form is built once (`compiler.compiled`)."""

    version: str = Field(min_length=1, max_length=80)
    description: str = ""
    fit: Fit
    engagement: Engagement
    total: Total = Field(default_factory=Total)
    mql: Mql
    handoff: Handoff = Field(default_factory=Handoff)

    # the compiled form, cached here by `shared.scoring.compiler.compiled`; this module knows nothing of it
    _compiled: object = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _references(self) -> ScoringModel:
        problems: list[str] = []
        seen: set[str] = set()
        for rule in self.fit.rules:
            if rule.id in seen:
                problems.append(f'fit rule "{rule.id}": id is used by another rule')
            seen.add(rule.id)
        groups = [g.id for g in self.engagement.groups]
        for index, group in enumerate(groups):
            if group in groups[:index]:
                problems.append(f'engagement group "{group}": id is used by another group')
        for erule in self.engagement.rules:
            if erule.id in seen:
                problems.append(f'engagement rule "{erule.id}": id is used by another rule')
            seen.add(erule.id)
            if erule.group not in groups:
                problems.append(
                    f'engagement rule "{erule.id}": group "{erule.group}" is not defined (groups: {", ".join(groups)})'
                )
        if self.mql.email_group not in groups:
            problems.append(f'mql: email_group "{self.mql.email_group}" is not an engagement group')
        if problems:
            raise ValueError("; ".join(problems))
        return self


_LISTS = {
    ("fit", "rules"): "fit rule",
    ("engagement", "rules"): "engagement rule",
    ("engagement", "groups"): "engagement group",
}


def _problem(error: Mapping[str, Any], raw: object) -> str:
    loc = tuple(error.get("loc", ()))
    message = str(error["ctx"]["error"]) if error.get("type") == "value_error" else str(error.get("msg"))
    if not loc:
        return message
    subject, rest = "scoring model", loc
    label = _LISTS.get((str(loc[0]), str(loc[1]))) if len(loc) >= 3 and isinstance(loc[2], int) else None
    if label is not None:
        index = int(loc[2])
        item: object = None
        section = raw.get(str(loc[0])) if isinstance(raw, dict) else None
        items = section.get(str(loc[1])) if isinstance(section, dict) else None
        if isinstance(items, list) and index < len(items):
            item = items[index]
        rule_id = item.get("id") if isinstance(item, dict) else None
        subject = f'{label} "{rule_id}"' if isinstance(rule_id, str) and rule_id else f"{label} #{index + 1}"
        rest = loc[3:]
        if rest and isinstance(item, dict) and rest[0] == item.get("kind"):  # the discriminator's tag
            rest = rest[1:]
    path = ".".join(str(part) for part in rest)
    return f"{subject}: {path}: {message}" if path else f"{subject}: {message}"


def parse_model(data: Mapping[str, Any] | str | bytes) -> ScoringModel:
    """Validate a scoring model given as a mapping or JSON text; raises `ModelError` naming each bad rule."""
    raw: object
    if isinstance(data, str | bytes):
        try:
            raw = json.loads(data, parse_float=Decimal)  # `min: 0.1` is 0.1 exactly, not the float nearest it
        except ValueError as exc:
            raise ModelError([f"scoring model: not valid JSON: {exc}"]) from None
    else:
        raw = dict(data)
    try:
        model = ScoringModel.model_validate(raw)
    except ValidationError as exc:
        raise ModelError([_problem(error, raw) for error in exc.errors()]) from None
    return model


def load_model(path: str | Path | None = None) -> ScoringModel:
    """Read and validate the scoring model file (default: `config/scoring-model.json` of this repository)."""
    source = Path(path) if path is not None else DEFAULT_MODEL_PATH
    try:
        text = source.read_bytes()
    except OSError as exc:
        raise ModelError([f"scoring model {source}: cannot be read: {exc.strerror}"]) from None
    return parse_model(text)
