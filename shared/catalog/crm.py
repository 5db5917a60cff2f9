"""The CRM sync's part of the catalog: the `crm-sync` table (synced records, their audit trail, conflicts, links
to CRM records), the recorder that decides the hub's and the CRMs' changes, the queue of change notices and
the writer that batches them to HubSpot and Salesforce, the sync API, and the reconciliation schedule."""

from __future__ import annotations

from shared.catalog.attribution import EVENT_SOURCE as ATTRIBUTION_EVENT_SOURCE
from shared.catalog.leads import CRM_SYNC_TABLE, HANDOFF_EVENT_SOURCE, LEADS, SYNC_EVENT_SOURCE
from shared.catalog.leads import EVENT_SOURCE as LEAD_EVENT_SOURCE
from shared.catalog.model import (
    Domain,
    Function,
    Group,
    Index,
    QueueTrigger,
    Route,
    Rule,
    Schedule,
    Secret,
    Table,
    ThrottleDomain,
    WorkQueue,
)
from shared.catalog.success import EVENT_SOURCE as SUCCESS_EVENT_SOURCE
from shared.catalog.webhooks import EVENT_SOURCE as WEBHOOK_EVENT_SOURCE

EVENT_SOURCE = SYNC_EVENT_SOURCE
CRM_VENDORS = ("hubspot", "salesforce")
CRM_RECORD_EVENTS = (
    "contact.upserted",
    "account.upserted",
    "deal.updated",
    "deal.stage_changed",
    "deal.won",
    "deal.lost",
)
LEAD_HANDOFF_EVENTS = (
    "handoff.assigned",
    "handoff.queued",
    "handoff.accepted",
    "handoff.rejected",
    "handoff.sla_breached",
    "handoff.escalated",
    "handoff.completed",
    "handoff.recycled",
)
SYNC_READERS = frozenset({Group.SALES, Group.MARKETING, Group.SUCCESS, Group.ADMIN})
CONFLICT_RESOLVERS = frozenset({Group.SALES, Group.ADMIN})  # sales ops and admins decide critical fields

CRM_SYNC = Table(
    name=CRM_SYNC_TABLE,
    partition_key="pk",
    sort_key="sk",
    indexes=(Index("by-status", partition_key="conflict_status", sort_key="flagged_sort"),),
    # only an erasure's kept lookup values expire (`ERASING#...`, 15 days: a dead-lettered notice never redriven)
    ttl_attribute="expires",
    access_patterns=(
        "a synced record: get pk=RECORD#<kind>:<hub_id>, sk=RECORD; stored on condition of its version, with its "
        "audit entries, conflicts and links in one transaction",
        "a record's audit trail, newest first: query pk=RECORD#<kind>:<hub_id>, sk begins_with AUDIT# (descending)",
        "the record a CRM record is: get pk=LINK#<crm>#<kind>#<crm id>, sk=LINK",
        "a conflict: get pk=CONFLICT#<id>, sk=CONFLICT; conflicts of a status, newest first: query by-status "
        "(conflict_status=open|resolved) on flagged_sort, descending",
        "until when reconciliation compared a CRM's objects: get pk=CHECKPOINT#<crm>#<kind>, sk=CHECKPOINT",
        "a bus event decided on a record once: batch get pk=RECORD#<kind>:<hub_id>, sk=RECORD and "
        "sk=APPLIED#<event id> before deciding; the marker is a conditional put in the commit's transaction",
        "what an erasure finds a never-answered create's CRM record by: get pk=ERASING#<crm>#<record key>, "
        "sk=ERASING (kept before its notice is queued, deleted once the record is)",
    ),
)

# Change notices carry no values (the writer reads the record when it writes), so their order does not matter:
# a standard queue, whose batches can be as large as a CRM's batch calls (FIFO batches stop at 10).
CHANGES = WorkQueue(
    name="crm-sync-changes",
    purpose="notices that a synced record changed and a CRM may need to hear of it",
    fifo=False,
    visibility_timeout_seconds=300,
    max_receive_count=24,  # every 5 minutes for 2 hours: a CRM down for an hour loses nothing
)

CRM_CREDENTIALS = Secret(
    name="crm-credentials",
    description='How the writer reaches the CRMs: {"hubspot": {"access_token": "<private app token>", "api_url": null '
    '(HubSpot itself) or a stand-in\'s URL}, "salesforce": {"auth": "client_credentials" | "jwt_bearer", '
    '"instance_url": "https://<my domain>.my.salesforce.com", "client_id", "client_secret" | "username" + '
    '"private_key"}}; a CRM left out is not synced',
    local_values_file="config/local.crm.json",
)

