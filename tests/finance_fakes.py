"""The finance store contract in memory (`shared.finance.ports.FinanceStore`), as the DynamoDB adapter keeps it:
a chunk commits all or nothing (each line only if new, each original only if not reversed yet, and only if
reversed and not corrected yet for a correction); a conflict
names what failed and writes nothing; a budget moves one version at a time; an alert fires (re-arms, unfires)
for one caller, and only from the state and arm generation read.
Safe to share between threads.

What the adapter does and the port leaves open, this does too: a chunk over `MAX_CHUNK_ITEMS`, a spend_id
twice, a line reversing itself, an aggregate key with `#` in its department or channel or `-` as its campaign,
a daily delta outside its month, a non-int delta, a naive datetime: ValueError, nothing written; an original
written by the same chunk may be reversed by it; the ledger's periods are months (a quarter is InvalidInput);
FX, budget and alert periods are normalized (`2026-q4` is `2026-Q4`); a month lists the lines that count in it
(a service period's in each month it touches) by the day each is listed on there, then `spend_id` in string
order; datetimes come back in UTC. It does not measure DynamoDB's 400 KB item limit.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from shared.errors import InvalidInput
from shared.finance.budget_engine import Budget
from shared.finance.fx import FxTable
from shared.finance.periods import Period, contains, parse_period
from shared.finance.ports import (
    MAX_CHUNK_ITEMS,
    AlertState,
    MonthActuals,
    SpendChunk,
    SpendConflict,
    SpendPage,
    StaleBudget,
    StoredBudget,
    StoredSpend,
    check_budget_version,
)
from shared.finance.spend import SpendKey

BAD_CURSOR = "cursor is not one this API returned for this query; start again without it"
_LINE_SORT = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})#(.+)", re.DOTALL)


class InMemoryFinanceStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.stored: dict[str, StoredSpend] = {}
        self.totals: dict[str, dict[SpendKey, int]] = {}  # month -> key -> company minor units
        self.days: dict[str, dict[date, int]] = {}
        self.key_days: dict[str, dict[SpendKey, dict[date, int]]] = {}  # month -> key -> day -> minor units
        self.fx_tables: dict[str, FxTable] = {}
        self.budgets: dict[str, list[StoredBudget]] = {}  # period -> every version, oldest first
        self.alert_states: dict[str, dict[tuple[str, int], AlertState]] = {}  # period -> alert -> state
        self.chunks = 0  # recorded chunks, for tests that count

    # ----------------------------------------------------------------------------------------------- lines

    def spend(self, spend_ids: Sequence[str]) -> dict[str, StoredSpend]:
        with self._lock:
            return {spend_id: self.stored[spend_id] for spend_id in dict.fromkeys(spend_ids) if spend_id in self.stored}

    def record(self, chunk: SpendChunk) -> None:
        lines, deltas = _checked(chunk)
        ids = {stored.line.spend_id for stored in lines}
        with self._lock:
            problems = []
            for stored in lines:
                held = self.stored.get(stored.line.spend_id)
                if held is not None:
                    problems.append(f"spend line {stored.line.spend_id} exists already (recorded at {_iso(held)})")
            for original in dict.fromkeys([*chunk.reversals, *chunk.corrections]):
                if original in ids:
                    continue
                reversal, correction = chunk.reversals.get(original), chunk.corrections.get(original)
                whats = [f"reversal {reversal}"] if reversal else []
                whats += [f"correction {correction}"] if correction else []
                what = f"original {original} of {' and '.join(whats)}"
                held = self.stored.get(original)
                if held is None:
                    problems.append(f"{what} does not exist")
                elif reversal is not None and held.reversed_by is not None:
                    problems.append(f"{what} was reversed already by {held.reversed_by}")
                elif correction is not None and held.corrected_by is not None:
                    problems.append(f"{what} was corrected already by {held.corrected_by}")
                elif correction is not None and reversal is None and held.reversed_by is None:
                    problems.append(f"{what} is not reversed")
            if problems:
                raise SpendConflict("; ".join(problems))
            for stored in lines:
                spend_id = stored.line.spend_id
                reversed_by = chunk.reversals.get(spend_id, stored.reversed_by)
                corrected_by = chunk.corrections.get(spend_id, stored.corrected_by)
                self.stored[spend_id] = replace(stored, reversed_by=reversed_by, corrected_by=corrected_by)
            for original, reversal in chunk.reversals.items():
                if original not in ids:
                    self.stored[original] = replace(self.stored[original], reversed_by=reversal)
            for original, correction in chunk.corrections.items():
                if original not in ids:
                    self.stored[original] = replace(self.stored[original], corrected_by=correction)
            for (month, spend_key), by_day in deltas.items():
                totals = self.totals.setdefault(month, {})
                totals[spend_key] = totals.get(spend_key, 0) + sum(by_day.values())
                days = self.days.setdefault(month, {})
                key_days = self.key_days.setdefault(month, {}).setdefault(spend_key, {})
                for day, delta in by_day.items():
                    days[day] = days.get(day, 0) + delta
                    key_days[day] = key_days.get(day, 0) + delta
            if lines or deltas or chunk.reversals or chunk.corrections:
                self.chunks += 1

    def lines(
        self,
        period: str,
        campaign_id: str | None = None,
        channel: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> SpendPage:
        if limit < 1:
            raise InvalidInput("limit must be at least 1")
        month = _month(period)
        query = {"p": month, "c": campaign_id, "ch": channel}
        after = None if cursor is None else _after(cursor, query)
        listed = parse_period(month)

        def sort_key(stored: StoredSpend) -> str:
            return f"{stored.line.listed_on(listed).isoformat()}#{stored.line.spend_id}"

        with self._lock:
            matching = sorted(
                (
                    stored
                    for stored in self.stored.values()
                    if listed in stored.line.months
                    and (not campaign_id or stored.line.campaign_id == campaign_id)
                    and (not channel or stored.line.channel == channel)
                    and (after is None or sort_key(stored) > after)
                ),
                key=sort_key,
            )
        page = matching[:limit]
        next_cursor = _cursor({"after": sort_key(page[-1]), **query}) if len(matching) > limit else None
        return SpendPage(page, next_cursor)

    # ------------------------------------------------------------------------------------------ aggregates

    def aggregates(self, period: str) -> dict[SpendKey, int]:
        month = _month(period)
        with self._lock:
            return dict(sorted(self.totals.get(month, {}).items(), key=lambda entry: _aggregate_sk(entry[0])))

    def month_actuals(self, period: str) -> MonthActuals:
        month = _month(period)
        with self._lock:
            by_key_day = {key: dict(sorted(days.items())) for key, days in self.key_days.get(month, {}).items()}
            return MonthActuals(self.aggregates(month), dict(sorted(self.days.get(month, {}).items())), by_key_day)

    # -------------------------------------------------------------------------------------------------- FX

    def fx(self, period: str) -> FxTable | None:
        with self._lock:
            return self.fx_tables.get(_period(period))

    def put_fx(self, table: FxTable) -> None:
        with self._lock:
            self.fx_tables[str(table.period)] = table

    # --------------------------------------------------------------------------------------------- budgets

    def budget(self, period: str) -> StoredBudget | None:
        with self._lock:
            versions = self.budgets.get(_period(period), [])
            return versions[-1] if versions else None

    def put_budget(self, budget: Budget, expected_version: int, at: datetime, by: str) -> StoredBudget:
        if isinstance(expected_version, bool) or not isinstance(expected_version, int) or expected_version < 0:
            raise ValueError(f"the version read is 0 (no budget) or more, not {expected_version!r}")
        if at.tzinfo is None:
            raise ValueError(f"naive datetime {at!r}: the finance store keeps aware datetimes only")
        what = f"budget of {budget.period}"
        with self._lock:
            versions = self.budgets.setdefault(str(budget.period), [])
            held = versions[-1].version if versions else 0
            if held != expected_version:
                if not versions:
                    raise StaleBudget(f"{what} does not exist (it was read at version {expected_version})")
                raise StaleBudget(f"{what} is at version {held}, not {expected_version} as read")
            stored = StoredBudget(budget, expected_version + 1, at.astimezone(UTC), by)
            versions.append(stored)
            return stored

    def budget_versions(self, period: str) -> list[StoredBudget]:
        with self._lock:
            return list(self.budgets.get(_period(period), []))

    def budget_version(self, period: str, version: int) -> StoredBudget | None:
        check_budget_version(version)
        with self._lock:
            found = [stored for stored in self.budgets.get(_period(period), []) if stored.version == version]
            return found[0] if found else None

    # ---------------------------------------------------------------------------------------------- alerts

    def fired(self, period: str) -> set[tuple[str, int]]:
        return {alert for alert, state in self.alerts(period).items() if state.fired}

    def alerts(self, period: str) -> dict[tuple[str, int], AlertState]:
        with self._lock:
            return dict(self.alert_states.get(_period(period), {}))

    def fire(self, period: str, label: str, threshold: int, generation: int) -> bool:
        return self._move(period, label, threshold, AlertState(generation, False), AlertState(generation, True))

    def rearm(self, period: str, label: str, threshold: int, generation: int) -> bool:
        return self._move(period, label, threshold, AlertState(generation, True), AlertState(generation + 1, False))

    def unfire(self, period: str, label: str, threshold: int, generation: int) -> bool:
        return self._move(period, label, threshold, AlertState(generation, True), AlertState(generation, False))

    def _move(self, period: str, label: str, threshold: int, read: AlertState, then: AlertState) -> bool:
        """The alert goes from the state read to the next, if it is still in the state read (never fired: armed
        at generation 0), as the adapter's conditional put does."""
        _threshold(threshold)
        _generation(read.generation)
        with self._lock:
            states = self.alert_states.setdefault(_period(period), {})
            if states.get((label, threshold), AlertState(0, False)) != read:
                return False
            states[(label, threshold)] = then
            return True


