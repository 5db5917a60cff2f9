"""What the hub tells people about handoffs (`shared/handoffs/notifications.py`): every purpose renders in Slack
and by email, the assignee's message carries Accept / Reject buttons whose clicks come back as the handoff's
events, Slack's Block Kit shapes and limits hold (checked with slack_sdk's own models), and nothing a lead
wrote can format, mention, link or script."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

import shared.handoffs.notifications as notifications
from shared.events.canonical import EventType
from shared.handoffs.model import AssignmentRef, Handoff, HandoffKind, HandoffStatus, Priority
from shared.handoffs.notifications import (
    ACCEPT_ACTION,
    ACTIONABLE,
    REJECT_ACTION,
    HandoffNotice,
    LeadBrief,
    NoAddress,
    NoticePurpose,
    Recipient,
    SlackMessage,
    email_message,
    slack_message,
)
from shared.webhooks.normalizers import normalize
from shared.webhooks.registry import VENDORS
from tests.vendor_samples import CONTEXT, slack_block_action, slack_request

REQUESTED = datetime(2025, 1, 15, 9, 30, tzinfo=UTC)
DUE = REQUESTED + timedelta(minutes=5)
TOUCH_DUE = REQUESTED + timedelta(minutes=15)
LINK = "https://api.example.com/api/v1/handoffs/h-42"

HANDOFF = Handoff(
    handoff_id="h-42",
    lead_id="hubspot:501",
    kind=HandoffKind.LEAD,
    priority=Priority.IMMEDIATE,
    status=HandoffStatus.ASSIGNED,
    team="emea-sales",
    requested_at=REQUESTED,
    rep_id="rep-ana",
    assigned_at=REQUESTED,
    sla_due_at=DUE,
)
ANA = Recipient("rep-ana", "Ana Lima", "ana@example.com", "U0ANA0001", None)
TEAM = Recipient(None, "EMEA sales", "emea-sales@example.com", None, "C0EMEA001")
SAM = LeadBrief(
    lead_id="hubspot:501",
    name="Sam Ortiz",
    email="sam@acme.test",
    company="Acme",
    job_title="VP Sales",
    country="US",
    score=Decimal("512"),
    stage="mql",
    top_factors=(("Demo request", Decimal(150)), ("Pricing page visits", Decimal(40)), ("Bounced email", Decimal(-10))),
    recent_engagement=(
        (REQUESTED - timedelta(minutes=18), "Requested a demo"),
        (REQUESTED - timedelta(days=2), "Visited the pricing page"),
    ),
)
RECIPIENTS = {
    NoticePurpose.ASSIGNED: ANA,
    NoticePurpose.TEAM_ALERT: TEAM,
    NoticePurpose.REMINDER: ANA,
    NoticePurpose.SLA_BREACHED: Recipient("mgr-eve", "Eve Park", "eve@example.com", "U0EVE0001", None),
    NoticePurpose.FIRST_TOUCH_MISSED: Recipient("mgr-eve", "Eve Park", "eve@example.com", "U0EVE0001", None),
    NoticePurpose.ESCALATED: Recipient("mgr-eve", "Eve Park", "eve@example.com", "U0EVE0001", None),
    NoticePurpose.CUSTOMER_HANDOFF: Recipient("csm-kim", "Kim Roy", "kim@example.com", "U0KIM0001", None),
    NoticePurpose.EXPANSION: Recipient("ae-lee", "Lee Park", "lee@example.com", "U0LEE0001", None),
}
CUSTOMER = replace(
    HANDOFF,
    kind=HandoffKind.CUSTOMER,
    priority=Priority.STANDARD,
    rep_id="csm-kim",
    customer_id="acct-7",
    details={"stakeholders": ["Sam Ortiz", "Lee Chan"], "goals": "Onboard 40 seats", "products": ["core"]},
)


EXPANSION = replace(
    HANDOFF,
    kind=HandoffKind.EXPANSION,
    priority=Priority.STANDARD,
    rep_id="ae-lee",
    customer_id="acct-7",
    details={"expansion_readiness": "84.00", "evidence": ["seat_pressure: 0.9500", "adoption: 6"]},
)
ACCOUNT_HANDOFFS = {NoticePurpose.CUSTOMER_HANDOFF: CUSTOMER, NoticePurpose.EXPANSION: EXPANSION}


def notice(purpose: NoticePurpose = NoticePurpose.ASSIGNED, **changes: Any) -> HandoffNotice:
    handoff = ACCOUNT_HANDOFFS.get(purpose, HANDOFF)
    if purpose is NoticePurpose.SLA_BREACHED:
        handoff = replace(handoff, rep_id="rep-bo", reassignments=1)
    if purpose is NoticePurpose.ESCALATED:
        handoff = replace(handoff, rep_id="mgr-eve", reassignments=3)
    if purpose is NoticePurpose.FIRST_TOUCH_MISSED:  # accepted by Ana, the lead not touched by its deadline
        handoff = replace(handoff, status=HandoffStatus.ACCEPTED, sla_due_at=None, first_touch_due_at=TOUCH_DUE)
    fields: dict[str, Any] = {
        "purpose": purpose,
        "handoff": handoff,
        "recipient": RECIPIENTS[purpose],
        "lead": SAM,
        "why": "requested a demo",
        "link": LINK,
    }
    if purpose in (NoticePurpose.SLA_BREACHED, NoticePurpose.ESCALATED, NoticePurpose.FIRST_TOUCH_MISSED):
        fields["previous_rep"] = "rep-ana"
    if purpose is NoticePurpose.FIRST_TOUCH_MISSED:
        fields["due_at"] = TOUCH_DUE
    return HandoffNotice(**(fields | changes))


def huge_notice(purpose: NoticePurpose) -> HandoffNotice:
    """Every value far beyond what Slack takes, and full of what mrkdwn escaping makes longer."""
    long = "&<>" * 4000
    lead = LeadBrief(
        lead_id="hubspot:" + "9" * 5000,
        name="Sam " + long,
        email="sam@" + "a" * 5000 + ".test",
        company="Acme " + long,
        job_title="VP " + long,
        country=long,
        score=Decimal("123456789.123456789"),
        stage=long,
        top_factors=tuple((f"factor {i} {long}", Decimal(i)) for i in range(100)),
        recent_engagement=tuple((REQUESTED - timedelta(minutes=i), f"did {i} {long}") for i in range(100)),
    )
    base = notice(purpose)
    handoff = replace(
        base.handoff, team="team " + long, details={f"key {i} {long}": long for i in range(50)} | base.handoff.details
    )
    return replace(base, lead=lead, handoff=handoff, why="why " + long, link=LINK + "/" + "x" * 5000)


def texts(block: dict[str, Any]) -> list[str]:
    """Every text object's text in a block."""
    found = []
    if isinstance(block.get("text"), dict):
        found.append(block["text"]["text"])
    found += [field["text"] for field in block.get("fields", [])]
    found += [element["text"] for element in block.get("elements", []) if element.get("type") == "mrkdwn"]
    return found


