"""Slack onto the taxonomy: a click on the hub's handoff buttons is handoff.accepted (Accept, `handoff_accept`)
or handoff.rejected (Reject, `handoff_reject`); every Events API callback, slash command and other interaction
is kept unmapped."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.webhooks.envelope import as_key_id
from shared.webhooks.model import VendorEvent
from shared.webhooks.normalizers.base import Obj, Payload, canonical, read
from shared.webhooks.payload import MalformedPayload, load_json
from shared.webhooks.vendor import DeliveryContext
from shared.webhooks.vendors.slack import Slack

SLACK = Slack.name
ACCEPT_ACTION = "handoff_accept"
REJECT_ACTION = "handoff_reject"
# The hub's handoff buttons (shared/handoffs/notifications.py writes them) and what a click on each is.
HANDOFF_ACTIONS = {ACCEPT_ACTION: EventType.HANDOFF_ACCEPTED, REJECT_ACTION: EventType.HANDOFF_REJECTED}


class Interaction(Payload):
    """A block_actions payload, as far as the hub reads it."""

    user: Obj = Field(default_factory=dict)
    channel: Obj = Field(default_factory=dict)
    container: Obj = Field(default_factory=dict)
    team: Obj = Field(default_factory=dict)


def normalize(event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
    action = _handoff_action(event)
    if action is None:
        return canonical(SLACK, event, context, EventType.VENDOR_UNMAPPED)
    fields = read(Interaction, event.payload)
    value = _json_or_raw(action.get("value"))
    user, channel, container = fields.user, fields.channel, fields.container
    # Slack's user goes under slack_* keys so a value field of the same name is never overwritten
    data = value | {
        "slack_user_id": user.get("id"),
        "slack_user_name": user.get("username") or user.get("name"),
        "slack_team_id": fields.team.get("id"),
        "channel_id": channel.get("id") or container.get("channel_id"),
        "message_ts": container.get("message_ts"),
        "action_ts": action.get("action_ts"),
    }
    lead_id = value.get("lead_id")
    # the button value is written by the hub, so a lead id in it is already "<vendor>:<id>"; one no lead can have
    # (too long to be a key, a control character) names no one
    is_lead_id = isinstance(lead_id, str) and ":" in lead_id and _is_key_id(lead_id)
    subject = Subject(contact_id=lead_id) if is_lead_id else Subject()
    return canonical(SLACK, event, context, HANDOFF_ACTIONS[action["action_id"]], subject, data)


def _is_key_id(value: str) -> bool:
    try:
        as_key_id(value)
    except ValueError:
        return False
    return True


def _handoff_action(event: VendorEvent) -> dict[str, Any] | None:
    if event.vendor_event_type != "block_actions":
        return None
    actions = event.payload.get("actions")
    for action in actions if isinstance(actions, list) else []:
        # a vendor's action_id may be anything JSON holds: only a string can be one of ours
        if (
            isinstance(action, dict)
            and isinstance(action.get("action_id"), str)
            and action["action_id"] in HANDOFF_ACTIONS
        ):
            return action
    return None


def _json_or_raw(value: object) -> dict[str, Any]:
    """A button's value: the hub writes JSON there (within the same bounds as any body), others may not."""
    if isinstance(value, str):
        try:
            parsed = load_json(value)
        except MalformedPayload:
            return {"value": value}
        return parsed if isinstance(parsed, dict) else {"value": parsed}
    return {"value": value}
