"""The one catalog: every function, API route, EventBridge rule, schedule, table, queue and secret of the hub.

The CDK stacks (`infra/`) and the embedded local runtime (`local_runtime/`) are both built from `CATALOG`;
handlers read their own route permissions from it. Adding a route or a rule is one entry here plus the
handler code. This module is plain data: it imports nothing from AWS so Lambda code can use it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, TypeVar

from shared.leads.inputs import LEAD_INPUT_EVENTS


class Group(StrEnum):
    """Cognito user-pool groups; the RBAC roles of `/api/v1` routes."""

    ADMIN = "admin"
    MARKETING = "marketing"
    SALES = "sales"
    SUCCESS = "success"
    FINANCE = "finance"
    PRODUCT = "product"


class ThrottleDomain(StrEnum):
    """Routes are throttled per business domain (seed 000: per-domain rate limits)."""

    WEBHOOKS = "webhooks"
    TRACKING = "tracking"
    ADMIN = "admin"
    MARKETING = "marketing"
    SALES = "sales"
    SUCCESS = "success"
    FINANCE = "finance"


Access = Literal["read", "write", "read_write"]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True)
class Throttle:
    rate_per_second: int
    burst: int


# Method throttles per domain; the stage-wide default sits above them. Webhooks take vendor bursts
# (HubSpot and Stripe retry storms), human-facing APIs far less.
DOMAIN_THROTTLES: dict[ThrottleDomain, Throttle] = {
    ThrottleDomain.WEBHOOKS: Throttle(rate_per_second=2000, burst=4000),
    ThrottleDomain.TRACKING: Throttle(rate_per_second=2000, burst=4000),
    ThrottleDomain.ADMIN: Throttle(rate_per_second=50, burst=100),
    ThrottleDomain.MARKETING: Throttle(rate_per_second=500, burst=1000),
    ThrottleDomain.SALES: Throttle(rate_per_second=500, burst=1000),
    ThrottleDomain.SUCCESS: Throttle(rate_per_second=200, burst=400),
    ThrottleDomain.FINANCE: Throttle(rate_per_second=100, burst=200),
}
STAGE_THROTTLE = Throttle(rate_per_second=5000, burst=10000)


@dataclass(frozen=True)
class Route:
    """An API Gateway route. `groups=None` means the gateway lets it through unauthenticated and the
    function authenticates the caller itself (webhook signatures); otherwise a Cognito token is required
    and the caller must belong to one of `groups`."""

    method: HttpMethod
    path: str
    summary: str
    domain: ThrottleDomain
    groups: frozenset[Group] | None
    json_body: bool = False

    @property
    def is_public(self) -> bool:
        return self.groups is None

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Rule:
    """An EventBridge rule on the hub's bus whose target is the owning function."""

    name: str
    description: str
    pattern: dict[str, object]
    max_retries: int = 4
    max_event_age_seconds: int = 3600


@dataclass(frozen=True)
class Schedule:
    name: str
    description: str
    expression: str  # EventBridge Scheduler expression, e.g. "rate(1 hour)" or "cron(0 6 * * ? *)"


@dataclass(frozen=True)
class Index:
    """A global secondary index. `include=None` projects every attribute; a tuple projects the keys plus
    those attributes only (keeps large attributes such as raw bodies out of the index)."""

    name: str
    partition_key: str
    sort_key: str | None = None
    include: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Table:
    """A DynamoDB table: on demand, PITR, customer-managed KMS key. Keys are strings."""

    name: str
    partition_key: str
    sort_key: str | None
    access_patterns: tuple[str, ...]
    ttl_attribute: str | None = None
    indexes: tuple[Index, ...] = ()


@dataclass(frozen=True)
class Secret:
    name: str
    description: str
    local_values_file: str | None = None  # committed dev-only values the local runtime loads


@dataclass(frozen=True)
class Queue:
    """An SQS queue. Every queue in the hub is a dead-letter queue of a rule target or of a function's
    asynchronous invocations; each has an alarm on depth > 0 and can be redriven."""

    name: str
    purpose: str


