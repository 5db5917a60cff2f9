"""Who hears about a handoff transition, and what they are told (pure): the assignee on assignment and on each
reminder, the team's channel for urgent leads (seed 003 "sales_team_alert"), the team's manager when an SLA
is breached (the accept SLA: the handoff moved on; the first-touch SLA: it is still with its rep, the manager's
call; the manager of the team the breaching rep's assignment was in, told the deadline that was missed) or a
handoff is escalated to them (one message, with Accept / Reject: the escalation is their assignment). A
manager's own accept breach (of a handoff escalated to them) tells nobody: the bounded reminders that follow it
remind them. The notices to the one who must accept carry the assignment their event is about, so a click on
one after the handoff moved on is not applied to the next assignment."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from shared.events.handoff_events import HandoffEvent, HandoffEventType
from shared.handoffs.model import AssignmentRef, Handoff, HandoffKind, Priority, SlaKind
from shared.handoffs.notifications import HandoffNotice, LeadBrief, NoticePurpose, Recipient
from shared.handoffs.routing import Router
from shared.leads.model import Account, Contact

URGENT = frozenset({Priority.IMMEDIATE, Priority.PRIORITY})
# What the assignee is told first, by kind of handoff (a lead's is ASSIGNED)
_FIRST_NOTICE = {HandoffKind.CUSTOMER: NoticePurpose.CUSTOMER_HANDOFF, HandoffKind.EXPANSION: NoticePurpose.EXPANSION}
TOP_FACTORS = 5
RECENT_ENGAGEMENT = 5


def notices_for(
    event: HandoffEvent, handoff: Handoff, router: Router, lead: LeadBrief, hub_url: str
) -> list[HandoffNotice]:
    link = f"{hub_url.rstrip('/')}/api/v1/handoffs/{handoff.handoff_id}"
    kind = event.event_type
    notices: list[HandoffNotice] = []

    about = AssignmentRef(event.reassignments, event.rep_id)  # what the event's assignee is asked to accept

    def notice(
        purpose: NoticePurpose, recipient: Recipient, due_at: datetime | None = None, **extra: object
    ) -> HandoffNotice:
        return HandoffNotice(
            purpose=purpose,
            handoff=handoff,
            recipient=recipient,
            lead=lead,
            why=event.reason,
            link=link,
            due_at=due_at or event.sla_due_at,
            **extra,  # type: ignore[arg-type]
        )

    if kind is HandoffEventType.ESCALATED and event.rep_id:
        # one message to the manager: it is theirs now, with Accept / Reject (never a second "assigned" one)
        told = _rep(router, event.rep_id)
        notices.append(notice(NoticePurpose.ESCALATED, told, previous_rep=event.previous_rep_id, about=about))
    elif kind is HandoffEventType.ASSIGNED and event.rep_id:
        purpose = _FIRST_NOTICE.get(handoff.kind, NoticePurpose.ASSIGNED)
        notices.append(notice(purpose, _rep(router, event.rep_id), about=about))
        urgent = Priority(event.priority) in URGENT and event.previous_rep_id is None
        channel = router.team(event.team).slack_channel if event.team else None
        if urgent and channel:
            notices.append(notice(NoticePurpose.TEAM_ALERT, Recipient(None, event.team, None, None, channel)))
    elif kind is HandoffEventType.REMINDED and event.rep_id:
        notices.append(notice(NoticePurpose.REMINDER, _rep(router, event.rep_id), about=about))
    elif kind is HandoffEventType.SLA_BREACHED and event.sla == SlaKind.FIRST_TOUCH.value and event.team:
        told = _recipient(router.manager_of(event.team))
        notices.append(
            notice(NoticePurpose.FIRST_TOUCH_MISSED, told, event.first_touch_due_at, previous_rep=event.rep_id)
        )
    elif kind is HandoffEventType.SLA_BREACHED and event.team:
        manager = router.manager_of(event.team)
        if event.rep_id == manager.rep_id:  # their own breach of a handoff escalated to them: reminders follow
            return notices
        notices.append(notice(NoticePurpose.SLA_BREACHED, _recipient(manager), previous_rep=event.rep_id))
    return notices


def _rep(router: Router, rep_id: str) -> Recipient:
    return _recipient(router.rep(rep_id))


def _recipient(rep: object) -> Recipient:
    return Recipient(
        rep_id=getattr(rep, "rep_id", None),
        name=str(getattr(rep, "name", "")),
        email=getattr(rep, "email", None),
        slack_user_id=getattr(rep, "slack_user_id", None),
        slack_channel=None,
    )


def brief_of(
    contact: Contact | None,
    lead_id: str,
    factors: list[tuple[str, Decimal]],
    engagement: list[tuple[datetime, str]],
) -> LeadBrief:
    """What a notification says of the lead: who, where from, the score and what earned it, and what they did
    lately."""
    if contact is None:
        return LeadBrief(lead_id, None, None, None, None, None, Decimal(0), "unknown", (), ())
    profile = contact.profile
    name = " ".join(str(part) for part in (profile.get("first_name"), profile.get("last_name")) if part) or None
    score = contact.score
    return LeadBrief(
        lead_id=lead_id,
        name=name,
        email=contact.email,
        company=_text(profile.get("company")),
        job_title=_text(profile.get("job_title")),
        country=_text(profile.get("country")),
        score=Decimal(str(score.total)) if score else Decimal(0),
        stage=contact.stage.value,
        top_factors=tuple(sorted(factors, key=lambda factor: -factor[1])[:TOP_FACTORS]),
        recent_engagement=tuple(sorted(engagement, key=lambda item: item[0], reverse=True)[:RECENT_ENGAGEMENT]),
    )


def account_brief(account: Account | None, subject: str) -> LeadBrief:
    """What a notification says of the account a customer or expansion handoff is about: its name (else its
    domain, else the handoff's subject) and country."""
    if account is None:
        return brief_of(None, subject, [], [])
    values = account.profile.values
    name = _text(values.get("company")) or _text(values.get("name")) or account.domain
    return LeadBrief(subject, name, None, None, None, _text(values.get("country")), Decimal(0), "customer")


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None
