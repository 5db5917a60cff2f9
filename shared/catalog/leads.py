"""The lead domain's part of the catalog: the lead processor on the bus, the nurture schedule, the lead API,
and the `leads` table."""

from __future__ import annotations

from shared.catalog.model import (
    Domain,
    Function,
    Group,
    Index,
    Route,
    Rule,
    Schedule,
    StreamTrigger,
    Table,
    ThrottleDomain,
)
from shared.catalog.partners import PartnerRoute
from shared.catalog.webhooks import EVENT_SOURCE as WEBHOOK_EVENT_SOURCE
from shared.catalog.webhooks import LEADS_TABLE
from shared.leads.crm_changes import CONFLICT_RESOLVED, FIELD_CHANGED
from shared.leads.crm_changes import RECORD_PREFIX as CONTACT_RECORD_PREFIX
from shared.leads.inputs import LEAD_INPUT_EVENTS

EVENT_SOURCE = "revops.leads"
# The handoff domain's source, which the lead processor listens to (named here because
# shared.catalog.handoffs imports this module, not the reverse).
HANDOFF_EVENT_SOURCE = "revops.handoffs"
# The CRM sync's source: the lead processor takes a CRM's change of a synced profile field, and a person's
# resolution of a conflict on one, from it (named here because shared.catalog.crm imports this module, not the
# reverse).
SYNC_EVENT_SOURCE = "revops.sync"
# The customer success domain's source: the handoff router takes expansion signals from it (named here because
# shared.catalog.success imports shared.catalog.handoffs, not the reverse).
SUCCESS_EVENT_SOURCE = "revops.success"
# The CRM sync's table, which the lead API reads (a lead's sync audit trail); named here for the same reason.
CRM_SYNC_TABLE = "crm-sync"
# The lead-table items that carry a lead event for the publisher (the outbox: `shared/adapters/
# dynamodb_lead_outbox.py` writes them with the change that made them); the publisher's stream trigger matches them.
OUTBOX_ENTITY = "lead_event"
OUTBOX_DAYS = 7  # how long a published lead event's outbox item is kept (TTL `expires_at`), for an operator to read
LEAD_GROUPS = frozenset({Group.MARKETING, Group.SALES, Group.ADMIN})
MODEL_EDITORS = frozenset({Group.MARKETING, Group.ADMIN})

LEADS = Table(
    name=LEADS_TABLE,
    partition_key="pk",
    sort_key="sk",
    ttl_attribute="expires_at",
    indexes=(
        Index("by-stage", partition_key="stage_partition", sort_key="stage_sort"),
        Index("by-account", partition_key="contact_account", sort_key="pk", include=("contact_id",)),
    ),
    access_patterns=(
        "resolve identities to their contacts: batch get pk=IDENTITY#<kind>#<value>, sk=OWNER",
        "commit a change all or nothing: one transaction of the contacts (pk=CONTACT#<id>, sk=PROFILE, with an "
        "optimistic `version` condition), the identities they claim (conditional put, first claim wins), the "
        "engagement they log (conditional put pk=CONTACT#<id>, sk=ENG#<event id>), the accounts they touch and "
        "the accounts' identities, their history entries and the lead events the change makes (the outbox: "
        "pk=CONTACT#<lead id>, sk=OUTBOX#<change time>#<event id>, entity=lead_event, the event as JSON, "
        "expires_at after 7 days), so an event exists exactly when the change that made it does",
        "publish: the stream's new images of items with entity=lead_event feed the lead publisher",
        "read a contact: get pk=CONTACT#<id>, sk=PROFILE; read a log: query pk=CONTACT#<id>, sk begins_with ENG#",
        "events applied once (redeliveries and replays change nothing): get pk=CONTACT#<id> or ACCOUNT#<id>, "
        "sk=APPLIED#<event id> before applying a contact or account event that logs no engagement; the marker is a "
        "conditional put in the change's transaction",
        "history: query pk=CONTACT#<id>, sk begins_with TRANSITION#, SCORE# or MERGE# (merges stored under both "
        "contacts)",
        "list a stage by score: query by-stage on stage_partition=STAGE#<stage>, stage_sort=<score, padded>#<id> "
        "descending (only contacts not merged away carry the index keys)",
        "accounts: get pk=ACCOUNT#<id>, sk=PROFILE; resolve pk=ACCOUNT_IDENTITY#<kind>#<value>, sk=OWNER",
        "the contacts of an account (attribution): query by-account on contact_account=<account id>, sorted by "
        "pk=CONTACT#<id> (only contacts not merged away and with an account carry the index key)",
        "the scoring model in force: get pk=SCORING_MODEL, sk=ACTIVE (every use case) and pk=SCORING_MODEL#<version>, "
        "sk=DEFINITION (once per version per function); both written in one transaction by `make rescore`",
        "every contact for rescoring and simulation: parallel scan, sk=PROFILE",
        "the nurture clock's place (where the hourly `lead_nurture` stopped in each stage): get/put "
        "pk=NURTURE_CLOCK, sk=CURSORS",
        "privacy (shared/catalog/privacy.py): an erasure's receipt, get / conditional put "
        "pk=ERASURE_RECEIPT#<salted hash of the email>, sk=RECEIPT; a tombstone per erased subject, batch put "
        "pk=ERASURE#<salted hash of a subject key>, sk=TOMBSTONE, batch-got by every consumer before applying an event",
    ),
)

