"""The FX table of a period: what one unit of each currency is worth in the base (company) currency.

    table = parse_fx("2026-11", {"base": "USD", "rates": {"EUR": "1.0850", "JPY": "0.0067"}})
    table.rate("EUR")                                  # Decimal("1.0850")
    table.to_base(Money(10000, "EUR"))                 # Converted(Money(10850, "USD"), Decimal("1.0850"))
    table.rate("GBP")                                  # MissingRate: no FX rate for GBP in period 2026-11 ...

Rates are exact decimals: positive, finite, at most 10 decimal places (trailing zeros do not count) and below
10^12; in JSON they are decimal strings ("1.0850") or integers, never floats. The base currency's rate is 1
and implicit: a table may list it only as 1. A converted amount keeps the rate it used (`Converted.rate`), so a
report can show and re-derive every conversion; conversion rounds half to even (see `money.convert`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, NamedTuple

from shared.errors import InvalidInput
from shared.finance.currencies import UnknownCurrency, currency
from shared.finance.money import Money, convert
from shared.finance.periods import Period, parse_period

__all__ = [
    "MAX_RATE",
    "MAX_RATE_PLACES",
    "Converted",
    "FxTable",
    "InvalidFxTable",
    "MissingRate",
    "parse_fx",
    "plain",
]

MAX_RATE_PLACES = 10
MAX_RATE = Decimal(10) ** 12
_RATE_TEXT = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_FIELDS = ("base", "rates")


class InvalidFxTable(InvalidInput):
    """An FX table that cannot be stored; `problems` lists each, naming the field and the currency."""

    def __init__(self, period: object, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__(f"invalid FX table for {period}: " + "; ".join(problems))


class MissingRate(InvalidInput):
    """No rate for a currency in the period's table; the message names the currency and the period."""

    def __init__(self, currency_code: str, period: Period, base: str) -> None:
        self.currency = currency_code
        self.period = period
        super().__init__(
            f"no FX rate for {currency_code} in period {period} (base {base}): add it to the period's table "
            f"(PUT /api/v1/integrations/finance/fx/{period})"
        )


class Converted(NamedTuple):
    """An amount in the base currency and the rate that made it."""

    amount: Money
    rate: Decimal


def plain(rate: Decimal) -> str:
    """A rate as a plain decimal string, never in exponent notation ("0.0000000001", not "1E-10")."""
    return format(rate, "f")


def _rate_problem(code: str, rate: object) -> str | None:
    """Why `rate` cannot be the rate of `code`, or None when it can."""
    if isinstance(rate, bool) or not isinstance(rate, Decimal | int):
        return f"rates.{code}: must be a Decimal, not {type(rate).__name__}"
    value = Decimal(rate)
    if not value.is_finite():
        return f"rates.{code}: {rate} is not a finite number"
    shown = plain(value)
    if value <= 0:
        return f"rates.{code}: {shown} must be positive"
    if value >= MAX_RATE:
        return f"rates.{code}: {shown} is too large (below 10^12)"
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if -exponent > MAX_RATE_PLACES:
        return f"rates.{code}: {shown} has {-exponent} decimal places, at most {MAX_RATE_PLACES}"
    return None


