"""Who is told what of a handoff's events, from the service's own events: whoever must accept (a rep, a CSM, the
manager a handoff is escalated to) gets Accept / Reject, once per event; a rep it moved on from is told so."""

from __future__ import annotations

import pytest

from shared.events.handoff_events import HandoffEventType
from shared.handoffs.customer_handoffs import CustomerHandoffRequest
from shared.handoffs.model import Handoff, HandoffStatus, Priority
from shared.handoffs.notices import brief_of, notices_for
from shared.handoffs.notifications import HandoffNotice, NoticePurpose, slack_message
from shared.handoffs.ports import TimerKind
from shared.handoffs.service import NotAllowed, WrongState
from shared.handoffs.transition_events import events_of
from tests.unit.test_handoff_service import ROUTER, World, as_rep, new_world


def _notices(handoff: Handoff, event_type: HandoffEventType) -> list[HandoffNotice]:
    [event] = [event for event in events_of(handoff) if event.event_type is event_type][-1:]
    return notices_for(event, handoff, ROUTER, brief_of(None, handoff.lead_id, [], []), "https://hub.example")


def _has_buttons(notice: HandoffNotice) -> bool:
    return any(block["type"] == "actions" for block in slack_message(notice).blocks)


def _escalated(world: World, handoff: Handoff) -> Handoff:
    """Rejected by each assignee in turn until it is escalated to the team's manager."""
    for _ in range(6):
        current = world.repository.handoff(handoff.handoff_id)
        assert current is not None
        if current.strategy == "escalation":
            return current
        world.service.reject(handoff.handoff_id, as_rep(current.rep_id or ""), "not mine")
    raise AssertionError("never escalated")


def test_the_csm_handed_a_new_customer_gets_accept_and_reject() -> None:
    # Given a won customer handed to a CSM, who must accept it (an accept deadline and reminders run)
    world = new_world()
    handoff = world.service.customer_handoff(CustomerHandoffRequest(customer_id="acct-1", deal_id="deal-1"), "sales")
    customer = handoff.handoff
    assert customer is not None
    assert {TimerKind.SLA_ACCEPT, TimerKind.REMINDER} <= {t.kind for t in world.timers_of(customer.handoff_id)}
    # When the CSM is told
    [to_csm] = _notices(customer, HandoffEventType.ASSIGNED)
    # Then their message is the new customer's, with Accept / Reject, saying when to accept by
    assert (to_csm.purpose, to_csm.recipient.rep_id) == (NoticePurpose.CUSTOMER_HANDOFF, customer.rep_id)
    assert _has_buttons(to_csm)
    assert "Accept it by" in slack_message(to_csm).blocks[1]["text"]["text"]


@pytest.mark.parametrize("kind", ["lead", "customer"])
def test_an_escalation_tells_the_manager_once_with_accept_and_reject(kind: str) -> None:
    # Given a lead (or a customer) handoff every assignee rejected until it was escalated to the manager
    world = new_world()
    if kind == "lead":
        opened = world.service.request(world.lead("lead-1"), Priority.PRIORITY, "demo_request", "c-1").handoff
    else:
        request = CustomerHandoffRequest(customer_id="acct-2", deal_id="deal-9")
        opened = world.service.customer_handoff(request, "sales").handoff
    assert opened is not None
    escalated = _escalated(world, opened)
    # When the escalation's notices are made
    notices = _notices(escalated, HandoffEventType.ESCALATED)
    # Then the manager gets one message (one Slack message, one email), the escalation, with Accept / Reject
    assert [(n.purpose, n.recipient.rep_id) for n in notices] == [(NoticePurpose.ESCALATED, escalated.rep_id)]
    assert _has_buttons(notices[0])


def test_a_rep_the_handoff_moved_on_from_is_told_so_not_refused_as_a_stranger() -> None:
    # Given a handoff its first rep (A) rejected, now with B
    world = new_world()
    handoff = world.service.request(world.lead("lead-3"), Priority.PRIORITY, "demo_request", "c-3").handoff
    assert handoff is not None
    a = handoff.rep_id or ""
    world.service.reject(handoff.handoff_id, as_rep(a), "not mine")
    moved = world.repository.handoff(handoff.handoff_id)
    assert moved is not None
    # When A tries to accept or reject it, Then it has moved on (409), and nothing changes
    with pytest.raises(WrongState, match="moved on"):
        world.service.accept(handoff.handoff_id, as_rep(a))
    with pytest.raises(WrongState, match="moved on"):
        world.service.reject(handoff.handoff_id, as_rep(a), "really not mine")
    assert world.repository.handoff(handoff.handoff_id) == moved
    # And a rep who never had it is still refused (403)
    stranger = next(rep for rep in ROUTER.team("sdr-amer").members if rep not in (a, moved.rep_id))
    with pytest.raises(NotAllowed):
        world.service.accept(handoff.handoff_id, as_rep(stranger))
    assert moved.status is HandoffStatus.ASSIGNED
