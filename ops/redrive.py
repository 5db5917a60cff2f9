"""Redrive a dead-letter queue of a deployed stage: each message's event is handed back to the function
that failed on it (asynchronous invoke, so Lambda's retries and on-failure destination apply again), and
the message is deleted only once Lambda has accepted the invocation.

A stream-reading function's failure (a publisher's) names where its records are in the table's stream, not the
records: they are read back from the stream (which keeps them 24 hours), kept as the trigger's filter keeps
them, and handed to the function synchronously, as its trigger would; the message is deleted once the function
took every record, and stays (with what failed printed) otherwise. A record the function set aside less its item
images (the lead publisher's: `shared.adapters.sqs_dead_letters.located`) has its item read back from the table by
its keys; one whose item is gone (erased, or past its TTL) leaves the message in the queue, with why printed.

    python -m ops.redrive --stage dev --queue webhook-receiver-async-failures [--max 100] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import boto3

from local_runtime.streams import ItemReader, StreamReader, item_reader, matches, read_back
from ops.audit_run import audited_run
from ops.stages import CannotRun
from shared.catalog import CATALOG, Function, physical_name
from shared.redrive import DeadLetter, UnknownQueue, dead_letter, failed_records, owner_of


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--queue", required=True, help="catalog queue name, without the revops-<stage>- prefix")
    parser.add_argument("--max", type=int, default=1000)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    try:
        function = owner_of(CATALOG, args.queue)
    except UnknownQueue as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        with audited_run("redrive", vars(args), args.stage) as audit:
            audit.target("queue", args.queue)
            redriven, function_name = _redrive(args, function)
            audit.finish(0, f"redrove {redriven} message(s)")
    except CannotRun as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"redrove {redriven} message(s) from {args.queue} to {function_name}")
    return 0


def _redrive(args: argparse.Namespace, function: Function) -> tuple[int, str]:
    sqs, lambda_, streams = boto3.client("sqs"), boto3.client("lambda"), boto3.client("dynamodbstreams")
    queue_url = sqs.get_queue_url(QueueName=physical_name(args.stage, args.queue))["QueueUrl"]
    function_name = physical_name(args.stage, function.slug)
    tables = [physical_name(args.stage, trigger.table) for trigger in function.streams]
    read_item = item_reader(boto3.client("dynamodb"), tables[0]) if tables else None
    redriven = 0
    while redriven < args.max:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        if not messages:
            break
        for message in messages[: args.max - redriven]:
            letter = dead_letter(CATALOG, args.queue, message["Body"])
            if letter.from_stream:
                if not _stream_letter_taken(letter, streams, lambda_, function_name, args.dry_run, read_item):
                    continue
            elif args.dry_run:
                print(json.dumps(letter.event)[:200])
                continue
            else:
                lambda_.invoke(FunctionName=function_name, InvocationType="Event", Payload=json.dumps(letter.event))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            redriven += 1
        if args.dry_run:
            break
    return redriven, function_name


def _stream_letter_taken(
    letter: DeadLetter,
    streams: Any,
    lambda_: Any,
    function_name: str,
    dry_run: bool,
    read_item: ItemReader | None = None,
) -> bool:
    """Hand a stream-reading function its records again; whether it took them all (the message may go)."""
    records = list(letter.event.get("Records", []))
    if read_item is not None:
        try:
            records = read_back(records, read_item)
        except LookupError as exc:
            print(f"{exc} (erased, or past its TTL): nothing to hand back; left in the queue")
            return False
    if letter.stream_batch is not None:
        batch = letter.stream_batch
        [trigger] = letter.function.streams
        # the same reading of a stream the local hub's triggers use: records as Lambda hands them over
        read = StreamReader(streams, batch.stream_arn).between(batch.shard_id, batch.first, batch.last)
        records = [record for record in read if matches(trigger.filter_pattern, record)]
        if not read:
            print(f"records {batch.first}..{batch.last} are no longer in the stream (it keeps them 24 hours): left")
            return False
    if dry_run:
        print(f"{len(records)} stream record(s): {json.dumps(records)[:200]}")
        return False
    if not records:
        return True  # the batch held nothing the trigger passes on: nothing to hand back
    answer = lambda_.invoke(
        FunctionName=function_name, InvocationType="RequestResponse", Payload=json.dumps({"Records": records})
    )
    payload = answer["Payload"].read()
    if answer.get("FunctionError"):
        print(f"the function failed again ({answer['FunctionError']}): {payload[:300]!r}; left in the queue")
        return False
    failed = failed_records(json.loads(payload or b"{}"))
    if failed:
        print(f"the function could not take {len(failed)} record(s) ({', '.join(failed[:5])}): left in the queue")
        return False
    return True


if __name__ == "__main__":
    raise SystemExit(main())
