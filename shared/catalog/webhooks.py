"""The webhook gateway's part of the catalog: vendor webhooks and the tracking API in, stored in the delivery
table (the outbox), published from its stream as canonical events; and the delivery log."""

from __future__ import annotations

from shared.catalog.model import Domain, Function, Group, Index, Route, Secret, StreamTrigger, Table, ThrottleDomain

EVENT_SOURCE = "revops.webhooks"
# The delivery-table items that carry an event for the publisher (`shared/adapters/dynamodb_ledger.py`
# writes them); the publisher's stream trigger matches them.
OUTBOX_CLAIM_KIND = "claim"
TRACKING_CALLS = ("batch", "track", "identify", "page", "screen", "group", "alias")
# The lead table's name, for the grants of this module's functions: `shared.catalog.leads` declares the table with
# it (and imports this module, so it is named here)
LEADS_TABLE = "leads"

# The path of analytics.js's short calls (`TRACKING_SHORT_PATHS`), the one tracking route browsers call
TRACKING_SHORT_ROUTE = "/v1/{call}"

# analytics.js (Analytics Next) posts each call to `<apiHost>/<its type's first letter>`, a batch to `<apiHost>/b`
# (read by the tracking API's vendor, `shared.webhooks.vendors.segment`)
TRACKING_SHORT_PATHS = {
    "b": "batch",
    "t": "track",
    "i": "identify",
    "p": "page",
    "s": "screen",
    "g": "group",
    "a": "alias",
}

WEBHOOK_DELIVERIES = Table(
    name="webhook-deliveries",
    partition_key="pk",
    sort_key=None,
    ttl_attribute="expires_at",
    indexes=(
        Index(
            "by-time",
            partition_key="log_partition",
            sort_key="log_sort",
            include=("attempt_id", "vendor", "received_at", "outcome", "log"),
        ),
        # sparse: only items whose raw body names a person carry `subject`
        Index("by-subject", partition_key="subject", include=("attempt_id", "kind", "vendor", "dedupe_key")),
    ),
    access_patterns=(
        "accept a one-event delivery: one conditional put of pk=EVENT#<namespace>#<dedupe key> holding the claim "
        "and the attempt with its raw body (zlib); the condition is the de-duplication",
        "accept a batch: one transaction of pk=ATTEMPT#<attempt id> (raw body) and a conditional put of each "
        "event's claim pk=EVENT#<namespace>#<dedupe key> pointing at it (several for more than 99 events)",
        "record every other attempt (rejected, handshake, duplicate) with its outcome: put pk=ATTEMPT#<attempt id>",
        "publish: the stream's new images of items with kind=claim feed the webhook publisher; a batch's attempt "
        "is read back with get pk=ATTEMPT#<attempt id>",
        "list attempts newest first: query by-time on log_partition=LOG#<yyyy-mm-dd>#<shard> "
        "(4 write shards per day) with log_sort=<received-at>#<attempt id> descending, merged across shards; "
        "the index leaves the raw body out",
        "a person's raw bodies (privacy erasure and export): query by-subject on subject=<salted hash of a subject "
        "key> (the event's email, else the vendor's id of the person; set on a one-event delivery's item, on each "
        "claim of a batch, whose attempt pk=ATTEMPT#<attempt id> holds the body, on a refused attempt naming one "
        "person, and on a pointer pk=SUBJECT#<hash>#<attempt id> (kind=subject) for each person a kept body names "
        "that no other item of its write carries), written in the same write; then get / update the items found",
        "everything expires after 30 days (TTL expires_at), longer than any vendor's retries (Stripe: 3 days)",
    ),
)

WEBHOOK_SIGNING_SECRETS = Secret(
    name="webhook-signing-secrets",
    description='Vendor webhook secrets, JSON {"<vendor>": ["<current>", "<previous>", ...]}',
    local_values_file="config/local.secrets.json",
)

