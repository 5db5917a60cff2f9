"""Spend lines: read from the contract's JSON (or a CSV row) against the finance file's vocabularies, every bad
field named (with its line in a batch, and a bad line refusing the whole batch), reversals that negate their
original exactly, the canonical record, and the fields a 409 names."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import InvalidInput
from shared.finance.money import Money
from shared.finance.service_periods import ServicePeriod, latest_end
from shared.finance.spend import (
    SPEND_FIELDS,
    FieldProblem,
    InvalidReversal,
    InvalidSpendBatch,
    InvalidSpendLine,
    SpendLine,
    check_reversal,
    differing_fields,
    parse_spend_batch,
    parse_spend_line,
    reversal_of,
    spend_from_record,
    spend_record,
    validate_spend_line,
)
from tests.unit.test_finance_config import CHANNELS, DEPARTMENTS, finance_config

SETTINGS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
CONFIG = finance_config()


def line_dict(spend_id: str | int = "gads-2026-11-03-001", **overrides: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "spend_id": spend_id,
        "campaign_id": "q4-launch",
        "channel": "paid_search",
        "department": "marketing",
        "vendor": "Google Ads",
        "amount": "1234.56",
        "currency": "USD",
        "incurred_on": "2026-11-03",
        "reference": "INV-2026-1103",
        "description": "Search ads, 3 November",
    }
    line.update(overrides)
    return line


ORIGINAL = parse_spend_line(line_dict("s-1"), CONFIG)


def problems_of(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidSpendLine) as refused:
        parse_spend_line(raw, CONFIG)
    assert isinstance(refused.value, InvalidInput)
    return {p.field: p.message for p in refused.value.problems}


# ---------------------------------------------------------------------------------------------- one line


def test_a_line_of_the_contract_is_read() -> None:
    # Given the contract's spend line
    # When read
    line = parse_spend_line(line_dict(), CONFIG)
    # Then every field is kept, the amount in exact minor units
    assert line == SpendLine(
        spend_id="gads-2026-11-03-001",
        campaign_id="q4-launch",
        channel="paid_search",
        department="marketing",
        vendor="Google Ads",
        amount=Money(123456, "USD"),
        incurred_on=date(2026, 11, 3),
        reference="INV-2026-1103",
        description="Search ads, 3 November",
        reverses=None,
    )
    assert line.key == ("marketing", "paid_search", "q4-launch")
    assert str(line.period) == "2026-11"
    assert not line.is_reversal


def test_optional_fields_may_be_left_out_or_empty() -> None:
    raw = line_dict(campaign_id="", reference="  ", description=None)
    line = parse_spend_line(raw, CONFIG)
    assert (line.campaign_id, line.reference, line.description) == (None, None, None)
    assert line.key == ("marketing", "paid_search", None)


def test_what_exports_write_differently_is_read_the_same() -> None:
    # Given an ad platform's export: minor units, lower-case currency, capitalised channel, numeric ids, spaces
    raw = line_dict(
        spend_id=123456789,
        campaign_id=987,
        reference=4711,
        channel=" Paid_Search ",
        department="MARKETING",
        amount=100000,
        currency="jpy",
        vendor="  Yahoo! JAPAN  ",
    )
    line = parse_spend_line(raw, CONFIG)
    assert (line.spend_id, line.campaign_id, line.reference) == ("123456789", "987", "4711")
    assert (line.channel, line.department, line.vendor) == ("paid_search", "marketing", "Yahoo! JAPAN")
    assert line.amount == Money(100000, "JPY")


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"channel": "tv"}, "channel", '"tv" is not a channel of the finance file (paid_search, paid_social,'),
        ({"department": "legal"}, "department", '"legal" is not a department of the finance file (marketing,'),
        ({"currency": "XYZ"}, "currency", '"XYZ" is not an ISO 4217 currency code'),
        ({"currency": None}, "currency", "required, an ISO 4217 code"),
        ({"amount": "12.345"}, "amount", '"12.345" has 3 decimal places; USD allows at most 2 decimal places'),
        ({"amount": "1500.5", "currency": "JPY"}, "amount", "JPY allows whole amounts only"),
        ({"amount": 12.5}, "amount", "cannot hold money exactly"),
        ({"amount": "1e3"}, "amount", "uses an exponent"),
        ({"amount": None}, "amount", "required"),
        ({"amount": "0.00"}, "amount", "must not be zero"),
        ({"amount": "-10.00"}, "amount", "-10.00 is negative: only a reversal"),
        ({"amount": "10.00", "reverses": "s-0"}, "amount", "a reversal negates the original's amount"),
        ({"spend_id": None}, "spend_id", "required"),
        ({"spend_id": "has space"}, "spend_id", '"has space" is not an id'),
        ({"spend_id": "x" * 129}, "spend_id", "is not an id"),
        ({"spend_id": True}, "spend_id", "must be text, not true/false"),
        ({"campaign_id": ["a"]}, "campaign_id", "must be text, not a list"),
        ({"vendor": ""}, "vendor", "required"),
        ({"vendor": "v" * 201}, "vendor", "is 201 characters long, at most 200"),
        ({"description": "d" * 2001}, "description", "at most 2000"),
        ({"reference": {"po": 1}}, "reference", "must be text, not an object"),
        ({"incurred_on": "03/11/2026"}, "incurred_on", '"03/11/2026" is not a date "YYYY-MM-DD"'),
        ({"incurred_on": "2026-02-30"}, "incurred_on", '"2026-02-30" is not a calendar date'),
        ({"incurred_on": 20261103}, "incurred_on", 'a number is not a date "YYYY-MM-DD"'),
        ({"incurred_on": None}, "incurred_on", "required"),
        ({"reverses": "gads-2026-11-03-001", "amount": "-1.00"}, "reverses", "a line cannot reverse itself"),
        ({"ammount": "1.00"}, "ammount", "unknown field (the fields are spend_id, campaign_id,"),
        (
            {"incurred_on": None, "service_period": {"from": "2026-11-02", "to": "2026-11-01"}},
            "service_period",
            "to (2026-11-01) is before from (2026-11-02)",
        ),
        (
            {"incurred_on": None, "service_period": {"from": "2026-11-15", "to": "2029-11-15"}},
            "service_period",
            "from 2026-11-15 to 2029-11-15 is longer than 36 months: it may run to 2029-11-14 at the latest",
        ),
        (
            {"service_period": {"from": "2026-11-01", "to": "2026-11-30"}},
            "service_period",
            "a line has incurred_on or a service_period, not both",
        ),
        ({"incurred_on": None}, "incurred_on", 'or, instead, a service_period {"from", "to"}'),
        ({"incurred_on": "", "service_period": {}}, "service_period.from", "required, the first day"),
        ({"incurred_on": None, "service_period": {"from": "2026-11-01"}}, "service_period.to", "required, the last"),
        (
            {"incurred_on": None, "service_period": {"from": "2026-11-01", "to": "2026-11-31"}},
            "service_period.to",
            '"2026-11-31" is not a calendar date',
        ),
        ({"incurred_on": None, "service_period": "2026-11"}, "service_period", "must be an object"),
        (
            {"incurred_on": None, "service_period": {"from": "2026-11-01", "to": "2026-11-02", "days": 2}},
            "service_period",
            "unknown field days (a service period has from and to)",
        ),
        ({"corrects": "gads-2026-11-03-001"}, "corrects", "a line cannot correct itself"),
        ({"corrects": "x", "reverses": "y", "amount": "-1.00"}, "corrects", "a reversal corrects nothing"),
        ({"corrects": "has space"}, "corrects", "is not an id"),
    ],
)
def test_a_bad_field_is_refused_naming_it(overrides: dict[str, Any], field: str, words: str) -> None:
    # When a line with one bad field is read
    problems = problems_of(line_dict(**overrides))
    # Then that field is named with the rule it breaks
    assert words in problems[field], problems


def test_every_bad_field_of_a_line_is_named_at_once() -> None:
    raw = line_dict(channel="tv", department="legal", amount="-5", vendor="", incurred_on="soon")
    assert sorted(problems_of(raw)) == ["amount", "channel", "department", "incurred_on", "vendor"]


def test_a_line_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidSpendLine, match="line: must be an object of spend fields, not a list"):
        parse_spend_line([1, 2], CONFIG)


def test_a_line_over_a_service_period_is_read_with_its_months() -> None:
    # Given an annual subscription paid once, over a service period instead of a day
    raw = line_dict(incurred_on=None, service_period={"from": "2026-11-16", "to": "2027-11-15"}, corrects="s-0")
    # When read
    line = parse_spend_line(raw, CONFIG)
    # Then it keeps the period (both days inclusive) and counts in the 13 months it touches, from its first
    assert line.service_period == ServicePeriod(date(2026, 11, 16), date(2027, 11, 15))
    assert line.incurred_on is None
    assert line.corrects == "s-0"
    assert (str(line.period), line.first_day) == ("2026-11", date(2026, 11, 16))
    assert [str(month) for month in line.months][::12] == ["2026-11", "2027-11"]
    assert len(line.months) == 13
    assert line.listed_on(line.months[1]) == date(2026, 12, 1)
    # And its record holds the period as the contract writes it
    assert spend_record(line)["service_period"] == {"from": "2026-11-16", "to": "2027-11-15"}
    assert spend_record(line)["incurred_on"] is None
    assert spend_from_record(json.loads(json.dumps(spend_record(line)))) == line


def test_a_line_has_exactly_one_of_incurred_on_and_a_service_period() -> None:
    with pytest.raises(ValueError, match="exactly one of incurred_on and service_period"):
        replace(ORIGINAL, service_period=ServicePeriod(date(2026, 11, 1), date(2026, 11, 2)))
    with pytest.raises(ValueError, match="exactly one of incurred_on and service_period"):
        replace(ORIGINAL, incurred_on=None)


def test_a_batch_names_the_line_and_field_of_a_bad_service_period() -> None:
    batch = [
        line_dict("s-1"),
        line_dict("s-2", incurred_on=None, service_period={"from": "2026-12-01", "to": "2026-11-30"}),
    ]
    with pytest.raises(InvalidSpendBatch) as refused:
        parse_spend_batch(batch, CONFIG)
    assert [(p.line, p.field) for p in refused.value.problems] == [(2, "service_period")]


def test_a_reversal_of_a_service_period_line_mirrors_its_period() -> None:
    original = parse_spend_line(
        line_dict("s-9", incurred_on=None, service_period={"from": "2026-11-01", "to": "2027-01-31"}), CONFIG
    )
    check_reversal(original, reversal_of(original, "s-9-rev"))
    shorter = parse_spend_line(
        line_dict("s-9-rev", amount="-1234.56", reverses="s-9", incurred_on=None,
                  service_period={"from": "2026-11-01", "to": "2026-12-31"}),
        CONFIG,
    )  # fmt: skip
    with pytest.raises(InvalidReversal) as refused:
        check_reversal(original, shorter)
    assert refused.value.fields == ("service_period",)
    assert "must be 2026-11-01 to 2027-01-31 as on the original, not 2026-11-01 to 2026-12-31" in str(refused.value)
    on_a_day = parse_spend_line(line_dict("s-9-rev", amount="-1234.56", reverses="s-9"), CONFIG)
    with pytest.raises(InvalidReversal) as refused:
        check_reversal(original, on_a_day)
    assert refused.value.fields == ("incurred_on", "service_period")


def test_a_reversal_line_is_read_with_its_negative_amount() -> None:
    line = parse_spend_line(line_dict("s-1-rev", amount="-1234.56", reverses="s-1"), CONFIG)
    assert line.amount == Money(-123456, "USD")
    assert line.is_reversal
    check_reversal(ORIGINAL, line)


# --------------------------------------------------------------------------------------------------- batches


def test_a_batch_is_read_whole() -> None:
    lines = parse_spend_batch([line_dict(f"s-{n}") for n in range(3)], CONFIG)
    assert [line.spend_id for line in lines] == ["s-0", "s-1", "s-2"]


def test_a_batch_with_a_bad_line_is_refused_whole_naming_each_line_and_field() -> None:
    # Given five lines, the second and fourth of them bad
    batch = [line_dict(f"s-{n}") for n in range(5)]
    batch[1]["channel"] = "tv"
    batch[3].update(amount="1.001", currency="USD")
    # When read, Then the batch is refused, the problems naming line 2's channel and line 4's amount
    with pytest.raises(InvalidSpendBatch) as refused:
        parse_spend_batch(batch, CONFIG)
    assert [(p.line, p.field) for p in refused.value.problems] == [(2, "channel"), (4, "amount")]
    assert str(refused.value).startswith("invalid spend batch (lines 2, 4), nothing stored: line 2: channel: ")
    assert refused.value.problems[0].as_error() == {
        "line": 2,
        "field": "channel",
        "message": refused.value.problems[0].message,
    }


def test_a_batch_over_the_limit_is_refused_before_any_line_is_read() -> None:
    with pytest.raises(InvalidSpendBatch, match="lines: 501 spend lines in one batch, at most 500"):
        parse_spend_batch([{}] * 501, CONFIG)
    assert len(parse_spend_batch([line_dict(f"s-{n}") for n in range(500)], CONFIG)) == 500


def test_a_spend_id_appears_once_in_a_batch() -> None:
    with pytest.raises(InvalidSpendBatch) as refused:
        parse_spend_batch([line_dict("a"), line_dict("b"), line_dict("a")], CONFIG)
    assert refused.value.problems == (FieldProblem(3, "spend_id", '"a" is also line 1'),)


@pytest.mark.parametrize("lines", [[], {"lines": []}, "a,b"])
def test_a_batch_is_a_non_empty_list(lines: object) -> None:
    with pytest.raises(InvalidSpendBatch, match="lines: must"):
        parse_spend_batch(lines, CONFIG)


def test_a_reversal_of_a_line_of_the_same_batch_must_negate_it() -> None:
    good = [line_dict("s-1"), line_dict("s-1-rev", amount="-1234.56", reverses="s-1")]
    assert len(parse_spend_batch(good, CONFIG)) == 2
    bad = [line_dict("s-1"), line_dict("s-1-rev", amount="-1234.00", channel="display", reverses="s-1")]
    with pytest.raises(InvalidSpendBatch) as refused:
        parse_spend_batch(bad, CONFIG)
    assert [(p.line, p.field) for p in refused.value.problems] == [(2, "amount"), (2, "channel")]


# ------------------------------------------------------------------------------------------------- reversals


def test_a_reversal_built_from_the_original_negates_it_exactly() -> None:
    reversal = reversal_of(ORIGINAL, "s-1-rev", description="duplicate invoice")
    assert reversal.amount == Money(-123456, "USD")
    assert reversal.key == ORIGINAL.key
    assert reversal.incurred_on == ORIGINAL.incurred_on
    assert reversal.reverses == "s-1"
    check_reversal(ORIGINAL, reversal)


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"amount": "-1234.55"}, "amount", "must be -1234.56 (the original's amount negated), not -1234.55"),
        ({"amount": "-1234.56", "currency": "EUR"}, "currency", "must be USD as on the original, not EUR"),
        ({"channel": "display"}, "channel", 'must be "paid_search" as on the original, not "display"'),
        ({"department": "sales"}, "department", 'must be "marketing" as on the original'),
        ({"campaign_id": None}, "campaign_id", 'must be "q4-launch" as on the original, not absent'),
        ({"vendor": "Bing"}, "vendor", 'must be "Google Ads" as on the original'),
        ({"incurred_on": "2026-12-01"}, "incurred_on", 'must be "2026-11-03" as on the original, not "2026-12-01"'),
        ({"reverses": "s-2"}, "reverses", 'names "s-2", not the original "s-1"'),
    ],
)
def test_a_reversal_that_does_not_negate_its_original_is_refused_naming_the_field(
    overrides: dict[str, Any], field: str, words: str
) -> None:
    raw = line_dict("s-1-rev", reverses="s-1", amount="-1234.56") | overrides
    reversal = parse_spend_line(raw, CONFIG)
    with pytest.raises(InvalidReversal) as refused:
        check_reversal(ORIGINAL, reversal)
    assert refused.value.fields == (field,)
    assert str(refused.value).startswith('reversal "s-1-rev" of "s-1": ')
    assert words in str(refused.value)


def test_a_reversal_may_say_why_in_its_own_reference_and_description() -> None:
    raw = line_dict("s-1-rev", reverses="s-1", amount="-1234.56", reference="CN-77", description="credit note")
    check_reversal(ORIGINAL, parse_spend_line(raw, CONFIG))


def test_a_reversal_cannot_be_reversed() -> None:
    # Given a reversal of the original
    reversal = reversal_of(ORIGINAL, "s-1-rev")
    # When a line tries to reverse the reversal (to reinstate the original)
    again = replace(reversal, spend_id="s-1-rev-rev", amount=-reversal.amount, reverses="s-1-rev")
    # Then it is refused: the line is recorded again under a new spend_id instead
    with pytest.raises(InvalidReversal, match=r'"s-1-rev" is itself a reversal \(of "s-1"\) and cannot be reversed'):
        check_reversal(reversal, again)


# ---------------------------------------------------------------------------------------- records, conflicts


def test_the_canonical_record_holds_every_field_as_text() -> None:
    record = spend_record(ORIGINAL)
    assert list(record) == list(SPEND_FIELDS)
    assert record["amount"] == "1234.56"
    assert record["currency"] == "USD"
    assert record["incurred_on"] == "2026-11-03"
    assert record["reverses"] is None
    assert json.loads(json.dumps(record)) == record
    assert spend_from_record(record) == ORIGINAL


def test_a_repeat_with_the_same_amount_written_differently_is_the_same_line() -> None:
    # Given the stored line, and a repeat sending the amount as minor units and the channel capitalised
    repeat = parse_spend_line(line_dict("s-1", amount=123456, channel="Paid_Search"), CONFIG)
    # Then nothing differs: the repeat gets the stored line (200), not a conflict
    assert differing_fields(ORIGINAL, repeat) == []


def test_a_repeat_with_a_different_body_names_the_fields_in_contract_order() -> None:
    repeat = parse_spend_line(line_dict("s-1", vendor="Bing Ads", amount="1234.50", description=None), CONFIG)
    assert differing_fields(ORIGINAL, repeat) == ["vendor", "amount", "description"]
    in_euro = parse_spend_line(line_dict("s-1", currency="EUR"), CONFIG)
    assert differing_fields(ORIGINAL, in_euro) == ["currency"]


def test_a_stored_line_is_checked_against_a_newer_file() -> None:
    # Given a line stored under a file that had the channel "tv", read back under one that has not
    stored = spend_from_record(spend_record(ORIGINAL) | {"channel": "tv", "department": "legal"})
    # Then the check names both
    assert [p.field for p in validate_spend_line(stored, CONFIG)] == ["channel", "department"]
    assert validate_spend_line(ORIGINAL, CONFIG) == []
    assert validate_spend_line(reversal_of(ORIGINAL, "r"), CONFIG) == []


# ---------------------------------------------------------------------------------------------- properties

ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:@/#+=-]{0,20}", fullmatch=True)
texts = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=30
)


@st.composite
def spend_lines(draw: st.DrawFn) -> SpendLine:
    code = draw(st.sampled_from(["USD", "EUR", "JPY", "KWD", "CLF", "GBP"]))
    reverses = draw(st.none() | ids)
    magnitude = draw(st.integers(1, 10**15 - 1))  # within every currency's 15 integer digits
    day = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
    span = None
    if draw(st.booleans()):
        span = ServicePeriod(day, draw(st.dates(min_value=day, max_value=latest_end(day))))
    return SpendLine(
        spend_id=draw(ids),
        campaign_id=draw(st.none() | ids),
        channel=draw(st.sampled_from(CHANNELS)),
        department=draw(st.sampled_from(DEPARTMENTS)),
        vendor=draw(texts),
        amount=Money(-magnitude if reverses else magnitude, code),
        incurred_on=None if span else day,
        reference=draw(st.none() | texts),
        description=draw(st.none() | texts),
        reverses=reverses,
        service_period=span,
        corrects=None if reverses else draw(st.none() | ids),
    )


@SETTINGS
@given(spend_lines())
def test_any_line_round_trips_through_its_record_and_the_contract(line: SpendLine) -> None:
    record = spend_record(line)
    # the record holds text only (decimal strings, never floats; a service period two dates), and reads back to
    # the same line
    texts = [record[f] for f in SPEND_FIELDS if f != "service_period"] + list((record["service_period"] or {}).values())
    assert all(value is None or isinstance(value, str) for value in texts)
    assert spend_from_record(json.loads(json.dumps(record))) == line
    # and, posted as a body, it is the same line (when it does not reverse or correct itself)
    if line.spend_id not in (line.reverses, line.corrects):
        body = {key: value for key, value in record.items() if value is not None}
        assert parse_spend_line(body, CONFIG) == line
        assert differing_fields(line, parse_spend_line(body, CONFIG)) == []


@SETTINGS
@given(spend_lines(), spend_lines())
def test_differing_fields_are_exactly_those_whose_records_differ(one: SpendLine, other: SpendLine) -> None:
    fields = differing_fields(one, other)
    assert fields == [f for f in SPEND_FIELDS if spend_record(one)[f] != spend_record(other)[f]]
    assert (fields == []) == (one == other)


@SETTINGS
@given(spend_lines(), ids)
def test_any_original_is_reversed_exactly_by_reversal_of(line: SpendLine, reversal_id: str) -> None:
    if line.reverses is not None or reversal_id == line.spend_id:
        return
    reversal = reversal_of(line, reversal_id)
    assert reversal.amount + line.amount == Money.zero(line.amount.currency)
    assert reversal.key == line.key
