"""CRM sync under a replay (issue 15 §3) or EventBridge's at-least-once delivery: a bus event decided on before
adds no audit entry, bumps no record version, publishes nothing and sends no CRM a notice, however the record
moved on since; a change of the hub's that its own later change superseded is no loss to audit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from shared.crm.hub_changes import HubUpdate
from shared.crm.inbound import CrmReport
from shared.crm.mappings import HUB, load_crm_mappings
from shared.crm.ports import Link
from shared.crm.records import FieldState, SyncedRecord
from shared.crm.resolution import Outcome, hub_change
from shared.crm.service import DUPLICATE
from tests.unit.test_crm_sync import T0, Hub, captured


@pytest.fixture
def hub() -> Hub:
    return Hub()


def hub_update(at: datetime, cause: str, **values: str | None) -> HubUpdate:
    return HubUpdate("contact", "lead-1", {k: (v, at) for k, v in values.items()}, "revops.leads", cause)


def held(hub: Hub, key: str = "contact:lead-1") -> dict[str, Any]:
    """What sync holds of the record and what it sent: the record (its version too), its trail, the notices
    queued, the events published and the CRMs' records."""
    return {
        "record": hub.store.record(key),
        "trail": hub.store.audit(key, limit=200).entries,
        "queued": list(hub.queue.notices),
        "published": list(hub.publisher.published),
        "crms": {name: {k: dict(v) for k, v in crm.records.items()} for name, crm in hub.crms.items()},
    }


def test_a_replayed_hub_change_after_a_later_one_adds_no_entry_and_tells_no_crm(hub: Hub) -> None:
    # Given a lead's score set by one lead event, then changed by a later one, both synced
    captured(hub)
    first = hub_update(T0 + timedelta(minutes=1), "lead-ev-1", score="70")
    hub.service.hub_changed(first)
    hub.service.hub_changed(hub_update(T0 + timedelta(minutes=2), "lead-ev-2", score="80"))
    hub.drain()
    before = held(hub)
    # When the first event is replayed
    hub.clock.advance(timedelta(hours=1))
    decided = hub.service.hub_changed(first)
    # Then nothing changed: no `kept` entry for a value the hub itself replaced, no version, no notice
    assert held(hub) == before
    assert (decided.decisions, decided.notices, decided.events) == ([], [], [])
    assert decided.note == DUPLICATE


def test_a_replayed_crm_change_adds_no_audit_entry_and_no_notice(hub: Hub) -> None:
    # Given HubSpot's change of a title at 10:00, then Salesforce's at 10:30, both applied and written back
    captured(hub)
    hs_id, sf_id = hub.crm_id("hubspot", "lead-1"), hub.crm_id("salesforce", "lead-1")
    at = T0 + timedelta(hours=1)
    hubspot = CrmReport("hubspot", "contact", hs_id, {"jobtitle": "CTO"}, at, None, None, "hs-1", False)
    hub.service.crm_changed(hubspot)
    hub.drain()
    hub.crm_reports("salesforce", sf_id, T0 + timedelta(hours=1, minutes=30), {"Title": "CEO"}, cause="sf-1")
    hub.drain()
    before = held(hub)
    # When HubSpot's webhook event is replayed from the bus's archive
    decided = hub.service.crm_changed(hubspot)
    hub.drain()
    # Then it is known as decided: no `kept` entry, no version, no notice, no write to either CRM
    assert held(hub) == before
    assert (decided.decisions, decided.notices, decided.note) == ([], [], DUPLICATE)


def test_a_hub_change_that_changed_nothing_and_was_superseded_since_is_not_audited_when_it_comes_again(
    hub: Hub,
) -> None:
    # Given a lead event that set the score it already held (nothing committed: only marked as decided)
    captured(hub)
    same = hub_update(T0 + timedelta(seconds=30), "lead-ev-1", score="62.5")
    assert hub.service.hub_changed(same).decisions[0].rule == "same_value"
    # And a later one that changed it
    hub.service.hub_changed(hub_update(T0 + timedelta(minutes=1), "lead-ev-2", score="80"))
    hub.drain()
    before = held(hub)
    # When the first is replayed
    decided = hub.service.hub_changed(same)
    # Then it is known as decided: not decided again, not audited as a loss, nothing changed
    assert (decided.decisions, decided.notices, decided.note) == ([], [], DUPLICATE)
    assert held(hub) == before


