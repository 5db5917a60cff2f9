"""From a person's engagement log to the touches attribution credits: each touch's campaign, its channel, and which
engagements are touches at all.

Campaign. An engagement's campaign (`campaign_of`) comes from the first of these that holds any of its fields,
whole (fields are never mixed between them):

1. the campaign it arrived with: Segment's `context.campaign` (`name` is the campaign id), or the UTM
   parameters of Calendly's `tracking`;
2. the `utm_campaign`, `utm_source`, `utm_medium`, `utm_term`, `utm_content` parameters of its URL;
3. the same keys among its properties, with `campaign_id` standing in for `utm_campaign` (vendors that send
   them as properties or hidden fields).

Channel. `channel_of` tries the rules of the attribution file's `channel_mapping` in order; the first that
matches names the channel, none: `default_channel` (`direct`). The shipped mapping:

| rule | when | channel |
| --- | --- | --- |
| webinar-attended | the engagement is `webinar_attended` | events |
| paid-search | utm_medium `cpc`, `ppc` or `paid_search` | paid_search |
| paid-social | utm_medium `paid_social` | paid_social |
| display | utm_medium `display` or `banner` | display |
| email | utm_medium `email` | email |
| events | utm_medium `webinar` or `event` | events |
| organic-social | utm_medium `social` | organic_social |
| referral | utm_medium `referral` | referral |
| organic-search | utm_medium `organic` | organic_search |
| search-ad-click | no utm_medium; an ad click id in the URL (`gclid`, `gbraid`, `msclkid`, ...) | paid_search |
| email-engagement | no utm_medium; the engagement is `email_open` or `email_click` | email |
| search-engines | no utm_medium; referred by a search engine (`google.`, `bing.`, `yahoo.`, ...) | organic_search |
| social-networks | no utm_medium; referred by a social network (`linkedin.`, `t.co`, `x.com`, ...) | organic_social |
| other-sites | no utm_medium; referred by any other external site | referral |
| (none) | nothing of the above, or a utm_medium no rule names | direct |

Mediums and sources compare case-insensitively. A referrer is external unless its host is the page's own host
or one of the file's `company_domains` (or a subdomain of one), a leading `www.` aside: internal navigation is
never a referral.

Touches. `touches_from` reads one person's log (the contact's engagements and those of the contacts merged into
it) in time order, as visits: a visit ends after `session_timeout_minutes` (30) without any engagement of the
person, or when a new traffic source arrives, Google Analytics' session rule. An engagement has a traffic source
of its own when it carries campaign context (a campaign field or an ad click id in its URL), an external
referrer, or a rule of the mapping matches it (an email open, a webinar).

- Every engagement that is not a page view, a generic `track` or a cancelled meeting is a touch: form
  submissions, demo requests, meetings booked, webinars, emails opened or clicked, content downloads, trial
  signups. (A cancellation takes nothing back and adds nothing: a reschedule arrives as a cancellation plus a
  booking, which is the touch.)
  Without a traffic source of its own, it takes the channel and campaign of the visit it happens in (a form
  filled in on a paid-search landing page is a paid-search touch); outside a visit it is `direct`.
- A page view (`page_view`, `pricing_page_visit`) is a touch only when it starts a visit: it carries a traffic
  source different from the current visit's (campaign context or an external referrer), or it comes after
  `session_timeout_minutes` or more without any engagement of the person (the first page view is one; without
  a source such a visit is `direct`). Browsing on within a visit is not a touch.
- A generic `track` (an event Segment's specs do not name) is a touch only when it starts a visit with a traffic
  source of its own: a product event on its own is not marketing.

A touch's id is the engagement's event id, its content the campaign's `content` (utm_content); touches are
de-duplicated by id and ordered by (occurred_at, touch_id).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from shared.attribution.config import AttributionConfig, ChannelRule, Conditions
from shared.attribution.journeys import Touch
from shared.events.types import EngagementKind
from shared.leads.model import EngagementRecord

__all__ = [
    "NEVER_TOUCHES",
    "VISIT_KINDS",
    "CampaignContext",
    "campaign_of",
    "channel_of",
    "matching_rule",
    "referrer_host",
    "touches_from",
]

PAGE_VIEWS = frozenset({EngagementKind.PAGE_VIEW.value, EngagementKind.PRICING_PAGE_VISIT.value})
VISIT_KINDS = PAGE_VIEWS | {EngagementKind.TRACK.value}  # touches only when they start a visit
NEVER_TOUCHES = frozenset({EngagementKind.MEETING_CANCELED.value})  # activity that keeps a visit going, no more
_UTM = {
    "campaign_id": "utm_campaign",
    "source": "utm_source",
    "medium": "utm_medium",
    "term": "utm_term",
    "content": "utm_content",
}
_HOST = re.compile(r"[\w-]+(\.[\w-]+)*")
_SEGMENT = {"campaign_id": "name", "source": "source", "medium": "medium", "term": "term", "content": "content"}


@dataclass(frozen=True)
class CampaignContext:
    """The campaign an engagement came with (UTM parameters by another name); every field None: none."""

    campaign_id: str | None = None
    source: str | None = None
    medium: str | None = None
    term: str | None = None
    content: str | None = None

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


NO_CAMPAIGN = CampaignContext()


def campaign_of(record: EngagementRecord) -> CampaignContext:
    """The engagement's campaign: the one it arrived with, else its URL's `utm_*` parameters, else the same keys
    (or `campaign_id`) among its properties; the first source holding any field is taken whole."""
    arrived = _context(record.campaign, _SEGMENT)
    if not arrived.is_empty:
        return arrived
    tagged = _context(_query(record.url), _UTM)
    if not tagged.is_empty:
        return tagged
    properties = _context(record.properties, _UTM)
    if properties.campaign_id is None and (campaign_id := _label(record.properties.get("campaign_id"))):
        return replace(properties, campaign_id=campaign_id)
    return properties


def channel_of(context: CampaignContext, record: EngagementRecord, config: AttributionConfig) -> str:
    """The engagement's channel: that of the first rule of `config.channel_mapping` it matches, else
    `config.default_channel`. `context` is its campaign (`campaign_of(record)`)."""
    rule = matching_rule(context, record, config)
    return rule.channel if rule is not None else config.default_channel


def matching_rule(context: CampaignContext, record: EngagementRecord, config: AttributionConfig) -> ChannelRule | None:
    """The first rule of the mapping the engagement matches; None when none does."""
    return _Facts.of(context, record, config).first_rule(config)


def referrer_host(record: EngagementRecord, config: AttributionConfig) -> str | None:
    """The host of the engagement's referrer when it is external: not the page's own host, not a company
    domain (nor a subdomain of one), a leading `www.` aside; None when it has no referrer or an internal one."""
    host = _host(record.referrer)
    if host is None:
        return None
    bare = _bare(host)
    page = _host(record.url)
    if page is not None and bare == _bare(page):
        return None
    if any(bare == domain or bare.endswith("." + domain) for domain in map(_bare, config.company_domains)):
        return None
    return host


def touches_from(records: Iterable[EngagementRecord], config: AttributionConfig) -> list[Touch]:
    """The touches of one person's engagement log (the contact's and its merged contacts' records), ordered by
    (occurred_at, touch_id), one per engagement: see the module's documentation for which engagements are
    touches and the channel each gets. Records must have aware `occurred_at` times."""
    ordered = _in_order(records)
    timeout = timedelta(minutes=config.session_timeout_minutes)
    tagging = config.tagging_parameters
    direct = _Source(config.default_channel, NO_CAMPAIGN)
    touches: list[Touch] = []
    visit: _Source | None = None  # the traffic source of the current visit; None: no visit is going on
    last_at: datetime | None = None
    for record in ordered:
        if last_at is None or record.occurred_at - last_at >= timeout:
            visit = None  # the person was away long enough: the previous visit is over
        last_at = record.occurred_at
        own = _own_source(campaign_of(record), record, config, tagging)
        if record.kind in VISIT_KINDS:
            if own is not None and own != visit:
                source = own  # a new traffic source starts a visit
            elif visit is None and record.kind in PAGE_VIEWS:
                source = direct  # back after a while, from nowhere we can tell
            else:
                visit = visit or direct  # browsing on, or a product event: activity, not a touch
                continue
        else:
            source = own or visit or direct
        visit = source
        if record.kind in NEVER_TOUCHES:
            continue
        touches.append(
            Touch(
                touch_id=record.event_id,
                occurred_at=record.occurred_at.astimezone(UTC),
                channel=source.channel,
                campaign_id=source.campaign.campaign_id,
                content=source.campaign.content,
            )
        )
    return touches


# --------------------------------------------------------------------------------------------------- visits


@dataclass(frozen=True)
class _Source:
    """A visit's traffic source: two visits in a row with the same one are one visit."""

    channel: str
    campaign: CampaignContext


