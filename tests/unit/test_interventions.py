"""Interventions as pure functions: a playbook opened with the health before and its task due, the same cause
the same intervention, closed with the outcome the score change says, effectiveness per playbook, and the
alert a start sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.events.success_events import SuccessEvent, SuccessEventType
from shared.success.alerts import intervention_alerts
from shared.success.engine import Health
from shared.success.interventions import (
    InterventionStatus,
    Outcome,
    churn_playbooks,
    closed,
    effectiveness,
    opened,
)
from shared.success.model import PlaybookTrigger, load_health_model

MODEL = load_health_model()
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SAVE = MODEL.playbook("churn_save")
assert SAVE is not None


def health(score: int | None, band: str | None, at: datetime = NOW) -> Health:
    return Health(as_of=at, model_version=MODEL.version, score_hundredths=score, band=band, lines=())


def test_a_red_account_opens_the_churn_playbooks_and_a_green_one_none() -> None:
    assert [p.id for p in churn_playbooks(MODEL, "red")] == ["churn_save"]
    assert churn_playbooks(MODEL, "green") == []


def test_an_intervention_keeps_the_health_before_and_its_task_is_due_as_the_playbook_says() -> None:
    one = opened(SAVE, "acct-1", "kestrel-labs.io", health(3500, "red"), "turned red", "event-9")
    assert (one.score_before, one.band_before, one.status) == (3500, "red", InterventionStatus.OPEN)
    assert one.task_title == "Save call with kestrel-labs.io"
    assert one.task_due_at == NOW + timedelta(days=2)
    assert one.evaluate_at == NOW + timedelta(days=30)
    assert one.trigger is PlaybookTrigger.CHURN_RISK
    # the same cause is the same intervention; another cause another
    assert opened(SAVE, "acct-1", "k", health(3500, "red"), "x", "event-9").intervention_id == one.intervention_id
    assert opened(SAVE, "acct-1", "k", health(3500, "red"), "x", "event-10").intervention_id != one.intervention_id
    by_hand = opened(SAVE, "acct-1", "k", health(3500, "red"), "call", "request:1", requested_by="ana")
    assert (by_hand.trigger, by_hand.requested_by) == (PlaybookTrigger.MANUAL, "ana")


def test_the_outcome_is_the_score_change_beyond_the_flat_band() -> None:
    one = opened(SAVE, "acct-1", "k", health(3500, "red"), "turned red", "e")
    later = NOW + timedelta(days=30)
    assert closed(one, health(6850, "yellow", later), 200).outcome is Outcome.IMPROVED
    assert closed(one, health(3600, "red", later), 200).outcome is Outcome.UNCHANGED
    assert closed(one, health(2000, "red", later), 200).outcome is Outcome.WORSENED
    assert closed(one, health(None, None, later), 200).outcome is Outcome.NO_SCORE
    done = closed(one, health(6850, "yellow", later), 200)
    assert (done.status, done.closed_at, done.score_after, done.band_after) == (
        InterventionStatus.CLOSED,
        later,
        6850,
        "yellow",
    )


def test_effectiveness_counts_each_playbooks_outcomes_and_mean_change() -> None:
    later = NOW + timedelta(days=30)
    runs = [
        closed(opened(SAVE, "a", "a", health(3000, "red"), "r", "1"), health(7000, "green", later), 200),
        closed(opened(SAVE, "b", "b", health(3000, "red"), "r", "2"), health(2000, "red", later), 200),
        opened(SAVE, "c", "c", health(3000, "red"), "r", "3"),
    ]
    (save, check_in) = effectiveness(["churn_save", "executive_check_in"], runs)
    assert (save.opened, save.closed, save.improved, save.worsened, save.unchanged) == (3, 2, 1, 1, 0)
    assert save.mean_change_hundredths == (4000 - 1000) // 2
    assert (check_in.opened, check_in.mean_change_hundredths) == (0, None)


def test_a_start_alerts_the_playbooks_slack_channel_and_emails() -> None:
    event = SuccessEvent(
        event_id="e",
        event_type=SuccessEventType.INTERVENTION_STARTED,
        occurred_at=NOW,
        tenant_id="acct-1",
        model_version=MODEL.version,
        score=35.0,
        band="red",
        cause="intervention:i",
        intervention_id="i",
        playbook="churn_save",
        task_title="Save call with kestrel-labs.io",
        task_due_at=NOW + timedelta(days=2),
        reasons=["turned red"],
    )
    slack, email = intervention_alerts(event, MODEL, "kestrel-labs.io", "https://hub.example")
    assert slack is not None
    assert email is not None
    assert slack.channel == "#cs-alerts"
    assert "Save call with kestrel-labs.io" in slack.text
    assert "turned red" in slack.text
    assert email.to == ("cs-leads@example.com",)
    assert "35.00 (red)" in email.text
    assert "https://hub.example/api/v1/integrations/success/health/acct-1" in email.html
    # a health change is no alert
    assert intervention_alerts(
        event.model_copy(update={"event_type": SuccessEventType.HEALTH_CHANGED}), MODEL, "k", ""
    ) == (None, None)
