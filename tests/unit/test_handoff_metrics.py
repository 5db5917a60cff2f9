"""Speed to lead and SLA figures as the handoff functions write them: EMF lines under `service=handoffs`, each
figure in total, per priority and per team (and the SLA figures per priority and team too), so the dashboard
graphs every breakdown `GET /api/v1/handoffs/metrics` reports."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import handoff_metrics
from shared.events.handoff_events import HandoffEvent, HandoffEventType
from shared.handoffs.model import Handoff, HandoffKind, HandoffStatus, HistoryEntry, Priority
from shared.handoffs.service import Outcome

REQUESTED = datetime(2026, 11, 30, 12, tzinfo=UTC)
DURATION_SETS = [["service"], ["service", "priority"], ["service", "team"]]
SLA_SETS = [*DURATION_SETS, ["service", "priority", "team"]]


@pytest.fixture(autouse=True)
def metrics_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "RevOpsHub")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "handoff-router")  # the function's own: not the figures'
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)


def emitted(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The EMF documents written to stdout since the last call."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def series(documents: list[dict[str, Any]]) -> dict[tuple[str, tuple[tuple[str, str], ...]], list[float]]:
    """What CloudWatch extracts from the documents: each metric under each dimension set of its directive, as
    (name, dimensions) -> values."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], list[float]] = {}
    for document in documents:
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "RevOpsHub"
        for metric in directive["Metrics"]:
            value = document[metric["Name"]]
            for names in directive["Dimensions"]:
                key = (metric["Name"], tuple((name, document[name]) for name in sorted(names)))
                found.setdefault(key, []).extend(value if isinstance(value, list) else [value])
    return found


def handoff(priority: Priority, team: str, *breached_at: datetime, kind: HandoffKind = HandoffKind.LEAD) -> Handoff:
    history = [HistoryEntry(REQUESTED, HandoffStatus.REQUESTED, "hub", "lead.handoff_requested")]
    history += [
        HistoryEntry(at, HandoffStatus.ASSIGNED, "hub", "SLA breached", event=HandoffEventType.SLA_BREACHED.value)
        for at in breached_at
    ]
    return Handoff(
        handoff_id="h1",
        lead_id="lead-1",
        kind=kind,
        priority=priority,
        status=HandoffStatus.ASSIGNED,
        team=team,
        requested_at=REQUESTED,
        history=tuple(history),
    )


def event(kind: HandoffEventType, after: timedelta, of: Handoff, previous_rep_id: str | None = None) -> HandoffEvent:
    return HandoffEvent(
        event_id=f"{kind.value}-{after}",
        event_type=kind,
        occurred_at=REQUESTED + after,
        handoff_id=of.handoff_id,
        kind=of.kind.value,
        lead_id=of.lead_id,
        priority=of.priority.value,
        status="assigned",
        rep_id="sdr-lena-vogel",
        previous_rep_id=previous_rep_id,
        team=of.team,
        actor="hub",
        reason="test",
    )


def dims(**dimensions: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({"service": "handoffs", **dimensions}.items()))


