"""A customer as the e2e tests of customer health and product drive it through the running hub: a Stripe
customer, a Zendesk organization and requester, a Typeform respondent and a product tenant, all one account."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from shared.webhooks.vendors import typeform, zendesk
from tests.e2e.conftest import eventually, send_stripe_event, token

ROOT = Path(__file__).resolve().parents[2]
SECRET = {vendor: values[0] for vendor, values in json.loads((ROOT / "config/local.secrets.json").read_text()).items()}


class Customer:
    """Kestrel Labs, a customer: Stripe customer, Zendesk organization, Typeform respondent, product tenant."""

    def __init__(self, url: str) -> None:
        self.url = url
        run = uuid.uuid4().hex[:8]
        self.domain = f"kestrel-{run}.io"
        self.email = f"kim@{self.domain}"
        self.customer = f"cus_{run}"
        self.organization = str(int(run, 16) % 10**9)
        self.requester = str(int(run, 16) % 10**8 + 7)
        self.success = {"Authorization": f"Bearer {token('success')}"}
        self.product = {"Authorization": f"Bearer {token('product')}"}
        self.measured_at = datetime.now(UTC).replace(microsecond=0)

    def stripe(self, event_type: str, obj: dict[str, Any]) -> None:
        answer = send_stripe_event(self.url, event_type, obj)
        assert answer.status_code == 202, answer.text

    def zendesk(
        self, event_type: str, at: datetime, detail: dict[str, Any], event: dict[str, Any] | None = None
    ) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = json.dumps(
            {
                "id": uuid.uuid4().hex,
                "type": f"zen:event-type:{event_type}",
                "account_id": 1,
                "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "zendesk_event_version": "2022-11-06",
                "subject": f"zen:{event_type.split('.')[0]}:{detail['id']}",
                "detail": detail,
                "event": event or {},
            }
        ).encode()
        headers = {
            "X-Zendesk-Webhook-Signature": zendesk.sign(SECRET["zendesk"], body, stamp),
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
            "Content-Type": "application/json",
        }
        answer = requests.post(f"{self.url}/webhooks/zendesk", data=body, headers=headers, timeout=10)
        assert answer.status_code in (200, 202), answer.text

    def _ticket_detail(self, ticket_id: str, priority: str) -> dict[str, Any]:
        return {
            "id": ticket_id,
            "subject": "Export fails",
            "status": "OPEN",
            "priority": priority,
            "requester_id": self.requester,
            "organization_id": self.organization,
        }

    def ticket(self, ticket_id: str, priority: str, opened: datetime, solved: datetime | None = None) -> None:
        detail = self._ticket_detail(ticket_id, priority)
        self.zendesk("ticket.created", opened, detail)
        if solved is not None:
            self.zendesk(
                "ticket.status_changed",
                solved,
                detail | {"status": "SOLVED"},
                {"current": "SOLVED", "previous": "OPEN"},
            )

    def reopen(self, ticket_id: str, priority: str, at: datetime) -> None:
        """The requester answers the solved ticket: Zendesk sets it open again."""
        detail = self._ticket_detail(ticket_id, priority)
        self.zendesk("ticket.status_changed", at, detail, {"current": "OPEN", "previous": "SOLVED"})

    def nps(self, score: int) -> None:
        token_ = uuid.uuid4().hex
        body = json.dumps(
            {
                "event_id": token_,
                "event_type": "form_response",
                "form_response": {
                    "form_id": "nps",
                    "token": token_,
                    "submitted_at": datetime.now(UTC).isoformat(),
                    "definition": {"id": "nps", "title": "Quarterly NPS", "fields": []},
                    "answers": [
                        {"type": "email", "email": self.email, "field": {"id": "f1", "type": "email", "ref": "email"}},
                        {
                            "type": "number",
                            "number": score,
                            "field": {"id": "f2", "type": "opinion_scale", "ref": "nps"},
                        },
                    ],
                },
            }
        ).encode()
        headers = {"Typeform-Signature": typeform.sign(SECRET["typeform"], body), "Content-Type": "application/json"}
        answer = requests.post(f"{self.url}/webhooks/typeform", data=body, headers=headers, timeout=10)
        assert answer.status_code in (200, 202), answer.text

    def usage(
        self, message_id: str, active: int, seats: int, features: int, names: list[str] | None = None
    ) -> requests.Response:
        used = names or [f"f{i}" for i in range(features)]
        body = {
            "tenant_id": self.domain,
            "message_id": message_id,
            "timestamp": self.measured_at.isoformat(),
            "metrics": {"active_users": active, "licensed_seats": seats, "features": dict.fromkeys(used, 4)},
        }
        return requests.post(
            f"{self.url}/api/v1/integrations/product/usage", json=body, headers=self.product, timeout=30
        )

    def health(self, reference: str | None = None) -> requests.Response:
        path = f"/api/v1/integrations/success/health/{reference or self.domain}"
        return requests.get(f"{self.url}{path}", headers=self.success, timeout=30)

    def slack(self, channel: str) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.url}/_local/slack/messages", params={"channel": channel}, timeout=10)
        return list(answer.json()["messages"])

    def emails(self, address: str) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.url}/_local/email/messages", params={"to": address}, timeout=10)
        return list(answer.json()["messages"])

    def create(self) -> Customer:
        """Created in Stripe with its billing email; known to the hub once the lead processor linked it."""
        customer = {"object": "customer", "id": self.customer, "email": self.email, "name": self.domain}
        self.stripe("customer.created", customer)
        eventually(lambda: self.known_as(self.domain))
        return self

    def pays(self, invoice: str, amount_minor: int) -> None:
        invoice_object = {
            "object": "invoice",
            "id": f"in_{self.customer}_{invoice}",
            "customer": self.customer,
            "customer_email": self.email,
            "amount_paid": amount_minor,
            "currency": "usd",
            "status": "paid",
        }
        self.stripe("invoice.paid", invoice_object)

    def known_as(self, reference: str) -> bool:
        return self.health(reference).status_code == 200

    def success_events(self, detail_type: str) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.url}/_local/events", params={"detail-type": detail_type}, timeout=10)
        return [e for e in answer.json() if e["source"] == "revops.success" and e["detail"]["tenant_id"] == self.tenant]

    @property
    def tenant(self) -> str:
        return str(self.health().json()["tenant_id"])
