"""What the hub tells people about a handoff, and how it reads in Slack (Block Kit) and in an email.

Pure: the messages are plain data (no slack_sdk, no boto3). `SlackChatPoster` (shared/adapters/slack_notifier.py)
posts a `SlackMessage`, `SesEmailSender` (shared/adapters/ses_notifier.py) sends an `EmailMessage`. The block
shapes are held to slack_sdk's Block Kit models by tests/unit/test_handoff_notifications.py.

Slack's limits are kept by clipping long values (a header of 150 characters, a section's text of 3000, a field
of 2000, a button value of 2000, 50 blocks). Whatever a lead or a vendor wrote (names, companies, what they did)
is escaped: `&`, `<` and `>` in Slack's mrkdwn, so a lead named `<!channel>` notifies nobody, and every value
with `html.escape` in the email's HTML. Line breaks and runs of spaces in a value are folded to one space, so no
value can start a line of its own or a header of its own.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from shared.handoffs.model import AssignmentRef, Handoff, HandoffKind, Priority
from shared.slack_text import clip as _clip
from shared.slack_text import fit as _fit
from shared.slack_text import mrkdwn as _mrkdwn
from shared.slack_text import one_line as _line

# The `action_id`s of the buttons: the Slack normalizer (shared/webhooks/normalizers/slack.py) turns a click on
# them into canonical handoff.accepted / handoff.rejected.
ACCEPT_ACTION = "handoff_accept"
REJECT_ACTION = "handoff_reject"
ACTIONS_BLOCK_ID = "handoff_actions"
METADATA_EVENT_TYPE = "revops_handoff_notice"

# Slack's limits (https://docs.slack.dev/reference/block-kit/blocks).
MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_SECTION_TEXT = 3000
MAX_FIELD = 2000
MAX_FIELDS = 10
MAX_CONTEXT_TEXT = 2000
MAX_BUTTON_VALUE = 2000
MAX_FALLBACK_TEXT = 3000  # chat.postMessage takes 40,000; what a push notification shows is far shorter

# How much of each value is shown, before escaping.
MAX_VALUE = 200  # a name, company, job title, email, stage, rep, link
MAX_WHY = 500
MAX_LINE = 300  # a score factor, an engagement, a customer handoff detail
MAX_SUBJECT = 250
MAX_LINK = 1000  # a longer link is shown (clipped), not linked: a clipped URL would lead nowhere
SHOWN_FACTORS = 5
SHOWN_ENGAGEMENTS = 5
SHOWN_DETAILS = 8

_LINK = re.compile(r"https?://[^\s<>|\"']+")


class NoticePurpose(StrEnum):
    ASSIGNED = "assigned"  # to the assignee
    TEAM_ALERT = "team_alert"  # to the team channel, for priority and immediate handoffs (seed "sales_team_alert")
    REMINDER = "reminder"  # to the assignee: not accepted yet
    SLA_BREACHED = "sla_breached"  # to the team manager: the rep did not accept in time, now with another
    FIRST_TOUCH_MISSED = "first_touch_missed"  # to the team manager: the rep has the lead and did not touch it in time
    ESCALATED = "escalated"  # to the manager: reassigned too many times, now theirs
    CUSTOMER_HANDOFF = "customer_handoff"  # to the CSM: a won customer handed to customer success
    EXPANSION = "expansion"  # to the AE (the account's owner first): an account ready to expand


# The purposes whose message lists the handoff's details (the customer's stakeholders and goals; the expansion
# evidence and the products its use suggests).
WITH_DETAILS = frozenset({NoticePurpose.CUSTOMER_HANDOFF, NoticePurpose.EXPANSION})


# The purposes whose message carries Accept / Reject buttons: the recipient is the one who must accept (the
# assignee of a lead, a new customer or an expansion; reminded; the manager a handoff was escalated to).
ACTIONABLE = frozenset(
    {
        NoticePurpose.ASSIGNED,
        NoticePurpose.REMINDER,
        NoticePurpose.CUSTOMER_HANDOFF,
        NoticePurpose.EXPANSION,
        NoticePurpose.ESCALATED,
    }
)


class NoAddress(ValueError):
    """The recipient has no address on that channel (no Slack user or channel, no email)."""


@dataclass(frozen=True)
class Recipient:
    rep_id: str | None
    name: str
    email: str | None
    slack_user_id: str | None
    slack_channel: str | None  # a channel, for team alerts


@dataclass(frozen=True)
class LeadBrief:
    """Who the lead (or new customer) is, as the message shows it."""

    lead_id: str
    name: str | None
    email: str | None
    company: str | None
    job_title: str | None
    country: str | None
    score: Decimal
    stage: str
    top_factors: tuple[tuple[str, Decimal], ...] = ()  # (label, points), the biggest first
    recent_engagement: tuple[tuple[datetime, str], ...] = ()  # (when, what); the newest are shown


@dataclass(frozen=True)
class HandoffNotice:
    purpose: NoticePurpose
    handoff: Handoff
    recipient: Recipient
    lead: LeadBrief
    why: str  # why now, e.g. "requested a demo"
    link: str  # the handoff in the hub's API
    previous_rep: str | None = None  # sla_breached, escalated: who had it; first_touch_missed: who has it
    due_at: datetime | None = None  # when it must be accepted (first touched) by; the handoff's SLA when None
    # the assignment the notice is about (its event's), which its buttons carry; the handoff's current when None
    about: AssignmentRef | None = None


@dataclass(frozen=True)
class SlackMessage:
    channel: str  # a user id (a direct message from the app) or a channel id
    text: str  # the fallback: notifications and clients that show no blocks
    blocks: tuple[dict[str, Any], ...]  # Block Kit
    metadata: dict[str, Any] | None = None  # Slack message metadata: which handoff the message is about


@dataclass(frozen=True)
class EmailMessage:
    to: tuple[str, ...]
    subject: str
    text: str
    html: str


# Addresses ---------------------------------------------------------------------------------------------------


def slack_channel(notice: HandoffNotice) -> str | None:
    """Where the notice goes in Slack: the team channel for a team alert (else the person), the person
    otherwise (else their channel); None when the recipient has neither."""
    recipient = notice.recipient
    if notice.purpose is NoticePurpose.TEAM_ALERT:
        return recipient.slack_channel or recipient.slack_user_id
    return recipient.slack_user_id or recipient.slack_channel


# Slack -------------------------------------------------------------------------------------------------------


def slack_message(notice: HandoffNotice) -> SlackMessage:
    """The notice as a Slack message: who the lead is, why now, score and top factors, recent engagement, the
    SLA; for the one who must accept (`ACTIONABLE`) Accept and Reject buttons carrying the handoff's id and the
    assignment the notice is about."""
    channel = slack_channel(notice)
    if channel is None:
        raise NoAddress(f"{notice.recipient.name} has no Slack user id nor channel")
    lead, handoff = notice.lead, notice.handoff
    due = _due(notice)
    facts = _facts(notice, _mrkdwn, _slack_date)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(_clip(_title(notice), MAX_HEADER))},
        _section(
            _with_why(_intro(notice, _mrkdwn, _slack_date, _bold), _mrkdwn(_clip(notice.why, MAX_WHY))),
            [_mrkdwn_text(_fit(f"*{label}*\n{value}", MAX_FIELD)) for label, value in facts[:MAX_FIELDS]],
        ),
    ]
    if lead.top_factors:
        blocks.append(_section(_bullets("*Top score factors*", _factor_lines(lead, _mrkdwn))))
    if engagement := _engagement_lines(lead, _mrkdwn, _slack_date):
        blocks.append(_section(_bullets("*Recent engagement*", engagement)))
    if _lists_details(notice) and (details := _detail_lines(handoff, _mrkdwn)):
        blocks.append(_section(_bullets("*Handoff details*", details)))
    blocks.append(
        {"type": "context", "elements": [_mrkdwn_text(_fit(_slack_footer(notice), MAX_CONTEXT_TEXT))]},
    )
    if notice.purpose in ACTIONABLE:
        blocks.append(_actions(handoff, notice.about or AssignmentRef.of(handoff)))
    fallback = f"{_mrkdwn(_title(notice))}: {_mrkdwn(_clip(notice.why, MAX_WHY))}"
    if due is not None:
        fallback += f" ({'accept by' if notice.purpose in ACTIONABLE else 'SLA due'} {_utc_text(due)})"
    return SlackMessage(
        channel=channel,
        text=_fit(fallback, MAX_FALLBACK_TEXT),
        blocks=tuple(blocks[:MAX_BLOCKS]),
        metadata={
            "event_type": METADATA_EVENT_TYPE,
            "event_payload": {
                "handoff_id": handoff.handoff_id,
                "lead_id": handoff.lead_id,
                "purpose": notice.purpose.value,
                "priority": handoff.priority.value,
            },
        },
    )


def button_value(handoff: Handoff, about: AssignmentRef | None = None) -> str:
    """What the Accept and Reject buttons carry: compact JSON of the handoff, the assignment the message is about
    (`assignment`: its reassignment count, `assignee`: its rep; default the handoff's current one: a click on
    a message of an earlier assignment is not applied, see `shared.handoffs.clicks`) and its lead, within Slack's
    2000 characters (a lead id too long to fit is left out: the handoff id is what the click is applied to)."""
    about = about or AssignmentRef.of(handoff)
    ref = {"handoff_id": handoff.handoff_id, "assignment": about.number, "assignee": about.rep_id}
    value = json.dumps(ref | {"lead_id": handoff.lead_id}, separators=(",", ":"))
    if len(value) > MAX_BUTTON_VALUE:
        value = json.dumps(ref, separators=(",", ":"))
    if len(value) > MAX_BUTTON_VALUE:
        raise ValueError(f"a handoff id of {len(handoff.handoff_id)} characters does not fit a Slack button")
    return value


def _lists_details(notice: HandoffNotice) -> bool:
    """Whether the message lists the handoff's details: a customer's or an expansion's, to whoever must take it."""
    if notice.purpose is NoticePurpose.ESCALATED:
        return notice.handoff.kind is not HandoffKind.LEAD
    return notice.purpose in WITH_DETAILS


