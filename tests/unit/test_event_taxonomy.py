"""shared/events/taxonomy.py is held to the vendor normalizers, so the catalog's "emitted for" cannot go stale.

The normalizers in shared/webhooks/normalizers/ are the authority on which vendor events become which type;
the taxonomy describes them by hand. These tests fail when a vendor is registered but not described, when the
taxonomy names a vendor that is not registered, when a type is left undescribed, and when a vendor event
the taxonomy lists under a type no longer normalizes to that type.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

import pytest

from shared.events.canonical import CanonicalEvent, EngagementKind, EventType
from shared.events.taxonomy import EVENT_TYPES, NOT_DESCRIBED, Emitter, describe
from shared.webhooks.model import VendorEvent
from shared.webhooks.normalizers import NORMALIZERS
from shared.webhooks.normalizers import normalize as normalize_event
from shared.webhooks.normalizers.segment import TRACK_KINDS
from shared.webhooks.registry import TRACKING_API, VENDORS
from shared.webhooks.vendor import DeliveryContext, Vendor
from shared.webhooks.vendors.standard import StandardWebhooks

ADAPTERS: dict[str, Vendor] = {**VENDORS, TRACKING_API.name: TRACKING_API}
STANDARD = StandardWebhooks.name
CONTEXT = DeliveryContext("delivery-1", "request-1", datetime(2025, 1, 15, 9, 30, tzinfo=UTC))

# Types no vendor adapter maps onto yet. They are still described (meaning, example), and listed as emitted by
# Standard Webhooks, whose senders may name any canonical type; but no vendor's own events become them.
NOT_MAPPED_BY_A_VENDOR_ADAPTER: dict[EventType, str] = {
    EventType.PRODUCT_USAGE_REPORTED: "no product analytics adapter exists yet (Segment `track` calls become "
    "engagement.recorded): only Standard Webhooks senders, such as the product's own backend, publish it",
}

# The least of a vendor event each vendor's normalizer reads, by vendor and vendor event type.
PAYLOADS: dict[str, Callable[[str], dict[str, Any]]] = {
    "stripe": lambda kind: {"object": "event", "type": kind, "data": {"object": {}}},
    "hubspot": lambda kind: {"subscriptionType": kind, "objectId": 1},
    "salesforce": lambda kind: {"sobject_type": kind, "fields": {"Id": "001000000000001"}},
    "segment": lambda kind: {"type": kind, "messageId": "m-1", "userId": "u-1", "event": "Something Custom"},
    "segment_api": lambda kind: {"type": kind, "messageId": "m-1", "userId": "u-1", "event": "Something Custom"},
    "calendly": lambda kind: {"event": kind, "payload": {}},
    "typeform": lambda kind: {"event_id": "e-1", "event_type": kind, "form_response": {}},
    "zendesk": lambda kind: {"type": f"zen:event-type:{kind}", "detail": {}, "event": {}},
    "intercom": lambda kind: {"type": "notification_event", "topic": kind, "data": {"item": {}}},
    "slack": lambda kind: {"type": kind, "actions": [{"action_id": "handoff_accept", "value": "{}"}]},
    "standard": lambda kind: {"type": kind, "data": {}},
}

# Where only some of a vendor's events of a type become a canonical type (the emitter's condition), what
# of the payload meets the condition, merged over PAYLOADS.
MEETING_THE_CONDITION: dict[tuple[str, str, EventType], dict[str, Any]] = {
    ("slack", "block_actions", EventType.HANDOFF_REJECTED): {
        "actions": [{"action_id": "handoff_reject", "value": "{}"}]
    },
    ("stripe", "checkout.session.completed", EventType.PAYMENT_SUCCEEDED): {
        "data": {"object": {"payment_status": "paid"}}
    },
    ("hubspot", "deal.propertyChange", EventType.DEAL_STAGE_CHANGED): {
        "propertyName": "dealstage",
        "propertyValue": "contractsent",
    },
    ("hubspot", "deal.propertyChange", EventType.DEAL_WON): {"propertyName": "dealstage", "propertyValue": "closedwon"},
    ("hubspot", "deal.propertyChange", EventType.DEAL_UPDATED): {"propertyName": "amount", "propertyValue": "5000"},
    ("hubspot", "contact.propertyChange", EventType.ENGAGEMENT_RECORDED): {
        "propertyName": "num_conversion_events",
        "propertyValue": "3",
    },
    ("hubspot", "deal.propertyChange", EventType.DEAL_LOST): {
        "propertyName": "dealstage",
        "propertyValue": "closedlost",
    },
    ("salesforce", "Opportunity", EventType.DEAL_STAGE_CHANGED): {
        "fields": {"StageName": "Prospecting", "IsWon": "false", "IsClosed": "false"}
    },
    ("salesforce", "Opportunity", EventType.DEAL_WON): {
        "fields": {"StageName": "Closed Won", "IsWon": "true", "IsClosed": "true"}
    },
    ("salesforce", "Opportunity", EventType.DEAL_LOST): {
        "fields": {"StageName": "Closed Lost", "IsWon": "false", "IsClosed": "true"}
    },
    ("salesforce", "CampaignMember", EventType.ENGAGEMENT_RECORDED): {
        "fields": {"CampaignId": "701000000000001", "LeadId": "00Q000000000001", "HasResponded": "true"}
    },
    ("zendesk", "ticket.status_changed", EventType.SUPPORT_TICKET_SOLVED): {
        "event": {"previous": "open", "current": "solved"}
    },
    ("zendesk", "ticket.status_changed", EventType.SUPPORT_TICKET_OPENED): {
        "event": {"previous": "solved", "current": "open"}
    },
    ("intercom", "ticket.state.updated", EventType.SUPPORT_TICKET_SOLVED): {
        "data": {"item": {"ticket_state": {"category": "resolved"}}}
    },
}

# Vendor events each adapter keeps as vendor.unmapped (its `*` emitter): other event types, and events of a
# mapped type that miss the condition, as the `*` emitter's condition names them.
UNMAPPED: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "stripe": [
        ("payout.paid", {}),
        ("checkout.session.completed", {"data": {"object": {"payment_status": "unpaid"}}}),
    ],
    "hubspot": [
        ("contact.associationChange", {}),
        ("deal.deletion", {}),
    ],
    "salesforce": [("Task", {})],
    "calendly": [("invitee_no_show.created", {})],
    "typeform": [("form_response_partial", {})],
    "zendesk": [
        ("organization.created", {}),
        ("ticket.status_changed", {"event": {"previous": "open", "current": "pending"}}),
        ("trigger", {"type": "whatever the admin wrote"}),
    ],
    "intercom": [
        ("conversation.user.replied", {}),
        ("ticket.state.updated", {"data": {"item": {"ticket_state": {"category": "in_progress"}}}}),
    ],
    "slack": [
        ("app_mention", {}),
        ("slash_command", {}),
        ("block_actions", {"actions": [{"action_id": "something_else"}]}),
    ],
    "standard": [("order.shipped", {}), (EventType.VENDOR_UNMAPPED.value, {})],
}


def normalize(vendor: str, vendor_event_type: str, overrides: dict[str, Any] | None = None) -> CanonicalEvent:
    if vendor not in PAYLOADS:
        pytest.fail(f"add to PAYLOADS the least of a {vendor} event its normalizer reads")
    payload = PAYLOADS[vendor](vendor_event_type) | (overrides or {})
    event = VendorEvent("dedupe-1", None, vendor_event_type, None, payload)
    return normalize_event(vendor, event, CONTEXT)


def all_emitters() -> list[tuple[EventType, Emitter]]:
    return [(event_type, emitter) for event_type in EventType for emitter in describe(event_type).emitters]


def listed_vendor_events() -> list[Any]:
    """Every (type, emitter, vendor event type) the taxonomy claims, `*` emitters aside (see UNMAPPED)."""
    return [
        pytest.param(event_type, emitter, name, id=f"{event_type.value}-{emitter.vendor}-{name}")
        for event_type, emitter in all_emitters()
        for name in emitter.vendor_event_types
        if name != "*"
    ]


def test_every_registered_vendor_is_described_as_emitting_something() -> None:
    emitting = {emitter.vendor for _, emitter in all_emitters()}
    assert set(ADAPTERS) - emitting == set(), "describe these vendors' mappings in shared/events/taxonomy.py"


def test_every_registered_vendor_has_a_normalizer() -> None:
    assert set(NORMALIZERS) == set(ADAPTERS)


def test_every_emitter_names_a_registered_vendor() -> None:
    for event_type, emitter in all_emitters():
        assert emitter.vendor in ADAPTERS, f"{event_type.value}: {emitter.vendor!r} is not a registered vendor"
        assert emitter.vendor_event_types, f"{event_type.value}: {emitter.vendor} lists no vendor event types"


def test_every_event_type_is_described() -> None:
    for event_type in EventType:
        info = describe(event_type)
        assert info is not NOT_DESCRIBED, f"add {event_type.value} to EVENT_TYPES in shared/events/taxonomy.py"
        assert info.described
        assert info.meaning
        assert "Not described" not in info.meaning
    assert set(EVENT_TYPES) <= set(EventType)


def test_every_type_but_the_listed_exceptions_comes_from_some_vendor_adapter() -> None:
    for event_type in EventType:
        vendors = {emitter.vendor for emitter in describe(event_type).emitters} - {STANDARD}
        if event_type in NOT_MAPPED_BY_A_VENDOR_ADAPTER:
            # the exception must still be one: once a vendor maps onto it, take it off the list
            assert not vendors, f"{event_type.value} is emitted by {sorted(vendors)}: drop it from the exceptions"
            assert NOT_MAPPED_BY_A_VENDOR_ADAPTER[event_type]
        else:
            assert vendors, f"no vendor is described as emitting {event_type.value}"


@pytest.mark.parametrize(("event_type", "emitter", "vendor_event_type"), listed_vendor_events())
def test_every_listed_vendor_event_normalizes_to_the_type_it_is_listed_under(
    event_type: EventType, emitter: Emitter, vendor_event_type: str
) -> None:
    # Given a vendor event the taxonomy lists under a type (a wildcard stands for any name it matches)
    name = vendor_event_type.replace("*", "anything")
    overrides = MEETING_THE_CONDITION.get((emitter.vendor, vendor_event_type, event_type))
    # When its normalizer normalizes it
    canonical = normalize(emitter.vendor, name, overrides)
    # Then it is of that type (when only some such events are, MEETING_THE_CONDITION has one that meets it)
    assert canonical.event_type is event_type, (
        f"{emitter.vendor} {name} normalizes to {canonical.event_type.value}, not {event_type.value}: fix the "
        "taxonomy, or if its condition is not met add a payload meeting it to MEETING_THE_CONDITION"
    )
    assert canonical.source_vendor == emitter.vendor
    if event_type is EventType.ENGAGEMENT_RECORDED and emitter.vendor != STANDARD:
        # and the engagement kind it gets is the one the condition names
        assert f"`{canonical.data['kind']}`" in emitter.condition


@pytest.mark.parametrize(
    ("vendor", "vendor_event_type", "overrides"),
    [pytest.param(v, t, o, id=f"{v}-{t}") for v, samples in UNMAPPED.items() for t, o in samples],
)
def test_what_a_vendor_does_not_map_is_kept_unmapped_as_described(
    vendor: str, vendor_event_type: str, overrides: dict[str, Any]
) -> None:
    assert normalize(vendor, vendor_event_type, overrides).event_type is EventType.VENDOR_UNMAPPED
    assert any(
        e.vendor == vendor and e.vendor_event_types == ("*",) for e in describe(EventType.VENDOR_UNMAPPED).emitters
    )


def test_every_wildcard_emitter_has_unmapped_samples() -> None:
    for event_type, emitter in all_emitters():
        if emitter.vendor_event_types == ("*",):
            assert event_type is EventType.VENDOR_UNMAPPED, f"a `*` emitter under {event_type.value}"
            assert emitter.condition, f"{emitter.vendor}'s `*` emitter should say what falls to it"
            assert UNMAPPED.get(emitter.vendor), f"add to UNMAPPED events {emitter.vendor} keeps as vendor.unmapped"


def test_standard_webhooks_is_listed_for_exactly_the_types_it_passes_through() -> None:
    listed = {
        event_type
        for event_type, emitter in all_emitters()
        if emitter.vendor == STANDARD and emitter.vendor_event_types == (event_type.value,)
    }
    # vendor.unmapped is what the adapter makes of any type it does not pass through, itself included
    claimable = set(EventType) - {EventType.VENDOR_UNMAPPED}
    passed_through = {t for t in claimable if normalize(STANDARD, t.value).event_type is t}
    assert listed == passed_through


def test_segment_track_names_are_listed_with_the_kinds_the_normalizer_gives_them() -> None:
    for vendor in ("segment", TRACKING_API.name):
        [track] = [
            e
            for e in describe(EventType.ENGAGEMENT_RECORDED).emitters
            if e.vendor == vendor and e.vendor_event_types == ("track",)
        ]
        listed = {name.lower(): kind for name, kind in re.findall(r"`([^`]+)` → `([^`]+)`", track.condition)}
        assert listed == {name: kind.value for name, kind in TRACK_KINDS.items()}
        assert f"any other name → `{EngagementKind.TRACK.value}`" in track.condition


def test_every_engagement_kind_is_attributed_to_the_vendors_that_produce_it() -> None:
    conditions = " ".join(e.condition for e in describe(EventType.ENGAGEMENT_RECORDED).emitters if e.vendor != STANDARD)
    for kind in EngagementKind:
        assert f"`{kind.value}`" in conditions, f"no vendor is described as producing engagement kind {kind.value}"


def test_a_vendor_event_under_several_types_says_when_it_is_which() -> None:
    types_of: defaultdict[tuple[str, str], list[Emitter]] = defaultdict(list)
    for _, emitter in all_emitters():
        for name in emitter.vendor_event_types:
            if name != "*":
                types_of[(emitter.vendor, name)].append(emitter)
    for (vendor, name), emitters in types_of.items():
        if len(emitters) > 1:
            assert all(e.condition for e in emitters), f"{vendor} {name} is listed under several types unconditionally"


def test_every_example_comes_from_a_vendor_event_listed_under_its_type() -> None:
    for event_type in EventType:
        info = describe(event_type)
        if info.example is None:
            continue
        example = info.example
        assert any(
            e.vendor == example.vendor and any(fnmatchcase(example.vendor_event_type, n) for n in e.vendor_event_types)
            for e in info.emitters
        ), f"{event_type.value}'s example ({example.vendor} {example.vendor_event_type}) is not listed as emitting it"
