"""SQS target (the sync queue, through an event source mapping): each batch of change notices becomes as few
CRM calls as the CRMs' batch sizes allow (the records' latest values, read when written), and each erasure
notice of the privacy API deletes its record in its CRM (`shared.crm.erasure`), retried and dead-lettered alike.
Under a stream of changes, a batch too small to fill a call is queued again to come back with the ones after it
(`shared.crm.pacing`). A CRM that is rate limited has its notices queued again to come back after its
Retry-After; one whose record another writer is creating (its create claim) comes back once the claim has
expired, also as a new message, until it has waited `MAX_CLAIM_WAITS` times (then it is dead-lettered with the
reason); one that is down fails them, and they come back after the queue's visibility timeout until its
receive limit dead-letters them; a record a CRM refuses for good goes to the dead-letter queue at once with the
reason; the batch's other notices are done."""

import math
import time
from dataclasses import replace
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.dynamodb_crm_sync import DynamoDbErasureLookups
from shared.adapters.sqs_change_queue import (
    SqsBatchControl,
    SqsChangeQueue,
    erasure_of,
    is_erasure,
    notice_of,
)
from shared.catalog import CATALOG, CRM_SYNC, physical_name
from shared.crm.erasure import ErasureNotice, erase_in_crms
from shared.crm.ports import ChangeNotice, CrmClient, CrmName
from shared.crm.writer import WriteInterrupted
from shared.function_environment import environment_of
from shared.observability import logger, metrics, traced
from shared.wiring import CRM_SYNC_QUEUE, crm_clients, crm_sync_service

environment = environment_of(__name__)
service = crm_sync_service(environment, paced=True)
control = SqsBatchControl(boto3.client("sqs"))
requeue = SqsChangeQueue(boto3.client("sqs"), environment.queue_url(CRM_SYNC_QUEUE))
# what an erasure finds a record by when its notice names it by reference (no email on the queue)
erasure_lookups = DynamoDbErasureLookups(boto3.client("dynamodb"), environment.table(CRM_SYNC.name))
CLIENTS_FOR_SECONDS = 900  # the credentials are read again (a rotated token picked up) this often
_clients: tuple[float, dict[CrmName, CrmClient]] | None = None
DEAD_LETTERS = physical_name(environment.stage, CATALOG.work_queue(CRM_SYNC_QUEUE).dead_letter_queue.name)


def clients() -> dict[CrmName, CrmClient]:
    """The CRM clients, kept across invocations for a while: one credentials read and one Salesforce sign-in per
    quarter hour, not per batch."""
    global _clients
    if _clients is None or time.monotonic() - _clients[0] > CLIENTS_FOR_SECONDS:
        _clients = (time.monotonic(), crm_clients(environment))
    return _clients[1]


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records") or []
    notices: dict[str, ChangeNotice] = {}
    erasures: dict[str, ErasureNotice] = {}
    unreadable: dict[str, str] = {}
    for record in records:
        body = record.get("body") or ""
        try:
            if is_erasure(body):
                erasures[record["messageId"]] = erasure_of(body)
            else:
                notices[record["messageId"]] = notice_of(body)
        except ValueError as exc:
            unreadable[body] = f"unreadable change notice: {exc}"
    erased, erasures_failed = _erase(records, erasures, unreadable)
    try:
        report = service.write(list(notices.values()), clients())
    except WriteInterrupted as interrupted:
        # the batch fails (retried whole), but the records of erased people it found in a CRM are deleted still
        _erase_created_meanwhile(interrupted.erased_meanwhile)
        raise
    _erase_created_meanwhile(report.erased_meanwhile)
    if report.unsettled:
        logger.warning("written, not settled: retried", extra={"unsettled": report.unsettled})
    if report.linked:
        # the links that waited for a record this batch put in a CRM (a contact's association with its account's
        # new company) go out now; a failure to queue them fails the batch, whose redelivery finds them again
        requeue.send(report.linked)
    retry = {(n.crm, n.record_key) for n in report.retry}
    refused = {(n.crm, n.record_key): reason for n, reason in report.refused}
    failed = [m for m, n in notices.items() if (n.crm, n.record_key) in retry]
    dead = dict(unreadable)
    dead.update(
        {
            r["body"]: refused[(n.crm, n.record_key)]
            for r in records
            if (n := notices.get(r["messageId"])) and (n.crm, n.record_key) in refused
        }
    )
    if dead:
        control.dead_letter(DEAD_LETTERS, dead)
    if report.throttled:
        # Back after the CRM's Retry-After as new messages: a 429 storm spends none of the queue's receive count
        # (the originals are done); a notice sent twice is harmless, the writer reads the record when it writes.
        waiting = {(n.crm, n.record_key): replace(n, throttled=n.throttled + 1) for n in report.throttled}
        requeue.send(list(waiting.values()), report.retry_after or 0)
    if report.claimed:
        # Back once another writer's create claim on the record has expired, as new messages: waiting for another
        # writer spends none of the queue's receive count (the originals are done). A notice blocked too often was
        # refused, and dead-lettered above with the reason.
        claim_waits: dict[tuple[str, str], tuple[ChangeNotice, int]] = {
            (n.crm, n.record_key): (n, math.ceil(seconds)) for n, seconds in report.claimed
        }
        for wait in sorted({s for _, s in claim_waits.values()}):
            requeue.send([n for n, s in claim_waits.values() if s == wait], wait)
    for crm, seconds in report.hold_seconds.items():
        # Under load, a batch too small to fill a call waits for the ones coming after it (`shared.crm.pacing`)
        requeue.send([n for n in report.held if n.crm == crm], seconds)
    for crm, written in report.written.items():
        metrics.add_metric(name=f"SyncRecordsWritten{crm.title()}", unit="Count", value=written)
    logger.info(
        "sync batch written",
        extra={
            "notices": len(records),
            "written": report.written,
            "calls": report.calls,
            "retry": len(failed),
            "held": len(report.held),
            "claimed": len(report.claimed),
            "linked": len(report.linked),
            "dead_lettered": len(dead),
            "erased": erased,
        },
    )
    failed += erasures_failed
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def _erase_created_meanwhile(notices: list[ErasureNotice]) -> None:
    """Queued first, before anything else can fail the batch: its retry would find the record gone and write
    nothing, and no one else knows these CRM ids. A failure to queue them is logged with the ids, for a person."""
    if not notices:
        return
    try:
        requeue.send_erasures(notices)
    except Exception:
        ids = [f"{n.crm}:{n.kind}:{n.crm_id}" for n in notices]
        logger.exception("records of erased people left in the CRMs: delete them by hand", extra={"crm_ids": ids})
        raise


def _erase(
    records: list[dict[str, Any]], erasures: dict[str, ErasureNotice], dead: dict[str, str]
) -> tuple[int, list[str]]:
    """Delete the erasure notices' records in their CRMs: how many were, and the messages to fail (retried after
    the visibility timeout); the refused ones join `dead`, the rate-limited ones come back after the CRM's
    Retry-After as new messages."""
    if not erasures:
        return 0, []
    report = erase_in_crms(list(erasures.values()), clients(), erasure_lookups)
    refused = dict(report.refused)
    dead.update({r["body"]: refused[n] for r in records if (n := erasures.get(r["messageId"])) in refused})
    if report.throttled:
        requeue.send_erasures([replace(n, throttled=n.throttled + 1) for n in report.throttled], report.retry_after)
    retry = set(report.retry)
    return len(report.erased), [message_id for message_id, n in erasures.items() if n in retry]
