"""Periods (`YYYY-MM`, `YYYY-Qn`) with their days, and the FX table of a period: rates validated exactly, the base
implicit at 1, a missing rate refused naming the currency and the period, a converted amount keeping its rate."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import InvalidInput
from shared.finance.fx import Converted, FxTable, InvalidFxTable, MissingRate, parse_fx
from shared.finance.money import Money
from shared.finance.periods import (
    InvalidPeriod,
    Period,
    PeriodKind,
    contains,
    days_elapsed,
    days_in,
    first_day,
    last_day,
    months_of,
    parse_period,
    period_of,
    quarter_of,
)

SETTINGS = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
NOVEMBER = Period.month(2026, 11)
Q4 = Period.quarter(2026, 4)
days = st.dates(min_value=date(1900, 1, 1), max_value=date(9999, 12, 31))

# --------------------------------------------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("2026-11", Period(PeriodKind.MONTH, 2026, 11)),
        ("2026-01", Period.month(2026, 1)),
        (" 2026-11 ", Period.month(2026, 11)),
        ("2026-Q4", Period(PeriodKind.QUARTER, 2026, 4)),
        ("2026-q1", Period.quarter(2026, 1)),
    ],
)
def test_a_month_or_a_quarter_is_read(text: str, period: Period) -> None:
    assert parse_period(text) == period


def test_a_period_writes_itself_back_as_read() -> None:
    assert str(parse_period("2026-03")) == "2026-03"
    assert str(parse_period("2026-q2")) == "2026-Q2"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2026-13", "the month must be 01 to 12"),
        ("2026-00", "the month must be 01 to 12"),
        ("2026-Q5", "the quarter must be Q1 to Q4"),
        ("2026-Q0", "the quarter must be Q1 to Q4"),
        ("0026-11", "the year must be 1900 to 9999"),
        ("2026-1", "is not a period"),
        ("2026/11", "is not a period"),
        ("26-11", "is not a period"),
        ("2026-11-03", "is not a period"),
        ("2026-H2", "is not a period"),
        ("", "is not a period"),
        ("November", "is not a period"),
    ],
)
def test_anything_else_is_refused_naming_the_field(text: str, words: str) -> None:
    with pytest.raises(InvalidPeriod) as refused:
        parse_period(text, field="period")
    assert str(refused.value).startswith("period: ")
    assert words in str(refused.value)
    assert isinstance(refused.value, InvalidInput)


def test_a_non_text_period_is_refused() -> None:
    with pytest.raises(InvalidPeriod, match="must be text"):
        parse_period(202611)


def test_a_period_that_does_not_exist_cannot_be_built() -> None:
    with pytest.raises(InvalidPeriod):
        Period.month(2026, 13)
    with pytest.raises(InvalidPeriod):
        Period.quarter(2026, 0)


def test_a_quarter_has_its_three_months_and_their_days() -> None:
    # Given the fourth quarter of 2026
    # Then it runs from October 1st to December 31st over three months
    assert months_of(Q4) == (Period.month(2026, 10), Period.month(2026, 11), Period.month(2026, 12))
    assert first_day(Q4) == date(2026, 10, 1)
    assert last_day(Q4) == date(2026, 12, 31)
    assert days_in(Q4) == 92
    assert Q4.days == 92
    assert months_of(NOVEMBER) == (NOVEMBER,)


@pytest.mark.parametrize(
    ("period", "count"),
    [
        *[("2026-02", 28), ("2028-02", 29), ("2100-02", 28), ("2000-02", 29), ("2026-11", 30), ("2026-12", 31)],
        *[("2026-Q1", 90), ("2028-Q1", 91), ("2026-Q2", 91), ("2026-Q3", 92), ("2026-Q4", 92)],
    ],
)
def test_days_in_a_period_follow_the_calendar(period: str, count: int) -> None:
    assert days_in(parse_period(period)) == count


def test_the_day_as_of_counts_as_elapsed() -> None:
    # Given November 2026
    # Then nothing has elapsed before it, one day on the 1st, all 30 on the 30th and after
    assert days_elapsed(NOVEMBER, date(2026, 10, 31)) == 0
    assert days_elapsed(NOVEMBER, date(2026, 11, 1)) == 1
    assert days_elapsed(NOVEMBER, date(2026, 11, 15)) == 15
    assert days_elapsed(NOVEMBER, date(2026, 11, 30)) == 30
    assert days_elapsed(NOVEMBER, date(2027, 3, 1)) == 30
    assert days_elapsed(Q4, date(2026, 11, 1)) == 32


def test_a_day_falls_in_its_month_and_quarter() -> None:
    assert period_of(date(2026, 11, 3)) == NOVEMBER
    assert quarter_of(NOVEMBER) == Q4
    assert quarter_of(date(2026, 1, 31)) == Period.quarter(2026, 1)
    assert quarter_of(Q4) == Q4
    assert contains(NOVEMBER, date(2026, 11, 30))
    assert not contains(NOVEMBER, date(2026, 12, 1))


def test_months_sort_by_date() -> None:
    assert sorted([Period.month(2027, 1), Period.month(2026, 12), Period.month(2026, 2)]) == [
        Period.month(2026, 2),
        Period.month(2026, 12),
        Period.month(2027, 1),
    ]


@SETTINGS
@given(days)
def test_every_day_lies_in_its_month_which_lies_in_its_quarter(day: date) -> None:
    month = period_of(day)
    quarter = quarter_of(month)
    assert contains(month, day)
    assert contains(quarter, day)
    assert quarter_of(day) == quarter
    assert month in months_of(quarter)
    assert parse_period(str(month)) == month
    assert parse_period(str(quarter)) == quarter
    assert days_in(quarter) == sum(days_in(m) for m in months_of(quarter))
    assert first_day(month) + timedelta(days=days_in(month) - 1) == last_day(month)


@SETTINGS
@given(days, days)
def test_days_elapsed_grows_by_one_a_day_within_the_period(day: date, as_of: date) -> None:
    month = period_of(day)
    elapsed = days_elapsed(month, as_of)
    assert 0 <= elapsed <= days_in(month)
    if contains(month, as_of):
        assert elapsed == (as_of - first_day(month)).days + 1


# -------------------------------------------------------------------------------------------------------- fx

RATES = {"EUR": "1.0850", "JPY": "0.0067", "KWD": "3.2500", "GBP": "1.27"}
BODY = {"base": "USD", "rates": RATES}


def test_the_fx_body_of_the_contract_becomes_a_table_of_exact_rates() -> None:
    # Given the FX PUT body of the contract
    # When parsed for November
    table = parse_fx("2026-11", BODY, company_currency="USD")
    # Then each rate is the exact decimal sent, and the base is worth 1
    assert table.period == NOVEMBER
    assert table.base == "USD"
    assert table.rate("EUR") == Decimal("1.0850")
    assert table.rate("eur") == Decimal("1.0850")
    assert table.rate("USD") == Decimal(1)
    assert table.has_rate("jpy")
    assert not table.has_rate("CHF")
    assert list(table.rates) == ["EUR", "GBP", "JPY", "KWD"]


def test_a_converted_amount_keeps_the_rate_it_used() -> None:
    table = parse_fx("2026-11", BODY)
    assert table.to_base(Money(10000, "EUR")) == Converted(Money(10850, "USD"), Decimal("1.0850"))
    assert table.to_base(Money(150000, "JPY")) == Converted(Money(100500, "USD"), Decimal("0.0067"))
    assert table.to_base(Money(1234, "KWD")) == Converted(Money(401, "USD"), Decimal("3.2500"))  # 4.0105 -> 4.01
    assert table.to_base(Money(999, "USD")) == Converted(Money(999, "USD"), Decimal(1))


def test_a_missing_rate_is_refused_naming_the_currency_and_the_period() -> None:
    table = parse_fx("2026-11", BODY)
    with pytest.raises(MissingRate) as refused:
        table.to_base(Money(100, "CHF"))
    assert "no FX rate for CHF in period 2026-11 (base USD)" in str(refused.value)
    assert "PUT /api/v1/integrations/finance/fx/2026-11" in str(refused.value)
    assert isinstance(refused.value, InvalidInput)


def test_the_table_writes_itself_back_as_sent() -> None:
    table = parse_fx("2026-Q4", BODY)
    record = table.to_record()
    assert record == {"period": "2026-Q4", "base": "USD", "rates": {k: RATES[k] for k in sorted(RATES)}}
    assert parse_fx(record["period"], {"base": record["base"], "rates": record["rates"]}) == table


def test_the_base_may_be_listed_at_one_and_only_at_one() -> None:
    assert parse_fx("2026-11", {"base": "USD", "rates": {"USD": "1.000", "EUR": "1.1"}}).rates == {
        "EUR": Decimal("1.1")
    }
    with pytest.raises(InvalidFxTable, match=r"rates.USD: the base currency's rate is 1, not 1.01"):
        parse_fx("2026-11", {"base": "USD", "rates": {"USD": "1.01"}})


@pytest.mark.parametrize(
    ("rates", "words"),
    [
        ({"EUR": "-1.08"}, 'rates.EUR: "-1.08" is not a positive decimal'),
        ({"EUR": "0"}, "rates.EUR: 0 must be positive"),
        ({"EUR": "0.00"}, "rates.EUR: 0.00 must be positive"),
        ({"EUR": 1.085}, "rates.EUR: write the rate as a decimal string"),
        ({"EUR": Decimal("1.085")}, "rates.EUR: write the rate as a decimal string"),
        ({"EUR": True}, "rates.EUR: true/false is not a rate"),
        ({"EUR": None}, "rates.EUR: must be a decimal string"),
        ({"EUR": "1e2"}, "no sign or exponent"),
        ({"EUR": "NaN"}, "is not a positive decimal"),
        ({"EUR": "1,08"}, "is not a positive decimal"),
        ({"EUR": "0.00000000001"}, "rates.EUR: 0.00000000001 has 11 decimal places, at most 10"),
        ({"EUR": "1000000000000"}, "rates.EUR: 1000000000000 is too large"),
        ({"EURO": "1.1"}, 'rates: "EURO" is not an ISO 4217 currency code'),
        ({"XAU": "2300"}, 'rates: "XAU" is gold'),
        ({"EUR": "1.1", "eur": "1.2"}, "rates.EUR: listed twice"),
    ],
)
def test_a_bad_rate_is_refused_naming_the_currency(rates: dict[str, object], words: str) -> None:
    with pytest.raises(InvalidFxTable) as refused:
        parse_fx("2026-11", {"base": "USD", "rates": rates})
    assert str(refused.value).startswith("invalid FX table for 2026-11: ")
    assert words in str(refused.value)


def test_trailing_zeros_do_not_count_as_decimal_places_and_an_integer_rate_is_exact() -> None:
    table = parse_fx("2026-11", {"base": "JPY", "rates": {"USD": 150, "EUR": "0.006700000000"}})
    assert table.rate("USD") == Decimal(150)
    assert table.rate("EUR") == Decimal("0.006700000000")


def test_every_problem_of_a_table_is_named_at_once() -> None:
    # Given a body with an unknown field, a base that is not the company currency and two bad rates
    body = {"base": "EUR", "rate": {}, "rates": {"GBP": "x", "ABC": "1"}}
    # When parsed
    with pytest.raises(InvalidFxTable) as refused:
        parse_fx("2026-11", body, company_currency="USD")
    # Then each is listed
    assert refused.value.problems == (
        'rate: unknown field (the fields are "base" and "rates")',
        "base: must be the company currency USD, not EUR",
        'rates.GBP: "x" is not a positive decimal ("1.0850": digits and a point, no sign or exponent)',
        'rates: "ABC" is not an ISO 4217 currency code',
    )


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ([], "the body must be a JSON object"),
        ({"rates": {}}, "base: required"),
        ({"base": "XYZ", "rates": {}}, 'base: "XYZ" is not an ISO 4217 currency code'),
        ({"base": "USD"}, "rates: required"),
        ({"base": "USD", "rates": ["EUR"]}, "rates: required, an object"),
    ],
)
def test_a_malformed_body_is_refused(body: object, words: str) -> None:
    with pytest.raises(InvalidFxTable, match=words.replace("(", r"\(")):
        parse_fx("2026-11", body)


def test_a_table_for_a_bad_period_is_refused() -> None:
    with pytest.raises(InvalidPeriod):
        parse_fx("2026-13", BODY)


def test_a_table_built_directly_is_validated_too() -> None:
    with pytest.raises(InvalidFxTable, match=r"rates.EUR: must be a Decimal, not float"):
        FxTable(NOVEMBER, "USD", {"EUR": 1.1})  # type: ignore[dict-item]
    with pytest.raises(InvalidFxTable, match='base: "ABC" is not an ISO 4217'):
        FxTable(NOVEMBER, "ABC", {})
    with pytest.raises(TypeError):
        FxTable(NOVEMBER, "USD", {}).rates["EUR"] = Decimal(1)  # type: ignore[index]


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(["EUR", "GBP", "JPY", "KWD", "CHF", "CLF", "BHD"]),
        st.decimals(min_value=Decimal("0.0000000001"), max_value=Decimal("99999"), places=10, allow_nan=False),
        max_size=7,
    ),
    st.integers(-(10**12), 10**12),
)
def test_any_valid_table_round_trips_and_converts_within_half_a_cent(rates: dict[str, Decimal], minor: int) -> None:
    table = FxTable(NOVEMBER, "USD", rates)
    record = table.to_record()
    assert parse_fx(record["period"], {"base": "USD", "rates": record["rates"]}) == table
    for code, rate in rates.items():
        converted = table.to_base(Money(minor, code))
        assert converted.rate == rate
        exact = Fraction(minor, 10 ** Money(minor, code).exponent) * Fraction(rate) * 100
        assert abs(converted.amount.minor - exact) <= Fraction(1, 2)
