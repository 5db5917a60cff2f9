"""The handoff domain's part of the catalog: routing of handoff requests to reps, SLA timers, notifications,
the handoff and routing API, and the `handoffs` table."""

from __future__ import annotations

from shared.catalog import leads
from shared.catalog.leads import EVENT_SOURCE as LEAD_EVENT_SOURCE
from shared.catalog.leads import LEADS, SUCCESS_EVENT_SOURCE
from shared.catalog.model import (
    Domain,
    Function,
    Group,
    Index,
    Route,
    Rule,
    Schedule,
    Secret,
    Table,
    ThrottleDomain,
)
from shared.catalog.webhooks import EVENT_SOURCE as WEBHOOK_EVENT_SOURCE

EVENT_SOURCE = leads.HANDOFF_EVENT_SOURCE
NOTICE_KEY_PREFIX = "NOTICE#"  # the notifier's sent markers: the only items of the table it may write

HANDOFFS = Table(
    name="handoffs",
    partition_key="pk",
    sort_key="sk",
    indexes=(
        Index("by-status", partition_key="status_partition", sort_key="requested_sort"),
        Index("by-rep", partition_key="rep_partition", sort_key="requested_sort"),
        Index("by-day", partition_key="day_partition", sort_key="requested_sort"),
    ),
    access_patterns=(
        "a handoff: get pk=HANDOFF#<id>, sk=STATE (history inside; optimistic `version` condition on every write)",
        "one open handoff per lead: pk=LEAD#<lead id>, sk=OPEN_HANDOFF holding the handoff id; claimed on "
        "request (condition: absent or this handoff), deleted on close (condition: this handoff)",
        "a customer's onboarding: get pk=LEAD#customer:<account id>, sk=ONBOARDED (the handoff a CSM accepted or "
        "completed), put in the same transaction as that change; a later won deal of the customer reads it",
        "a rep's load: pk=REPS, sk=REP#<rep id> (open handoffs, assignments, run-time overrides, `version`); "
        "updated in the same transaction as the handoff, conditioned on the version read and on capacity",
        "every rep's load: query pk=REPS (one partition: a team of hundreds of reps is a few KB)",
        "list by status / by rep, newest first (the queue sweep: oldest first): query by-status "
        "(status_partition=STATUS#<status>) or by-rep (rep_partition=REP#<rep id>) on "
        "requested_sort=<requested_at>#<id>, descending (ascending); priority is a filter",
        "a change not announced yet: pk=UNANNOUNCED#<0-7>, sk=HANDOFF#<id>, put in the change's transaction and "
        "deleted by the write that records it announced; the sweep queries the 8 shards for those left over",
        "speed-to-lead metrics: query by-day (day_partition=DAY#<yyyy-mm-dd>) for each day of the range",
        "a notification channel sent: pk=NOTICE#<event id>#<purpose>#<rep or channel>#<slack|email>, sk=SENT, "
        "put once it went out, read (consistent) before sending on a retry; expires_at (TTL) after 15 days",
    ),
    ttl_attribute="expires_at",
)

HANDOFF_NOTIFICATIONS = Secret(
    name="handoff-notifications",
    description='Where handoff notifications go: {"slack_bot_token": "xoxb-...", "slack_api_url": null (Slack '
    'itself) or a stand-in\'s URL, "email_from": "a verified SES sender", "hub_url": "the API\'s base URL for links"}',
    local_values_file="config/local.notifications.json",
)

HANDOFF_READERS = frozenset({Group.SALES, Group.SUCCESS, Group.MARKETING, Group.ADMIN})
HANDOFF_ACTORS = frozenset({Group.SALES, Group.SUCCESS, Group.ADMIN})
_REQUESTED = "lead.handoff_requested"

