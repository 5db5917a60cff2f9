"""Touchpoints: an engagement's campaign (the campaign it arrived with, else its URL's UTM parameters, else its
properties), its channel under the shipped mapping, which engagements of a person's log are touches (Google
Analytics' session rule for page views), and the engagement log keeping the campaign context they are read from."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.adapters.dynamodb_lead_items import engagement_attributes, engagement_from
from shared.attribution.config import AttributionConfig, load_attribution_config, parse_attribution_config
from shared.attribution.journeys import Touch
from shared.attribution.touchpoints import CampaignContext, campaign_of, channel_of, referrer_host, touches_from
from shared.leads.engagements import engagement_record
from shared.leads.model import EngagementRecord
from shared.leads.ports import ChangeSet
from shared.webhooks.model import InboundWebhook
from shared.webhooks.normalizers import normalize
from shared.webhooks.vendor import DeliveryContext
from shared.webhooks.vendors.calendly import Calendly
from shared.webhooks.vendors.salesforce import Salesforce
from shared.webhooks.vendors.segment import SegmentTrackingApi
from tests.fakes import InMemoryLeadRepository
from tests.vendor_samples import (
    calendly_event,
    calendly_request,
    salesforce_message,
    salesforce_notification,
    salesforce_request,
)

CONFIG = load_attribution_config()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SITE = "https://www.acme.io"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def record(
    event_id: str = "e1",
    kind: str = "page_view",
    minutes: float = 0,
    url: str | None = None,
    referrer: str | None = None,
    campaign: dict[str, Any] | None = None,
    **properties: Any,
) -> EngagementRecord:
    return EngagementRecord(
        event_id=event_id,
        contact_id="segment:u1",
        occurred_at=at(minutes),
        kind=kind,
        source_vendor="segment",
        url=url,
        referrer=referrer,
        campaign=campaign or {},
        properties=properties,
    )


def channel(rec: EngagementRecord, config: AttributionConfig = CONFIG) -> str:
    return channel_of(campaign_of(rec), rec, config)


def landing(query: str, kind: str = "page_view") -> EngagementRecord:
    return record(kind=kind, url=f"{SITE}/landing?{query}")


def summary(touches: list[Touch]) -> list[tuple[str, str, str | None]]:
    return [(t.touch_id, t.channel, t.campaign_id) for t in touches]


# -------------------------------------------------------------------------------------------------- campaign


def test_the_campaign_is_read_from_the_urls_utm_parameters() -> None:
    # Given a landing page tagged with every UTM parameter
    rec = landing("utm_campaign=spring-26&utm_source=google&utm_medium=cpc&utm_term=crm+tool&utm_content=ad-b")
    # When its campaign is read, Then each parameter is its field (decoded)
    assert campaign_of(rec) == CampaignContext("spring-26", "google", "cpc", "crm tool", "ad-b")


def test_segments_context_campaign_wins_over_the_url_whole() -> None:
    # Given a page whose Segment context.campaign names a campaign and whose URL names another, with a medium
    rec = record(url=f"{SITE}/?utm_campaign=from-url&utm_medium=email", campaign={"name": "from-segment"})
    # When its campaign is read
    found = campaign_of(rec)
    # Then Segment's is taken whole: the URL's medium does not fill the gap
    assert found == CampaignContext(campaign_id="from-segment")


def test_without_campaign_or_utm_the_properties_tell() -> None:
    # Given engagements whose vendors put the campaign among properties (or as a campaign id)
    by_utm = record(kind="form_submit", utm_campaign="webinar-q1", utm_medium="Email", utm_source="hubspot")
    by_id = record(kind="form_submit", campaign_id=701, utm_content="footer")
    # Then those are the campaign
    assert campaign_of(by_utm) == CampaignContext("webinar-q1", "hubspot", "Email")
    assert campaign_of(by_id) == CampaignContext(campaign_id="701", content="footer")


def test_nothing_anywhere_is_no_campaign() -> None:
    rec = record(url=f"{SITE}/blog?page=2", utm_campaign="  ", campaign={"name": ""})
    assert campaign_of(rec).is_empty


# --------------------------------------------------------------------------------------------------- channels


@pytest.mark.parametrize(
    ("medium", "expected"),
    [
        ("cpc", "paid_search"),
        ("ppc", "paid_search"),
        ("paid_search", "paid_search"),
        ("CPC", "paid_search"),
        ("paid_social", "paid_social"),
        ("display", "display"),
        ("banner", "display"),
        ("email", "email"),
        ("webinar", "events"),
        ("event", "events"),
        ("social", "organic_social"),
        ("referral", "referral"),
        ("organic", "organic_search"),
        ("newsletter", "direct"),  # a medium no rule names
    ],
)
def test_each_medium_of_the_contract_maps_to_its_channel(medium: str, expected: str) -> None:
    # Given a landing page tagged with that medium (and a search engine referrer, which a medium outranks)
    rec = record(url=f"{SITE}/?utm_medium={medium}&utm_source=x", referrer="https://www.google.com/")
    # When its channel is found, Then it is the contract's
    assert channel(rec) == expected


@pytest.mark.parametrize(
    ("referrer", "expected"),
    [
        ("https://www.google.com/", "organic_search"),
        ("https://www.google.co.uk/search?q=crm", "organic_search"),
        ("https://www.bing.com/", "organic_search"),
        ("https://duckduckgo.com/", "organic_search"),
        ("https://search.yahoo.com/", "organic_search"),
        ("https://www.linkedin.com/feed/", "organic_social"),
        ("https://lnkd.in/abc", "organic_social"),
        ("https://m.facebook.com/", "organic_social"),
        ("https://t.co/xyz", "organic_social"),
        ("https://x.com/acme", "organic_social"),
        ("https://twitter.com/acme", "organic_social"),
        ("https://old.reddit.com/r/sales", "organic_social"),
        ("https://www.youtube.com/watch?v=1", "organic_social"),
        ("https://blog.partner.dev/post", "referral"),
        ("https://notgoogle.com/", "referral"),  # labels, not substrings
        ("https://x.company.io/", "referral"),
        ("news.example.org/story", "referral"),  # a referrer without a scheme
        (None, "direct"),
        ("", "direct"),
        ("not a url at all", "direct"),
    ],
)
def test_without_a_medium_the_referrer_decides(referrer: str | None, expected: str) -> None:
    # Given a page view without campaign context, referred from there
    rec = record(url=f"{SITE}/blog", referrer=referrer)
    # Then search engines are organic search, social networks organic social, any other site a referral
    assert channel(rec) == expected


@pytest.mark.parametrize(
    ("url", "referrer"),
    [
        (f"{SITE}/pricing", "https://www.acme.io/"),  # the page's own host
        (f"{SITE}/pricing", "https://acme.io/blog"),  # the same host but for www.
        ("https://app.acme.io/signup", "https://docs.acme.dev/start"),  # a company domain's subdomain
        ("https://app.acme.io/signup", "https://acme.dev/"),  # a company domain
    ],
)
def test_an_internal_referrer_is_not_a_referral(url: str, referrer: str) -> None:
    # Given the company's own domains
    config = parse_attribution_config(
        load_attribution_config().model_dump(mode="json") | {"company_domains": ["acme.dev"]}
    )
    # When a page is referred from the page's own host or a company domain
    rec = record(url=url, referrer=referrer)
    # Then the referrer is internal: the page is direct, not a referral
    assert referrer_host(rec, config) is None
    assert channel(rec, config) == "direct"


def test_an_ad_click_id_without_utm_is_paid_search() -> None:
    # Given a Google Ads auto-tagged landing page (gclid, no UTM) referred by google.com
    rec = record(url=f"{SITE}/?gclid=Cj0KCQ", referrer="https://www.google.com/")
    # Then it is paid, not organic, search
    assert channel(rec) == "paid_search"
    assert channel(record(url=f"{SITE}/?msclkid=abc")) == "paid_search"


@pytest.mark.parametrize(
    ("kind", "query", "expected"),
    [
        ("email_open", "", "email"),
        ("email_click", "", "email"),
        ("email_click", "utm_medium=social", "organic_social"),  # the link's medium says otherwise
        ("webinar_attended", "", "events"),
        ("webinar_attended", "utm_medium=cpc", "events"),  # attending is an event however one registered
        ("form_submit", "", "direct"),
    ],
)
def test_email_and_webinar_engagements_carry_their_channel(kind: str, query: str, expected: str) -> None:
    assert channel(landing(query, kind=kind)) == expected


# ---------------------------------------------------------------------------------------------------- touches


def test_a_visit_is_one_touch_and_what_is_done_in_it_takes_its_source() -> None:
    # Given a paid-search landing, pages browsed on the site, a form submitted and a demo requested within the visit
    log = [
        record("p1", minutes=0, url=f"{SITE}/?utm_medium=cpc&utm_campaign=brand&utm_content=ad-1"),
        record("p2", minutes=2, url=f"{SITE}/product", referrer=f"{SITE}/"),
        record("p3", "pricing_page_visit", minutes=5, url=f"{SITE}/pricing", referrer=f"{SITE}/product"),
        record("f1", "form_submit", minutes=6),
        record("d1", "demo_request", minutes=7, url=f"{SITE}/demo"),
    ]
    # When the touches are read
    touches = touches_from(log, CONFIG)
    # Then the landing page is a touch, the browsing is not, and the form and demo are paid-search touches of it
    assert summary(touches) == [
        ("p1", "paid_search", "brand"),
        ("f1", "paid_search", "brand"),
        ("d1", "paid_search", "brand"),
    ]
    assert {t.content for t in touches} == {"ad-1"}


def test_a_page_view_after_the_session_timeout_starts_a_direct_visit() -> None:
    # Given page views without any source: the first, one 29 minutes later, one 30 minutes after that
    log = [record("a", minutes=0), record("b", minutes=29), record("c", minutes=59), record("d", minutes=60)]
    # When the touches are read
    touches = touches_from(log, CONFIG)
    # Then the first starts a visit, and so does the one after 30 minutes without any engagement
    assert summary(touches) == [("a", "direct", None), ("c", "direct", None)]


def test_any_engagement_keeps_the_visit_going() -> None:
    # Given an email opened 20 minutes after a page view, and a page view 20 minutes after that
    log = [record("a", minutes=0), record("o", "email_open", minutes=20), record("b", minutes=40)]
    # Then the last is not a touch: the person was never away for 30 minutes
    assert [t.touch_id for t in touches_from(log, CONFIG)] == ["a", "o"]


def test_the_session_timeout_is_the_configs() -> None:
    config = parse_attribution_config({"version": "short", "session_timeout_minutes": 10})
    log = [record("a", minutes=0), record("b", minutes=10)]
    assert [t.touch_id for t in touches_from(log, config)] == ["a", "b"]


def test_a_new_source_within_a_visit_starts_a_new_one_and_the_same_again_does_not() -> None:
    # Given a visit from a LinkedIn post, a reload of that page, then a Google ad click ten minutes later
    linkedin = "https://www.linkedin.com/"
    log = [
        record("a", minutes=0, url=f"{SITE}/post", referrer=linkedin),
        record("b", minutes=1, url=f"{SITE}/post", referrer=linkedin),
        record("c", minutes=10, url=f"{SITE}/?utm_medium=cpc&utm_campaign=brand"),
        record("d", minutes=11, url=f"{SITE}/?utm_medium=cpc&utm_campaign=brand"),
    ]
    # Then each source is one touch
    assert summary(touches_from(log, CONFIG)) == [("a", "organic_social", None), ("c", "paid_search", "brand")]


def test_a_page_referred_from_the_site_itself_is_not_a_touch() -> None:
    log = [record("a", minutes=0), record("b", minutes=5, url=f"{SITE}/blog", referrer=f"{SITE}/")]
    assert [t.touch_id for t in touches_from(log, CONFIG)] == ["a"]


def test_a_product_event_is_a_touch_only_when_it_brings_a_campaign() -> None:
    # Given a product event on its own, then, hours later, one carrying a campaign, then one of the same visit
    campaign = {"name": "launch", "medium": "email"}
    log = [
        record("t1", "track", minutes=0),
        record("t2", "track", minutes=300, campaign=campaign),
        record("t3", "track", minutes=301, campaign=campaign),
    ]
    # Then only the one starting a visit with its campaign is a touch
    assert summary(touches_from(log, CONFIG)) == [("t2", "email", "launch")]


def test_an_engagement_outside_any_visit_is_direct_and_every_kind_but_browsing_is_a_touch() -> None:
    # Given engagements of every kind that is not browsing, hours apart
    kinds = ["form_submit", "demo_request", "meeting_booked", "content_download", "trial_signup"]
    log = [record(f"e{n}", kind, minutes=n * 120) for n, kind in enumerate(kinds)]
    # Then each is a touch, direct
    assert [(t.touch_id, t.channel) for t in touches_from(log, CONFIG)] == [(f"e{n}", "direct") for n in range(5)]


def test_a_rescheduled_meeting_is_one_touch() -> None:
    # Given a meeting booked, then rescheduled: Calendly cancels the old invitee and books a new one
    log = [
        record("b1", "meeting_booked", minutes=0),
        record("c1", "meeting_canceled", minutes=600),
        record("b2", "meeting_booked", minutes=600),
    ]
    # Then the bookings are touches, the cancellation is not
    assert [t.touch_id for t in touches_from(log, CONFIG)] == ["b1", "b2"]


def test_an_email_click_and_its_landing_page_are_one_visit() -> None:
    # Given an email link clicked and the tagged page it opens a minute later
    url = f"{SITE}/?utm_medium=email&utm_campaign=nurture-3"
    log = [record("c", "email_click", minutes=0, url=url), record("p", minutes=1, url=url)]
    # Then the click is the touch
    assert summary(touches_from(log, CONFIG)) == [("c", "email", "nurture-3")]


def test_touches_are_ordered_by_time_then_id_and_each_engagement_is_one() -> None:
    # Given engagements out of order, two at the same instant, and one logged twice
    same = record("b", "form_submit", minutes=10)
    log = [record("z", "form_submit", minutes=20), same, record("a", "demo_request", minutes=10), same]
    # When the touches are read
    touches = touches_from(log, CONFIG)
    # Then they are ordered by (occurred_at, touch_id), once each
    assert [(t.touch_id, t.occurred_at) for t in touches] == [("a", at(10)), ("b", at(10)), ("z", at(20))]


def test_touch_times_are_utc_and_a_time_without_a_zone_is_refused() -> None:
    berlin = timezone(timedelta(hours=1))
    rec = EngagementRecord("e", "c", datetime(2026, 3, 2, 10, 0, tzinfo=berlin), "form_submit", "hubspot")
    [touch] = touches_from([rec], CONFIG)
    assert touch.occurred_at == T0
    assert touch.occurred_at.tzinfo is UTC
    naive = EngagementRecord("n", "c", datetime(2026, 3, 2, 10, 0), "form_submit", "hubspot")
    with pytest.raises(ValueError, match=r"engagement n: occurred_at .* has no time zone"):
        touches_from([naive], CONFIG)


KINDS = [
    "page_view",
    "pricing_page_visit",
    "track",
    "form_submit",
    "email_open",
    "webinar_attended",
    "meeting_canceled",
]
URLS = [None, f"{SITE}/", f"{SITE}/?utm_medium=cpc&utm_campaign=c1", f"{SITE}/?gclid=x", f"{SITE}/?utm_medium=zz"]
REFERRERS = [None, "https://www.google.com/", f"{SITE}/", "https://t.co/x", "https://other.site/"]
records = st.builds(
    record,
    event_id=st.sampled_from([f"e{n}" for n in range(12)]),
    kind=st.sampled_from(KINDS),
    minutes=st.integers(0, 600),
    url=st.sampled_from(URLS),
    referrer=st.sampled_from(REFERRERS),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(records, max_size=15))
def test_touches_are_ordered_unique_and_every_non_browsing_engagement_is_one(log: list[EngagementRecord]) -> None:
    # Given any log; When its touches are read
    touches = touches_from(log, CONFIG)
    # Then they are ordered, unique, each an engagement of the log, on a channel the config knows
    keys = [(t.occurred_at, t.touch_id) for t in touches]
    assert keys == sorted(set(keys))
    assert len({t.touch_id for t in touches}) == len(touches)
    known = {r.channel for r in CONFIG.channel_mapping} | {CONFIG.default_channel}
    assert {t.channel for t in touches} <= known
    first: dict[str, EngagementRecord] = {}
    for rec in sorted(log, key=lambda r: (r.occurred_at, r.event_id)):
        first.setdefault(rec.event_id, rec)
    assert {t.touch_id for t in touches} <= set(first)
    browsing = {"page_view", "pricing_page_visit", "track", "meeting_canceled"}
    assert {e for e, rec in first.items() if rec.kind not in browsing} <= {t.touch_id for t in touches}
    # and a log that begins with a page view begins with its touch (the first visit)
    opening = next(iter(first.values()), None)
    if opening is not None and opening.kind in {"page_view", "pricing_page_visit"}:
        assert touches[0].touch_id == opening.event_id


# ------------------------------------------------------------------------------- the log keeps campaign context


def segment_engagement(**message: Any) -> EngagementRecord:
    body = {"type": "page", "messageId": "m-1", "userId": "u1", "timestamp": "2026-03-02T09:00:00Z"} | message
    request = InboundWebhook("segment_api", "POST", "https://hub/v1/page", {}, json.dumps(body).encode(), "r")
    [vendor_event] = SegmentTrackingApi().parse(request)
    event = normalize("segment_api", vendor_event, DeliveryContext("d1", "r1", T0))
    found = engagement_record(event, "segment:u1")
    assert found is not None
    return found


def test_a_segment_page_keeps_its_campaign_and_referrer_in_the_log() -> None:
    # Given a page call with Segment's context.campaign and context.page.referrer
    campaign = {"name": "spring-26", "source": "linkedin", "medium": "paid_social", "content": "video"}
    context = {"campaign": campaign | {"utm_id": "x"}, "page": {"url": f"{SITE}/", "referrer": "https://lnkd.in/a"}}
    # When it is normalized and logged
    rec = segment_engagement(context=context)
    # Then the record keeps both, and they make its touch
    assert (rec.campaign, rec.referrer) == (campaign, "https://lnkd.in/a")
    assert summary(touches_from([rec], CONFIG)) == [(rec.event_id, "paid_social", "spring-26")]


def test_a_referrer_sent_as_segments_referrer_object_is_its_url() -> None:
    rec = segment_engagement(properties={"referrer": {"type": "link", "url": "https://partner.dev/p"}})
    assert rec.referrer == "https://partner.dev/p"
    assert segment_engagement().referrer is None
    assert segment_engagement().campaign == {}


def test_calendlys_tracking_is_a_meetings_campaign() -> None:
    # Given a Calendly booking made from a link tagged with UTM parameters
    tracking = {"utm_campaign": "demo-push", "utm_source": "newsletter", "utm_medium": "email", "utm_term": None}
    body = calendly_event(tracking=tracking | {"salesforce_uuid": "s"})
    [vendor_event] = Calendly().parse(calendly_request(body))
    # When it is normalized and logged
    rec = engagement_record(normalize("calendly", vendor_event, DeliveryContext("d1", "r1", T0)), "c1")
    # Then its campaign is the tracked UTM parameters, and it is an email touch
    assert rec is not None
    assert rec.campaign == {"name": "demo-push", "source": "newsletter", "medium": "email"}
    assert channel(rec) == "email"


@pytest.mark.parametrize(
    ("campaign_type", "expected"),
    [
        ("Trade Show", "events"),
        ("Webinar", "events"),
        ("Email", "email"),
        ("Banner Ads", "display"),
        ("Direct Mail", "direct_mail"),
        ("Partners", "partners"),
        ("Telemarketing", "other"),
        (None, "other"),
    ],
)
def test_a_salesforce_campaign_response_is_a_touch_of_its_campaign_on_its_types_channel(
    campaign_type: str | None, expected: str
) -> None:
    # Given a Lead's response to a Salesforce campaign of that type, as the outbound message brings it
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
    # When it is normalized and logged
    rec = engagement_record(normalize("salesforce", vendor_event, DeliveryContext("d1", "r1", T0)), "c1")
    # Then it is a touch of that campaign, on the channel its type says (a campaign, never direct traffic)
    assert rec is not None
    [touch] = touches_from([rec], CONFIG)
    assert (touch.campaign_id, touch.channel) == ("701000000000001AAA", expected)


def test_the_dynamodb_item_keeps_campaign_and_referrer_and_old_items_still_load() -> None:
    # Given an engagement with a campaign and a referrer, and one without
    rich = record(url=f"{SITE}/", referrer="https://www.google.com/", campaign={"name": "c", "medium": "cpc"})
    bare = record("e2")
    # When they are written as items and read back
    item = engagement_attributes(rich)
    # Then they come back equal, and a bare one writes neither attribute
    assert engagement_from(item) == rich
    assert engagement_from(engagement_attributes(bare)) == bare
    assert not {"referrer", "campaign"} & engagement_attributes(bare).keys()
    # and an item logged before attribution kept them loads with neither
    old = {k: v for k, v in item.items() if k not in ("referrer", "campaign")}
    assert (engagement_from(old).referrer, engagement_from(old).campaign) == (None, {})


def test_the_in_memory_lead_store_keeps_campaign_and_referrer() -> None:
    repo = InMemoryLeadRepository()
    rich = record(url=f"{SITE}/", referrer="https://www.google.com/", campaign={"name": "c", "medium": "cpc"})
    repo.commit(ChangeSet(engagements=[rich]))
    assert repo.engagements([rich.contact_id]) == [rich]
