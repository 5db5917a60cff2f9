"""Governance, audit per write, in process over moto (the embedded AWS, with the local runtime's patches): the
lead API's handler (`functions/leads_api`) serving N distinct lead captures, as API Gateway hands them over, with
the real audit trail (`shared.http.api.AUDIT_TRAILS`, DynamoDB adapter) against the same trail over a store that
keeps nothing (the baseline: the records are built, not stored), in interleaved rounds (median per capture); and
the AWS calls each audited write makes to the audit table (a botocore hook: a receipt, then the outcome)."""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

from benchmarks.governance_in_process import STAGE, DynamoDbCalls, call_handler
from benchmarks.governance_shared import CAPTURE, say
from benchmarks.rows import Row, mark
from shared.catalog import physical_name
from shared.catalog.audit import AUDIT

ROUNDS = 7  # interleaved rounds of captures
WARMUP_CAPTURES = 10
DEFAULT_CAPTURES = 40  # per round and variant


class _UnkeptAudit:
    """An audit store that keeps nothing: the trail without its storage (the records are still built)."""

    def append(self, record: Any) -> None:
        pass

    def search(self, query: Any) -> Any:
        from shared.audit.query import AuditPage

        return AuditPage([], None)


def _capture_body(n: int, run: str) -> dict[str, Any]:
    return {
        "email": f"lead{n}.{run}@company{n % 97}-{run}.io",
        "source": "web form",
        "first_name": "Ana",
        "last_name": "Silva",
        "company": f"Company {n % 97}",
        "job_title": "VP of Sales",
    }


def audit_per_write_rows(
    leads_api: Any, calls: DynamoDbCalls, claims: dict[str, str], captures: int
) -> tuple[list[Row], str]:
    from shared.http.api import AUDIT_TRAILS, RequestAudit

    audit_table = physical_name(STAGE, AUDIT.name)
    kept = dict(AUDIT_TRAILS)
    unkept = {key: RequestAudit(trail.table, store=_UnkeptAudit()) for key, trail in kept.items()}
    run, counter = uuid.uuid4().hex[:6], iter(range(1 << 30))

    def capture() -> tuple[float, Any]:
        body = _capture_body(next(counter), run)
        started = time.perf_counter()
        status, answer = call_handler(leads_api, claims, "POST", CAPTURE, body=body)
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
    say(f"audit per write: {ROUNDS} rounds of {captures} captures, audited and not, interleaved")
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
            f"PutItem {puts}{mark(on_audit == ['PutItem', 'PutItem'])} (expected 2); "
            f"DynamoDB calls a capture: {audited_calls} audited, {unaudited_calls} not",
        ),
    ], str(captured["lead_id"])
