"""`make replay`'s pieces without AWS or a hub: the window, which rules a replay reaches (TYPES and TARGET against
the catalog and the event taxonomy), following a replay to its end or cancelling it on Ctrl-C, the local archive
and the local replay's deliveries."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.events.models import EventPattern
from pydantic import ValidationError

from local_runtime.dispatcher import LocalArchive
from local_runtime.provision import RuleTap
from local_runtime.replay import LocalReplay, ReplayRequest
from ops.replay import (
    EventBridgeReplays,
    ReplayScope,
    ReplayStatus,
    Window,
    parse_moment,
    replay_name,
    replay_scope,
    run_replay,
)
from shared.attribution.config import load_attribution_config
from shared.attribution.service import AttributionService
from shared.catalog import CATALOG, Catalog, Function, Rule
from shared.errors import InvalidInput
from shared.events.canonical import EventType, Subject
from shared.finance.config import load_finance_config
from shared.replayed_events import replay_of, told_once_not_on_replay
from tests.attribution_fakes import InMemoryAttributionStore
from tests.canonical_events import canonical_event
from tests.fakes import FixedClock, InMemoryLeadRepository, RecordingPublisher
from tests.finance_fakes import InMemoryFinanceStore

NOW = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


# -- the window ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-05-01T09:15:00Z", datetime(2026, 5, 1, 9, 15, tzinfo=UTC)),
        ("2026-05-01T11:15:00+02:00", datetime(2026, 5, 1, 9, 15, tzinfo=UTC)),
        ("2026-05-01T09:15:00", datetime(2026, 5, 1, 9, 15, tzinfo=UTC)),  # no offset: UTC
        ("now", NOW),
        ("-90m", NOW - timedelta(minutes=90)),
        ("-6h", NOW - timedelta(hours=6)),
        ("-7d", NOW - timedelta(days=7)),
        ("-2w", NOW - timedelta(weeks=2)),
    ],
)
def test_a_moment_is_iso_8601_now_or_a_time_ago(text: str, expected: datetime) -> None:
    assert parse_moment(text, NOW, "from") == expected


def test_a_moment_that_does_not_parse_is_refused_naming_the_argument() -> None:
    with pytest.raises(InvalidInput, match=r"from must be an ISO 8601 time .* not 'yesterday'"):
        parse_moment("yesterday", NOW, "from")


def test_the_window_defaults_to_the_last_hour() -> None:
    assert Window.of(None, None, NOW) == Window(NOW - timedelta(hours=1), NOW)
    assert Window.of("-3h", "-1h", NOW) == Window(NOW - timedelta(hours=3), NOW - timedelta(hours=1))


def test_a_window_that_ends_before_it_starts_or_in_the_future_is_refused() -> None:
    with pytest.raises(InvalidInput, match="must be before to"):
        Window.of("-1h", "-2h", NOW)
    with pytest.raises(InvalidInput, match="is in the future"):
        Window.of("-1h", "2026-05-01T12:00:00Z", NOW)


def test_a_replay_name_is_one_eventbridge_takes() -> None:
    name = replay_name("prod", NOW)
    assert name.startswith("revops-prod-replay-20260501T100000-")
    assert len(name) <= 64
    assert name != replay_name("prod", NOW)


# -- which rules -----------------------------------------------------------------------------------------------------


def test_without_types_or_target_a_replay_reaches_the_whole_bus() -> None:
    scope = replay_scope(CATALOG)
    assert scope.whole_bus
    assert str(scope) == "every rule on the bus"


def test_types_narrow_the_replay_to_the_rules_whose_pattern_takes_them() -> None:
    # deal.won (revops.webhooks) is taken by the lead processor, the customer handoffs, attribution and CRM sync
    scope = replay_scope(CATALOG, types=["deal.won"])
    assert set(scope.rules) == {
        "leads-from-webhook-events",
        "customer-handoffs-from-won-deals",
        "attribution-conversions",
        "crm-sync-crm-changes",
    }
    # handoff.accepted is published by two sources: the webhook gateway (a Slack click) and the handoff domain
    clicks_and_acceptances = replay_scope(CATALOG, types=["handoff.accepted"])
    assert set(clicks_and_acceptances.rules) == {
        "leads-from-webhook-events",
        "handoffs-from-clicks",
        "leads-from-handoff-outcomes",
        "crm-sync-hub-changes",
    }


def test_a_target_is_a_rule_or_a_function_meaning_all_of_its_rules() -> None:
    assert replay_scope(CATALOG, targets=["budget-alerts"]).rules == ("budget-alerts",)
    router = replay_scope(CATALOG, targets=["handoff_router"])
    assert router.rules == tuple(rule.name for rule in CATALOG.function("handoff_router").rules)
    # types narrow a function's rules too
    assert replay_scope(CATALOG, types=["deal.won"], targets=["handoff_router"]).rules == (
        "customer-handoffs-from-won-deals",
    )


def test_unknown_types_and_targets_are_refused_with_what_was_meant() -> None:
    with pytest.raises(InvalidInput, match=re.escape("no event type 'deal.wonn'; did you mean deal.won")):
        replay_scope(CATALOG, types=["deal.wonn"])
    with pytest.raises(
        InvalidInput, match="no rule or rule-consuming function 'budget-alert'; did you mean budget-alerts"
    ):
        replay_scope(CATALOG, targets=["budget-alert"])
    with pytest.raises(InvalidInput, match=re.escape("rule budget-alerts takes none of the types deal.won")):
        replay_scope(CATALOG, types=["deal.won"], targets=["budget-alerts"])
    with pytest.raises(InvalidInput, match=re.escape("function budget_notifier takes none of the types deal.won")):
        replay_scope(CATALOG, types=["deal.won"], targets=["budget_notifier", "handoff_router"])


def test_a_type_no_rule_takes_leaves_nothing_to_replay_to() -> None:
    with pytest.raises(InvalidInput, match=re.escape("no rule on the bus takes sync.reconciled")):
        replay_scope(CATALOG, types=["sync.reconciled"])


def test_prefix_and_absent_conditions_take_the_types_they_can_match() -> None:
    catalog = Catalog(
        bus_name="events",
        event_sources=("revops.webhooks",),
        tables=(),
        secrets=(),
        functions=(
            Function(
                name="deals",
                description="",
                rules=(Rule("deal-prefix", "", {"detail-type": [{"prefix": "deal."}]}),),
            ),
            Function(
                name="anything", description="", rules=(Rule("any-webhook", "", {"source": ["revops.webhooks"]}),)
            ),
            Function(name="leads", description="", rules=(Rule("lead-only", "", {"source": ["revops.leads"]}),)),
        ),
    )
    assert replay_scope(catalog, types=["deal.won"]).rules == ("deal-prefix", "any-webhook")


# -- following a replay ------------------------------------------------------------------------------------------


class ScriptedReplays:
    """A replay that goes through the states it is given, one per poll; records what was asked of it."""

    where = "a scripted archive"

    def __init__(self, *states: ReplayStatus, interrupt_at: int | None = None) -> None:
        self.states = list(states)
        self.polls = 0
        self.interrupt_at = interrupt_at
        self.started: list[tuple[str, Window, ReplayScope]] = []
        self.cancelled: list[str] = []

    def now(self) -> datetime:
        return NOW

    def start(self, name: str, window: Window, scope: ReplayScope, description: str) -> ReplayStatus:
        self.started.append((name, window, scope))
        return ReplayStatus("STARTING")

    def status(self, name: str) -> ReplayStatus:
        if self.cancelled:
            return ReplayStatus("CANCELLED", last_replayed=NOW - timedelta(minutes=40))
        self.polls += 1
        return self.states[min(self.polls, len(self.states)) - 1]

    def cancel(self, name: str) -> None:
        self.cancelled.append(name)

    def sleep(self, _: float) -> None:
        if self.interrupt_at is not None and self.polls == self.interrupt_at:
            raise KeyboardInterrupt


WINDOW = Window(NOW - timedelta(hours=1), NOW)


def test_a_replay_is_followed_until_it_completes() -> None:
    # Given EventBridge replaying minute by minute
    replays = ScriptedReplays(
        ReplayStatus("RUNNING", last_replayed=NOW - timedelta(minutes=50)),
        ReplayStatus("RUNNING", last_replayed=NOW - timedelta(minutes=10)),
        ReplayStatus("COMPLETED", last_replayed=NOW - timedelta(minutes=1)),
    )
    # When it is run
    summary = run_replay(replays, "r1", WINDOW, ReplayScope(("budget-alerts",)), "test", sleep=replays.sleep)
    # Then it was polled to its end and says what it replayed, where, to which rules
    assert replays.polls == 3
    assert summary.completed
    assert str(summary).startswith("replay r1 completed after")
    assert "1 rule (budget-alerts)" in str(summary)
    assert "from a scripted archive" in str(summary)


def test_ctrl_c_cancels_the_replay_and_says_how_far_it_got() -> None:
    replays = ScriptedReplays(ReplayStatus("RUNNING", last_replayed=NOW - timedelta(minutes=45)), interrupt_at=1)
    summary = run_replay(replays, "r2", WINDOW, ReplayScope(()), "test", sleep=replays.sleep)
    assert replays.cancelled == ["r2"]
    assert not summary.completed
    assert summary.status.state == "CANCELLED"
    assert "replayed up to 2026-05-01T09:20:00+00:00" in str(summary)


def test_a_failed_replay_says_why() -> None:
    replays = ScriptedReplays(ReplayStatus("FAILED", reason="the archive's key is disabled"))
    summary = run_replay(replays, "r3", WINDOW, ReplayScope(()), "test", sleep=replays.sleep)
    assert not summary.completed
    assert "failed after" in str(summary)
    assert "(the archive's key is disabled)" in str(summary)


def test_a_local_replay_counts_its_events_and_deliveries() -> None:
    replays = ScriptedReplays(
        ReplayStatus("COMPLETED", events_total=12, events_replayed=12, deliveries=21, failed=1),
    )
    said = str(run_replay(replays, "r4", WINDOW, ReplayScope(()), "test", sleep=replays.sleep))
    assert ": 12 of 12 events of" in said
    assert "21 deliveries, 1 failed every retry" in said


class DescribedOnly:
    """An EventBridge client that answers DescribeReplay only (moto leaves EventLastReplayedTime out)."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer

    def describe_replay(self, ReplayName: str) -> dict[str, Any]:
        return self.answer


