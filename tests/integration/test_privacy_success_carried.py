"""The carried state in a person's erasure and export (`shared.success.carry` through
`shared.adapters.dynamodb_privacy_success`), through the privacy service with the `success` table's store over
moto and the health service that writes the `carried` signals: once the executive sponsor (whose engagement
counts, who owns a milestone, whose engagement is parked) and a ticket's requester are erased, no item of the
table holds the sponsor's email or either person's event ids, and the account's health is still read and
recomputed, as well after the originals leave the read window (the carried signal alone)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local_runtime.stored_text import attribute_text
from shared.adapters import dynamodb_privacy_success as privacy_success
from shared.adapters.dynamodb_privacy_success import SuccessPrivacy
from shared.adapters.dynamodb_success import DynamoDbHealthStore
from shared.catalog import physical_name
from shared.catalog.success import SUCCESS
from shared.events.canonical import Subject
from shared.privacy.model import Person
from shared.privacy.service import PrivacyService
from shared.success.carry import carried_signal, carry_policy, expanded
from shared.success.model import load_health_model
from shared.success.service import HealthService
from shared.success.signals import Signal, SignalKind, engaged_parking
from tests.fakes import FixedClock, RecordingPublisher
from tests.integration.conftest import STAGE, only_table
from tests.privacy_fakes import FakeDirectory, FakeStore, InMemoryErasureLedger, RecordedCrmErasures

TABLE = physical_name(STAGE, SUCCESS.name)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=250)  # old enough for the nightly to copy into a carried signal
TENANT = "acct-fjord"
GRETA = "greta@fjord.io"  # the executive sponsor, owner of the kickoff
OLAF_TICKET, GRETA_ENGAGED = "evt-ticket-olaf", "evt-engaged-greta"
PEOPLE = {
    GRETA: Person(
        email=GRETA,
        identity_keys=(f"email#{GRETA}",),
        account_ids=(TENANT,),
        names=("Greta Lindqvist",),
        event_ids=frozenset({GRETA_ENGAGED}),
    ),
    "olaf@fjord.io": Person(
        email="olaf@fjord.io",
        identity_keys=("email#olaf@fjord.io",),
        account_ids=(TENANT,),
        event_ids=frozenset({OLAF_TICKET}),
    ),
}
PLAN = {
    "handoff_id": "h1",
    "starts_on": None,
    "sponsor_email": GRETA,
    "milestones": [
        {"milestone_id": "kickoff", "name": "Kickoff", "owner": GRETA, "due_on": "2026-04-01"},
        {"milestone_id": "go-live", "name": "Go live", "owner": "ines@fjord.io", "due_on": "2026-05-01"},
    ],
}
LOG = (
    Signal("evt-plan", SignalKind.SUCCESS_PLAN, OLD, PLAN),
    Signal("evt-paid", SignalKind.PAYMENT_SUCCEEDED, OLD, {"amount_minor": 4900, "currency": "usd"}),
    Signal(GRETA_ENGAGED, SignalKind.ENGAGED, OLD + timedelta(days=1), {"kind": "webinar_attended", "email": GRETA}),
    Signal(
        OLAF_TICKET, SignalKind.TICKET_OPENED, OLD + timedelta(days=2), {"ticket_id": "z:4711", "priority": "urgent"}
    ),
)


@dataclass(frozen=True)
class Accounts:
    """The account directory: Fjord, by its id."""

    def resolve(self, reference: str) -> str | None:
        return TENANT if reference == TENANT else None

    def account_of(self, subject: Subject) -> str | None:
        return TENANT

    def name_of(self, tenant_id: str) -> str:
        return "Fjord"

    def contacts_of(self, tenant_id: str) -> list[str]:
        return []


class Deliveries(FakeStore):
    def event_ids(self, person: Person) -> frozenset[str]:
        return person.event_ids


@pytest.fixture
def world() -> Iterator[tuple[PrivacyService, HealthService, FixedClock, Any]]:
    with only_table(SUCCESS) as client:
        store = DynamoDbHealthStore(client, TABLE)
        for signal in LOG:
            store.append_signal(TENANT, signal)
        parked = Signal(
            "evt-parked",
            SignalKind.ENGAGED,
            OLD,
            {"kind": "webinar_attended", "email": GRETA, "account_id": "acct-other"},
        )
        store.append_signal("unlinked:" + engaged_parking(GRETA), parked)
        clock = FixedClock(NOW)
        health = HealthService(store, Accounts(), load_health_model(), RecordingPublisher(), clock)
        privacy = PrivacyService(
            directory=FakeDirectory("leads", held=1, people=dict(PEOPLE)),  # a copy: erasing pops from it
            deliveries=Deliveries("webhook-deliveries"),
            others=[SuccessPrivacy(client, TABLE)],
            synced=FakeStore("crm-sync"),
            crm=RecordedCrmErasures(),
            ledger=InMemoryErasureLedger(),
            clock=clock.now,
        )
        yield privacy, health, clock, client


def stored_text(client: Any) -> list[str]:
    """Every attribute of every item of the table, as searchable text."""
    return [
        f"{item['pk']['S']}|{item['sk']['S']}.{name}={attribute_text(value).casefold()}"
        for page in client.get_paginator("scan").paginate(TableName=TABLE)
        for item in page["Items"]
        for name, value in item.items()
    ]


def carried_items(client: Any) -> list[dict[str, Any]]:
    return [
        json.loads(item["values"]["S"])
        for page in client.get_paginator("scan").paginate(TableName=TABLE)
        for item in page["Items"]
        if item.get("kind", {}).get("S") == SignalKind.CARRIED.value
    ]


def test_erasing_the_sponsor_and_a_requester_leaves_none_of_them_in_the_carried_state(
    world: tuple[PrivacyService, HealthService, FixedClock, Any],
) -> None:
    privacy, health, clock, client = world
    # Given the nightly's recomputation having copied the plan, the sponsor's engagement and Olaf's open ticket
    # into a carried signal
    health.recompute(TENANT, "nightly")
    (carried,) = carried_items(client)
    assert {c["signal_id"] for c in carried["signals"]} >= {"evt-plan", GRETA_ENGAGED, OLAF_TICKET}
    # When Greta asks for her data, then both are erased
    exported = privacy.export(GRETA)
    greta = privacy.erase(GRETA)
    olaf = privacy.erase("olaf@fjord.io")
    # Then her export showed her copies of the carried signal, not Olaf's ticket
    shown = json.dumps(exported.model_dump(mode="json") if hasattr(exported, "model_dump") else exported, default=str)
    assert GRETA_ENGAGED in shown
    assert OLAF_TICKET not in shown
    # And no item of the table holds her email or either person's event ids (nor her parked engagements)
    assert greta.erased_now["success"] > 0
    assert olaf.erased_now["success"] > 0
    texts = stored_text(client)
    assert [t for t in texts if GRETA in t or "evt-parked" in t] == []
    assert [t for t in texts if GRETA_ENGAGED in t or OLAF_TICKET in t] == []
    # And the carried signal keeps the plan (its milestones whole, the kickoff's owner erased) and the payment
    (carried,) = carried_items(client)
    (plan,) = [c for c in carried["signals"] if c["signal_id"] == "evt-plan"]
    assert [(m["milestone_id"], m["owner"]) for m in plan["values"]["milestones"]] == [
        ("kickoff", "[erased]"),
        ("go-live", "ines@fjord.io"),
    ]
    # And the health is read and recomputed, one account and all of them, now and once the originals have left
    # the read window (the carried signal alone), the plan's milestones still listed
    for _ in range(2):
        view = health.health_of(TENANT)
        assert [m.milestone_id for m in view.milestones] == ["kickoff", "go-live"]
        assert health.recompute(TENANT, "after erasure").tenant_id == TENANT
        assert health.recompute_all("nightly") == 1
        clock.advance(timedelta(days=200))


def test_a_carried_signal_a_recomputation_writes_during_the_erasure_is_cleaned_by_its_second_pass(
    world: tuple[PrivacyService, HealthService, FixedClock, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    privacy, _, _, client = world
    # Given a recomputation that read the log before Olaf's erasure (his open ticket in it) and writes its carried
    # signal only once the erasure has deleted his signals: the race the erasure's second pass is for
    model = load_health_model()
    store = DynamoDbHealthStore(client, TABLE)
    read_before = expanded(store.signals(TENANT, NOW - timedelta(days=carry_policy(model).look_back_days)))
    late = carried_signal(model, read_before, NOW, carry_policy(model))
    assert OLAF_TICKET in {c["signal_id"] for c in late.values["signals"]}
    deleting = privacy_success.delete_items

    def deleting_then_the_late_write(*args: Any, **kwargs: Any) -> int:
        deleted = deleting(*args, **kwargs)
        assert store.append_signal(TENANT, late)
        return deleted

    monkeypatch.setattr(privacy_success, "delete_items", deleting_then_the_late_write)
    # When Olaf is erased
    privacy.erase("olaf@fjord.io")
    # Then the carried signal written meanwhile holds no copy of his ticket: the second pass took it out
    (carried,) = carried_items(client)
    assert OLAF_TICKET not in {c["signal_id"] for c in carried["signals"]}
    assert {"evt-plan", "evt-paid"} <= {c["signal_id"] for c in carried["signals"]}
    assert [t for t in stored_text(client) if OLAF_TICKET in t] == []


def test_erasing_a_person_removes_their_parked_logs_index_entry(
    world: tuple[PrivacyService, HealthService, FixedClock, Any],
) -> None:
    privacy, _, _, client = world
    # Given Greta's survey answer parked under her email, its log indexed with what her event named
    store = DynamoDbHealthStore(client, TABLE)
    answer = Signal("evt-greta-nps", SignalKind.NPS, OLD, {"nps": 4})
    assert store.park_signal(f"unlinked:{GRETA}", answer, [GRETA])
    assert [e.names for e in store.parked().logs] == [(GRETA,)]
    # When she is erased
    privacy.erase(GRETA)
    # Then neither the parked answer nor its index entry is left: no item of the table names her
    assert store.parked().logs == []
    assert [t for t in stored_text(client) if GRETA in t or "evt-greta-nps" in t] == []
