"""Spend lines: what the ledger records, once each, append-only.

    line = parse_spend_line(body, config)          # SpendLine, or InvalidSpendLine naming each bad field
    lines = parse_spend_batch(body["lines"], config)   # all or nothing: InvalidSpendBatch names line and field
    spend_record(line)                             # the canonical JSON record (decimal strings, ISO dates)
    differing_fields(stored, line)                 # ["amount", "vendor"]: what a 409 names
    check_reversal(original, reversal)             # InvalidReversal unless it negates the original exactly

The contract: `{"spend_id", "campaign_id", "channel", "department", "vendor", "amount": "1234.56",
"currency": "USD", "incurred_on": "2026-11-03", "service_period": {"from": "2026-11-01", "to": "2027-10-31"},
"reference", "description", "reverses", "corrects"}`, with exactly one of `incurred_on` and `service_period`.

Field rules (`parse_spend_line`):
- `spend_id` (required; the caller's idempotency key), `campaign_id`, `reverses`, `corrects`: 1-128 characters,
  a letter or digit first, then letters, digits and `_ . : @ / # + = -`; an integer is read as its digits (ad
  platforms export numeric campaign ids), and so is an integer `reference`. `campaign_id` may be left out
  (spend not tied to a campaign).
- `channel`, `department`: ids of the finance file's vocabularies, compared lower case.
- `vendor`: 1-200 characters. `reference` (invoice / contract / PO number): up to 200. `description`: up to 2000.
  Surrounding spaces are dropped; an empty optional field is no field. No control character but a tab or a
  line break (in `description`), and no lone surrogate (a JSON `\\ud800`: no UTF-8 text holds one, so the
  ledger could not store it).
- `amount` in `currency` (see `money.parse_amount`): never zero; negative only on a reversal (a line with
  `reverses`), and a reversal's amount is negative.
- `incurred_on`: a date `YYYY-MM-DD`; or, instead, `service_period`: `{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}`,
  both days inclusive, `to` not before `from`, at most 36 months long (`service_periods.py`: the amount is
  spread over its days, so each month it touches counts its share). Exactly one of the two. Each day is within
  the finance file's `spend_dates` (by default 2000-01-01 to 31 December five years after today's year; the upper
  bound is checked when `today` is given, as the ledger gives it). A reversal mirrors its stored original's days
  whatever they are, so it is held to the periods' first day (1900-01-01) only.
- `corrects`: the `spend_id` of the original a new line replaces (a correction is a reversal of the original
  plus this line). Not on a reversal, so the amount is positive. That the original exists, is reversed and is
  corrected once is the ledger's check (it needs the stored lines).
- Unknown fields are refused: a misspelt field must not be dropped silently (a CSV importer maps its columns).

A reversal negates its original exactly (`check_reversal`): same currency, amount negated to the minor unit,
and the same campaign, channel, department, vendor and `incurred_on` or `service_period`, so the period
aggregates it feeds net, day by day, to what they would have been without the original (a correction is the
reversal plus a new line that `corrects` the original). Its `reference` and `description` may differ (they say
why). A reversal cannot itself be reversed: record the line again under a new `spend_id`. That an original is
reversed at most once is the ledger's check (it needs the stored lines).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from shared.errors import InvalidInput
from shared.finance.config import FinanceConfig, SpendDates
from shared.finance.currencies import UnknownCurrency, currency
from shared.finance.money import InvalidAmount, Money, format_amount, parse_amount
from shared.finance.periods import MIN_YEAR, Period, period_of
from shared.finance.service_periods import ServicePeriod, too_long

__all__ = [
    "SPEND_FIELDS",
    "FieldProblem",
    "InvalidReversal",
    "InvalidSpendBatch",
    "InvalidSpendLine",
    "ServicePeriod",
    "SpendKey",
    "SpendLine",
    "check_reversal",
    "differing_fields",
    "parse_spend_batch",
    "parse_spend_line",
    "reversal_of",
    "spend_from_record",
    "spend_record",
    "validate_spend_line",
]

SPEND_FIELDS = (
    "spend_id",
    "campaign_id",
    "channel",
    "department",
    "vendor",
    "amount",
    "currency",
    "incurred_on",
    "service_period",
    "reference",
    "description",
    "reverses",
    "corrects",
)
# fields a reversal must share with its original (beyond the negated amount and the currency)
_MIRRORED = ("campaign_id", "channel", "department", "vendor", "incurred_on", "service_period")
_PERIOD_FIELDS = ("from", "to")

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@/#+=-]{0,127}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# What free text may not hold: a control character (a line break, in a description only) or a lone surrogate.
_UNSTORABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSTORABLE_IN_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_VENDOR_MAX = 200
_REFERENCE_MAX = 200
_DESCRIPTION_MAX = 2000

SpendKey = tuple[str, str, str | None]
"""(department, channel, campaign_id): the finest grain the period aggregates are kept at."""


class FieldProblem(NamedTuple):
    """One bad field: `line` is the 1-based line of a batch or CSV (None for a single line)."""

    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.field}: {self.message}"

    def as_error(self) -> dict[str, Any]:
        """The problem as an API error item `{"line", "field", "message"}`."""
        return {"line": self.line, "field": self.field, "message": self.message}


class InvalidSpendLine(InvalidInput):
    """A spend line the ledger refuses; `problems` names every bad field (and the line, in a batch)."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid spend line: " + "; ".join(map(str, problems)))


