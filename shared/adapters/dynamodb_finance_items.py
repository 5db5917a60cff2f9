"""How the finance domain is laid out in the DynamoDB table `finance`: keys, items, the encodings of their values
and the listing cursor. The store (`dynamodb_finance.py`) reads and writes through this.

Items, all under `pk` + `sk`:

- `SPEND#<spend_id>` / `LINE`: a ledger line: the fields of `spend_record(line)` (an absent optional field is
  no attribute; `service_period` a map of `from` and `to`), `company_minor` (N: the amount in the company
  currency's minor units), `rate` (the rate used, a plain decimal string), `recorded_at`, `reversed_by` (only
  once reversed), `corrected_by` (only once corrected), and the by-period index keys `line_period=PERIOD#<yyyy-mm
  of its first day>` and `line_sort=<first day>#<spend_id>` (the index lists a month's lines by day, then spend
  id; the first day is `incurred_on`, or a service period's `from`).
- `SPEND#<spend_id>` / `MONTH#<yyyy-mm>`: a service-period line's listing in each further month it touches:
  `spend_id`, the filtered fields `campaign_id` and `channel`, and the index keys `line_period=PERIOD#<yyyy-mm>`
  and `line_sort=<the month's first day>#<spend_id>`. The listing reads the `LINE` item for it (strongly
  consistent, so it shows the line's `reversed_by` and `corrected_by` as they are), so a line is stored once.
- `PERIOD#<yyyy-mm>` / `AGG#<department>#<channel>#<campaign_id or ->`: `actual` (N), the month's spend at that
  key in company minor units, and `d01`..`d31` (N), its spend on each day of the month that has any (the
  month's daily actuals are the sums of these over its keys; at most 31 small numbers, the item stays far
  under the 1 KB a write unit buys). Department and channel ids have no `#` (the finance file's vocabularies are
  snake case; a key whose department or channel holds one is refused with ValueError before anything is
  written), so the campaign id, which may hold `#` (`spend._ID` allows it), is everything after the second
  `#`, unescaped. `-` stands for "no campaign": no campaign id can be `-` (an id starts with a letter or digit).
- `PERIOD#<yyyy-mm>` / `DAY#<yyyy-mm-dd>`: `actual` (N), the month's spend on that day, as ledgers written
  before the days moved onto the aggregates kept it: still read and added, never written.
- `FX#<period>` / `TABLE`: the FX table (`FxTable.to_record()`: period, base, rates as decimal strings).
- `BUDGET#<period>` / `CURRENT`: the budget (`budget_record`) with `version`, `updated_at`, `updated_by`;
  `BUDGET#<period>` / `V#<version, 10 digits>`: the same for every version, the current one included.
- `ALERT#<period>` / `<label>#<threshold>`: a fired alert. The threshold is digits, so the label (which may
  hold `#`) is everything before the last `#`.

Periods are stored as `str(Period)` (`2026-11`, `2026-Q4`), whatever spelling a caller used (`2026-q4`).
Datetimes are fixed-width UTC ISO strings with microseconds and come back aware in UTC.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from shared.adapters.dynamodb_items import MAX_ITEM_BYTES, iso, item_size, when
from shared.errors import InvalidInput, TooLarge
from shared.finance.budget_engine import Budget, budget_from_record, budget_record
from shared.finance.fx import FxTable, parse_fx, plain
from shared.finance.periods import Period, contains, parse_period
from shared.finance.ports import StoredBudget, StoredSpend
from shared.finance.spend import SpendKey, SpendLine, spend_from_record, spend_record

LINE, FX_TABLE, CURRENT = "LINE", "TABLE", "CURRENT"
AGG, DAY, VERSION, MONTH = "AGG#", "DAY#", "V#", "MONTH#"
NO_CAMPAIGN = "-"
VERSION_DIGITS = 10
BAD_CURSOR = "cursor is not one this API returned for this query; start again without it"

_DAY_ATTRIBUTE = re.compile(r"d(0[1-9]|[12][0-9]|3[01])")
_LINE_SORT = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})#(.+)", re.DOTALL)


# -------------------------------------------------------------------------------------------------- periods


def period_text(period: str | Period) -> str:
    """The stored spelling of a month or quarter; `InvalidPeriod` (an InvalidInput) for anything else."""
    return str(period if isinstance(period, Period) else parse_period(period))


def month_text(period: str | Period) -> str:
    """The stored spelling of a month: the ledger keeps its lines and aggregates by month (a quarter's figures
    are its months'); InvalidInput for a quarter or no period."""
    parsed = period if isinstance(period, Period) else parse_period(period)
    if not parsed.is_month:
        raise InvalidInput(f"period: {parsed} is a quarter; the ledger is kept by month (ask for each of its months)")
    return str(parsed)


# ----------------------------------------------------------------------------------------------------- keys


def spend_pk(spend_id: str) -> str:
    return f"SPEND#{spend_id}"


def period_pk(month: str) -> str:
    return f"PERIOD#{month}"


def fx_pk(period: str) -> str:
    return f"FX#{period}"


def budget_pk(period: str) -> str:
    return f"BUDGET#{period}"


def alert_pk(period: str) -> str:
    return f"ALERT#{period}"


def line_sort(incurred_on: date, spend_id: str) -> str:
    """The by-period index's sort key: by day (ISO dates sort as they compare), then by spend id."""
    return f"{incurred_on.isoformat()}#{spend_id}"


def aggregate_sk(spend_key: SpendKey) -> str:
    """ValueError for a key that cannot be laid out unambiguously (see the module's doc)."""
    department, channel, campaign_id = spend_key
    for name, value in (("department", department), ("channel", channel)):
        if not value or "#" in value:
            raise ValueError(f'aggregate key {spend_key!r}: {name} "{value}" must be a non-empty id without "#"')
    if campaign_id is not None and campaign_id in ("", NO_CAMPAIGN):
        raise ValueError(f'aggregate key {spend_key!r}: campaign_id "{campaign_id}" is no campaign id')
    return f"{AGG}{department}#{channel}#{NO_CAMPAIGN if campaign_id is None else campaign_id}"


def aggregate_key_from(sk: str) -> SpendKey:
    department, _, rest = sk.removeprefix(AGG).partition("#")
    channel, _, campaign = rest.partition("#")
    return (department, channel, None if campaign == NO_CAMPAIGN else campaign)


def day_sk(day: date) -> str:
    return f"{DAY}{day.isoformat()}"


def day_from(sk: str) -> date:
    return date.fromisoformat(sk.removeprefix(DAY))


def day_attribute(day: date) -> str:
    """The attribute of an aggregate item holding that day's spend (the item's partition names the month)."""
    return f"d{day.day:02d}"


def daily_from(items: Iterable[Mapping[str, Any]], month: str) -> dict[date, int]:
    """A month's spend per day from its partition's items: the day attributes of its aggregates, plus the
    `DAY#` items of a ledger written before (both count disjoint lines)."""
    daily: dict[date, int] = {}
    for item in items:
        sk = str(item["sk"])
        if sk.startswith(DAY):
            days = {day_from(sk): int(item.get("actual", 0))}
        elif sk.startswith(AGG):
            days = key_days_from(item, month)
        else:
            continue
        for day, amount in days.items():
            daily[day] = daily.get(day, 0) + amount
    return dict(sorted(daily.items()))


def key_days_from(item: Mapping[str, Any], month: str) -> dict[date, int]:
    """An aggregate item's spend per day of its month (its day attributes), by day."""
    period = parse_period(month)
    first, days_in_month = period.first_day, period.days
    return {
        first.replace(day=int(name[1:])): int(value)
        for name, value in sorted(item.items())
        if _DAY_ATTRIBUTE.fullmatch(name) and int(name[1:]) <= days_in_month  # none else is written
    }


def version_sk(version: int) -> str:
    return f"{VERSION}{version:0{VERSION_DIGITS}d}"


def alert_sk(label: str, threshold: int) -> str:
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
        raise ValueError(f"an alert threshold is a whole number 0 or more, not {threshold!r}")
    return f"{label}#{threshold}"


def alert_from(sk: str) -> tuple[str, int]:
    label, _, threshold = sk.rpartition("#")
    return label, int(threshold)


def checked_days(month: str, days: Mapping[date, int], what: str) -> dict[date, int]:
    """A key's deltas per day, each an int in its month: ValueError otherwise (a day outside the month would
    count in the wrong partition); at least one day (an aggregate that moves moves on some day)."""
    if not days:
        raise ValueError(f"{what}: no day's delta")
    for day, delta in days.items():
        if not contains(parse_period(month), day):
            raise ValueError(f"{what}: the delta of {day.isoformat()} is keyed by period {month}, which it is not in")
        if type(delta) is not int:
            raise ValueError(f"{what}: the delta of {day.isoformat()} must be an int of minor units, not {delta!r}")
    return dict(days)


# ---------------------------------------------------------------------------------------------------- lines


def spend_item(stored: StoredSpend, reversed_by: str | None = None, corrected_by: str | None = None) -> dict[str, Any]:
    """The `LINE` item of a stored line (plain values; `serialize` makes it DynamoDB JSON). `reversed_by` and
    `corrected_by` override the line's own (a line reversed or corrected in the chunk that writes it)."""
    line = stored.line
    rate = Decimal(stored.rate)
    if not rate.is_finite() or rate <= 0:
        raise ValueError(f"spend line {line.spend_id}: the rate {stored.rate} is not a finite positive number")
    if type(stored.company_minor) is not int:
        raise ValueError(f"spend line {line.spend_id}: company_minor must be an int, not {stored.company_minor!r}")
    item: dict[str, Any] = {
        "pk": spend_pk(line.spend_id),
        "sk": LINE,
        **spend_record(line),
        "company_minor": stored.company_minor,
        "rate": plain(rate),
        "recorded_at": iso(stored.recorded_at),
        "reversed_by": reversed_by if reversed_by is not None else stored.reversed_by,
        "corrected_by": corrected_by if corrected_by is not None else stored.corrected_by,
        "line_period": period_pk(str(line.period)),
        "line_sort": line_sort(line.first_day, line.spend_id),
    }
    return {name: value for name, value in item.items() if value is not None}


def listing_items(line: SpendLine) -> list[dict[str, Any]]:
    """The `MONTH#` items listing a line in each month it touches after its first (none for a line of one
    month)."""
    items = []
    for month in line.months[1:]:
        item = {
            "pk": spend_pk(line.spend_id),
            "sk": f"{MONTH}{month}",
            "spend_id": line.spend_id,
            "campaign_id": line.campaign_id,
            "channel": line.channel,
            "line_period": period_pk(str(month)),
            "line_sort": line_sort(line.listed_on(month), line.spend_id),
        }
        items.append({name: value for name, value in item.items() if value is not None})
    return items


def is_listing(item: Mapping[str, Any]) -> bool:
    """Whether an item of the by-period index is a `MONTH#` listing (else a `LINE`)."""
    return str(item["sk"]).startswith(MONTH)


def spend_from(item: Mapping[str, Any]) -> StoredSpend:
    return StoredSpend(
        line=spend_from_record(item),
        company_minor=int(item["company_minor"]),
        rate=Decimal(str(item["rate"])),
        recorded_at=when(item["recorded_at"]),
        reversed_by=item.get("reversed_by"),
        corrected_by=item.get("corrected_by"),
    )


# ---------------------------------------------------------------------------------------------- FX, budgets


def fx_item(table: FxTable) -> dict[str, Any]:
    return {"pk": fx_pk(str(table.period)), "sk": FX_TABLE, **table.to_record()}


def fx_from(item: Mapping[str, Any]) -> FxTable:
    return parse_fx(str(item["period"]), {"base": item["base"], "rates": dict(item["rates"])})


def budget_item(stored: StoredBudget, sk: str) -> dict[str, Any]:
    """A budget item (`CURRENT` or a `V#` one): the budget's record with its version and who changed it when."""
    return {
        "pk": budget_pk(str(stored.budget.period)),
        "sk": sk,
        **budget_record(stored.budget),
        "version": stored.version,
        "updated_at": iso(stored.updated_at),
        "updated_by": stored.updated_by,
    }


def budget_from(item: Mapping[str, Any]) -> StoredBudget:
    record = dict(item)
    # DynamoDB numbers come back as Decimal; a Budget's thresholds are ints.
    record["thresholds"] = [int(threshold) for threshold in item["thresholds"]]
    budget: Budget = budget_from_record(record)
    return StoredBudget(budget, int(item["version"]), when(item["updated_at"]), str(item["updated_by"]))


def check_size(item: dict[str, Any], what: str) -> None:
    """DynamoDB refuses items over 400 KB: checked before writing, so the caller hears what is too big."""
    size = item_size(item)
    if size > MAX_ITEM_BYTES:
        largest = max(item, key=lambda name: item_size({name: item[name]}))
        raise TooLarge(
            f"{what} would be {size} bytes, over DynamoDB's item limit of 400 KB "
            f"(its `{largest}` takes {item_size({largest: item[largest]})})"
        )


# --------------------------------------------------------------------------------------------------- cursor


@dataclass(frozen=True)
class LinePosition:
    """Where a page of lines ended: the `line_sort` of its last line, and the query it was a page of (a cursor
    is refused by another query)."""

    after: str
    period: str
    campaign_id: str | None
    channel: str | None


def encode_cursor(position: LinePosition) -> str:
    document = {"after": position.after, "p": position.period, "c": position.campaign_id, "ch": position.channel}
    return base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str) -> LinePosition:
    """InvalidInput unless the cursor is one `encode_cursor` made (the sort key it holds must parse)."""
    try:
        document = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        position = LinePosition(document["after"], document["p"], document["c"], document["ch"])
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeError):
        raise InvalidInput(BAD_CURSOR) from None
    if not isinstance(position.after, str) or not isinstance(position.period, str):
        raise InvalidInput(BAD_CURSOR)
    if not all(part is None or isinstance(part, str) for part in (position.campaign_id, position.channel)):
        raise InvalidInput(BAD_CURSOR)
    found = _LINE_SORT.fullmatch(position.after)
    try:
        well_formed = found is not None and date.fromisoformat(found.group(1)).isoformat() == found.group(1)
    except ValueError:
        well_formed = False
    if not well_formed:
        raise InvalidInput(BAD_CURSOR)
    return position


def check_cursor(cursor: str, query: LinePosition) -> str:
    """The `line_sort` to continue after; InvalidInput for a bad cursor or one of another listing."""
    position = decode_cursor(cursor)
    if (position.period, position.campaign_id, position.channel) != (query.period, query.campaign_id, query.channel):
        raise InvalidInput("cursor belongs to a listing with another period or other filters; start again without it")
    return position.after