def test_a_hub_change_that_changed_nothing_decides_nothing_new_when_replayed_on_a_profile_moved_on(
    hub: Hub,
) -> None:
    # Given a lead event restating the score the record holds (nothing changed, nothing told)
    captured(hub)
    restated = hub_update(T0 + timedelta(seconds=30), "lead-ev-1", score="62.5")
    assert [d.outcome for d in hub.service.hub_changed(restated).decisions] == [Outcome.UNCHANGED]
    hub.drain()
    before = held(hub)
    # When it is replayed after the lead's profile gained a name no lead event told (the update reads the
    # profile from the lead store as it is when decided)
    hub.clock.advance(timedelta(hours=1))
    moved_on = HubUpdate(
        "contact",
        "lead-1",
        {**restated.values, "first_name": ("Kim", T0 + timedelta(seconds=20))},
        "revops.leads",
        "lead-ev-1",
    )
    decided = hub.service.hub_changed(moved_on)
    hub.drain()
    # Then the event is known as decided: the name is not applied, audited nor written under it
    assert (decided.decisions, decided.notices, decided.note) == ([], [], DUPLICATE)
    assert held(hub) == before


def test_a_replay_tells_no_crm_again_of_a_write_it_keeps_refusing(hub: Hub) -> None:
    # Given a title Salesforce refuses for good (its notice was refused, as it would be dead-lettered), and a
    # later lead event that changed nothing synced
    captured(hub)
    hub.crms["salesforce"].refuse_values = {"Chief Everything Officer"}
    refused = hub_update(T0 + timedelta(minutes=1), "lead-ev-1", job_title="Chief Everything Officer")
    same = hub_update(T0 + timedelta(minutes=2), "lead-ev-2", score="62.5")
    hub.service.hub_changed(refused)
    assert hub.service.hub_changed(same).decisions[0].rule == "same_value"
    hub.drain()
    before = held(hub)
    calls = hub.crms["salesforce"].calls
    # When both are replayed
    replayed = [hub.service.hub_changed(refused), hub.service.hub_changed(same)]
    hub.drain()
    # Then no CRM is told anything again: no notice, no write attempted, no version
    assert [d.notices for d in replayed] == [[], []]
    assert hub.crms["salesforce"].calls == calls
    assert held(hub) == before


def test_an_older_hub_value_loses_to_a_later_crm_change_as_before() -> None:
    # the superseded rule is the hub's own later value only: a CRM's later change still wins, audited as kept
    mappings = load_crm_mappings()
    record = SyncedRecord("contact", "lead-1", {"job_title": FieldState("CEO", T0, "salesforce", "sf-user")})
    decision = hub_change(record, "job_title", "CTO", T0 - timedelta(minutes=1), mappings, "revops.leads")
    assert (decision.outcome, decision.rule) == (Outcome.KEPT, "last_modified_wins")
    hubs = SyncedRecord("contact", "lead-1", {"job_title": FieldState("CEO", T0, HUB, "revops.leads")})
    later = hub_change(hubs, "job_title", "CTO", T0 + timedelta(minutes=1), mappings, "revops.leads")
    assert later.outcome is Outcome.APPLIED


def test_a_delivery_that_committed_and_failed_before_its_notices_is_completed_by_the_next(hub: Hub) -> None:
    # Given a hub change committed by a delivery that failed as it queued the CRMs' notices
    captured(hub)
    change = hub_update(T0 + timedelta(minutes=1), "lead-ev-1", score="70")
    real_send = hub.queue.send

    def down(notices: Any) -> None:
        raise ConnectionError("the queue is unreachable")

    hub.queue.send = down  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        hub.service.hub_changed(change)
    hub.queue.send = real_send  # type: ignore[method-assign]
    trail = len(hub.audit("lead-1"))
    # When EventBridge delivers it again
    decided = hub.service.hub_changed(change)
    # Then it is not decided again (no second entry), but the CRMs are told, and get the score
    assert decided.note == DUPLICATE
    assert len(hub.audit("lead-1")) == trail
    assert {n.crm for n in decided.notices} == {"hubspot", "salesforce"}
    hub.drain()
    assert hub.in_crm("hubspot", "lead-1")["revops_score"] == "70"


