"""The finance use cases: record spend (append-only, idempotent per `spend_id`, converted at the period's rate,
its aggregates updated in the same transaction), set FX tables and budgets, and read a budget's figures; each
write that moves consumption checks the budget's thresholds and publishes each crossing once.

A batch is validated whole before anything is written (a bad line stores none of it). It is then written in
chunks of at most one transaction each: every chunk holds its lines with the aggregate deltas they make, so
the aggregates always equal the stored lines; if a concurrent writer (of the same `spend_id`, or reversing or
correcting the same original) makes a chunk fail, nothing of that chunk is written and the batch is decided
again from fresh reads: the lines this request's earlier chunks stored count as created by it, the lines
others stored with the same body as recorded before. A batch that is then refused, after earlier chunks were
stored, is `PartlyRecorded`: the lines stored are told (events, alerts) and the refusal names them and the
lines not stored. A batch that fits one transaction (100 items) is all or nothing.

Conversion. A line converts once, with the FX table of its first month (a quarter's table when the month has
none), and keeps the rate; a service period's months share that company-currency amount (`ports.StoredSpend.
month_deltas`), so the months of one line never mix rates. A reversal takes its original's rate and company
amount, negated (whatever the table says now), so it nets every month and day of the original to zero.

Links. A reversal names its original (`reverses`), which must exist (stored, or earlier in the batch) and is
reversed once. A correction (`corrects`) names an original that is reversed, by a stored reversal or by one in
the same batch, and that no other line corrects. Both are refused 422 naming the line and field; the store's
conditions decide between concurrent writers (the loser's batch is decided again and then refused so).
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
from shared.finance.budget_forecast import ForecastMethod
from shared.finance.config import FinanceConfig
from shared.finance.fx import FxTable, MissingRate, parse_fx, plain
from shared.finance.money import format_amount
from shared.finance.periods import Period, PeriodKind, months_of, parse_period
from shared.finance.ports import (
    MAX_CHUNK_ITEMS,
    AlertState,
    FinanceStore,
    SpendChunk,
    SpendConflict,
    StaleBudget,
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


class PartlyRecorded(Exception):
    """A batch written in several transactions (more than DynamoDB's 100 items) whose later transaction lost
    to a concurrent writer, and which was then refused on the fresh reads (another line of the same `spend_id`
    with another body, an original reversed or corrected meanwhile, or writers that kept winning): the lines
    `recorded` were stored by this request's earlier transactions (each told as `finance.spend_recorded`, its
    alerts checked), the batch's other lines (`not_recorded`, spend_ids in batch order) were not stored by it.
    `refusal` is why the rest was refused (answered 409 naming both lists and the refusal's problems)."""

    def __init__(self, recorded: Sequence[StoredSpend], not_recorded: Sequence[str], refusal: Exception) -> None:
        self.recorded = list(recorded)
        self.not_recorded = list(not_recorded)
        self.refusal = refusal
        stored = ", ".join(entry.line.spend_id for entry in self.recorded)
        super().__init__(
            f"the batch was written in several transactions and a concurrent writer changed the ledger meanwhile: "
            f"{len(self.recorded)} line(s) were stored ({stored}), {len(self.not_recorded)} were not "
            f"({', '.join(self.not_recorded)}): {refusal}"
        )


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
        """Records the batch; see the module's doc. A batch of one transaction is all or nothing. One of several
        (DynamoDB takes 100 items a transaction) whose later transaction loses to a concurrent writer is decided
        again from fresh reads, its own earlier transactions' lines then counting as created by this request; if
        it is then refused, `PartlyRecorded` names what this request stored (told and alerts checked, as any
        recorded line) and what it did not."""
        parsed = parse_spend_batch(lines, self.config, today=self._clock.now().date())
        written: dict[str, StoredSpend] = {}  # the lines this request's transactions stored, by spend_id
        try:
            for attempt in range(1, MAX_ATTEMPTS + 1):
                try:
                    return self._record(parsed, written)
                except SpendConflict:
                    if attempt == MAX_ATTEMPTS:
                        raise
        except (InvalidInput, SpendIdConflict, SpendConflict) as refusal:
            if not written:
                raise
            raise self._partly_recorded(parsed, written, refusal) from refusal
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _partly_recorded(
        self, lines: Sequence[SpendLine], written: Mapping[str, StoredSpend], refusal: Exception
    ) -> PartlyRecorded:
        """Tells the lines this request stored (their events, then the alerts of the months they count in),
        and the refusal naming them and the lines it did not store."""
        ids = [line.spend_id for line in lines]
        now = self.store.spend([spend_id for spend_id in ids if spend_id in written])  # as stored (links set)
        recorded = [now.get(spend_id, written[spend_id]) for spend_id in ids if spend_id in written]
        self._publish([self._spend_event(entry) for entry in recorded])
        for period in sorted({month for entry in recorded for month in entry.line.months}):
            self.check_alerts(str(period))
        return PartlyRecorded(recorded, [spend_id for spend_id in ids if spend_id not in written], refusal)

    def _record(self, lines: list[SpendLine], written: dict[str, StoredSpend]) -> Recorded:
        ids = [line.spend_id for line in lines]
        linked = [original for line in lines for original in (line.reverses, line.corrects) if original]
        stored = self.store.spend([*ids, *(original for original in linked if original not in ids)])
        conflicts = {
            line.spend_id: differing
            for line in lines
            if line.spend_id in stored and (differing := differing_fields(stored[line.spend_id].line, line))
        }
        if conflicts:
            raise SpendIdConflict(conflicts)
        new = [line for line in lines if line.spend_id not in stored]
        self._check_reversals(new, lines, stored)
        self._check_corrections(new, lines, stored)
        positions = {line.spend_id: number for number, line in enumerate(lines, start=1)}  # as the caller sent them
        # a line after what it depends on in the same batch (the original it reverses; the original it corrects
        # and that original's reversal): it must not land in an earlier chunk (its condition would fail on
        # every retry)
        depth = _depths(new, positions)
        now = self._clock.now()
        converted = self._converted(new, now, positions, stored)
        # a key's lines side by side: a chunk then updates few aggregates (each a transactional write); what
        # depends on a line of this batch stays after it (the depth leads)
        ordered = sorted(converted, key=lambda entry: (depth[entry.line.spend_id], _chunk_order(entry)))
        for chunk in self._chunks(ordered):
            self.store.record(chunk)
            written.update((entry.line.spend_id, entry) for entry in chunk.lines)
        # a line an earlier attempt of this request stored (before a later transaction lost a race) is created
        # by this request, not recorded before
        mine = [stored[line.spend_id] for line in lines if line.spend_id in stored and line.spend_id in written]
        existing = [stored[line.spend_id] for line in lines if line.spend_id in stored and line.spend_id not in written]
        created = sorted([*mine, *converted], key=lambda entry: positions[entry.line.spend_id])
        events = [self._spend_event(entry) for entry in [*created, *existing]]
        self._publish(events)
        # every month the lines count in (a service period's too), of the lines already stored as well: a retry
        # after the bus refused this batch's events (or its alerts, which are then re-armed) must still find and
        # tell the thresholds its lines crossed
        touched = {month for entry in [*created, *existing] for month in entry.line.months}
        alerts = [event for period in sorted(touched) for event in self.check_alerts(str(period))]
        return Recorded(created, existing, events + alerts)

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

    def _check_corrections(
        self, new: Sequence[SpendLine], batch: Sequence[SpendLine], stored: Mapping[str, StoredSpend]
    ) -> None:
        """Each new line that `corrects` an original: the original is recorded (or in the batch), is no
        reversal, is reversed (stored, or by a line of the batch) and is corrected by no other line."""
        problems: list[FieldProblem] = []
        in_batch = {line.spend_id: line for line in batch}
        new_ids = {line.spend_id for line in new}
        reversed_in_batch = {line.reverses: line.spend_id for line in new if line.reverses}
        corrected_here: dict[str, str] = {}
        for number, line in enumerate(batch, start=1):
            target = line.corrects
            if line.spend_id not in new_ids or target is None:
                continue
            held = stored.get(target)
            original = in_batch.get(target) or (held.line if held is not None else None)
            if original is None:
                problems.append(FieldProblem(number, "corrects", f'no spend line "{target}" is recorded'))
                continue
            if original.reverses is not None:
                problems.append(
                    FieldProblem(
                        number,
                        "corrects",
                        f'"{target}" is a reversal (of "{original.reverses}"): a correction names the line it '
                        f'replaces ("{original.reverses}")',
                    )
                )
                continue
            already = held.corrected_by if held is not None else None
            if already is not None or target in corrected_here:
                by = already or corrected_here[target]
                problems.append(
                    FieldProblem(number, "corrects", f'"{target}" was corrected by "{by}" already (once per line)')
                )
                continue
            reversed_by = (held.reversed_by if held is not None else None) or reversed_in_batch.get(target)
            if reversed_by is None:
                problems.append(
                    FieldProblem(
                        number,
                        "corrects",
                        f'"{target}" is not reversed: a correction is a reversal of the original (a line with '
                        f'"reverses": "{target}", stored or in the same batch) plus the correcting line',
                    )
                )
                continue
            corrected_here[target] = line.spend_id
        if problems:
            raise InvalidSpendBatch(problems)

    def _converted(
        self,
        lines: Sequence[SpendLine],
        now: datetime,
        positions: Mapping[str, int],
        stored: Mapping[str, StoredSpend],
    ) -> list[StoredSpend]:
        """The lines in the company currency, in the order given; a line without a rate is a problem named by
        its position in the caller's batch (`positions`), not in `lines`. A reversal negates its original's
        company amount at the original's rate (the original is stored, or converted here first)."""
        tables: dict[str, FxTable | None] = {}
        converted: dict[str, StoredSpend] = {}
        problems: list[FieldProblem] = []
        company = self.config.company_currency
        for line in sorted(lines, key=lambda one: one.reverses is not None):  # originals first
            number = positions[line.spend_id]
            original = None if line.reverses is None else (converted.get(line.reverses) or stored.get(line.reverses))
            if original is not None:
                converted[line.spend_id] = StoredSpend(line, -original.company_minor, original.rate, now)
                continue
            if line.amount.currency == company:
                converted[line.spend_id] = StoredSpend(line, line.amount.minor, Decimal(1), now)
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
            converted[line.spend_id] = StoredSpend(line, amount.minor, rate, now)
        if problems:
            raise InvalidSpendBatch(sorted(problems, key=lambda problem: problem.line or 0))
        return [converted[line.spend_id] for line in lines]

    @staticmethod
    def _chunks(entries: Sequence[StoredSpend]) -> Iterable[SpendChunk]:
        """Consecutive lines, as many per transaction as its 100 items allow, counted as `SpendChunk.items`
        counts them: each line and its listing item in each further month, each distinct (month, aggregate key)
        it moves, and each original it reverses or corrects. One line writes at most 1 + 36 + 37 + 1 items (a
        service period touches at most 37 months), so every line fits a chunk."""
        chunk: list[StoredSpend] = []
        keys: set[tuple[str, SpendKey]] = set()
        originals: set[str] = set()
        size = 0  # lines and their listing items
        for entry in entries:
            line = entry.line
            mine = {(str(month), line.key) for month in line.months}
            linked = {original for original in (line.reverses, line.corrects) if original}
            grown = size + len(line.months) + len(keys | mine) + len(originals | linked)
            if chunk and grown > MAX_CHUNK_ITEMS:
                yield _chunk(chunk)
                chunk, keys, originals, size = [], set(), set(), 0
            chunk.append(entry)
            keys |= mine
            originals |= linked
            size += len(line.months)
        if chunk:
            yield _chunk(chunk)

    # --- FX and budgets -----------------------------------------------------------------------------------

    def put_fx(self, period: str, body: object) -> FxTable:
        table = parse_fx(parse_period(period), body, company_currency=self.config.company_currency)
        self.store.put_fx(table)
        return table

    def put_budget(self, period: str, body: object, actor: str) -> StoredBudget:
        """A PUT replaces the period's budget whole (no If-Match): it is stored as the version after the one
        there is when it is written. A concurrent PUT that wins the version read here is kept as its own version
        and this one is stored after it (read again, written again); after MAX_ATTEMPTS lost races `StaleBudget`
        propagates (answered 409 naming the version the budget is at)."""
        budget = parse_budget(period, body, self.config)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            current = self.store.budget(str(budget.period))
            try:
                stored = self.store.put_budget(budget, current.version if current else 0, self._clock.now(), actor)
                break
            except StaleBudget:
                if attempt == MAX_ATTEMPTS:
                    raise
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

    def version_figures(
        self, period: str, version: int, as_of: date | None = None
    ) -> tuple[StoredBudget, BudgetFigures] | None:
        """That version of the period's own budget (as it was PUT: lines, currency, thresholds) with its figures
        against the actuals as they are now (as of `as_of`, default today): what the budget was, against what is
        spent. None when the period's budget never had that version (a quarter without its own budget has none:
        its view is a rollup of its months', which is not a version)."""
        parsed = parse_period(period)
        stored = self.store.budget_version(str(parsed), version)
        if stored is None:
            return None
        return stored, self._evaluate(stored.budget, as_of or self._clock.now().date())

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
        re-arms it (at the next arm generation: its next crossing is a new event, with an id of its own).
        Budgets of a month and of its quarter are both checked.

        Every move of an alert is conditional on the state and generation read, and a check that re-armed
        anything reads and decides again: a writer that pushed the line back over the threshold while it was
        still fired told nothing (it saw the alert fired), so the re-armer, reading after its re-arm, sees that
        spend and fires the new crossing itself (or finds it fired by another)."""
        events: list[FinanceEvent] = []
        fired_here: list[tuple[str, str, int, int]] = []
        parsed = parse_period(period)
        today = self._clock.now().date()
        for budget_period in {parsed, *([_quarter_of(parsed)] if parsed.kind is PeriodKind.MONTH else [])}:
            stored = self.store.budget(str(budget_period))  # alerts belong to a budget of that very period
            if stored is None:
                continue
            for _ in range(MAX_ATTEMPTS):
                # What was fired is read before the totals: a threshold another writer fired meanwhile was fired
                # on totals these include (both reads are strongly consistent), so it is never taken for one
                # whose line fell back under it and re-armed, and fired again
                alerts = self.store.alerts(str(budget_period))
                figures = self._evaluate(stored.budget, today)
                told, rearmed = self._line_alerts(str(budget_period), stored.budget, figures, alerts, fired_here)
                events += told
                if not rearmed:
                    break
        try:
            self._publish(events)
        except Exception:
            # not told, so not fired: armed again at the same generation, the caller's retry finds them crossed
            # and tells them (the same crossing, the same event id)
            for fired_period, label, threshold, generation in fired_here:
                self.store.unfire(fired_period, label, threshold, generation)
            raise
        return events

    def _line_alerts(
        self,
        period: str,
        budget: Budget,
        figures: BudgetFigures,
        alerts: Mapping[tuple[str, int], AlertState],
        fired_here: list[tuple[str, str, int, int]],
    ) -> tuple[list[FinanceEvent], bool]:
        """The alerts of the period's lines to tell (each one this call fired is added to `fired_here` with its
        generation), and whether any was re-armed (or tried to be: it moved meanwhile)."""
        overrun = self.config.forecast.overrun_threshold
        events: list[FinanceEvent] = []
        rearmed = False

        def generation(name: str, threshold: int) -> int:
            return alerts.get((name, threshold), AlertState(0, False)).generation

        for line in figures.lines:
            label = _label(line.key)
            amounts = line.figures
            mine = {threshold for (name, threshold), state in alerts.items() if name == label and state.fired}
            change = threshold_transition(mine, amounts.actual, amounts.budget, budget.thresholds)
            for threshold in change.rearmed:
                self.store.rearm(period, label, threshold, generation(label, threshold))
                rearmed = True
            for threshold in change.crossed:
                crossing = generation(label, threshold)
                if self.store.fire(period, label, threshold, crossing):
                    fired_here.append((period, label, threshold, crossing))
                    kind = FinanceEventType.THRESHOLD_CROSSED
                    events.append(self._alert(kind, period, line.key, amounts, threshold, crossing))
            if figures.forecast_method is ForecastMethod.BUDGET:
                # the period has not begun: its forecast is the budget itself, no sign of an overrun
                continue
            forecast_key = f"{label}#forecast"
            forecast_fired = {t for (name, t), state in alerts.items() if name == forecast_key and state.fired}
            ahead = threshold_transition(forecast_fired, amounts.forecast, amounts.budget, [overrun])
            for threshold in ahead.rearmed:
                self.store.rearm(period, forecast_key, threshold, generation(forecast_key, threshold))
                rearmed = True
            crossing = generation(forecast_key, overrun)
            ahead_of_actual = ahead.crossed and amounts.actual * 100 < overrun * amounts.budget
            if ahead_of_actual and self.store.fire(period, forecast_key, overrun, crossing):
                fired_here.append((period, forecast_key, overrun, crossing))
                events.append(self._alert(FinanceEventType.FORECAST_OVERRUN, period, line.key, amounts, None, crossing))
        return events, rearmed

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
            rate=plain(entry.rate),
            incurred_on=line.incurred_on,
            service_from=None if line.service_period is None else line.service_period.start,
            service_to=None if line.service_period is None else line.service_period.end,
            reverses=line.reverses,
            corrects=line.corrects,
        )

    def _alert(
        self,
        kind: FinanceEventType,
        period: str,
        key: tuple[str, str | None, str | None],
        amounts: Any,
        threshold: int | None,
        generation: int,
    ) -> FinanceEvent:
        """The alert of one crossing: its id from the period, line, threshold and arm generation (not the
        figures), so a retry of the crossing (its event refused) is told with the same id and the crossing after
        a re-arm with another."""
        company = self.config.company_currency
        label = _label(key)
        return FinanceEvent(
            event_id=FinanceEvent.id_for("alert", period, label, str(threshold), f"generation {generation}"),
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
    return SpendChunk.of(
        entries,
        {e.line.reverses: e.line.spend_id for e in entries if e.line.reverses},
        {e.line.corrects: e.line.spend_id for e in entries if e.line.corrects},
    )


def _depths(new: Sequence[SpendLine], positions: Mapping[str, int]) -> dict[str, int]:
    """How deep each new line sits in the batch's links: 0 for a line that depends on no other new line, else
    one more than the deepest it depends on (the original it reverses; the original it corrects and that
    original's reversal). A cycle of corrections (each correcting a line that, through its reversal, depends on
    it) is refused naming its lines (`positions`: their places in the batch)."""
    by_id = {line.spend_id: line for line in new}
    reversal_of = {line.reverses: line.spend_id for line in new if line.reverses}

    def needs(line: SpendLine) -> list[str]:
        found = [line.reverses] if line.reverses in by_id else []
        if line.corrects is not None:
            found += [one for one in (line.corrects, reversal_of.get(line.corrects)) if one in by_id]
        return [one for one in found if one is not None]

    depth: dict[str, int] = {}
    visiting: list[str] = []

    def visit(spend_id: str) -> int:  # a batch holds 500 lines at most: the recursion stays shallow enough
        if spend_id in depth:
            return depth[spend_id]
        if spend_id in visiting:
            cycle = visiting[visiting.index(spend_id) :]
            shown = " -> ".join([*cycle, spend_id])
            raise InvalidSpendBatch(
                [
                    FieldProblem(positions[one], "corrects", f"the corrections form a cycle ({shown})")
                    for one in sorted(cycle, key=lambda one: positions[one])
                    if by_id[one].corrects is not None
                ]
            )
        visiting.append(spend_id)
        depth[spend_id] = 1 + max((visit(one) for one in needs(by_id[spend_id])), default=-1)
        visiting.pop()
        return depth[spend_id]

    for line in new:
        visit(line.spend_id)
    return depth


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
