"""Interventions as pure functions: a playbook opened with the health before and its task due, the same cause
the same intervention, closed with the outcome the score change says, effectiveness per playbook, and the
alert a start sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.adapters.dynamodb_success_csms import HandoffStoreCsms
from shared.events.success_events import SuccessEvent, SuccessEventType
from shared.handoffs.model import HandoffStatus
from shared.handoffs.ports import HandoffChange, LeadLock
from shared.handoffs.routing_config import load_routing
from shared.success.alerts import Csm, InterventionAlerts, account_csm, intervention_alerts
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
from tests.handoff_fakes import InMemoryHandoffRepository
from tests.success_fakes import InMemoryAccountCsms, customer_handoff

MODEL = load_health_model()
ROUTING = load_routing()
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
    event = _churn_start("acct-1")
    alerts = intervention_alerts(event, MODEL, "kestrel-labs.io", "https://hub.example")
    [slack] = alerts.slack
    email = alerts.email
    assert email is not None
    assert slack.channel == "#cs-alerts"
    assert "Save call with kestrel-labs.io" in slack.text
    assert "turned red" in slack.text
    assert email.to == ("cs-leads@example.com",)
    assert "35.00 (red)" in email.text
    assert "https://hub.example/api/v1/integrations/success/health/acct-1" in email.html
    # a health change is no alert
    assert (
        intervention_alerts(event.model_copy(update={"event_type": SuccessEventType.HEALTH_CHANGED}), MODEL, "k", "")
        == InterventionAlerts()
    )


def _churn_start(tenant_id: str) -> SuccessEvent:
    return SuccessEvent(
        event_id="e",
        event_type=SuccessEventType.INTERVENTION_STARTED,
        occurred_at=NOW,
        tenant_id=tenant_id,
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


def test_a_churn_alert_goes_to_the_csm_who_holds_the_accountscustomer_handoff() -> None:
    # Given an account whose customer handoff Emma (a CSM of the routing file) accepted
    handoffs = InMemoryHandoffRepository()
    accepted = customer_handoff("acct-1", "csm-emma-johansson", HandoffStatus.ACCEPTED)
    handoffs.commit(HandoffChange(accepted, lead_lock=LeadLock.CLAIM, onboarded=True))
    csm = account_csm("acct-1", HandoffStoreCsms(handoffs), ROUTING)
    assert csm == Csm("csm-emma-johansson", "Emma Johansson", "emma.johansson@example.com", "U0EXAMPLE17")

    # When its churn intervention starts
    alerts = intervention_alerts(_churn_start("acct-1"), MODEL, "kestrel-labs.io", "https://hub.example", csm)

    # Then the playbook's channel is told, naming her, and she gets a direct message and the email too
    assert [message.channel for message in alerts.slack] == ["#cs-alerts", "U0EXAMPLE17"]
    channel, direct = alerts.slack
    assert "<@U0EXAMPLE17>" in str(channel.blocks)
    assert "Save call with kestrel-labs.io" in direct.text
    assert "CSM: Emma Johansson" in direct.text
    assert alerts.email is not None
    assert alerts.email.to == ("emma.johansson@example.com", "cs-leads@example.com")
    assert "CSM: Emma Johansson" in alerts.email.text


def test_a_churn_alert_of_an_account_without_a_csm_says_none_is_assigned() -> None:
    # Given an account whose customer handoff waits in a queue, and one with none at all
    handoffs = InMemoryHandoffRepository()
    handoffs.commit(HandoffChange(customer_handoff("acct-2", None, HandoffStatus.QUEUED), lead_lock=LeadLock.CLAIM))
    for tenant_id in ("acct-2", "acct-3"):
        csm = account_csm(tenant_id, HandoffStoreCsms(handoffs), ROUTING)
        assert csm is None

        # When its churn intervention starts
        alerts = intervention_alerts(_churn_start(tenant_id), MODEL, "kestrel-labs.io", "https://hub.example", csm)

        # Then only the playbook's channel and addresses are told, and they read that no CSM is assigned
        assert [message.channel for message in alerts.slack] == ["#cs-alerts"]
        assert "CSM: none assigned" in alerts.slack[0].text
        assert alerts.email is not None
        assert alerts.email.to == ("cs-leads@example.com",)
        assert "CSM: none assigned" in alerts.email.text


def test_the_csm_is_the_one_who_onboarded_the_account_else_the_one_its_open_handoff_is_assigned_to() -> None:
    handoffs = InMemoryHandoffRepository()
    csms = HandoffStoreCsms(handoffs)
    # assigned, not accepted yet: the assignee
    handoffs.commit(
        HandoffChange(customer_handoff("acct-4", "csm-grace-lee", HandoffStatus.ASSIGNED), lead_lock=LeadLock.CLAIM)
    )
    assert csms.csm_of("acct-4") == "csm-grace-lee"
    # onboarded by Carlos (completed since), a later handoff of another deal assigned to Grace: Carlos
    done = customer_handoff("acct-5", "csm-carlos-mendez", HandoffStatus.COMPLETED)
    handoffs.commit(HandoffChange(done, onboarded=True))
    later = customer_handoff("acct-5", "csm-grace-lee", HandoffStatus.ASSIGNED, number=2)
    handoffs.commit(HandoffChange(later, lead_lock=LeadLock.CLAIM))
    assert csms.csm_of("acct-5") == "csm-carlos-mendez"
    # a rep no longer in the routing file is still the CSM, without a Slack id or an email
    assert account_csm("acct-6", InMemoryAccountCsms({"acct-6": "csm-gone"}), ROUTING) == Csm("csm-gone")