class InvalidSpendBatch(InvalidInput):
    """A batch with at least one bad line: none of it is stored; `problems` names each line and field."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        self.problems = tuple(problems)
        lines = sorted({p.line for p in problems if p.line is not None})
        which = f" (line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))})" if lines else ""
        super().__init__(f"invalid spend batch{which}, nothing stored: " + "; ".join(map(str, problems)))


class InvalidReversal(InvalidInput):
    """A reversal that does not negate its original exactly; `fields` names what differs."""

    def __init__(self, reversal_id: str, original_id: str, problems: Sequence[tuple[str, str]]) -> None:
        self.fields = tuple(field for field, _ in problems)
        self.problems = tuple(problems)
        detail = "; ".join(f"{field}: {message}" for field, message in problems)
        super().__init__(f'reversal "{reversal_id}" of "{original_id}": {detail}')


@dataclass(frozen=True, slots=True)
class SpendLine:
    """One line of the ledger. `amount` is in the currency the spend was paid in; reports convert it with the
    FX table of its first month. It was incurred on one day (`incurred_on`) or over a `service_period`, exactly
    one of them. `reverses` is the `spend_id` of the line this one reverses, `corrects` that of the (reversed)
    line this one replaces."""

    spend_id: str
    campaign_id: str | None
    channel: str
    department: str
    vendor: str
    amount: Money
    incurred_on: date | None
    reference: str | None = None
    description: str | None = None
    reverses: str | None = None
    service_period: ServicePeriod | None = None
    corrects: str | None = None

    def __post_init__(self) -> None:
        if (self.incurred_on is None) == (self.service_period is None):
            raise ValueError(f"spend line {self.spend_id}: exactly one of incurred_on and service_period")

    @property
    def key(self) -> SpendKey:
        """Where the line counts in the period aggregates: (department, channel, campaign_id)."""
        return (self.department, self.channel, self.campaign_id)

    @property
    def span(self) -> ServicePeriod:
        """The days the line's amount is spread over: its service period, or the one day it was incurred on."""
        if self.service_period is not None:
            return self.service_period
        assert self.incurred_on is not None
        return ServicePeriod.day(self.incurred_on)

    @property
    def first_day(self) -> date:
        if self.service_period is not None:
            return self.service_period.start
        assert self.incurred_on is not None
        return self.incurred_on

    @property
    def period(self) -> Period:
        """The line's first month: where it is stored, and whose FX table converts it."""
        return period_of(self.first_day)

    @property
    def months(self) -> tuple[Period, ...]:
        """Every month the line counts in (its first only, unless a service period runs on)."""
        return self.span.months if self.service_period is not None else (self.period,)

    def listed_on(self, month: Period) -> date:
        """Where a listing of `month` (one it counts in) places the line: its first day in the month."""
        return max(self.first_day, month.first_day)

    def overlaps(self, start: date, end: date) -> bool:
        """Whether the line counts on any day from `start` to `end` (both inclusive)."""
        span = self.span
        return span.start <= end and start <= span.end

    @property
    def is_reversal(self) -> bool:
        return self.reverses is not None


