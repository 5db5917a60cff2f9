"""A signal is filed once, wherever: an event filed under one account (directly, or adopted from a parked log)
and replayed (or redriven) after its person moved to another account changes nothing, while a new event about
that person goes to the account they are in now."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.success.intervention_service import InterventionService
from shared.success.model import load_health_model
from shared.success.service import HealthService
from tests.canonical_events import canonical_event
from tests.fakes import FixedClock, RecordingPublisher
from tests.success_fakes import InMemoryHealthStore

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
KIM = "kim@kestrel-labs.io"
FIRST, SECOND = "acct-first", "acct-second"
EVER = START - timedelta(days=365)


class Directory:
    """Who is in which account, as the test moves them (by email)."""

    def __init__(self) -> None:
        self.people: dict[str, str] = {}

    def account_of(self, subject: Subject) -> str | None:
        return self.people.get(subject.email or "")

    def name_of(self, tenant_id: str) -> str:
        return tenant_id

    def contacts_of(self, tenant_id: str) -> list[str]:
        return sorted(email for email, account in self.people.items() if account == tenant_id)

    def resolve(self, reference: str) -> str | None:
        return reference if reference in self.people.values() else None


class World:
    def __init__(self) -> None:
        self.clock = FixedClock(START)
        self.store = InMemoryHealthStore()
        self.directory = Directory()
        model, bus = load_health_model(), RecordingPublisher()
        interventions = InterventionService(self.store, self.directory, model, bus)
        self.pauses: list[float] = []
        self.service = HealthService(
            self.store, self.directory, model, bus, self.clock, interventions, None, self.pauses.append
        )
        self._n = itertools.count(1)

    def nps(self, score: int) -> CanonicalEvent:
        data = {"answers": {"nps": score}, "form_id": "nps"}
        subject = Subject(email=KIM)
        return canonical_event(
            EventType.SURVEY_RESPONDED, subject, data, at=self.clock.now(), n=next(self._n), series="moved",
            vendor="typeform",
        )  # fmt: skip

    def ids(self, log: str) -> list[str]:
        return [s.signal_id for s in self.store.signals(log, EVER)]

    def state(self) -> Any:
        """Every signal log, claim, parked log entry and snapshot the store holds."""
        return (
            {log: dict(items) for log, items in self.store.logs.items()},
            dict(self.store.claims),
            dict(self.store.parked_entries),
            dict(self.store.snapshots),
        )


def test_a_signal_filed_under_one_account_replayed_after_its_person_moved_changes_nothing() -> None:
    # Given kim's NPS answer filed under the first account
    world = World()
    world.directory.people[KIM] = FIRST
    answer = world.nps(3)
    assert world.service.handle(answer).tenant_id == FIRST
    # And kim moved to the second account since
    world.clock.advance(timedelta(hours=1))
    world.directory.people[KIM] = SECOND
    before = world.state()
    # When the archive replays her answer
    replayed = world.service.handle(answer)
    # Then nothing changes: it counts once, in the first account's log, where it was filed
    assert world.state() == before
    assert "filed before" in replayed.note
    assert world.ids(FIRST) == [answer.event_id]
    assert world.ids(SECOND) == []


def test_a_new_answer_after_the_move_goes_to_the_account_she_is_in_now() -> None:
    # Given kim's answer filed under the first account, and kim moved to the second
    world = World()
    world.directory.people[KIM] = FIRST
    first = world.nps(3)
    world.service.handle(first)
    world.clock.advance(timedelta(hours=1))
    world.directory.people[KIM] = SECOND
    # When she answers again (a new event)
    second = world.nps(9)
    outcome = world.service.handle(second)
    # Then the new answer is the second account's; the first stays the first account's
    assert outcome.tenant_id == SECOND
    assert world.ids(SECOND) == [second.event_id]
    assert world.ids(FIRST) == [first.event_id]


def test_a_parked_signal_adopted_by_one_account_replayed_after_its_person_moved_changes_nothing() -> None:
    # Given kim's answer parked (nobody knew her), then adopted by the first account once she was linked to it
    world = World()
    answer = world.nps(3)
    assert "parked" in world.service.handle(answer).note
    world.directory.people[KIM] = FIRST
    world.clock.advance(timedelta(minutes=5))
    world.service.handle(world.nps(8))  # her next answer adopts what waits under her email
    assert world.ids(FIRST)[0] == answer.event_id
    assert world.ids("unlinked:" + KIM) == []
    # And kim moved to the second account since
    world.directory.people[KIM] = SECOND
    before = world.state()
    # When the archive replays her first answer
    world.service.handle(answer)
    # Then nothing changes
    assert world.state() == before
    assert world.ids(SECOND) == []


def test_the_same_signal_replayed_under_the_same_account_is_kept_once() -> None:
    # Given kim's answer filed under the first account
    world = World()
    world.directory.people[KIM] = FIRST
    answer = world.nps(3)
    world.service.handle(answer)
    # When it is replayed, kim still there
    replayed = world.service.handle(answer)
    # Then it is the same account's, kept once
    assert replayed.tenant_id == FIRST
    assert world.ids(FIRST) == [answer.event_id]