def mrkdwn_texts(message: SlackMessage) -> list[str]:
    return [message.text] + [text for block in message.blocks if block["type"] != "header" for text in texts(block)]


def buttons(message: SlackMessage) -> list[dict[str, Any]]:
    return [element for block in message.blocks if block["type"] == "actions" for element in block["elements"]]


def assert_block_kit(message: SlackMessage) -> None:
    """slack_sdk's models take every block as it is: known types, every limit they check, nothing dropped."""
    assert 0 < len(message.blocks) <= 50
    for block in message.blocks:
        parsed = Block.parse(block)
        assert parsed is not None, f"slack_sdk does not know a {block['type']} block"
        parsed.validate_json()
        assert parsed.to_dict() == block  # no key slack_sdk does not model (a misspelt one is dropped)


# Every purpose ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", list(NoticePurpose))
def test_every_purpose_renders_in_slack_as_valid_block_kit(purpose: NoticePurpose) -> None:
    # Given a notice of any purpose
    # When it is rendered for Slack
    message = slack_message(notice(purpose))
    # Then it is Block Kit slack_sdk accepts, headed by what happened to whom, with why, score, engagement and link
    assert_block_kit(message)
    header = message.blocks[0]
    assert header["type"] == "header"
    assert "Sam Ortiz (Acme)" in header["text"]["text"]
    everything = "\n".join(mrkdwn_texts(message))
    assert "*Why now:* requested a demo" in everything
    # (an account's handoff has no lead score: its details say why)
    assert ("*Score*\n512 (mql)" in everything) is (purpose not in ACCOUNT_HANDOFFS)
    assert "Demo request: +150" in everything
    assert "Requested a demo" in everything
    assert f"<{LINK}|Open in the hub>" in everything
    assert "requested a demo" in message.text
    # and the message says which handoff it is about, as Slack message metadata
    assert message.metadata == {
        "event_type": "revops_handoff_notice",
        "event_payload": {
            "handoff_id": "h-42",
            "lead_id": "hubspot:501",
            "purpose": purpose.value,
            "priority": notice(purpose).handoff.priority.value,
        },
    }


