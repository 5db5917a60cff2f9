"""The customer success domain's part of the catalog: the `success` table (each account's signal log and its
latest health), the recorder that turns canonical events (and the handoff domain's success plans) into signals
and health, the health and usage API, and the nightly recomputation that lets a silent account's time-based
measures decay."""

from __future__ import annotations

import json
from pathlib import Path

from shared.catalog.handoffs import EVENT_SOURCE as HANDOFF_EVENT_SOURCE
from shared.catalog.handoffs import HANDOFF_NOTIFICATIONS, HANDOFFS
from shared.catalog.leads import LEADS, SUCCESS_EVENT_SOURCE
from shared.catalog.model import Domain, Function, Group, Index, Route, Rule, Schedule, Table, ThrottleDomain
from shared.catalog.webhooks import EVENT_SOURCE as WEBHOOK_EVENT_SOURCE

EVENT_SOURCE = SUCCESS_EVENT_SOURCE
HEALTH_MODEL_FILE = Path(__file__).resolve().parent.parent.parent / "config" / "health-model.json"
TENANT_SHARDS = 8  # the nightly reads the accounts with a health snapshot from this many index partitions

SUCCESS = Table(
    name="success",
    partition_key="pk",
    sort_key="sk",
    indexes=(
        Index("by-shard", partition_key="tenant_shard", sort_key="tenant_id", include=("tenant_id",)),
        Index("by-status", partition_key="intervention_status", sort_key="status_sort"),
    ),
    access_patterns=(
        "keep a signal once: put pk=TENANT#<account_id>, sk=SIGNAL#<iso time>#<signal_id> (conditional: new)",
        "file an event's signal once, under one account: one transaction of pk=FILED#<signal_id>, sk=<iso time> "
        "(conditional: new; log=<account_id>) and its signal; where it was filed: get pk=FILED#<signal_id>, "
        "sk=<iso time>; deleted with the person's signals by an erasure",
        "an account's signals since a moment: query pk=TENANT#<account_id>, sk between SIGNAL#<since> and SIGNAL#~",
        "signals of a subject without a known account, parked: pk=TENANT#unlinked:<reference>, written in one "
        "transaction with the log's index entry pk=PARKED, sk=unlinked:<reference>; adopted (copied to the "
        "account's log, then deleted) by the next signal about it, or by the nightly: query pk=PARKED, each "
        "entry deleted on condition of its mark",
        "keep a reported signal once (a usage report per message id, a milestone's completion per plan and "
        "milestone): one transaction of pk=TENANT#<account_id>, sk=MESSAGE#<message id> (conditional: new) and "
        "its signal",
        "an account's latest health: get pk=TENANT#<account_id>, sk=HEALTH; saved on condition of its version, "
        "with its outbox (pending events and playbooks), then emptied on condition of the version saved",
        "every account with a health snapshot: query by-shard (tenant_shard=SHARD#<0-7>) on tenant_id",
        "open an intervention once per account and playbook: one transaction of pk=TENANT#<account_id>, "
        "sk=OPEN#<playbook> (conditional: new) and sk=INTERVENTION#<intervention_id> (conditional: new)",
        "an account's interventions: query pk=TENANT#<account_id>, sk begins_with INTERVENTION#",
        "interventions of a status: query by-status (intervention_status=open|closed) on status_sort "
        "(open: <evaluate_at>#<id>, the due first; closed: <closed_at>#<id>)",
        "close an intervention: one transaction of its update (conditional: still open) and the delete of its "
        "OPEN# marker",
        "keep feedback once: put pk=FEEDBACK, sk=<feature>#<feedback_key> (conditional: new); a feature's or "
        "all: query pk=FEEDBACK (sk begins_with <feature>#)",
        "keep a launch or a CS campaign once: put pk=LAUNCH#<launch_id> / CAMPAIGN#<campaign_id>, sk=LAUNCH / "
        "CAMPAIGN (conditional: new); get it back by its id",
    ),
)