HANDOFFS_DOMAIN = Domain(
    name="handoffs",
    event_source=EVENT_SOURCE,
    tables=(HANDOFFS,),
    secrets=(HANDOFF_NOTIFICATIONS,),
    functions=(
        Function(
            name="handoff_router",
            description="Assigns requested handoffs to reps by the routing rules (leads, won customers, accounts "
            "ready to expand), and applies Slack Accept / Reject clicks",
            memory_mb=1024,
            timeout_seconds=30,
            rules=(
                Rule(
                    name="handoffs-from-lead-requests",
                    description="A lead needs a person: route it",
                    pattern={"source": [LEAD_EVENT_SOURCE], "detail-type": [_REQUESTED]},
                    max_retries=8,
                    max_event_age_seconds=6 * 3600,
                ),
                Rule(
                    name="handoffs-completed-by-lead-progress",
                    description="A lead became an opportunity or a customer: its open handoff is complete",
                    pattern={
                        "source": [LEAD_EVENT_SOURCE],
                        "detail-type": ["lead.stage_changed"],
                        "detail": {"stage": ["Opportunity", "Customer"]},
                    },
                    max_retries=8,
                    max_event_age_seconds=6 * 3600,
                ),
                Rule(
                    name="customer-handoffs-from-won-deals",
                    description="A deal was won: hand its customer to success",
                    pattern={"source": [WEBHOOK_EVENT_SOURCE], "detail-type": ["deal.won"]},
                    max_retries=8,
                    max_event_age_seconds=6 * 3600,
                ),
                Rule(
                    name="expansion-handoffs-from-signals",
                    description="An account became ready to expand: hand it to sales (its owner first)",
                    pattern={"source": [SUCCESS_EVENT_SOURCE], "detail-type": ["customer.expansion_signal"]},
                    max_retries=8,
                    max_event_age_seconds=6 * 3600,
                ),
                Rule(
                    name="handoffs-from-clicks",
                    description="A rep clicked Accept or Reject on a handoff message in Slack",
                    # Slack's clicks only: its signature proves who clicked; another vendor's canonical
                    # handoff.accepted naming a Slack user must not act in that user's name
                    pattern={
                        "source": [WEBHOOK_EVENT_SOURCE],
                        "detail-type": ["handoff.accepted", "handoff.rejected"],
                        "detail": {"source_vendor": ["slack"]},
                    },
                    max_retries=8,
                    max_event_age_seconds=6 * 3600,
                ),
            ),
            tables={HANDOFFS.name: "read_write", LEADS.name: "read"},
            publishes_events=True,
            sets_timers_for="handoff_timers",
        ),
        Function(
            name="handoff_timers",
            description="SLA deadlines and reminders of handoffs, invoked by their one-time schedules: breach, "
            "reassign, escalate, remind; a lead not touched in time: breach, tell the manager",
            memory_mb=1024,
            timeout_seconds=30,
            schedules=(
                Schedule(
                    name="handoff-queue-sweep",
                    description="Handoffs waiting in a fallback queue go to reps who became eligible",
                    expression="rate(5 minutes)",
                ),
            ),
            tables={HANDOFFS.name: "read_write", LEADS.name: "read"},
            publishes_events=True,
            sets_timers_for="handoff_timers",
        ),
        Function(
            name="handoff_notifier",
            description="Tells people about handoffs: Slack messages with Accept / Reject buttons, and emails (SES)",
            memory_mb=512,
            timeout_seconds=30,
            rules=(
                Rule(
                    name="handoff-notifications",
                    description="Handoff transitions someone must hear about",
                    pattern={
                        "source": [EVENT_SOURCE],
                        "detail-type": [
                            "handoff.assigned",
                            "handoff.reminded",
                            "handoff.sla_breached",
                            "handoff.escalated",
                        ],
                    },
                    max_retries=8,
                    max_event_age_seconds=6 * 3600,
                ),
            ),
            # reads the handoffs; writes only its sent markers, so a retry does not send a channel twice
            tables={HANDOFFS.name: "read_write", LEADS.name: "read"},
            writes_confined_to={HANDOFFS.name: NOTICE_KEY_PREFIX},
            secrets=(HANDOFF_NOTIFICATIONS.name,),
            sends_email=True,
        ),
        Function(
            name="handoffs_api",
            description="Handoffs (list, read, accept, reject, assign, touch, complete, metrics) and routing (reps, "
            "simulate)",
            memory_mb=1024,
            timeout_seconds=29,
            routes=(
                Route(
                    method="GET",
                    path="/api/v1/handoffs",
                    operation="list_handoffs",
                    summary="Handoffs, newest first, by status, rep or priority",
                    domain=ThrottleDomain.SALES,
                    groups=HANDOFF_READERS,
                ),
                Route(
                    method="GET",
                    path="/api/v1/handoffs/metrics",
                    operation="handoff_metrics",
                    summary="Speed to lead (p50/p95 requested -> assigned -> accepted) and SLA attainment",
                    domain=ThrottleDomain.SALES,
                    groups=HANDOFF_READERS,
                ),
                Route(
                    method="GET",
                    path="/api/v1/handoffs/{handoff_id}",
                    operation="get_handoff",
                    summary="A handoff: assignee, SLA, history, and the lead with its score breakdown and engagement",
                    domain=ThrottleDomain.SALES,
                    groups=HANDOFF_READERS,
                ),
                Route(
                    method="POST",
                    path="/api/v1/handoffs/{handoff_id}/accept",
                    operation="accept_handoff",
                    summary="The assignee (or a manager or admin) accepts; a second accept is an idempotent 200",
                    domain=ThrottleDomain.SALES,
                    groups=HANDOFF_ACTORS,
                ),
                Route(
                    method="POST",
                    path="/api/v1/handoffs/{handoff_id}/reject",
                    operation="reject_handoff",
                    summary="The assignee (or a manager or admin) rejects, with a reason; the next eligible rep gets "
                    "it",
                    domain=ThrottleDomain.SALES,
                    groups=HANDOFF_ACTORS,
                    json_body=True,
                ),
                Route(
                    method="POST",
                    path="/api/v1/handoffs/{handoff_id}/assign",
                    operation="assign_handoff",
                    summary="A manager or admin gives a queued handoff to a named rep eligible now (a rep may take "
                    "one themselves)",
                    description="200 with the handoff assigned (handoff.assigned; the same assignment again answers "
                    "it unchanged); 400 for a rep the routing file lacks; 403 for a rep naming another rep; 409 "
                    "when the handoff is not queued or the rep may not take it now (why is said).",
                    domain=ThrottleDomain.SALES,
                    groups=HANDOFF_ACTORS,
                    json_body=True,
                ),
                Route(
                    method="POST",
                    path="/api/v1/handoffs/{handoff_id}/touch",
                    operation="touch_handoff",
                    summary="The assignee (or a manager or admin) records the lead's first touch: a call, an email, "
                    "a meeting",
                    description="200 with the handoff (handoff.first_touched, with whether it met the first-touch "
                    "SLA; the follow-up task done, the first-touch deadline cancelled). The first touch wins: a "
                    "later one answers the stored touch unchanged. 400 for a `touched_at` in the future or before "
                    "the assignment; 403 for another rep; 409 when the handoff is not an assigned or accepted lead "
                    "handoff (why is said).",
                    domain=ThrottleDomain.SALES,
                    groups=HANDOFF_ACTORS,
                    json_body=True,
                ),
                Route(
                    method="POST",
                    path="/api/v1/handoffs/{handoff_id}/complete",
                    operation="complete_handoff",
                    summary="The assignee (or a manager or admin) completes an accepted handoff, freeing its lead or "
                    "customer",
                    description="200 with the handoff completed (handoff.completed; a second completion answers it "
                    "unchanged); 409 when it is not accepted. A completed customer handoff lets a request through "
                    "the cs-sales API hand the customer off again.",
                    domain=ThrottleDomain.SALES,
                    groups=HANDOFF_ACTORS,
                ),
                Route(
                    method="POST",
                    path="/api/v1/cs-sales/handoff/{customer_id}",
                    operation="hand_customer_to_success",
                    summary="Hand a won customer to success: a CSM by the routing file, a success plan, a baseline",
                    description="201 with the new handoff; 200 with the stored one for the same request again; 409 "
                    "for a different request for the same deal, or while the customer's handoff of another deal is "
                    "open.",
                    domain=ThrottleDomain.SUCCESS,
                    groups=HANDOFF_ACTORS,
                    json_body=True,
                ),
                Route(
                    method="GET",
                    path="/api/v1/cs-sales/handoff/{customer_id}",
                    operation="get_customer_handoff",
                    summary="The customer's open success handoff: CSM, stakeholders, goals, success plan, baseline",
                    domain=ThrottleDomain.SUCCESS,
                    groups=HANDOFF_ACTORS,
                ),
                Route(
                    method="GET",
                    path="/api/v1/routing/reps",
                    operation="list_reps",
                    summary="Reps with their load, capacity and availability now",
                    domain=ThrottleDomain.SALES,
                    groups=HANDOFF_ACTORS,
                ),
                Route(
                    method="PUT",
                    path="/api/v1/routing/reps/{rep_id}",
                    operation="update_rep",
                    summary="Change a rep's availability or capacity at run time (until the routing file's version "
                    "changes)",
                    domain=ThrottleDomain.SALES,
                    groups=HANDOFF_ACTORS,
                    json_body=True,
                ),
                Route(
                    method="POST",
                    path="/api/v1/routing/simulate",
                    operation="simulate_routing",
                    summary="What-if: a candidate routing file against given leads or the open MQLs, writing nothing",
                    domain=ThrottleDomain.SALES,
                    groups=HANDOFF_ACTORS,
                    json_body=True,
                ),
            ),
            tables={HANDOFFS.name: "read_write", LEADS.name: "read"},
            publishes_events=True,
            sets_timers_for="handoff_timers",
        ),
    ),
)
