"""Money never as a float: ISO 4217 currencies with their exponents, amounts parsed from decimal strings or integer
minor units (and refused, naming the field and the rule, when they cannot be held exactly), formatted back with
exactly the currency's decimals, summed exactly, converted once with half-to-even rounding."""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import InvalidInput
from shared.finance.currencies import CURRENCIES, Currency, UnknownCurrency, currency, is_currency
from shared.finance.money import (
    MAX_INTEGER_DIGITS,
    CurrencyMismatch,
    InvalidAmount,
    Money,
    add,
    convert,
    format_amount,
    parse_amount,
    sum_money,
    to_decimal,
)

SETTINGS = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

codes = st.sampled_from(sorted(CURRENCIES))
minor_units = st.integers(-(10**17), 10**17)


@st.composite
def money(draw: st.DrawFn, code: str | None = None) -> Money:
    chosen = code or draw(codes)
    limit = 10 ** (MAX_INTEGER_DIGITS + CURRENCIES[chosen].exponent) - 1
    return Money(draw(st.integers(-limit, limit)), chosen)


rates = st.decimals(min_value=Decimal("0.0000000001"), max_value=Decimal("100000"), places=10, allow_nan=False)

# ------------------------------------------------------------------------------------------------ currencies


EXPONENTS = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "XOF": 0}
EXPONENTS |= {"KWD": 3, "BHD": 3, "JOD": 3, "OMR": 3, "TND": 3, "IQD": 3, "LYD": 3, "CLF": 4, "UYW": 4}


@pytest.mark.parametrize(("code", "exponent"), sorted(EXPONENTS.items()))
def test_each_currency_has_the_exponent_iso_4217_gives_it(code: str, exponent: int) -> None:
    # When the currency is looked up
    found = currency(code)
    # Then it carries ISO 4217's minor unit
    assert found == Currency(code, exponent, found.name)
    assert found.minor_per_major == 10**exponent


def test_every_active_code_is_listed_and_none_without_a_minor_unit() -> None:
    # Given the table
    # Then it holds the active national currencies and funds codes, each with an exponent 0 to 4
    assert len(CURRENCIES) >= 160
    assert {"USD", "EUR", "CHF", "CNY", "INR", "BRL", "ZAR", "AED", "SGD", "MXN", "BOV", "USN", "XCG"} <= set(
        CURRENCIES
    )
    assert all(c.exponent in (0, 2, 3, 4) and len(code) == 3 and code.isupper() for code, c in CURRENCIES.items())
    # And no metal or unit of account (ISO gives them no minor unit)
    assert not {"XAU", "XAG", "XPT", "XPD", "XDR", "XTS", "XXX"} & set(CURRENCIES)


def test_a_code_is_read_upper_case_without_surrounding_spaces() -> None:
    assert currency(" usd ").code == "USD"
    assert Currency.of("jpy").exponent == 0
    assert is_currency("eur")
    assert not is_currency("EURO")


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("XYZ", '"XYZ" is not an ISO 4217 currency code'),
        ("EURO", '"EURO" is not an ISO 4217 currency code (three letters'),
        ("", "is not an ISO 4217 currency code (three letters"),
        ("XAU", '"XAU" is gold: ISO 4217 gives it no minor unit'),
        ("XDR", '"XDR" is the IMF special drawing right'),
        ("HRK", '"HRK" was withdrawn from ISO 4217: use EUR'),
        ("VEF", "use VES"),
    ],
)
def test_an_unknown_currency_is_refused_naming_the_code(code: str, words: str) -> None:
    # When a code that is not a currency with a minor unit is looked up
    with pytest.raises(UnknownCurrency) as refused:
        currency(code, field="currency")
    # Then the message names the field and the code, and says why
    assert str(refused.value).startswith("currency: ")
    assert words in str(refused.value)
    assert isinstance(refused.value, InvalidInput)


def test_a_non_text_currency_is_refused() -> None:
    with pytest.raises(UnknownCurrency, match="write the ISO 4217 code as text"):
        currency(840)


