"""Slack: `X-Slack-Signature: v0=<hex>`, HMAC-SHA256 (app signing secret) of
`"v0:{X-Slack-Request-Timestamp}:{body}"`, the timestamp in seconds.

One route takes both of Slack's request kinds. The Events API posts JSON: `url_verification` (answered with
its challenge) and `event_callback` (deduped on `event_id`, which Slack keeps across retries). Interactivity
posts `application/x-www-form-urlencoded` with the JSON in `payload`; it carries no id, so it dedupes on a
hash of the payload, in which the per-click `trigger_id` and `action_ts` keep two clicks apart. How its
events map onto the taxonomy (the hub's handoff button): `shared.webhooks.normalizers.slack`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from shared.webhooks.envelope import epoch_seconds, text
from shared.webhooks.model import InboundWebhook, Outcome, VendorEvent
from shared.webhooks.signatures import (
    SignatureError,
    any_match,
    check_timestamp,
    decode_hex,
    header_signatures,
    hmac_sha256,
    parse_timestamp_seconds,
)
from shared.webhooks.vendor import MalformedPayload, Reply, Vendor, content_hash, load_json

SIGNATURE_HEADER = "X-Slack-Signature"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
_PREFIX = "v0="
_ACKS = {Outcome.ACCEPTED.value, Outcome.DUPLICATE.value}


class Slack(Vendor):
    name = "slack"

    def verify(self, request: InboundWebhook, secrets: list[str], now: datetime) -> None:
        signatures = header_signatures(request.header(SIGNATURE_HEADER), SIGNATURE_HEADER, _PREFIX)
        timestamp = request.header(TIMESTAMP_HEADER) or ""
        check_timestamp(parse_timestamp_seconds(timestamp, TIMESTAMP_HEADER), now)
        signed = b"v0:" + timestamp.encode() + b":" + request.body
        if not any_match((hmac_sha256(secret, signed) for secret in secrets), decode_hex(signatures)):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match any configured signing secret")

    def handshake(self, request: InboundWebhook) -> Reply | None:
        if _is_form(request.body):
            return None
        body = load_json(request.body)
        if isinstance(body, dict) and body.get("type") == "url_verification":
            challenge = body.get("challenge")
            if not isinstance(challenge, str) or not challenge:
                raise MalformedPayload("url_verification has no challenge")
            return Reply(200, {"challenge": challenge})
        return None

    def parse(self, request: InboundWebhook) -> list[VendorEvent]:
        if _is_form(request.body):
            return [_interaction(request.body)]
        body = load_json(request.body)
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            raise MalformedPayload('expected a Slack Events API object ({"type": ...})')
        if body["type"] != "event_callback":
            return [VendorEvent(content_hash(body), None, body["type"], None, body)]
        event_id, event = body.get("event_id"), body.get("event")
        if not isinstance(event_id, str) or not event_id:
            raise MalformedPayload("event_callback has no event_id")
        if not isinstance(event, dict):
            raise MalformedPayload("event_callback has no event object")
        event_time, event_type = epoch_seconds(body, "event_time"), text(event, "type", "event")
        return [
            VendorEvent(
                dedupe_key=event_id,
                vendor_event_id=event_id,
                vendor_event_type=event_type or "event_callback",
                occurred_at=event_time,
                payload=body,
            )
        ]

    def reply(self, answer: Reply) -> Reply:
        # Slack wants a bare 200: a body on an interaction ack is shown to the user (slash commands) or fails
        # the modal (view_submission), and Events API retries on anything slower or non-2xx. The gateway's
        # accepted/duplicate acks are therefore emptied; the url_verification challenge and errors pass as is.
        if isinstance(answer.body, dict) and answer.body.get("status") in _ACKS:
            return Reply(200, "", "text/plain")
        return answer


def _is_form(body: bytes) -> bool:
    # Events API bodies are JSON objects; interactivity and slash commands are form-encoded
    return not body.lstrip().startswith(b"{")


def _interaction(body: bytes) -> VendorEvent:
    try:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise MalformedPayload("body is neither JSON nor a form-encoded Slack request") from None
    if not form:
        raise MalformedPayload("body is empty")
    if "payload" not in form:
        # a slash command: its fields are the payload
        fields = {key: values[0] for key, values in form.items()}
        return VendorEvent(content_hash(fields), None, "slash_command" if "command" in fields else "form", None, fields)
    try:
        payload = load_json(form["payload"][0])
    except MalformedPayload as exc:
        raise MalformedPayload(f"interaction payload {str(exc).removeprefix('body ')}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise MalformedPayload('interaction payload is not a Slack interaction ({"type": ...})')
    return VendorEvent(content_hash(payload), None, payload["type"], _action_time(payload), payload)


def _action_time(payload: dict[str, Any]) -> datetime | None:
    """When the first action happened: its `action_ts` (a string of seconds); None when it has none."""
    actions = payload.get("actions")
    first = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
    try:
        seconds = float(first["action_ts"])
    except (KeyError, TypeError, ValueError):
        return None
    return epoch_seconds({"action_ts": seconds}, "action_ts", "actions[0]")


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `X-Slack-Signature` header Slack would send; for local examples."""
    return _PREFIX + hmac_sha256(secret, f"v0:{timestamp}:".encode() + body).hex()