def test_eventbridge_progress_is_the_time_of_the_last_event_replayed() -> None:
    running = EventBridgeReplays(DescribedOnly({"State": "RUNNING", "EventLastReplayedTime": NOW}), "dev")
    assert running.status("r") == ReplayStatus("RUNNING", last_replayed=NOW)
    starting = EventBridgeReplays(DescribedOnly({"State": "STARTING"}), "dev")
    assert starting.status("r") == ReplayStatus("STARTING")
    assert (running.bus, running.archive) == ("revops-dev-events", "revops-dev-events-archive")


# -- the local archive and replay ------------------------------------------------------------------------------


def event(n: int, at: datetime, source: str = "revops.webhooks", detail_type: str = "deal.won") -> dict[str, Any]:
    return {
        "id": f"id-{n}",
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": source,
        "detail-type": detail_type,
        "detail": {"event_id": f"event-{n}"},
    }


def archived(archive: LocalArchive, *events: dict[str, Any]) -> None:
    for each in events:
        archive.add(each, json.dumps(each))


def test_the_archive_keeps_the_hubs_sources_and_answers_a_window_by_event_time() -> None:
    archive = LocalArchive({"revops.webhooks", "revops.leads"})
    late = event(1, NOW - timedelta(minutes=10))
    early = event(2, NOW - timedelta(minutes=50), source="revops.leads")
    outside = event(3, NOW - timedelta(hours=2))
    at_the_end = event(4, NOW)
    foreign = event(5, NOW - timedelta(minutes=5), source="revops.e2e")
    archived(archive, late, early, outside, at_the_end, foreign)
    # the window is [start, end), by the events' own time, oldest first; other sources were never archived
    assert [e["id"] for e in archive.between(NOW - timedelta(hours=1), NOW)] == ["id-2", "id-1"]
    assert len(archive) == 4