@pytest.mark.parametrize("purpose", list(NoticePurpose))
def test_every_purpose_renders_as_an_email_with_the_same_content(purpose: NoticePurpose) -> None:
    # Given a notice of any purpose
    # When it is rendered as an email
    email = email_message(notice(purpose))
    # Then it goes to the recipient, and its text and HTML say who, why, score, engagement, and link
    assert email.to == (RECIPIENTS[purpose].email,)
    assert "Sam Ortiz (Acme)" in email.subject
    for body in (email.text, email.html):
        assert "requested a demo" in body
        assert ("512 (mql)" in body) is (purpose not in ACCOUNT_HANDOFFS)
        assert "Demo request: +150" in body
        assert "2025-01-15 09:12 UTC: Requested a demo" in body
        assert "Sam Ortiz" in body
        assert "sam@acme.test" in body
    assert f"Open the handoff: {LINK}" in email.text
    assert f'<a href="{LINK}">Open the handoff</a>' in email.html


@pytest.mark.parametrize(
    ("purpose", "subject"),
    [
        (NoticePurpose.ASSIGNED, "[Immediate] New lead: Sam Ortiz (Acme) — requested a demo"),
        (NoticePurpose.TEAM_ALERT, "[Immediate] Team alert: Sam Ortiz (Acme) — requested a demo"),
        (NoticePurpose.REMINDER, "[Immediate] Reminder: Sam Ortiz (Acme) is waiting for you — requested a demo"),
        (NoticePurpose.SLA_BREACHED, "[Immediate] SLA missed: Sam Ortiz (Acme) reassigned to rep-bo"),
        (NoticePurpose.ESCALATED, "[Immediate] Escalated to you: Sam Ortiz (Acme) after 3 reassignments"),
        (NoticePurpose.FIRST_TOUCH_MISSED, "[Immediate] First touch missed: Sam Ortiz (Acme), still with rep-ana"),
        (NoticePurpose.CUSTOMER_HANDOFF, "New customer: Sam Ortiz (Acme) — requested a demo"),
    ],
)
def test_the_subject_says_the_priority_what_happened_who_and_why(purpose: NoticePurpose, subject: str) -> None:
    assert email_message(notice(purpose)).subject == subject


# Accept / Reject ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", sorted(ACTIONABLE))
def test_the_assignee_gets_accept_and_reject_buttons_carrying_the_handoff(purpose: NoticePurpose) -> None:
    # Given a notice to the one who must accept (a new assignment, a new customer, an expansion, a reminder, an
    # escalation to the manager)
    handoff = notice(purpose).handoff
    # When it is rendered for Slack
    accept, reject = buttons(slack_message(notice(purpose)))
    # Then it ends with Accept (primary) and Reject (danger, confirmed first), each carrying the handoff, the
    # assignment the message is about (its reassignment count and assignee) and the lead
    assert (accept["action_id"], accept["style"], accept["text"]["text"]) == (ACCEPT_ACTION, "primary", "Accept")
    assert (reject["action_id"], reject["style"], reject["text"]["text"]) == (REJECT_ACTION, "danger", "Reject")
    assert reject["confirm"]["confirm"]["text"] == "Reject"
    for button in (accept, reject):
        assert json.loads(button["value"]) == {
            "handoff_id": "h-42",
            "assignment": handoff.reassignments,
            "assignee": handoff.rep_id,
            "lead_id": "hubspot:501",
        }
        assert len(button["value"]) <= 2000
        assert " " not in button["value"]  # compact


