"""Money as the ledger holds it: an integer count of a currency's minor units. Never a float.

    parse_amount("1234.56", "USD", field="amount")   # Money(123456, "USD")
    parse_amount(123456, "USD", field="amount")      # the same: an integer is minor units
    format_amount(Money(150000, "JPY"))              # "150000"
    convert(Money(1000, "EUR"), Decimal("1.0850"), "USD")   # Money(1085, "USD")

At the edges (JSON, CSV) an amount is a decimal string in major units ("1234.56") or an integer of minor units
(123456 cents); inside it is `Money(minor, currency)`. `parse_amount` refuses, each time with an `InvalidAmount`
naming the field and the rule: floats (a JSON number with a fraction cannot hold money exactly), booleans,
`Decimal` objects (write the string), NaN and infinities, exponents ("1e3"), thousands separators, a "+" sign,
empty text, text over 64 characters, more than 15 digits before the decimal point (an integer of minor units: a
value of that size or more), and a non-zero digit beyond the currency's decimals ("12.345" USD). Trailing zeros
beyond them are exact and accepted: "1500.00" JPY is 1500 yen, "12.3400" USD is 12.34. Negative amounts parse;
whether one is allowed is the caller's rule (a spend line allows them on a reversal only).

`convert` rounds once, half to even (banker's rounding, `ROUND_HALF_EVEN`), to the target's minor units, from
the exact product (no intermediate rounding): a result is never more than half a minor unit from the exact
value, and rounding errors do not drift one way over many lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from shared.errors import InvalidInput
from shared.finance.currencies import Currency, currency

__all__ = [
    "MAX_INTEGER_DIGITS",
    "MAX_TEXT_LENGTH",
    "CurrencyMismatch",
    "InvalidAmount",
    "Money",
    "add",
    "convert",
    "format_amount",
    "parse_amount",
    "sum_money",
    "to_decimal",
]

MAX_INTEGER_DIGITS = 15  # up to 999,999,999,999,999 major units: beyond any marketing line, within DynamoDB's 38 digits
MAX_TEXT_LENGTH = 64

_DECIMAL = re.compile(r"(-)?([0-9]+)(?:\.([0-9]+))?")
_EXPONENT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+")
_NOT_FINITE = {"nan", "snan", "qnan", "inf", "infinity"}


class InvalidAmount(InvalidInput):
    """An amount the ledger cannot take; `field` is the field it came in, the message names it and the rule."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class CurrencyMismatch(InvalidInput):
    """Two amounts in different currencies were to be added or compared; the message names both."""