SIGNAL_EVENT_TYPES = (
    "product.usage_reported",
    "support.ticket_opened",
    "support.ticket_solved",
    "survey.responded",
    "payment.succeeded",
    "payment.failed",
    "subscription.changed",
)
ACCOUNT_UPSERTED = "account.upserted"  # adopts the signals parked before the account was known
SUCCESS_PLAN_CREATED = "success_plan.created"  # the handoff domain's (`HandoffEventType.SUCCESS_PLAN_CREATED`)
HEALTH_PATH = "/api/v1/integrations/success/health/{tenant_id}"  # alerts link to it
MILESTONE_PATH = "/api/v1/cs-sales/handoff/{customer_id}/milestones/{milestone_id}/complete"
HEALTH_READERS = frozenset({Group.SUCCESS, Group.SALES, Group.ADMIN})
INTERVENTION_USERS = frozenset({Group.SUCCESS, Group.ADMIN})
FEEDBACK_USERS = frozenset({Group.PRODUCT, Group.SUCCESS, Group.SALES, Group.ADMIN})
ANALYTICS_READERS = frozenset({Group.PRODUCT, Group.SUCCESS, Group.ADMIN})
LAUNCH_USERS = frozenset({Group.PRODUCT, Group.MARKETING, Group.ADMIN})
CS_MARKETING_USERS = frozenset({Group.MARKETING, Group.SUCCESS, Group.ADMIN})
MILESTONE_USERS = frozenset({Group.SUCCESS, Group.ADMIN})  # the CSM records the onboarding's milestones
USAGE_WRITERS = frozenset({Group.PRODUCT, Group.ADMIN})


SEGMENT_VENDORS = ("segment", "segment_api")  # the vendors whose `track` calls may be product usage
ANY_TRACK = "*"  # `product_track_events`: every track the lead domain does not map to a marketing kind


def product_track_events() -> list[str]:
    """The Segment `track` event names the health model counts as product usage (`["*"]`: any product track;
    none: the rule is not made). Read from the model file, as `touch_kinds`."""
    names = json.loads(HEALTH_MODEL_FILE.read_text()).get("product_track_events", [])
    return [str(name) for name in names]


def _product_track_rules() -> tuple[Rule, ...]:
    """Segment tracks of product use: kind `track` is what the normalizer leaves unmapped (marketing tracks,
    `Email Opened` and the like, become their own kinds and never match), by name unless any is taken."""
    names = product_track_events()
    if not names:
        return ()
    data: dict[str, list[str]] = {"kind": ["track"]}
    if ANY_TRACK not in names:
        data["name"] = names
    return (
        Rule(
            name="success-product-tracks",
            description="Segment tracks the health model counts as product usage (a feature used)",
            pattern={
                "source": [WEBHOOK_EVENT_SOURCE],
                "detail-type": ["engagement.recorded"],
                "detail": {"source_vendor": list(SEGMENT_VENDORS), "data": data},
            },
            max_retries=8,
            max_event_age_seconds=6 * 3600,
        ),
    )


def touch_kinds() -> list[str]:
    """The engagement kinds the health model counts as a CSM touch, then those it counts as the executive
    sponsor engaging: the recorder's rule takes only those (page views and email opens, the bulk of
    engagements, never reach it). Read from the model file the functions read, so the rule and the model cannot
    disagree; the file is validated where it is loaded."""
    model = json.loads(HEALTH_MODEL_FILE.read_text())
    kinds = [*model.get("touch_kinds", ["meeting_booked"]), *model.get("sponsor_engagement_kinds", ["meeting_booked"])]
    return [str(kind) for kind in dict.fromkeys(kinds)]


