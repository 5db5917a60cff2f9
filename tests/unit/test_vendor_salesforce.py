"""Salesforce Outbound Messages: trusted by org id, parsed without DTDs, mapped, and acknowledged in SOAP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.events.canonical import CanonicalEvent, EventType
from shared.webhooks.model import InboundWebhook
from shared.webhooks.normalizers import normalize
from shared.webhooks.signatures import SignatureError
from shared.webhooks.vendor import MalformedPayload
from shared.webhooks.vendors.salesforce import ACK, Salesforce
from tests.vendor_samples import (
    CONTEXT,
    NOW,
    SALESFORCE_ORG,
    SALESFORCE_PREVIOUS_ORG,
    Gateway,
    salesforce_message,
    salesforce_notification,
    salesforce_request,
)

SALESFORCE = Salesforce()
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE soapenv:Envelope [<!ENTITY org SYSTEM "file:///etc/passwd">]>'
    + salesforce_message().split(b"?>", 1)[1].replace(SALESFORCE_ORG.encode(), b"&org;")
)
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    b"<lolz>&lol2;</lolz>"
)


def normalized(body: bytes) -> list[CanonicalEvent]:
    return [normalize(SALESFORCE.name, event, CONTEXT) for event in SALESFORCE.parse(salesforce_request(body))]


def opportunity(**fields: str | None) -> bytes:
    values: dict[str, str | None] = {
        "Id": "006000000000001AAA",
        "AccountId": "001000000000001AAA",
        "Name": "Acme renewal",
        "StageName": "Negotiation/Review",
        "Amount": "52000.0",
        "CloseDate": "2026-12-31",
        "IsWon": "false",
        "IsClosed": "false",
        "Email": None,
    } | fields
    return salesforce_message(salesforce_notification("04l000000000009AAA", "Opportunity", **values))


# Trust ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("org", "configured"),
    [
        (SALESFORCE_ORG, [SALESFORCE_ORG]),
        (SALESFORCE_PREVIOUS_ORG, [SALESFORCE_ORG, SALESFORCE_PREVIOUS_ORG]),  # a second org, or a sandbox
        (SALESFORCE_ORG, [SALESFORCE_ORG[:15]]),  # Setup shows the 15-character id
    ],
)
def test_a_message_from_a_configured_org_is_trusted(org: str, configured: list[str]) -> None:
    # Given an outbound message from an org the hub is configured for
    request = salesforce_request(salesforce_message(org=org))
    # When it is verified
    # Then it passes
    SALESFORCE.verify(request, configured, NOW)


def test_a_message_from_another_org_is_refused() -> None:
    # Given an outbound message naming an org the hub does not know
    request = salesforce_request(salesforce_message(org="00D000000000999AAA"))
    # When it is verified
    # Then it is refused, without echoing the configured org ids
    with pytest.raises(SignatureError, match="not one of the configured Salesforce orgs") as refused:
        SALESFORCE.verify(request, [SALESFORCE_ORG], NOW)
    assert SALESFORCE_ORG not in str(refused.value)


@pytest.mark.parametrize(
    ("org", "reason"),
    [("", "no OrganizationId"), ("00D000000000001AAAXYZ", "15- or 18-character"), ("00D", "15- or 18-character")],
)
def test_a_message_without_a_proper_org_id_is_refused(org: str, reason: str) -> None:
    # Given a message whose OrganizationId is missing or not a Salesforce id
    request = salesforce_request(salesforce_message(org=org))
    # When it is verified
    # Then it is refused with the reason
    with pytest.raises(SignatureError, match=reason):
        SALESFORCE.verify(request, [SALESFORCE_ORG, "00D"], NOW)


@pytest.mark.parametrize(
    "body", [XXE, BILLION_LAUGHS, salesforce_message().replace(b"<soapenv:Body>", b"<!doctype x>")]
)
def test_bodies_declaring_a_dtd_are_refused_before_parsing(body: bytes) -> None:
    # Given a body with a DOCTYPE or ENTITY declaration (external entity read, entity expansion bomb)
    request = salesforce_request(body)
    # When it is verified or parsed
    # Then it is refused unparsed: unproven at the door, malformed if it ever got further
    with pytest.raises(SignatureError, match="DOCTYPE or ENTITY"):
        SALESFORCE.verify(request, [SALESFORCE_ORG], NOW)
    with pytest.raises(MalformedPayload, match="DOCTYPE or ENTITY"):
        SALESFORCE.parse(request)


def test_a_declared_encoding_cannot_smuggle_a_dtd_past_the_check() -> None:
    # Given a UTF-16 body (its DOCTYPE invisible to a byte search for ASCII)
    body = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'.encode("utf-16")
    # When it is parsed
    # Then it is refused as not UTF-8, never handed to the parser
    with pytest.raises(MalformedPayload, match="not UTF-8"):
        SALESFORCE.parse(salesforce_request(body))


# Parsing ----------------------------------------------------------------------------------------------------


def test_every_notification_becomes_one_event_keyed_by_its_notification_id() -> None:
    # Given a message with two notifications
    body = salesforce_message(
        salesforce_notification("04l000000000001AAA", "Lead"),
        salesforce_notification("04l000000000002AAA", "Contact", Id="003000000000001AAA", Email=None),
    )
    # When it is parsed
    events = SALESFORCE.parse(salesforce_request(body))
    # Then each notification is an event, deduped on its Id, with its fields and the message's org
    assert [e.dedupe_key for e in events] == ["04l000000000001AAA", "04l000000000002AAA"]
    assert [e.vendor_event_type for e in events] == ["Lead", "Contact"]
    assert events[1].payload["fields"]["Email"] is None  # xsi:nil
    assert events[0].payload["organization_id"] == SALESFORCE_ORG
    assert events[0].occurred_at == datetime(2026, 11, 25, 11, 59, tzinfo=UTC)


def test_fields_in_the_partner_namespace_are_read_too() -> None:
    # Given a message built against the partner WSDL (fields in another namespace)
    body = salesforce_message().replace(
        b"urn:sobject.enterprise.soap.sforce.com", b"urn:sobject.partner.soap.sforce.com"
    )
    # When it is normalized
    [event] = normalized(body)
    # Then the fields are found by name all the same
    assert event.subject.contact_id == "salesforce:00Q000000000001AAA"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not xml", "not well-formed XML"),
        (b"<Envelope/>", "not a SOAP 1.1 Envelope"),
        (
            b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body/>'
            b"</soapenv:Envelope>",
            "no notifications element",
        ),
        (
            salesforce_message().split(b"<Notification>")[0] + b"</notifications></soapenv:Body></soapenv:Envelope>",
            "no Notification",
        ),
        (salesforce_message(*[salesforce_notification(f"04l{n:015d}") for n in range(101)]), "at most 100"),
        (salesforce_message("<Notification><sObject/></Notification>"), "Notification 0 has no Id"),
        (salesforce_message("<Notification><Id>04l1</Id></Notification>"), "04l1 has no sObject"),
        (salesforce_message("<Notification><Id>04l1</Id><sObject/></Notification>"), "no xsi:type"),
        (b"\xff\xfe<x/>", "not UTF-8"),
    ],
)
def test_malformed_messages_name_what_is_wrong(body: bytes, message: str) -> None:
    # Given a body that is not a well-formed outbound message
    # When it is parsed
    # Then the error says what is wrong
    with pytest.raises(MalformedPayload, match=message):
        SALESFORCE.parse(salesforce_request(body))


# Mapping ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (salesforce_message(salesforce_notification(sobject="Lead")), EventType.CONTACT_UPSERTED),
        (salesforce_message(salesforce_notification(sobject="Contact")), EventType.CONTACT_UPSERTED),
        (salesforce_message(salesforce_notification(sobject="Account", Name="Acme")), EventType.ACCOUNT_UPSERTED),
        (opportunity(IsWon="true", IsClosed="true", StageName="Signed"), EventType.DEAL_WON),
        (opportunity(StageName="Closed Won", IsWon=None, IsClosed=None), EventType.DEAL_WON),
        (opportunity(IsClosed="true", StageName="Disqualified"), EventType.DEAL_LOST),
        (opportunity(StageName="Closed Lost", IsWon=None, IsClosed=None), EventType.DEAL_LOST),
        (opportunity(), EventType.DEAL_STAGE_CHANGED),
        (salesforce_message(salesforce_notification(sobject="Case")), EventType.VENDOR_UNMAPPED),
    ],
)
def test_sobjects_map_onto_the_taxonomy(body: bytes, expected: EventType) -> None:
    # Given a notification about a kind of record
    # When it is normalized
    [event] = normalized(body)
    # Then it has the canonical type and keeps the notification's id
    assert event.event_type is expected
    assert str(event.vendor_event_id).startswith("04l")


def test_a_lead_or_contact_names_the_person_and_their_account() -> None:
    # Given a Contact notification with an account
    body = salesforce_message(salesforce_notification(sobject="Contact", Id="003A", AccountId="001A", Email="a@x.io"))
    # When it is normalized
    [event] = normalized(body)
    # Then the subject is the contact, its account and its email, qualified by vendor
    assert (event.subject.contact_id, event.subject.account_id, event.subject.email) == (
        "salesforce:003A",
        "salesforce:001A",
        "a@x.io",
    )
    assert event.data["fields"]["AccountId"] == "001A"


def test_an_opportunity_carries_stage_amount_and_close_date() -> None:
    # Given an Opportunity moved to a new open stage
    # When it is normalized
    [event] = normalized(opportunity())
    # Then the deal, its account and the stage details are on the event
    assert event.subject.deal_id == "salesforce:006000000000001AAA"
    assert event.subject.account_id == "salesforce:001000000000001AAA"
    assert (event.data["stage"], event.data["amount"], event.data["close_date"]) == (
        "Negotiation/Review",
        52000.0,
        "2026-12-31",
    )


def test_an_unmapped_sobject_keeps_the_whole_notification() -> None:
    [event] = normalized(salesforce_message(salesforce_notification(sobject="Case", Subject="Broken")))
    assert event.data["payload"]["fields"]["Subject"] == "Broken"
    assert event.data["payload"]["sobject_type"] == "Case"


def campaign_member(**fields: str | None) -> bytes:
    """A CampaignMember notification: Ada, a Lead, responded to a trade show campaign."""
    values: dict[str, str | None] = {
        "Id": "00v000000000001AAA",
        "CampaignId": "701000000000001AAA",
        "LeadId": "00Q000000000001AAA",
        "ContactId": None,
        "Status": "Responded",
        "HasResponded": "true",
        "FirstRespondedDate": "2026-11-24",
        "Campaign_Type__c": "Trade Show",
        "Email": None,
    }
    return salesforce_message(salesforce_notification(sobject="CampaignMember", **(values | fields)))


def test_a_campaign_members_response_is_an_engagement_of_the_lead_with_the_campaign() -> None:
    # Given Ada, a Lead, responding to a trade show campaign
    # When it is normalized
    [event] = normalized(campaign_member())
    # Then it is a campaign response of the Lead, its campaign the Salesforce campaign, its medium the type
    assert event.event_type is EventType.ENGAGEMENT_RECORDED
    assert event.subject.contact_id == "salesforce:00Q000000000001AAA"
    assert event.data["kind"] == "campaign_response"
    assert event.data["campaign"] == {"name": "701000000000001AAA", "source": "salesforce", "medium": "trade show"}
    assert event.data["properties"]["status"] == "Responded"


def test_a_contact_member_is_named_by_its_contact_id_and_a_campaign_without_type_has_no_medium() -> None:
    [event] = normalized(campaign_member(LeadId=None, ContactId="003000000000001AAA", Campaign_Type__c=None))
    assert event.subject.contact_id == "salesforce:003000000000001AAA"
    assert event.data["campaign"] == {"name": "701000000000001AAA", "source": "salesforce"}


@pytest.mark.parametrize(
    "fields",
    [{"HasResponded": "false", "Status": "Sent"}, {"LeadId": None, "ContactId": None}],
    ids=["not responded", "no person"],
)
def test_a_member_who_has_not_responded_or_names_no_one_is_no_engagement(fields: dict[str, str | None]) -> None:
    [event] = normalized(campaign_member(**fields))
    assert event.event_type is EventType.VENDOR_UNMAPPED


# Through the gateway ----------------------------------------------------------------------------------------


def test_an_accepted_message_and_its_retry_are_both_acknowledged_in_soap() -> None:
    # Given the gateway with the hub's org configured
    gateway = Gateway(SALESFORCE, [SALESFORCE_ORG])
    body = salesforce_message(salesforce_notification("04l1"), salesforce_notification("04l2", "Account"))
    # When Salesforce delivers a message, then retries it
    first = gateway.receive(salesforce_request(body))
    retry = gateway.receive(salesforce_request(body))
    # Then both get the SOAP Ack Salesforce waits for, and the events are published once
    assert (first.status_code, first.content_type, first.body) == (200, "text/xml", ACK)
    assert (retry.status_code, retry.content_type, retry.body) == (200, "text/xml", ACK)
    assert [e.event_type for e in gateway.publisher.published] == [
        EventType.CONTACT_UPSERTED,
        EventType.ACCOUNT_UPSERTED,
    ]


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        (salesforce_request(salesforce_message(org="00D000000000999AAA")), 401),
        (salesforce_request(salesforce_message("<Notification><Id>x</Id></Notification>")), 400),
    ],
)
def test_refusals_stay_json_so_salesforce_retries(request_: InboundWebhook, status: int) -> None:
    # Given a message from an unknown org, or a broken one
    gateway = Gateway(SALESFORCE, [SALESFORCE_ORG])
    # When it is delivered
    answer = gateway.receive(request_)
    # Then it is refused in JSON, with no Ack, and nothing is published
    assert (answer.status_code, answer.content_type) == (status, "application/json")
    assert gateway.publisher.published == []


# Hostile and malformed messages (issue 8) -------------------------------------------------------------------


def _nested_in_sobject(depth: int) -> bytes:
    deep = "<sf:X>" + "<a>" * depth + "</a>" * depth + "</sf:X>"
    return salesforce_message(salesforce_notification().replace("</sObject>", deep + "</sObject>"))


def test_a_message_nested_2000_deep_is_refused_unread_and_logged() -> None:
    # Given a message naming the configured org whose sObject nests 2,000 elements deep
    gateway = Gateway(SALESFORCE, [SALESFORCE_ORG])
    # When it is delivered
    answer = gateway.receive(salesforce_request(_nested_in_sobject(2000)))
    # Then the parser stops at its depth limit: the org cannot be read, so the sender is unproven (401, not a
    # crash), and the attempt is in the log with the reason
    assert answer.status_code == 401
    [attempt] = gateway.ledger.attempts.values()
    assert "nests XML deeper than 32 levels" in (attempt.reason or "")
    with pytest.raises(MalformedPayload, match="deeper than 32"):
        SALESFORCE.parse(salesforce_request(_nested_in_sobject(2000)))


def test_a_message_as_deep_as_the_limit_is_read() -> None:
    # Given a compound field nested to just within the limit (the envelope takes 6 levels)
    [event] = normalized(_nested_in_sobject(32 - 7))
    # Then it is read as usual
    assert event.event_type is EventType.CONTACT_UPSERTED


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"LastModifiedDate": "+58000-01-01T00:00:00Z"}, "LastModifiedDate: "),
        ({"LastModifiedDate": "1969-12-31T23:59:59Z"}, "LastModifiedDate: "),
        ({"LastModifiedDate": "next tuesday"}, "LastModifiedDate: "),
    ],
)
def test_a_time_out_of_range_is_a_400_naming_the_field(fields: dict, named: str) -> None:
    # Given a notification whose modification time is not a time between 1970 and 2200
    gateway = Gateway(SALESFORCE, [SALESFORCE_ORG])
    # When it is delivered
    answer = gateway.receive(salesforce_request(salesforce_message(salesforce_notification(**fields))))
    # Then it is a 400 naming the notification and the field, and logged
    assert answer.status_code == 400
    assert f"Notification 04l000000000001AAA.sObject.{named}" in answer.body["message"]
    [attempt] = gateway.ledger.attempts.values()
    assert named in (attempt.reason or "")


def test_an_id_that_is_a_compound_field_is_a_400() -> None:
    body = salesforce_message(
        salesforce_notification().replace("<sf:Id>00Q000000000001AAA</sf:Id>", "<sf:Id><x>1</x></sf:Id>")
    )
    answer = Gateway(SALESFORCE, [SALESFORCE_ORG]).receive(salesforce_request(body))
    assert answer.status_code == 400
    assert "sObject.Id: expected an id" in answer.body["message"]