def test_speed_to_lead_and_an_acceptance_within_sla_are_figures_in_total_per_priority_and_per_team(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a priority lead handoff to the EMEA SDRs, assigned after 30 s and accepted after 4 minutes
    lead = handoff(Priority.PRIORITY, "sdr-emea")
    outcome = Outcome(
        lead,
        (
            event(HandoffEventType.ASSIGNED, timedelta(seconds=30), lead),
            event(HandoffEventType.ACCEPTED, timedelta(minutes=4), lead),
        ),
    )
    # When the function records what it published
    handoff_metrics.record(outcome)
    documents = emitted(capsys)
    # Then the durations are one EMF line with the total, per priority and per team dimension sets, and the SLA
    # figures one more with the priority-and-team set as well, all under service=handoffs (not the function)
    assert [d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] for d in documents] == [DURATION_SETS, SLA_SETS]
    assert [list(names) for names in handoff_metrics.DURATION_DIMENSIONS] == DURATION_SETS
    assert [list(names) for names in handoff_metrics.SLA_DIMENSIONS] == SLA_SETS
    assert {(d["service"], d["priority"], d["team"]) for d in documents} == {("handoffs", "priority", "sdr-emea")}
    # And CloudWatch gets each figure as a series of its own per breakdown: percentiles never mix across them
    by_priority, by_team = dims(priority="priority"), dims(team="sdr-emea")
    both = dims(priority="priority", team="sdr-emea")
    assert series(documents) == {
        **{(handoff_metrics.ASSIGN_SECONDS, d): [30.0] for d in (dims(), by_priority, by_team)},
        **{(handoff_metrics.ACCEPT_SECONDS, d): [240.0] for d in (dims(), by_priority, by_team)},
        **{(handoff_metrics.ACCEPTED_WITHIN_SLA, d): [1.0] for d in (dims(), by_priority, by_team, both)},
        **{(handoff_metrics.SLA_ATTAINMENT, d): [100.0] for d in (dims(), by_priority, by_team, both)},
    }
    units = {m["Name"]: m["Unit"] for d in documents for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units == {
        handoff_metrics.ASSIGN_SECONDS: "Seconds",
        handoff_metrics.ACCEPT_SECONDS: "Seconds",
        handoff_metrics.ACCEPTED_WITHIN_SLA: "Count",
        handoff_metrics.SLA_ATTAINMENT: "Percent",
    }


def test_a_breach_counts_zero_attainment_and_a_later_acceptance_is_the_breach_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given an immediate lead no rule matched (no team), breaching its SLA after 5 minutes
    breached_at = REQUESTED + timedelta(minutes=5)
    lead = handoff(Priority.IMMEDIATE, "", breached_at)
    handoff_metrics.record(Outcome(lead, (event(HandoffEventType.SLA_BREACHED, timedelta(minutes=5), lead),)))
    # Then the breach is counted and is a 0 of attainment, under team `none` (CloudWatch refuses an empty value)
    [breach] = emitted(capsys)
    assert breach["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == SLA_SETS
    assert (breach["priority"], breach["team"]) == ("immediate", handoff_metrics.NO_TEAM)
    assert series([breach])[(handoff_metrics.SLA_BREACHES, dims(priority="immediate", team="none"))] == [1.0]
    assert series([breach])[(handoff_metrics.SLA_ATTAINMENT, dims(team="none"))] == [0.0]
    # When it is reassigned (not a first assignment: no speed-to-lead figure) and accepted later
    handoff_metrics.record(
        Outcome(
            lead,
            (
                event(HandoffEventType.ASSIGNED, timedelta(minutes=5), lead, previous_rep_id="sdr-tobias-brandt"),
                event(HandoffEventType.ACCEPTED, timedelta(minutes=7), lead),
            ),
        )
    )
    # Then only its speed to lead is a figure: the handoff counts as the breach, as the API counts it
    [accepted] = emitted(capsys)
    assert series([accepted]) == {
        (handoff_metrics.ACCEPT_SECONDS, d): [420.0]
        for d in (dims(), dims(priority="immediate"), dims(team=handoff_metrics.NO_TEAM))
    }


def test_attainment_averages_to_the_acceptances_within_sla_over_those_and_the_breaches(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given three standard handoffs of the AE team accepted within their SLA and one breaching it
    ae = handoff(Priority.STANDARD, "ae")
    for _ in range(3):
        handoff_metrics.record(Outcome(ae, (event(HandoffEventType.ACCEPTED, timedelta(hours=2), ae),)))
    late = handoff(Priority.STANDARD, "ae", REQUESTED + timedelta(hours=9))
    handoff_metrics.record(Outcome(late, (event(HandoffEventType.SLA_BREACHED, timedelta(hours=9), late),)))
    found = series(emitted(capsys))
    # Then the average of the attainment series, which the dashboard graphs, is 100 x 3 / (3 + 1) for the team
    for key in (dims(), dims(team="ae"), dims(priority="standard", team="ae")):
        values = found[(handoff_metrics.SLA_ATTAINMENT, key)]
        within = sum(found[(handoff_metrics.ACCEPTED_WITHIN_SLA, key)])
        breached = sum(found[(handoff_metrics.SLA_BREACHES, key)])
        assert sum(values) / len(values) == 100 * within / (within + breached) == 75.0


def test_nothing_is_written_for_other_handoffs_other_events_or_when_metrics_are_off(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lead = handoff(Priority.PRIORITY, "sdr-amer")
    customer = handoff(Priority.STANDARD, "csm", kind=HandoffKind.CUSTOMER)
    # A customer handoff is no lead to answer fast; a reminder is no figure; an outcome without a handoff neither
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        handoff_metrics.record(Outcome(customer, (event(HandoffEventType.ACCEPTED, timedelta(hours=1), customer),)))
        handoff_metrics.record(Outcome(lead, (event(HandoffEventType.REMINDED, timedelta(minutes=20), lead),)))
        handoff_metrics.record(Outcome(None))
    assert [str(w.message) for w in warned] == []  # no empty EMF line, no Powertools "no metrics" warning
    assert emitted(capsys) == []
    # And the local hub turns them off
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    handoff_metrics.record(Outcome(lead, (event(HandoffEventType.ACCEPTED, timedelta(minutes=3), lead),)))
    assert emitted(capsys) == []


def test_a_first_touch_is_its_own_sla_a_missed_one_not_a_missed_acceptance(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a priority lead assigned at 30 s to the AMER SDRs, accepted in time
    lead = replace(handoff(Priority.PRIORITY, "sdr-amer"), assigned_at=REQUESTED + timedelta(seconds=30))
    # When the rep touches it 10 minutes after the assignment, within the first-touch SLA
    touched = event(HandoffEventType.FIRST_TOUCHED, timedelta(minutes=10, seconds=30), lead)
    handoff_metrics.record(Outcome(lead, (replace_touched(touched),)))
    found = series(emitted(capsys))
    # Then the time from the assignment to the touch and a 100 of first-touch attainment are written, and no
    # acceptance figure moves
    assert found[(handoff_metrics.FIRST_TOUCH_SECONDS, dims(priority="priority"))] == [600.0]
    assert found[(handoff_metrics.FIRST_TOUCH_ATTAINMENT, dims(priority="priority", team="sdr-amer"))] == [100.0]
    assert {name for name, _ in found} == {handoff_metrics.FIRST_TOUCH_SECONDS, handoff_metrics.FIRST_TOUCH_ATTAINMENT}
    # When another lead's first touch is missed (a breach of the first-touch SLA, the handoff accepted in time)
    breach = event(HandoffEventType.SLA_BREACHED, timedelta(hours=2), lead).model_copy(update={"sla": "first_touch"})
    handoff_metrics.record(Outcome(lead, (breach,)))
    found = series(emitted(capsys))
    # Then it is a first-touch breach and a 0 of first-touch attainment, not an accept-SLA breach
    assert found[(handoff_metrics.FIRST_TOUCH_BREACHES, dims())] == [1.0]
    assert found[(handoff_metrics.FIRST_TOUCH_ATTAINMENT, dims())] == [0.0]
    assert handoff_metrics.SLA_BREACHES not in {name for name, _ in found}
    assert handoff_metrics.SLA_ATTAINMENT not in {name for name, _ in found}


def replace_touched(touched: HandoffEvent) -> HandoffEvent:
    return touched.model_copy(update={"touched_at": touched.occurred_at, "channel": "call", "within_sla": True})
