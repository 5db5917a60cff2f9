"""Governance (issue 15): what the audit trail, a person's erasure and a replay cost, each beside a baseline
measured in the same run.

- audit per write, in process over moto (the embedded AWS, with the local runtime's patches): the lead API's
  handler (`functions/leads_api`) serving N distinct lead captures, as API Gateway hands them over, with the real
  audit trail (`shared.http.api.AUDIT_TRAILS`, DynamoDB adapter) against the same trail over a store that keeps
  nothing (the baseline: the records are built, not stored), in interleaved rounds (median per capture); and the
  AWS calls each audited write makes to the audit table (a botocore hook: a receipt, then the outcome).
- audit search, in process over moto: 20,000 records seeded through the adapter (10,000 writes of 100 actors on
  2,000 targets and every audited write route, over 30 days, each a receipt and its outcome), then
  `GET /api/v1/audit?target=`, `?actor=` (the busiest ones) and a one-day `?from=&to=` through the audit API's
  handler, beside `GET /api/v1/leads/{id}` of one lead (the baseline), in interleaved rounds; with the items
  each search read (its Queries' ScannedCount). moto answers an index query by reading every item of the table
  (DynamoDB reads the partition asked for), so the latencies here grow with the table as they would not in
  AWS, and take seconds: few rounds. The items read do not grow with the table.
- erasure, on the local runtime (`make run`): a person with K Segment events (`/v1/batch`), a lead capture (an
  ICP lead who requests a demo: a handoff), a Stripe customer and invoice and a HubSpot change, all about their
  email; the export of that person (`GET /api/v1/privacy/export`, reads only: the baseline) and then
  `POST /api/v1/privacy/erasure`, each timed (wall); then every attribute of every item of every table of the
  hub's embedded DynamoDB (zlib bodies inflated) searched for the email: how many items still hold it (must
  be 0), beside how many did before.
- replay, on a local runtime of its own: an hour of M events (Segment identify and track for 50 people, timed
  back over the last hour and sent in `/v1/batch` calls of 100; five Stripe customers, then their invoices),
  processed until the hub is quiet (the original processing: the baseline), then a replay of that window
  (`POST /_local/replays`, every rule) until it is COMPLETED and the hub is quiet again; and every item of every
  table before and after: how many the replay changed (must be 0; the first few are printed).

"Quiet": the bus has taken no event for QUIET_SECONDS while no work is left (no CRM emulator webhook pending, no
replay running, no message in a work queue or a rule's tap); the time taken is the first poll of that still
stretch. Progress goes to stderr.

    python -m benchmarks.governance [--captures 40] [--audit-records 20000] [--erasure-events 200]
                                    [--replay-events 500]
    # or BENCH_AUDIT_CAPTURES, BENCH_AUDIT_RECORDS, BENCH_ERASURE_EVENTS, BENCH_REPLAY_EVENTS (`make bench`)
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
import warnings
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.burst import start_hub, stop_hub  # noqa: E402
from benchmarks.embedded_aws import embedded_client  # noqa: E402
from shared.catalog import CATALOG, physical_name  # noqa: E402
from shared.catalog.audit import AUDIT  # noqa: E402

STAGE = "bench"
ROUNDS = 7  # interleaved rounds of captures
SEARCH_ROUNDS = 3  # interleaved rounds of audit searches
LEAD_READS = 5  # lead reads per round of searches (the baseline)
WARMUP_CAPTURES = 10
DEFAULT_CAPTURES = 40  # per round and variant
DEFAULT_AUDIT_RECORDS = 20_000
DEFAULT_ERASURE_EVENTS = 200
DEFAULT_REPLAY_EVENTS = 500
REPLAY_PEOPLE = 50
REPLAY_STRIPE_DELIVERIES = 5
EXPORT_READS = 5
SEGMENT_BATCH = 100  # messages per /v1/batch call, as segment-analytics-python sends them
QUIET_SECONDS = 3.0
POLL_SECONDS = 0.25
QUIET_TIMEOUT_SECONDS = 240
CAPTURE = "/api/v1/integrations/sales/leads"

Row = tuple[str, str, str, str]


def _say(message: str) -> None:
    print(f"  governance: {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ in process, over moto


class _UnkeptAudit:
    """An audit store that keeps nothing: the trail without its storage (the records are still built)."""

    def append(self, record: Any) -> None:
        pass

    def search(self, query: Any) -> Any:
        from shared.audit.query import AuditPage

        return AuditPage([], None)


class _DynamoDbCalls:
    """A botocore hook on the default session: every DynamoDB call its clients make, with the tables it names,
    and what each Query read (its ScannedCount)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, frozenset[str]]] = []
        self.scanned = 0

    def before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        tables = {str(params["TableName"])} if "TableName" in params else set()
        for entry in params.get("TransactItems", ()):
            tables |= {str(action["TableName"]) for action in entry.values() if "TableName" in action}
        tables |= set(params.get("RequestItems", {}))
        self.calls.append((model.name, frozenset(tables)))

    def after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "Query":
            self.scanned += int(parsed.get("ScannedCount", 0))

    def clear(self) -> None:
        self.calls.clear()
        self.scanned = 0

    def on(self, table: str) -> list[str]:
        return [operation for operation, tables in self.calls if table in tables]


