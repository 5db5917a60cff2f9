"""HubSpot's webhook events: who made a change (`Source`), the events a change fires, their delivery signed as
HubSpot signs it (v3), and a delivery as the stand-in shows it."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests

from local_runtime.crm_hubspot.portal import DELIVERY_TIMEOUT_SECONDS, SINGULAR, SUBSCRIPTION_IDS, Clock
from local_runtime.crm_hubspot.values import iso
from local_runtime.crm_webhooks import Attempt, Delivery, WebhookDeliveries
from shared.webhooks.vendors.hubspot import SIGNATURE_HEADER, TIMESTAMP_HEADER
from shared.webhooks.vendors.hubspot import sign as sign_v3


@dataclass(frozen=True)
class Source:
    """Who made a change, as HubSpot's webhook events say it."""

    change_source: str
    source_id: str


class WebhookEvents:
    """`LocalHubSpot`'s webhooks: the events a change fires, kept and queued for delivery, and the delivery's POST.
    `LocalHubSpot.__init__` makes the state; it is declared here so that the type checker sees what these methods
    use."""

    portal_id: int
    app_id: int
    _clock: Clock
    _client_secret: str
    _next_event_id: int
    _events: deque[dict[str, Any]]
    _session: requests.Session
    _webhooks: WebhookDeliveries[dict[str, Any], list[dict[str, Any]]]

    def _event(
        self,
        object_type: str,
        object_id: str,
        action: str,
        when: datetime,
        source: Source,
        name: str | None = None,
        value: str | None = None,
    ) -> dict[str, Any]:
        subscription = f"{SINGULAR[object_type]}.{action}"
        event: dict[str, Any] = {
            "eventId": self._next_event_id,
            "subscriptionId": SUBSCRIPTION_IDS[subscription],
            "portalId": self.portal_id,
            "appId": self.app_id,
            "occurredAt": int(when.timestamp() * 1000),
            "subscriptionType": subscription,
            "attemptNumber": 0,
            "objectId": int(object_id),
        }
        self._next_event_id += 1
        if action == "creation":
            event["changeFlag"] = "CREATED"
        event |= {"changeSource": source.change_source, "sourceId": source.source_id}
        if name is not None:
            event |= {"propertyName": name, "propertyValue": value}
        return event

    def _emit(self, events: list[dict[str, Any]]) -> None:
        """Keeps the events and queues them for delivery (called under the lock)."""
        if not events:
            return
        self._events.extend(events)
        self._webhooks.enqueue(events)

    def _post(self, url: str, events: list[dict[str, Any]], attempt: int) -> Attempt:
        body = json.dumps([{**event, "attemptNumber": attempt} for event in events], separators=(",", ":")).encode()
        timestamp = str(int(self._clock().timestamp() * 1000))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/) - WebhooksExecutorDaemon",
            SIGNATURE_HEADER: self.signature("POST", url, body, timestamp),
            TIMESTAMP_HEADER: timestamp,
            "X-HubSpot-Signature-Version": "v3",
        }
        try:
            response = self._session.post(url, data=body, headers=headers, timeout=DELIVERY_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            return Attempt(None, f"{type(exc).__name__}: {str(exc)[:300]}", False)
        status = response.status_code
        return Attempt(status, None if response.ok else response.text[:300], 200 <= status < 300)

    def signature(self, method: str, url: str, body: bytes, timestamp: str) -> str:
        """HubSpot's v3 signature: base64 HMAC-SHA256, with the app's client secret, of method + URI + body +
        timestamp, the URI with the characters HubSpot's guide lists decoded (`signed_uri`)."""
        return sign_v3(self._client_secret, method, url, body, timestamp)


def delivery_view(delivery: Delivery[dict[str, Any]]) -> dict[str, Any]:
    return {
        "delivery": delivery.number,
        "url": delivery.url,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "response_status": delivery.response_status,
        "error": delivery.error,
        "event_ids": [event["eventId"] for event in delivery.items],
        "at": iso(delivery.at) if delivery.at is not None else None,
    }
