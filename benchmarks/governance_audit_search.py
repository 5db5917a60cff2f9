"""Governance, audit search, in process over moto: 20,000 records seeded through the adapter (10,000 writes of 100
actors on 2,000 targets and every audited write route, over 30 days, each a receipt and its outcome), then
`GET /api/v1/audit?target=`, `?actor=` (the busiest ones) and a one-day `?from=&to=` through the audit API's
handler, beside `GET /api/v1/leads/{id}` of one lead (the baseline), in interleaved rounds; with the items each
search read (its Queries' ScannedCount). moto answers an index query by reading every item of the table (DynamoDB
reads the partition asked for), so the latencies here grow with the table as they would not in AWS, and take
seconds: few rounds. The items read do not grow with the table."""

from __future__ import annotations

import functools
import random
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.governance_in_process import STAGE, DynamoDbCalls, call_handler
from benchmarks.governance_shared import say
from benchmarks.rows import Row
from shared.catalog import CATALOG, physical_name
from shared.catalog.audit import AUDIT

SEARCH_ROUNDS = 3  # interleaved rounds of audit searches
LEAD_READS = 5  # lead reads per round of searches (the baseline)
DEFAULT_AUDIT_RECORDS = 20_000


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
            say(f"audit search: {2 * n:,} records seeded")
    seconds = time.perf_counter() - started
    return by_actor.most_common(1)[0][0], by_target.most_common(1)[0][0], newest, seconds


def audit_search_rows(
    handlers: dict[str, Any], calls: DynamoDbCalls, claims: dict[str, str], records: int, lead_id: str
) -> list[Row]:
    say(f"audit search: seeding {records:,} records through the adapter")
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
        status, answer = call_handler(
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
        status, answer = call_handler(audit_api, claims, "GET", "/api/v1/audit", query=query)
        seconds = time.perf_counter() - started
        if status != 200 or not answer["items"]:
            raise AssertionError(f"GET /api/v1/audit?{query} answered {status}: {str(answer)[:300]}")
        return seconds, len(answer["items"]), calls.scanned

    measures: dict[str, Callable[[], tuple[float, int, int]]] = {"lead": lead}
    measures |= {name: functools.partial(search, query) for name, query in searches.items()}
    lead(), measures["target"]()  # warm: both functions' paths imported once
    say(f"audit search: {SEARCH_ROUNDS} rounds of {LEAD_READS} lead reads and three searches")
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