# ---------------------------------------------------------------------------------------------------- checks


def _checked(
    chunk: SpendChunk,
) -> tuple[list[StoredSpend], dict[tuple[str, SpendKey], dict[date, int]]]:
    """The chunk's lines (in UTC) and its deltas keyed by normalized month; ValueError as the adapter's."""
    if chunk.items > MAX_CHUNK_ITEMS:
        raise ValueError(
            f"a chunk holds at most {MAX_CHUNK_ITEMS} items (lines + aggregate keys + reversals), not {chunk.items}"
        )
    ids = [stored.line.spend_id for stored in chunk.lines]
    repeated = sorted(spend_id for spend_id, times in Counter(ids).items() if times > 1)
    if repeated:
        raise ValueError(f"a chunk holds each spend_id once: {', '.join(repeated)} repeated")
    for original, reversal in chunk.reversals.items():
        if original == reversal:
            raise ValueError(f"spend line {original} cannot reverse itself")
    for original, correction in chunk.corrections.items():
        if original == correction:
            raise ValueError(f"spend line {original} cannot correct itself")
    lines = []
    for stored in chunk.lines:
        rate = Decimal(stored.rate)
        if not rate.is_finite() or rate <= 0:
            raise ValueError(
                f"spend line {stored.line.spend_id}: the rate {stored.rate} is not a finite positive number"
            )
        if type(stored.company_minor) is not int:
            raise ValueError(f"spend line {stored.line.spend_id}: company_minor must be an int")
        if stored.recorded_at.tzinfo is None:
            raise ValueError(f"naive datetime {stored.recorded_at!r}: the finance store keeps aware datetimes only")
        lines.append(replace(stored, recorded_at=stored.recorded_at.astimezone(UTC)))
    deltas: dict[tuple[str, SpendKey], dict[date, int]] = {}
    for (period, spend_key), by_day in chunk.deltas.items():
        month = _month(period)
        _aggregate_sk(spend_key)
        what = f"aggregate {month} {spend_key}"
        if (month, spend_key) in deltas:
            raise ValueError(f"{what} is keyed twice in the chunk")
        if not by_day:
            raise ValueError(f"{what}: no day's delta")
        for day, delta in by_day.items():
            if not contains(parse_period(month), day):
                raise ValueError(
                    f"{what}: the delta of {day.isoformat()} is keyed by period {month}, which it is not in"
                )
            if type(delta) is not int:
                raise ValueError(f"{what}: the delta of {day.isoformat()} must be an int of minor units, not {delta!r}")
        deltas[(month, spend_key)] = dict(by_day)
    return lines, deltas


