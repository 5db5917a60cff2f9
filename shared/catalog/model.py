"""What the catalog is made of: functions with their routes, rules, schedules, stream and queue triggers, tables,
secrets, work queues and dead-letter queues, and the `Catalog` that composes one domain's entries with the others'.

Plain data: imports nothing from AWS and no pydantic, so every function (the webhook receiver included) can
read its own entry at cold start.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Literal, TypeVar

from shared.catalog.access_log import ACCESS_LOG_FIELDS


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


# "append": puts only, never an update or a delete (the audit trail); IAM denies the rest to every function.
# "read_append": reads and puts (the audit API, which searches the trail and is itself audited).
Access = Literal["read", "write", "read_write", "append", "read_append"]
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
# The seed's peak: 10,000 requests/s across the API, with two seconds of it as burst. API Gateway caps a stage at the
# account's regional throttle (10,000 requests/s and a burst of 5,000 by default): the burst needs a quota increase.
STAGE_THROTTLE = Throttle(rate_per_second=10_000, burst=20_000)


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
    # Writes are always audited; a read is too when what it reveals is itself sensitive (a person's export).
    audited_read: bool = False
    # The request field naming the person the route is about (the privacy routes' `email`): a query parameter of a
    # GET, a top-level field of a JSON body otherwise. Its audit records name that person as a target, an email by
    # the trail's digest of it (never in clear), so `GET /api/v1/audit?target=<email>` finds who exported or
    # erased them (`shared.audit.requests`).
    audit_subject: str | None = None

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
class AccessLogTrigger:
    """The REST API's access log feeding the owning function: a CloudWatch Logs subscription filter on the stage's
    access log group (`ACCESS_LOG_FIELDS`, one JSON line per request) delivering the lines it matches, in batches,
    as Lambda's `awslogs` event (asynchronous: retried, then the function's failure queue).

    `matches` is the filter: every field must hold one of its values (`{"status": ("401", "403")}`); CDK renders
    it as a JSON filter pattern and the local runtime applies it to its own gateway's lines, so both agree."""

    description: str
    matches: Mapping[str, tuple[str, ...]]

    def __post_init__(self) -> None:
        unknown = sorted(set(self.matches) - set(ACCESS_LOG_FIELDS))
        if unknown or not self.matches or not all(self.matches.values()):
            raise ValueError(
                f"access log trigger: match fields of the access log ({', '.join(ACCESS_LOG_FIELDS)}) on at least "
                f"one value each; unknown: {', '.join(unknown) or 'none'}"
            )

    def matched(self, line: Mapping[str, object]) -> bool:
        return all(str(line.get(name, "-")) in values for name, values in self.matches.items())


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
    # Items are put, never updated or deleted (the audit trail): every function serving an `/api/v1` route is
    # granted "append" on it by `compose`, and IAM denies all functions any other write.
    append_only: bool = False


@dataclass(frozen=True)
class Secret:
    name: str
    description: str
    local_values_file: str | None = None  # committed dev-only values the local runtime loads


# SQS keeps a message 14 days at most: dead letters are kept that long, to be inspected and redriven.
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600
FIFO_SUFFIX = ".fifo"  # SQS requires it at the end of a FIFO queue's name, and refuses it on any other queue
SQS_MAX_QUEUE_NAME = 80
# A queue's physical name is `revops-<stage>-<name>`: room is kept for a stage name of up to this many characters.
MAX_STAGE_NAME = 10
# A FIFO queue's event source mapping takes at most 10 messages a batch; a standard queue's up to 10,000, given a
# batching window (`QueueTrigger.max_batching_window_seconds`) to fill them.
SQS_MAX_BATCH_SIZE = 10
SQS_MAX_STANDARD_BATCH_SIZE = 10_000
SQS_MAX_BATCHING_WINDOW_SECONDS = 300
SQS_MAX_VISIBILITY_TIMEOUT_SECONDS = 12 * 3600
SQS_RETENTION_SECONDS = (60, DEAD_LETTER_RETENTION_SECONDS)
SQS_MAX_RECEIVE_COUNT = 1000
# AWS's advice for a queue feeding Lambda: a visibility timeout of at least six times the function's timeout, so
# that a batch Lambda retries after a throttle or an error is not handed out again while still being worked on.
VISIBILITY_PER_CONSUMER_TIMEOUT = 6
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Queue:
    """An SQS dead-letter queue: of a rule target, of a function's asynchronous invocations, or of a work queue
    (FIFO when its work queue is). Each has an alarm on depth > 0 and can be redriven (`shared.redrive`)."""

    name: str
    purpose: str
    fifo: bool = False
    retention_seconds: int = DEAD_LETTER_RETENTION_SECONDS


