"""A conflicting email change on moto, through the real handlers and the catalog's rules: the CRMs' webhooks go on
the bus, each rule's queue hands its events to its function (the lead processor, the sync recorder), and the
sync API lists and resolves the conflict. The lead in DynamoDB keeps its email while the conflict waits, and
takes the person's choice once they resolve it."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from local_runtime.lambda_events import LocalLambdaContext, rest_proxy_event
from local_runtime.provision import Provisioned
from shared.adapters.eventbridge_publisher import EventBridgePublisher
from shared.crm.mappings import load_crm_mappings
from shared.events.canonical import WEBHOOK_EVENT_SOURCE, CanonicalEvent, EventType, Subject
from tests.canonical_events import canonical_event
from tests.integration.conftest import drain, handler_module
from tests.lead_journey_hub import normalized

SALES = {"sub": "u-sales", "cognito:groups": "sales", "cognito:username": "sales-ops", "token_use": "id"}
MARKETING = {"sub": "u-mkt", "cognito:groups": "marketing", "cognito:username": "mkt", "token_use": "id"}
HUBSPOT_ID = 501
SALESFORCE_ID = "00Q000000000001AAA"
INTEGRATION_USER = load_crm_mappings().integration_users["salesforce"][0]
SALES_OPS_USER = "005000000000099AAA"
PUMPED = ("lead_processor", "crm_sync_recorder")


class Hub:
    def __init__(self, aws: Provisioned) -> None:
        self.aws = aws
        self.functions = {name: handler_module(name) for name in (*PUMPED, "leads_api", "crm_sync_api")}
        self.bus = EventBridgePublisher(
            boto3.client("events", region_name="us-east-1"), aws.bus_name, WEBHOOK_EVENT_SOURCE
        )
        self.at = datetime.now(UTC)
        self._n = itertools.count(1)

    def api(self, method: str, path: str, resource: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        function = "leads_api" if path.startswith("/api/v1/integrations") or "/leads/" in path else "crm_sync_api"
        event = rest_proxy_event(
            method=method,
            path=path,
            resource=resource,
            headers={"Content-Type": "application/json"},
            body=json.dumps(body).encode() if body is not None else b"",
            claims=kwargs.pop("claims", SALES),
            **kwargs,
        )
        answer = self.functions[function].handler(event, LocalLambdaContext(function))
        return answer["statusCode"], json.loads(answer["body"]) if answer.get("body") else None

    def capture(self, email: str) -> str:
        status, body = self.api(
            "POST",
            "/api/v1/integrations/sales/leads",
            "/api/v1/integrations/sales/leads",
            {"email": email, "source": "web form", "company": "Acme", "job_title": "VP"},
            claims=MARKETING,
        )
        assert status == 201, body
        self.pump()
        return str(body["lead_id"])

    def tick(self) -> None:
        """A CRM's change is made now (to the millisecond, as HubSpot stamps it): after what the hub did before it,
        before what it does after it (a person's resolution included)."""
        now = datetime.now(UTC)
        self.at = max(self.at + timedelta(milliseconds=1), now.replace(microsecond=now.microsecond // 1000 * 1000))

    def hubspot_email(self, email: str, by_person: bool = True) -> None:
        self.tick()
        n = next(self._n)
        body = [
            {
                "eventId": n,
                "subscriptionId": 1,
                "portalId": 62515,
                "occurredAt": int(self.at.timestamp() * 1000),
                "subscriptionType": "contact.propertyChange",
                "attemptNumber": 0,
                "objectId": HUBSPOT_ID,
                "propertyName": "email",
                "propertyValue": email,
                "changeSource": "CRM_UI" if by_person else "INTEGRATION",
                "sourceId": "userId:4321" if by_person else "1160452",
            }
        ]
        self.webhook(normalized("hubspot", body, self.at, n))

    def salesforce_email(self, email: str, modified_by: str = SALES_OPS_USER) -> None:
        self.tick()
        fields = {
            "Id": SALESFORCE_ID,
            "Email": email,
            "LastName": "Silva",
            "Company": "Acme",
            "LastModifiedDate": self.at.isoformat(),
            "LastModifiedById": modified_by,
        }
        event = canonical_event(
            EventType.CONTACT_UPSERTED,
            Subject(contact_id=f"salesforce:{SALESFORCE_ID}", email=email),
            {"sobject_type": "Lead", "fields": fields},
            at=self.at,
            n=next(self._n),
            series="salesforce",
            vendor="salesforce",
        ).model_copy(update={"vendor_event_type": "Lead"})
        self.webhook([event])

    def webhook(self, events: list[CanonicalEvent]) -> None:
        assert not self.bus.publish(events).failed
        self.pump()

    def pump(self) -> None:
        """Each rule's queue hands what the bus routed to it to its function, until no rule has anything left."""
        sqs = boto3.client("sqs", region_name="us-east-1")
        taps = [tap for tap in self.aws.taps if tap.function.name in PUMPED]
        for _ in range(30):
            moved = 0
            for tap in taps:
                for message in sqs.receive_message(QueueUrl=tap.tap_url, MaxNumberOfMessages=10).get("Messages", []):
                    sqs.delete_message(QueueUrl=tap.tap_url, ReceiptHandle=message["ReceiptHandle"])
                    event = json.loads(message["Body"])
                    event.setdefault("account", self.aws.account)  # as EventBridge hands it (moto's SQS drops it)
                    answer = self.functions[tap.function.name].handler(event, LocalLambdaContext(tap.function.slug))
                    assert "dead_lettered" not in (answer or {}), answer
                    moved += 1
            if not moved:
                return
        raise AssertionError("the bus never settled")

    def lead_email(self, lead_id: str) -> str | None:
        contact = self.functions["lead_processor"].service.repository.contact(lead_id)
        assert contact is not None
        return str(contact.email)

    def found_by(self, email: str) -> str | None:
        found = self.functions["lead_processor"].service.find_by_email(email)
        return str(found.contact_id) if found is not None else None

    def merged_into(self, lead_id: str) -> str | None:
        contact = self.functions["lead_processor"].service.repository.contact(lead_id)
        assert contact is not None
        return contact.merged_into

    def open_conflicts(self) -> list[dict[str, Any]]:
        status, body = self.api("GET", "/api/v1/sync/conflicts", "/api/v1/sync/conflicts", query={"status": ["open"]})
        assert status == 200, body
        return list(body["items"])

    def resolve(self, conflict_id: str, body: dict[str, Any], claims: dict[str, str] = SALES) -> int:
        status, _ = self.api(
            "POST",
            f"/api/v1/sync/conflicts/{conflict_id}/resolve",
            "/api/v1/sync/conflicts/{conflict_id}/resolve",
            body,
            path_parameters={"conflict_id": conflict_id},
            claims=claims,
        )
        self.pump()
        return status

    def published(self, detail_type: str) -> list[dict[str, Any]]:
        return [e for e in drain(self.aws.all_events_url) if e["detail-type"] == detail_type]


@pytest.fixture
def hub(aws: Provisioned) -> Hub:
    return Hub(aws)


def test_a_conflicting_email_waits_on_the_lead_too_and_a_persons_choice_reaches_it(hub: Hub) -> None:
    # Given a lead both CRMs hold with its email, and a Salesforce user who changed the email since
    lead_id = hub.capture("ana@acme.io")
    hub.hubspot_email("ana@acme.io", by_person=False)
    hub.salesforce_email("ana@acme.io", modified_by=INTEGRATION_USER)
    hub.salesforce_email("ana@silva.dev")
    assert hub.lead_email(lead_id) == "ana@silva.dev"  # the CRM alone changed it: the sync applied it
    assert hub.open_conflicts() == []
    drain(hub.aws.all_events_url)
    # When a HubSpot user changes the email to another address meanwhile
    hub.hubspot_email("ana.silva@other.dev")
    # Then the conflict is listed by the sync API, and flagged on the bus
    [conflict] = hub.open_conflicts()
    assert conflict["record"] == f"contact:{lead_id}"
    assert (conflict["field"], conflict["crm"]["value"], conflict["hub"]["value"]) == (
        "email",
        "ana.silva@other.dev",
        "ana@silva.dev",
    )
    [flagged] = hub.published("sync.conflict_flagged")
    assert flagged["detail"]["conflict_id"] == conflict["conflict_id"]
    # And the lead stored in DynamoDB kept its email, and is not found by HubSpot's address
    assert hub.lead_email(lead_id) == "ana@silva.dev"
    assert hub.found_by("ana.silva@other.dev") is None
    # When sales ops takes HubSpot's address (marketing may not)
    assert hub.resolve(conflict["conflict_id"], {"choose": "crm"}, claims=MARKETING) == 403
    assert hub.lead_email(lead_id) == "ana@silva.dev"
    assert hub.resolve(conflict["conflict_id"], {"choose": "crm"}) == 200
    # Then the lead has it, through the resolution the lead processor's rule takes, and is found by it
    assert hub.lead_email(lead_id) == "ana.silva@other.dev"
    assert hub.found_by("ana.silva@other.dev") == lead_id
    assert hub.open_conflicts() == []


def test_a_conflicting_address_another_lead_holds_merges_no_one_unless_a_person_chooses_it(hub: Hub) -> None:
    # Given another lead holding bob@beta.io, and a lead both CRMs hold whose email a Salesforce user changed
    bob_id = hub.capture("bob@beta.io")
    lead_id = hub.capture("ana@acme.io")
    hub.hubspot_email("ana@acme.io", by_person=False)
    hub.salesforce_email("ana@acme.io", modified_by=INTEGRATION_USER)
    hub.salesforce_email("ana@silva.dev")
    # When a HubSpot user gives the lead bob's address meanwhile
    hub.hubspot_email("bob@beta.io")
    [conflict] = hub.open_conflicts()
    assert conflict["crm"]["value"] == "bob@beta.io"
    # Then the two leads in DynamoDB are still two while it waits: bob's address finds bob
    assert hub.merged_into(lead_id) is None
    assert hub.merged_into(bob_id) is None
    assert hub.found_by("bob@beta.io") == bob_id
    # When sales ops chooses HubSpot's address
    assert hub.resolve(conflict["conflict_id"], {"choose": "crm"}) == 200
    # Then the two are one person, as an identification naming both would make them (bob's, the older, survives)
    assert hub.merged_into(lead_id) == bob_id
    assert hub.found_by("bob@beta.io") == bob_id
    assert hub.lead_email(bob_id) == "bob@beta.io"