# ------------------------------------------------------------------------------------------------- parsing


class _Reader:
    """Reads the fields of one raw line, collecting a problem per bad field rather than stopping at the first."""

    def __init__(
        self, raw: Mapping[str, object], line: int | None, dates: SpendDates | None = None, today: date | None = None
    ) -> None:
        self.raw = raw
        self.line = line
        self.dates = dates  # the days a line may be dated (None: a reversal, held to the periods' first day only)
        self.today = today
        self.problems: list[FieldProblem] = []

    def problem(self, field: str, message: str) -> None:
        self.problems.append(FieldProblem(self.line, field, message))

    def text(
        self, field: str, *, required: bool, limit: int, ids: bool = False, numbers: bool = False, lines: bool = False
    ) -> str | None:
        value = self.raw.get(field)
        if (ids or numbers) and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(field, "required")
            return None
        if not isinstance(value, str):
            self.problem(field, f"must be text, not {_kind(value)}")
            return None
        text = value.strip()
        if ids:
            if not _ID.fullmatch(text):
                self.problem(
                    field,
                    f"{_shown(text)} is not an id: 1-128 letters, digits and _ . : @ / # + = -, "
                    "starting with a letter or digit",
                )
                return None
        elif len(text) > limit:
            self.problem(field, f"is {len(text)} characters long, at most {limit}")
            return None
        elif (found := (_UNSTORABLE_IN_LINES if lines else _UNSTORABLE).search(text)) is not None:
            self.problem(field, _unstorable(found.group(), lines))
            return None
        return text

    def vocabulary(self, field: str, known: Sequence[str], noun: str) -> str | None:
        value = self.text(field, required=True, limit=64)
        if value is None:
            return None
        wanted = value.lower()
        if wanted not in known:
            self.problem(field, f"{_shown(value)} is not a {noun} of the finance file ({', '.join(known)})")
            return None
        return wanted

    def day(self, field: str, value: object, *, missing: str = 'required, a date "YYYY-MM-DD"') -> date | None:
        if isinstance(value, date):
            return value
        if value is None or (isinstance(value, str) and not value.strip()):
            self.problem(field, missing)
            return None
        if not isinstance(value, str) or not _DATE.fullmatch(value.strip()):
            shown = _shown(value) if isinstance(value, str) else _kind(value)
            self.problem(field, f'{shown} is not a date "YYYY-MM-DD"')
            return None
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            self.problem(field, f"{_shown(value)} is not a calendar date")
            return None
        why = self.dates.problem(day, self.today) if self.dates is not None else None
        if why is None and day.year < MIN_YEAR:
            why = f"{day.isoformat()} is before {MIN_YEAR}-01-01, the first day a period has"
        if why is not None:
            self.problem(field, why)
            return None
        return day

    def when(self) -> tuple[date | None, ServicePeriod | None]:
        """`incurred_on` or `service_period`, exactly one (each None when it has a problem)."""
        day, span = self.raw.get("incurred_on"), self.raw.get("service_period")
        if _empty(span):
            missing = 'required, a date "YYYY-MM-DD" (or, instead, a service_period {"from", "to"})'
            return self.day("incurred_on", day, missing=missing), None
        if not _empty(day):
            self.problem(
                "service_period", "a line has incurred_on or a service_period, not both (leave incurred_on out)"
            )
            return None, None
        return None, self.service_period(span)

    def service_period(self, value: object) -> ServicePeriod | None:
        field = "service_period"
        if isinstance(value, ServicePeriod):
            return value
        if not isinstance(value, Mapping):
            shown = "text" if isinstance(value, str) else _kind(value)
            self.problem(field, f'must be an object {{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}}, not {shown}')
            return None
        unknown = [str(name)[:60] for name in value if name not in _PERIOD_FIELDS]
        if unknown:
            self.problem(field, f"unknown field {', '.join(unknown)} (a service period has from and to)")
        start = self.day(f"{field}.from", value.get("from"), missing='required, the first day "YYYY-MM-DD"')
        end = self.day(f"{field}.to", value.get("to"), missing='required, the last day "YYYY-MM-DD" (inclusive)')
        if start is None or end is None or unknown:
            return None
        if end < start:
            self.problem(field, f"to ({end.isoformat()}) is before from ({start.isoformat()})")
            return None
        span = ServicePeriod(start, end)
        if (why := too_long(span)) is not None:
            self.problem(field, why)
            return None
        return span


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _unstorable(character: str, lines: bool) -> str:
    code = ord(character)
    if 0xD800 <= code <= 0xDFFF:
        return f"holds a lone surrogate (\\u{code:04x}), half of a character, which no UTF-8 text can hold"
    allowed = "none but a tab or a line break may be sent" if lines else "none may be sent"
    return f"holds a control character (U+{code:04X}): {allowed}"