def _own_source(
    context: CampaignContext, record: EngagementRecord, config: AttributionConfig, tagging: frozenset[str]
) -> _Source | None:
    """The engagement's own traffic source; None when it has none (no campaign, no ad click id, no external
    referrer, no rule matching it)."""
    facts = _Facts.of(context, record, config)
    rule = facts.first_rule(config)
    if rule is None and context.is_empty and tagging.isdisjoint(facts.parameters) and facts.referrer is None:
        return None
    return _Source(rule.channel if rule is not None else config.default_channel, context)


def _in_order(records: Iterable[EngagementRecord]) -> list[EngagementRecord]:
    """Records by (occurred_at, event_id), each event once (its first)."""
    ordered: list[EngagementRecord] = []
    for record in records:
        if record.occurred_at.tzinfo is None or record.occurred_at.utcoffset() is None:
            raise ValueError(f"engagement {record.event_id}: occurred_at {record.occurred_at} has no time zone")
        ordered.append(record)
    ordered.sort(key=lambda r: (r.occurred_at, r.event_id))
    seen: set[str] = set()
    unique: list[EngagementRecord] = []
    for record in ordered:
        if record.event_id not in seen:
            seen.add(record.event_id)
            unique.append(record)
    return unique


# ---------------------------------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class _Facts:
    """What the rules look at, compared the way they compare."""

    kind: str
    medium: str | None
    source: str | None
    parameters: frozenset[str]
    referrer: str | None  # the external referrer's host, `www.` aside

    @classmethod
    def of(cls, context: CampaignContext, record: EngagementRecord, config: AttributionConfig) -> _Facts:
        host = referrer_host(record, config)
        return cls(
            kind=record.kind,
            medium=context.medium.strip().lower() if context.medium else None,
            source=context.source.strip().lower() if context.source else None,
            parameters=frozenset(_query(record.url)),
            referrer=_bare(host) if host is not None else None,
        )

    def first_rule(self, config: AttributionConfig) -> ChannelRule | None:
        return next((rule for rule in config.channel_mapping if self.match(rule.when)), None)

    def match(self, when: Conditions) -> bool:
        checks = (
            when.kinds is None or self.kind in when.kinds,
            when.mediums is None or self.medium in when.mediums,
            when.sources is None or self.source in when.sources,
            when.has_medium is None or when.has_medium is (self.medium is not None),
            when.url_parameters is None or not self.parameters.isdisjoint(when.url_parameters),
            when.external_referrer is None or when.external_referrer is (self.referrer is not None),
            when.referrer_hosts is None
            or (self.referrer is not None and _any_host(self.referrer, when.referrer_hosts)),
        )
        return all(checks)


