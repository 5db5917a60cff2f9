"""A Slack Accept / Reject click, as the webhook gateway publishes it (canonical `handoff.accepted` /
`handoff.rejected` whose `data` carries the button's value), applied to its handoff. The clicker is matched
to a rep by their Slack user id; a manager may act on any handoff of the hub.

Only a click the Slack vendor delivered is one: its signature proves Slack sent it, and so who clicked. Another
vendor's canonical `handoff.accepted` / `handoff.rejected` (a Standard Webhooks sender may publish any type)
proves nothing about the Slack user its data names, so it is ignored with a note, never retried. The bus rule
takes Slack's clicks only; this check is the second line, for a rule changed or an event redriven by hand.

A click is applied once, and only to the assignment its message was about:

- its `event_id` is recorded with what it did (the acceptance, the rejection): the same click delivered again
  (the bus delivers at least once; a redrive) is a no-op, noted `already applied`;
- the buttons carry the assignment (`assignment`: the handoff's reassignment count, `assignee`: its rep) the
  message was about: a click on a message of an earlier assignment (a manager's Reject on the first rep's
  message after the handoff went to another) is not applied to the current one, with a note saying so;
- a button sent before buttons carried the assignment (no `assignment`) is applied to the current assignment, as
  it always was: a rep's click acts only while they are the assignee (a rep it was taken from is told it moved
  on), a manager's acts on whoever holds it now. Such messages are at most as old as the deploy that added it."""

from __future__ import annotations

from typing import Any

from shared.events.canonical import CanonicalEvent, EventType
from shared.handoffs.event_details import detail_of
from shared.handoffs.model import AssignmentRef, Role
from shared.handoffs.service import Actor, HandoffNotFound, HandoffService, NotAllowed, Outcome, WrongState

CLICK_VENDOR = "slack"  # the webhook vendor whose signed interactions carry the clicks (`source_vendor`)


def apply_click(service: HandoffService, event: dict[str, Any]) -> Outcome:
    click = detail_of(CanonicalEvent, event, "a canonical event")
    if click.source_vendor != CLICK_VENDOR:
        return Outcome(
            None,
            note=f"{click.event_type.value} from vendor {click.source_vendor!r}, not from Slack: not a click, ignored",
        )
    handoff_id = click.data.get("handoff_id")
    if not isinstance(handoff_id, str) or not handoff_id:
        return Outcome(None, note=f"{click.event_type.value} without a hub handoff id: not ours")
    actor = _actor(service, click.data)
    about = _about(click.data)
    try:
        if click.event_type is EventType.HANDOFF_ACCEPTED:
            return service.accept(handoff_id, actor, click.event_id, about)
        return service.reject(handoff_id, actor, "rejected in Slack", cause_event_id=click.event_id, about=about)
    except (HandoffNotFound, NotAllowed, WrongState) as exc:
        return Outcome(None, note=f"click not applied: {exc}")


def _about(data: dict[str, Any]) -> AssignmentRef | None:
    """The assignment the clicked message was about (`notifications.button_value`); None for a button sent
    before buttons said it (or one not well formed): the click is about the current assignment."""
    number, assignee = data.get("assignment"), data.get("assignee")
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        return None
    return AssignmentRef(number, assignee if isinstance(assignee, str) and assignee else None)


def _actor(service: HandoffService, data: dict[str, Any]) -> Actor:
    slack_user = data.get("slack_user_id")
    rep = service.router.rep_by_slack_user(slack_user) if isinstance(slack_user, str) else None
    name = str(data.get("slack_user_name") or slack_user or "unknown Slack user")
    if rep is None:
        return Actor(name=name)
    return Actor(name=rep.name, rep_id=rep.rep_id, is_manager=rep.role is Role.MANAGER)