@dataclass(frozen=True)
class WorkQueue:
    """An SQS work queue, FIFO unless `fifo=False`: functions send to it (`Function.sends_to`) and one function
    consumes it in batches through a `QueueTrigger` (a Lambda event source mapping).

    A FIFO queue hands out each message group's messages in order and holds a group back while one of its
    messages is in flight: a sender sets `MessageGroupId` to the key whose changes must stay in order (a synced
    record's key) and `MessageDeduplicationId` to the change's id (content-based de-duplication is off, so a
    change sent twice within SQS's 5-minute window is queued once). A message received `max_receive_count` times
    without being deleted moves to the queue's own dead-letter queue (`dead_letter_queue`, FIFO too, alarmed,
    kept 14 days), from which operators redrive it back to this queue. With the defaults a message is retried
    every 5 minutes (the visibility timeout) and survives a 2-hour outage of what its consumer calls before it is
    dead-lettered; messages nobody consumes expire after `retention_seconds` (4 days).

    `name` is the queue's SQS name without the stage prefix, `.fifo` included for a FIFO queue, as SQS wants it.
    """

    name: str
    purpose: str
    fifo: bool = True
    visibility_timeout_seconds: int = 300  # at least 6x its consumer's timeout (`compose` checks)
    max_receive_count: int = 24  # x 5 minutes: a 2-hour outage before a message is dead-lettered
    retention_seconds: int = 4 * 24 * 3600
    content_based_deduplication: bool = False

    def __post_init__(self) -> None:
        if self.fifo != self.name.endswith(FIFO_SUFFIX):
            rule = f"must end in {FIFO_SUFFIX!r}" if self.fifo else f"must not end in {FIFO_SUFFIX!r} (not FIFO)"
            raise ValueError(f"work queue {self.name!r}: the name of an SQS {'FIFO ' * self.fifo}queue {rule}")
        if not _QUEUE_NAME.match(self.stem):
            raise ValueError(f"work queue {self.name!r}: SQS queue names are letters, digits, '-' and '_'")
        longest = len(physical_name("x" * MAX_STAGE_NAME, self.dead_letter_queue.name))
        if longest > SQS_MAX_QUEUE_NAME:
            raise ValueError(
                f"work queue {self.name!r}: its dead-letter queue's name would be {longest} characters with a "
                f"{MAX_STAGE_NAME}-character stage, over SQS's {SQS_MAX_QUEUE_NAME}"
            )
        if not 0 <= self.visibility_timeout_seconds <= SQS_MAX_VISIBILITY_TIMEOUT_SECONDS:
            raise ValueError(f"work queue {self.name!r}: visibility_timeout_seconds is 0 to 43200 (12 hours)")
        if not 1 <= self.max_receive_count <= SQS_MAX_RECEIVE_COUNT:
            raise ValueError(f"work queue {self.name!r}: max_receive_count is 1 to {SQS_MAX_RECEIVE_COUNT}")
        low, high = SQS_RETENTION_SECONDS
        if not low <= self.retention_seconds <= high:
            raise ValueError(f"work queue {self.name!r}: retention_seconds is {low} (a minute) to {high} (14 days)")
        if self.content_based_deduplication and not self.fifo:
            raise ValueError(f"work queue {self.name!r}: content-based de-duplication is for FIFO queues only")

    @property
    def stem(self) -> str:
        """The name without `.fifo`."""
        return self.name.removesuffix(FIFO_SUFFIX)

    @property
    def dead_letter_queue(self) -> Queue:
        """Where a message goes after `max_receive_count` receives: `<stem>-dlq[.fifo]`, of the same kind."""
        return Queue(
            f"{self.stem}-dlq{FIFO_SUFFIX if self.fifo else ''}",
            f"messages of work queue {self.name} received {self.max_receive_count} times without success",
            fifo=self.fifo,
        )

    @property
    def url_variable(self) -> str:
        """The environment variable through which a sender learns the queue's URL: `QUEUE_<STEM>_URL`."""
        return env_key("queue", f"{self.stem}_url")