def _aggregate_sk(spend_key: SpendKey) -> str:
    department, channel, campaign_id = spend_key
    for name, value in (("department", department), ("channel", channel)):
        if not value or "#" in value:
            raise ValueError(f'aggregate key {spend_key!r}: {name} "{value}" must be a non-empty id without "#"')
    if campaign_id is not None and campaign_id in ("", "-"):
        raise ValueError(f'aggregate key {spend_key!r}: campaign_id "{campaign_id}" is no campaign id')
    return f"{department}#{channel}#{campaign_id or '-'}"


def _threshold(threshold: int) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
        raise ValueError(f"an alert threshold is a whole number 0 or more, not {threshold!r}")


def _generation(generation: int) -> None:
    if isinstance(generation, bool) or not isinstance(generation, int) or generation < 0:
        raise ValueError(f"an alert's generation is a whole number 0 or more, not {generation!r}")


def _period(period: str | Period) -> str:
    return str(period if isinstance(period, Period) else parse_period(period))


def _month(period: str | Period) -> str:
    parsed = period if isinstance(period, Period) else parse_period(period)
    if not parsed.is_month:
        raise InvalidInput(f"period: {parsed} is a quarter; the ledger is kept by month (ask for each of its months)")
    return str(parsed)


def _iso(stored: StoredSpend) -> str:
    return stored.recorded_at.astimezone(UTC).isoformat(timespec="microseconds")


def _cursor(document: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()


def _after(cursor: str, query: dict[str, Any]) -> str:
    try:
        document = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        after = document.pop("after")
        found = _LINE_SORT.fullmatch(after)
        if found is None or date.fromisoformat(found.group(1)).isoformat() != found.group(1):
            raise ValueError(after)
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError, UnicodeError):
        raise InvalidInput(BAD_CURSOR) from None
    if set(document) != set(query) or not all(v is None or isinstance(v, str) for v in document.values()):
        raise InvalidInput(BAD_CURSOR)
    if document != query:
        raise InvalidInput("cursor belongs to a listing with another period or other filters; start again without it")
    return str(after)
