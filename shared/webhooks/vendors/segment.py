"""Segment, two ways in, one normalization (`shared.webhooks.normalizers.segment`).

- `segment`: Segment's webhook destination. `X-Signature` = hex HMAC-SHA1 of the body with the shared
  secret; one Segment message per request; no timestamp, so de-duplication on `messageId` is the only
  replay defence.
- `segment_api`: a Segment-compatible tracking API (`POST /v1/batch|track|identify|page|screen|group|alias`, and
  analytics.js's short paths `/v1/b|t|i|p|s|g|a`) so websites and apps send events with the analytics SDKs they
  already use, pointed at the hub with their `host` (`apiHost`) option. Callers authenticate with a write key
  (HTTP Basic, the key as user name, or `writeKey` in the body), checked against the `segment_write_key` entry of
  the secrets. As api.segment.io does, it corrects a device's clock by the call's `sentAt` (`_occurred_at`),
  keeps a batch's good messages when some are bad (`SegmentTrackingApi.refused` names the others), and takes a
  message without a `messageId`, de-duplicated on a hash of its content (`message_event`).

Both carry Segment's `messageId`, unique across Segment, so they share one de-duplication namespace
(`MESSAGE_NAMESPACE`): a customer sending analytics.js to the tracking API who also has Segment forward the same
source to the webhook destination gets each message stored and published once, with one canonical event id,
whichever way it arrives first (its `source_vendor` says which).

The shared namespace is `segment_api`, the one the tracking API always had: its claims and event ids are those
it stored before the two shared one, so an SDK's retry of a message stored before (analytics.js keeps failed
calls in the browser and retries them on later page loads, hours later) is still a duplicate under the same id.
Only the webhook destination's changed (it was `segment`); Segment retries a failed delivery there for a few
hours at most, and a claim it stored before keeps the id it had (`shared.adapters.dynamodb_ledger`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import zlib
from dataclasses import replace
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import urlparse

from shared.catalog.webhooks import TRACKING_CALLS, TRACKING_SHORT_PATHS
from shared.webhooks.envelope import EARLIEST, at, iso_time, key_id, mapping, text
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.signatures import SignatureError, any_match, decode_hex
from shared.webhooks.vendor import (
    MalformedPayload,
    NoSuchCall,
    PayloadTooLarge,
    Refusal,
    Reply,
    Vendor,
    content_hash,
    load_json,
)

SIGNATURE_HEADER = "X-Signature"
# When the hub received a tracking call (ISO-8601), set by the tracking API's function on every request it hands the
# receiver, over any value the caller sent: stored with the request's headers, so the publisher reading the call
# again corrects its clock the same way (`_occurred_at`).
RECEIVED_AT_HEADER = "x-hub-received-at"
MESSAGE_TYPES = tuple(call for call in TRACKING_CALLS if call != "batch")
# analytics.js (Analytics Next) posts a call to `<apiHost>/<its type's first letter>`, and a batch (its batching
# delivery strategy) to `<apiHost>/b`
SHORT_CALLS = TRACKING_SHORT_PATHS  # the catalog routes each of them
# What a message's content hash leaves out (`message_event`): what an SDK sets anew on each retry of it
_NOT_CONTENT = ("sentAt", "writeKey")
# The key of a message without a messageId: its content hash, prefixed so it names what it is
CONTENT_KEY_PREFIX = "content:"
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
# The de-duplication namespace of Segment messages, whichever way they come in: the tracking API's own, so its
# claim keys (EVENT#segment_api#<messageId>) and event ids are those it always had (the webhook destination's were
# EVENT#segment#<messageId>)
MESSAGE_NAMESPACE = "segment_api"


class Clock(NamedTuple):
    """What a tracking call's times are corrected by (`_occurred_at`): when the hub received it, and when the
    caller says it sent it (the batch's `sentAt` for a batch's messages). None: not known."""

    received_at: datetime | None
    sent_at: datetime | None = None


def message_event(
    message: dict[str, Any],
    default_type: str | None = None,
    where: str = "",
    clock: Clock | None = None,
) -> VendorEvent:
    """One Segment message as a vendor event; `where` prefixes what a problem names (`batch[3]`).

    Besides its envelope (type, messageId, userId, anonymousId, times), every field the normalizer reads is
    checked for its type here, so that a stored message always normalizes.

    With a `clock` (the tracking API), the time is corrected as Segment corrects it (`_occurred_at`), and a
    message without a messageId is taken, as Segment takes it (filling one in): it is de-duplicated on a hash of
    its content without what an SDK sets anew on each retry (`sentAt`, `writeKey`), so a retry of it is still a
    duplicate; it carries no vendor event id. The payload is the message as sent, times included."""
    kind = text(message, "type", where) or default_type
    message_id = text(message, "messageId", where)
    # the ids key the hub's records of people and accounts: each at most 255 characters, no control characters
    user_id, anonymous_id = key_id(message, "userId", where), key_id(message, "anonymousId", where)
    event_name = text(message, "event", where)
    text(message, "name", where)
    key_id(message, "groupId", where)
    key_id(message, "previousId", where)
    occurred_at = iso_time(message, "timestamp", where)
    original_timestamp = iso_time(message, "originalTimestamp", where)
    sent_at = _lenient_time(message, "sentAt")
    properties = mapping(message, "properties", where)
    mapping(message, "traits", where)
    _context(mapping(message, "context", where), at(where, "context"))
    at_ = f"{where}: " if where else ""
    if kind not in MESSAGE_TYPES:
        raise MalformedPayload(f"{at_}message type {kind!r} is not one of {', '.join(MESSAGE_TYPES)}")
    if not message_id and clock is None:
        raise MalformedPayload(f"{at_}every Segment message needs a messageId")
    named = f"message {message_id}" if message_id else "message"
    if not user_id and not anonymous_id:
        raise MalformedPayload(f"{at_}{named} has neither userId nor anonymousId")
    if kind == "track" and not event_name:
        raise MalformedPayload(f"{at_}track {named} has no event name")
    _page(properties, at(where, "properties"))
    payload = {**message, "type": kind}
    client_time = occurred_at or original_timestamp
    if clock is not None:
        client_time = _occurred_at(client_time, clock if clock.sent_at else clock._replace(sent_at=sent_at))
    dedupe_key = message_id or CONTENT_KEY_PREFIX + content_hash(
        {key: value for key, value in payload.items() if key not in _NOT_CONTENT}
    )
    return VendorEvent(
        dedupe_key=dedupe_key,
        vendor_event_id=message_id,
        vendor_event_type=kind,
        occurred_at=client_time,
        payload=payload,
    )


def _occurred_at(client_time: datetime | None, clock: Clock) -> datetime | None:
    """Segment's correction of a device's clock: timestamp = receivedAt - (sentAt - timestamp), both of the
    client's times read by the same (possibly wrong) clock; never later than the hub received it. As sent when
    the receive time is not known (a delivery stored before the hub noted it)."""
    if client_time is None or clock.received_at is None:
        return client_time
    if clock.sent_at is not None:
        client_time = max(clock.received_at - (clock.sent_at - client_time), EARLIEST)
    return min(client_time, clock.received_at)


def _lenient_time(obj: dict[str, Any], key: str) -> datetime | None:
    """A time that only corrects another: unreadable, it corrects nothing (and refuses nothing)."""
    try:
        return iso_time(obj, key)
    except MalformedPayload:
        return None


def _context(context: dict[str, Any], where: str) -> None:
    _page(mapping(context, "page", where), at(where, "page"))
    mapping(context, "traits", where)


def _page(page: dict[str, Any], where: str) -> None:
    """A page's `url` and `path`, in the message's `context.page` or its `properties`, are strings."""
    text(page, "url", where)
    text(page, "path", where)


class Segment(Vendor):
    """Segment's webhook destination: one signed message per request."""

    name = "segment"

    @property
    def dedupe_namespace(self) -> str:
        return MESSAGE_NAMESPACE

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


