"""Prints a curl command that sends a correctly signed sample webhook to the local hub.

python -m local_runtime.example stripe | sh
python -m local_runtime.example hubspot --secret wrong | sh     # a forged one: 401
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import time
import uuid
from pathlib import Path

from shared.webhooks.vendors import hubspot, stripe

SECRETS = Path(__file__).resolve().parent.parent / "config" / "local.secrets.json"


def stripe_example(url: str, secret: str) -> tuple[bytes, dict[str, str]]:
    body = {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": "invoice.paid",
        "created": int(time.time()),
        "livemode": False,
        "data": {
            "object": {
                "object": "invoice",
                "id": "in_local_1",
                "customer": "cus_local_1",
                "customer_email": "ada@example.com",
                "amount_paid": 4900,
                "currency": "usd",
            }
        },
    }
    raw = json.dumps(body).encode()
    return raw, {"Stripe-Signature": stripe.sign(secret, raw, int(time.time()))}


def hubspot_example(url: str, secret: str) -> tuple[bytes, dict[str, str]]:
    event = {
        "eventId": int(time.time() * 1000) % 10**9,
        "subscriptionId": 1,
        "portalId": 62515,
        "appId": 1,
        "occurredAt": int(time.time() * 1000),
        "subscriptionType": "contact.propertyChange",
        "attemptNumber": 0,
        "objectId": 501,
        "changeSource": "CRM",
        "propertyName": "email",
        "propertyValue": "ada@example.com",
    }
    raw = json.dumps([event]).encode()
    timestamp = str(int(time.time() * 1000))
    return raw, {
        "X-HubSpot-Signature-v3": hubspot.sign(secret, "POST", url, raw, timestamp),
        "X-HubSpot-Request-Timestamp": timestamp,
    }


EXAMPLES = {"stripe": stripe_example, "hubspot": hubspot_example}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("vendor", choices=sorted(EXAMPLES))
    parser.add_argument("--hub", default=f"http://127.0.0.1:{os.environ.get('HUB_PORT', '3000')}")
    parser.add_argument("--secret", help="sign with this secret instead of the configured one")
    args = parser.parse_args()
    url = f"{args.hub}/webhooks/{args.vendor}"
    secret = args.secret or json.loads(SECRETS.read_text())[args.vendor][0]
    body, headers = EXAMPLES[args.vendor](url, secret)
    parts = ["curl", "-sS", "-i", "-X", "POST", url, "-H", "Content-Type: application/json"]
    for name, value in headers.items():
        parts += ["-H", f"{name}: {value}"]
    parts += ["--data-binary", body.decode()]
    print(shlex.join(parts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