WEBHOOKS = Domain(
    name="webhooks",
    event_source=EVENT_SOURCE,
    tables=(WEBHOOK_DELIVERIES,),
    secrets=(WEBHOOK_SIGNING_SECRETS,),
    functions=(
        Function(
            name="webhook_receiver",
            description="Verifies vendor webhooks and stores their events (the outbox), one write per delivery",
            memory_mb=512,
            timeout_seconds=15,
            routes=(
                Route(
                    method="POST",
                    path="/webhooks/{vendor}",
                    operation="receive_webhook",
                    summary="Receive a vendor webhook",
                    description="Signed by the vendor's scheme; 202 stored (published from the outbox), 200 "
                    "duplicate, 400 malformed, 401 bad signature, 404 unknown vendor, 413 too large.",
                    domain=ThrottleDomain.WEBHOOKS,
                    groups=None,
                ),
            ),
            tables={WEBHOOK_DELIVERIES.name: "read_write"},
            secrets=(WEBHOOK_SIGNING_SECRETS.name,),
        ),
        Function(
            name="tracking_api",
            description="Segment-compatible tracking API: analytics SDK calls stored like webhooks (the outbox)",
            memory_mb=1024,  # a batch of 2,500 messages is parsed and stored within the 15 s
            timeout_seconds=15,
            routes=(
                *(
                    Route(
                        method="POST",
                        path=f"/v1/{call}",
                        operation=f"track_{call}",
                        summary=f"Segment-compatible {call} call",
                        description="Segment HTTP tracking API; authenticate with a write key as the HTTP Basic "
                        "user name (or `writeKey` in the body). Answers carry `Access-Control-Allow-Origin: *`.",
                        domain=ThrottleDomain.TRACKING,
                        groups=None,
                    )
                    for call in TRACKING_CALLS
                ),
                # analytics.js's short paths, one resource for all of them (a path parameter beside the calls' own
                # paths, which API Gateway matches first): seven would cost the main stack 21 resources with their
                # preflights
                Route(
                    method="POST",
                    path=TRACKING_SHORT_ROUTE,
                    operation="track_short",
                    summary="Segment-compatible call at analytics.js's short path",
                    description="A call as analytics.js (Analytics Next) posts it, to `<apiHost>/<first letter of "
                    "its type>`: "
                    + ", ".join(f"`{short}` ({call})" for short, call in TRACKING_SHORT_PATHS.items())
                    + ". The only tracking path browsers ask a CORS preflight (OPTIONS) of, answered without auth.",
                    domain=ThrottleDomain.TRACKING,
                    groups=None,
                ),
            ),
            tables={WEBHOOK_DELIVERIES.name: "read_write"},
            secrets=(WEBHOOK_SIGNING_SECRETS.name,),
        ),
        Function(
            name="webhook_publisher",
            description="Puts the events of stored deliveries on the bus as canonical events, from the table's stream",
            memory_mb=512,
            timeout_seconds=60,
            streams=(
                StreamTrigger(
                    table=WEBHOOK_DELIVERIES.name,
                    description="Every newly stored event (a claim) of an accepted delivery",
                    new_image={"kind": {"S": [OUTBOX_CLAIM_KIND]}},
                    batch_size=100,
                    max_retries=10,
                    max_record_age_seconds=6 * 3600,
                ),
            ),
            # the erasure tombstones are in the lead table; the deliveries are written to blank the stored body of
            # an event about an erased person
            tables={WEBHOOK_DELIVERIES.name: "read_write", LEADS_TABLE: "read"},
            publishes_events=True,
        ),
        Function(
            name="webhook_deliveries_api",
            description="Lists the webhook delivery log",
            memory_mb=512,
            timeout_seconds=10,
            routes=(
                Route(
                    method="GET",
                    path="/api/v1/webhooks/deliveries",
                    operation="list_deliveries",
                    summary="List webhook deliveries, newest first",
                    description="What each vendor sent, when, and what became of it. Groups: admin.",
                    domain=ThrottleDomain.ADMIN,
                    groups=frozenset({Group.ADMIN}),
                ),
            ),
            tables={WEBHOOK_DELIVERIES.name: "read"},
        ),
    ),
)