def test_the_archive_drops_what_is_past_its_retention_or_its_count() -> None:
    clock = [1_000_000.0]
    archive = LocalArchive({"revops.webhooks"}, kept=2, retention=timedelta(days=1), clock=lambda: clock[0])
    archived(archive, event(1, NOW - timedelta(minutes=3)))
    clock[0] += 2 * 86400  # two days later, the first is past retention
    archived(archive, event(2, NOW - timedelta(minutes=2)), event(3, NOW - timedelta(minutes=1)))
    assert [e["id"] for e in archive.between(NOW - timedelta(hours=1), NOW)] == ["id-2", "id-3"]
    archived(archive, event(4, NOW - timedelta(seconds=30)))  # over the count: the oldest goes
    assert [e["id"] for e in archive.between(NOW - timedelta(hours=1), NOW)] == ["id-3", "id-4"]


def tap(name: str, pattern: dict[str, object]) -> tuple[RuleTap, Any]:
    function = Function(name=f"{name.replace('-', '_')}_consumer", description="")
    return RuleTap(function, Rule(name, "", pattern), "tap-url", "dlq-url"), EventPattern.load(json.dumps(pattern))


def test_a_local_replay_delivers_each_event_to_the_rules_it_matches_with_its_id_time_and_replay_name() -> None:
    delivered: list[tuple[str, dict[str, Any]]] = []

    def deliver(function: Function, replayed: dict[str, Any], _: Any) -> bool:
        delivered.append((function.name, replayed))
        return function.name != "failing_consumer"

    events = [event(1, NOW - timedelta(minutes=30)), event(2, NOW - timedelta(minutes=20), detail_type="deal.lost")]
    replay = LocalReplay(
        "r1",
        "",
        NOW - timedelta(hours=1),
        NOW,
        (),
        events,
        [tap("won", {"detail-type": ["deal.won"]}), tap("failing", {"source": ["revops.webhooks"]})],
    )
    replay.run(deliver)
    assert [(name, e["id"]) for name, e in delivered] == [
        ("won_consumer", "id-1"),
        ("failing_consumer", "id-1"),
        ("failing_consumer", "id-2"),
    ]
    assert all(e["replay-name"] == "r1" for _, e in delivered)
    assert delivered[0][1]["time"] == events[0]["time"]
    view = replay.view()
    assert (view["state"], view["events_total"], view["events_replayed"]) == ("COMPLETED", 2, 2)
    assert (view["deliveries"], view["failed"]) == (3, 2)
    assert view["event_last_replayed_time"] == "2026-05-01T09:40:00+00:00"


