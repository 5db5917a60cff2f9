"""Expansion signals in the CRMs, decided in memory: the mappings say what an account's signal becomes (a task, or an
opportunity) and are refused naming what is wrong; a signal becomes one record linked to its account in each CRM,
for the account's owner; the same signal never makes two, however often it comes or whatever answer is lost."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local_runtime.crm_hubspot import subscriptions_of
from shared.crm.hub_changes import HubUpdate
from shared.crm.inbound import CrmReport
from shared.crm.mappings import DEFAULT_MAPPINGS_PATH, CrmMappings, InvalidCrmMappings, parse_crm_mappings
from shared.crm.outbound import planned_write
from shared.crm.ports import CrmName, CrmUnavailable, HubProfile, OutboundWrite, WriteResult
from shared.crm.service import DUPLICATE, SyncService
from shared.events.canonical import WEBHOOK_EVENT_SOURCE, EventType, Subject
from shared.events.success_events import SUCCESS_EVENT_SOURCE, SuccessEvent, SuccessEventType
from tests.canonical_events import canonical_event
from tests.crm_fakes import FakeCrm, FakeDirectory, InMemorySyncStore, RecordingQueue
from tests.fakes import FixedClock, RecordingPublisher

T0 = datetime(2026, 11, 30, 3, 15, tzinfo=UTC)
DANIEL_SF = "005000000000012AAA"
DANIEL_HS = "71000012"


def shipped() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_MAPPINGS_PATH.read_text())
    return data


def as_opportunities(data: dict[str, Any]) -> dict[str, Any]:
    """The shipped file with expansions made deals / Opportunities: their name, close date and stage mapped."""
    expansion = next(o for o in data["objects"] if o["id"] == "expansion")
    expansion.update(hubspot="deals", salesforce="Opportunity")
    data["mappings"] = [m for m in data["mappings"] if m["object"] != "expansion"]
    data["mappings"] += [
        {"id": "expansion.signal_id", "object": "expansion", "hub_field": "signal_id",
         "hubspot": "revops_signal_id", "salesforce": "RevOps_Signal_Id__c", "direction": "hub_to_crm"},
        {"id": "expansion.subject", "object": "expansion", "hub_field": "subject", "hubspot": "dealname",
         "salesforce": "Name", "direction": "hub_to_crm"},
        {"id": "expansion.notes", "object": "expansion", "hub_field": "notes", "hubspot": "description",
         "salesforce": "Description", "direction": "hub_to_crm"},
        {"id": "expansion.due_at", "object": "expansion", "hub_field": "due_at", "hubspot": "closedate",
         "direction": "hub_to_crm"},
        {"id": "expansion.due_date", "object": "expansion", "hub_field": "due_date", "salesforce": "CloseDate",
         "direction": "hub_to_crm"},
        {"id": "expansion.status", "object": "expansion", "hub_field": "status", "hubspot": "dealstage",
         "salesforce": "StageName", "direction": "hub_to_crm",
         "values": {"open": {"hubspot": "appointmentscheduled", "salesforce": "Prospecting"}}},
    ]  # fmt: skip
    return data


def without_expansions(data: dict[str, Any]) -> dict[str, Any]:
    data["objects"] = [o for o in data["objects"] if o["id"] != "expansion"]
    data["mappings"] = [m for m in data["mappings"] if m["object"] != "expansion"]
    return data


def _expansion_object(data: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(o for o in data["objects"] if o["id"] == "expansion")
    return found


def _expansion_mapping(data: dict[str, Any], hub_field: str) -> dict[str, Any]:
    found: dict[str, Any] = next(m for m in data["mappings"] if m["id"] == f"expansion.{hub_field}")
    return found


# The mappings ------------------------------------------------------------------------------------------------------


def test_the_shipped_mappings_make_an_expansion_a_task_linked_to_its_account() -> None:
    # When the shipped file is loaded
    mappings = parse_crm_mappings(shipped())
    # Then an expansion is a HubSpot task and a Salesforce Task, found again by its signal, its account's
    expansion = mappings.object("expansion")
    assert (expansion.crm_object("hubspot"), expansion.crm_object("salesforce")) == ("tasks", "Task")
    assert (expansion.match_on, expansion.belongs_to, expansion.sync_version) == ("signal_id", "account", None)
    status = mappings.field("expansion", "status")
    assert status is not None
    assert (status.to_crm("hubspot", "open"), status.to_crm("salesforce", "open")) == ("NOT_STARTED", "Not Started")


def test_expansions_can_be_opportunities_with_what_each_crm_requires_to_create_one() -> None:
    # When the file makes expansions deals / Opportunities, their required fields mapped
    mappings = parse_crm_mappings(as_opportunities(shipped()))
    # Then it loads, and HubSpot's deals still reach the deal object when its webhooks come in
    assert mappings.object("expansion").crm_object("salesforce") == "Opportunity"
    assert mappings.kind_of("hubspot", "deals") == "deal"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            lambda d: _expansion_object(d).update(hubspot="notes"),
            "object 'expansion': hubspot must be tasks or deals, not 'notes'",
        ),
        (
            lambda d: d["mappings"].remove(_expansion_mapping(d, "due_at")),
            "object 'expansion': hubspot tasks needs hs_timestamp mapped to create one",
        ),
        (
            lambda d: next(m for m in as_opportunities(d)["mappings"] if m["id"] == "expansion.status").update(
                salesforce="Stage__c"
            ),
            "object 'expansion': salesforce Opportunity needs StageName mapped to create one",
        ),
        (
            lambda d: _expansion_object(d).update(match_on="subject"),
            "object 'expansion': match_on must be 'signal_id'",
        ),
        (lambda d: _expansion_object(d).pop("belongs_to"), "object 'expansion': belongs_to must be 'account'"),
        (
            lambda d: _expansion_mapping(d, "notes").update(direction="two_way"),
            'mapping "expansion.notes": an expansion goes out only (direction hub_to_crm)',
        ),
        (
            lambda d: _expansion_mapping(d, "priority").update(id="expansion.urgency", hub_field="urgency"),
            "mapping \"expansion.urgency\": the hub computes no 'urgency'",
        ),
        (lambda d: d["objects"][0].update(belongs_to="contact"), "object 'contact': belongs_to is for the expansion"),
        (lambda d: d["objects"][1].update(belongs_to="deal"), "object 'account': belongs_to is for the expansion"),
        (
            lambda d: _expansion_mapping(d, "signal_id").pop("salesforce"),
            'mapping "expansion.signal_id": must name a hubspot and a salesforce field',
        ),
        (lambda d: _expansion_object(d).update(creates=False), "object 'expansion': creates must be true"),
        (
            lambda d: _expansion_mapping(d, "status").pop("values"),
            "mapping \"expansion.status\": values must give 'open' as hubspot and salesforce holds it",
        ),
        (
            lambda d: _expansion_mapping(d, "priority")["values"]["high"].pop("salesforce"),
            "mapping \"expansion.priority\": values must give 'high' as salesforce holds it",
        ),
        (
            lambda d: _expansion_mapping(d, "owner").pop("values_of"),
            'mapping "expansion.owner": values_of must name the reps\' owner mapping',
        ),
        (
            lambda d: _expansion_object(d).update(sync_version=d["objects"][0]["sync_version"]),
            "object 'expansion': takes no sync_version",
        ),
        (lambda d: d["objects"][0].pop("sync_version"), "object 'contact': sync_version is required"),
        (lambda d: d["objects"][2].pop("sync_version"), "object 'deal': sync_version is required"),
    ],
)
def test_expansion_mappings_the_hub_cannot_create_are_refused_naming_what(change: Any, named: str) -> None:
    # Given the shipped file, changed
    data = shipped()
    change(data)
    # When it is loaded, then it is refused, naming the object or mapping and why
    with pytest.raises(InvalidCrmMappings) as refused:
        parse_crm_mappings(data)
    assert named in str(refused.value)


# The decision ------------------------------------------------------------------------------------------------------


class LostAnswer(FakeCrm):
    """A CRM that applies the next write but whose answer never reaches the hub (a timeout after the create)."""

    lose_next: bool = False

    def write(self, writes: Any) -> list[WriteResult]:
        results = super().write(writes)
        if self.lose_next:
            self.lose_next = False
            raise CrmUnavailable("read timed out")
        return results


class Hub:
    def __init__(self, mappings: CrmMappings | None = None) -> None:
        self.clock = FixedClock(T0)
        self.store = InMemorySyncStore()
        self.queue = RecordingQueue()
        self.directory = FakeDirectory()
        self.service = SyncService(
            mappings or parse_crm_mappings(shipped()),
            self.store,
            self.directory,
            self.clock,
            self.queue,
            RecordingPublisher(),
        )
        self.crms: dict[CrmName, FakeCrm] = {
            "hubspot": LostAnswer("hubspot", 100, now=T0),
            "salesforce": FakeCrm("salesforce", 200, now=T0),
        }
        self.refused: list[str] = []

    def account(self, account_id: str = "acct-1", domain: str | None = "osprey.io") -> None:
        profile: dict[str, tuple[str | None, datetime]] = {"name": ("Osprey", T0 - timedelta(days=30))}
        if domain is not None:
            profile["domain"] = (domain, T0 - timedelta(days=30))
        self.directory.accounts[account_id] = HubProfile(profile)  # the lead domain's account
        values = {**profile, "health_score": ("91", T0 - timedelta(days=1))}
        self.service.hub_changed(HubUpdate("account", account_id, values, "revops.success", f"health-{account_id}"))

    def signal(self, cause: str = "usage-1", account_id: str = "acct-1", at: datetime = T0) -> dict[str, Any]:
        event = SuccessEvent(
            event_id=SuccessEvent.id_for(account_id, cause, SuccessEventType.EXPANSION_SIGNAL.value),
            event_type=SuccessEventType.EXPANSION_SIGNAL,
            occurred_at=at,
            tenant_id=account_id,
            model_version="2026.1",
            score=92.5,
            band="green",
            cause=cause,
            readiness=84.0,
            suggestions=["analytics_pro"],
            reasons=["seat_pressure: 0.9500", "adoption: 6"],
        )
        return event.model_dump(mode="json")

    def drain(self, rounds: int = 5) -> None:
        for _ in range(rounds):
            notices = self.queue.take()
            if not notices:
                return
            report = self.service.write(notices, self.crms)
            self.queue.notices.extend(report.retry)
            self.refused += [reason for _, reason in report.refused]
            self.clock.advance(timedelta(seconds=1))

    def tasks(self, crm: CrmName) -> list[OutboundWrite]:
        """The writes of expansions the CRM was sent."""
        return [w for w in self.crms[crm].sent if w.kind == "expansion"]

    def task_records(self, crm: CrmName) -> dict[str, dict[str, str | None]]:
        return {i: r for i, r in self.crms[crm].records.items() if self.crms[crm].kinds.get(i) == "expansion"}


def test_a_signal_becomes_one_task_per_crm_linked_to_its_account_for_its_owner() -> None:
    # Given an account both CRMs hold, which a Salesforce user gave to Daniel
    hub = Hub()
    hub.account()
    hub.drain()
    account = hub.store.record("account:acct-1")
    assert account is not None
    sf_account, hs_company = account.copy_in("salesforce").crm_id, account.copy_in("hubspot").crm_id
    assert sf_account
    assert hs_company
    hub.service.crm_changed(
        CrmReport("salesforce", "account", sf_account, {"OwnerId": DANIEL_SF}, T0, "005x", None, "sf-1", True, True)
    )
    hub.drain()
    # When the account's expansion signal comes
    detail = hub.signal()
    decided = hub.service.on_bus_event(SUCCESS_EVENT_SOURCE, detail)
    hub.drain()
    # Then it is one record of the signal, its account's, and both CRMs were told
    assert decided.record_key == f"expansion:{detail['event_id']}"
    assert {n.crm for n in decided.notices} == {"hubspot", "salesforce"}
    record = hub.store.record(decided.record_key)
    assert record is not None
    assert record.parent == "account:acct-1"
    # And HubSpot got a task, found by the signal's id, linked to the company, for Daniel, due in three days
    [hs_write] = hub.tasks("hubspot")
    assert (hs_write.crm_object, hs_write.match_on) == ("tasks", ("revops_signal_id", detail["event_id"]))
    assert hs_write.associate == {"account": hs_company}
    assert hs_write.fields == {
        "revops_signal_id": detail["event_id"],
        "hs_task_subject": "Expansion: Osprey is ready to expand (readiness 84)",
        "hs_task_body": "Osprey became ready to expand on 2026-11-30 (readiness 84). Evidence: seat_pressure: "
        "0.9500; adoption: 6. Its use suggests: analytics_pro. Breakdown: GET /api/v1/cs-sales/expansion/acct-1",
        "hs_timestamp": "2026-12-03T03:15:00Z",
        "hs_task_status": "NOT_STARTED",
        "hs_task_priority": "HIGH",
        "hubspot_owner_id": DANIEL_HS,
    }
    # And Salesforce a Task related to the Account, due that day
    [sf_write] = hub.tasks("salesforce")
    assert (sf_write.crm_object, sf_write.associate) == ("Task", {"account": sf_account})
    assert (sf_write.fields["ActivityDate"], sf_write.fields["Status"], sf_write.fields["OwnerId"]) == (
        "2026-12-03",
        "Not Started",
        DANIEL_SF,
    )
    assert "RevOps_Sync_Version__c" not in sf_write.fields  # a task carries no sync version: nothing comes back
    # And the record keeps each task's id
    assert record.copy_in("hubspot").crm_id in hub.task_records("hubspot")
    assert record.copy_in("salesforce").crm_id in hub.task_records("salesforce")


def test_the_same_signal_again_creates_nothing_and_a_new_signal_a_second_task() -> None:
    # Given a signal whose tasks were created
    hub = Hub()
    hub.account()
    hub.drain()
    first = hub.signal("usage-1")
    hub.service.on_bus_event(SUCCESS_EVENT_SOURCE, first)
    hub.drain()
    # When the same signal comes again (a redelivery, a replay)
    again = hub.service.on_bus_event(SUCCESS_EVENT_SOURCE, first)
    hub.drain()
    # Then it is known, and no CRM is written again
    assert again.note == DUPLICATE
    assert (len(hub.tasks("hubspot")), len(hub.tasks("salesforce"))) == (1, 1)
    # When the account becomes ready again later (it fell below and rose again: a new signal)
    hub.service.on_bus_event(SUCCESS_EVENT_SOURCE, hub.signal("usage-9", at=T0 + timedelta(days=40)))
    hub.drain()
    # Then that one is a second task in each CRM
    assert (len(hub.task_records("hubspot")), len(hub.task_records("salesforce"))) == (2, 2)


def test_a_task_whose_creation_answer_was_lost_is_found_by_its_signal_not_created_twice() -> None:
    # Given HubSpot creating the task but its answer lost on the way back (the hub never learns its id)
    hub = Hub()
    hub.account()
    hub.drain()
    hub.crms["hubspot"].lose_next = True  # type: ignore[attr-defined]
    # When the signal is written, and its notice retried
    decided = hub.service.on_bus_event(SUCCESS_EVENT_SOURCE, hub.signal())
    hub.drain()
    # Then the retry matched the task by the signal's id: one task, whose id the record keeps now
    [task_id] = hub.task_records("hubspot")
    assert len(hub.tasks("hubspot")) == 2
    record = hub.store.record(str(decided.record_key))
    assert record is not None
    assert record.copy_in("hubspot").crm_id == task_id


def test_a_signal_for_an_account_on_its_way_waits_and_one_never_in_a_crm_is_refused_saying_why() -> None:
    # Given an account on its way to the CRMs (its first write not made yet) and one without a domain, which the
    # hub cannot create in a CRM (it would not find it again)
    hub = Hub()
    hub.account("acct-1")
    hub.account("acct-2", domain=None)
    # When both accounts' signals come, and the writer takes every notice at once
    hub.service.on_bus_event(SUCCESS_EVENT_SOURCE, hub.signal(account_id="acct-1"))
    hub.service.on_bus_event(SUCCESS_EVENT_SOURCE, hub.signal(account_id="acct-2"))
    hub.drain()
    # Then the first account's task followed its account in the same batch, linked to it
    account = hub.store.record("account:acct-1")
    assert account is not None
    [hs_write] = hub.tasks("hubspot")
    assert hs_write.associate == {"account": account.copy_in("hubspot").crm_id}
    # And the other's is refused for good in each CRM (dead-lettered with the reason), nothing created
    assert sorted(hub.refused) == [
        f"hubspot refused expansion:{hub.signal(account_id='acct-2')['event_id']}: account:acct-2 is not in hubspot, "
        "and the hub cannot create it there: it has no domain to find it by",
        f"salesforce refused expansion:{hub.signal(account_id='acct-2')['event_id']}: account:acct-2 is not in "
        "salesforce, and the hub cannot create it there: it has no domain to find it by",
    ]
    assert len(hub.task_records("salesforce")) == 1


def test_a_signal_handled_before_its_account_waits_for_it_and_then_makes_the_task_for_its_current_owner() -> None:
    # Given an expansion signal handled before its account's health change (published together, taken in either
    # order): the hub holds no record of the account yet
    hub = Hub()
    decided = hub.service.on_bus_event(SUCCESS_EVENT_SOURCE, hub.signal())
    # When the writer takes its notices, as often as the queue hands them back
    hub.drain()
    # Then nothing is refused (dead-lettered) nor created: each CRM's notice waits, retried
    assert hub.refused == []
    assert hub.tasks("hubspot") == hub.tasks("salesforce") == []
    assert {(n.crm, n.record_key) for n in hub.queue.notices} == {
        ("hubspot", decided.record_key),
        ("salesforce", decided.record_key),
    }
    # When the account's health change comes, its record is written to the CRMs (alone), and a Salesforce user
    # gives the account to Daniel before the waiting notices come back
    hub.account()
    taken = hub.queue.take()
    waiting = [n for n in taken if n.record_key != "account:acct-1"]
    hub.queue.notices.extend(n for n in taken if n.record_key == "account:acct-1")
    hub.drain()
    account = hub.store.record("account:acct-1")
    assert account is not None
    sf_account = account.copy_in("salesforce").crm_id
    assert sf_account
    hub.service.crm_changed(
        CrmReport("salesforce", "account", sf_account, {"OwnerId": DANIEL_SF}, T0, "005x", None, "sf-1", True, True)
    )
    hub.drain()
    hub.queue.notices.extend(waiting)
    hub.drain()
    # Then each CRM has the signal's one task, linked to the account, for the owner the account has now
    assert hub.refused == []
    [hs_write] = hub.tasks("hubspot")
    [sf_write] = hub.tasks("salesforce")
    assert hs_write.associate == {"account": account.copy_in("hubspot").crm_id}
    assert sf_write.associate == {"account": sf_account}
    assert (hs_write.fields["hubspot_owner_id"], sf_write.fields["OwnerId"]) == (DANIEL_HS, DANIEL_SF)
    record = hub.store.record(str(decided.record_key))
    assert record is not None
    assert record.value("owner") == "ae-daniel-kim"
    assert record.copy_in("hubspot").crm_id in hub.task_records("hubspot")
    assert record.copy_in("salesforce").crm_id in hub.task_records("salesforce")
    assert hub.queue.notices == []


def test_a_signal_whose_account_write_is_in_flight_waits_rather_than_being_refused() -> None:
    # Given an account whose write to the CRMs is in flight (the writer remembered it, no answer yet)
    hub = Hub()
    hub.account()
    account = hub.store.record("account:acct-1")
    assert account is not None
    for crm in ("hubspot", "salesforce"):
        plan = planned_write(account, crm, hub.service.mappings)
        assert plan is not None
        copy = account.copy_in(crm).wrote(plan.values, account.version, None, {}, T0 + timedelta(minutes=1))
        account = hub.store.commit(account.with_copy(crm, copy))
    account_notices = hub.queue.take()
    # When its signal is written meanwhile
    hub.service.on_bus_event(SUCCESS_EVENT_SOURCE, hub.signal())
    hub.drain()
    # Then it waits, and once the account's write is made the task follows it
    assert hub.refused == []
    assert hub.tasks("hubspot") == []
    hub.queue.notices.extend(account_notices)
    hub.drain()
    assert hub.refused == []
    assert (len(hub.task_records("hubspot")), len(hub.task_records("salesforce"))) == (1, 1)


def test_without_an_expansion_object_in_the_mappings_a_signal_creates_nothing() -> None:
    # Given mappings with no expansion object
    hub = Hub(parse_crm_mappings(without_expansions(shipped())))
    hub.account()
    hub.drain()
    # When a signal comes
    decided = hub.service.on_bus_event(SUCCESS_EVENT_SOURCE, hub.signal())
    hub.drain()
    # Then nothing is recorded and no CRM is told
    assert (decided.record_key, decided.note) == (None, "the mappings sync no expansion")
    assert hub.queue.notices == []
    assert hub.tasks("hubspot") == hub.tasks("salesforce") == []


def test_as_opportunities_a_signal_becomes_a_deal_and_an_opportunity_of_the_account() -> None:
    # Given expansions mapped as opportunities, and an account both CRMs hold
    hub = Hub(parse_crm_mappings(as_opportunities(shipped())))
    hub.account()
    hub.drain()
    # When a signal comes
    hub.service.on_bus_event(SUCCESS_EVENT_SOURCE, hub.signal())
    hub.drain()
    # Then HubSpot is sent a deal at its first stage, Salesforce an Opportunity closing in three days
    [hs_write] = hub.tasks("hubspot")
    assert (hs_write.crm_object, hs_write.fields["dealstage"]) == ("deals", "appointmentscheduled")
    [sf_write] = hub.tasks("salesforce")
    assert (sf_write.crm_object, sf_write.fields["StageName"], sf_write.fields["CloseDate"]) == (
        "Opportunity",
        "Prospecting",
        "2026-12-03",
    )
    assert sf_write.associate.keys() == {"account"}


# What comes back ---------------------------------------------------------------------------------------------------


def _salesforce_task_event(task_id: str, fields: dict[str, Any], n: int) -> dict[str, Any]:
    """A Salesforce outbound message of a Task, as the gateway would put it on the bus."""
    event = canonical_event(
        EventType.CONTACT_UPSERTED,
        Subject(),
        {"sobject_type": "Task", "fields": {"Id": task_id, "LastModifiedById": "005rep", **fields}},
        at=T0 + timedelta(hours=5),
        n=n,
        series="sf-task",
        vendor="salesforce",
    ).model_copy(update={"vendor_event_type": "Task"})
    return event.model_dump(mode="json")


def test_a_rep_completing_the_hubs_task_or_a_task_the_hub_never_made_changes_nothing_in_the_hub() -> None:
    # Given the hub's task for a signal in Salesforce
    hub = Hub()
    hub.account()
    hub.drain()
    decided = hub.service.on_bus_event(SUCCESS_EVENT_SOURCE, hub.signal())
    hub.drain()
    before = hub.store.record(str(decided.record_key))
    assert before is not None
    task_id = str(before.copy_in("salesforce").crm_id)
    sent = len(hub.crms["salesforce"].sent)
    # When a rep completes it (its outbound message, and a report of it however it comes)
    completed = {"Status": "Completed", "Subject": "Called them"}
    on_bus = hub.service.on_bus_event(WEBHOOK_EVENT_SOURCE, _salesforce_task_event(task_id, completed, 1))
    direct = hub.service.crm_changed(
        CrmReport("salesforce", "expansion", task_id, {"Id": task_id, **completed}, T0, "005rep", None, "t", True, True)
    )
    # And a task the hub never made changes too
    other = hub.service.on_bus_event(
        WEBHOOK_EVENT_SOURCE, _salesforce_task_event("00T000000000777AAA", {"Status": "Completed"}, 2)
    )
    hub.drain()
    # Then nothing is recorded or queued: the task is not put back to Not Started, nor any record made of either
    assert on_bus.notices == direct.notices == other.notices == []
    assert on_bus.record_key is None
    assert other.record_key is None
    assert hub.store.record(str(decided.record_key)) == before
    assert hub.crms["salesforce"].sent[sent:] == []
    assert hub.store.record("deal:salesforce:00T000000000777AAA") is None
    assert hub.store.record(f"deal:salesforce:{task_id}") is None


def test_as_opportunities_what_the_deals_readers_need_stays_reported_and_only_the_signals_id_is_left_out() -> None:
    # Given expansions mapped as deals: their subject is a deal's name (which the hub's deal reads in), their
    # status and due date the deal's stage and close date (which a rep moves, and attribution hears of)
    mappings = parse_crm_mappings(as_opportunities(shipped()))
    # When the properties the hub writes and never reads back are listed (what the HubSpot app leaves out)
    written_only = mappings.written_only("hubspot")["deals"]
    # Then the deal's own properties stay subscribed; of the expansion's, only the signal's id is left out
    assert written_only == {"revops_signal_id", "revops_attribution_summary", "revops_sync_version"}
    subscribed = subscriptions_of(mappings)["deals"]
    assert {"dealname", "dealstage", "closedate", "amount"} <= subscribed
    # And the Salesforce side alike; as tasks, the deals are subscribed alike (the signal's id too: none is there)
    assert mappings.written_only("salesforce")["Opportunity"] == {
        "RevOps_Signal_Id__c",
        "RevOps_Attribution_Summary__c",
        "RevOps_Sync_Version__c",
    }
    assert subscriptions_of(parse_crm_mappings(shipped()))["deals"] == subscribed | {"revops_signal_id"}


def test_a_subject_longer_than_a_crm_holds_is_cut_to_fit_with_an_ellipsis() -> None:
    # Given an account whose name is very long, in a hub whose expansions are opportunities, and one of tasks
    name = "Osprey " + "Holdings " * 40
    for mappings, limits in (
        (parse_crm_mappings(as_opportunities(shipped())), {"hubspot": ("dealname", 255), "salesforce": ("Name", 120)}),
        (parse_crm_mappings(shipped()), {"hubspot": ("hs_task_subject", 255), "salesforce": ("Subject", 255)}),
    ):
        hub = Hub(mappings)
        hub.account()
        hub.drain()
        hub.directory.accounts["acct-1"] = HubProfile({"name": (name, T0)})
        # When its signal is written
        hub.service.on_bus_event(SUCCESS_EVENT_SOURCE, hub.signal())
        hub.drain()
        # Then each CRM is sent the subject cut to its limit, ending in an ellipsis, and accepts it
        assert hub.refused == []
        for crm, (crm_field, limit) in limits.items():
            [write] = hub.tasks(crm)  # type: ignore[arg-type]
            subject = str(write.fields[crm_field])
            assert len(subject) == limit
            assert subject.startswith("Expansion: Osprey Holdings")
            assert subject.endswith("…")
