"""What the finance domain needs from storage. The DynamoDB adapter and the in-memory fake both honour it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from shared.finance.budget_engine import Budget
from shared.finance.fx import FxTable
from shared.finance.spend import SpendKey, SpendLine


class SpendConflict(Exception):
    """A line of the chunk exists already (a concurrent writer of the same `spend_id`), or an original was
    reversed meanwhile; nothing of the chunk was written. Read again and decide again."""


class StaleBudget(Exception):
    """The period's budget changed since it was read (its version moved); nothing was written."""


@dataclass(frozen=True)
class StoredSpend:
    """A ledger line as stored: the line as given, its amount in the company currency and the rate used, when
    it was recorded, and the reversal that reversed it (set once, never cleared)."""

    line: SpendLine
    company_minor: int
    rate: Decimal
    recorded_at: datetime
    reversed_by: str | None = None


@dataclass(frozen=True)
class SpendChunk:
    """Lines written together with the figures they change, all or nothing (one transaction): each line only
    if its `spend_id` is new, each original in `reversals` only if not reversed yet (set to the reversal's id).
    `deltas` are the changes to the month's figures in company-currency minor units: per (period "2026-11",
    spend key), per day of `incurred_on`. A key's day figures live on its aggregate, so a chunk writes one item
    per line, per key and per reversed original (`items`), whatever the days it spans."""

    lines: tuple[StoredSpend, ...]
    deltas: Mapping[tuple[str, SpendKey], Mapping[date, int]] = field(default_factory=dict)
    reversals: Mapping[str, str] = field(default_factory=dict)  # original spend_id -> reversal spend_id

    @classmethod
    def of(cls, lines: Sequence[StoredSpend], reversals: Mapping[str, str] | None = None) -> SpendChunk:
        """The lines with the deltas they make."""
        deltas: dict[tuple[str, SpendKey], dict[date, int]] = {}
        for stored in lines:
            days = deltas.setdefault((str(stored.line.period), stored.line.key), {})
            days[stored.line.incurred_on] = days.get(stored.line.incurred_on, 0) + stored.company_minor
        return cls(tuple(lines), deltas, dict(reversals or {}))

    @property
    def items(self) -> int:
        """The items the chunk writes, as MAX_CHUNK_ITEMS counts them: lines + aggregate keys + reversals."""
        return len(self.lines) + len(self.deltas) + len(self.reversals)


@dataclass(frozen=True)
class MonthActuals:
    """A month's spend in company-currency minor units: per (department, channel, campaign_id), per day of
    `incurred_on` (the days with lines), and per key per day (`by_key_day`: the days each key has lines on,
    which a line's trend is fitted to). `by_day` may hold spend whose key is not known by day (a ledger's days
    written before they were kept per key): then it is more than `by_key_day` summed over the keys."""

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
        """The period's lines by `incurred_on` then `spend_id`; campaign and channel are filters. A page holds at
        most `limit` lines and may hold fewer, even none, with a cursor (a store bounds the work of one page);
        `next_cursor` is None exactly when nothing follows."""
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

    def fired(self, period: str) -> set[tuple[str, int]]:
        """The (line label, threshold) alerts fired for the period and not re-armed."""
        ...

    def fire(self, period: str, label: str, threshold: int) -> bool:
        """Marks the alert fired; True only for the caller that marked it (exactly once under concurrency)."""
        ...

    def rearm(self, period: str, label: str, threshold: int) -> bool:
        """Clears a fired alert; True only for the caller that cleared it."""
        ...


MAX_CHUNK_ITEMS = 100  # DynamoDB's transaction limit