@dataclass(frozen=True, slots=True)
class Money:
    """`minor` units of `currency` (an ISO 4217 code, stored upper case): Money(123456, "USD") is 1234.56 USD.

    Adding or subtracting money of different currencies raises `CurrencyMismatch`."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.minor) is not int:
            raise TypeError(f"Money.minor must be an int of minor units, not {type(self.minor).__name__}")
        code = currency(self.currency, field="currency").code
        if code != self.currency:
            object.__setattr__(self, "currency", code)

    @classmethod
    def zero(cls, currency_code: str) -> Money:
        return cls(0, currency_code)

    @property
    def unit(self) -> Currency:
        return currency(self.currency)

    @property
    def exponent(self) -> int:
        return currency(self.currency).exponent

    def __add__(self, other: Money) -> Money:
        _same_currency(self, other, "add")
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        _same_currency(self, other, "subtract")
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __str__(self) -> str:
        return f"{format_amount(self)} {self.currency}"


def _same_currency(one: Money, other: object, verb: str) -> None:
    if not isinstance(other, Money):
        raise TypeError(f"cannot {verb} {type(other).__name__} and Money")
    if one.currency != other.currency:
        raise CurrencyMismatch(
            f"cannot {verb} {format_amount(one)} {one.currency} and {format_amount(other)} {other.currency}: "
            "convert to one currency first"
        )


def add(one: Money, other: Money) -> Money:
    """`one + other`; `CurrencyMismatch` when the currencies differ."""
    return one + other


def sum_money(amounts: Iterable[Money], currency_code: str) -> Money:
    """The exact sum of `amounts`, all in `currency_code` (the result of an empty sum is zero in it);
    `CurrencyMismatch` naming the first amount in another currency."""
    code = currency(currency_code).code
    total = 0
    for amount in amounts:
        if amount.currency != code:
            raise CurrencyMismatch(
                f"cannot sum {format_amount(amount)} {amount.currency} into a total in {code}: "
                "convert to one currency first"
            )
        total += amount.minor
    return Money(total, code)


def _shown(text: str) -> str:
    return f'"{text}"' if len(text) <= 40 else f'"{text[:40]}..."'


def parse_amount(value: object, currency_code: str, *, field: str = "amount") -> Money:
    """An amount from the edge: a decimal string in major units ("1234.56", "-12.5") or an int of minor units.

    Raises `InvalidAmount` (naming `field` and the limit it breaks) for anything else: see the module's doc.
    An unknown currency raises `UnknownCurrency` naming the code."""
    unit = currency(currency_code, field="currency")
    if isinstance(value, bool):
        raise InvalidAmount(field, 'is true/false, not an amount: write a decimal string ("1234.56") or minor units')
    if isinstance(value, int):
        limit = 10 ** (MAX_INTEGER_DIGITS + unit.exponent)
        if abs(value) >= limit:
            raise InvalidAmount(
                field,
                f"{value} minor units is too large: at most {MAX_INTEGER_DIGITS} digits before the decimal point "
                f"({limit - 1} minor units of {unit.code})",
            )
        return Money(value, unit.code)
    if isinstance(value, float | Decimal):
        raise InvalidAmount(
            field,
            "is a number with a fraction, which cannot hold money exactly: write it as a decimal string "
            '("1234.56") or as an integer of minor units (123456)',
        )
    if not isinstance(value, str):
        raise InvalidAmount(
            field, f'must be a decimal string ("1234.56") or an integer of minor units, not {type(value).__name__}'
        )
    text = value.strip()
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidAmount(field, f"is {len(text)} characters long: at most {MAX_TEXT_LENGTH}")
    if not text:
        raise InvalidAmount(field, 'is empty: write a decimal amount ("1234.56")')
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise InvalidAmount(field, _why_not_decimal(text))
    sign, whole, fraction = match.group(1), match.group(2), match.group(3) or ""
    significant = fraction.rstrip("0")
    if len(significant) > unit.exponent:
        allowed = (
            "whole amounts only (it has no minor unit)"
            if unit.exponent == 0
            else f"at most {unit.exponent} decimal place{'s' if unit.exponent > 1 else ''}"
        )
        raise InvalidAmount(field, f"{_shown(text)} has {len(fraction)} decimal places; {unit.code} allows {allowed}")
    if len(whole.lstrip("0")) > MAX_INTEGER_DIGITS:
        raise InvalidAmount(
            field, f"{_shown(text)} is too large: at most {MAX_INTEGER_DIGITS} digits before the decimal point"
        )
    minor = int(whole) * unit.minor_per_major + int(significant.ljust(unit.exponent, "0") or "0")
    return Money(-minor if sign else minor, unit.code)


def _why_not_decimal(text: str) -> str:
    bare = text.lower().lstrip("+-")
    if bare in _NOT_FINITE:
        return f"{_shown(text)} is not a finite number"
    if _EXPONENT.fullmatch(text):
        return f'{_shown(text)} uses an exponent: write the digits out ("1000.00", not "1e3")'
    if "," in text or " " in text or "_" in text or "'" in text:
        return f'{_shown(text)} has a separator: write a plain decimal with a point ("1234.56")'
    if text.startswith("+"):
        return f'{_shown(text)} starts with "+": write the digits alone ("1234.56")'
    return f'{_shown(text)} is not a decimal amount: digits, an optional "-" and "." ("1234.56")'


def format_amount(money: Money) -> str:
    """The amount as a decimal string with exactly the currency's decimals: "1234.50" USD, "1500" JPY,
    "-0.125" KWD. `parse_amount(format_amount(m), m.currency)` gives `m` back."""
    exponent = money.exponent
    whole, part = divmod(abs(money.minor), 10**exponent)
    sign = "-" if money.minor < 0 else ""
    return f"{sign}{whole}.{part:0{exponent}d}" if exponent else f"{sign}{whole}"


def to_decimal(money: Money) -> Decimal:
    """The amount in major units as an exact `Decimal` with the currency's decimals (Decimal("1234.50"))."""
    return Decimal(format_amount(money))


def convert(money: Money, rate: Decimal, target_currency: str) -> Money:
    """`money` in `target_currency`, where `rate` is what one unit of `money.currency` is worth in the target
    (EUR -> USD at 1.0850: 10.00 EUR is 10.85 USD). Computed exactly, then rounded once, half to even, to the
    target's minor units. `rate` must be a finite, positive `Decimal` (or int); a float is refused."""
    if isinstance(rate, bool) or not isinstance(rate, Decimal | int):
        raise TypeError(f"an FX rate must be a Decimal, not {type(rate).__name__}")
    exact_rate = Decimal(rate)
    if not exact_rate.is_finite() or exact_rate <= 0:
        raise ValueError(f"an FX rate must be finite and positive, not {rate}")
    target = currency(target_currency)
    exact = Fraction(money.minor) * Fraction(exact_rate) * Fraction(target.minor_per_major, money.unit.minor_per_major)
    return Money(round(exact), target.code)  # Fraction.__round__ rounds half to even
