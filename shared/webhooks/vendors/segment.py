"""Segment, two ways in, one normalization.

- `segment`: Segment's webhook destination. `X-Signature` = hex HMAC-SHA1 of the body with the shared
  secret; one Segment message per request; no timestamp, so de-duplication on `messageId` is the only
  replay defence.
- `segment_api`: a Segment-compatible tracking API (`POST /v1/batch|track|identify|page|screen|group|alias`)
  so websites and apps send events with the analytics SDKs they already use, pointed at the hub with their
  `host` option. Callers authenticate with a write key (HTTP Basic, the key as user name, or `writeKey` in
  the body), checked against the `segment_write_key` entry of the secrets.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import zlib
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from pydantic import Field

from shared.events.canonical import CanonicalEvent, EngagementKind, EventType, Subject
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.payload import Id, IsoTime, Obj, Payload, Str, read
from shared.webhooks.signatures import SignatureError, any_match, decode_hex
from shared.webhooks.vendor import (
    DeliveryContext,
    MalformedPayload,
    PayloadTooLarge,
    Reply,
    Vendor,
    load_json,
    qualified,
)

SIGNATURE_HEADER = "X-Signature"
MESSAGE_TYPES = ("track", "identify", "page", "screen", "group", "alias")
# Segment's published limits: 32 KB a message, 500 KB a batch (its SDKs keep batches under 475,000 bytes).
MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_DECOMPRESSED_BYTES = MAX_BATCH_BYTES  # a gzip body is held to the same limit, measured inflated
# Segment sets no count, but a batch's cost is linear in its messages (a PutEvents call per 10, a
# transaction per 99 claims, a BatchWriteItem per 25), and the function has 15 s: 2,500 keeps the worst
# batch to ~380 sequential AWS calls (4 to 8 s).
# The SDKs batch a few hundred at most (segment-analytics-python: 100 by default).
MAX_BATCH_MESSAGES = 2500
_MESSAGE_LIMIT = f"Segment's limit is 32 KB ({MAX_MESSAGE_BYTES:,} bytes) a message"

# Segment's semantic event names (its B2B SaaS and e-commerce specs) that mean a scoring-relevant engagement.
TRACK_KINDS: dict[str, EngagementKind] = {
    "demo requested": EngagementKind.DEMO_REQUEST,
    "trial started": EngagementKind.TRIAL_SIGNUP,
    "signed up": EngagementKind.TRIAL_SIGNUP,
    "form submitted": EngagementKind.FORM_SUBMIT,
    "email opened": EngagementKind.EMAIL_OPEN,
    "email link clicked": EngagementKind.EMAIL_CLICK,
    "webinar attended": EngagementKind.WEBINAR_ATTENDED,
    "content downloaded": EngagementKind.CONTENT_DOWNLOAD,
    "file downloaded": EngagementKind.CONTENT_DOWNLOAD,
    "meeting booked": EngagementKind.MEETING_BOOKED,
    "pricing page viewed": EngagementKind.PRICING_PAGE_VISIT,
}


_CONTENT_KINDS = (EngagementKind.CONTENT_DOWNLOAD, EngagementKind.WEBINAR_ATTENDED)
_CONTENT_NAME_KEYS = ("title", "name", "content_name", "webinar_name")


class SegmentPage(Payload):
    url: Str = None
    path: Str = None
    referrer: Any = None


class SegmentContext(Payload):
    page: SegmentPage = Field(default_factory=SegmentPage)
    traits: Obj = Field(default_factory=dict)


class SegmentProperties(Payload):
    """What of a call's `properties` the hub reads; the whole object travels as it came."""

    url: Str = None
    path: Str = None
    referrer: Any = None
    title: Any = None


class SegmentMessage(Payload):
    """A Segment message (the Segment spec's common fields and those of each call)."""

    type: Str = None
    message_id: Str = Field(None, alias="messageId")
    user_id: Id = Field(None, alias="userId")
    anonymous_id: Id = Field(None, alias="anonymousId")
    event: Str = None
    name: Str = None
    group_id: Id = Field(None, alias="groupId")
    previous_id: Id = Field(None, alias="previousId")
    timestamp: IsoTime = None
    original_timestamp: IsoTime = Field(None, alias="originalTimestamp")
    properties: Obj = Field(default_factory=dict)
    traits: Obj = Field(default_factory=dict)
    context: SegmentContext = Field(default_factory=SegmentContext)


