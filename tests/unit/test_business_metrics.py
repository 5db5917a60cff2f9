"""The business figures as the functions write them: EMF lines CloudWatch turns into the dashboard's metrics."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from shared import business_metrics
from shared.events.lead_events import LeadEvent, LeadEventType
from shared.events.success_events import SuccessEvent, SuccessEventType
from shared.events.sync_events import SyncEvent, SyncEventType
from shared.finance.budget_engine import BudgetFigures, DepartmentFigures, Figures
from shared.webhooks import delivery_metrics
from shared.webhooks.model import ClaimStatus, DeliveryAttempt, Outcome, StoredEvent
from shared.webhooks.ports import BusEvent, PublishResult

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def metrics_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "RevOpsHub")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "some-function")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)


def emitted(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The EMF documents written to stdout since the last call."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def figures(documents: list[dict[str, Any]]) -> list[tuple[str, dict[str, str], float]]:
    """Each metric of each document as (name, its dimensions, value), checked against the EMF directives."""
    found = []
    for document in documents:
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "RevOpsHub"
        dimensions = {name: document[name] for names in directive["Dimensions"] for name in names}
        for metric in directive["Metrics"]:
            value = document[metric["Name"]]
            found.append((metric["Name"], dimensions, value[0] if isinstance(value, list) else value))
    return found


def unordered(found: list[tuple[str, dict[str, str], float]]) -> list[str]:
    return sorted(repr((name, sorted(dimensions.items()), value)) for name, dimensions, value in found)


def lead_event(kind: LeadEventType, stage: str, event_id: str = "e1") -> LeadEvent:
    return LeadEvent.model_construct(event_id=event_id, event_type=kind, occurred_at=NOW, stage=stage)


def test_lead_stage_changes_and_mqls_count_under_the_leads_service_whatever_function_published_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given what a lead use case published: two leads entering MQL, one reaching MQL, a score change
    events = [
        lead_event(LeadEventType.STAGE_CHANGED, "MQL", "a"),
        lead_event(LeadEventType.STAGE_CHANGED, "MQL", "b"),
        lead_event(LeadEventType.MQL_REACHED, "MQL", "c"),
        lead_event(LeadEventType.SCORE_CHANGED, "Lead", "d"),
    ]
    # When they are counted
    business_metrics.record_events(events)
    # Then the stage entries are one metric per stage and the MQLs one metric, under service=leads (not the
    # function's name), and the score change is no figure
    assert unordered(figures(emitted(capsys))) == unordered(
        [
            ("LeadMqlReached", {"service": "leads"}, 1.0),
            ("LeadStageEntered", {"service": "leads", "stage": "MQL"}, 2.0),
        ]
    )


def test_health_band_changes_and_sync_conflicts_are_counted_and_unknown_values_are_other(
    capsys: pytest.CaptureFixture[str],
) -> None:
    events: list[Any] = [
        SuccessEvent.model_construct(
            event_id="h1", event_type=SuccessEventType.HEALTH_CHANGED, band="red", previous_band="yellow"
        ),
        # a score change within the band is not a band change
        SuccessEvent.model_construct(
            event_id="h2", event_type=SuccessEventType.HEALTH_CHANGED, band="green", previous_band="green"
        ),
        SyncEvent.model_construct(event_id="s1", event_type=SyncEventType.CONFLICT_FLAGGED, crm="salesforce"),
        SyncEvent.model_construct(event_id="s2", event_type=SyncEventType.CONFLICT_FLAGGED, crm="pipedrive"),
    ]
    business_metrics.record_events(events)
    assert unordered(figures(emitted(capsys))) == unordered(
        [
            ("HealthBandEntered", {"service": "success", "band": "red"}, 1.0),
            ("SyncConflictsFlagged", {"service": "crm-sync", "crm": "other"}, 1.0),
            ("SyncConflictsFlagged", {"service": "crm-sync", "crm": "salesforce"}, 1.0),
        ]
    )


def test_the_counted_publisher_counts_only_what_the_bus_took(capsys: pytest.CaptureFixture[str]) -> None:
    class Bus:
        def publish(self, events: Sequence[BusEvent]) -> PublishResult:
            return PublishResult(failed={"refused": "ThrottlingException"})

    events = [
        lead_event(LeadEventType.STAGE_CHANGED, "SQL", "taken"),
        lead_event(LeadEventType.STAGE_CHANGED, "SQL", "refused"),
    ]
    result = business_metrics.CountedPublisher(Bus()).publish(events)
    # Then the caller gets the bus's answer, and only the event it took counts
    assert result.failed == {"refused": "ThrottlingException"}
    assert figures(emitted(capsys)) == [("LeadStageEntered", {"service": "leads", "stage": "SQL"}, 1.0)]


def test_accounts_per_band_are_a_gauge_with_every_band(capsys: pytest.CaptureFixture[str]) -> None:
    business_metrics.record_health_bands({"green": 3, "red": 1})
    assert unordered(figures(emitted(capsys))) == unordered(
        [
            ("AccountsInHealthBand", {"service": "success", "band": "green"}, 3.0),
            ("AccountsInHealthBand", {"service": "success", "band": "red"}, 1.0),
            ("AccountsInHealthBand", {"service": "success", "band": "yellow"}, 0.0),
        ]
    )


def test_budget_consumption_is_a_percentage_per_budgeted_department(capsys: pytest.CaptureFixture[str]) -> None:
    def department(name: str, budget: int, actual: int) -> DepartmentFigures:
        return DepartmentFigures(name, Figures(budget, actual, actual), Figures(0, 0, 0))

    budget = BudgetFigures.__new__(BudgetFigures)
    object.__setattr__(
        budget,
        "departments",
        (department("marketing", 500_000, 330_200), department("sales", 0, 1_000), department("x", 100, 50)),
    )
    business_metrics.record_budget(budget, ["marketing", "sales"])
    business_metrics.record_budget(None, ["marketing"])  # a period without a budget: nothing
    # Then marketing's 3,302.00 of 5,000.00 is 66.04 %; sales has no budget (no percentage); `x` is no department
    # of the finance file
    assert unordered(figures(emitted(capsys))) == unordered(
        [
            ("BudgetConsumptionPercent", {"service": "finance", "department": "marketing"}, 66.04),
            ("BudgetConsumptionPercent", {"service": "finance", "department": "other"}, 50.0),
        ]
    )


class Ledger:
    """The delivery ledger's part the receiver uses: `accept` answers what it was told to."""

    def __init__(self, statuses: dict[str, ClaimStatus]) -> None:
        self.statuses = statuses
        self.recorded: list[DeliveryAttempt] = []

    def accept(self, attempt: DeliveryAttempt, events: Sequence[StoredEvent]) -> dict[str, ClaimStatus]:
        return self.statuses

    def record(self, attempt: DeliveryAttempt) -> None:
        self.recorded.append(attempt)

    def list_attempts(self, query: object) -> Any:
        raise NotImplementedError

    def request_of(self, attempt_id: str) -> Any:
        return None