def _shown(text: str) -> str:
    return f'"{text}"' if len(text) <= 60 else f'"{text[:60]}..."'


def _read(
    raw: object, config: FinanceConfig, line: int | None, today: date | None = None
) -> tuple[SpendLine | None, list[FieldProblem]]:
    if not isinstance(raw, Mapping):
        return None, [FieldProblem(line, "line", f"must be an object of spend fields, not {_kind(raw)}")]
    reversal = not _empty(raw.get("reverses"))
    reader = _Reader(raw, line, None if reversal else config.spend_dates, today)
    for field in raw:
        if field not in SPEND_FIELDS:
            shown = field if isinstance(field, str) else repr(field)
            reader.problem(str(shown)[:60], f"unknown field (the fields are {', '.join(SPEND_FIELDS)})")
    spend_id = reader.text("spend_id", required=True, limit=128, ids=True)
    campaign_id = reader.text("campaign_id", required=False, limit=128, ids=True)
    channel = reader.vocabulary("channel", config.channel_ids, "channel")
    department = reader.vocabulary("department", config.department_ids, "department")
    vendor = reader.text("vendor", required=True, limit=_VENDOR_MAX)
    incurred_on, service_period = reader.when()
    reference = reader.text("reference", required=False, limit=_REFERENCE_MAX, numbers=True)
    description = reader.text("description", required=False, limit=_DESCRIPTION_MAX, lines=True)
    reverses = reader.text("reverses", required=False, limit=128, ids=True)
    corrects = reader.text("corrects", required=False, limit=128, ids=True)

    amount: Money | None = None
    code = raw.get("currency")
    if code is None or (isinstance(code, str) and not code.strip()):
        reader.problem("currency", "required, an ISO 4217 code (e.g. USD)")
    else:
        try:
            unit = currency(code)
        except UnknownCurrency as exc:
            reader.problem("currency", str(exc))
        else:
            if raw.get("amount") is None:
                reader.problem("amount", 'required, a decimal string ("1234.56") or integer minor units')
            else:
                try:
                    amount = parse_amount(raw.get("amount"), unit.code, field="amount")
                except InvalidAmount as exc:
                    reader.problem("amount", exc.problem)
    if amount is not None:
        if amount.minor == 0:
            reader.problem("amount", "must not be zero")
        elif amount.minor < 0 and reverses is None:
            reader.problem(
                "amount",
                f"{format_amount(amount)} is negative: only a reversal (a line with reverses: the original's "
                "spend_id) carries a negative amount",
            )
        elif amount.minor > 0 and reverses is not None:
            reader.problem("amount", "a reversal negates the original's amount, so it is negative")
    if reverses is not None and spend_id is not None and reverses == spend_id:
        reader.problem("reverses", "a line cannot reverse itself")
    if corrects is not None:
        if reverses is not None:
            reader.problem(
                "corrects",
                "a reversal corrects nothing: the correction is a new line of its own (with corrects) next to the "
                "reversal",
            )
        elif spend_id is not None and corrects == spend_id:
            reader.problem("corrects", "a line cannot correct itself")

    if reader.problems:
        return None, reader.problems
    assert spend_id is not None
    assert channel is not None
    assert department is not None
    assert vendor is not None
    assert amount is not None
    assert (incurred_on is None) != (service_period is None)
    return (
        SpendLine(
            spend_id=spend_id,
            campaign_id=campaign_id,
            channel=channel,
            department=department,
            vendor=vendor,
            amount=amount,
            incurred_on=incurred_on,
            reference=reference,
            description=description,
            reverses=reverses,
            service_period=service_period,
            corrects=corrects,
        ),
        [],
    )