def test_buttons_go_to_whoever_must_accept_and_to_nobody_else() -> None:
    # Given the purposes of notices: to the assignee of a lead, a new customer (the CSM must accept it too, an
    # accept deadline runs) or an expansion, their reminders, and the manager a handoff is escalated to
    # Then those, and only those, carry Accept / Reject
    assert {
        NoticePurpose.ASSIGNED,
        NoticePurpose.CUSTOMER_HANDOFF,
        NoticePurpose.EXPANSION,
        NoticePurpose.REMINDER,
        NoticePurpose.ESCALATED,
    } == ACTIONABLE


@pytest.mark.parametrize("purpose", sorted(set(NoticePurpose) - ACTIONABLE))
def test_notices_to_others_than_the_assignee_have_no_buttons(purpose: NoticePurpose) -> None:
    # Given a notice to someone who is not asked to accept (a team channel, a manager told of a breach)
    # When it is rendered for Slack, Then it has no buttons
    assert buttons(slack_message(notice(purpose))) == []


def test_the_buttons_carry_the_assignment_the_notice_is_about_not_the_handoffs_current_one() -> None:
    # Given a reminder built for the first assignment (to Ana) of a handoff that has moved on to Bo since
    moved_on = replace(HANDOFF, rep_id="rep-bo", reassignments=1)
    reminder = notice(NoticePurpose.REMINDER, handoff=moved_on, about=AssignmentRef(0, "rep-ana"))
    # When it is rendered for Slack
    # Then its buttons say it is about Ana's assignment (a click on it is not applied to Bo's)
    for button in buttons(slack_message(reminder)):
        assert json.loads(button["value"])["assignment"] == 0
        assert json.loads(button["value"])["assignee"] == "rep-ana"


@pytest.mark.parametrize(
    ("action_id", "event_type"),
    [(ACCEPT_ACTION, EventType.HANDOFF_ACCEPTED), (REJECT_ACTION, EventType.HANDOFF_REJECTED)],
)
def test_a_click_on_a_button_comes_back_as_the_handoffs_event(action_id: str, event_type: EventType) -> None:
    # Given the assignee's message, and a click on one of its buttons as Slack posts it to the hub
    [button] = [b for b in buttons(slack_message(notice())) if b["action_id"] == action_id]
    [click] = VENDORS["slack"].parse(slack_request(slack_block_action(action_id=action_id, value=button["value"])))
    # When the Slack normalizer reads the click
    event = normalize("slack", click, CONTEXT)
    # Then it is the button's event, about the handoff the button carried
    assert event.event_type is event_type
    assert (event.data["handoff_id"], event.data["lead_id"]) == ("h-42", "hubspot:501")
    assert (event.data["assignment"], event.data["assignee"]) == (0, "rep-ana")  # what the click is about
    assert event.subject.contact_id == "hubspot:501"


def test_a_lead_id_too_long_for_a_button_is_left_out_of_it() -> None:
    # Given a handoff whose lead id alone is beyond Slack's 2000 characters of a button value
    long_lead = replace(HANDOFF, lead_id="hubspot:" + "1" * 2500)
    # When its buttons are made, Then they carry the handoff id and its assignment only (what the click is about)
    for button in buttons(slack_message(notice(handoff=long_lead))):
        assert json.loads(button["value"]) == {"handoff_id": "h-42", "assignment": 0, "assignee": "rep-ana"}
    # and a handoff id that cannot fit is refused, not cut
    with pytest.raises(ValueError, match="does not fit"):
        slack_message(notice(handoff=replace(HANDOFF, handoff_id="h" * 2100)))


# Slack's limits and escaping ------------------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", list(NoticePurpose))
def test_a_huge_lead_stays_within_slacks_limits(purpose: NoticePurpose) -> None:
    # Given a lead whose every value is thousands of characters of `&<>`, with 100 factors and engagements
    # When it is rendered for Slack
    message = slack_message(huge_notice(purpose))
    # Then every limit holds, as slack_sdk checks them and as counted here
    assert_block_kit(message)
    assert len(message.blocks[0]["text"]["text"]) <= 150
    for block in message.blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(field["text"]) <= 2000 for field in block.get("fields", []))
    assert len(message.text) <= 3000
    # and no cut leaves half an escape or half a `<...>` token behind
    for text in mrkdwn_texts(message):
        assert re.findall(r"&(?!amp;|lt;|gt;)", text) == []
        assert text.count("<") == text.count(">")
    # and at most five factors and five engagements are listed
    everything = "\n".join(mrkdwn_texts(message))
    assert everything.count("• factor ") == 5
    assert everything.count(": did ") == 5
    # and a link too long to be whole is shown, not linked: cut, it would lead nowhere
    assert "|Open in the hub>" not in everything
    assert "href" not in email_message(huge_notice(purpose)).html


