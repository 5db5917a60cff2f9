"""`make replay STAGE=...` against EventBridge (moto): the replay is started from the stage's archive to its bus,
narrowed to the catalog rules TYPES and TARGET choose (FilterArns), over the window asked for, followed to its
end, and the replayed events reach the rules' targets marked with `replay-name`.

moto replays synchronously and every archived event to every rule (it reads neither the window nor FilterArns),
so what is checked of those is the request EventBridge receives (DescribeReplay answers it back)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_runtime.provision import provision
from ops import replay
from ops.replay import EventBridgeReplays, Window, replay_scope, run_replay
from shared.catalog import CATALOG, physical_name

STAGE = "test"


@pytest.fixture
def stage() -> Iterator[Any]:
    """The catalog's bus, rules (each with an SQS tap as its target) and tables, plus the bus's archive as
    `infra/events.py` makes it; yields an EventBridge client."""
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        provisioned = provision(CATALOG, STAGE, session)
        events = session.client("events")
        bus_arn = events.describe_event_bus(Name=provisioned.bus_name)["Arn"]
        events.create_archive(
            ArchiveName=physical_name(STAGE, f"{CATALOG.bus_name}-archive"),
            EventSourceArn=bus_arn,
            EventPattern=json.dumps({"source": list(CATALOG.event_sources)}),
            RetentionDays=14,
        )
        yield events, provisioned, session


def put_deal_won(events: Any, at: datetime) -> None:
    detail = {"event_id": "e-1", "event_type": "deal.won", "occurred_at": at.isoformat()}
    entry = {
        "EventBusName": physical_name(STAGE, CATALOG.bus_name),
        "Source": "revops.webhooks",
        "DetailType": "deal.won",
        "Detail": json.dumps(detail),
        "Time": at,
    }
    assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0


def tapped(session: Any, provisioned: Any, rule: str) -> list[dict[str, Any]]:
    tap = next(t for t in provisioned.taps if t.rule.name == rule)
    messages = session.client("sqs").receive_message(QueueUrl=tap.tap_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_a_replay_of_types_goes_to_the_rules_taking_them_over_the_window(stage: Any) -> None:
    events, provisioned, session = stage
    # Given a deal won half an hour ago, archived (and delivered once to its rules)
    now = datetime.now(UTC).replace(microsecond=0)
    put_deal_won(events, now - timedelta(minutes=30))
    assert tapped(session, provisioned, "attribution-conversions")
    # When the last hour of deal.won is replayed
    window = Window(now - timedelta(hours=1), now)
    scope = replay_scope(CATALOG, types=["deal.won"])
    summary = run_replay(EventBridgeReplays(events, STAGE), "replay-1", window, scope, "test", poll_seconds=0)
    # Then it completed, from the stage's archive to its bus, over that window, to those rules only
    assert summary.completed, str(summary)
    described = events.describe_replay(ReplayName="replay-1")
    assert described["EventSourceArn"].endswith(":archive/revops-test-events-archive")
    assert described["Destination"]["Arn"].endswith(":event-bus/revops-test-events")
    rules = {arn.rsplit("/", 1)[1] for arn in described["Destination"]["FilterArns"]}
    assert rules == {physical_name(STAGE, name) for name in scope.rules}
    assert (described["EventStartTime"], described["EventEndTime"]) == (window.start, window.end)
    # And the replayed event reached a chosen rule's target, marked as replayed
    [replayed] = tapped(session, provisioned, "attribution-conversions")
    assert replayed["replay-name"] == "replay-1"
    assert replayed["detail"]["event_id"] == "e-1"


def test_a_replay_of_the_whole_bus_names_no_rules(stage: Any) -> None:
    events, _, _ = stage
    now = datetime.now(UTC)
    summary = run_replay(
        EventBridgeReplays(events, STAGE), "replay-2", Window(now - timedelta(hours=1), now), replay_scope(CATALOG), ""
    )
    assert summary.completed
    assert "FilterArns" not in events.describe_replay(ReplayName="replay-2")["Destination"]
    assert "every rule on the bus" in str(summary)


def test_the_command_replays_a_stage_and_says_so(stage: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # When the operator command replays the last two hours of one rule of the stage
    status = replay.main(["--stage", STAGE, "--from=-2h", "--target=budget-alerts"], poll_seconds=0)
    # Then it completed and said where, what and to which rule
    out, err = capsys.readouterr()
    assert status == 0, err
    assert out.startswith("replay revops-test-replay-")
    assert "completed" in out
    assert "archive revops-test-events-archive" in out
    assert "1 rule (budget-alerts)" in out


def test_a_stage_without_an_archive_is_one_line(stage: Any, capsys: pytest.CaptureFixture[str]) -> None:
    events, _, _ = stage
    events.delete_archive(ArchiveName=physical_name(STAGE, f"{CATALOG.bus_name}-archive"))
    status = replay.main(["--stage", STAGE], poll_seconds=0)
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1
    assert err.startswith("error: stage test:")