# --------------------------------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("value", "code", "minor"),
    [
        ("1234.56", "USD", 123456),
        ("1234.5", "USD", 123450),
        ("1234", "USD", 123400),
        ("0.01", "USD", 1),
        ("-12.34", "USD", -1234),
        (" 12.34 ", "USD", 1234),
        ("007.50", "USD", 750),
        ("1500", "JPY", 1500),
        ("1500.00", "JPY", 1500),  # trailing zeros are exact
        ("12.3400", "USD", 1234),
        ("1.234", "KWD", 1234),
        ("0.0001", "CLF", 1),
        (123456, "USD", 123456),  # an integer is minor units
        (1500, "JPY", 1500),
        (-5, "KWD", -5),
        ("999999999999999.99", "USD", 99999999999999999),
    ],
)
def test_an_amount_is_read_exactly_into_minor_units(value: str | int, code: str, minor: int) -> None:
    assert parse_amount(value, code, field="amount") == Money(minor, code)


@pytest.mark.parametrize(
    ("value", "code", "words"),
    [
        ("12.345", "USD", '"12.345" has 3 decimal places; USD allows at most 2 decimal places'),
        ("1.5", "JPY", '"1.5" has 1 decimal places; JPY allows whole amounts only'),
        ("0.0005", "KWD", "KWD allows at most 3 decimal places"),
        (12.5, "USD", "a number with a fraction, which cannot hold money exactly"),
        (Decimal("12.50"), "USD", "write it as a decimal string"),
        (True, "USD", "is true/false, not an amount"),
        (None, "USD", "must be a decimal string"),
        (["1"], "USD", "not list"),
        ("NaN", "USD", '"NaN" is not a finite number'),
        ("-Infinity", "USD", "is not a finite number"),
        ("inf", "USD", "is not a finite number"),
        ("1e3", "USD", 'uses an exponent: write the digits out ("1000.00", not "1e3")'),
        ("1.5E+2", "USD", "uses an exponent"),
        ("1,234.56", "USD", "has a separator"),
        ("1 234", "USD", "has a separator"),
        ("+12", "USD", 'starts with "+"'),
        ("12.", "USD", "is not a decimal amount"),
        (".5", "USD", "is not a decimal amount"),
        ("12 USD", "USD", "has a separator"),
        ("١٢", "USD", "is not a decimal amount"),  # Arabic-Indic digits are not ASCII digits
        ("", "USD", "is empty"),
        ("   ", "USD", "is empty"),
        ("1" * 65, "USD", "is 65 characters long: at most 64"),
        ("1" + "0" * 15, "USD", "is too large: at most 15 digits before the decimal point"),
        (10**17, "USD", "is too large: at most 15 digits before the decimal point (99999999999999999 minor units"),
        (-(10**15), "JPY", "is too large"),
    ],
)
def test_an_amount_that_cannot_be_held_exactly_is_refused_naming_the_field_and_the_limit(
    value: object, code: str, words: str
) -> None:
    # When the amount is parsed for field lines[3].amount
    with pytest.raises(InvalidAmount) as refused:
        parse_amount(value, code, field="lines[3].amount")
    # Then the error names the field and the rule it breaks
    assert str(refused.value).startswith("lines[3].amount: ")
    assert words in str(refused.value)
    assert refused.value.field == "lines[3].amount"
    assert isinstance(refused.value, InvalidInput)


def test_an_amount_in_an_unknown_currency_is_refused_naming_the_code() -> None:
    with pytest.raises(UnknownCurrency, match='currency: "ABC" is not an ISO 4217 currency code'):
        parse_amount("1.00", "ABC", field="amount")


def test_the_largest_integer_of_minor_units_is_accepted_and_one_more_refused() -> None:
    limit = 10 ** (MAX_INTEGER_DIGITS + 2) - 1
    assert parse_amount(limit, "USD").minor == limit
    with pytest.raises(InvalidAmount):
        parse_amount(limit + 1, "USD")