@dataclass(frozen=True)
class QueueTrigger:
    """A work queue feeding the owning function (a Lambda event source mapping): batches of up to `batch_size`
    messages (a FIFO queue's in order within each message group) as Lambda's SQS event. Item failures are always
    reported: the function answers `{"batchItemFailures": [{"itemIdentifier": <messageId>}, ...]}` and Lambda
    deletes the batch's other messages; the failed ones come back after the queue's visibility timeout, until the
    queue's `max_receive_count` sends them to its dead-letter queue. A function that raises fails the whole batch.
    Reading a FIFO queue, a function must also fail every later message of a group once one of the group failed
    (Powertools' `SqsFifoPartialProcessor(skip_group_on_error=True)` does), or the group's order is lost."""

    queue: str
    description: str
    batch_size: int = SQS_MAX_BATCH_SIZE
    # A standard queue's mapping may wait this long to fill a batch (Lambda's MaximumBatchingWindowInSeconds):
    # required (at least 1 s) for batches over 10; a FIFO queue's takes none.
    max_batching_window_seconds: int = 0
    # At most this many invocations at once (Lambda's ScalingConfig.MaximumConcurrency, 2 to 1000); None: Lambda's
    # own scaling. Locally a trigger runs one batch at a time anyway.
    max_concurrency: int | None = None

    def __post_init__(self) -> None:
        if self.max_concurrency is not None and not 2 <= self.max_concurrency <= 1000:
            raise ValueError(f"queue trigger on {self.queue!r}: max_concurrency is 2 to 1000 (Lambda's limits)")
        if not 1 <= self.batch_size <= SQS_MAX_STANDARD_BATCH_SIZE:
            raise ValueError(f"queue trigger on {self.queue!r}: batch_size is 1 to {SQS_MAX_STANDARD_BATCH_SIZE}")
        if not 0 <= self.max_batching_window_seconds <= SQS_MAX_BATCHING_WINDOW_SECONDS:
            limit = SQS_MAX_BATCHING_WINDOW_SECONDS
            raise ValueError(f"queue trigger on {self.queue!r}: max_batching_window_seconds is 0 to {limit}")
        if self.batch_size > SQS_MAX_BATCH_SIZE and self.max_batching_window_seconds < 1:
            raise ValueError(
                f"queue trigger on {self.queue!r}: a batch_size over {SQS_MAX_BATCH_SIZE} needs a "
                "max_batching_window_seconds of at least 1 (Lambda's rule)"
            )


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
    queue_triggers: tuple[QueueTrigger, ...] = ()  # the work queues it consumes (one trigger per queue)
    access_log: AccessLogTrigger | None = None  # the API's access log lines it is subscribed to
    sends_to: tuple[str, ...] = ()  # the work queues it sends to, by name: their URLs are in its environment
    tables: dict[str, Access] = field(default_factory=dict)
    # Per table it writes, the partition key prefix its writes are confined to (an IAM condition on
    # `dynamodb:LeadingKeys`): items of its own kind in a table whose other items it only reads
    writes_confined_to: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    publishes_events: bool = False
    # The function whose one-time timers this one sets and deletes (EventBridge Scheduler `at(...)` schedules
    # in the timer group, invoking that function through the group's invoker role).
    sets_timers_for: str | None = None
    sends_email: bool = False  # SES, from the sender address its notification secret names
    # A Lambda trigger of the hub's Cognito user pool, which Cognito invokes synchronously: "pre_token_generation"
    # runs before the pool issues a person's tokens (event version V2_0, so it can change their access token).
    cognito_trigger: Literal["pre_token_generation"] | None = None
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
    work_queues: tuple[WorkQueue, ...] = ()

    def table(self, name: str) -> Table:
        return _by_name(self.tables, name)

    def work_queue(self, name: str) -> WorkQueue:
        return _by_name(self.work_queues, name)

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
    def access_log_triggers(self) -> tuple[tuple[Function, AccessLogTrigger], ...]:
        return tuple((fn, fn.access_log) for fn in self.functions if fn.access_log is not None)

    @property
    def streamed_tables(self) -> frozenset[str]:
        """Tables whose stream some function reads (their new images are streamed)."""
        return frozenset(stream.table for _, stream in self.streams)

    @property
    def queue_triggers(self) -> tuple[tuple[Function, QueueTrigger], ...]:
        return tuple((fn, trigger) for fn in self.functions for trigger in fn.queue_triggers)

    def consumer_of(self, queue_name: str) -> tuple[Function, QueueTrigger]:
        """The function that consumes a work queue, and its trigger (`compose` makes sure there is one)."""
        for fn, trigger in self.queue_triggers:
            if trigger.queue == queue_name:
                return fn, trigger
        raise KeyError(f"no function consumes work queue {queue_name!r}")

    @property
    def queues(self) -> tuple[Queue, ...]:
        """The dead-letter queues (alarmed, on the dashboard, redrivable); the work queues are `work_queues`."""
        per_function = tuple(fn.failure_queue for fn in self.functions)
        per_work_queue = tuple(queue.dead_letter_queue for queue in self.work_queues)
        return per_function + self.rule_queues + per_work_queue

    @property
    def rule_queues(self) -> tuple[Queue, ...]:
        """The dead-letter queues of the rules' targets, one per rule (deployed beside the rules, not the functions)."""
        return tuple(fn.rule_dlq(rule) for fn, rule in self.rules)

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

    def environment(self, fn: Function, stage: str, queue_urls: Mapping[str, str] | None = None) -> dict[str, str]:
        """What a function is told through its environment; CDK and the local runtime both use this, and
        `shared.function_environment` reads it back in the function.

        A work queue's URL (`QUEUE_<STEM>_URL`, for the functions that send to it) holds the account and region,
        so only where the queue is created is it known: CDK (a reference to the queue) and the local runtime pass
        `queue_urls` (work queue name -> URL). Without them, the queue's physical name stands in, for callers that
        only read which variables there are."""
        env = {
            STAGE_VARIABLE: stage,
            "POWERTOOLS_SERVICE_NAME": fn.slug,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        }
        for table in fn.tables:
            env[env_key("table", table)] = physical_name(stage, table)
        for secret in fn.secrets:
            env[env_key("secret", secret)] = physical_name(stage, secret)
        for queue in fn.sends_to:
            url_variable = self.work_queue(queue).url_variable
            env[url_variable] = physical_name(stage, queue) if queue_urls is None else queue_urls[queue]
        if fn.publishes_events:
            env[BUS_VARIABLE] = physical_name(stage, self.bus_name)
        if fn.sets_timers_for is not None:
            target = self.function(fn.sets_timers_for)
            env[TIMER_FUNCTION_VARIABLE] = physical_name(stage, target.slug)
            env[TIMER_GROUP_VARIABLE] = timer_group(stage, target)
            env[TIMER_ROLE_VARIABLE] = timer_role(stage, target)
        return env