@dataclass(frozen=True)
class Function:
    name: str
    description: str
    memory_mb: int = 512
    timeout_seconds: int = 10
    routes: tuple[Route, ...] = ()
    rules: tuple[Rule, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    tables: dict[str, Access] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    publishes_events: bool = False
    package: str = "functions"  # where `<name>/handler.py` lives; tests point this at fixture functions

    @property
    def slug(self) -> str:
        return self.name.replace("_", "-")

    @property
    def handler(self) -> str:
        return f"{self.module}.handler"

    @property
    def module(self) -> str:
        return f"{self.package}.{self.name}.handler"

    @property
    def failure_queue(self) -> Queue:
        return Queue(f"{self.slug}-async-failures", f"asynchronous invocations of {self.name} that failed every retry")

    def rule_dlq(self, rule: Rule) -> Queue:
        return Queue(f"{rule.name}-dlq", f"events rule {rule.name} could not deliver to {self.name}")


@dataclass(frozen=True)
class Catalog:
    bus_name: str
    event_sources: tuple[str, ...]
    tables: tuple[Table, ...]
    secrets: tuple[Secret, ...]
    functions: tuple[Function, ...]

    def table(self, name: str) -> Table:
        return _by_name(self.tables, name)

    def function(self, name: str) -> Function:
        return _by_name(self.functions, name)

    def secret(self, name: str) -> Secret:
        return _by_name(self.secrets, name)

    @property
    def routes(self) -> tuple[tuple[Function, Route], ...]:
        return tuple((fn, route) for fn in self.functions for route in fn.routes)

    @property
    def rules(self) -> tuple[tuple[Function, Rule], ...]:
        return tuple((fn, rule) for fn in self.functions for rule in fn.rules)

    @property
    def queues(self) -> tuple[Queue, ...]:
        per_function = tuple(fn.failure_queue for fn in self.functions)
        per_rule = tuple(fn.rule_dlq(rule) for fn, rule in self.rules)
        return per_function + per_rule

    def route_for(self, method: str, path: str) -> Route | None:
        for _, route in self.routes:
            if route.method == method.upper() and route.path == path:
                return route
        return None

    def environment(self, fn: Function, stage: str) -> dict[str, str]:
        """What a function is told through its environment; CDK and the local runtime both use this."""
        env = {
            "STAGE": stage,
            "POWERTOOLS_SERVICE_NAME": fn.slug,
            "POWERTOOLS_METRICS_NAMESPACE": "RevOpsHub",
        }
        for table in fn.tables:
            env[env_key("table", table)] = physical_name(stage, table)
        for secret in fn.secrets:
            env[env_key("secret", secret)] = physical_name(stage, secret)
        if fn.publishes_events:
            env["EVENT_BUS_NAME"] = physical_name(stage, self.bus_name)
        return env


_Named = TypeVar("_Named", Table, Function, Secret)


def _by_name(items: tuple[_Named, ...], name: str) -> _Named:
    for item in items:
        if item.name == name:
            return item
    raise KeyError(f"catalog has no entry named {name!r}")


def physical_name(stage: str, logical: str) -> str:
    """Deployed and local resource names: `revops-<stage>-<logical>`."""
    return f"revops-{stage}-{logical}"


def env_key(kind: str, logical: str) -> str:
    """Environment variable through which a function learns a resource's physical name."""
    return f"{kind}_{logical}".upper().replace("-", "_")


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
            include=(
                "attempt_id",
                "vendor",
                "received_at",
                "outcome",
                "status_code",
                "reason",
                "events",
                "body_size",
                "body_sha256",
                "content_type",
                "user_agent",
                "source_ip",
            ),
        ),
    ),
    access_patterns=(
        "claim a vendor event exactly once: conditional put of pk=CLAIM#<vendor>#<dedupe key> "
        "(status PENDING with a lease, then PUBLISHED; expires after 7 days, longer than Stripe's 3-day retries)",
        "record every delivery attempt with its raw body (zlib) and outcome: put pk=ATTEMPT#<attempt id>",
        "list attempts newest first: query by-time on log_partition=LOG#<yyyy-mm-dd>#<shard> "
        "(4 write shards per day) with log_sort=<received-at>#<attempt id> descending, merged across shards; "
        "the index leaves the raw body out",
        "read one attempt (and its raw body for replay): get pk=ATTEMPT#<attempt id>",
    ),
)

LEADS = Table(
    name="leads",
    partition_key="pk",
    sort_key="sk",
    indexes=(Index("by-stage", partition_key="stage_partition", sort_key="stage_sort"),),
    access_patterns=(
        "resolve identities to their contacts: batch get pk=IDENTITY#<kind>#<value>, sk=OWNER",
        "commit a change all or nothing: one transaction of the contacts (pk=CONTACT#<id>, sk=PROFILE, with an "
        "optimistic `version` condition), the identities they claim (conditional put, first claim wins), the "
        "engagement they log (conditional put pk=CONTACT#<id>, sk=ENG#<event id>), the accounts they touch and "
        "the accounts' identities, and their history entries",
        "read a contact: get pk=CONTACT#<id>, sk=PROFILE; read a log: query pk=CONTACT#<id>, sk begins_with ENG#",
        "history: query pk=CONTACT#<id>, sk begins_with TRANSITION#, SCORE# or MERGE# (merges stored under both "
        "contacts)",
        "list a stage by score: query by-stage on stage_partition=STAGE#<stage>, stage_sort=<score, padded>#<id> "
        "descending (only contacts not merged away carry the index keys)",
        "accounts: get pk=ACCOUNT#<id>, sk=PROFILE; resolve pk=ACCOUNT_IDENTITY#<kind>#<value>, sk=OWNER",
        "the scoring model in force: get pk=SCORING_MODEL, sk=ACTIVE (every use case) and pk=SCORING_MODEL#<version>, "
        "sk=DEFINITION (once per version per function); both written in one transaction by `make rescore`",
        "every contact for rescoring and simulation: parallel scan, sk=PROFILE",
    ),
)

