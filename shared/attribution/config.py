"""The attribution file: a versioned JSON document (`config/attribution.json`) and the pydantic schema it must meet.

    lookback_days            how far before a conversion a touch may be and still be credited (default 180)
    data_driven_window_days  the data-driven batch fits the Markov model on the journeys of this many days
                             (default 90)
    half_life_days           time decay: a touch this many days before the conversion weighs half as much as one
                             at the conversion (default 7; a decimal, written as a string or an integer; at
                             least one second, 1/86400 of a day, at most 365)
    session_timeout_minutes  a page view after this long without any engagement of the person starts a new
                             visit, Google Analytics' session rule (default 30)
    unpaid_channels          the channels attribution knows that money is not spent on: `direct`,
                             `organic_search`, `organic_social`, `referral`; every other channel named here must
                             be a spend channel of the finance file (`config/finance.json`)
    company_domains          hosts whose pages are the company's own: a referrer from one of them (or from the
                             host of the page itself) is internal navigation, never a referral
    channel_mapping          ordered rules, first match wins: which channel a touch is, from the engagement's
                             kind, its `utm_medium` / `utm_source`, the auto-tagging parameters of its URL
                             (`gclid`) and the host of its referrer
    default_channel          the channel when no rule matches (default `direct`)

A rule's `when` holds one or more conditions; all given must hold:

    kinds            the engagement's kind is one of these (`email_open`, `webinar_attended`, ...)
    mediums          its utm_medium is one of these (compared case-insensitively)
    sources          its utm_source is one of these (compared case-insensitively)
    has_medium       false: it carries no utm_medium at all; true: it carries one
    url_parameters   its URL's query has one of these parameters (auto-tagging: `gclid`, `msclkid`)
    external_referrer  true: its referrer is another site's (not the page's own host, not a company domain);
                     false: it has none, or an internal one
    referrer_hosts   its referrer is external and its host (a leading `www.` aside) matches one of these:
                     `google.*` matches `google` followed by a top-level domain only (`google.com`,
                     `www.google.de`, `google.co.uk`: one label, or two ending in a country code; not
                     `mail.google.com`), `linkedin.` a host with a label `linkedin` followed by more
                     (`www.linkedin.com`, `uk.linkedin.com`, not `linkedin`), `t.co` that host and its
                     subdomains

A file that does not meet the schema is refused by `parse_attribution_config` / `load_attribution_config` with
an `InvalidAttributionConfig` whose message names each offending rule by its id, e.g.
`rule "paid-search": channel "paid_serch" is neither a spend channel of finance file 2026.1 nor one of
unpaid_channels (direct, organic_search, organic_social, referral)`. Unknown fields are refused everywhere (a
typo must not pass silently).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    model_validator,
)

from shared.config_files import (
    ConfigFile,
    FileProblems,
    InvalidConfigFile,
    SnakeCaseId,
    lowered,
    no_float,
    repeated_ids,
    stripped,
)
from shared.events.types import EngagementKind
from shared.finance.config import FinanceConfig, load_finance_config

__all__ = [
    "DEFAULT_ATTRIBUTION_PATH",
    "AttributionConfig",
    "ChannelRule",
    "Conditions",
    "InvalidAttributionConfig",
    "load_attribution_config",
    "parse_attribution_config",
]

SECONDS_A_DAY = 86_400
MIN_HALF_LIFE_DAYS = "0.0000115741"  # one second, rounded up, as the refusal names it

DEFAULT_ATTRIBUTION_PATH = Path(__file__).resolve().parent.parent.parent / "config" / "attribution.json"


class InvalidAttributionConfig(InvalidConfigFile):
    """The attribution file is not valid; `problems` lists each problem, naming the rule it is about."""

    noun = "attribution file"


ChannelId = SnakeCaseId
Token = Annotated[str, BeforeValidator(lowered), Field(min_length=1, max_length=200)]
Parameter = Annotated[str, BeforeValidator(stripped), Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]
Host = Annotated[
    str,
    BeforeValidator(lowered),
    Field(min_length=1, max_length=253, pattern=r"^[a-z0-9-]+(\.[a-z0-9-]+)*$", description="a host: example.com"),
]
HostPattern = Annotated[
    str,
    BeforeValidator(lowered),
    Field(
        min_length=1,
        max_length=253,
        pattern=r"^[a-z0-9-]+(\.[a-z0-9-]+)*(\.|\.\*)?$",
        description=(
            "`google.*`: google and a top-level domain only; `linkedin.`: a label linkedin followed by more; "
            "`t.co`: that host and its subdomains"
        ),
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _distinct(values: list[str] | None) -> list[str] | None:
    if values is not None:
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(f"{', '.join(repeated)} listed more than once")
    return values


class Conditions(_Strict):
    """All conditions given must hold. A rule must give at least one: `default_channel` is the catch-all."""

    kinds: list[EngagementKind] | None = Field(default=None, min_length=1)
    mediums: list[Token] | None = Field(default=None, min_length=1)
    sources: list[Token] | None = Field(default=None, min_length=1)
    has_medium: StrictBool | None = None
    url_parameters: list[Parameter] | None = Field(default=None, min_length=1)
    external_referrer: StrictBool | None = None
    referrer_hosts: list[HostPattern] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Conditions:
        for name in ("kinds", "mediums", "sources", "url_parameters", "referrer_hosts"):
            try:
                _distinct(getattr(self, name))
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        if self.is_empty:
            raise ValueError("when names no condition: the catch-all is default_channel, not a rule")
        if self.has_medium is False and (self.mediums or self.sources):
            raise ValueError("has_medium false with mediums or sources never matches")
        if self.external_referrer is False and self.referrer_hosts:
            raise ValueError("external_referrer false with referrer_hosts never matches (they are external)")
        return self

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in type(self).model_fields)


def _at_least_a_second(days: Decimal) -> Decimal:
    """A half-life shorter than a second is refused: time decay works in whole microseconds, and a half-life of
    none (0.00000000001 days is 0.86 µs) would credit nothing."""
    with localcontext() as exact:
        exact.prec = 100  # a Decimal of the file is at most 28 digits: the product is exact
        if days * SECONDS_A_DAY < 1:
            raise ValueError(f"at least one second (1/86400 of a day, {MIN_HALF_LIFE_DAYS} days), not {days:f}")
    return days


class ChannelRule(_Strict):
    rule_id: Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9_.:-]*$")]
    description: str = Field(default="", max_length=500)
    when: Conditions
    channel: ChannelId


class AttributionConfig(_Strict):
    """A validated attribution file. Immutable."""

    version: str = Field(min_length=1, max_length=80)
    description: str = ""
    lookback_days: Annotated[StrictInt, Field(ge=1, le=1095)] = 180
    data_driven_window_days: Annotated[StrictInt, Field(ge=7, le=365)] = 90
    half_life_days: Annotated[
        Decimal,
        BeforeValidator(no_float),
        Field(gt=0, le=365, allow_inf_nan=False),
        AfterValidator(_at_least_a_second),
    ] = Decimal(7)
    session_timeout_minutes: Annotated[StrictInt, Field(ge=1, le=24 * 60)] = 30
    unpaid_channels: list[ChannelId] = Field(
        default_factory=lambda: ["direct", "organic_search", "organic_social", "referral"], min_length=1
    )
    company_domains: list[Host] = Field(default_factory=list, max_length=100)
    channel_mapping: list[ChannelRule] = Field(default_factory=list, max_length=500)
    default_channel: ChannelId = "direct"

    @model_validator(mode="after")
    def _whole_file(self) -> AttributionConfig:
        problems = [
            f'rule "{one}": rule_id is used by another rule'
            for one in repeated_ids([rule.rule_id for rule in self.channel_mapping])
        ]
        problems += [f'unpaid channel "{one}" is listed more than once' for one in repeated_ids(self.unpaid_channels)]
        problems += [f'company domain "{one}" is listed more than once' for one in repeated_ids(self.company_domains)]
        if problems:
            raise FileProblems(problems)
        return self

    @property
    def tagging_parameters(self) -> frozenset[str]:
        """The URL parameters some rule keys on (`gclid`, ...): a page view carrying one starts a visit."""
        return frozenset(p for rule in self.channel_mapping for p in rule.when.url_parameters or ())

    def rule(self, rule_id: str) -> ChannelRule:
        """The rule of that id; KeyError naming it (and the file's version) when there is none."""
        for rule in self.channel_mapping:
            if rule.rule_id == rule_id:
                return rule
        raise KeyError(f'rule "{rule_id}" is not in attribution file {self.version}')


def channel_problems(config: AttributionConfig, finance: FinanceConfig) -> list[str]:
    """What names a channel attribution cannot use: each rule's and the default channel must be a spend channel
    of the finance file or one of the file's `unpaid_channels`; an unpaid channel must not be a spend one."""
    unpaid = set(config.unpaid_channels)
    known = f"neither a spend channel of finance file {finance.version} nor one of unpaid_channels"
    known += f" ({', '.join(config.unpaid_channels)})"
    problems = [
        f'unpaid channel "{one}" is a spend channel of finance file {finance.version}: a channel is either paid or not'
        for one in config.unpaid_channels
        if finance.has_channel(one)
    ]
    problems += [
        f'rule "{rule.rule_id}": channel "{rule.channel}" is {known}'
        for rule in config.channel_mapping
        if rule.channel not in unpaid and not finance.has_channel(rule.channel)
    ]
    if config.default_channel not in unpaid and not finance.has_channel(config.default_channel):
        problems.append(f'default_channel "{config.default_channel}" is {known}')
    return problems


# ---------------------------------------------------------------------------------------- parsing and errors

_LISTS = {"channel_mapping": ("rule", "rule_id")}


_FILE: ConfigFile[AttributionConfig] = ConfigFile(
    "attribution file", AttributionConfig, InvalidAttributionConfig, _LISTS
)


def parse_attribution_config(
    data: Mapping[str, Any] | str | bytes, finance: FinanceConfig | None = None
) -> AttributionConfig:
    """Validate an attribution file given as a mapping or JSON text against the finance file's channels
    (default: `config/finance.json`); raises `InvalidAttributionConfig` naming each offending rule. JSON text
    is read with exact decimals; a mapping must hold no floats."""
    config = _FILE.parse(data)
    problems = channel_problems(config, finance if finance is not None else load_finance_config())
    if problems:
        raise InvalidAttributionConfig(problems)
    return config


def load_attribution_config(path: str | Path | None = None, finance: FinanceConfig | None = None) -> AttributionConfig:
    """Read and validate the attribution file (default: `config/attribution.json` of this repository) against
    the finance file's channels (default: `config/finance.json`)."""
    config = _FILE.load(Path(path) if path is not None else DEFAULT_ATTRIBUTION_PATH)
    problems = channel_problems(config, finance if finance is not None else load_finance_config())
    if problems:
        raise InvalidAttributionConfig(problems)
    return config