def test_two_deliveries_racing_decide_the_event_once(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a delivery of a hub change whose commit comes after another delivery of it committed
    captured(hub)
    change = hub_update(T0 + timedelta(minutes=1), "lead-ev-1", score="70")
    real_commit = hub.store.commit
    raced = iter([True])

    def commit_after_the_other(record: Any, *args: Any, **kwargs: Any) -> Any:
        if next(raced, False):
            hub.service.hub_changed(change)
        return real_commit(record, *args, **kwargs)

    monkeypatch.setattr(hub.store, "commit", commit_after_the_other)
    # When it commits: the record moved on, it reads again
    decided = hub.service.hub_changed(change)
    # Then it found the event decided: one audit entry for it
    assert decided.note == DUPLICATE
    assert [e.cause for e in hub.audit("lead-1")].count("lead-ev-1") == 1


def test_a_crm_change_decided_before_its_record_was_merged_away_is_not_decided_on_the_survivor(hub: Hub) -> None:
    # Given a record of a contact a CRM made before the hub knew its email, linked, with a change decided on it
    captured(hub)
    hub.hub_sets("anonymous-1", T0 + timedelta(minutes=1), score="0", lifecycle_stage="Visitor")
    absorbed = hub.store.record("contact:anonymous-1")
    assert absorbed is not None
    hub.store.commit(absorbed, links=[Link("hubspot", "contact", "hs-new", "contact:anonymous-1")])
    at = T0 + timedelta(minutes=2)
    report = CrmReport("hubspot", "contact", "hs-new", {"jobtitle": "CFO"}, at, None, None, "hs-9", False)
    assert hub.service.crm_changed(report).record_key == "contact:anonymous-1"
    # And the two leads found to be one since
    hub.service.leads_merged("lead-1", "anonymous-1", "merge-1")
    hub.drain()
    before = held(hub)
    # When the report is replayed
    decided = hub.service.crm_changed(report)
    # Then it is known where it was decided, and the survivor is left as it was
    assert held(hub) == before
    assert (decided.record_key, decided.note) == ("contact:anonymous-1", DUPLICATE)


def test_a_conflicts_resolution_and_reconciliation_decide_without_recording_an_event(hub: Hub) -> None:
    # Given an email conflict (Salesforce's change applied, HubSpot's flagged)
    captured(hub)
    hs_id, sf_id = hub.crm_id("hubspot", "lead-1"), hub.crm_id("salesforce", "lead-1")
    hub.crm_reports("salesforce", sf_id, T0 + timedelta(minutes=10), {"Email": "ana.silva@example.com"})
    hub.crm_reports("hubspot", hs_id, T0 + timedelta(minutes=11), {"email": "ana@silva.dev"})
    [conflict] = hub.store.conflicts(None).conflicts
    # When a person resolves it, and reconciliation runs after a title changed in Salesforce unheard of
    hub.service.resolve(conflict.conflict_id, "ana@silva.dev", "user:sales-ops")
    hub.drain()
    hub.crms["salesforce"].edit(sf_id, {"Title": "CFO"}, T0 + timedelta(minutes=20))
    hub.service.reconcile({"salesforce": hub.crms["salesforce"]}, "run-1")
    # Then both decided (they are no bus events: a resolution is settled by the conflict's status, a run by
    # what it compares) and neither recorded its cause as an event decided on
    record = hub.store.record("contact:lead-1")
    assert record is not None
    assert (record.value("email"), record.value("job_title")) == ("ana@silva.dev", "CFO")
    assert not hub.store.applied("contact:lead-1", f"conflict:{conflict.conflict_id}")
    assert not hub.store.applied("contact:lead-1", "reconcile:run-1")