CRM_DOMAIN = Domain(
    name="crm",
    event_source=EVENT_SOURCE,
    tables=(CRM_SYNC,),
    secrets=(CRM_CREDENTIALS,),
    work_queues=(CHANGES,),
    functions=(
        Function(
            name="crm_sync_recorder",
            description="Decides the hub's and the CRMs' changes on synced records and notices the writer",
            memory_mb=1024,
            timeout_seconds=30,
            rules=(
                Rule(
                    name="crm-sync-hub-changes",
                    description="What the hub changes on synced records: leads (their score, stage and profile), "
                    "their handoffs, account health, won deals' attribution, and the expansion signals it creates as "
                    "CRM tasks or opportunities",
                    pattern={
                        "source": [
                            LEAD_EVENT_SOURCE,
                            HANDOFF_EVENT_SOURCE,
                            SUCCESS_EVENT_SOURCE,
                            ATTRIBUTION_EVENT_SOURCE,
                        ],
                        "detail-type": [
                            "lead.score_changed",
                            "lead.stage_changed",
                            "lead.mql_reached",
                            "lead.handoff_requested",
                            "lead.merged",
                            "lead.unmerged",
                            "lead.profile_changed",
                            *LEAD_HANDOFF_EVENTS,
                            "customer.health_changed",
                            "customer.expansion_signal",
                            "conversion.attributed",
                        ],
                    },
                    max_retries=8,
                    max_event_age_seconds=6 * 3600,
                ),
                Rule(
                    name="crm-sync-crm-changes",
                    description="What HubSpot and Salesforce report of their records",
                    pattern={
                        "source": [WEBHOOK_EVENT_SOURCE],
                        "detail-type": list(CRM_RECORD_EVENTS),
                        "detail": {"source_vendor": list(CRM_VENDORS)},
                    },
                    max_retries=8,
                    max_event_age_seconds=6 * 3600,
                ),
            ),
            tables={CRM_SYNC.name: "read_write", LEADS.name: "read"},
            sends_to=(CHANGES.name,),
            publishes_events=True,
        ),
        Function(
            name="crm_sync_writer",
            description="Writes the synced records' changes to HubSpot and Salesforce in batches",
            memory_mb=1024,
            timeout_seconds=45,
            queue_triggers=(
                QueueTrigger(
                    queue=CHANGES.name,
                    description="Change notices, batched: one CRM call per CRM and object per batch",
                    # a HubSpot batch call takes 100 records and a Salesforce one 200: 200 notices (a record's to
                    # each CRM) fill a HubSpot call and half a Salesforce one; a second's wait fills it in bulk
                    batch_size=200,
                    max_batching_window_seconds=1,
                    # few writers at once: the CRMs' rate limits are per app, and each writer paces its calls
                    # from what it has seen (shared/crm/pacing.py)
                    max_concurrency=2,
                ),
            ),
            # the lead store, read: an account's contacts, whose association waits for its company (`links_waiting`)
            tables={CRM_SYNC.name: "read_write", LEADS.name: "read"},
            secrets=(CRM_CREDENTIALS.name,),
            sends_to=(CHANGES.name,),  # a rate-limited notice is queued again, delayed by the CRM's Retry-After
        ),
        Function(
            name="crm_sync_api",
            description="A synced record, its audit trail, and the conflicts a person decides",
            memory_mb=512,
            timeout_seconds=29,
            routes=(
                Route(
                    method="GET",
                    path="/api/v1/sync/audit",
                    operation="sync_audit",
                    summary="A synced record's audit trail, newest first (`record`: `contact:<lead_id>`, "
                    "`account:<account_id>`, `deal:<deal_id>`, or a lead id)",
                    domain=ThrottleDomain.SALES,
                    groups=SYNC_READERS,
                ),
                Route(
                    method="GET",
                    path="/api/v1/sync/records",
                    operation="sync_record",
                    summary="A synced record: each field's value, source and time, its CRM ids, what is pending",
                    domain=ThrottleDomain.SALES,
                    groups=SYNC_READERS,
                ),
                Route(
                    method="GET",
                    path="/api/v1/sync/conflicts",
                    operation="list_conflicts",
                    summary="Conflicts on critical fields (`status`: open, resolved), newest first",
                    domain=ThrottleDomain.SALES,
                    groups=SYNC_READERS,
                ),
                Route(
                    method="POST",
                    path="/api/v1/sync/conflicts/{conflict_id}/resolve",
                    operation="resolve_conflict",
                    summary="Settle a conflict: keep the hub's value, take the CRM's, or set another",
                    description='`{"choose": "hub" | "crm"}` or `{"value": "..."}`. The value becomes '
                    "the record's as of now and goes to every CRM; published as `sync.conflict_resolved`. "
                    "Resolving again with the same value answers the resolution; with another, 409.",
                    domain=ThrottleDomain.SALES,
                    groups=CONFLICT_RESOLVERS,
                    json_body=True,
                ),
            ),
            # the lead store, read: an account or contact the hub knows before it is synced (a resolution naming
            # the lead's own account, a record not written to any CRM yet)
            tables={CRM_SYNC.name: "read_write", LEADS.name: "read"},
            sends_to=(CHANGES.name,),
            publishes_events=True,
        ),
        Function(
            name="crm_sync_reconciler",
            description="Compares what changed in each CRM with the hub's records: repairs, flags, counts",
            memory_mb=1024,
            timeout_seconds=300,
            schedules=(
                Schedule(
                    name="crm-sync-reconcile",
                    description="Reconcile recently changed CRM records with the hub (seed 002: automated "
                    "discrepancy detection)",
                    expression="rate(30 minutes)",
                ),
            ),
            tables={CRM_SYNC.name: "read_write", LEADS.name: "read"},
            secrets=(CRM_CREDENTIALS.name,),
            sends_to=(CHANGES.name,),
            publishes_events=True,
        ),
    ),
)
