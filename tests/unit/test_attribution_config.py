"""The attribution file: the shipped one holds the lookback, the half-life, the session rule and the channel mapping
of the contract; a bad file is refused at load with a message naming the offending rule and the problem."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared.attribution.config import (
    DEFAULT_ATTRIBUTION_PATH,
    AttributionConfig,
    InvalidAttributionConfig,
    load_attribution_config,
    parse_attribution_config,
)
from shared.errors import InvalidInput
from shared.finance.config import DEFAULT_FINANCE_PATH, load_finance_config, parse_finance_config

UNPAID = ["direct", "organic_search", "organic_social", "referral"]
SHIPPED = json.loads(DEFAULT_ATTRIBUTION_PATH.read_text())
FINANCE = load_finance_config().version


def attribution_dict(**top: Any) -> dict[str, Any]:
    """A small valid attribution file: the defaults and two rules."""
    data: dict[str, Any] = {
        "version": "test-1",
        "description": "a test attribution file",
        "unpaid_channels": list(UNPAID),
        "channel_mapping": [
            {"rule_id": "paid-search", "channel": "paid_search", "when": {"mediums": ["cpc"]}},
            {"rule_id": "other-sites", "channel": "referral", "when": {"external_referrer": True}},
        ],
    }
    data.update(top)
    return data


def rule(rule_id: str, channel: str, **when: Any) -> dict[str, Any]:
    return {"rule_id": rule_id, "channel": channel, "when": when}


def problems_of(data: dict[str, Any] | str) -> tuple[str, ...]:
    with pytest.raises(InvalidAttributionConfig) as refused:
        parse_attribution_config(data)
    assert isinstance(refused.value, InvalidInput)
    return refused.value.problems


# ---------------------------------------------------------------------------------------------- shipped file


def test_the_shipped_file_holds_the_contracts_defaults() -> None:
    # Given config/attribution.json
    config = load_attribution_config()
    # Then it is versioned and described, with the contract's windows and the four unpaid channels
    assert config.version
    assert config.description
    assert (config.lookback_days, config.half_life_days, config.session_timeout_minutes) == (180, Decimal(7), 30)
    assert config.unpaid_channels == UNPAID
    assert config.company_domains == []
    assert config.default_channel == "direct"


def test_the_shipped_mapping_is_the_contracts_in_order() -> None:
    # Given the shipped mapping
    config = load_attribution_config()
    # Then its rules, in order, map what the contract says to the channel it says
    mediums = {r.rule_id: (r.when.mediums, r.channel) for r in config.channel_mapping if r.when.mediums}
    assert mediums == {
        "paid-search": (["cpc", "ppc", "paid_search"], "paid_search"),
        "paid-social": (["paid_social"], "paid_social"),
        "display": (["display", "banner"], "display"),
        "email": (["email"], "email"),
        "events": (["webinar", "event"], "events"),
        "organic-social": (["social"], "organic_social"),
        "referral": (["referral"], "referral"),
        "organic-search": (["organic"], "organic_search"),
        # a Salesforce campaign response's medium is its campaign's Type
        "crm-campaign-email": (["email"], "email"),
        "crm-campaign-webinar": (["webinar"], "events"),
        "crm-campaign-events": (["conference", "trade show", "seminar / conference"], "events"),
        "crm-campaign-ads": (["advertisement", "banner ads"], "display"),
        "crm-campaign-direct-mail": (["direct mail"], "direct_mail"),
        "crm-campaign-partners": (["partners"], "partners"),
        "crm-campaign-referral-program": (["referral program"], "affiliates"),
        "crm-campaign-public-relations": (["public relations"], "public_relations"),
    }
    ids = [r.rule_id for r in config.channel_mapping]
    assert ids[0] == "webinar-attended"
    # campaign responses first, ending with the catch-all, so a Type outside Salesforce's list is other, never
    # the channel of a link tagged with that medium; referrers come after every medium
    assert ids[1:3] == ["crm-campaign-email", "crm-campaign-webinar"]
    assert ids[9] == "crm-campaign-other"
    assert ids[-3:] == ["search-engines", "social-networks", "other-sites"]
    assert config.rule("crm-campaign-other").when.model_dump(exclude_none=True) == {"kinds": ["campaign_response"]}
    assert config.rule("email-engagement").when.kinds == ["email_open", "email_click"]
    assert config.rule("email-engagement").when.has_medium is False
    searches = {"google.*", "bing.com", "duckduckgo.com", "search.yahoo."}
    assert searches <= set(config.rule("search-engines").when.referrer_hosts or ())
    socials = {"linkedin.", "facebook.", "t.co", "x.com", "twitter.", "reddit.", "youtube."}
    assert socials <= set(config.rule("social-networks").when.referrer_hosts or ())
    assert "gclid" in config.tagging_parameters


def test_every_channel_the_shipped_file_names_is_a_spend_channel_or_an_unpaid_one() -> None:
    config, finance = load_attribution_config(), load_finance_config()
    named = {r.channel for r in config.channel_mapping} | {config.default_channel}
    assert named <= set(finance.channel_ids) | set(config.unpaid_channels)
    assert not set(config.unpaid_channels) & set(finance.channel_ids)


def test_the_shipped_file_is_the_default_path_and_plain_json() -> None:
    assert DEFAULT_ATTRIBUTION_PATH.name == "attribution.json"
    assert load_attribution_config(DEFAULT_ATTRIBUTION_PATH) == parse_attribution_config(SHIPPED)
    assert isinstance(SHIPPED["half_life_days"], str)  # decimals as strings: a float would not hold them


def test_a_file_giving_only_its_version_takes_the_defaults() -> None:
    config = parse_attribution_config({"version": "bare"})
    assert (config.lookback_days, config.half_life_days, config.session_timeout_minutes) == (180, Decimal(7), 30)
    assert config.unpaid_channels == UNPAID
    assert (config.channel_mapping, config.company_domains, config.default_channel) == ([], [], "direct")


def test_a_half_life_is_an_exact_decimal() -> None:
    # Given a half-life of 3.5 days as a string, and as a JSON number read from text
    as_string = parse_attribution_config(attribution_dict(half_life_days="3.5"))
    as_text = parse_attribution_config(
        json.dumps(attribution_dict()).replace('"version"', '"half_life_days": 3.5, "version"')
    )
    # Then both are exactly 3.5; a float handed in a mapping is refused
    assert as_string.half_life_days == as_text.half_life_days == Decimal("3.5")
    assert problems_of(attribution_dict(half_life_days=3.5)) == (
        'half_life_days: write a decimal as a string ("7.5") or an integer: a float does not hold it exactly',
    )


def test_mediums_sources_and_hosts_are_read_lower_case() -> None:
    config = parse_attribution_config(
        attribution_dict(
            company_domains=[" Acme.IO "],
            channel_mapping=[
                rule("li", "paid_social", mediums=["Paid"], sources=["LinkedIn"], referrer_hosts=["LNKD.in"])
            ],
        )
    )
    assert config.company_domains == ["acme.io"]
    assert config.channel_mapping[0].when.model_dump(exclude_none=True) == {
        "mediums": ["paid"],
        "sources": ["linkedin"],
        "referrer_hosts": ["lnkd.in"],
    }


def test_the_finance_file_checked_against_can_be_given() -> None:
    # Given a finance file without a display channel
    finance_raw = json.loads(DEFAULT_FINANCE_PATH.read_text())
    finance_raw["channels"] = [c for c in finance_raw["channels"] if c["channel_id"] != "display"]
    finance = parse_finance_config(finance_raw)
    # When the shipped attribution file is checked against it
    with pytest.raises(InvalidAttributionConfig) as refused:
        load_attribution_config(finance=finance)
    # Then the rules mapping to display are named
    assert refused.value.problems == tuple(
        f'rule "{rule}": channel "display" is neither a spend channel of finance file {finance.version} nor one of '
        "unpaid_channels (direct, organic_search, organic_social, referral)"
        for rule in ("crm-campaign-ads", "display")
    )


# ------------------------------------------------------------------------------------------------- bad files


def bad_rule(**changes: Any) -> dict[str, Any]:
    data = attribution_dict()
    data["channel_mapping"][0].update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            bad_rule(channel="paid_serch"),
            f'rule "paid-search": channel "paid_serch" is neither a spend channel of finance file {FINANCE} nor one of '
            "unpaid_channels (direct, organic_search, organic_social, referral)",
        ),
        (bad_rule(channel="Paid Search"), 'rule "paid-search": channel: String should match pattern'),
        (bad_rule(when={}), 'rule "paid-search": when: when names no condition: the catch-all is default_channel'),
        (bad_rule(when={"kinds": ["email_opened"]}), 'rule "paid-search": when.kinds.0: Input should be'),
        (bad_rule(when={"mediums": []}), 'rule "paid-search": when.mediums: List should have at least 1 item'),
        (bad_rule(when={"mediums": ["cpc", "CPC"]}), 'rule "paid-search": when: mediums: cpc listed more than once'),
        (bad_rule(when={"medium": ["cpc"]}), 'rule "paid-search": when.medium: Extra inputs are not permitted'),
        (
            bad_rule(when={"has_medium": False, "mediums": ["cpc"]}),
            'rule "paid-search": when: has_medium false with mediums or sources never matches',
        ),
        (
            bad_rule(when={"external_referrer": False, "referrer_hosts": ["google."]}),
            'rule "paid-search": when: external_referrer false with referrer_hosts never matches',
        ),
        (bad_rule(when={"referrer_hosts": ["https://google.com"]}), 'rule "paid-search": when.referrer_hosts.0: '),
        (bad_rule(when={"has_medium": "no"}), 'rule "paid-search": when.has_medium: Input should be a valid boolean'),
        (bad_rule(rule_id="other-sites"), 'rule "other-sites": rule_id is used by another rule'),
        (bad_rule(colour="red"), 'rule "paid-search": colour: Extra inputs are not permitted'),
        (
            attribution_dict(default_channel="nowhere"),
            f'default_channel "nowhere" is neither a spend channel of finance file {FINANCE}',
        ),
        (
            attribution_dict(unpaid_channels=[*UNPAID, "email"]),
            f'unpaid channel "email" is a spend channel of finance file {FINANCE}: a channel is either paid or not',
        ),
        (attribution_dict(unpaid_channels=["direct", "direct"]), 'unpaid channel "direct" is listed more than once'),
        (attribution_dict(company_domains=["acme.io/"]), "company_domains: 0: String should match pattern"),
        (attribution_dict(lookback_days=0), "lookback_days: Input should be greater than or equal to 1"),
        (attribution_dict(half_life_days="0"), "half_life_days: Input should be greater than 0"),
        (attribution_dict(session_timeout_minutes="30"), "session_timeout_minutes: Input should be a valid integer"),
        (attribution_dict(version=""), "version: String should have at least 1 character"),
        (attribution_dict(lookback=90), "lookback: Extra inputs are not permitted"),
    ],
)
def test_a_bad_file_is_refused_naming_the_rule_and_the_problem(data: dict[str, Any], expected: str) -> None:
    # Given a file with one problem; When it is parsed; Then the problem is named, and by its rule when a rule's
    problems = problems_of(data)
    assert len(problems) == 1
    assert problems[0].startswith(expected), problems


def test_every_problem_is_named_not_only_the_first() -> None:
    # Given a file whose two rules name unknown channels
    data = attribution_dict()
    data["channel_mapping"][0]["channel"] = "paid_serch"
    data["channel_mapping"][1]["channel"] = "referal"
    # When it is parsed, Then both rules are named
    assert [p.split(":")[0] for p in problems_of(data)] == ['rule "paid-search"', 'rule "other-sites"']


def test_a_rule_without_an_id_is_named_by_its_position() -> None:
    data = attribution_dict()
    del data["channel_mapping"][1]["rule_id"]
    assert problems_of(data) == ("rule #2: rule_id: Field required",)


def test_a_file_that_is_not_json_or_cannot_be_read_says_so(tmp_path: Path) -> None:
    assert problems_of("{not json")[0].startswith("attribution file: not valid JSON")
    with pytest.raises(InvalidAttributionConfig, match="cannot be read"):
        load_attribution_config(tmp_path / "missing.json")


def test_a_valid_file_on_disk_loads(tmp_path: Path) -> None:
    # Given a copy of the shipped file with a company domain and a longer session
    data = copy.deepcopy(SHIPPED) | {"company_domains": ["acme.io"], "session_timeout_minutes": 45}
    path = tmp_path / "attribution.json"
    path.write_text(json.dumps(data))
    # When it is loaded, Then those settings hold
    config = load_attribution_config(str(path))
    assert isinstance(config, AttributionConfig)
    assert (config.company_domains, config.session_timeout_minutes) == (["acme.io"], 45)