def _any_host(host: str, patterns: Iterable[str]) -> bool:
    labels = host.split(".")
    return any(_host_matches(labels, host, pattern) for pattern in patterns)


def _host_matches(labels: list[str], host: str, pattern: str) -> bool:
    """`google.*`: the host is `google` and a top-level domain (one label, or two ending in a two-letter country
    code: `google.co.uk`), nothing before it; `google.`: the labels `google` appear in the host with more after
    them; `t.co`: the host or a subdomain."""
    if pattern.endswith(".*"):
        name = pattern[:-2].split(".")
        suffix = labels[len(name) :]
        if labels[: len(name)] != name or not suffix:
            return False
        return len(suffix) == 1 or (len(suffix) == 2 and len(suffix[1]) == 2)
    if pattern.endswith("."):
        wanted = pattern[:-1].split(".")
        return any(labels[at : at + len(wanted)] == wanted for at in range(len(labels) - len(wanted)))
    return host == pattern or host.endswith("." + pattern)


# ------------------------------------------------------------------------------------------------- parsing


def _context(source: Mapping[str, object], keys: Mapping[str, str]) -> CampaignContext:
    return CampaignContext(**{name: _label(source.get(key)) for name, key in keys.items()})


def _label(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _query(url: str | None) -> dict[str, str]:
    """The URL's query parameters (the first value of each); {} without a URL or a query."""
    if not url or "?" not in url:
        return {}
    try:
        query = urlsplit(url.strip()).query
    except ValueError:  # an unbalanced [ in the host
        return {}
    return {name: values[0] for name, values in parse_qs(query).items() if values}


def _host(url: str | None) -> str | None:
    """The lower-case host of a URL (a bare host or a scheme-less URL too); None when it has none."""
    if not url or not url.strip():
        return None
    text = url.strip()
    if "//" not in text:
        text = "//" + text
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    host = host.rstrip(".") if host else None
    return host if host and _HOST.fullmatch(host) else None


def _bare(host: str) -> str:
    return host.removeprefix("www.")