LEADS_DOMAIN = Domain(
    name="leads",
    event_source=EVENT_SOURCE,
    tables=(LEADS,),
    functions=(
        Function(
            name="lead_processor",
            description="Resolves identities, keeps engagement logs, rescores and stages leads from canonical events",
            memory_mb=1024,
            timeout_seconds=30,
            rules=(
                Rule(
                    name="leads-from-webhook-events",
                    description="Canonical events about people, accounts, engagement, deals and handoffs",
                    pattern={"source": [WEBHOOK_EVENT_SOURCE], "detail-type": list(LEAD_INPUT_EVENTS)},
                    max_retries=8,
                    max_event_age_seconds=6 * 3600,
                ),
                Rule(
                    name="leads-from-handoff-outcomes",
                    description="Sales accepted a lead's handoff (the lead becomes an SQL) or recycled it (a later "
                    "buying signal hands it off again)",
                    pattern={
                        "source": [HANDOFF_EVENT_SOURCE],
                        "detail-type": ["handoff.accepted", "handoff.recycled"],
                        "detail": {"kind": ["lead"]},
                    },
                    max_retries=8,
                    max_event_age_seconds=6 * 3600,
                ),
                Rule(
                    name="leads-from-crm-field-changes",
                    description="A CRM's change of a lead's profile field, as the CRM sync decided it (no echoes), "
                    "and a person's resolution of a conflict on one (the email)",
                    pattern={
                        "source": [SYNC_EVENT_SOURCE],
                        "detail-type": [FIELD_CHANGED, CONFLICT_RESOLVED],
                        "detail": {"record": [{"prefix": CONTACT_RECORD_PREFIX}]},
                    },
                    max_retries=8,
                    max_event_age_seconds=6 * 3600,
                ),
            ),
            tables={LEADS.name: "read_write"},
        ),
        Function(
            name="lead_nurture",
            description="Rescores nurtured leads every hour so time-based handoffs (14 days of nurturing) fire",
            memory_mb=1024,
            timeout_seconds=300,
            schedules=(
                Schedule(
                    name="lead-nurture-hourly",
                    description="Rescore Lead and MQL contacts as of now",
                    expression="rate(1 hour)",
                ),
            ),
            tables={LEADS.name: "read_write"},
        ),
        Function(
            name="leads_api",
            description="Lead capture, lead profiles with explained scores, unmerge and scoring simulation",
            memory_mb=1024,
            timeout_seconds=29,
            routes=(
                Route(
                    method="POST",
                    path="/api/v1/integrations/sales/leads",
                    operation="capture_lead",
                    summary="Capture a lead from a form or a partner",
                    description="201 with a new lead_id, or 200 with the existing one when the person is known. "
                    "Groups: marketing, sales, admin.",
                    domain=ThrottleDomain.MARKETING,
                    groups=LEAD_GROUPS,
                    json_body=True,
                ),
                PartnerRoute(
                    method="POST",
                    path="/api/v1/partners/leads",
                    operation="capture_lead",
                    summary="Capture a lead from a partner that sends an API key",
                    description="`POST /api/v1/integrations/sales/leads` for partners that can only send a key: "
                    "`x-api-key`, a key of the partner's usage plan (`make rotate-api-key`). 201 with a new lead_id, "
                    "or 200 with the existing one when the person is known.",
                    domain=ThrottleDomain.MARKETING,
                    groups=None,
                    json_body=True,
                ),
                Route(
                    method="GET",
                    path="/api/v1/leads",
                    operation="find_leads",
                    summary="Find a lead by email, or list a stage by score",
                    description="Either `email`, or `stage` (with optional `min_score`), pages by `cursor`.",
                    domain=ThrottleDomain.MARKETING,
                    groups=LEAD_GROUPS,
                ),
                Route(
                    method="GET",
                    path="/api/v1/leads/{lead_id}",
                    operation="get_lead",
                    summary="A lead: profile, score with its breakdown, stage, identities and history",
                    description="The score is explained with the model it was computed with (`model_version`).",
                    domain=ThrottleDomain.MARKETING,
                    groups=LEAD_GROUPS,
                ),
                Route(
                    method="POST",
                    path="/api/v1/leads/{lead_id}/unmerge",
                    operation="unmerge_lead",
                    summary="Undo a merge: both leads get their own identities, profile, engagement and scores back",
                    domain=ThrottleDomain.MARKETING,
                    groups=MODEL_EDITORS,
                    json_body=True,
                ),
                Route(
                    method="POST",
                    path="/api/v1/scoring/simulate",
                    operation="simulate_model",
                    summary="What-if: a candidate scoring model against the stored engagement logs, changing nothing",
                    domain=ThrottleDomain.MARKETING,
                    groups=MODEL_EDITORS,
                    json_body=True,
                ),
            ),
            tables={LEADS.name: "read_write", CRM_SYNC_TABLE: "read"},
        ),
        Function(
            name="lead_publisher",
            description="Puts the lead events each committed change made on the bus, from the lead table's stream",
            memory_mb=512,
            timeout_seconds=60,
            streams=(
                StreamTrigger(
                    table=LEADS.name,
                    description="Every lead event a committed change made (an outbox item)",
                    new_image={"entity": {"S": [OUTBOX_ENTITY]}},
                    batch_size=100,
                    max_retries=10,
                    max_record_age_seconds=6 * 3600,
                ),
            ),
            publishes_events=True,
        ),
    ),
)
