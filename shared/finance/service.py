"""The finance use cases: record spend (append-only, idempotent per `spend_id`, converted at the period's rate,
its aggregates updated in the same transaction), set FX tables and budgets, and read a budget's figures; each
write that moves consumption checks the budget's thresholds and publishes each crossing once.

A batch is validated whole before anything is written (a bad line stores none of it). It is then written in
chunks of at most one transaction each: every chunk holds its lines with the aggregate deltas they make, so
the aggregates always equal the stored lines; if a concurrent writer of the same `spend_id` makes a chunk
fail, the batch is decided again from fresh reads (the lines already stored are then answered as stored).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from shared.errors import InvalidInput
from shared.events.finance_events import FinanceEvent, FinanceEventType
from shared.finance.budget_engine import (
    Budget,
    BudgetEngine,
    BudgetFigures,
    evaluate_budget,
    parse_budget,
    rollup,
    threshold_transition,
)
from shared.finance.config import FinanceConfig
from shared.finance.fx import FxTable, MissingRate, parse_fx
from shared.finance.money import format_amount
from shared.finance.periods import Period, PeriodKind, months_of, parse_period
from shared.finance.ports import (
    MAX_CHUNK_ITEMS,
    FinanceStore,
    SpendChunk,
    SpendConflict,
    StoredBudget,
    StoredSpend,
)
from shared.finance.spend import (
    FieldProblem,
    InvalidSpendBatch,
    SpendKey,
    SpendLine,
    check_reversal,
    differing_fields,
    parse_spend_batch,
)
from shared.webhooks.ports import EventPublisher

MAX_ATTEMPTS = 8


class Clock(Protocol):
    def now(self) -> datetime: ...


class SpendIdConflict(ValueError):
    """Lines whose `spend_id` is stored with another body (answered 409, naming the fields that differ)."""

    def __init__(self, conflicts: Mapping[str, list[str]]) -> None:
        self.conflicts = dict(conflicts)
        described = "; ".join(f"{spend_id}: {', '.join(fields)}" for spend_id, fields in self.conflicts.items())
        super().__init__(f"spend_id already recorded with other values ({described}); a correction is a reversal")


@dataclass(frozen=True)
class Recorded:
    created: list[StoredSpend]
    existing: list[StoredSpend]
    events: list[FinanceEvent]


class FinanceService:
    def __init__(
        self,
        store: FinanceStore,
        config: FinanceConfig,
        engine: BudgetEngine,
        publisher: EventPublisher,
        clock: Clock,
    ) -> None:
        self.store = store
        self.config = config
        self._engine = engine
        self._publisher = publisher
        self._clock = clock

    def now(self) -> datetime:
        return self._clock.now()

    # --- spend ---------------------------------------------------------------------------------------------

    def record_spend(self, lines: object) -> Recorded:
        parsed = parse_spend_batch(lines, self.config)
        for _ in range(MAX_ATTEMPTS - 1):
            try:
                return self._record(parsed)
            except SpendConflict:
                continue
        return self._record(parsed)

    def _record(self, lines: list[SpendLine]) -> Recorded:
        ids = [line.spend_id for line in lines]
        originals_wanted = [line.reverses for line in lines if line.reverses and line.reverses not in ids]
        stored = self.store.spend([*ids, *originals_wanted])
        conflicts = {
            line.spend_id: differing
            for line in lines
            if line.spend_id in stored and (differing := differing_fields(stored[line.spend_id].line, line))
        }
        if conflicts:
            raise SpendIdConflict(conflicts)
        new = [line for line in lines if line.spend_id not in stored]
        self._check_reversals(new, lines, stored)
        now = self._clock.now()
        # originals before the reversals of them in the same batch: a reversal must not land in an earlier
        # chunk than its original (its condition would fail on every retry)
        in_batch = {line.spend_id for line in new}
        new = sorted(new, key=lambda line: line.reverses in in_batch)
        positions = {line.spend_id: number for number, line in enumerate(lines, start=1)}  # as the caller sent them
        converted = self._converted(new, now, positions)
        # a key's lines side by side: a chunk then updates few aggregates (each a transactional write); the
        # reversals of lines in this batch stay after every original (sorting is stable, the flag leads)
        ordered = sorted(converted, key=lambda entry: (entry.line.reverses in in_batch, _chunk_order(entry)))
        for chunk in self._chunks(ordered):
            self.store.record(chunk)
        existing = [stored[line.spend_id] for line in lines if line.spend_id in stored]
        events = [self._spend_event(entry) for entry in [*converted, *existing]]
        self._publish(events)
        # the periods of the lines already stored too: a retry after the bus refused this batch's events (or its
        # alerts, which are then re-armed) must still find and tell the thresholds its lines crossed
        touched = {entry.line.period for entry in [*converted, *existing]}
        alerts = [event for period in sorted(touched, key=str) for event in self.check_alerts(str(period))]
        return Recorded(converted, existing, events + alerts)

    def _check_reversals(
        self, new: Sequence[SpendLine], batch: Sequence[SpendLine], stored: Mapping[str, StoredSpend]
    ) -> None:
        problems: list[FieldProblem] = []
        in_batch = {line.spend_id: line for line in batch}
        new_ids = {line.spend_id for line in new}
        reversed_here: dict[str, str] = {}
        for number, line in enumerate(batch, start=1):
            if line.spend_id not in new_ids or line.reverses is None:
                continue
            original = in_batch.get(line.reverses) or (stored[line.reverses].line if line.reverses in stored else None)
            if original is None:
                problems.append(FieldProblem(number, "reverses", f'no spend line "{line.reverses}" is recorded'))
                continue
            already = stored[line.reverses].reversed_by if line.reverses in stored else None
            if already is not None or line.reverses in reversed_here:
                by = already or reversed_here[line.reverses]
                problems.append(FieldProblem(number, "reverses", f'"{line.reverses}" was reversed by "{by}" already'))
                continue
            if line.reverses not in in_batch:
                try:
                    check_reversal(original, line)
                except InvalidInput as exc:
                    problems.append(FieldProblem(number, "reverses", str(exc)))
                    continue
            reversed_here[line.reverses] = line.spend_id
        if problems:
            raise InvalidSpendBatch(problems)

    def _converted(self, lines: Sequence[SpendLine], now: datetime, positions: Mapping[str, int]) -> list[StoredSpend]:
        """The lines in the company currency; a line without a rate is a problem named by its position in the
        caller's batch (`positions`), not in `lines`."""
        tables: dict[str, FxTable | None] = {}
        converted: list[StoredSpend] = []
        problems: list[FieldProblem] = []
        company = self.config.company_currency
        for line in lines:
            number = positions[line.spend_id]
            if line.amount.currency == company:
                converted.append(StoredSpend(line, line.amount.minor, Decimal(1), now))
                continue
            period = str(line.period)
            if period not in tables:
                tables[period] = self.store.fx(period) or self.store.fx(str(_quarter_of(line.period)))
            table = tables[period]
            try:
                if table is None:
                    raise MissingRate(line.amount.currency, line.period, company)
                amount, rate = table.to_base(line.amount)
            except InvalidInput as exc:
                problems.append(FieldProblem(number, "currency", str(exc)))
                continue
            converted.append(StoredSpend(line, amount.minor, rate, now))
        if problems:
            raise InvalidSpendBatch(problems)
        return converted

    @staticmethod
    def _chunks(entries: Sequence[StoredSpend]) -> Iterable[SpendChunk]:
        """Consecutive lines, as many per transaction as its 100 items allow: each line, each distinct
        aggregate key it touches, and each original it reverses is one item."""
        chunk: list[StoredSpend] = []
        keys: set[tuple[str, SpendKey]] = set()
        reversals = 0
        for entry in entries:
            key = (str(entry.line.period), entry.line.key)
            grown = len(chunk) + 1 + len(keys | {key}) + reversals + bool(entry.line.reverses)
            if grown > MAX_CHUNK_ITEMS:
                yield _chunk(chunk)
                chunk, keys, reversals = [], set(), 0
            chunk.append(entry)
            keys.add(key)
            reversals += bool(entry.line.reverses)
        if chunk:
            yield _chunk(chunk)

    # --- FX and budgets -----------------------------------------------------------------------------------

    def put_fx(self, period: str, body: object) -> FxTable:
        table = parse_fx(parse_period(period), body, company_currency=self.config.company_currency)
        self.store.put_fx(table)
        return table

    def put_budget(self, period: str, body: object, actor: str) -> StoredBudget:
        budget = parse_budget(period, body, self.config)
        current = self.store.budget(str(budget.period))
        stored = self.store.put_budget(budget, current.version if current else 0, self._clock.now(), actor)
        self.check_alerts(str(budget.period))  # a smaller budget may put lines over a threshold (it publishes)
        return stored

    def figures(self, period: str, as_of: date | None = None) -> BudgetFigures | None:
        """The budget's figures as of `as_of` (default today): a month from its aggregates; a quarter from its
        own budget over its months' aggregates, or, without one, the rollup of its three months when any of
        them has a budget. A month without one counts there with no lines and no thresholds: all its spend is
        its departments' unbudgeted spend (as spend no line covers is in a month's view), so the quarter's
        actual is all the spend recorded in it."""
        parsed = parse_period(period)
        as_of = as_of or self._clock.now().date()
        stored = self.store.budget(str(parsed))
        if stored is not None:
            return self._evaluate(stored.budget, as_of)
        if parsed.kind is PeriodKind.QUARTER:
            budgets = {month: self.store.budget(str(month)) for month in months_of(parsed)}
            if all(budget is None for budget in budgets.values()):
                return None
            company = self._engine.company_currency
            return rollup(
                [
                    self._evaluate(budget.budget if budget else Budget(month, company, (), ()), as_of)
                    for month, budget in budgets.items()
                ]
            )
        return None

    def _evaluate(self, budget: Budget, as_of: date) -> BudgetFigures:
        """The budget's figures from its period's aggregates: each line's trend from its keys' own days."""
        actuals, daily, by_key_day = self._actuals(budget.period)
        return evaluate_budget(self._engine, budget, actuals, daily, as_of, daily_by_key=by_key_day)

    def _actuals(self, period: Period) -> tuple[dict[SpendKey, int], dict[date, int], dict[SpendKey, dict[date, int]]]:
        """The period's actuals per key, per day, and per key per day (its months' aggregates)."""
        actuals: dict[SpendKey, int] = defaultdict(int)
        daily: dict[date, int] = defaultdict(int)
        by_key_day: dict[SpendKey, dict[date, int]] = defaultdict(dict)
        for month in months_of(period) if period.kind is PeriodKind.QUARTER else [period]:
            figures = self.store.month_actuals(str(month))
            for key, amount in figures.by_key.items():
                actuals[key] += amount
            for day, amount in figures.by_day.items():
                daily[day] += amount
            for key, days in figures.by_key_day.items():
                by_key_day[key].update(days)  # a month's days are its own
        return dict(actuals), dict(daily), dict(by_key_day)

    # --- alerts --------------------------------------------------------------------------------------------

    def check_alerts(self, period: str) -> list[FinanceEvent]:
        """Publishes each threshold crossed (and forecast overrun) of the period's budget lines that is not fired
        yet, once: the store's conditional `fire` decides which caller publishes. A line back under a threshold
        re-arms it. Budgets of a month and of its quarter are both checked."""
        events: list[FinanceEvent] = []
        fired_here: list[tuple[str, str, int]] = []
        parsed = parse_period(period)
        today = self._clock.now().date()
        for budget_period in {parsed, *([_quarter_of(parsed)] if parsed.kind is PeriodKind.MONTH else [])}:
            stored = self.store.budget(str(budget_period))  # alerts belong to a budget of that very period
            if stored is None:
                continue
            # What was fired is read before the totals: a threshold another writer fired meanwhile was fired on
            # totals these include (both reads are strongly consistent), so it is never taken for one whose
            # line fell back under it and re-armed, and fired again
            fired = self.store.fired(str(budget_period))
            figures = self._evaluate(stored.budget, today)
            events += self._line_alerts(str(budget_period), stored.budget, figures, fired, fired_here)
        try:
            self._publish(events)
        except Exception:
            # not told, so not fired: re-armed, the caller's retry finds them crossed and tells them
            for fired_period, label, threshold in fired_here:
                self.store.rearm(fired_period, label, threshold)
            raise
        return events

    def _line_alerts(
        self,
        period: str,
        budget: Budget,
        figures: BudgetFigures,
        fired: set[tuple[str, int]],
        fired_here: list[tuple[str, str, int]],
    ) -> list[FinanceEvent]:
        """The alerts of the period's lines to tell; each one this call fired is added to `fired_here`."""
        overrun = self.config.forecast.overrun_threshold
        events: list[FinanceEvent] = []
        for line in figures.lines:
            label = _label(line.key)
            amounts = line.figures
            mine = {threshold for name, threshold in fired if name == label}
            change = threshold_transition(mine, amounts.actual, amounts.budget, budget.thresholds)
            for threshold in change.rearmed:
                self.store.rearm(period, label, threshold)
            for threshold in change.crossed:
                if self.store.fire(period, label, threshold):
                    fired_here.append((period, label, threshold))
                    events.append(self._alert(FinanceEventType.THRESHOLD_CROSSED, period, line.key, amounts, threshold))
            forecast_key = f"{label}#forecast"
            forecast_fired = {t for name, t in fired if name == forecast_key}
            ahead = threshold_transition(forecast_fired, amounts.forecast, amounts.budget, [overrun])
            for threshold in ahead.rearmed:
                self.store.rearm(period, forecast_key, threshold)
            ahead_of_actual = ahead.crossed and amounts.actual * 100 < overrun * amounts.budget
            if ahead_of_actual and self.store.fire(period, forecast_key, overrun):
                fired_here.append((period, forecast_key, overrun))
                events.append(self._alert(FinanceEventType.FORECAST_OVERRUN, period, line.key, amounts, None))
        return events

    # --- events --------------------------------------------------------------------------------------------

    def _spend_event(self, entry: StoredSpend) -> FinanceEvent:
        line = entry.line
        company = self.config.company_currency
        return FinanceEvent(
            event_id=FinanceEvent.id_for("spend", line.spend_id),
            event_type=FinanceEventType.SPEND_RECORDED,
            occurred_at=entry.recorded_at,
            period=str(line.period),
            company_currency=company,
            spend_id=line.spend_id,
            campaign_id=line.campaign_id,
            channel=line.channel,
            department=line.department,
            vendor=line.vendor,
            amount=format_amount(line.amount),
            currency=line.amount.currency,
            company_amount=_money(entry.company_minor, company),
            rate=str(entry.rate),
            incurred_on=line.incurred_on,
            reverses=line.reverses,
        )

    def _alert(
        self,
        kind: FinanceEventType,
        period: str,
        key: tuple[str, str | None, str | None],
        amounts: Any,
        threshold: int | None,
    ) -> FinanceEvent:
        company = self.config.company_currency
        label = _label(key)
        return FinanceEvent(
            event_id=FinanceEvent.id_for("alert", period, label, str(threshold), str(amounts.actual)),
            event_type=kind,
            occurred_at=self._clock.now(),
            period=period,
            company_currency=company,
            department=key[0],
            channel=key[1],
            campaign_id=key[2],
            line=label,
            threshold=threshold,
            budget=_money(amounts.budget, company),
            actual=_money(amounts.actual, company),
            forecast=_money(amounts.forecast, company) if kind is FinanceEventType.FORECAST_OVERRUN else None,
        )

    def _publish(self, events: Sequence[FinanceEvent]) -> None:
        if not events:
            return
        failed = self._publisher.publish(events).failed
        if failed:
            raise RuntimeError(f"the bus refused {len(failed)} finance event(s): {next(iter(failed.values()))}")


def _chunk(entries: Sequence[StoredSpend]) -> SpendChunk:
    return SpendChunk.of(entries, {e.line.reverses: e.line.spend_id for e in entries if e.line.reverses})


def _chunk_order(entry: StoredSpend) -> tuple[str, str, str, str]:
    department, channel, campaign = entry.line.key
    return (str(entry.line.period), department, channel, campaign or "")


def _label(key: tuple[str, str | None, str | None]) -> str:
    department, channel, campaign = key
    return f"{department}/{channel or '*'}/{campaign or '*'}"


def _money(minor: int, code: str) -> str:
    from shared.finance.money import Money

    return format_amount(Money(minor, code))


def _quarter_of(period: Period) -> Period:
    from shared.finance.periods import quarter_of

    return quarter_of(period)
