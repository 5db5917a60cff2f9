"""An unmerge on moto, through the real handlers and the catalog's rules: the lead API undoes a merge, its
lead.unmerged and lead.profile_changed events go on the bus, and the sync recorder (through the
crm-sync-hub-changes rule's queue) gives the lead that comes back its own synced record again, which writes to the
CRMs again; a replay of the unmerge changes nothing."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from local_runtime.lambda_events import LocalLambdaContext
from local_runtime.provision import Provisioned
from shared.crm.records import SyncedRecord
from shared.events.canonical import EventType, Subject
from tests.canonical_events import canonical_event
from tests.integration.test_crm_critical_conflict_on_the_lead import MARKETING, Hub

_series = itertools.count(1)


class UnmergeHub(Hub):
    """The conflict test's hub, whose pump also hands the lead table's outbox to the lead publisher (which puts the
    lead events on the bus) until nothing moves."""

    def __init__(self, aws: Provisioned, lead_outbox: Callable[[], int]) -> None:
        super().__init__(aws)
        self._lead_outbox = lead_outbox

    def pump(self) -> None:
        for _ in range(30):
            super().pump()
            if not self._lead_outbox():
                return
        raise AssertionError("the lead outbox never settled")


@pytest.fixture
def hub(aws: Provisioned, lead_outbox: Callable[[], int]) -> UnmergeHub:
    return UnmergeHub(aws, lead_outbox)


def device_user_named(hub: Hub, email: str) -> None:
    """A CDP's contact event naming one device user with `email`: two emails on it merge their leads."""
    subject = Subject(contact_id="segment:u-unmerge", email=email)
    n = next(_series)
    hub.webhook([canonical_event(EventType.CONTACT_UPSERTED, subject, {}, at=datetime.now(UTC), n=n, series="unm")])


def synced(hub: Hub, lead_id: str) -> SyncedRecord:
    record = hub.functions["crm_sync_recorder"].service.store.record(f"contact:{lead_id}")
    assert record is not None
    return record


def unmerge(hub: Hub, lead_id: str) -> Any:
    status, body = hub.api(
        "POST",
        f"/api/v1/leads/{lead_id}/unmerge",
        "/api/v1/leads/{lead_id}/unmerge",
        {},
        path_parameters={"lead_id": lead_id},
        claims=MARKETING,
    )
    assert status == 200, body
    hub.pump()
    return body


def test_the_lead_an_unmerge_brings_back_is_synced_again_through_the_recorder(hub: Hub) -> None:
    # Given two captured leads, synced, that one device user then named both of (the later merged into the older)
    ana = hub.capture("ana@unmerge.io")
    bea = hub.capture("bea@unmerge.io")
    device_user_named(hub, "ana@unmerge.io")
    device_user_named(hub, "bea@unmerge.io")
    assert hub.merged_into(bea) == ana
    assert synced(hub, bea).merged_into == f"contact:{ana}"
    # When the merge is undone
    unmerge(hub, bea)
    # Then Bea's synced record is hers again (it writes to the CRMs again), with her own email
    assert hub.merged_into(bea) is None
    record = synced(hub, bea)
    assert record.merged_into is None
    assert record.value("email") == "bea@unmerge.io"
    assert synced(hub, ana).value("email") == "ana@unmerge.io"
    # and the events of the unmerge, delivered again (a replay), change nothing
    unmerged = hub.published("lead.unmerged")
    assert len(unmerged) == 2
    before = {lead: synced(hub, lead).version for lead in (ana, bea)}
    for event in unmerged:
        event.setdefault("account", hub.aws.account)
        answer = hub.functions["crm_sync_recorder"].handler(event, LocalLambdaContext("crm_sync_recorder"))
        # (decided once: a redelivery tells the CRMs again only what its commit left unwritten, harmlessly)
        assert answer["decisions"] == [], answer
        assert answer["note"].startswith("duplicate event"), answer
    assert {lead: synced(hub, lead).version for lead in (ana, bea)} == before
