"""Standard Webhooks (standardwebhooks.com), for any sender that speaks it, our own services included:
`webhook-id`, `webhook-timestamp` (seconds) and `webhook-signature`, a space-separated list of
`v1,<base64>` entries, each an HMAC-SHA256 of `"{id}.{timestamp}.{body}"`.

Secrets are `whsec_<base64>`: the key is the decoded bytes, not the string. A sender whose `type` is one of
our canonical event types is taken at its word and published as that type; anything else is kept as
vendor.unmapped (`shared.webhooks.normalizers.standard`). `webhook-id` stays the same across a sender's
retries and is the dedupe key.

Since `data` is published as sent, what the hub's consumers read from a canonical type's `data` is checked
here (`check_data`), so that a value they can never use is a 400 naming it instead of a 202 and a consumer
failing the event: the ids that key the hub's records (255 characters, as tracking ids: a subject's, a usage
report's tenant, a subscription's, a ticket's and an invoice's), a deal's money and
`won_at` (as the attribution recorder reads them), a payment's money, a subscription's `status` (text), and a
usage report's counts (as the health recorder and the usage API take them).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from shared.events.types import EventType
from shared.webhooks.envelope import (
    amount_minor,
    as_count,
    as_major_amount,
    count,
    iso_currency_code,
    iso_time,
    key_id,
    malformed,
    offset_time,
    text,
)
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.signatures import (
    SignatureError,
    any_match,
    check_timestamp,
    decode_base64,
    hmac_sha256,
    parse_timestamp_seconds,
)
from shared.webhooks.vendor import MalformedPayload, Vendor, load_json

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret

# vendor.unmapped is what we make of unknown types, not something a sender may claim
PASS_THROUGH = frozenset(event_type.value for event_type in EventType) - {EventType.VENDOR_UNMAPPED.value}
SUBJECT_IDS = ("contact_id", "account_id", "deal_id")
# Ids the consumers key records by: the subject's (qualified `standard:<id>`), a usage report's `tenant_id`, and
# the subscription, ticket and invoice the success and revenue consumers key a customer's signals by
KEY_IDS = (*SUBJECT_IDS, "tenant_id", "subscription_id", "ticket_id", "invoice_id")
# Text the lead processor keys or indexes a person or a company by, where it reads it (`data`, and the
# `traits` / `fields` it reads a profile from): when text, at most 255 characters; anything else is dropped
# there, never the event (an email that is not text, as for every vendor)
KEY_TEXTS = ("email", "domain", "Domain", "website", "Website")
PROFILE_SOURCES = ("traits", "fields")
DEAL_TYPES = frozenset({EventType.DEAL_STAGE_CHANGED, EventType.DEAL_WON, EventType.DEAL_LOST, EventType.DEAL_UPDATED})
PAYMENT_TYPES = frozenset({EventType.PAYMENT_SUCCEEDED, EventType.PAYMENT_FAILED})
USAGE_COUNTS = ("active_users", "licensed_seats", "api_calls")
# Support types: a consumer reads the ticket by `data.id` when `data.ticket_id` is not given (an invoice by a
# payment's `data.object_id`, likewise)
TICKET_TYPES = frozenset({EventType.SUPPORT_TICKET_OPENED, EventType.SUPPORT_TICKET_SOLVED})
MAX_FEATURES = 200  # a usage report's features, as the health recorder and the usage API take them


class StandardWebhooks(Vendor):
    name = "standard"

    def verify(self, request: InboundWebhook, secrets: list[str], now: datetime) -> None:
        msg_id, timestamp, header = (request.header(h) for h in (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER))
        if not msg_id:
            raise SignatureError(f"missing {ID_HEADER} header")
        if not header:
            raise SignatureError(f"missing {SIGNATURE_HEADER} header")
        check_timestamp(parse_timestamp_seconds(timestamp, TIMESTAMP_HEADER), now)
        # other versions (v1a is asymmetric ed25519) are skipped, as the spec asks
        signatures = [value for version, _, value in (e.partition(",") for e in header.split()) if version == "v1"]
        if not signatures:
            raise SignatureError(f"{SIGNATURE_HEADER} has no v1 signature")
        keys = [key for key in (_key(secret) for secret in secrets) if key]
        if not keys:
            raise SignatureError("no configured secret is a valid whsec_ key")
        signed = f"{msg_id}.{timestamp}.".encode() + request.body
        if not any_match((hmac_sha256(key, signed) for key in keys), decode_base64(signatures)):
            raise SignatureError("no v1 signature matches any configured secret")

    def parse(self, request: InboundWebhook) -> list[VendorEvent]:
        msg_id = request.header(ID_HEADER)
        if not msg_id:
            raise MalformedPayload(f"missing {ID_HEADER} header")
        body = load_json(request.body)
        if not isinstance(body, dict) or not isinstance(body.get("type"), str) or not body["type"]:
            raise MalformedPayload('expected a Standard Webhooks payload ({"type": ..., "data": {...}})')
        if not isinstance(body.get("data", {}), dict):
            raise MalformedPayload("data is not an object")
        check_data(body["type"], body.get("data") or {})
        return [
            VendorEvent(
                dedupe_key=msg_id,
                vendor_event_id=msg_id,
                vendor_event_type=body["type"],
                occurred_at=iso_time(body, "timestamp"),
                payload=body,
            )
        ]


def check_data(event_type: str, data: dict[str, Any]) -> None:
    """`MalformedPayload` naming the first field of a canonical type's `data` that the hub's consumers could
    never use (`data.amount: ...`); other types are kept unmapped, as sent, and not read."""
    if event_type not in PASS_THROUGH:
        return
    where = "data"
    for key in KEY_IDS:
        key_id(data, key, where)
    _key_texts(data, where)
    for source in PROFILE_SOURCES:
        if isinstance(data.get(source), dict):
            _key_texts(data[source], f"{where}.{source}")
    if event_type in DEAL_TYPES:
        code = iso_currency_code(data, "currency", where)
        try:
            as_major_amount(data.get("amount"), code)
        except ValueError as exc:
            raise malformed(where, "amount", str(exc)) from None
        if event_type == EventType.DEAL_WON:
            offset_time(data, "won_at", where)
    elif event_type in PAYMENT_TYPES:
        key_id(data, "object_id", where)
        amount_minor(data, "amount_minor", where)
        if isinstance(data.get("currency"), str):  # one that is not text says nothing: the payment has no money
            iso_currency_code(data, "currency", where)
    elif event_type == EventType.SUBSCRIPTION_CHANGED:
        text(data, "status", where)
    elif event_type == EventType.PRODUCT_USAGE_REPORTED:
        _usage(data)
    elif event_type in TICKET_TYPES:
        key_id(data, "id", where)


def _key_texts(obj: dict[str, Any], where: str) -> None:
    for key in KEY_TEXTS:
        if isinstance(obj.get(key), str):
            key_id(obj, key, where)


def _usage(data: dict[str, Any]) -> None:
    """A usage report's counts, where the health recorder reads them: `data.metrics`, else `data` itself."""
    metrics, where = data.get("metrics"), "data.metrics"
    if not isinstance(metrics, dict):
        if metrics not in (None, []):
            raise malformed("data", "metrics", "expected an object")
        metrics, where = data, "data"
    for name in USAGE_COUNTS:
        count(metrics, name, where)
    if metrics.get("licensed_seats") == 0:  # a count by now: seat utilization is active users over seats
        raise malformed(where, "licensed_seats", "at least 1 seat when given, not 0")
    features = metrics.get("features")
    if features is None:
        return
    if not isinstance(features, dict):
        raise malformed(where, "features", "expected an object of feature -> events")
    if len(features) > MAX_FEATURES:
        raise malformed(where, "features", f"at most {MAX_FEATURES} features per report, not {len(features):,}")
    for name, events in features.items():
        try:
            if as_count(events) is None:  # a feature named without its events counts nothing it could read
                raise ValueError("a count is an integer from 0 to 10^12, not None")
        except ValueError as exc:
            raise malformed(f"{where}.features", name[:100], str(exc)) from None


def _key(secret: str) -> bytes | None:
    encoded = secret.strip().removeprefix(SECRET_PREFIX).rstrip("=")
    try:
        # secrets are often stored without their base64 padding
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True) or None
    except (binascii.Error, ValueError):
        return None


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """A `webhook-signature` value for `secret` (a `whsec_` secret); for local examples."""
    key = _key(secret)
    if key is None:
        raise ValueError("secret is not a whsec_<base64> key")
    return "v1," + base64.b64encode(hmac_sha256(key, f"{msg_id}.{timestamp}.".encode() + body)).decode()
