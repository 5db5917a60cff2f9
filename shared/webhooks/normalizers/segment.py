"""Segment messages onto the taxonomy, for both ways in (`segment`, the webhook destination, and
`segment_api`, the tracking API): `identify` and `alias` are contacts, `group` an account, `track`, `page`
and `screen` engagements. A message becomes the same event either way, under the same id (Segment's one
de-duplication namespace, `MESSAGE_NAMESPACE`: `segment_api`, the tracking API's own); only `source_vendor` says
which way it came."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlparse

from pydantic import BeforeValidator, Field

from shared.events.canonical import CanonicalEvent, EngagementKind, EventType, Subject
from shared.events.types import SEGMENT_TRACK_KINDS
from shared.webhooks import envelope
from shared.webhooks.model import VendorEvent
from shared.webhooks.normalizers.base import Obj, Payload, Str, Text, canonical, read
from shared.webhooks.vendor import DeliveryContext, qualified
from shared.webhooks.vendors.segment import MESSAGE_NAMESPACE, Segment, SegmentTrackingApi

MAX_ID_CHARACTERS = envelope.MAX_KEY_ID_CHARACTERS
SEGMENT, SEGMENT_API = Segment.name, SegmentTrackingApi.name
TRACK_KINDS = SEGMENT_TRACK_KINDS  # `shared.events.types`: the health model reads it too, without this module


KeyId = Annotated[str | None, BeforeValidator(envelope.as_key_id)]
"""An id the hub keys a record by: a message naming one it cannot key by is refused, naming it."""

_CONTENT_KINDS = (EngagementKind.CONTENT_DOWNLOAD, EngagementKind.WEBINAR_ATTENDED)
_CONTENT_NAME_KEYS = ("title", "name", "content_name", "webinar_name")


class SegmentPage(Payload):
    url: Str = None
    path: Str = None
    referrer: Any = None


def _campaign_id(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) and value else None


def _object_or_nothing(value: Any) -> Any:
    return value if isinstance(value, dict) else {}


class SegmentCampaign(Payload):
    """`context.campaign`: the UTM parameters of the page the call was made on (Segment's spec; analytics.js
    reads `utm_campaign` as `name`). Only these five travel on, each a non-empty string (a campaign id may
    arrive as an integer). The campaign is context for attribution: a field of the wrong type loses the
    field (a campaign that is not an object, the campaign), never the engagement."""

    name: Annotated[str | None, BeforeValidator(_campaign_id)] = None
    source: Text = None
    medium: Text = None
    term: Text = None
    content: Text = None

    def fields(self) -> dict[str, str]:
        """The fields that came."""
        return {key: value for key, value in self.model_dump().items() if value is not None}


_CONSENT_FLAGS = {"true": True, "false": False}


def _consent_flags(value: Any) -> dict[str, bool]:
    """Each category's preference that is true or false (a boolean, or its text as some CMPs send it); any
    other value says nothing, so it is left out."""
    if not isinstance(value, dict):
        return {}
    flags: dict[str, bool] = {}
    for name, flag in value.items():
        if isinstance(flag, str):
            flag = _CONSENT_FLAGS.get(flag.strip().lower())
        if isinstance(name, str) and name and isinstance(flag, bool):
            flags[name] = flag
    return flags


class SegmentConsent(Payload):
    """`context.consent`, Segment Consent Management's consent object: `categoryPreferences` maps each consent
    category (the CMP's category id, e.g. `Advertising`, `Analytics`) to true or false. Consent is context: a
    malformed object or preference says nothing (and is dropped), never losing the call."""

    category_preferences: Annotated[dict[str, bool], BeforeValidator(_consent_flags)] = Field(
        default_factory=dict, alias="categoryPreferences"
    )

    def data(self) -> dict[str, Any]:
        """What travels in the canonical event's `data.consent`: Segment's shape, only when it said something."""
        return {"categoryPreferences": dict(self.category_preferences)} if self.category_preferences else {}


def _id_or_nothing(value: Any) -> str | None:
    """`context.groupId`: an id (a string, or an integer as text) the hub can key by; anything else says
    nothing (context never loses the call)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    try:
        return envelope.as_key_id(value) if isinstance(value, str) else None
    except ValueError:
        return None


class SegmentContext(Payload):
    page: SegmentPage = Field(default_factory=SegmentPage)
    # the account (group) a call is made in, as Segment's B2B spec sends it on track and page calls
    group_id: Annotated[str | None, BeforeValidator(_id_or_nothing)] = Field(None, alias="groupId")
    traits: Obj = Field(default_factory=dict)
    campaign: Annotated[SegmentCampaign, BeforeValidator(_object_or_nothing)] = Field(default_factory=SegmentCampaign)
    consent: Annotated[SegmentConsent, BeforeValidator(_object_or_nothing)] = Field(default_factory=SegmentConsent)


class SegmentProperties(Payload):
    """What of a call's `properties` the hub reads; the whole object travels as it came."""

    url: Str = None
    path: Str = None
    referrer: Any = None
    title: Any = None


class SegmentMessage(Payload):
    """A Segment message, as far as the normalizer reads it (the Segment spec's common fields and those of
    each call)."""

    user_id: KeyId = Field(None, alias="userId")
    anonymous_id: KeyId = Field(None, alias="anonymousId")
    event: Str = None
    name: Str = None
    group_id: KeyId = Field(None, alias="groupId")
    previous_id: KeyId = Field(None, alias="previousId")
    properties: Obj = Field(default_factory=dict)
    traits: Obj = Field(default_factory=dict)
    context: SegmentContext = Field(default_factory=SegmentContext)


def normalize(event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
    """A message from Segment's webhook destination (`segment`)."""
    return normalize_message(SEGMENT, event, context)


def normalize_tracking_api(event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
    """A message from the Segment-compatible tracking API (`segment_api`)."""
    return normalize_message(SEGMENT_API, event, context)


def normalize_message(vendor: str, event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
    message = read(SegmentMessage, event.payload)
    kind = event.payload["type"]
    subject = _subject(kind, message)
    # Any call may carry the person's consent (`context.consent`): it travels as `data.consent` when it says
    # something, for the lead domain to keep (config/consent.json maps its categories to purposes)
    consent = message.context.consent.data()
    said = {"consent": consent} if consent else {}

    def becomes(event_type: EventType, about: Subject, data: dict[str, Any]) -> CanonicalEvent:
        # the same id whichever way the message came: Segment's two ways in share one de-duplication namespace
        # (`segment_api`, so the tracking API's ids are those it always had)
        return canonical(vendor, event, context, event_type, about, data, dedupe_namespace=MESSAGE_NAMESPACE)

    if kind == "identify":
        data = {"traits": message.traits, "anonymous_id": message.anonymous_id, **said}
        return becomes(EventType.CONTACT_UPSERTED, subject, data)
    if kind == "alias":
        data = {"previous_id": message.previous_id, "user_id": message.user_id, **said}
        return becomes(EventType.CONTACT_UPSERTED, subject, data)
    if kind == "group":
        group = Subject(
            contact_id=subject.contact_id, account_id=qualified("segment", message.group_id), email=subject.email
        )
        # `traits` here are the account's (name, website, industry, ... and its own `email`/`phone`), no person's
        data = {"traits": message.traits, **said}
        return becomes(EventType.ACCOUNT_UPSERTED, group, data)
    data = _engagement(kind, message) | said
    return becomes(EventType.ENGAGEMENT_RECORDED, subject, data)


def _subject(kind: str, message: SegmentMessage) -> Subject:
    """The person a call is about: its user (`userId`, else `anonymousId`), with the email of its traits. A
    `group` call's `traits` are the company's (Segment's reserved group traits include `email` and `phone`): its
    person's email is only ever that of `context.traits`, which are the user's on every call."""
    if message.user_id:
        contact = qualified("segment", message.user_id)
    else:
        contact = qualified("segment-anonymous", message.anonymous_id)
    traits = message.context.traits if kind == "group" else (message.traits or message.context.traits)
    email = traits.get("email")
    return Subject(contact_id=contact, email=email if isinstance(email, str) and email else None)


def _engagement(kind: str, message: SegmentMessage) -> dict[str, Any]:
    properties = message.properties
    fields = read(SegmentProperties, properties, "properties")
    page = message.context.page
    url = fields.url or page.url
    path = fields.path or page.path or (urlparse(url).path if url else None)
    name: str | None
    if kind == "track":
        name = str(message.event)
        engagement = TRACK_KINDS.get(name.strip().lower(), EngagementKind.TRACK)
        if engagement in _CONTENT_KINDS:  # the piece of content is the name that matters ("3 pieces consumed")
            name = next((str(properties[k]) for k in _CONTENT_NAME_KEYS if properties.get(k)), name)
    else:
        title = fields.title if isinstance(fields.title, str) else None
        name = message.name or title
        visit = path and "pricing" in path.lower()
        engagement = EngagementKind.PRICING_PAGE_VISIT if visit else EngagementKind.PAGE_VIEW
    return {
        "kind": engagement.value,
        "name": name,
        "url": url,
        "path": path,
        "referrer": fields.referrer or page.referrer,
        "campaign": message.context.campaign.fields(),
        "properties": properties,
        "anonymous_id": message.anonymous_id,
        "user_id": message.user_id,
        # The page or event name is not the person's: only these traits may change the profile.
        "traits": message.context.traits,
        # `context.groupId`: the account the call was made in (health takes a product track's account from it)
        **({"group_id": message.context.group_id} if message.context.group_id else {}),
    }
