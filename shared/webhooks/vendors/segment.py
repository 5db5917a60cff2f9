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
import zlib
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from shared.events.canonical import CanonicalEvent, EngagementKind, EventType, Subject
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.signatures import SignatureError, any_match, decode_hex
from shared.webhooks.vendor import (
    DeliveryContext,
    MalformedPayload,
    Reply,
    Vendor,
    as_object,
    load_json,
    parse_iso,
    qualified,
)

SIGNATURE_HEADER = "X-Signature"
MESSAGE_TYPES = ("track", "identify", "page", "screen", "group", "alias")
MAX_DECOMPRESSED_BYTES = 2 * 1024 * 1024  # a gzip body may not inflate past this (Segment caps batches at 500 KB)

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


def message_event(message: dict[str, Any], default_type: str | None = None) -> VendorEvent:
    kind = message.get("type") or default_type
    if kind not in MESSAGE_TYPES:
        raise MalformedPayload(f"message type {kind!r} is not one of {', '.join(MESSAGE_TYPES)}")
    message_id = message.get("messageId")
    if not isinstance(message_id, str) or not message_id:
        raise MalformedPayload("every Segment message needs a messageId")
    if not message.get("userId") and not message.get("anonymousId"):
        raise MalformedPayload(f"message {message_id} has neither userId nor anonymousId")
    if kind == "track" and not message.get("event"):
        raise MalformedPayload(f"track message {message_id} has no event name")
    return VendorEvent(
        dedupe_key=message_id,
        vendor_event_id=message_id,
        vendor_event_type=kind,
        occurred_at=parse_iso(message.get("timestamp") or message.get("originalTimestamp")),
        payload={**message, "type": kind},
    )


def normalize_message(vendor: Vendor, event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
    message = dict(event.payload)
    kind = message["type"]
    subject = _subject(message)
    if kind == "identify":
        data = {"traits": message.get("traits") or {}, "anonymous_id": message.get("anonymousId")}
        return vendor.canonical(event, context, EventType.CONTACT_UPSERTED, subject, data)
    if kind == "alias":
        data = {"previous_id": message.get("previousId"), "user_id": message.get("userId")}
        return vendor.canonical(event, context, EventType.CONTACT_UPSERTED, subject, data)
    if kind == "group":
        group = Subject(
            contact_id=subject.contact_id, account_id=qualified("segment", message.get("groupId")), email=subject.email
        )
        return vendor.canonical(
            event, context, EventType.ACCOUNT_UPSERTED, group, {"traits": message.get("traits") or {}}
        )
    return vendor.canonical(event, context, EventType.ENGAGEMENT_RECORDED, subject, _engagement(message))


def _subject(message: dict[str, Any]) -> Subject:
    user_id, anonymous_id = message.get("userId"), message.get("anonymousId")
    contact = qualified("segment", user_id) if user_id else qualified("segment-anonymous", anonymous_id)
    traits = as_object(message.get("traits")) or _context_traits(message)
    email = traits.get("email")
    return Subject(contact_id=contact, email=email if isinstance(email, str) else None)


def _context_traits(message: dict[str, Any]) -> dict[str, Any]:
    """Traits an SDK attaches to page and track calls (`context.traits`): what the caller knows of the person,
    the only person data a non-identify call carries."""
    return as_object(as_object(message.get("context")).get("traits"))


def _engagement(message: dict[str, Any]) -> dict[str, Any]:
    properties = message.get("properties") or {}
    page = (message.get("context") or {}).get("page") or {}
    url = properties.get("url") or page.get("url")
    path = properties.get("path") or page.get("path") or (urlparse(url).path if url else None)
    name: str | None
    if message["type"] == "track":
        name = str(message["event"])
        kind = TRACK_KINDS.get(name.strip().lower(), EngagementKind.TRACK)
        if kind in _CONTENT_KINDS:  # the piece of content is the name that matters ("3 pieces consumed")
            name = next((str(properties[k]) for k in _CONTENT_NAME_KEYS if properties.get(k)), name)
    else:
        name = message.get("name") or properties.get("title")
        kind = EngagementKind.PRICING_PAGE_VISIT if path and "pricing" in path.lower() else EngagementKind.PAGE_VIEW
    return {
        "kind": kind.value,
        "name": name,
        "url": url,
        "path": path,
        "referrer": properties.get("referrer") or page.get("referrer"),
        "properties": properties,
        "anonymous_id": message.get("anonymousId"),
        "user_id": message.get("userId"),
        # The page or event name is not the person's: only these traits may change the profile.
        "traits": _context_traits(message),
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
    """The Segment HTTP tracking API, spoken by analytics SDKs."""

    name = "segment_api"
    max_body_bytes = 512 * 1024

    @property
    def secret_key(self) -> str:
        return "segment_write_key"

    def verify(self, request: InboundWebhook, secrets: list[str], now: datetime) -> None:
        presented = _basic_user(request.header("authorization")) or _body_write_key(request)
        if not presented:
            raise SignatureError("missing write key (HTTP Basic user name, or writeKey in the body)")
        if not any_match((secret.encode() for secret in secrets), [presented.encode()]):
            raise SignatureError("write key is not one this hub issued")

    def parse(self, request: InboundWebhook) -> list[VendorEvent]:
        body = _json_object(request)
        call = urlparse(request.url).path.rstrip("/").rsplit("/", 1)[-1]
        if call == "batch":
            batch = body.get("batch")
            if not isinstance(batch, list) or not batch:
                raise MalformedPayload("batch must be a non-empty list of messages")
            if not all(isinstance(message, dict) for message in batch):
                raise MalformedPayload("every batch entry must be a message object")
            return [message_event(_with_context(message, body)) for message in batch]
        return [message_event(body, default_type=call)]

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
        key = _json_object(request).get("writeKey")
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


def _json_object(request: InboundWebhook) -> dict[str, Any]:
    body = request.body
    if (request.header("content-encoding") or "").lower() == "gzip":
        body = _gunzip(body)
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
        raise MalformedPayload(f"gzip body inflates past {MAX_DECOMPRESSED_BYTES} bytes")
    return inflated


def sign(secret: str, body: bytes) -> str:
    """The X-Signature Segment's webhook destination sends; used by tests and local examples."""
    return hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
