"""The finance file: a versioned JSON document (`config/finance.json`) and the pydantic schema it must meet.

    company_currency     the ISO 4217 currency every report and budget is in (FX tables have it as their base)
    channels             the controlled vocabulary of spend channels: `channel_id` (lower-case snake case), name
    departments          who owns budgets: `department_id`, name, optionally the owner's email and a Slack
                         channel for alerts
    default_thresholds   alert thresholds in % of budget a budget gets when it names none (default 50, 80, 100, 110)
    forecast             `trend_min_days`: days of a period that must have passed before the forecast uses the
                         least-squares trend rather than the run rate; `overrun_threshold`: the forecast
                         consumption (% of budget) at which `budget.forecast_overrun` fires
    max_batch_lines      the most spend lines one request (or one CSV chunk) may carry
    max_budget_lines     the most lines one budget may have (at most 4,000: a budget is one DynamoDB item of 400 KB)
    spend_dates          the days a spend line may be dated (`incurred_on`, a service period's `from` and `to`):
                         `earliest` (default 2000-01-01, not before 1900-01-01) to 31 December of the year
                         `years_ahead` (default 5, 0 to 50; null: to the calendar's last day, 9999-12-31)
                         years after today's

A file that does not meet the schema is refused by `parse_finance_config` / `load_finance_config` with an
`InvalidFinanceConfig` whose message names each offending channel or department by its id, e.g.
`channel "paid_search": channel_id is used by another channel`. Unknown fields are refused everywhere (a typo
must not pass silently).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictInt,
    field_validator,
    model_validator,
)

from shared.config_files import ConfigFile, FileProblems, InvalidConfigFile, SnakeCaseId, repeated_ids, stripped
from shared.finance.currencies import UnknownCurrency, currency

__all__ = [
    "DEFAULT_FINANCE_PATH",
    "Channel",
    "Department",
    "FinanceConfig",
    "ForecastSettings",
    "InvalidFinanceConfig",
    "SpendDates",
    "load_finance_config",
    "parse_finance_config",
    "sorted_thresholds",
]

DEFAULT_FINANCE_PATH = Path(__file__).resolve().parent.parent.parent / "config" / "finance.json"


class InvalidFinanceConfig(InvalidConfigFile):
    """The finance file is not valid; `problems` lists each problem, naming the channel or department."""

    noun = "finance file"


VocabularyId = SnakeCaseId
Label = Annotated[str, BeforeValidator(stripped), Field(min_length=1, max_length=120)]
Threshold = Annotated[StrictInt, Field(ge=1, le=1000, description="% of budget")]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Channel(_Strict):
    channel_id: VocabularyId
    name: Label
    description: str = Field(default="", max_length=500)


class Department(_Strict):
    department_id: VocabularyId
    name: Label
    owner_email: str | None = Field(
        default=None,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        max_length=254,
        description="Who budget alerts of the department go to.",
    )
    slack_channel: str | None = Field(
        default=None,
        min_length=2,
        max_length=81,
        description="The Slack channel budget alerts of the department are posted to, besides the owner's email: "
        "a channel id (`C0123ABCD`) or a `#name` (lower-case letters, digits, `-`, `_`, `.`; 80 at most).",
    )

    @field_validator("slack_channel")
    @classmethod
    def _slack_channel(cls, channel: str | None) -> str | None:
        # a conversation id (public C..., private G...) or a channel name, `#` optional, as Slack names channels
        # (lower case, no spaces, 80 characters at most): the rule the local Slack stand-in applies too
        if channel is not None and not re.fullmatch(r"[CG][A-Z0-9]{2,}|#?[a-z0-9][a-z0-9._-]{0,79}", channel):
            raise ValueError(
                f'"{channel[:90]}" is not a Slack channel: a channel id (C0123ABCD) or a #name of lower-case '
                "letters, digits, -, _ and ."
            )
        return channel


class ForecastSettings(_Strict):
    trend_min_days: Annotated[StrictInt, Field(ge=2, le=92)] = Field(
        default=7, description="Days elapsed before the forecast fits a trend; fewer: run rate."
    )
    overrun_threshold: Threshold = Field(
        default=100, description="Forecast consumption (% of budget) at which a forecast overrun is raised."
    )


class SpendDates(_Strict):
    """The days a spend line may be dated: from `earliest` to 31 December of `years_ahead` years after today's
    year (both inclusive; `years_ahead` null: to 9999-12-31). A day outside them is a typo (9999-12-31,
    1900-01-01), not spend."""

    earliest: date = Field(
        default=date(2000, 1, 1), ge=date(1900, 1, 1), description="The first day a spend line may be dated."
    )
    years_ahead: Annotated[StrictInt, Field(ge=0, le=50)] | None = Field(
        default=5,
        description="A line may be dated up to 31 December of this many years after today's year (null: no bound "
        "but the calendar's, 9999-12-31).",
    )

    def latest(self, today: date) -> date:
        """The last day a line may be dated on `today`."""
        if self.years_ahead is None:
            return date.max
        return date(min(today.year + self.years_ahead, date.max.year), 12, 31)

    def problem(self, day: date, today: date | None) -> str | None:
        """Why `day` is outside the bounds (naming them), or None; without `today` only `earliest` is checked."""
        latest = None if today is None else self.latest(today)
        if day >= self.earliest and (latest is None or day <= latest):
            return None
        ahead = "" if self.years_ahead is None else f" ({self.years_ahead} years ahead)"
        upper = "" if latest is None else f" to {latest.isoformat()}{ahead}"
        return f"{day.isoformat()} is outside the days a spend line may be dated: {self.earliest.isoformat()}{upper}"


def sorted_thresholds(thresholds: list[int]) -> list[int]:
    """Thresholds in increasing order; a repeated one is refused (ValueError naming it)."""
    repeated = sorted({t for t in thresholds if thresholds.count(t) > 1})
    if repeated:
        raise ValueError(f"threshold {', '.join(map(str, repeated))} listed more than once")
    return sorted(thresholds)


class FinanceConfig(_Strict):
    """A validated finance file. Immutable; look channels and departments up with `channel` / `department`."""

    version: str = Field(min_length=1, max_length=80)
    description: str = ""
    company_currency: str
    channels: list[Channel] = Field(min_length=1, max_length=200)
    departments: list[Department] = Field(min_length=1, max_length=200)
    default_thresholds: list[Threshold] = Field(default_factory=lambda: [50, 80, 100, 110], min_length=1, max_length=20)
    forecast: ForecastSettings = Field(default_factory=ForecastSettings)
    max_batch_lines: Annotated[StrictInt, Field(ge=1, le=10_000)] = 500
    max_budget_lines: Annotated[StrictInt, Field(ge=1, le=4_000)] = 1000
    spend_dates: SpendDates = Field(default_factory=SpendDates)

    _channels: dict[str, Channel] = PrivateAttr(default_factory=dict)
    _departments: dict[str, Department] = PrivateAttr(default_factory=dict)

    @field_validator("company_currency", mode="before")
    @classmethod
    def _iso_currency(cls, value: object) -> str:
        try:
            return currency(value).code
        except UnknownCurrency as exc:
            raise ValueError(str(exc)) from None

    @field_validator("default_thresholds")
    @classmethod
    def _thresholds(cls, thresholds: list[int]) -> list[int]:
        return sorted_thresholds(thresholds)

    @model_validator(mode="after")
    def _unique_ids(self) -> FinanceConfig:
        problems = [
            f'channel "{one}": channel_id is used by another channel'
            for one in repeated_ids([c.channel_id for c in self.channels])
        ] + [
            f'department "{one}": department_id is used by another department'
            for one in repeated_ids([d.department_id for d in self.departments])
        ]
        if problems:
            raise FileProblems(problems)
        self._channels = {c.channel_id: c for c in self.channels}
        self._departments = {d.department_id: d for d in self.departments}
        return self

    @property
    def channel_ids(self) -> tuple[str, ...]:
        return tuple(self._channels)

    @property
    def department_ids(self) -> tuple[str, ...]:
        return tuple(self._departments)

    def has_channel(self, channel_id: str) -> bool:
        return channel_id in self._channels

    def has_department(self, department_id: str) -> bool:
        return department_id in self._departments

    def channel(self, channel_id: str) -> Channel:
        """The channel of that id; KeyError naming it (and the file's version) when there is none."""
        found = self._channels.get(channel_id)
        if found is None:
            raise KeyError(f'channel "{channel_id}" is not in finance file {self.version}')
        return found

    def department(self, department_id: str) -> Department:
        """The department of that id; KeyError naming it (and the file's version) when there is none."""
        found = self._departments.get(department_id)
        if found is None:
            raise KeyError(f'department "{department_id}" is not in finance file {self.version}')
        return found


# ---------------------------------------------------------------------------------------- parsing and errors

_LISTS = {"channels": ("channel", "channel_id"), "departments": ("department", "department_id")}


_FILE: ConfigFile[FinanceConfig] = ConfigFile("finance file", FinanceConfig, InvalidFinanceConfig, _LISTS)


def parse_finance_config(data: Mapping[str, Any] | str | bytes) -> FinanceConfig:
    """Validate a finance file given as a mapping or JSON text; raises `InvalidFinanceConfig` naming each
    offending channel or department. JSON text is read with exact decimals (a fraction is then refused)."""
    return _FILE.parse(data)


def load_finance_config(path: str | Path | None = None) -> FinanceConfig:
    """Read and validate the finance file (default: `config/finance.json` of this repository)."""
    return _FILE.load(Path(path) if path is not None else DEFAULT_FINANCE_PATH)
