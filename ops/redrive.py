"""Redrive a dead-letter queue of a deployed stage: each message's event is handed back to the function
that failed on it (asynchronous invoke, so Lambda's retries and on-failure destination apply again), and
the message is deleted only once Lambda has accepted the invocation.

    python -m ops.redrive --stage dev --queue webhook-receiver-async-failures [--max 100] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import sys

import boto3

from ops.audit_run import audited_run
from ops.stages import CannotRun
from shared.catalog import CATALOG, Function, physical_name
from shared.redrive import UnknownQueue, dead_letter, owner_of


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
    sqs, lambda_ = boto3.client("sqs"), boto3.client("lambda")
    queue_url = sqs.get_queue_url(QueueName=physical_name(args.stage, args.queue))["QueueUrl"]
    function_name = physical_name(args.stage, function.slug)
    redriven = 0
    while redriven < args.max:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        if not messages:
            break
        for message in messages[: args.max - redriven]:
            letter = dead_letter(CATALOG, args.queue, message["Body"])
            if args.dry_run:
                print(json.dumps(letter.event)[:200])
                continue
            lambda_.invoke(FunctionName=function_name, InvocationType="Event", Payload=json.dumps(letter.event))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            redriven += 1
        if args.dry_run:
            break
    return redriven, function_name


if __name__ == "__main__":
    raise SystemExit(main())