def message_event(message: dict[str, Any], default_type: str | None = None, where: str = "") -> VendorEvent:
    """One Segment message as a vendor event; `where` prefixes what a problem names (`batch[3]`)."""
    fields = read(SegmentMessage, message, where)
    at = f"{where}: " if where else ""
    kind = fields.type or default_type
    if kind not in MESSAGE_TYPES:
        raise MalformedPayload(f"{at}message type {kind!r} is not one of {', '.join(MESSAGE_TYPES)}")
    message_id = fields.message_id
    if not message_id:
        raise MalformedPayload(f"{at}every Segment message needs a messageId")
    if not fields.user_id and not fields.anonymous_id:
        raise MalformedPayload(f"{at}message {message_id} has neither userId nor anonymousId")
    if kind == "track" and not fields.event:
        raise MalformedPayload(f"{at}track message {message_id} has no event name")
    read(SegmentProperties, fields.properties, f"{where}.properties" if where else "properties")
    return VendorEvent(
        dedupe_key=message_id,
        vendor_event_id=message_id,
        vendor_event_type=kind,
        occurred_at=fields.timestamp or fields.original_timestamp,
        payload={**message, "type": kind},
    )


def normalize_message(vendor: Vendor, event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
    message = read(SegmentMessage, event.payload)
    kind = event.payload["type"]
    subject = _subject(message)
    if kind == "identify":
        data = {"traits": message.traits, "anonymous_id": message.anonymous_id}
        return vendor.canonical(event, context, EventType.CONTACT_UPSERTED, subject, data)
    if kind == "alias":
        data = {"previous_id": message.previous_id, "user_id": message.user_id}
        return vendor.canonical(event, context, EventType.CONTACT_UPSERTED, subject, data)
    if kind == "group":
        group = Subject(
            contact_id=subject.contact_id, account_id=qualified("segment", message.group_id), email=subject.email
        )
        return vendor.canonical(event, context, EventType.ACCOUNT_UPSERTED, group, {"traits": message.traits})
    return vendor.canonical(event, context, EventType.ENGAGEMENT_RECORDED, subject, _engagement(kind, message))


def _subject(message: SegmentMessage) -> Subject:
    if message.user_id:
        contact = qualified("segment", message.user_id)
    else:
        contact = qualified("segment-anonymous", message.anonymous_id)
    email = (message.traits or message.context.traits).get("email")
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
        "properties": properties,
        "anonymous_id": message.anonymous_id,
        "user_id": message.user_id,
        # The page or event name is not the person's: only these traits may change the profile.
        "traits": message.context.traits,
    }


