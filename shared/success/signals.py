"""The signals an account's health is computed from, read from canonical events: usage reports, support tickets
opened and solved, NPS and CSAT answers, payments that succeed or fail, subscription changes, CSM touches and
the engagements that may be the executive sponsor's (`sponsor_engagement_kinds`, by email); and Segment `track`
calls of product use (`product_track_events`), each one event of the feature named as the event. Two come from
the hub itself (`shared.success.onboarding`): the success plan a customer handoff started and the completion of
one of its milestones; and the health service writes `carried` signals, copies of the old signals that still say
something, so that a bounded read of the log still sees them (`shared.success.carry`).

A signal is what one event says, kept as it was said (the log is the source of truth; health is recomputed from
it). Which account it belongs to is resolved outside (the subject's account, else its contact's): this module
only reads events. Values are integers or text, never floats."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from shared.catalog.success import SEGMENT_VENDORS
from shared.errors import InvalidInput
from shared.events.canonical import CanonicalEvent, EngagementKind, EventType
from shared.leads.identity import normalize_email
from shared.success.model import HealthModel

MAX_FEATURES = 200  # per usage report: a feature map larger than this is refused (it is one account's product)


# An engagement not (yet) by the executive sponsor of its account's plan is parked under `unlinked:engaged:<email>`
# (its account in its values' `account_id`), out of the account's log, until a plan names that email its sponsor
ENGAGED_PARKING = "engaged:"


def engaged_parking(email: str) -> str:
    """Where the engagements by `email` wait for a plan naming them its sponsor (after `unlinked:`)."""
    return f"{ENGAGED_PARKING}{email}"


class SignalKind(StrEnum):
    USAGE = "usage"
    TICKET_OPENED = "ticket_opened"
    TICKET_SOLVED = "ticket_solved"
    NPS = "nps"
    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    SUBSCRIPTION = "subscription"
    TOUCH = "touch"
    CSAT = "csat"  # a survey with a CSAT answer and no NPS one (a survey with both is an `nps` signal with both)
    ENGAGED = "engaged"  # an engagement of `sponsor_engagement_kinds` (not a touch), with the person's email
    SUCCESS_PLAN = "success_plan"
    MILESTONE_COMPLETED = "milestone_completed"
    CARRIED = "carried"  # copies of older signals that still say something (`shared.success.carry`), no event's
    FEATURE_REQUESTED = "feature_requested"  # product feedback asking for a feature: its `feature` only, no words


@dataclass(frozen=True)
class Signal:
    """One thing that happened to an account, at `at` (UTC). `signal_id` is the event's id: a signal is kept once."""

    signal_id: str
    kind: SignalKind
    at: datetime
    values: Mapping[str, Any] = field(default_factory=dict)


def signal_of(event: CanonicalEvent, model: HealthModel) -> Signal | None:
    """The signal an event is, or None when it says nothing health reads (a survey without an NPS answer, an
    engagement that is not a CSM touch). A value health cannot read (a negative seat count) is InvalidInput."""
    at = event.occurred_at.astimezone(UTC)
    values = _values(event, model)
    if values is None:
        return None
    kind, read = values
    return Signal(event.event_id, kind, at, read)


def _values(event: CanonicalEvent, model: HealthModel) -> tuple[SignalKind, dict[str, Any]] | None:
    data = event.data
    match event.event_type:
        case EventType.PRODUCT_USAGE_REPORTED:
            metrics = data.get("metrics")
            return SignalKind.USAGE, usage_values(metrics if isinstance(metrics, Mapping) else data)
        case EventType.SUPPORT_TICKET_OPENED:
            priority = data.get("priority")
            return SignalKind.TICKET_OPENED, {
                "ticket_id": _ticket_id(event),
                "priority": priority.strip().lower() if isinstance(priority, str) else None,
            }
        case EventType.SUPPORT_TICKET_SOLVED:
            return SignalKind.TICKET_SOLVED, {"ticket_id": _ticket_id(event)}
        case EventType.SURVEY_RESPONDED:
            nps, csat = nps_answer(data, model), csat_answer(data, model)
            if nps is not None:
                return SignalKind.NPS, {"nps": nps} | ({"csat": csat} if csat is not None else {})
            return (SignalKind.CSAT, {"csat": csat}) if csat is not None else None
        case EventType.PAYMENT_SUCCEEDED | EventType.PAYMENT_FAILED:
            paid = event.event_type is EventType.PAYMENT_SUCCEEDED
            payment = SignalKind.PAYMENT_SUCCEEDED if paid else SignalKind.PAYMENT_FAILED
            minor, code = data.get("amount_minor"), data.get("currency")
            amount = minor if isinstance(minor, int) and not isinstance(minor, bool) and minor >= 0 else None
            return payment, {
                # the payment it is (`shared.success.payments`): its invoice, else its payment intent (one
                # payment's charge and intent name the same), else the object it came on
                "invoice_id": _text(data.get("invoice_id"))
                or _text(data.get("payment_intent_id"))
                or _text(data.get("object_id")),
                "amount_minor": amount,
                "currency": code.strip().upper()[:3] if isinstance(code, str) and amount is not None else None,
            }
        case EventType.SUBSCRIPTION_CHANGED:
            return SignalKind.SUBSCRIPTION, {
                "subscription_id": _text(data.get("subscription_id")),
                "status": (_text(data.get("status")) or "").lower() or None,
                "change": _text(data.get("change")),
                "quantity": _quantity(data.get("items")),
                "renews_at": _epoch(data.get("current_period_end")),
            }
        case EventType.ENGAGEMENT_RECORDED:
            engagement = data.get("kind")
            name = _text(data.get("name"))
            if (
                engagement == EngagementKind.TRACK.value
                and event.source_vendor in SEGMENT_VENDORS
                and name is not None
                and _text(data.get("user_id"))  # product use is a signed-in user's, never an anonymous visitor's
                and model.is_product_track(name)
            ):
                # one event of the feature: feature adoption counts it; it says nothing of active users or seats
                return SignalKind.USAGE, {"features": {name[:100]: 1}}
            email = normalize_email(event.subject.email)
            said = {"email": email} if email else {}  # who engaged: the executive sponsor, perhaps
            if engagement in {k.value for k in model.touch_kinds}:
                return SignalKind.TOUCH, {"kind": EngagementKind(engagement).value} | said
            if engagement in {k.value for k in model.sponsor_engagement_kinds} and email:
                return SignalKind.ENGAGED, {"kind": EngagementKind(engagement).value} | said
            return None
        case _:
            return None