def parse_spend_line(
    raw: object, config: FinanceConfig, *, line: int | None = None, today: date | None = None
) -> SpendLine:
    """A spend line from its JSON (or CSV row) form, checked against the finance file's vocabularies and its
    `spend_dates` (the upper bound only with `today`); raises `InvalidSpendLine` naming every bad field (and
    `line`, the 1-based line of a batch or CSV, when given)."""
    parsed, problems = _read(raw, config, line, today)
    if parsed is None:
        raise InvalidSpendLine(problems)
    return parsed


def parse_spend_batch(lines: object, config: FinanceConfig, *, today: date | None = None) -> list[SpendLine]:
    """Every line of a batch (`body["lines"]`), or `InvalidSpendBatch` naming each bad line (1-based) and field:
    a batch with one bad line is refused whole. Beyond each line's own rules: at most `config.max_batch_lines`
    lines (refused before any line is read; the issue answers it 422, not 413), a `spend_id` at most once,
    and a reversal of a line of the same batch must negate it (`check_reversal`)."""
    if not isinstance(lines, list | tuple):
        raise InvalidSpendBatch([FieldProblem(None, "lines", "must be a list of spend lines")])
    if not lines:
        raise InvalidSpendBatch([FieldProblem(None, "lines", "must hold at least one spend line")])
    if len(lines) > config.max_batch_lines:
        raise InvalidSpendBatch(
            [FieldProblem(None, "lines", f"{len(lines)} spend lines in one batch, at most {config.max_batch_lines}")]
        )
    parsed: list[SpendLine] = []
    problems: list[FieldProblem] = []
    first_line: dict[str, int] = {}
    by_id: dict[str, SpendLine] = {}
    for number, raw in enumerate(lines, start=1):
        line, line_problems = _read(raw, config, number, today)
        problems += line_problems
        if line is None:
            continue
        if line.spend_id in first_line:
            problems.append(
                FieldProblem(number, "spend_id", f'"{line.spend_id}" is also line {first_line[line.spend_id]}')
            )
            continue
        first_line[line.spend_id] = number
        by_id[line.spend_id] = line
        parsed.append(line)
    for number, line in ((first_line[one.spend_id], one) for one in parsed):
        original = by_id.get(line.reverses) if line.reverses is not None else None
        if original is not None:
            try:
                check_reversal(original, line)
            except InvalidReversal as exc:
                problems += [FieldProblem(number, field, message) for field, message in exc.problems]
    if problems:
        raise InvalidSpendBatch(sorted(problems, key=lambda p: p.line or 0))
    return parsed


def validate_spend_line(line: SpendLine, config: FinanceConfig) -> list[FieldProblem]:
    """Problems of an already built line against a (possibly newer) finance file: unknown channel or department,
    and the amount's sign rules. Empty when the line is valid."""
    problems: list[FieldProblem] = []
    if not config.has_channel(line.channel):
        problems.append(
            FieldProblem(None, "channel", f'"{line.channel}" is not a channel of finance file {config.version}')
        )
    if not config.has_department(line.department):
        problems.append(
            FieldProblem(
                None, "department", f'"{line.department}" is not a department of finance file {config.version}'
            )
        )
    if line.amount.minor == 0:
        problems.append(FieldProblem(None, "amount", "must not be zero"))
    elif line.amount.minor < 0 and line.reverses is None:
        problems.append(FieldProblem(None, "amount", "is negative but the line reverses nothing"))
    elif line.amount.minor > 0 and line.reverses is not None:
        problems.append(FieldProblem(None, "amount", "a reversal's amount is negative"))
    if line.service_period is not None and (why := too_long(line.service_period)) is not None:
        problems.append(FieldProblem(None, "service_period", why))
    if line.corrects is not None and line.reverses is not None:
        problems.append(FieldProblem(None, "corrects", "a reversal corrects nothing"))
    return problems


# ------------------------------------------------------------------------------------------------ reversals


