"""What the finance domain needs from storage. The DynamoDB adapter and the in-memory fake both honour it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from shared.finance.budget_engine import Budget
from shared.finance.fx import FxTable
from shared.finance.periods import Period
from shared.finance.service_periods import spread
from shared.finance.spend import SpendKey, SpendLine


class SpendConflict(Exception):
    """A line of the chunk exists already (a concurrent writer of the same `spend_id`), or an original was
    reversed or corrected meanwhile (or is not reversed, for a correction); nothing of the chunk was written.
    Read again and decide again."""


class StaleBudget(Exception):
    """The period's budget changed since it was read (its version moved); nothing was written."""


@dataclass(frozen=True)
class StoredSpend:
    """A ledger line as stored: the line as given, its amount in the company currency and the rate used (of
    its first month's FX table: a service period's months share the company amount, see `month_deltas`), when
    it was recorded, the reversal that reversed it and the line that corrects it (each set once, never
    cleared)."""

    line: SpendLine
    company_minor: int
    rate: Decimal
    recorded_at: datetime
    reversed_by: str | None = None
    corrected_by: str | None = None

    def month_deltas(self) -> dict[Period, dict[date, int]]:
        """What the line adds to its months' aggregates, per month and day: the company amount spread over the
        line's days (`service_periods.spread`; the whole amount on its day for a line `incurred_on` one)."""
        return spread(self.company_minor, self.line.span)


@dataclass(frozen=True)
class SpendChunk:
    """Lines written together with the figures they change, all or nothing (one transaction): each line only
    if its `spend_id` is new, each original in `reversals` only if not reversed yet (set to the reversal's id),
    each original in `corrections` only if it is reversed (before, or by this chunk) and not corrected yet (set
    to the correcting line's id). `deltas` are the changes to the months' figures in company-currency minor
    units: per (month "2026-11", spend key), per day (`StoredSpend.month_deltas`: a service period's line
    moves each month it touches). A key's day figures live on its aggregate, and a line is listed in each
    further month it touches by a small listing item, so a chunk writes one item per line, per further month
    of a line, per key and month, and per original reversed or corrected (`items`), whatever the days."""

    lines: tuple[StoredSpend, ...]
    deltas: Mapping[tuple[str, SpendKey], Mapping[date, int]] = field(default_factory=dict)
    reversals: Mapping[str, str] = field(default_factory=dict)  # original spend_id -> reversal spend_id
    corrections: Mapping[str, str] = field(default_factory=dict)  # original spend_id -> correcting spend_id

    @classmethod
    def of(
        cls,
        lines: Sequence[StoredSpend],
        reversals: Mapping[str, str] | None = None,
        corrections: Mapping[str, str] | None = None,
    ) -> SpendChunk:
        """The lines with the deltas they make."""
        deltas: dict[tuple[str, SpendKey], dict[date, int]] = {}
        for stored in lines:
            for month, by_day in stored.month_deltas().items():
                days = deltas.setdefault((str(month), stored.line.key), {})
                for day, amount in by_day.items():
                    days[day] = days.get(day, 0) + amount
        return cls(tuple(lines), deltas, dict(reversals or {}), dict(corrections or {}))

    @property
    def items(self) -> int:
        """The items the chunk writes, as MAX_CHUNK_ITEMS counts them: lines + their listing items in further
        months + aggregate keys + originals updated (reversed and/or corrected: one update each)."""
        listings = sum(len(stored.line.months) - 1 for stored in self.lines)
        return len(self.lines) + listings + len(self.deltas) + len(set(self.reversals) | set(self.corrections))


@dataclass(frozen=True)
class MonthActuals:
    """A month's spend in company-currency minor units: per (department, channel, campaign_id), per day (the
    days with lines: `incurred_on`, or each day of a service period, with its share), and per key per day
    (`by_key_day`: the days each key has spend on, which a line's trend is fitted to). `by_day` may hold spend
    whose key is not known by day (a ledger's days written before they were kept per key): then it is more than
    `by_key_day` summed over the keys."""

    by_key: dict[SpendKey, int]
    by_day: dict[date, int]
    by_key_day: dict[SpendKey, dict[date, int]]