def _actions(handoff: Handoff, about: AssignmentRef) -> dict[str, Any]:
    value = button_value(handoff, about)
    return {
        "type": "actions",
        "block_id": ACTIONS_BLOCK_ID,
        "elements": [
            {
                "type": "button",
                "action_id": ACCEPT_ACTION,
                "text": _plain("Accept"),
                "style": "primary",
                "value": value,
            },
            {
                "type": "button",
                "action_id": REJECT_ACTION,
                "text": _plain("Reject"),
                "style": "danger",
                "value": value,
                "confirm": {
                    "title": _plain("Reject this handoff?"),
                    "text": _plain("It goes to the next eligible rep, and you will not be offered it again."),
                    "confirm": _plain("Reject"),
                    "deny": _plain("Keep it"),
                    "style": "danger",
                },
            },
        ],
    }


def _section(text: str, fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": _mrkdwn_text(_fit(text, MAX_SECTION_TEXT))}
    if fields:
        block["fields"] = fields
    return block


def _slack_footer(notice: HandoffNotice) -> str:
    handoff = notice.handoff
    parts = [f"Handoff `{_mrkdwn(_clip(handoff.handoff_id, MAX_VALUE))}`", f"team {_mrkdwn(_clip(handoff.team, 80))}"]
    link = notice.link
    parts.append(
        f"<{link.replace('&', '&amp;')}|Open in the hub>" if _linkable(link) else _mrkdwn(_clip(link, MAX_LINK))
    )
    return " · ".join(parts)


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _mrkdwn_text(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _bold(text: str) -> str:
    return f"*{text}*"


def _slack_date(moment: datetime) -> str:
    """A time each reader sees in their own time zone, UTC where the client cannot."""
    return f"<!date^{int(_utc(moment).timestamp())}^{{date_short_pretty}} at {{time}}|{_utc_text(moment)}>"


def _with_why(intro: str, why: str) -> str:
    """The intro and why now, each given room in one section's text (neither pushes the other out)."""
    intro = _fit(intro, MAX_SECTION_TEXT // 2)
    label = "\n*Why now:* "
    return intro + label + _fit(why, MAX_SECTION_TEXT - len(intro) - len(label))


def _bullets(title: str, lines: list[str]) -> str:
    """A titled list, every line given an equal share of a section's text, so each is shown."""
    share = (MAX_SECTION_TEXT - len(title)) // max(len(lines), 1) - len("\n• ")
    return "\n".join([title, *(f"• {_fit(line, share)}" for line in lines)])


# Email -------------------------------------------------------------------------------------------------------


def email_message(notice: HandoffNotice) -> EmailMessage:
    """The notice as an email: a subject that says who and why, and the same content as plain text and as HTML
    (every value escaped)."""
    email = notice.recipient.email
    if not email:
        raise NoAddress(f"{notice.recipient.name} has no email address")
    return EmailMessage(
        to=(email,),
        subject=_subject(notice),
        text=_email_text(notice),
        html=_email_html(notice),
    )


def _subject(notice: HandoffNotice) -> str:
    why = _clip(notice.why, MAX_WHY)
    who = _who(notice.lead)
    handoff = notice.handoff
    noun = _noun(handoff)
    subjects = {
        NoticePurpose.ASSIGNED: f"New {noun}: {who} — {why}",
        NoticePurpose.TEAM_ALERT: f"Team alert: {who} — {why}",
        NoticePurpose.REMINDER: f"Reminder: {who} is waiting for you — {why}",
        NoticePurpose.SLA_BREACHED: f"SLA missed: {who} reassigned to {_now_with(handoff)}",
        NoticePurpose.FIRST_TOUCH_MISSED: f"First touch missed: {who}, still with {_now_with(handoff)}",
        NoticePurpose.ESCALATED: f"Escalated to you: {who} after {handoff.reassignments} reassignments",
        NoticePurpose.CUSTOMER_HANDOFF: f"New customer: {who} — {why}",
        NoticePurpose.EXPANSION: f"Ready to expand: {who} — {why}",
    }
    return _clip(f"{_priority_tag(handoff.priority)}{subjects[notice.purpose]}", MAX_SUBJECT)


def _email_text(notice: HandoffNotice) -> str:
    lead = notice.lead
    lines = [
        _title(notice),
        "",
        _intro(notice, _line, _utc_text, str),
        "",
        f"Why now: {_clip(notice.why, MAX_WHY)}",
        *(f"{label}: {value}" for label, value in _facts(notice, _line, _utc_text, separator=", ")),
    ]
    if lead.top_factors:
        lines += ["", "Top score factors:", *(f"  - {line}" for line in _factor_lines(lead, _line))]
    if engagement := _engagement_lines(lead, _line, _utc_text):
        lines += ["", "Recent engagement:", *(f"  - {line}" for line in engagement)]
    if _lists_details(notice) and (details := _detail_lines(notice.handoff, _line)):
        lines += ["", "Handoff details:", *(f"  - {line}" for line in details)]
    lines += [
        "",
        f"Open the handoff: {_clip(notice.link, MAX_LINK)}",
        f"Handoff {_clip(notice.handoff.handoff_id, MAX_VALUE)}, team {_clip(notice.handoff.team, MAX_VALUE)}",
    ]
    return "\n".join(lines) + "\n"


def _email_html(notice: HandoffNotice) -> str:
    lead, handoff = notice.lead, notice.handoff
    esc = _html
    rows = "".join(
        f'<tr><th align="left" valign="top" style="padding:2px 12px 2px 0">{esc(label)}</th><td>{value}</td></tr>'
        for label, value in [
            ("Why now", esc(_clip(notice.why, MAX_WHY))),
            *_facts(notice, esc, lambda moment: esc(_utc_text(moment)), separator="<br>"),
        ]
    )
    parts = [
        "<!DOCTYPE html>",
        '<html><body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#1d1c1d">',
        f"<h2>{esc(_title(notice))}</h2>",
        f"<p>{_intro(notice, esc, lambda moment: esc(_utc_text(moment)), _strong)}</p>",
        f"<table>{rows}</table>",
    ]
    if lead.top_factors:
        parts.append(_html_list("Top score factors", _factor_lines(lead, esc)))
    if engagement := _engagement_lines(lead, esc, lambda moment: esc(_utc_text(moment))):
        parts.append(_html_list("Recent engagement", engagement))
    if _lists_details(notice) and (details := _detail_lines(handoff, esc)):
        parts.append(_html_list("Handoff details", details))
    link = notice.link
    opened = f'<a href="{esc(link)}">Open the handoff</a>' if _linkable(link) else esc(_clip(link, MAX_LINK))
    parts += [
        f"<p>{opened}</p>",
        f'<p style="color:#616061;font-size:12px">Handoff {esc(_clip(handoff.handoff_id, MAX_VALUE))}, '
        f"team {esc(_clip(handoff.team, MAX_VALUE))}</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _html(value: str) -> str:
    return html.escape(_line(value), quote=True)


def _strong(text: str) -> str:
    return f"<strong>{text}</strong>"


def _html_list(title: str, items: list[str]) -> str:
    return f"<h3>{html.escape(title)}</h3><ul>{''.join(f'<li>{item}</li>' for item in items)}</ul>"


# Content shared by both --------------------------------------------------------------------------------------

Escape = Callable[[str], str]
DateFormat = Callable[[datetime], str]


def _title(notice: HandoffNotice) -> str:
    """One line: the priority (when above standard), what happened, who. Plain text (a header, a subject)."""
    who = _who(notice.lead)
    noun = _noun(notice.handoff)
    titles = {
        NoticePurpose.ASSIGNED: f"New {noun}: {who}",
        NoticePurpose.TEAM_ALERT: f"New {noun} for {_clip(notice.handoff.team, MAX_VALUE)}: {who}",
        NoticePurpose.REMINDER: f"Waiting for you: {who}",
        NoticePurpose.SLA_BREACHED: f"SLA missed: {who}",
        NoticePurpose.FIRST_TOUCH_MISSED: f"First touch missed: {who}",
        NoticePurpose.ESCALATED: f"Escalated to you: {who}",
        NoticePurpose.CUSTOMER_HANDOFF: f"New customer: {who}",
        NoticePurpose.EXPANSION: f"Ready to expand: {who}",
    }
    return f"{_priority_tag(notice.handoff.priority)}{titles[notice.purpose]}"


def _intro(notice: HandoffNotice, esc: Escape, date: DateFormat, strong: Escape) -> str:
    """What happened and what the recipient is asked to do, in a sentence or two."""
    handoff = notice.handoff
    who = strong(esc(_who(notice.lead)))
    noun = _noun(handoff)
    due = _due(notice)
    accept_by = f" Accept it by {strong(date(due))}, or it goes to the next rep." if due is not None else ""
    deadline = f" ({strong(date(due))})" if due is not None else ""
    # the manager keeps a handoff escalated to them: a deadline they miss moves nothing (they are reminded)
    accept_escalated = f" Accept it by {strong(date(due))}." if due is not None else ""
    previous = esc(_clip(notice.previous_rep, MAX_VALUE)) if notice.previous_rep else "The assignee"
    sentences = {
        NoticePurpose.ASSIGNED: f"{who} was assigned to you, as {_a(handoff.priority)} {noun}." + accept_by,
        NoticePurpose.TEAM_ALERT: f"{who} came in as {_a(handoff.priority)} {noun} and is now with "
        f"{strong(esc(_now_with(handoff)))}.",
        NoticePurpose.REMINDER: f"{who} is still waiting for you to accept it." + accept_by,
        NoticePurpose.SLA_BREACHED: f"{previous} did not accept {who} in time: it is now with "
        f"{strong(esc(_now_with(handoff)))} (reassignment {handoff.reassignments}).",
        NoticePurpose.FIRST_TOUCH_MISSED: f"{previous} had not touched {who}, {_a(handoff.priority)} {noun}, by "
        f"the first-touch deadline{deadline}. It stays with them (nothing was reassigned): follow up with them.",
        NoticePurpose.ESCALATED: f"{who} was reassigned {handoff.reassignments} times without being accepted"
        + (f" (last with {previous})" if notice.previous_rep else "")
        + ": it is yours now."
        + accept_escalated,
        NoticePurpose.CUSTOMER_HANDOFF: f"{who} is a new customer, handed to you by sales." + accept_by,
        NoticePurpose.EXPANSION: f"{who} is ready to expand, handed to you by customer success." + accept_by,
    }
    return sentences[notice.purpose]


def _facts(notice: HandoffNotice, esc: Escape, date: DateFormat, separator: str = "\n") -> list[tuple[str, str]]:
    """(label, escaped value) of what is known of the lead and the handoff, in the order shown."""
    lead, handoff = notice.lead, notice.handoff
    person = [esc(_clip(v, MAX_VALUE)) for v in (lead.name, lead.email) if v] or [esc(_clip(lead.lead_id, MAX_VALUE))]
    facts = [(_noun(handoff).capitalize(), separator.join(person))]
    for label, value in (("Company", lead.company), ("Title", lead.job_title), ("Country", lead.country)):
        if value:
            facts.append((label, esc(_clip(value, MAX_VALUE))))
    if handoff.kind is HandoffKind.LEAD:  # an account's handoff has no lead score; its details say why
        facts.append(("Score", f"{_number(lead.score)} ({esc(_clip(lead.stage, MAX_VALUE))})"))
    facts.append(("Priority", _priority_word(handoff.priority).capitalize()))
    due = _due(notice)
    if due is not None and notice.purpose not in ACTIONABLE:  # the assignee's notices say it in the intro
        label = "First touch due" if notice.purpose is NoticePurpose.FIRST_TOUCH_MISSED else "SLA due"
        facts.append((label, date(due)))
    return facts


def _factor_lines(lead: LeadBrief, esc: Escape) -> list[str]:
    return [f"{esc(_clip(label, MAX_LINE))}: {_signed(points)}" for label, points in lead.top_factors[:SHOWN_FACTORS]]


def _engagement_lines(lead: LeadBrief, esc: Escape, date: DateFormat) -> list[str]:
    newest = sorted(lead.recent_engagement, key=lambda item: _utc(item[0]), reverse=True)[:SHOWN_ENGAGEMENTS]
    return [f"{date(when)}: {esc(_clip(what, MAX_LINE))}" for when, what in newest]


def _detail_lines(handoff: Handoff, esc: Escape) -> list[str]:
    """A customer or expansion handoff's details (stakeholders, goals, products; the evidence ...), a line each."""
    lines = []
    for key, value in list(handoff.details.items())[:SHOWN_DETAILS]:
        if value is None or value in ("", [], {}):
            continue
        if isinstance(value, list | tuple):
            shown = ", ".join(str(item) for item in value)
        elif isinstance(value, dict):
            shown = json.dumps(value, default=str, ensure_ascii=False)
        else:
            shown = str(value)
        lines.append(f"{esc(_clip(str(key).replace('_', ' '), 80))}: {esc(_clip(shown, MAX_LINE))}")
    return lines


def _linkable(link: str) -> bool:
    """An http(s) URL, whole, with nothing in it that would end a Slack link or an HTML attribute."""
    return len(link) <= MAX_LINK and _LINK.fullmatch(link) is not None


def _who(lead: LeadBrief) -> str:
    """`Sam Ortiz (Acme)`: the name (else the email, else the id) and the company, each clipped, one line."""
    who = _clip(lead.name or lead.email or lead.lead_id, MAX_VALUE)
    return f"{who} ({_clip(lead.company, MAX_VALUE)})" if lead.company else who


def _noun(handoff: Handoff) -> str:
    return {HandoffKind.CUSTOMER: "customer", HandoffKind.EXPANSION: "expansion"}.get(handoff.kind, "lead")


def _now_with(handoff: Handoff) -> str:
    if handoff.rep_id:
        return _clip(handoff.rep_id, MAX_VALUE)
    if handoff.queue:
        return f"the {_clip(handoff.queue, MAX_VALUE)} queue"
    return f"team {_clip(handoff.team, MAX_VALUE)}"


def _due(notice: HandoffNotice) -> datetime | None:
    return notice.due_at or notice.handoff.sla_due_at


def _priority_word(priority: Priority) -> str:
    return priority.value


def _a(priority: Priority) -> str:
    """`an immediate`, `a priority`, `a standard`."""
    word = _priority_word(priority)
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _priority_tag(priority: Priority) -> str:
    return "" if priority is Priority.STANDARD else f"[{priority.value.capitalize()}] "


def _number(value: Decimal) -> str:
    """512, 12.5, -3: no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _signed(points: Decimal) -> str:
    text = _number(points)
    return f"+{text}" if points > 0 else text


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _utc_text(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%d %H:%M UTC")