SUCCESS_DOMAIN = Domain(
    name="success",
    event_source=EVENT_SOURCE,
    tables=(SUCCESS,),
    functions=(
        Function(
            name="success_recorder",
            description="Keeps each account's health signals and recomputes its health as they arrive",
            memory_mb=1024,
            timeout_seconds=30,
            rules=(
                Rule(
                    name="success-signals",
                    description="Usage, tickets, surveys, payments and subscriptions: the signals of health",
                    pattern={"source": [WEBHOOK_EVENT_SOURCE], "detail-type": list(SIGNAL_EVENT_TYPES)},
                    max_retries=8,
                    max_event_age_seconds=6 * 3600,
                ),
                Rule(
                    name="success-touches",
                    description="The engagements the health model counts as CSM touches or as the executive "
                    "sponsor engaging",
                    pattern={
                        "source": [WEBHOOK_EVENT_SOURCE],
                        "detail-type": ["engagement.recorded"],
                        "detail": {"data": {"kind": touch_kinds()}},
                    },
                    max_retries=8,
                    max_event_age_seconds=6 * 3600,
                ),
                *_product_track_rules(),
                Rule(
                    name="success-accounts",
                    description="An account the hub now knows: the signals that reached the recorder before the "
                    "lead processor linked it are adopted",
                    pattern={"source": [WEBHOOK_EVENT_SOURCE], "detail-type": [ACCOUNT_UPSERTED]},
                    max_retries=8,
                    max_event_age_seconds=6 * 3600,
                ),
                Rule(
                    name="success-plans",
                    description="A customer's success plan started by its handoff (milestones, executive sponsor)",
                    pattern={"source": [HANDOFF_EVENT_SOURCE], "detail-type": [SUCCESS_PLAN_CREATED]},
                    max_retries=8,
                    max_event_age_seconds=6 * 3600,
                ),
            ),
            # the handoff store, read only: the plan and the sponsor of the handoff a success_plan.created names
            tables={SUCCESS.name: "read_write", LEADS.name: "read", HANDOFFS.name: "read"},
            publishes_events=True,
        ),
        Function(
            name="success_api",
            description="Account health, expansion, interventions; product usage, analytics, feedback and launches; "
            "the CS <-> marketing view and campaigns",
            memory_mb=1024,
            timeout_seconds=29,
            routes=(
                Route(
                    method="GET",
                    path=HEALTH_PATH,
                    operation="account_health",
                    summary="An account's health: score, band, trend, breakdown (measures, caps), NA measures, risks, "
                    "open interventions",
                    description="`{tenant_id}` is the hub's account id, a vendor-qualified id (`stripe:cus_…`) or "
                    "the company's domain. Computed from the account's signal log at the moment of the call.",
                    domain=ThrottleDomain.SUCCESS,
                    groups=HEALTH_READERS,
                ),
                Route(
                    method="GET",
                    path="/api/v1/integrations/success/expansion/{tenant_id}",
                    operation="account_expansion",
                    summary="An account's expansion readiness with its evidence and the products its use suggests",
                    domain=ThrottleDomain.SUCCESS,
                    groups=HEALTH_READERS,
                ),
                Route(
                    method="GET",
                    path="/api/v1/cs-sales/expansion/{customer_id}",
                    operation="customer_expansion",
                    summary="The sales view of an account's expansion readiness (the same figures)",
                    description="`{customer_id}` is the hub's account id, a vendor-qualified id or the domain.",
                    domain=ThrottleDomain.SALES,
                    groups=HEALTH_READERS,
                ),
                Route(
                    method="POST",
                    path="/api/v1/integrations/product/usage",
                    operation="report_usage",
                    summary="A tenant's product usage (active users, seats, API calls, feature events), once per "
                    "message id",
                    description="Idempotent on `message_id`: the same id and body again is 200 with the stored "
                    "report, the same id with another body 409.",
                    domain=ThrottleDomain.SUCCESS,
                    groups=USAGE_WRITERS,
                    json_body=True,
                ),
                Route(
                    method="POST",
                    path="/api/v1/integrations/success/interventions",
                    operation="request_intervention",
                    summary="Start a playbook for an account by hand (`tenant_id`, `playbook`, `reason`)",
                    description="The one already open for that account and playbook when there is one (200); "
                    "a new one 201, published as `customer.intervention_started` with the playbook's requests.",
                    domain=ThrottleDomain.SUCCESS,
                    groups=INTERVENTION_USERS,
                    json_body=True,
                ),
                Route(
                    method="GET",
                    path="/api/v1/integrations/success/interventions",
                    operation="list_interventions",
                    summary="Interventions of an account (`tenant_id`) or of every account by `status` (open, "
                    "closed), with the health before and, once evaluated, after and the outcome",
                    domain=ThrottleDomain.SUCCESS,
                    groups=INTERVENTION_USERS,
                ),
                Route(
                    method="POST",
                    path="/api/v1/integrations/product/feedback",
                    operation="add_feedback",
                    summary="Product feedback (a request, bug or praise about a feature), kept once",
                    description="Kept once under `feedback_id`, or under what it says (account, feature, kind, "
                    "text): 201 new, 200 the same again, 409 another body under a used `feedback_id`.",
                    domain=ThrottleDomain.SUCCESS,
                    groups=FEEDBACK_USERS,
                    json_body=True,
                ),
                Route(
                    method="GET",
                    path="/api/v1/integrations/product/feedback",
                    operation="rank_feedback",
                    summary="Feature requests (or `kind`) ranked by the ARR of the accounts asking",
                    domain=ThrottleDomain.SUCCESS,
                    groups=FEEDBACK_USERS,
                ),
                Route(
                    method="GET",
                    path="/api/v1/integrations/product/analytics/{tenant_id}",
                    operation="product_analytics",
                    summary="An account's feature use and adoption, active-user trend, seats, expansion indicators",
                    domain=ThrottleDomain.SUCCESS,
                    groups=ANALYTICS_READERS,
                ),
                Route(
                    method="POST",
                    path="/api/v1/integrations/product/launches",
                    operation="schedule_launch",
                    summary="A feature launch for marketing (`product.launch_scheduled`), once per `launch_id`",
                    domain=ThrottleDomain.SUCCESS,
                    groups=LAUNCH_USERS,
                    json_body=True,
                ),
                Route(
                    method="GET",
                    path="/api/v1/integrations/product/launches/{launch_id}",
                    operation="launch_adoption",
                    summary="A launch and its feature's adoption by the accounts it targets",
                    domain=ThrottleDomain.SUCCESS,
                    groups=LAUNCH_USERS,
                ),
                Route(
                    method="GET",
                    path="/api/v1/cs-marketing/health/{customer_id}",
                    operation="marketing_health",
                    summary="The marketing view of an account's health: band, advocacy eligibility, suppression",
                    domain=ThrottleDomain.MARKETING,
                    groups=CS_MARKETING_USERS,
                ),
                Route(
                    method="POST",
                    path="/api/v1/cs-marketing/campaigns",
                    operation="request_campaign",
                    summary="A CS-driven campaign (advocacy, reference, retention, upsell) with its audience by "
                    "health band and NPS, published as `marketing.campaign_requested`; once per `campaign_id`",
                    domain=ThrottleDomain.MARKETING,
                    groups=CS_MARKETING_USERS,
                    json_body=True,
                ),
                Route(
                    method="POST",
                    path=MILESTONE_PATH,
                    operation="complete_milestone",
                    summary="A CSM records a milestone of the customer's success plan as completed (now)",
                    description="`{customer_id}` is the hub's account id, a vendor-qualified id or the domain; "
                    "`{milestone_id}` a milestone of its latest success plan (the one its customer handoff started). "
                    "201 completed now; 200 completed before (the first completion stands); 404 an unknown "
                    "customer, no plan, or no such milestone. The health's `milestones_on_time` reads it.",
                    domain=ThrottleDomain.SUCCESS,
                    groups=MILESTONE_USERS,
                ),
                Route(
                    method="GET",
                    path="/api/v1/integrations/success/playbooks",
                    operation="playbook_effectiveness",
                    summary="Each playbook with its interventions' outcomes: opened, closed, improved, unchanged, "
                    "worsened, the mean score change",
                    domain=ThrottleDomain.SUCCESS,
                    groups=INTERVENTION_USERS,
                ),
            ),
            tables={SUCCESS.name: "read_write", LEADS.name: "read"},
            publishes_events=True,
        ),
        Function(
            name="success_notifier",
            description="Tells a playbook's Slack channel and emails, and the account's CSM (the rep holding its "
            "customer handoff), when its intervention starts",
            memory_mb=512,
            timeout_seconds=30,
            rules=(
                Rule(
                    name="success-intervention-alerts",
                    description="Interventions started: the playbook's alert",
                    pattern={"source": [EVENT_SOURCE], "detail-type": ["customer.intervention_started"]},
                    max_retries=8,
                    max_event_age_seconds=6 * 3600,
                ),
            ),
            tables={LEADS.name: "read", HANDOFFS.name: "read"},
            secrets=(HANDOFF_NOTIFICATIONS.name,),
            sends_email=True,
        ),
        Function(
            name="success_nightly",
            description="Recomputes every account's health so time-based measures decay without new signals, and "
            "evaluates the interventions whose time has come",
            memory_mb=1024,
            timeout_seconds=900,
            schedules=(
                Schedule(
                    name="success-nightly",
                    description="Recompute every account's health (days since touch, days past due, windows)",
                    expression="cron(15 3 * * ? *)",
                ),
            ),
            tables={SUCCESS.name: "read_write", LEADS.name: "read"},
            publishes_events=True,
        ),
    ),
)