WEBHOOK_SIGNING_SECRETS = Secret(
    name="webhook-signing-secrets",
    description='Vendor webhook secrets, JSON {"<vendor>": ["<current>", "<previous>", ...]}',
    local_values_file="config/local.secrets.json",
)

TRACKING_CALLS = ("batch", "track", "identify", "page", "screen", "group", "alias")
LEAD_GROUPS = frozenset({Group.MARKETING, Group.SALES, Group.ADMIN})
CATALOG = Catalog(
    bus_name="events",
    event_sources=("revops.webhooks", "revops.leads"),
    tables=(WEBHOOK_DELIVERIES, LEADS),
    secrets=(WEBHOOK_SIGNING_SECRETS,),
    functions=(
        Function(
            name="webhook_receiver",
            description="Verifies, de-duplicates, stores and publishes vendor webhooks as canonical events",
            memory_mb=1024,
            timeout_seconds=15,
            routes=(
                Route(
                    method="POST",
                    path="/webhooks/{vendor}",
                    summary="Receive a vendor webhook",
                    domain=ThrottleDomain.WEBHOOKS,
                    groups=None,
                ),
            ),
            tables={WEBHOOK_DELIVERIES.name: "read_write"},
            secrets=(WEBHOOK_SIGNING_SECRETS.name,),
            publishes_events=True,
        ),
        Function(
            name="tracking_api",
            description="Segment-compatible tracking API: analytics SDK calls become canonical events",
            memory_mb=1024,
            timeout_seconds=15,
            routes=tuple(
                Route(
                    method="POST",
                    path=f"/v1/{call}",
                    summary=f"Segment-compatible {call} call",
                    domain=ThrottleDomain.TRACKING,
                    groups=None,
                )
                for call in TRACKING_CALLS
            ),
            tables={WEBHOOK_DELIVERIES.name: "read_write"},
            secrets=(WEBHOOK_SIGNING_SECRETS.name,),
            publishes_events=True,
        ),
        Function(
            name="lead_processor",
            description="Resolves identities, keeps engagement logs, rescores and stages leads from canonical events",
            memory_mb=1024,
            timeout_seconds=30,
            rules=(
                Rule(
                    name="leads-from-webhook-events",
                    description="Canonical events about people, accounts, engagement, deals and handoffs",
                    pattern={"source": ["revops.webhooks"], "detail-type": list(LEAD_INPUT_EVENTS)},
                    max_retries=8,
                    max_event_age_seconds=6 * 3600,
                ),
            ),
            tables={LEADS.name: "read_write"},
            publishes_events=True,
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
            publishes_events=True,
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
                    summary="Capture a lead from a form or a partner",
                    domain=ThrottleDomain.MARKETING,
                    groups=LEAD_GROUPS,
                    json_body=True,
                ),
                Route(
                    method="GET",
                    path="/api/v1/leads",
                    summary="Find leads by email, or list a stage by score",
                    domain=ThrottleDomain.MARKETING,
                    groups=LEAD_GROUPS,
                ),
                Route(
                    method="GET",
                    path="/api/v1/leads/{lead_id}",
                    summary="A lead: profile, score with breakdown, stage, identities, history",
                    domain=ThrottleDomain.MARKETING,
                    groups=LEAD_GROUPS,
                ),
                Route(
                    method="POST",
                    path="/api/v1/leads/{lead_id}/unmerge",
                    summary="Undo a merge, restoring both leads",
                    domain=ThrottleDomain.MARKETING,
                    groups=frozenset({Group.MARKETING, Group.ADMIN}),
                    json_body=True,
                ),
                Route(
                    method="POST",
                    path="/api/v1/scoring/simulate",
                    summary="What-if: a candidate scoring model against the stored engagement logs",
                    domain=ThrottleDomain.MARKETING,
                    groups=frozenset({Group.MARKETING, Group.ADMIN}),
                    json_body=True,
                ),
            ),
            tables={LEADS.name: "read_write"},
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
                    summary="List webhook deliveries, newest first",
                    domain=ThrottleDomain.ADMIN,
                    groups=frozenset({Group.ADMIN}),
                ),
            ),
            tables={WEBHOOK_DELIVERIES.name: "read"},
        ),
    ),
)