def test_nothing_a_lead_wrote_can_mention_link_or_format_in_slack() -> None:
    # Given a lead whose name, company and activity are Slack control sequences
    hostile = replace(
        SAM,
        name="<!channel> Sam",
        company="<@U0BOSS001>",
        recent_engagement=((REQUESTED, "clicked <https://evil.example|your invoice>"),),
        top_factors=(("<!here>", Decimal(1)),),
    )
    message = slack_message(notice(lead=hostile, why="<!everyone> & more"))
    # When its mrkdwn is read, Then the only `<...>` tokens are the hub's own: dates and the handoff's link
    for text in mrkdwn_texts(message):
        for token in re.findall(r"<[^>]*>", text):
            assert token.startswith("<!date^") or token == f"<{LINK}|Open in the hub>", token
    everything = "\n".join(mrkdwn_texts(message))
    assert "&lt;!channel&gt; Sam" in everything
    assert "&lt;!everyone&gt; &amp; more" in everything


def test_a_link_that_is_not_http_is_shown_not_linked() -> None:
    message = slack_message(notice(link="javascript:alert(1)"))
    email = email_message(notice(link="javascript:alert(1)"))
    assert "<javascript:" not in "\n".join(mrkdwn_texts(message))
    assert "href" not in email.html
    assert "javascript:alert(1)" in email.html


def test_line_breaks_in_a_value_are_folded_so_no_value_makes_a_line_of_its_own() -> None:
    # Given a lead name with line breaks (a header of its own in an email, a fake line in the message)
    lead = replace(SAM, name="Sam\r\nBcc: everyone@example.com\n\nOrtiz")
    # When the notice is rendered
    email, message = email_message(notice(lead=lead)), slack_message(notice(lead=lead))
    # Then the name stays on one line
    assert "\r" not in email.subject
    assert "\n" not in email.subject
    assert "Sam Bcc: everyone@example.com Ortiz (Acme)" in email.subject
    assert "Sam Bcc: everyone@example.com Ortiz" in message.blocks[0]["text"]["text"]
    assert "\nBcc:" not in email.text


# Email escaping ---------------------------------------------------------------------------------------------------


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes |= {name for name, _ in attrs}


@pytest.mark.parametrize("purpose", list(NoticePurpose))
def test_every_value_in_the_email_html_is_escaped(purpose: NoticePurpose) -> None:
    # Given a lead, a reason, a handoff's details and a previous rep made of HTML
    script = '<script>alert("x")</script>'
    lead = replace(
        SAM,
        name=f"Sam {script}",
        company='Acme "&" <b>Co</b>',
        job_title="<img src=x onerror=alert(1)>",
        stage="</td></tr></table>",
        top_factors=(("</li><li>injected", Decimal(5)),),
        recent_engagement=((REQUESTED, "<iframe src=https://evil.example>"),),
    )
    base = notice(purpose)
    handoff = replace(base.handoff, details={"<b>goal</b>": "<style>*{}</style>"} | base.handoff.details)
    html = email_message(
        replace(base, lead=lead, handoff=handoff, why="<a href=https://evil.example>why</a>", previous_rep="<u>ana</u>")
    ).html
    # When its HTML is parsed, Then only the hub's own tags and attributes are in it
    parser = Tags()
    parser.feed(html)
    assert parser.tags <= {"html", "body", "h2", "h3", "p", "table", "tr", "th", "td", "ul", "li", "strong", "a", "br"}
    assert parser.attributes <= {"style", "align", "valign", "href"}
    assert html.count("<a ") == 1
    # and the values are there, escaped
    assert "Sam &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "Acme &quot;&amp;&quot; &lt;b&gt;Co&lt;/b&gt;" in html