def segment_group(event: CanonicalEvent) -> str | None:
    """The account a Segment call names by its `context.groupId` (the normalizer's `data.group_id`), qualified as
    the `group` call's account is (`segment:<groupId>`, from both Segment routes); None for any other event."""
    if event.event_type is not EventType.ENGAGEMENT_RECORDED or event.source_vendor not in SEGMENT_VENDORS:
        return None
    group = _text(event.data.get("group_id"))
    return f"segment:{group}" if group else None


def usage_values(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """A usage report's metrics as health keeps them; InvalidInput naming the metric that is not a count."""
    read: dict[str, Any] = {}
    for name in ("active_users", "licensed_seats", "api_calls"):
        value = metrics.get(name)
        if value is not None:
            read[name] = _count(value, f"metrics.{name}")
    if read.get("licensed_seats") == 0:  # seat utilization is active users over seats: no seats is no report of it
        raise InvalidInput("metrics.licensed_seats: at least 1 seat when given, not 0")
    features = metrics.get("features")
    if features is not None:
        if not isinstance(features, Mapping):
            raise InvalidInput("metrics.features: an object of feature -> events, not " + type(features).__name__)
        if len(features) > MAX_FEATURES:
            raise InvalidInput(f"metrics.features: at most {MAX_FEATURES} features per report, not {len(features)}")
        read["features"] = {
            str(name)[:100]: _count(events, f"metrics.features.{name}") for name, events in features.items()
        }
    return read


def nps_answer(data: Mapping[str, Any], model: HealthModel) -> int | None:
    return _scale_answer(data, model.nps_answer_refs, 10)


def csat_answer(data: Mapping[str, Any], model: HealthModel) -> int | None:
    return _scale_answer(data, model.csat_answer_refs, model.csat_max)


def _scale_answer(data: Mapping[str, Any], refs: Sequence[str], top: int) -> int | None:
    """The first of the answers (by field ref) that is an integer from 0 to `top` (or its digits)."""
    answers = data.get("answers")
    if not isinstance(answers, Mapping):
        return None
    for ref in refs:
        value = answers.get(ref)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= top:
            return value
        if isinstance(value, str) and value.strip().isdigit() and int(value) <= top:
            return int(value)
    return None


def _count(value: object, field_path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 10**12:
        raise InvalidInput(f"{field_path}: a count is an integer from 0 to 10^12, not {value!r}")
    return value


def _ticket_id(event: CanonicalEvent) -> str:
    data = event.data
    ticket = _text(data.get("ticket_id")) or _text(data.get("id")) or event.vendor_event_id or event.event_id
    return f"{event.source_vendor}:{ticket}"


def _quantity(items: object) -> int | None:
    if not isinstance(items, list):
        return None
    quantities = [i.get("quantity") for i in items if isinstance(i, dict)]
    counted = [q for q in quantities if isinstance(q, int) and not isinstance(q, bool) and q >= 0]
    return sum(counted) if counted else None


def _epoch(value: object) -> int | None:
    """A Unix time in seconds (Stripe's `current_period_end`), within years 2000-2100; anything else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 946_684_800 <= value <= 4_102_444_800:
        return value
    return None


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()[:200]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
