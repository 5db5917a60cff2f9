"""The finance file: the shipped one holds the company currency, the channel and department vocabularies finance
asked for, the default thresholds and the limits; a bad file is refused at load with a message naming the
offending channel or department and the problem.

`finance_dict` builds a small valid file; the other finance tests share it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from shared.errors import InvalidInput
from shared.finance.config import (
    DEFAULT_FINANCE_PATH,
    FinanceConfig,
    InvalidFinanceConfig,
    load_finance_config,
    parse_finance_config,
)

CHANNELS = ["paid_search", "paid_social", "display", "events", "sponsorships", "content", "email", "partners"]
CHANNELS += ["tools_and_agencies", "other"]
DEPARTMENTS = ["marketing", "sales", "customer_success", "product", "finance"]


def finance_dict(**top: Any) -> dict[str, Any]:
    """A small valid finance file: USD, the issue's channels and departments, default thresholds, trend after 7
    days, batches of 500."""
    data: dict[str, Any] = {
        "version": "test-1",
        "description": "a test finance file",
        "company_currency": "USD",
        "channels": [{"channel_id": c, "name": c.replace("_", " ").capitalize()} for c in CHANNELS],
        "departments": [{"department_id": d, "name": d.replace("_", " ").capitalize()} for d in DEPARTMENTS],
        "default_thresholds": [50, 80, 100, 110],
        "forecast": {"trend_min_days": 7},
        "max_batch_lines": 500,
    }
    data.update(top)
    return data


def finance_config(**top: Any) -> FinanceConfig:
    return parse_finance_config(finance_dict(**top))


def problems_of(data: dict[str, Any] | str) -> tuple[str, ...]:
    with pytest.raises(InvalidFinanceConfig) as refused:
        parse_finance_config(data)
    assert isinstance(refused.value, InvalidInput)
    return refused.value.problems


# ---------------------------------------------------------------------------------------------- shipped file


def test_the_shipped_file_holds_what_finance_asked_for() -> None:
    # Given config/finance.json
    config = load_finance_config()
    # Then it is versioned and described, reports in USD, and has the vocabularies and defaults
    assert config.version
    assert config.description
    assert config.company_currency == "USD"
    assert set(CHANNELS) <= set(config.channel_ids)
    assert set(DEPARTMENTS) <= set(config.department_ids)
    assert config.default_thresholds == [50, 80, 100, 110]
    assert config.forecast.trend_min_days >= 2
    assert config.forecast.overrun_threshold == 100
    assert config.max_batch_lines == 500
    assert all(channel.name and channel.description for channel in config.channels)
    assert all(department.name for department in config.departments)


def test_the_shipped_file_is_the_default_path_and_plain_json() -> None:
    assert DEFAULT_FINANCE_PATH.name == "finance.json"
    raw = json.loads(DEFAULT_FINANCE_PATH.read_text())
    assert list(raw)[:3] == ["version", "description", "company_currency"]
    assert load_finance_config(DEFAULT_FINANCE_PATH) == parse_finance_config(raw)


def test_channels_and_departments_are_looked_up_by_id() -> None:
    config = finance_config()
    assert config.channel("events").name == "Events"
    assert config.department("customer_success").name == "Customer success"
    assert config.has_channel("email")
    assert not config.has_channel("Email")
    assert not config.has_department("legal")
    with pytest.raises(KeyError, match='channel "tv" is not in finance file test-1'):
        config.channel("tv")
    with pytest.raises(KeyError, match='department "legal" is not in finance file test-1'):
        config.department("legal")


def test_a_department_may_name_the_slack_channel_its_budget_alerts_go_to() -> None:
    # The shipped file: marketing and finance (and sales) have a budget channel; the others are emailed only
    shipped = load_finance_config()
    assert shipped.department("marketing").slack_channel == "#marketing-budget"
    assert shipped.department("finance").slack_channel == "#finance-budget"
    assert shipped.department("product").slack_channel is None
    # A channel is a #name or a conversation id; none by default
    data = finance_dict()
    data["departments"][0].update(slack_channel="#marketing-budget")
    data["departments"][1].update(slack_channel="C0SALES01")
    config = parse_finance_config(data)
    assert config.department("marketing").slack_channel == "#marketing-budget"
    assert config.department("sales").slack_channel == "C0SALES01"
    assert config.department("product").slack_channel is None


def test_thresholds_are_kept_in_increasing_order() -> None:
    assert finance_config(default_thresholds=[100, 50, 75]).default_thresholds == [50, 75, 100]


def test_defaults_apply_to_what_a_file_leaves_out() -> None:
    data = finance_dict()
    for key in ("default_thresholds", "forecast", "max_batch_lines", "description"):
        del data[key]
    config = parse_finance_config(data)
    assert config.default_thresholds == [50, 80, 100, 110]
    assert config.forecast.trend_min_days == 7
    assert config.max_batch_lines == 500
    assert config.max_budget_lines == 1000


def test_the_company_currency_is_read_upper_case() -> None:
    assert finance_config(company_currency="eur").company_currency == "EUR"


# ---------------------------------------------------------------------------------------------- bad files


def test_a_repeated_channel_or_department_is_named_by_its_id() -> None:
    data = finance_dict()
    data["channels"].append({"channel_id": "events", "name": "Events again"})
    data["departments"].append({"department_id": "sales", "name": "Sales again"})
    assert problems_of(data) == (
        'channel "events": channel_id is used by another channel',
        'department "sales": department_id is used by another department',
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["channels"][3].update(channel_id="Paid Search"),
            'channel "Paid Search": channel_id: String should match pattern',
        ),
        (lambda d: d["channels"][0].update(name=""), 'channel "paid_search": name:'),
        (
            lambda d: d["channels"][1].update(colour="red"),
            'channel "paid_social": colour: Extra inputs are not permitted',
        ),
        (lambda d: d["channels"].append({"name": "No id"}), "channel #11: channel_id: Field required"),
        (
            lambda d: d["departments"][1].update(owner_email="not-an-email"),
            'department "sales": owner_email: String should match pattern',
        ),
        (
            lambda d: d["departments"][0].update(slack_channel="#Marketing Budget"),
            'department "marketing": slack_channel: "#Marketing Budget" is not a Slack channel: a channel id '
            "(C0123ABCD) or a #name of lower-case letters, digits, -, _ and .",
        ),
        (
            lambda d: d["departments"][4].update(slack_channel="@finance"),
            'department "finance": slack_channel: "@finance" is not a Slack channel',
        ),
        (lambda d: d["departments"][2].update(slack_channel="#"), 'department "customer_success": slack_channel:'),
        (lambda d: d.update(company_currency="XAU"), 'company_currency: "XAU" is gold'),
        (lambda d: d.update(company_currency="DOLLAR"), 'company_currency: "DOLLAR" is not an ISO 4217 currency code'),
        (lambda d: d.update(default_thresholds=[50, 80, 80]), "default_thresholds: threshold 80 listed more than once"),
        (
            lambda d: d.update(default_thresholds=[0]),
            "default_thresholds: 0: Input should be greater than or equal to 1",
        ),
        (lambda d: d.update(default_thresholds=[]), "default_thresholds: List should have at least 1 item"),
        (lambda d: d.update(default_thresholds=[True]), "default_thresholds: 0: Input should be a valid integer"),
        (lambda d: d.update(forecast={"trend_min_days": 1}), "forecast: trend_min_days: Input should be greater than"),
        (lambda d: d.update(max_batch_lines=0), "max_batch_lines: Input should be greater than or equal to 1"),
        (lambda d: d.update(channels=[]), "channels: List should have at least 1 item"),
        (lambda d: d.update(extra=True), "extra: Extra inputs are not permitted"),
        (lambda d: d.pop("version"), "version: Field required"),
    ],
)
def test_a_bad_field_is_refused_naming_its_channel_or_department(change: Any, expected: str) -> None:
    # Given a valid file with one field broken
    data = copy.deepcopy(finance_dict())
    change(data)
    # When parsed, Then the problem names what it is about
    problems = problems_of(data)
    assert any(p.startswith(expected) for p in problems), problems


def test_a_fraction_in_the_file_is_refused_not_rounded() -> None:
    text = json.dumps(finance_dict()).replace('"max_batch_lines": 500', '"max_batch_lines": 500.5')
    assert any(p.startswith("max_batch_lines:") for p in problems_of(text))


def test_text_that_is_not_a_json_object_is_refused() -> None:
    assert problems_of("{not json")[0].startswith("finance file: not valid JSON")
    assert problems_of("[1, 2]") == ("finance file: must be a JSON object",)


def test_a_missing_file_is_refused_naming_its_path(tmp_path: Path) -> None:
    missing = tmp_path / "finance.json"
    with pytest.raises(InvalidFinanceConfig, match=f"finance file {missing}: cannot be read"):
        load_finance_config(missing)


def test_a_file_on_disk_is_read_and_validated(tmp_path: Path) -> None:
    path = tmp_path / "finance.json"
    path.write_text(json.dumps(finance_dict(company_currency="EUR")))
    assert load_finance_config(path).company_currency == "EUR"
    path.write_text(json.dumps(finance_dict(company_currency="ABC")))
    with pytest.raises(InvalidFinanceConfig, match='company_currency: "ABC" is not an ISO 4217 currency code'):
        load_finance_config(str(path))
