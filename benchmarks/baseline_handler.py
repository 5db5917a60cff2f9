"""The baseline the webhook receiver is measured against: a minimal Stripe webhook handler of the kind the
aws-samples serverless-patterns `eventbridge-webhooks` pattern shows (written here for the bench, not copied):
check the signature, put the event on the bus, answer. No de-duplication, no durable copy, no delivery log,
no normalization: what every webhook function must do at the least.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Any

import boto3

events = boto3.client("events")
SECRET = os.environ["BASELINE_STRIPE_SECRET"].encode()
BUS = os.environ["BASELINE_BUS"]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    header = {key.lower(): value for key, value in (event.get("headers") or {}).items()}.get("stripe-signature", "")
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    expected = hmac.new(SECRET, fields.get("t", "").encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields.get("v1", "")):
        return {"statusCode": 401, "body": "invalid signature"}
    payload = json.loads(body)
    events.put_events(
        Entries=[
            {"Source": "stripe", "DetailType": payload["type"], "Detail": json.dumps(payload), "EventBusName": BUS}
        ]
    )
    return {"statusCode": 200, "body": ""}
