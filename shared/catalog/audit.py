"""The audit trail's part of the catalog (issue 15): the append-only `audit` table and the audit API.

Every function serving an authenticated (`/api/v1`) route appends to the table: `compose` grants it "append"
(PutItem only), so no domain restates it; an explicit IAM Deny on every function role forbids any update or delete
of it (`infra/functions.py`, `APPEND_ONLY_DENIED`), whatever a later grant allows.
"""

from __future__ import annotations

from shared.catalog.access_log import NO_VALUE
from shared.catalog.model import AccessLogTrigger, Domain, Function, Group, Index, Route, Table, ThrottleDomain

# What API Gateway answers itself, no function having run, that the trail records (`shared.audit.gateway_refusals`):
# of any route, who the caller is (401) or what they may do (403); of a write, its request validator (400), the
# payload limit (413), the media type (415) and the throttle (429)
GATEWAY_REFUSAL_STATUSES = ("400", "401", "403", "413", "415", "429")

AUDIT = Table(
    name="audit",
    partition_key="pk",
    sort_key="sk",
    ttl_attribute="expires_at",
    append_only=True,
    indexes=(
        Index("by-time", partition_key="time_partition", sort_key="position"),
        Index("by-actor", partition_key="actor_key", sort_key="position"),
        Index("by-route", partition_key="route_key", sort_key="position"),
        Index("by-target", partition_key="target", sort_key="position"),
    ),
    access_patterns=(
        "append only, never overwrite: a put conditional on attribute_not_exists(pk) (a retried put of the same "
        "record is a no-op); IAM allows functions PutItem only (a transaction's puts are authorized as PutItem) and "
        "explicitly denies every function UpdateItem, DeleteItem, BatchWriteItem and PartiQL writes, in a "
        "transaction too; only TTL (expires_at, retention_days of config/audit.json) removes a record",
        "a request's or an operator run's records: query pk=REQUEST#<request id> (sk=<phase> for the record, "
        "<phase>#TARGET#<n> for its further targets); a write's receipt (sk=received) is listed by target, actor "
        "and route (not by time) while its outcome (sk=completed, one get) is missing",
        "one item per target, because a GSI key holds one value and a write can name several (a spend batch names "
        "each line): the record's item carries its first target and the record whole; each further target is "
        "an item holding the record without the target list, under the same pk. Only the record's item carries "
        "the time, actor and route keys, so those listings see each record once; a record without targets is "
        "one item, written with one PutItem (several: one transaction of puts per 100 items)",
        "list by time, newest first: query by-time on time_partition=MONTH#<yyyy-mm>#<shard> (4 write shards "
        "per month: every audited request writes there, and writes with ever-increasing sort keys all land on one "
        "partition, ~1,000 writes/s) with position=<at>#<request id>#<phase> between from and to, descending, "
        "merged across the shards, month after month (a year's retention is 13 months: 52 queries at most)",
        "list by actor / route / target, newest first: query by-actor (actor_key=<token sub, client id or operator "
        "ARN>), by-route (route_key=<METHOD /path template>) or by-target (target=<id>; an email by its digest, as "
        "every record keeps it: the person a privacy export or erasure names) with position between "
        "from and to, descending; further filters apply to what the most selective key yields. Per-key write "
        "rates stay under a partition's: the per-domain throttles hold a route to at most 500 requests/s",
        "every index projects the whole item: a listing is one read, never a get per record",
    ),
)

AUDIT_DOMAIN = Domain(
    name="audit",
    event_source=None,
    tables=(AUDIT,),
    functions=(
        Function(
            name="audit_api",
            description="The audit trail: who changed what, when and from where, searched by actor, target, route "
            "and time",
            timeout_seconds=29,
            routes=(
                Route(
                    method="GET",
                    path="/api/v1/audit",
                    operation="search_audit",
                    summary="Search the audit trail: who did what, when, from where",
                    description="Every write through /api/v1, every request refused by RBAC or its body checks, "
                    "every audited read and every operator command run, newest first. Filter by `actor` (a token's "
                    "sub or client id, an operator's ARN), `target` (a lead, handoff, conflict, spend line... id), "
                    "`route` (`POST /api/v1/leads/{lead_id}/unmerge`), `request_id`, and `from`/`to` (ISO 8601 "
                    "with offset; default: the retention period up to now); page with `cursor`. Reading the trail "
                    "is itself recorded. Groups: admin.",
                    domain=ThrottleDomain.ADMIN,
                    groups=frozenset({Group.ADMIN}),
                    audited_read=True,
                ),
            ),
            tables={AUDIT.name: "read"},
        ),
        Function(
            name="audit_gateway_refusals",
            description="Records the /api/v1 requests API Gateway refuses before any function runs (no or bad token, "
            "a system's token without the route's scope, no API key) in the audit trail",
            memory_mb=256,
            timeout_seconds=60,
            access_log=AccessLogTrigger(
                description="API Gateway's own refusals, where no function ran to record them (a function's "
                "refusals it records itself): 401s and 403s (the authorizer or the API key check), and a write's "
                "400, 413, 415 and 429 (the request validator, the payload limit, throttling)",
                matches={"status": GATEWAY_REFUSAL_STATUSES, "integrationStatus": (NO_VALUE,)},
            ),
            tables={AUDIT.name: "append"},
        ),
    ),
)
