"""Standard Webhooks (standardwebhooks.com), for any sender that speaks it, our own services included:
`webhook-id`, `webhook-timestamp` (seconds) and `webhook-signature`, a space-separated list of
`v1,<base64>` entries, each an HMAC-SHA256 of `"{id}.{timestamp}.{body}"`.

Secrets are `whsec_<base64>`: the key is the decoded bytes, not the string. A sender whose `type` is one of
our canonical event types is taken at its word and published as that type; anything else is kept as
vendor.unmapped (`shared.webhooks.normalizers.standard`). `webhook-id` stays the same across a sender's
retries and is the dedupe key.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from shared.webhooks.envelope import iso_time
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
        return [
            VendorEvent(
                dedupe_key=msg_id,
                vendor_event_id=msg_id,
                vendor_event_type=body["type"],
                occurred_at=iso_time(body, "timestamp"),
                payload=body,
            )
        ]


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