def test_the_plain_text_part_carries_values_as_written() -> None:
    lead = replace(SAM, company="Acme & <Co>")
    email = email_message(notice(lead=lead))
    assert "Company: Acme & <Co>" in email.text
    assert "Company</th><td>Acme &amp; &lt;Co&gt;</td>" in email.html


# Addresses, times, numbers ---------------------------------------------------------------------------------------


def test_a_team_alert_goes_to_the_team_channel_and_the_rest_to_the_person() -> None:
    assert slack_message(notice(NoticePurpose.TEAM_ALERT)).channel == "C0EMEA001"
    assert slack_message(notice(NoticePurpose.ASSIGNED)).channel == "U0ANA0001"
    # a person with only a channel is told there; a team with only a person, to that person
    both = Recipient("rep-ana", "Ana Lima", None, "U0ANA0001", "C0ANA0001")
    assert slack_message(notice(NoticePurpose.ASSIGNED, recipient=both)).channel == "U0ANA0001"
    assert slack_message(notice(NoticePurpose.TEAM_ALERT, recipient=both)).channel == "C0ANA0001"
    only_channel = replace(both, slack_user_id=None)
    assert slack_message(notice(NoticePurpose.REMINDER, recipient=only_channel)).channel == "C0ANA0001"


def test_a_recipient_without_an_address_is_refused_by_name() -> None:
    nowhere = Recipient("rep-ana", "Ana Lima", None, None, None)
    with pytest.raises(NoAddress, match="Ana Lima has no Slack"):
        slack_message(notice(recipient=nowhere))
    with pytest.raises(NoAddress, match="Ana Lima has no email"):
        email_message(notice(recipient=nowhere))


def test_the_deadline_shows_in_each_readers_time_zone_in_slack_and_in_utc_by_email() -> None:
    # Given an assignment due at 09:35 UTC
    message, email = slack_message(notice()), email_message(notice())
    # Then Slack shows it in the reader's zone (UTC where it cannot), the email in UTC
    token = f"<!date^{int(DUE.timestamp())}^{{date_short_pretty}} at {{time}}|2025-01-15 09:35 UTC>"
    assert f"Accept it by *{token}*, or it goes to the next rep." in message.blocks[1]["text"]["text"]
    assert "(accept by 2025-01-15 09:35 UTC)" in message.text
    assert "Accept it by 2025-01-15 09:35 UTC" in email.text
    # and a notice's own due time wins over the handoff's SLA; a time without zone is UTC
    later = slack_message(notice(NoticePurpose.REMINDER, due_at=datetime(2025, 1, 15, 10, 0)))
    assert "|2025-01-15 10:00 UTC>" in later.blocks[1]["text"]["text"]


def test_others_than_the_assignee_see_the_sla_as_a_fact() -> None:
    message, email = slack_message(notice(NoticePurpose.TEAM_ALERT)), email_message(notice(NoticePurpose.TEAM_ALERT))
    assert any(field["text"].startswith("*SLA due*\n<!date^") for field in message.blocks[1]["fields"])
    assert "SLA due: 2025-01-15 09:35 UTC" in email.text
    assert "(SLA due 2025-01-15 09:35 UTC)" in message.text


def test_an_sla_breach_tells_the_manager_who_missed_it_and_who_has_it_now() -> None:
    email = email_message(notice(NoticePurpose.SLA_BREACHED))
    assert "rep-ana did not accept Sam Ortiz (Acme) in time: it is now with rep-bo (reassignment 1)." in email.text
    queued = notice(NoticePurpose.SLA_BREACHED, handoff=replace(HANDOFF, rep_id=None, queue="emea-fallback"))
    assert "it is now with the emea-fallback queue" in email_message(queued).text