@dataclass(frozen=True, slots=True)
class FxTable:
    """The rates of `period`: one unit of each currency in `base`. Validated at construction (`InvalidFxTable`
    listing every problem); `rates` is stored read-only, keyed by upper-case code, without the base."""

    period: Period
    base: str
    rates: Mapping[str, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems: list[str] = []
        try:
            base = currency(self.base, field="base").code
        except UnknownCurrency as exc:
            raise InvalidFxTable(self.period, [str(exc)]) from None
        cleaned: dict[str, Decimal] = {}
        seen: set[str] = set()
        for raw_code, rate in self.rates.items():
            try:
                code = currency(raw_code, field="rates").code
            except UnknownCurrency as exc:
                problems.append(str(exc))
                continue
            if code in seen:
                problems.append(f"rates.{code}: listed twice")
                continue
            seen.add(code)
            problem = _rate_problem(code, rate)
            if problem is not None:
                problems.append(problem)
                continue
            if code == base:
                if Decimal(rate) != 1:
                    problems.append(f"rates.{code}: the base currency's rate is 1, not {plain(Decimal(rate))}")
                continue
            cleaned[code] = Decimal(rate)
        if problems:
            raise InvalidFxTable(self.period, problems)
        object.__setattr__(self, "base", base)
        object.__setattr__(self, "rates", MappingProxyType(dict(sorted(cleaned.items()))))

    def rate(self, currency_code: str) -> Decimal:
        """One unit of `currency_code` in the base currency (1 for the base itself); `MissingRate` naming the
        currency and the period when the table has none, `UnknownCurrency` for a code that is no currency."""
        code = currency(currency_code, field="currency").code
        if code == self.base:
            return Decimal(1)
        found = self.rates.get(code)
        if found is None:
            raise MissingRate(code, self.period, self.base)
        return found

    def has_rate(self, currency_code: str) -> bool:
        code = currency_code.strip().upper()
        return code == self.base or code in self.rates

    def to_base(self, money: Money) -> Converted:
        """`money` in the base currency, rounded half to even to its minor units, with the rate used."""
        rate = self.rate(money.currency)
        if money.currency == self.base:
            return Converted(money, rate)
        return Converted(convert(money, rate, self.base), rate)

    def to_record(self) -> dict[str, Any]:
        """The table as JSON: `{"period", "base", "rates": {code: decimal string}}`; `parse_fx` reads it back."""
        return {
            "period": str(self.period),
            "base": self.base,
            "rates": {code: plain(rate) for code, rate in self.rates.items()},
        }


def _parse_rate(code: str, raw: object) -> Decimal | str:
    """The rate as a Decimal, or the problem with it."""
    if isinstance(raw, bool):
        return f"rates.{code}: true/false is not a rate"
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float | Decimal):
        return f'rates.{code}: write the rate as a decimal string ("1.0850"): a JSON number with a fraction is inexact'
    if not isinstance(raw, str):
        return f'rates.{code}: must be a decimal string ("1.0850"), not {type(raw).__name__}'
    text = raw.strip()
    if len(text) > 40 or not _RATE_TEXT.fullmatch(text):
        shown = text if len(text) <= 40 else text[:40] + "..."
        return f'rates.{code}: "{shown}" is not a positive decimal ("1.0850": digits and a point, no sign or exponent)'
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        return f'rates.{code}: "{text}" is not a decimal'


def parse_fx(period: str | Period, body: object, *, company_currency: str | None = None) -> FxTable:
    """The table of the FX `PUT` body `{"base": "USD", "rates": {"EUR": "1.0850", ...}}` for `period`.

    Unknown top-level fields are refused (a typo must not pass for an empty table). With `company_currency`,
    the base must be it. Raises `InvalidFxTable` listing every problem, each naming its field and currency;
    `InvalidPeriod` for a bad period."""
    the_period = period if isinstance(period, Period) else parse_period(period)
    if not isinstance(body, Mapping):
        raise InvalidFxTable(the_period, ['the body must be a JSON object {"base": ..., "rates": {...}}'])
    problems = [f'{key}: unknown field (the fields are "base" and "rates")' for key in body if key not in _FIELDS]
    base_raw = body.get("base")
    base: str | None = None
    if base_raw is None:
        problems.append('base: required, the company currency (e.g. "USD")')
    else:
        try:
            base = currency(base_raw, field="base").code
        except UnknownCurrency as exc:
            problems.append(str(exc))
    if base is not None and company_currency is not None and base != currency(company_currency).code:
        problems.append(f"base: must be the company currency {currency(company_currency).code}, not {base}")
    rates_raw = body.get("rates")
    rates: dict[str, Decimal] = {}
    if not isinstance(rates_raw, Mapping):
        problems.append('rates: required, an object of currency -> decimal string ({"EUR": "1.0850"})')
    else:
        for raw_code, raw_rate in rates_raw.items():
            try:
                code = currency(raw_code, field="rates").code
            except UnknownCurrency as exc:
                problems.append(str(exc))
                continue
            if code in rates:
                problems.append(f"rates.{code}: listed twice")
                continue
            parsed = _parse_rate(code, raw_rate)
            if isinstance(parsed, str):
                problems.append(parsed)
            else:
                rates[code] = parsed
    if problems:
        raise InvalidFxTable(the_period, problems)
    assert base is not None
    return FxTable(the_period, base, rates)
