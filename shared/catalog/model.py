"""What the catalog is made of: functions with their routes, rules, schedules and stream triggers, tables,
secrets and queues, and the `Catalog` that composes one domain's entries with the others'.

Plain data: imports nothing from AWS and no pydantic, so every function (the webhook receiver included) can
read its own entry at cold start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, TypeVar


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
    operation: str  # the handler function that serves it, by name (`shared.http.api.register_routes`)
    summary: str
    domain: ThrottleDomain
    groups: frozenset[Group] | None
    description: str = ""
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
class StreamTrigger:
    """A table's DynamoDB stream feeding the owning function (a Lambda event source mapping): the new image
    of each inserted item that `new_image` matches (a Lambda event filter on the image's attributes, in
    DynamoDB JSON), in batches. A batch that keeps failing is split in two (bisected) to isolate the record
    at fault; a record that still fails after `max_retries` or grows older than `max_record_age_seconds` is
    reported to the function's failure queue, from which it can be redriven while the stream holds it."""

    table: str
    description: str
    new_image: dict[str, object]
    batch_size: int = 100
    max_retries: int = 10
    max_record_age_seconds: int = 6 * 3600

    @property
    def filter_pattern(self) -> dict[str, object]:
        """The event source mapping's filter: inserts whose new image matches."""
        return {"eventName": ["INSERT"], "dynamodb": {"NewImage": self.new_image}}


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
    streams: tuple[StreamTrigger, ...] = ()
    tables: dict[str, Access] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    publishes_events: bool = False
    # The function whose one-time timers this one sets and deletes (EventBridge Scheduler `at(...)` schedules
    # in the timer group, invoking that function through the group's invoker role).
    sets_timers_for: str | None = None
    sends_email: bool = False  # SES, from the sender address its notification secret names
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
    def streams(self) -> tuple[tuple[Function, StreamTrigger], ...]:
        return tuple((fn, stream) for fn in self.functions for stream in fn.streams)

    @property
    def streamed_tables(self) -> frozenset[str]:
        """Tables whose stream some function reads (their new images are streamed)."""
        return frozenset(stream.table for _, stream in self.streams)

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

    def function_of_module(self, module: str) -> Function:
        """The function whose handler lives in `module` (a handler finds its own entry this way)."""
        for fn in self.functions:
            if fn.module == module:
                return fn
        raise KeyError(f"no catalog function has its handler in {module}")

    def environment(self, fn: Function, stage: str) -> dict[str, str]:
        """What a function is told through its environment; CDK and the local runtime both use this, and
        `shared.function_environment` reads it back in the function."""
        env = {
            STAGE_VARIABLE: stage,
            "POWERTOOLS_SERVICE_NAME": fn.slug,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        }
        for table in fn.tables:
            env[env_key("table", table)] = physical_name(stage, table)
        for secret in fn.secrets:
            env[env_key("secret", secret)] = physical_name(stage, secret)
        if fn.publishes_events:
            env[BUS_VARIABLE] = physical_name(stage, self.bus_name)
        if fn.sets_timers_for is not None:
            target = self.function(fn.sets_timers_for)
            env[TIMER_FUNCTION_VARIABLE] = physical_name(stage, target.slug)
            env[TIMER_GROUP_VARIABLE] = timer_group(stage, target)
            env[TIMER_ROLE_VARIABLE] = timer_role(stage, target)
        return env


_Named = TypeVar("_Named", Table, Function, Secret)


def _by_name(items: tuple[_Named, ...], name: str) -> _Named:
    for item in items:
        if item.name == name:
            return item
    raise KeyError(f"catalog has no entry named {name!r}")


STAGE_VARIABLE = "STAGE"
BUS_VARIABLE = "EVENT_BUS_NAME"
TIMER_FUNCTION_VARIABLE = "TIMER_FUNCTION_NAME"
TIMER_GROUP_VARIABLE = "TIMER_SCHEDULE_GROUP"
TIMER_ROLE_VARIABLE = "TIMER_ROLE_NAME"
METRICS_NAMESPACE = "RevOpsHub"


def physical_name(stage: str, logical: str) -> str:
    """Deployed and local resource names: `revops-<stage>-<logical>`."""
    return f"revops-{stage}-{logical}"


def timer_group(stage: str, target: Function) -> str:
    """The EventBridge Scheduler group of the one-time timers that invoke `target`."""
    return physical_name(stage, f"{target.slug}-timers")


def timer_role(stage: str, target: Function) -> str:
    """The IAM role EventBridge Scheduler assumes to invoke `target` (it may invoke nothing else)."""
    return physical_name(stage, f"{target.slug}-timer-invoker")


def env_key(kind: str, logical: str) -> str:
    """Environment variable through which a function learns a resource's physical name."""
    return f"{kind}_{logical}".upper().replace("-", "_")


@dataclass(frozen=True)
class Domain:
    """One domain's part of the catalog: its event source (what its functions publish under), tables, secrets
    and functions. `Catalog.compose` puts the domains together."""

    name: str
    event_source: str | None
    tables: tuple[Table, ...] = ()
    secrets: tuple[Secret, ...] = ()
    functions: tuple[Function, ...] = ()


def compose(bus_name: str, domains: tuple[Domain, ...]) -> Catalog:
    """One catalog of every domain's entries; a name used twice across domains is refused."""
    catalog = Catalog(
        bus_name=bus_name,
        event_sources=tuple(domain.event_source for domain in domains if domain.event_source),
        tables=tuple(table for domain in domains for table in domain.tables),
        secrets=tuple(secret for domain in domains for secret in domain.secrets),
        functions=tuple(fn for domain in domains for fn in domain.functions),
    )
    for kind, names in (
        ("table", [table.name for table in catalog.tables]),
        ("secret", [secret.name for secret in catalog.secrets]),
        ("function", [fn.name for fn in catalog.functions]),
        ("route", [route.key for _, route in catalog.routes]),
        ("event source", list(catalog.event_sources)),
    ):
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"the catalog's domains declare the same {kind} twice: {', '.join(repeated)}")
    return catalog