@SETTINGS
@given(money())
def test_formatting_then_parsing_gives_the_same_money(amount: Money) -> None:
    # Given any amount, When formatted and parsed back
    text = format_amount(amount)
    # Then it is the same money, written with exactly the currency's decimals
    assert parse_amount(text, amount.currency) == amount
    decimals = len(text.split(".")[1]) if "." in text else 0
    assert decimals == amount.exponent
    assert to_decimal(amount) == Decimal(amount.minor).scaleb(-amount.exponent)


@SETTINGS
@given(codes, st.integers(0, 10**15 - 1), st.integers(0, 10**4 - 1), st.booleans())
def test_a_decimal_string_is_worth_exactly_its_value(code: str, whole: int, fraction: int, negative: bool) -> None:
    # Given a decimal string with no more decimals than the currency allows
    exponent = CURRENCIES[code].exponent
    digits = str(fraction % 10**exponent).zfill(exponent) if exponent else ""
    text = ("-" if negative else "") + str(whole) + (f".{digits}" if digits else "")
    # When parsed
    parsed = parse_amount(text, code)
    # Then its minor units are exactly its value times 10^exponent
    assert Fraction(parsed.minor, 10**exponent) == Fraction(Decimal(text))


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Money(123450, "USD"), "1234.50"),
        (Money(-5, "USD"), "-0.05"),
        (Money(0, "EUR"), "0.00"),
        (Money(150000, "JPY"), "150000"),
        (Money(-125, "KWD"), "-0.125"),
        (Money(1, "CLF"), "0.0001"),
    ],
)
def test_an_amount_is_formatted_with_exactly_the_currency_decimals(amount: Money, text: str) -> None:
    assert format_amount(amount) == text


def test_money_keeps_an_upper_case_code_and_refuses_anything_but_int_minor_units() -> None:
    assert Money(100, "usd").currency == "USD"
    assert str(Money(100, "usd")) == "1.00 USD"
    with pytest.raises(TypeError, match="int of minor units"):
        Money(1.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="int of minor units"):
        Money(True, "USD")
    with pytest.raises(UnknownCurrency):
        Money(1, "XAU")


# ----------------------------------------------------------------------------------------------- arithmetic


def test_ten_dimes_make_exactly_one_dollar() -> None:
    # Given ten amounts of 0.10 USD (as floats, 0.1 * 10 != 1.0)
    dimes = [parse_amount("0.10", "USD")] * 10
    # When summed
    # Then the total is exactly 1.00
    assert sum_money(dimes, "USD") == Money(100, "USD")


def test_money_in_different_currencies_is_never_added() -> None:
    # Given amounts in USD and EUR
    usd, eur = Money(100, "USD"), Money(100, "EUR")
    # Then adding, subtracting or summing them is refused, naming both
    with pytest.raises(CurrencyMismatch, match=r"cannot add 1.00 USD and 1.00 EUR"):
        add(usd, eur)
    with pytest.raises(CurrencyMismatch, match="cannot subtract"):
        _ = usd - eur
    with pytest.raises(CurrencyMismatch, match=r"cannot sum 1.00 EUR into a total in USD"):
        sum_money([usd, eur], "USD")


def test_an_empty_sum_is_zero_in_the_currency() -> None:
    assert sum_money([], "JPY") == Money.zero("JPY")


@SETTINGS
@given(codes.flatmap(lambda code: st.lists(money(code), max_size=30).map(lambda many: (code, many))))
def test_sums_are_exact_and_do_not_depend_on_order(case: tuple[str, list[Money]]) -> None:
    code, amounts = case
    total = sum_money(amounts, code)
    assert total.minor == sum(a.minor for a in amounts)
    assert sum_money(reversed(amounts), code) == total
    if amounts:
        running = amounts[0]
        for amount in amounts[1:]:
            running = running + amount
        assert running == total
        assert total - amounts[0] == sum_money(amounts[1:], code)
        negated = -total
        assert -negated == total


# ----------------------------------------------------------------------------------------------- conversion