def check_reversal(original: SpendLine, reversal: SpendLine) -> None:
    """Raise `InvalidReversal` unless `reversal` negates `original` exactly (see the module's doc)."""
    problems: list[tuple[str, str]] = []
    if reversal.reverses != original.spend_id:
        problems.append(("reverses", f'names "{reversal.reverses}", not the original "{original.spend_id}"'))
    if reversal.spend_id == original.spend_id:
        problems.append(("spend_id", "a reversal needs its own spend_id"))
    if original.reverses is not None:
        problems.append(
            (
                "reverses",
                f'"{original.spend_id}" is itself a reversal (of "{original.reverses}") and cannot be reversed: '
                "record the line again under a new spend_id",
            )
        )
    if reversal.amount.currency != original.amount.currency:
        problems.append(
            ("currency", f"must be {original.amount.currency} as on the original, not {reversal.amount.currency}")
        )
    elif reversal.amount.minor != -original.amount.minor:
        expected = format_amount(-original.amount)
        problems.append(
            ("amount", f"must be {expected} (the original's amount negated), not {format_amount(reversal.amount)}")
        )
    mine, theirs = spend_record(reversal), spend_record(original)
    for field in _MIRRORED:
        if mine[field] != theirs[field]:
            problems.append((field, f"must be {_quoted(theirs[field])} as on the original, not {_quoted(mine[field])}"))
    if problems:
        raise InvalidReversal(reversal.spend_id, original.spend_id, problems)


def _quoted(value: str | Mapping[str, str] | None) -> str:
    if isinstance(value, Mapping):
        return f"{value['from']} to {value['to']}"
    return "absent" if value is None else f'"{value}"'


def reversal_of(
    original: SpendLine, spend_id: str, *, reference: str | None = None, description: str | None = None
) -> SpendLine:
    """The line that reverses `original` exactly, under `spend_id` (it passes `check_reversal`)."""
    line = SpendLine(
        spend_id=spend_id,
        campaign_id=original.campaign_id,
        channel=original.channel,
        department=original.department,
        vendor=original.vendor,
        amount=-original.amount,
        incurred_on=original.incurred_on,
        reference=reference if reference is not None else original.reference,
        description=description,
        reverses=original.spend_id,
        service_period=original.service_period,
    )
    check_reversal(original, line)
    return line


# ------------------------------------------------------------------------------------- records and conflicts


def spend_record(line: SpendLine) -> dict[str, Any]:
    """The canonical JSON record of a line: every field of the contract, in its order; the amount as a
    decimal string with the currency's decimals, dates ISO 8601 (`service_period` an object of two), an absent
    optional field null."""
    return {
        "spend_id": line.spend_id,
        "campaign_id": line.campaign_id,
        "channel": line.channel,
        "department": line.department,
        "vendor": line.vendor,
        "amount": format_amount(line.amount),
        "currency": line.amount.currency,
        "incurred_on": None if line.incurred_on is None else line.incurred_on.isoformat(),
        "service_period": None if line.service_period is None else line.service_period.record(),
        "reference": line.reference,
        "description": line.description,
        "reverses": line.reverses,
        "corrects": line.corrects,
    }


def spend_from_record(record: Mapping[str, Any]) -> SpendLine:
    """The line a canonical record (`spend_record`) holds. Trusts the record's vocabulary (it was checked when
    stored, perhaps under an older finance file); the amount and date are parsed again."""
    amount = parse_amount(record["amount"], str(record["currency"]), field="amount")
    span = record.get("service_period")
    day = record.get("incurred_on")
    return SpendLine(
        spend_id=str(record["spend_id"]),
        campaign_id=record.get("campaign_id"),
        channel=str(record["channel"]),
        department=str(record["department"]),
        vendor=str(record["vendor"]),
        amount=amount,
        incurred_on=None if day is None else date.fromisoformat(str(day)),
        reference=record.get("reference"),
        description=record.get("description"),
        reverses=record.get("reverses"),
        service_period=None
        if span is None
        else ServicePeriod(date.fromisoformat(str(span["from"])), date.fromisoformat(str(span["to"]))),
        corrects=record.get("corrects"),
    )


def differing_fields(stored: SpendLine, new: SpendLine) -> list[str]:
    """The fields in which `new` differs from the `stored` line of the same spend_id, in contract order: what a
    409 names. Compared on the canonical records, so "1234.50" and 123450 minor units are the same amount."""
    old, now = spend_record(stored), spend_record(new)
    return [field for field in SPEND_FIELDS if old[field] != now[field]]