@contextmanager
def _embedded_aws() -> Iterator[tuple[_DynamoDbCalls, dict[str, Any]]]:
    """moto in this process, patched as the hub runs it, with the catalog provisioned, the lead and audit APIs'
    handlers imported as Lambda starts them, and the DynamoDB calls counted; everything undone after."""
    import boto3
    from moto import mock_aws

    from local_runtime import moto_patches
    from local_runtime.function_imports import import_handler
    from local_runtime.provision import provision
    from shared.http import api

    saved_environment, saved_session, saved_trails = dict(os.environ), boto3.DEFAULT_SESSION, dict(api.AUDIT_TRAILS)
    modules = [CATALOG.function(name).module for name in ("leads_api", "audit_api")]
    saved_modules = {module: sys.modules.pop(module) for module in modules if module in sys.modules}
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",  # moto serves no account-id endpoint for streams
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    moto_patches.install()
    calls = _DynamoDbCalls()
    try:
        with mock_aws(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Powertools: "No application metrics to publish", per request
            boto3.setup_default_session(region_name="us-east-1")
            assert boto3.DEFAULT_SESSION is not None
            # on the default session before any client is made: the handlers' clients (and the audit store's,
            # made at the first audited request) inherit the hooks
            boto3.DEFAULT_SESSION.events.register("before-parameter-build.dynamodb", calls.before)
            boto3.DEFAULT_SESSION.events.register("after-call.dynamodb", calls.after)
            provision(CATALOG, STAGE, boto3.Session(region_name="us-east-1"))
            handlers = {
                name: import_handler(CATALOG, CATALOG.function(name), STAGE) for name in ("leads_api", "audit_api")
            }
            yield calls, handlers
    finally:
        for module in modules:
            sys.modules.pop(module, None)
        sys.modules.update(saved_modules)
        api.AUDIT_TRAILS.clear()
        api.AUDIT_TRAILS.update(saved_trails)
        boto3.DEFAULT_SESSION = saved_session
        os.environ.clear()
        os.environ.update(saved_environment)


def _admin_claims() -> dict[str, str]:
    """An admin's claims as API Gateway hands them to a function (the local user pool's access token)."""
    from local_runtime.auth import LocalUserPool

    pool = LocalUserPool.from_config()
    return pool.verify(pool.issue(["admin"], username="bench-admin"))


def _call(handler: Any, claims: dict[str, str], method: str, resource: str, **fields: Any) -> tuple[int, Any]:
    from local_runtime.lambda_events import LocalLambdaContext, rest_proxy_event

    path = fields.pop("path", resource)
    body = fields.pop("body", None)
    event = rest_proxy_event(
        method=method,
        path=path,
        resource=resource,
        headers={"Content-Type": "application/json", "User-Agent": "bench"},
        body=json.dumps(body).encode() if body is not None else b"",
        claims=claims,
        **fields,
    )
    answer = handler.handler(event, LocalLambdaContext(handler.__name__.split(".")[1]))
    return int(answer["statusCode"]), json.loads(answer.get("body") or "null")


def _capture_body(n: int, run: str) -> dict[str, Any]:
    return {
        "email": f"lead{n}.{run}@company{n % 97}-{run}.io",
        "source": "web form",
        "first_name": "Ana",
        "last_name": "Silva",
        "company": f"Company {n % 97}",
        "job_title": "VP of Sales",
    }


def audit_write_rows(captures: int = DEFAULT_CAPTURES, records: int = DEFAULT_AUDIT_RECORDS) -> list[Row]:
    """Both in-process parts (one embedded AWS): the audit trail's cost per write, then searching it."""
    with _embedded_aws() as (calls, handlers):
        claims = _admin_claims()
        rows, lead_id = _audit_per_write(handlers["leads_api"], calls, claims, captures)
        rows += _audit_search(handlers, calls, claims, records, lead_id)
        return rows


def _audit_per_write(
    leads_api: Any, calls: _DynamoDbCalls, claims: dict[str, str], captures: int
) -> tuple[list[Row], str]:
    from shared.http.api import AUDIT_TRAILS, RequestAudit

    audit_table = physical_name(STAGE, AUDIT.name)
    kept = dict(AUDIT_TRAILS)
    unkept = {key: RequestAudit(trail.table, store=_UnkeptAudit()) for key, trail in kept.items()}
    run, counter = uuid.uuid4().hex[:6], iter(range(1 << 30))

    def capture() -> tuple[float, Any]:
        body = _capture_body(next(counter), run)
        started = time.perf_counter()
        status, answer = _call(leads_api, claims, "POST", CAPTURE, body=body)
        seconds = time.perf_counter() - started
        if status != 201:
            raise AssertionError(f"a capture answered {status}: {answer}")
        return seconds, answer

    for _ in range(WARMUP_CAPTURES):  # every code path imported, the audit store's client made
        capture()
    # the DynamoDB calls of one audited capture, and of one over the store that keeps nothing
    calls.clear()
    _, captured = capture()
    audited_calls, on_audit = len(calls.calls), calls.on(audit_table)
    AUDIT_TRAILS.update(unkept)
    calls.clear()
    capture()
    unaudited_calls = len(calls.calls)
    AUDIT_TRAILS.update(kept)
    samples: dict[bool, list[float]] = {True: [], False: []}
    _say(f"audit per write: {ROUNDS} rounds of {captures} captures, audited and not, interleaved")
    for round_ in range(ROUNDS):
        for audited in (True, False) if round_ % 2 == 0 else (False, True):  # each goes first every other round
            AUDIT_TRAILS.update(kept if audited else unkept)
            samples[audited] += [capture()[0] for _ in range(captures)]
    AUDIT_TRAILS.update(kept)
    ours, baseline = statistics.median(samples[True]), statistics.median(samples[False])
    puts = on_audit.count("PutItem")
    label = f"lead capture through the handler, {ROUNDS * captures} per variant"
    return [
        ("audit per write", f"{label}, audit store keeping nothing (baseline)", f"{baseline * 1000:.1f} ms", "1.00"),
        (
            "audit per write",
            f"{label}, audited (DynamoDB trail)",
            f"{ours * 1000:.1f} ms",
            f"{ours / baseline:.2f}; +{(ours - baseline) * 1000:.1f} ms a write (moto in process)",
        ),
        (
            "audit per write",
            "audit table calls per audited write (receipt + outcome)",
            f"{len(on_audit)}: {' + '.join(on_audit)}",
            f"PutItem {puts}{_mark(on_audit == ['PutItem', 'PutItem'])} (expected 2); "
            f"DynamoDB calls a capture: {audited_calls} audited, {unaudited_calls} not",
        ),
    ], str(captured["lead_id"])


def _seed_audit(records: int) -> tuple[str, str, datetime, float]:
    """`records` records (half receipts, half outcomes) over the last 30 days, through the adapter; answers the
    actor and the target with the most records, the newest instant seeded and the seconds the seeding took."""
    import boto3

    from shared.adapters.dynamodb_audit import DynamoDbAuditStore
    from shared.audit.record import AuditRecord, Channel, Outcome, Phase, Target

    draw = random.Random(15)  # noqa: S311 (the same trail every run; no secret)
    actors = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-actor-{n}")) for n in range(100)]
    targets = [f"lead-{uuid.uuid5(uuid.NAMESPACE_URL, f'bench-target-{n}').hex[:20]}" for n in range(2_000)]
    routes = [r for f in CATALOG.functions for r in f.routes if r.path.startswith("/api/v1") and r.method != "GET"]
    store = DynamoDbAuditStore(boto3.client("dynamodb"), physical_name(STAGE, AUDIT.name), timedelta(days=400))
    newest = datetime.now(UTC) - timedelta(minutes=5)
    by_actor: Counter[str] = Counter()
    by_target: Counter[str] = Counter()
    started = time.perf_counter()
    for n in range(records // 2):
        route, actor, target = draw.choice(routes), draw.choice(actors), draw.choice(targets)
        by_actor[actor] += 1
        by_target[target] += 1
        at = newest - timedelta(seconds=draw.uniform(0, 30 * 86_400))
        request_id = str(uuid.UUID(int=draw.getrandbits(128)))
        common: dict[str, Any] = {
            "request_id": request_id,
            "channel": Channel.API,
            "actor": actor,
            "route": route.key,
            "method": route.method,
            "path": route.path,
            "username": f"user-{actors.index(actor)}",
            "groups": ("admin",),
            "targets": (Target("lead_id", target),),
            "request_digest": f"sha256:{request_id.replace('-', '') * 2}",
            "source_ip": f"10.0.{n % 250}.{n % 200}",
            "user_agent": "bench",
        }
        store.append(AuditRecord(at=at, phase=Phase.RECEIVED, outcome=Outcome.PENDING, **common))
        done = at + timedelta(milliseconds=draw.uniform(20, 400))
        store.append(AuditRecord(at=done, phase=Phase.COMPLETED, outcome=Outcome.SUCCEEDED, status=200, **common))
        if n and n % 2_500 == 0:
            _say(f"audit search: {2 * n:,} records seeded")
    seconds = time.perf_counter() - started
    return by_actor.most_common(1)[0][0], by_target.most_common(1)[0][0], newest, seconds


def _audit_search(
    handlers: dict[str, Any], calls: _DynamoDbCalls, claims: dict[str, str], records: int, lead_id: str
) -> list[Row]:
    _say(f"audit search: seeding {records:,} records through the adapter")
    actor, target, newest, seeding = _seed_audit(records)
    leads_api, audit_api = handlers["leads_api"], handlers["audit_api"]
    day_from = (newest - timedelta(days=10)).replace(hour=0, minute=0, second=0, microsecond=0)
    searches: dict[str, dict[str, list[str]]] = {
        "target": {"target": [target]},
        "actor": {"actor": [actor]},
        "one day": {"from": [day_from.isoformat()], "to": [(day_from + timedelta(days=1)).isoformat()]},
    }

    def lead() -> tuple[float, int, int]:
        started = time.perf_counter()
        status, answer = _call(
            leads_api, claims, "GET", "/api/v1/leads/{lead_id}", path=f"/api/v1/leads/{lead_id}",
            path_parameters={"lead_id": lead_id},
        )  # fmt: skip
        seconds = time.perf_counter() - started
        if status != 200:
            raise AssertionError(f"GET lead answered {status}: {answer}")
        return seconds, 1, 0

    def search(query: dict[str, list[str]]) -> tuple[float, int, int]:
        calls.clear()
        started = time.perf_counter()
        status, answer = _call(audit_api, claims, "GET", "/api/v1/audit", query=query)
        seconds = time.perf_counter() - started
        if status != 200 or not answer["items"]:
            raise AssertionError(f"GET /api/v1/audit?{query} answered {status}: {str(answer)[:300]}")
        return seconds, len(answer["items"]), calls.scanned

    measures: dict[str, Callable[[], tuple[float, int, int]]] = {"lead": lead}
    measures |= {name: functools.partial(search, query) for name, query in searches.items()}
    lead(), measures["target"]()  # warm: both functions' paths imported once
    _say(f"audit search: {SEARCH_ROUNDS} rounds of {LEAD_READS} lead reads and three searches")
    samples: dict[str, list[tuple[float, int, int]]] = {name: [] for name in measures}
    for _ in range(SEARCH_ROUNDS):  # few: moto takes seconds for each index query over the seeded table
        for name, measure in measures.items():
            samples[name] += [measure() for _ in range(LEAD_READS if name == "lead" else 1)]
    baseline = statistics.median(s[0] for s in samples["lead"])
    rows: list[Row] = [
        (
            "audit search",
            f"GET /api/v1/leads/{{id}}, one lead (baseline; {records:,} audit records seeded in {seeding:.0f} s)",
            f"{baseline * 1000:.1f} ms",
            "1.00",
        )
    ]
    shown = {"target": "?target=<lead id>", "actor": "?actor=<sub>", "one day": "?from=&to= (one day)"}
    for name in searches:
        seconds = statistics.median(s[0] for s in samples[name])
        found, scanned = samples[name][-1][1], samples[name][-1][2]
        rows.append(
            (
                "audit search",
                f"GET /api/v1/audit{shown[name]} (moto reads every item per index query)",
                f"{seconds * 1000:.1f} ms",
                f"{seconds / baseline:.2f}; {found} records, {scanned} items read",
            )
        )
    return rows


# ------------------------------------------------------------------------------------ on the local runtime


class _Hub:
    """A local hub started as `make run` starts it, and what a bench asks of it."""

    def __init__(self, url: str) -> None:
        from local_runtime.auth import LocalUserPool
        from local_runtime.example import local_secret

        self.url = url
        self.http = requests.Session()
        self.admin = {"Authorization": f"Bearer {LocalUserPool.from_config().issue(['admin'])}"}
        self.write_key = local_secret("segment_api")
        self.aws_endpoint = str(self.http.get(f"{url}/healthz", timeout=10).json()["aws_endpoint"])
        self.dynamodb = embedded_client("dynamodb", self.aws_endpoint)
        sqs = embedded_client("sqs", self.aws_endpoint)
        self._sqs = sqs
        work_queues = {physical_name("local", queue.name) for queue in CATALOG.work_queues}
        # the work queues, and the rules' taps (a message stays in its tap until its function has handled it)
        self._queues = [
            url
            for url in sqs.list_queues(MaxResults=1000).get("QueueUrls", [])
            if url.rsplit("/", 1)[-1] in work_queues or url.endswith("-tap")
        ]

    def batch(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), SEGMENT_BATCH):
            body = {"batch": messages[start : start + SEGMENT_BATCH]}
            answer = self.http.post(f"{self.url}/v1/batch", json=body, auth=(self.write_key, ""), timeout=60)
            if answer.status_code not in (200, 202):
                raise AssertionError(f"/v1/batch answered {answer.status_code}: {answer.text[:300]}")

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, f"{self.url}{path}", headers=self.admin, timeout=60, **kwargs)

    def _last_seq(self) -> str:
        answer = self.http.get(f"{self.url}/_local/events", params={"since": 1 << 62}, timeout=10)
        return str(answer.headers["X-Events-Last-Seq"])

    def _work_left(self) -> bool:
        """Whether anything waits: the CRM emulators' webhooks to go out, a replay running, a message in a work
        queue or a rule's tap (waiting, or being handled: it leaves its tap once its function has handled it)."""
        for crm in ("hubspot", "salesforce"):
            if int(self.http.get(f"{self.url}/_local/crm/{crm}/_webhooks", timeout=10).json()["pending"]):
                return True
        replays = self.http.get(f"{self.url}/_local/replays", timeout=10).json()["items"]
        if any(not replay["replay_end_time"] for replay in replays):
            return True
        for url in self._queues:  # the costly part of a poll: asked only while the bus is still
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            if any(int(value) for value in attributes.values()):
                return True
        return False

    def quiet(self) -> float:
        """Waits until the bus has taken no event for QUIET_SECONDS with no work left; answers the perf_counter of
        the first poll of that still stretch: when the hub had done its work, to within a poll. While the bus
        moves, a poll is one cheap request, so the polling takes little from the hub it measures."""
        deadline = time.perf_counter() + QUIET_TIMEOUT_SECONDS
        last, since = None, None
        while True:
            seq = self._last_seq()
            polled = time.perf_counter()
            if seq != last or self._work_left():
                last, since = seq, None
            elif since is None:
                since = polled
            elif polled - since >= QUIET_SECONDS:
                return since
            if polled > deadline:
                raise AssertionError(f"the hub never went quiet (bus at seq {seq})")
            time.sleep(POLL_SECONDS)

    def items(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(table, item) of every item of every table of the embedded DynamoDB."""
        for table in self.dynamodb.list_tables()["TableNames"]:
            for page in self.dynamodb.get_paginator("scan").paginate(TableName=table):
                for item in page["Items"]:
                    yield table, item

    def snapshot(self) -> dict[tuple[str, str], str]:
        """Every item, by table and key, as canonical JSON (binary attributes as hex)."""
        keys = {
            table: [k["AttributeName"] for k in self.dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
            for table in self.dynamodb.list_tables()["TableNames"]
        }
        return {
            (table, "|".join(json.dumps(item[k], sort_keys=True) for k in keys[table])): json.dumps(
                item, sort_keys=True, default=bytes.hex
            )
            for table, item in self.items()
        }

    def holding(self, needle: str) -> list[tuple[str, str]]:
        """(table, "pk|sk: attributes") of every item holding `needle` (case-insensitive) in any attribute, zlib
        bodies inflated."""
        found = []
        needle = needle.casefold()
        for table, item in self.items():
            names = [name for name, value in item.items() if needle in _text(value).casefold()]
            if names:
                where = "|".join(str(item.get(key, {}).get("S")) for key in ("pk", "sk"))
                found.append((table, f"{where}: {', '.join(names)}"))
        return found


def _text(value: dict[str, Any]) -> str:
    if "B" in value:
        raw = bytes(value["B"])
        try:
            return zlib.decompress(raw).decode("utf-8", "replace")
        except zlib.error:
            return raw.decode("utf-8", "replace")
    if "M" in value:
        return json.dumps({key: _text(inner) for key, inner in value["M"].items()})
    if "L" in value:
        return json.dumps([_text(inner) for inner in value["L"]])
    if "S" in value:
        return str(value["S"])
    return json.dumps(value, default=str)


@contextmanager
def _hub() -> Iterator[_Hub]:
    with tempfile.TemporaryDirectory(prefix="governance-") as scratch:
        errors = Path(scratch) / "hub.err"
        process, url = start_hub(errors)
        try:
            yield _Hub(url)
        except Exception:
            print(f"the hub's stderr (its end):\n{errors.read_text()[-3000:]}", file=sys.stderr)
            raise
        finally:
            stop_hub(process)


def _message(kind: str, user: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "userId": user, "messageId": uuid.uuid4().hex, "timestamp": at.isoformat(), **fields}


TRACKED = ("Email Link Clicked", "Content Downloaded", "Webinar Attended", "Pricing Viewed", "Feature Used")


def _stripe(hub: _Hub, event_type: str, obj: dict[str, Any]) -> None:
    from local_runtime.example import local_secret
    from shared.webhooks.vendors import stripe

    now = int(time.time())
    event = {"id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": event_type, "created": now}
    body = json.dumps(event | {"data": {"object": obj}}).encode()
    headers = {"Stripe-Signature": stripe.sign(local_secret("stripe"), body, now), "Content-Type": "application/json"}
    answer = hub.http.post(f"{hub.url}/webhooks/stripe", data=body, headers=headers, timeout=30)
    if answer.status_code != 202:
        raise AssertionError(f"a Stripe delivery answered {answer.status_code}: {answer.text[:300]}")


def _hubspot_email(hub: _Hub, object_id: int, email: str) -> None:
    from local_runtime.example import local_secret
    from shared.webhooks.vendors import hubspot

    millis = str(int(time.time() * 1000))
    event = {
        "eventId": uuid.uuid4().int % 10**9,
        "subscriptionId": 1,
        "portalId": 62515,
        "appId": 1,
        "occurredAt": int(millis),
        "subscriptionType": "contact.propertyChange",
        "attemptNumber": 0,
        "objectId": object_id,
        "propertyName": "email",
        "propertyValue": email,
        "changeSource": "FORM",
    }
    body = json.dumps([event]).encode()
    url = f"{hub.url}/webhooks/hubspot"
    headers = {
        "X-HubSpot-Signature-v3": hubspot.sign(local_secret("hubspot"), "POST", url, body, millis),
        "X-HubSpot-Request-Timestamp": millis,
        "Content-Type": "application/json",
    }
    answer = hub.http.post(url, data=body, headers=headers, timeout=30)
    if answer.status_code != 202:
        raise AssertionError(f"a HubSpot delivery answered {answer.status_code}: {answer.text[:300]}")


def erasure_rows(events: int = DEFAULT_ERASURE_EVENTS) -> list[Row]:
    with _hub() as hub:
        run = uuid.uuid4().hex[:8]
        email = f"Erin.Castillo.{run}@fjord-{run}.io"  # mixed case: erased and searched case-insensitively
        user, now = f"user-{run}", datetime.now(UTC).replace(microsecond=0)
        _say(f"erasure: a person with {events} Segment events, a capture, Stripe and HubSpot deliveries")
        traits = {"email": email, "firstName": "Erin", "lastName": f"Castillo{run}"}
        messages = [_message("identify", user, now - timedelta(days=6), traits=traits, anonymousId=f"anon-{run}")]
        messages += [
            _message("track", user, now - timedelta(days=5, minutes=-n), event=TRACKED[n % len(TRACKED)],
                     properties={"n": n})
            for n in range(events - 1)
        ]  # fmt: skip
        hub.batch(messages)
        profile = {"first_name": "Erin", "last_name": f"Castillo{run}", "company": f"Fjord {run}"}
        icp = {"job_title": "VP of Sales", "industry": "Software", "employee_count": 450, "country": "US"}
        captured = hub.api("POST", CAPTURE, json={"email": email, "source": "web form", **profile, **icp})
        if captured.status_code not in (200, 201):
            raise AssertionError(f"the capture answered {captured.status_code}: {captured.text[:300]}")
        hub.batch([_message("track", user, now - timedelta(hours=1), event="Demo Requested")])
        customer = f"cus_{run}"
        _stripe(hub, "customer.created", {"object": "customer", "id": customer, "email": email, "name": "Fjord"})
        invoice = {"object": "invoice", "id": f"in_{run}", "customer": customer, "customer_email": email}
        _stripe(hub, "invoice.paid", invoice | {"amount_paid": 4900, "currency": "usd"})
        _hubspot_email(hub, int(run, 16) % 10**9, email)
        hub.quiet()
        exports = []
        for _ in range(EXPORT_READS):
            started = time.perf_counter()
            answer = hub.api("GET", "/api/v1/privacy/export", params={"email": email})
            exports.append(time.perf_counter() - started)
            if answer.status_code != 200 or not answer.json().get("known"):
                raise AssertionError(f"the export answered {answer.status_code}: {answer.text[:300]}")
        export = answer.json()
        before = hub.holding(email)
        _say("erasure: erasing")
        started = time.perf_counter()
        erased = hub.api("POST", "/api/v1/privacy/erasure", json={"email": email})
        erasure = time.perf_counter() - started
        if erased.status_code != 200:
            raise AssertionError(f"the erasure answered {erased.status_code}: {erased.text[:300]}")
        receipt = erased.json()
        hub.quiet()  # the CRM deletions, through the sync's queue
        after = hub.holding(email)
        baseline = statistics.median(exports)
        held = ", ".join(
            f"{len(export.get(part) or [])} {part}" for part in ("engagement", "identities", "handoffs", "deliveries")
        )
        stores = {store: count for store, count in receipt["erased"].items() if count}
        for table, where in after:  # what the erasure left: said where it can be read
            _say(f"erasure left the email in {table} {where}")
        tables = Counter(table.removeprefix("revops-local-") for table, _ in after)
        return [
            (
                "erasure",
                f"GET /api/v1/privacy/export of the person (baseline, median of {EXPORT_READS}; {held})",
                f"{baseline * 1000:.0f} ms",
                "1.00",
            ),
            (
                "erasure",
                f"POST /api/v1/privacy/erasure, {events} engagement events (wall, one request)",
                f"{erasure * 1000:.0f} ms",
                f"{erasure / baseline:.2f}; {sum(stores.values())} items in {len(stores)} stores",
            ),
            (
                "erasure",
                "items of the hub's tables holding the email, after the erasure",
                str(len(after)),
                f"before: {len(before)} in {len({table for table, _ in before})} tables"
                + _mark(not after and bool(before))
                + (f"; left in {', '.join(f'{n} {t}' for t, n in tables.most_common())}" if after else ""),
            ),
        ]


def replay_rows(events: int = DEFAULT_REPLAY_EVENTS) -> list[Row]:
    with _hub() as hub:
        run = uuid.uuid4().hex[:8]
        hour_start = datetime.now(UTC) - timedelta(hours=1)
        per_person = max(2, events // REPLAY_PEOPLE)
        messages: list[dict[str, Any]] = []
        for person in range(REPLAY_PEOPLE):
            user = f"user-{run}-{person}"
            at = hour_start + timedelta(minutes=person % 50)
            traits = {"email": f"p{person}.{run}@replay-{person % 7}-{run}.io", "title": "Manager of Data"}
            messages.append(_message("identify", user, at, traits=traits))
            messages += [
                _message("track", user, at + timedelta(seconds=n + 1), event=TRACKED[(person + n) % len(TRACKED)])
                for n in range(per_person - 1)
            ]
        messages.sort(key=lambda message: str(message["timestamp"]))  # sent as the hour went
        _say(f"replay: an hour of {len(messages)} Segment messages and {REPLAY_STRIPE_DELIVERIES} Stripe customers")
        customers = [(f"cus_{run}_{n}", f"p{n}.{run}@replay-{n % 7}-{run}.io") for n in range(REPLAY_STRIPE_DELIVERIES)]
        # The customers first, their payments later, as they come in the hour: a payment of a customer the hub does
        # not know yet is parked until the next signal about it, and a replay would be that next signal.
        started = time.perf_counter()
        for customer, email in customers:
            _stripe(hub, "customer.created", {"object": "customer", "id": customer, "email": email, "name": customer})
        original = hub.quiet() - started
        started = time.perf_counter()
        hub.batch(messages)
        for n, (customer, email) in enumerate(customers):
            invoice = {"object": "invoice", "id": f"in_{run}_{n}", "customer": customer, "customer_email": email}
            _stripe(hub, "invoice.paid", invoice | {"amount_paid": 4900, "currency": "usd"})
        original += hub.quiet() - started
        before = hub.snapshot()
        window = {"from": (hour_start - timedelta(minutes=1)).isoformat(), "to": datetime.now(UTC).isoformat()}
        _say("replay: replaying the hour")
        started = time.perf_counter()
        answer = hub.http.post(f"{hub.url}/_local/replays", json=window, timeout=30)
        if answer.status_code != 202:
            raise AssertionError(f"the replay answered {answer.status_code}: {answer.text[:300]}")
        name = answer.json()["name"]
        while (replay := hub.http.get(f"{hub.url}/_local/replays/{name}", timeout=10).json())["state"] in (
            "STARTING",
            "RUNNING",
        ):
            time.sleep(POLL_SECONDS)
        if replay["state"] != "COMPLETED":
            raise AssertionError(f"the replay ended {replay['state']}: {replay.get('state_reason')}")
        replayed = hub.quiet() - started
        after = hub.snapshot()
        changed = _changes(before, after)
        for (table, key), (was, now) in sorted(changed.items())[:5]:  # the consumer at fault: said where it shows
            _say(f"replay changed {table} {key}: {was[:300]} -> {now[:300]}")
        kinds = Counter(
            f"{table.removeprefix('revops-local-')} {_kind(was, now)}" for (table, _), (was, now) in changed.items()
        )
        total = int(replay["events_total"])
        return [
            (
                "replay",
                f"an hour: {len(messages)} Segment messages, {REPLAY_STRIPE_DELIVERIES} Stripe customers and their "
                "payments, processed until quiet (baseline)",
                f"{original:.1f} s",
                "1.00",
            ),
            (
                "replay",
                f"replay of that hour ({total} archived events, {replay['deliveries']} rule deliveries) until quiet",
                f"{replayed:.1f} s",
                f"{replayed / original:.2f}; failed {replay['failed']}",
            ),
            ("replay", "events replayed per second", f"{total / replayed:.0f} /s", ""),
            (
                "replay",
                f"items changed by the replay, of {len(after):,} in every table",
                str(len(changed)),
                f"expected 0{_mark(not changed)}"
                + (f"; {', '.join(f'{n} {k}' for k, n in kinds.most_common())}" if kinds else ""),
            ),
        ]


def _changes(
    before: dict[tuple[str, str], str], after: dict[tuple[str, str], str]
) -> dict[tuple[str, str], tuple[str, str]]:
    """(table, key) -> (before, after) of every item that differs ("" where there was none)."""
    return {
        key: (before.get(key, ""), after.get(key, ""))
        for key in before.keys() | after.keys()
        if before.get(key) != after.get(key)
    }


def _kind(was: str, now: str) -> str:
    return "new" if not was else "gone" if not now else "changed"


def _mark(ok: bool) -> str:
    return " ✓" if ok else " ✗"


KNOBS = {  # governance_rows' arguments, from the environment (`make bench`) or the command line
    "captures": ("BENCH_AUDIT_CAPTURES", DEFAULT_CAPTURES),
    "audit_records": ("BENCH_AUDIT_RECORDS", DEFAULT_AUDIT_RECORDS),
    "erasure_events": ("BENCH_ERASURE_EVENTS", DEFAULT_ERASURE_EVENTS),
    "replay_events": ("BENCH_REPLAY_EVENTS", DEFAULT_REPLAY_EVENTS),
}


def knobs_from_environment() -> dict[str, int]:
    return {name: int(os.environ.get(variable, default)) for name, (variable, default) in KNOBS.items()}


def governance_rows(
    captures: int = DEFAULT_CAPTURES,
    audit_records: int = DEFAULT_AUDIT_RECORDS,
    erasure_events: int = DEFAULT_ERASURE_EVENTS,
    replay_events: int = DEFAULT_REPLAY_EVENTS,
) -> list[Row]:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    parts: list[tuple[str, Callable[[], list[Row]]]] = [
        ("audit", lambda: audit_write_rows(captures, audit_records)),
        ("erasure", lambda: erasure_rows(erasure_events)),
        ("replay", lambda: replay_rows(replay_events)),
    ]
    rows: list[Row] = []
    for name, measure in parts:
        try:
            rows += measure()
        except Exception as exc:  # a part that fails is a row of the table; the others still run
            rows.append((name, "FAILED", type(exc).__name__, str(exc)[:160]))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, value in knobs_from_environment().items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=value)
    rows = governance_rows(**vars(parser.parse_args()))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return 1 if any(row[1] == "FAILED" for row in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