@pytest.mark.parametrize(
    ("amount", "rate", "target", "converted"),
    [
        (Money(10000, "EUR"), "1.0850", "USD", Money(10850, "USD")),
        (Money(150000, "JPY"), "0.0067", "USD", Money(100500, "USD")),
        (Money(1000, "KWD"), "3.2500", "USD", Money(325, "USD")),  # 1.000 KWD -> 3.25 USD
        (Money(100, "USD"), "0.3070", "KWD", Money(307, "KWD")),
        (Money(100, "USD"), "149.5", "JPY", Money(150, "JPY")),  # 149.5 -> 150 (even)
        (Money(100, "USD"), "150.5", "JPY", Money(150, "JPY")),  # 150.5 -> 150 (even), not 151
        (Money(1, "USD"), "0.5", "EUR", Money(0, "EUR")),  # 0.5 cent -> 0 (even)
        (Money(3, "USD"), "0.5", "EUR", Money(2, "EUR")),  # 1.5 cents -> 2 (even)
        (Money(-3, "USD"), "0.5", "EUR", Money(-2, "EUR")),  # symmetric for reversals
        (Money(12345, "USD"), "1", "USD", Money(12345, "USD")),
    ],
)
def test_conversion_rounds_once_half_to_even_to_the_target_minor_units(
    amount: Money, rate: str, target: str, converted: Money
) -> None:
    assert convert(amount, Decimal(rate), target) == converted


@pytest.mark.parametrize("rate", [Decimal(0), Decimal(-1), Decimal("NaN"), Decimal("Infinity")])
def test_a_rate_must_be_finite_and_positive(rate: Decimal) -> None:
    with pytest.raises(ValueError, match="finite and positive"):
        convert(Money(100, "USD"), rate, "EUR")


def test_a_float_rate_is_refused() -> None:
    with pytest.raises(TypeError, match="must be a Decimal"):
        convert(Money(100, "USD"), 1.1, "EUR")  # type: ignore[arg-type]


@SETTINGS
@given(money(), rates, codes)
def test_a_conversion_is_within_half_a_minor_unit_of_the_exact_value(amount: Money, rate: Decimal, target: str) -> None:
    # When converted
    converted = convert(amount, rate, target)
    # Then it is the exact value rounded: never more than half a target minor unit away
    scale = Fraction(10 ** CURRENCIES[target].exponent, 10 ** CURRENCIES[amount.currency].exponent)
    exact = amount.minor * Fraction(rate) * scale
    assert abs(converted.minor - exact) <= Fraction(1, 2)
    if abs(converted.minor - exact) == Fraction(1, 2):
        assert converted.minor % 2 == 0  # a tie goes to the even neighbour


@st.composite
def round_trips(draw: st.DrawFn) -> tuple[Money, Decimal, str]:
    """An amount, a target currency and a rate at which one minor unit of the source is worth at least one of
    the target (converting onto a grid at least as fine)."""
    amount = draw(money())
    target = draw(codes)
    floor = Decimal(10) ** (CURRENCIES[amount.currency].exponent - CURRENCIES[target].exponent)
    rate = draw(st.decimals(min_value=floor, max_value=floor * 10**6, places=10, allow_nan=False))
    return amount, rate, target


@SETTINGS
@given(round_trips())
def test_a_round_trip_through_a_finer_currency_comes_back_within_one_minor_unit(
    case: tuple[Money, Decimal, str],
) -> None:
    # Given a rate at which one minor unit of the source is worth at least one of the target
    amount, rate, target = case
    scale = Fraction(10 ** CURRENCIES[target].exponent, 10 ** CURRENCIES[amount.currency].exponent)
    assert Fraction(rate) * scale >= 1
    with localcontext() as context:
        context.prec = 80
        inverse = Decimal(1) / rate
    # When converted there and back
    back = convert(convert(amount, rate, target), inverse, amount.currency)
    # Then the amount is the same within one minor unit
    assert abs(back.minor - amount.minor) <= 1


@SETTINGS
@given(money(), money(), rates, codes)
def test_conversion_keeps_the_order_of_amounts(one: Money, other: Money, rate: Decimal, target: str) -> None:
    other = Money(other.minor, one.currency)
    low, high = sorted([one, other], key=lambda m: m.minor)
    assert convert(low, rate, target).minor <= convert(high, rate, target).minor