def test_a_missed_first_touch_tells_the_manager_the_lead_is_still_with_the_rep_by_when_it_was_due() -> None:
    # Given a lead Ana accepted and did not touch by its first-touch deadline (09:45 UTC)
    missed = notice(NoticePurpose.FIRST_TOUCH_MISSED)
    # When the manager's notice is rendered
    message, email = slack_message(missed), email_message(missed)
    # Then it says who has it, that nothing moved, and the deadline (not the accept deadline), with no buttons
    assert message.blocks[0]["text"]["text"] == "[Immediate] First touch missed: Sam Ortiz (Acme)"
    assert (
        "rep-ana had not touched Sam Ortiz (Acme), an immediate lead, by the first-touch deadline "
        "(2025-01-15 09:45 UTC). It stays with them (nothing was reassigned): follow up with them." in email.text
    )
    assert "First touch due: 2025-01-15 09:45 UTC" in email.text
    assert any(field["text"].startswith("*First touch due*\n<!date^") for field in message.blocks[1]["fields"])
    assert buttons(message) == []


def test_an_escalation_tells_the_manager_it_is_theirs_now() -> None:
    text = email_message(notice(NoticePurpose.ESCALATED)).text
    assert (
        "Sam Ortiz (Acme) was reassigned 3 times without being accepted (last with rep-ana): it is yours now." in text
    )


def test_a_customer_handoff_lists_its_details() -> None:
    # Given a won customer handed to a CSM, with stakeholders, goals and products
    handed = notice(NoticePurpose.CUSTOMER_HANDOFF)
    # When it is rendered, Then both the message and the email list them
    message, email = slack_message(handed), email_message(handed)
    details = "• stakeholders: Sam Ortiz, Lee Chan\n• goals: Onboard 40 seats\n• products: core"
    assert any(text == f"*Handoff details*\n{details}" for block in message.blocks for text in texts(block))
    assert "  - stakeholders: Sam Ortiz, Lee Chan" in email.text
    assert message.blocks[0]["text"]["text"] == "New customer: Sam Ortiz (Acme)"


def test_an_expansion_handoff_shows_its_evidence_and_asks_the_ae_to_accept() -> None:
    # Given an account ready to expand, handed to its AE
    handed = notice(NoticePurpose.EXPANSION, lead=replace(SAM, name="Acme", company=None, top_factors=()))
    # When it is rendered, Then it says so, lists the evidence, and carries Accept / Reject
    message, email = slack_message(handed), email_message(handed)
    assert message.blocks[0]["text"]["text"] == "Ready to expand: Acme"
    details = "• expansion readiness: 84.00\n• evidence: seat_pressure: 0.9500, adoption: 6"
    assert any(text == f"*Handoff details*\n{details}" for block in message.blocks for text in texts(block))
    assert [button["action_id"] for button in buttons(message)] == ["handoff_accept", "handoff_reject"]
    assert email.subject == "Ready to expand: Acme — requested a demo"
    assert "Acme is ready to expand, handed to you by customer success." in email.text


def test_recent_engagement_is_listed_newest_first_five_at_most() -> None:
    engagement = tuple((REQUESTED - timedelta(hours=i), f"step {i}") for i in (3, 0, 6, 1, 5, 2, 4))
    text = email_message(notice(lead=replace(SAM, recent_engagement=engagement))).text
    assert re.findall(r"step (\d)", text) == ["0", "1", "2", "3", "4"]


@pytest.mark.parametrize(
    ("score", "shown"), [(Decimal("5E+2"), "500"), (Decimal("512.50"), "512.5"), (Decimal("0.00"), "0")]
)
def test_scores_are_shown_as_plain_numbers(score: Decimal, shown: str) -> None:
    assert f"Score: {shown} (mql)" in email_message(notice(lead=replace(SAM, score=score))).text


def test_a_lead_known_by_email_or_id_only_is_named_by_it() -> None:
    by_email = replace(SAM, name=None, company=None)
    by_id = replace(SAM, name=None, email=None, company=None)
    assert email_message(notice(lead=by_email)).subject.startswith("[Immediate] New lead: sam@acme.test — ")
    assert slack_message(notice(lead=by_id)).blocks[0]["text"]["text"] == "[Immediate] New lead: hubspot:501"


def test_the_builders_import_no_vendor_sdk_nor_aws() -> None:
    # The domain stays pure: the adapters (shared/adapters/*_notifier.py) hold slack_sdk and boto3
    tree = ast.parse(Path(notifications.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names} | {
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    }
    roots = {name.split(".")[0] for name in imported}
    assert roots.isdisjoint({"slack_sdk", "boto3", "botocore", "aws_lambda_powertools"})