_Named = TypeVar("_Named", Table, Function, Secret, WorkQueue)


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
    """One domain's part of the catalog: its event source (what its functions publish under), tables, secrets,
    work queues and functions. `Catalog.compose` puts the domains together."""

    name: str
    event_source: str | None
    tables: tuple[Table, ...] = ()
    secrets: tuple[Secret, ...] = ()
    functions: tuple[Function, ...] = ()
    work_queues: tuple[WorkQueue, ...] = ()


def compose(bus_name: str, domains: tuple[Domain, ...]) -> Catalog:
    """One catalog of every domain's entries; a name used twice across domains is refused, and so is a work
    queue that is not consumed exactly once, or that a function sends to or consumes without its declaring it.
    Every function serving an audited (`/api/v1`) route appends to the append-only tables (the audit trail)."""
    tables = tuple(table for domain in domains for table in domain.tables)
    catalog = Catalog(
        bus_name=bus_name,
        event_sources=tuple(domain.event_source for domain in domains if domain.event_source),
        tables=tables,
        secrets=tuple(secret for domain in domains for secret in domain.secrets),
        functions=tuple(_appending(fn, tables) for domain in domains for fn in domain.functions),
        work_queues=tuple(queue for domain in domains for queue in domain.work_queues),
    )
    for kind, names in (
        ("table", [table.name for table in catalog.tables]),
        ("secret", [secret.name for secret in catalog.secrets]),
        ("function", [fn.name for fn in catalog.functions]),
        ("route", [route.key for _, route in catalog.routes]),
        ("event source", list(catalog.event_sources)),
        ("queue", [queue.name for queue in catalog.queues] + [queue.name for queue in catalog.work_queues]),
        ("queue URL variable", [queue.url_variable for queue in catalog.work_queues]),
    ):
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"the catalog's domains declare the same {kind} twice: {', '.join(repeated)}")
    _check_work_queues(catalog)
    _check_confined_writes(catalog)
    _check_granted_tables(catalog)
    return catalog


