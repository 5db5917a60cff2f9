"""The shipped channel mapping holds what the README says: a Salesforce campaign response of a Type outside
Salesforce's standard list is `other` (Email and Webinar keep their channels), and only search engines' hosts are
organic search: Google's other sites (mail, docs, accounts) are referrals."""

from __future__ import annotations

import pytest

from shared.attribution.config import load_attribution_config, parse_attribution_config
from shared.attribution.touchpoints import touches_from
from shared.leads.engagements import engagement_record
from shared.webhooks.normalizers import normalize
from shared.webhooks.vendor import DeliveryContext
from shared.webhooks.vendors.salesforce import Salesforce
from tests.unit.test_attribution_config import attribution_dict, problems_of
from tests.unit.test_attribution_touchpoints import SITE, T0, channel, record
from tests.vendor_samples import salesforce_message, salesforce_notification, salesforce_request

CONFIG = load_attribution_config()


def response_channel(campaign_type: str | None) -> str:
    """The channel of a Lead's response to a Salesforce campaign of that Type, as the outbound message brings it."""
    notification = salesforce_notification(
        sobject="CampaignMember",
        Id="00v000000000001AAA",
        CampaignId="701000000000001AAA",
        LeadId="00Q000000000001AAA",
        HasResponded="true",
        Campaign_Type__c=campaign_type,
        Email=None,
    )
    [vendor_event] = Salesforce().parse(salesforce_request(salesforce_message(notification)))
    rec = engagement_record(normalize("salesforce", vendor_event, DeliveryContext("d1", "r1", T0)), "c1")
    assert rec is not None
    [touch] = touches_from([rec], CONFIG)
    assert touch.campaign_id == "701000000000001AAA"
    return touch.channel


@pytest.mark.parametrize(
    "campaign_type", ["Social", "Referral", "Organic", "Event", "Banner", "Display", "CPC", "Paid_Social", "Podcast"]
)
def test_a_campaign_type_outside_salesforces_list_is_other(campaign_type: str) -> None:
    # Given a response to a campaign of a custom Type that happens to be a medium of a link rule
    # When its channel is found, Then it is other, as the README says of any other Type
    assert response_channel(campaign_type) == "other"


@pytest.mark.parametrize(
    ("campaign_type", "expected"),
    [
        ("Email", "email"),
        ("Webinar", "events"),
        ("Conference", "events"),
        ("Seminar / Conference", "events"),
        ("Advertisement", "display"),
        ("Referral Program", "affiliates"),
        ("Public Relations", "public_relations"),
        ("Other", "other"),
    ],
)
def test_salesforces_own_types_keep_their_channels(campaign_type: str, expected: str) -> None:
    assert response_channel(campaign_type) == expected


@pytest.mark.parametrize(
    "referrer",
    [
        "https://mail.google.com/mail/u/0/",
        "https://accounts.google.com/",
        "https://docs.google.com/document/d/1",
        "https://drive.google.com/",
        "https://sites.google.com/view/partner",
        "https://groups.google.com/g/crm",
        "https://mail.yahoo.com/",
        "https://mail.yandex.ru/",
        "https://brave.com/download",
        "https://www.naver.com/",
        "https://google.example.com/",
    ],
)
def test_a_site_of_a_search_company_that_is_not_its_search_is_a_referral(referrer: str) -> None:
    # Given a page view referred by a site that is not a search engine's result page
    # When its channel is found, Then it is a referral, not organic search
    assert channel(record(url=f"{SITE}/blog", referrer=referrer)) == "referral"


@pytest.mark.parametrize(
    "referrer",
    [
        "https://www.google.com/",
        "https://google.com/search?q=crm",
        "https://www.google.de/",
        "https://www.google.co.uk/search?q=crm",
        "https://www.google.com.au/",
        "android-app://com.google.android.googlequicksearchbox/https/www.google.com",
        "https://www.bing.com/search?q=crm",
        "https://cn.bing.com/",
        "https://duckduckgo.com/",
        "https://html.duckduckgo.com/html",
        "https://search.yahoo.com/",
        "https://uk.search.yahoo.com/",
        "https://search.yahoo.co.jp/",
        "https://www.baidu.com/",
        "https://yandex.ru/search/?text=crm",
        "https://ya.ru/",
        "https://www.ecosia.org/search?q=crm",
        "https://search.brave.com/search?q=crm",
        "https://www.startpage.com/",
        "https://www.qwant.com/",
        "https://m.search.naver.com/",
        "https://search.aol.com/",
        "https://www.ask.com/",
        "https://kagi.com/search?q=crm",
    ],
)
def test_a_search_engines_result_page_is_organic_search(referrer: str) -> None:
    assert channel(record(url=f"{SITE}/blog", referrer=referrer)) == "organic_search"


def test_a_top_level_domain_pattern_is_read_and_a_malformed_one_refused() -> None:
    # Given a rule naming `acme.*`
    rules = [{"rule_id": "acme", "channel": "referral", "when": {"referrer_hosts": ["acme.*"]}}]
    config = parse_attribution_config(attribution_dict(channel_mapping=rules))
    # Then acme.<tld> (www. aside) matches, a subdomain or a longer name does not
    assert channel(record(url=f"{SITE}/", referrer="https://www.acme.fr/"), config) == "referral"
    assert channel(record(url=f"{SITE}/", referrer="https://shop.acme.fr/"), config) == "direct"
    assert channel(record(url=f"{SITE}/", referrer="https://acme.shop.com/"), config) == "direct"
    # And a wildcard anywhere but after the last dot is refused, naming the rule
    bad = [{"rule_id": "acme", "channel": "referral", "when": {"referrer_hosts": ["*.acme.com"]}}]
    [problem] = problems_of(attribution_dict(channel_mapping=bad))
    assert problem.startswith('rule "acme": when.referrer_hosts.0: String should match pattern')