def test_a_cancelled_local_replay_stops_between_events() -> None:
    replay = LocalReplay("r2", "", NOW - timedelta(hours=1), NOW, (), [event(1, NOW), event(2, NOW)], [])
    replay.cancelled.set()
    replay.run(lambda *_: True)
    assert (replay.state, replay.events_replayed) == ("CANCELLED", 0)


def test_a_replay_request_names_the_field_it_refuses() -> None:
    with pytest.raises(ValidationError, match="from"):
        ReplayRequest.model_validate({"from": "2026-05-01T09:00:00"})  # no offset: ambiguous
    with pytest.raises(ValidationError, match="tyeps"):
        ReplayRequest.model_validate({"tyeps": ["deal.won"]})
    with pytest.raises(ValidationError, match="name"):
        ReplayRequest.model_validate({"name": "a replay with spaces"})
    assert ReplayRequest.model_validate({"types": "deal.won,deal.lost"}).types == ["deal.won", "deal.lost"]


# -- consumers under a replay ------------------------------------------------------------------------------------


def attribution_service() -> tuple[AttributionService, InMemoryAttributionStore]:
    finance = load_finance_config()
    store, money = InMemoryAttributionStore(), InMemoryFinanceStore()
    service = AttributionService(
        store=store,
        leads=InMemoryLeadRepository(),
        fx=money,
        config=load_attribution_config(finance=finance),
        company_currency=finance.company_currency,
        publisher=RecordingPublisher(),
        clock=FixedClock(NOW),
        spend=money,
        finance=finance,
    )
    return service, store


def test_a_deal_event_delivered_again_leaves_its_deal_as_it_was() -> None:
    # Given a deal won, folded into its deal
    service, store = attribution_service()
    won = canonical_event(
        EventType.DEAL_WON,
        Subject(deal_id="standard:D-1", email="kim@acme.io"),
        {"amount": "1200.00", "currency": "USD"},
        at=NOW,
        n=1,
        series="replay",
        vendor="standard",
    )
    service.handle(won)
    folded = store.deal("standard:D-1")
    # When the same event is delivered again (a replay, or EventBridge's at-least-once)
    service.handle(won)
    # Then the deal is not written again: not one more event counted, not one more version
    assert store.deal("standard:D-1") == folded


def test_a_notifier_tells_no_one_of_a_replayed_event() -> None:
    told: list[dict[str, Any]] = []

    @told_once_not_on_replay
    def notifier(event: dict[str, Any], context: Any) -> str:
        told.append(event)
        return "sent"

    live = event(1, NOW)
    assert notifier(live, None) == "sent"
    answer = notifier({**live, "replay-name": "revops-dev-replay-1"}, None)
    assert told == [live]
    assert "replayed by revops-dev-replay-1" in answer["note"]
    assert replay_of(live) is None