def _check_granted_tables(catalog: Catalog) -> None:
    """A function is granted only tables some domain of the catalog declares (a grant of another domain's table
    needs that domain composed too)."""
    declared = {table.name for table in catalog.tables}
    for fn in catalog.functions:
        unknown = sorted(set(fn.tables) - declared)
        if unknown:
            raise ValueError(f"{fn.name} is granted tables no domain of the catalog declares: {', '.join(unknown)}")


# Requests to these routes are audited (`shared.http.api.resolve`): every write, refusal and audited read through
# the API, a person's, a system's or a partner's; not webhooks or tracking calls (vendors', kept in their own log).
AUDITED_PATH_PREFIX = "/api/v1/"


def _appending(fn: Function, tables: tuple[Table, ...]) -> Function:
    """`fn`, granted "append" on each append-only table when it serves an audited route (its requests are
    recorded there by `shared.http.api.resolve`); a function that reads such a table gets "read_append"."""
    if not any(route.path.startswith(AUDITED_PATH_PREFIX) for route in fn.routes):
        return fn
    granted = dict(fn.tables)
    for table in tables:
        if table.append_only:
            reads = granted.get(table.name) in ("read", "read_append")
            granted[table.name] = "read_append" if reads else "append"
    return replace(fn, tables=granted)


def _check_confined_writes(catalog: Catalog) -> None:
    """A confinement names a table the function writes, and a prefix that names a kind of item."""
    for fn in catalog.functions:
        for table, prefix in fn.writes_confined_to.items():
            if fn.tables.get(table) not in ("write", "read_write"):
                raise ValueError(f"{fn.name} confines its writes to {table!r}, which it is not granted to write")
            if not prefix or "*" in prefix or "?" in prefix:
                raise ValueError(f"{fn.name}: the key prefix its writes to {table!r} are confined to must be literal")


def _check_work_queues(catalog: Catalog) -> None:
    declared = {queue.name for queue in catalog.work_queues}
    known = ", ".join(sorted(declared)) or "none"
    for fn in catalog.functions:
        for name in [trigger.queue for trigger in fn.queue_triggers] + list(fn.sends_to):
            if name not in declared:
                raise ValueError(f"{fn.name} names work queue {name!r}, which no domain declares (declared: {known})")
    for queue in catalog.work_queues:
        consumers = [fn for fn, trigger in catalog.queue_triggers if trigger.queue == queue.name]
        if len(consumers) != 1:
            # None: its messages would only expire. Two: each would take some messages of a group, out of order.
            found = ", ".join(fn.name for fn in consumers) or "none"
            raise ValueError(f"work queue {queue.name!r} must have exactly one consuming function (found: {found})")
        [consumer] = consumers
        [trigger] = [t for t in consumer.queue_triggers if t.queue == queue.name]
        if queue.fifo and (trigger.batch_size > SQS_MAX_BATCH_SIZE or trigger.max_batching_window_seconds):
            raise ValueError(
                f"work queue {queue.name!r} is FIFO: its trigger takes batches of at most {SQS_MAX_BATCH_SIZE} "
                "and no batching window"
            )
        least = VISIBILITY_PER_CONSUMER_TIMEOUT * consumer.timeout_seconds
        if queue.visibility_timeout_seconds < least:
            raise ValueError(
                f"work queue {queue.name!r}: visibility_timeout_seconds {queue.visibility_timeout_seconds} is under "
                f"{VISIBILITY_PER_CONSUMER_TIMEOUT}x the {consumer.timeout_seconds} s timeout of its consumer "
                f"{consumer.name} ({least} s)"
            )