def attempt(vendor: str, outcome: Outcome) -> DeliveryAttempt:
    return DeliveryAttempt(
        attempt_id="a",
        vendor=vendor,
        received_at=NOW,
        outcome=outcome,
        status_code=0,
        body=b"",
        body_sha256="",
        body_size=0,
        content_type=None,
        user_agent=None,
        source_ip=None,
    )


def test_each_delivery_counts_once_by_vendor_and_outcome(capsys: pytest.CaptureFixture[str]) -> None:
    stored = [StoredEvent("stripe", "k", "e")]
    # Given a delivery that stored an event, one whose events were all stored before (recorded as a duplicate
    # after the accept), a rejected one and one to a vendor the hub does not know
    new = delivery_metrics.CountedDeliveryLedger(Ledger({"k": ClaimStatus.NEW}), ["stripe", "hubspot"])
    new.accept(attempt("stripe", Outcome.ACCEPTED), stored)
    again = delivery_metrics.CountedDeliveryLedger(Ledger({"k": ClaimStatus.DUPLICATE}), ["stripe", "hubspot"])
    again.accept(attempt("stripe", Outcome.ACCEPTED), stored)
    again.record(attempt("stripe", Outcome.DUPLICATE))
    inner = Ledger({})
    rejected = delivery_metrics.CountedDeliveryLedger(inner, ["stripe", "hubspot"])
    rejected.record(attempt("hubspot", Outcome.REJECTED))
    rejected.record(attempt("../../etc", Outcome.REJECTED))
    # Then each is one count, under its vendor and outcome, in the three dimension sets the dashboard reads
    documents = emitted(capsys)
    assert [(d["vendor"], d["outcome"], d["WebhookDeliveries"]) for d in documents] == [
        ("stripe", "accepted", 1),
        ("stripe", "duplicate", 1),
        ("hubspot", "rejected", 1),
        ("unknown", "rejected", 1),
    ]
    for document in documents:
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert directive["Dimensions"] == [
            ["service", "vendor", "outcome"],
            ["service", "outcome"],
            ["service", "vendor"],
        ]
        assert document["service"] == "webhooks"
    # And the ledger itself recorded what it was given
    assert [a.vendor for a in inner.recorded] == ["hubspot", "../../etc"]


def test_no_metric_is_written_where_metrics_are_disabled(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")  # the local hub
    delivery_metrics.record_delivery("stripe", Outcome.ACCEPTED)
    business_metrics.record_events([lead_event(LeadEventType.MQL_REACHED, "MQL")])
    assert capsys.readouterr().out == ""