class SegmentTrackingApi(Vendor):
    """The Segment HTTP tracking API, spoken by analytics SDKs, within Segment's published limits: 32 KB a
    message and 500 KB a batch (gzip bodies measured inflated), plus a message count that keeps a batch
    within the function's time (`MAX_BATCH_MESSAGES`)."""

    name = "segment_api"
    max_body_bytes = MAX_BATCH_BYTES

    @property
    def secret_key(self) -> str:
        return "segment_write_key"

    @property
    def dedupe_namespace(self) -> str:
        return MESSAGE_NAMESPACE

    def verify(self, request: InboundWebhook, secrets: list[str], now: datetime) -> None:
        # The HTTP Basic key first: the body is only read (within the JSON bounds) when there is none.
        presented = _basic_user(request.header("authorization")) or _body_write_key(request)
        if not presented:
            raise SignatureError("missing write key (HTTP Basic user name, or writeKey in the body)")
        if not any_match((secret.encode() for secret in secrets), [presented.encode()]):
            raise SignatureError("write key is not one this hub issued")

    def parse(self, request: InboundWebhook) -> list[VendorEvent]:
        """The call's messages; a batch's without those `refused` names (Segment keeps a batch's good messages),
        unless every one is bad: then the batch is malformed, naming the first problem."""
        return self._read(request)[0]

    def refused(self, request: InboundWebhook) -> list[Refusal]:
        return self._read(request)[1]

    # The request last read and what it held: the receiver asks `parse`, then `refused`, of one request, which is
    # read once (a 500 KB batch takes some 50 ms). Held as one tuple, so a reader never pairs a request with
    # another's result.
    _last_read: tuple[InboundWebhook, tuple[list[VendorEvent], list[Refusal]]] | None = None

    def _read(self, request: InboundWebhook) -> tuple[list[VendorEvent], list[Refusal]]:
        last = self._last_read
        if last is not None and last[0] is request:
            return last[1]
        read = self._read_anew(request)
        self._last_read = (request, read)
        return read

    def _read_anew(self, request: InboundWebhook) -> tuple[list[VendorEvent], list[Refusal]]:
        call = _call_of(request)  # before the body: a path that names no call is a 404 whatever was posted
        raw = _inflated(request)
        body = _object_of(raw)
        received_at = _received_at(request)
        if call != "batch":
            if len(raw) > MAX_MESSAGE_BYTES:
                raise MalformedPayload(f"the message is {len(raw):,} bytes; {_MESSAGE_LIMIT}")
            return [message_event(body, default_type=call, clock=Clock(received_at))], []
        batch = body.get("batch")
        if not isinstance(batch, list) or not batch:
            raise MalformedPayload("batch must be a non-empty list of messages")
        if len(batch) > MAX_BATCH_MESSAGES:
            raise PayloadTooLarge(
                f"the batch holds {len(batch):,} messages; at most {MAX_BATCH_MESSAGES:,} are taken a request"
            )
        clock = Clock(received_at, _lenient_time(body, "sentAt"))
        events, refused = [], []
        for position, message in enumerate(batch):
            try:
                events.append(_batch_message(message, position, body, clock))
            except MalformedPayload as problem:
                refused.append(Refusal(position, str(problem)))
        if not events:
            raise MalformedPayload(refused[0].reason)
        return events, refused

    def reply(self, answer: Reply) -> Reply:
        # analytics SDKs treat any 2xx as delivered and read `code`/`message` from errors.
        # A batch's refused messages (`refused`) are named besides Segment's `success`.
        if 200 <= answer.status_code < 300:
            body = answer.body if isinstance(answer.body, dict) else {}
            named = {key: body[key] for key in ("refused", "refused_count") if body.get(key)}
            return Reply(200, {"success": True, **named})
        body = answer.body if isinstance(answer.body, dict) else {"message": str(answer.body)}
        return Reply(answer.status_code, {"code": _ERROR_CODES.get(answer.status_code, "error"), **body})