class Segment(Vendor):
    """Segment's webhook destination: one signed message per request."""

    name = "segment"

    def verify(self, request: InboundWebhook, secrets: list[str], now: datetime) -> None:
        signature = request.header(SIGNATURE_HEADER)
        if not signature:
            raise SignatureError(f"missing {SIGNATURE_HEADER} header")
        expected = (hmac.new(secret.encode(), request.body, hashlib.sha1).digest() for secret in secrets)
        if not any_match(expected, decode_hex([signature])):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match any configured secret")

    def parse(self, request: InboundWebhook) -> list[VendorEvent]:
        message = load_json(request.body)
        if not isinstance(message, dict):
            raise MalformedPayload("expected one Segment message (a JSON object)")
        return [message_event(message)]

    def normalize(self, event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
        return normalize_message(self, event, context)


class SegmentTrackingApi(Vendor):
    """The Segment HTTP tracking API, spoken by analytics SDKs, within Segment's published limits: 32 KB a
    message and 500 KB a batch (gzip bodies measured inflated), plus a message count that keeps a batch
    within the function's time (`MAX_BATCH_MESSAGES`)."""

    name = "segment_api"
    max_body_bytes = MAX_BATCH_BYTES

    @property
    def secret_key(self) -> str:
        return "segment_write_key"

    def verify(self, request: InboundWebhook, secrets: list[str], now: datetime) -> None:
        # The HTTP Basic key first: the body is only read (within the JSON bounds) when there is none.
        presented = _basic_user(request.header("authorization")) or _body_write_key(request)
        if not presented:
            raise SignatureError("missing write key (HTTP Basic user name, or writeKey in the body)")
        if not any_match((secret.encode() for secret in secrets), [presented.encode()]):
            raise SignatureError("write key is not one this hub issued")

    def parse(self, request: InboundWebhook) -> list[VendorEvent]:
        raw = _inflated(request)
        body = _object_of(raw)
        call = urlparse(request.url).path.rstrip("/").rsplit("/", 1)[-1]
        if call != "batch":
            if len(raw) > MAX_MESSAGE_BYTES:
                raise MalformedPayload(f"the message is {len(raw):,} bytes; {_MESSAGE_LIMIT}")
            return [message_event(body, default_type=call)]
        batch = body.get("batch")
        if not isinstance(batch, list) or not batch:
            raise MalformedPayload("batch must be a non-empty list of messages")
        if len(batch) > MAX_BATCH_MESSAGES:
            raise PayloadTooLarge(
                f"the batch holds {len(batch):,} messages; at most {MAX_BATCH_MESSAGES:,} are taken a request"
            )
        events = []
        for position, message in enumerate(batch):
            if not isinstance(message, dict):
                raise MalformedPayload(f"every batch entry must be a message object; batch[{position}] is not")
            size = len(json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))
            if size > MAX_MESSAGE_BYTES:
                raise MalformedPayload(f"batch[{position}] is {size:,} bytes; {_MESSAGE_LIMIT}")
            events.append(message_event(_with_context(message, body), where=f"batch[{position}]"))
        return events

    def normalize(self, event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
        return normalize_message(self, event, context)

    def reply(self, answer: Reply) -> Reply:
        # analytics SDKs treat any 2xx as delivered and read `code`/`message` from errors.
        if 200 <= answer.status_code < 300:
            return Reply(200, {"success": True})
        body = answer.body if isinstance(answer.body, dict) else {"message": str(answer.body)}
        return Reply(answer.status_code, {"code": _ERROR_CODES.get(answer.status_code, "error"), **body})


_ERROR_CODES = {400: "invalid_request", 401: "unauthorized", 409: "in_progress", 413: "too_large", 503: "unavailable"}


def _with_context(message: dict[str, Any], batch: dict[str, Any]) -> dict[str, Any]:
    """Batch-level `context` applies to every message that has none of its own (Segment HTTP API)."""
    if "context" in batch and "context" not in message:
        return {**message, "context": batch["context"]}
    return message


def _body_write_key(request: InboundWebhook) -> str | None:
    try:
        key = _object_of(_inflated(request)).get("writeKey")
    except MalformedPayload:
        return None  # an unreadable body proves nothing; parse() reports what is wrong with it
    return key if isinstance(key, str) else None


def _basic_user(authorization: str | None) -> str | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.split(":", 1)[0] or None


def _inflated(request: InboundWebhook) -> bytes:
    if (request.header("content-encoding") or "").lower() == "gzip":
        return _gunzip(request.body)
    return request.body


def _object_of(body: bytes) -> dict[str, Any]:
    parsed = load_json(body)
    if not isinstance(parsed, dict):
        raise MalformedPayload("expected a JSON object")
    return parsed


def _gunzip(body: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        inflated = inflater.decompress(body, MAX_DECOMPRESSED_BYTES + 1)
    except zlib.error as exc:
        raise MalformedPayload(f"body is not valid gzip: {exc}") from None
    if len(inflated) > MAX_DECOMPRESSED_BYTES or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"gzip body inflates past {MAX_DECOMPRESSED_BYTES} bytes, Segment's batch limit")
    return inflated


def sign(secret: str, body: bytes) -> str:
    """The X-Signature Segment's webhook destination sends; used by tests and local examples."""
    return hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