@dataclass(frozen=True)
class SpendPage:
    items: list[StoredSpend]
    next_cursor: str | None = None


@dataclass(frozen=True)
class StoredBudget:
    budget: Budget
    version: int
    updated_at: datetime
    updated_by: str


class FinanceStore(Protocol):
    def spend(self, spend_ids: Sequence[str]) -> dict[str, StoredSpend]:
        """The stored lines among `spend_ids` (any number)."""
        ...

    def record(self, chunk: SpendChunk) -> None:
        """At most MAX_CHUNK_ITEMS items (`chunk.items`); SpendConflict when a condition fails."""
        ...

    def lines(
        self,
        period: str,
        campaign_id: str | None = None,
        channel: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> SpendPage:
        """The lines that count in the month (`SpendLine.months`: its `incurred_on`, or a service period touching
        it), by the day each is listed on there (`SpendLine.listed_on`: its first day in the month) then
        `spend_id`; campaign and channel are filters. A page holds at most `limit` lines and may hold fewer,
        even none, with a cursor (a store bounds the work of one page); `next_cursor` is None exactly when
        nothing follows."""
        ...

    def aggregates(self, period: str) -> dict[SpendKey, int]:
        """Company-currency minor units per (department, channel, campaign_id) for a month."""
        ...

    def month_actuals(self, period: str) -> MonthActuals:
        """The month's aggregates and daily figures, read together (a budget's figures need both)."""
        ...

    def fx(self, period: str) -> FxTable | None: ...

    def put_fx(self, table: FxTable) -> None: ...

    def budget(self, period: str) -> StoredBudget | None: ...

    def put_budget(self, budget: Budget, expected_version: int, at: datetime, by: str) -> StoredBudget:
        """Stores the next version (expected_version + 1) and keeps the previous one; StaleBudget otherwise."""
        ...

    def budget_versions(self, period: str) -> list[StoredBudget]:
        """Every version of the period's budget, oldest first."""
        ...

    def budget_version(self, period: str, version: int) -> StoredBudget | None:
        """That version of the period's budget (1 is the first PUT), the current one included; None when it was
        never written. `version` is 1 to MAX_BUDGET_VERSION (ValueError otherwise)."""
        ...

    def fired(self, period: str) -> set[tuple[str, int]]:
        """The (line label, threshold) alerts fired for the period and not re-armed."""
        ...

    def alerts(self, period: str) -> dict[tuple[str, int], AlertState]:
        """Every (line label, threshold) alert of the period ever fired, with its state: fired or armed, and
        its arm generation. One never fired is absent: it is armed at generation 0."""
        ...

    def fire(self, period: str, label: str, threshold: int, generation: int) -> bool:
        """Marks the alert fired if it is armed at `generation` (as read: never fired is armed at 0); True only
        for the caller that marked it (exactly once under concurrency). False when it is fired already or its
        generation moved since it was read."""
        ...

    def rearm(self, period: str, label: str, threshold: int, generation: int) -> bool:
        """Re-arms an alert fired at `generation` (as read), at generation + 1: its next crossing is a new
        one. True only for the caller that re-armed it; False when it is not fired at that generation (another
        writer re-armed it, or re-armed and fired it again, since it was read)."""
        ...

    def unfire(self, period: str, label: str, threshold: int, generation: int) -> bool:
        """Undoes a fire whose alert was not told (the bus refused it): armed again at the same `generation`,
        so the retry fires the same crossing (the same event id). True only for the caller that undid it."""
        ...


@dataclass(frozen=True)
class AlertState:
    """A threshold's alert of a line and period: `generation` counts its re-arms (0 until the first), so each
    crossing of it is told with an id of its own and a retry of one crossing with the same id; `fired` until
    the line falls back under the threshold (or its event was refused)."""

    generation: int
    fired: bool


MAX_CHUNK_ITEMS = 100  # DynamoDB's transaction limit
MAX_BUDGET_VERSION = 9_999_999_999  # a version is kept under a key of 10 digits


def check_budget_version(version: int) -> None:
    """ValueError unless `version` is a version a budget can have (1 to MAX_BUDGET_VERSION)."""
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_BUDGET_VERSION:
        raise ValueError(f"a budget version is 1 to {MAX_BUDGET_VERSION}, not {version!r}")