_ERROR_CODES = {400: "invalid_request", 401: "unauthorized", 404: "not_found", 413: "too_large"}


def _call_of(request: InboundWebhook) -> str:
    """The call a request's path names: its own (`/v1/track`) or analytics.js's short path (`/v1/t`), which share
    one route, so any other name reaches this vendor too (after its write key is checked)."""
    directory, _, name = urlparse(request.url).path.rstrip("/").rpartition("/")
    call = SHORT_CALLS.get(name, name)
    if call not in TRACKING_CALLS:  # the paths named as the caller reached them (its stage or custom domain's)
        paths = ", ".join(f"{directory}/{path}" for path in (*TRACKING_CALLS, *SHORT_CALLS))
        raise NoSuchCall(f"no tracking call at {directory}/{name[:64]}; the calls are at {paths}")
    return call


def _batch_message(message: object, position: int, batch: dict[str, Any], clock: Clock) -> VendorEvent:
    if not isinstance(message, dict):
        raise MalformedPayload(f"every batch entry must be a message object; batch[{position}] is not")
    size = len(json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))
    if size > MAX_MESSAGE_BYTES:
        raise MalformedPayload(f"batch[{position}] is {size:,} bytes; {_MESSAGE_LIMIT}")
    return message_event(_with_context(message, batch), where=f"batch[{position}]", clock=clock)


def _received_at(request: InboundWebhook) -> datetime | None:
    """When the hub received the call (`RECEIVED_AT_HEADER`); None for a delivery stored before it was noted."""
    try:
        received_at = datetime.fromisoformat(request.header(RECEIVED_AT_HEADER) or "")
    except ValueError:
        return None
    return received_at if received_at.tzinfo is not None else None  # never a naive time: the hub notes UTC


def stamped(request: InboundWebhook, received_at: datetime) -> InboundWebhook:
    """The call as the receiver takes it: noting when the hub received it, over anything the caller said."""
    return replace(request, headers={**request.headers, RECEIVED_AT_HEADER: received_at.isoformat()})


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
