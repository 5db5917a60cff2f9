"""Redrive a dead-letter queue: each message's event is handed back to the function that failed on it, with a
progress bar and a summary (redriven, left in the queue, failed again).

    python -m ops.redrive --queue lead-processor-async-failures              # the local hub `make run` started
    python -m ops.redrive --stage dev --queue webhook-receiver-async-failures [--max 100] [--dry-run]
    python -m ops.redrive --stage dev --queue lead-processor-async-failures --include-permanent

A run takes the messages in the queue when it starts (at most --max), holding them while it hands them back, and
no others: a dead letter that fails again lands in the queue as a new message and waits for the next run, instead
of being handed back again and again. Two dead letters of one event (its id) are handed back once; the second stays.

On a deployed stage each event goes back by an asynchronous invoke (Lambda's retries and on-failure destination
apply again), and the message is deleted once Lambda has accepted the invocation. A stream-reading function's
failure (a publisher's) names where its records are in the table's stream, not the records: they are read back
from the stream (which keeps them 24 hours), kept as the trigger's filter keeps them, and handed to the function
synchronously, as its trigger would; the message is deleted once the function took every record, and stays (failed
again, with what failed printed) otherwise. A record the function set aside less its item images (the lead
publisher's: `shared.adapters.sqs_dead_letters.located`) has its item read back from the table by its keys; one
whose item is gone (erased, or past its TTL) stays in the queue, with why printed.

A `PermanentFailure` record is one the function set aside itself as never able to succeed as it is (an event that
fails validation, one the bus refused for good): handed back unchanged it only comes back. They are listed with
their reason and stay, unless --include-permanent says their cause was fixed (a deploy that accepts them, the bus
fixed). A message that is no dead letter at all (not JSON) is counted and stays.

Without --stage: the local hub `make run` started (`POST /_local/redrive/<queue>`, which records the run in the
audit trail and answers the same counts), a dry run peeks at its embedded SQS. A work queue's dead-letter queue
(`crm-sync-changes-dlq`) goes back to its work queue: locally through the hub; on a deployed stage with SQS's own
DLQ redrive (`aws sqs start-message-move-task --source-arn <the DLQ's ARN>`, or the console's "Start DLQ redrive").

--dry-run hands nothing back: it shows what a run would do (`would redrive N`) and puts every message it looked at
back in view at once, so a real run right after finds them all.

Exit status: 0 when every message taken was redriven, 1 when some were left in the queue or failed again (or the
run stopped on an AWS error), 2 when it cannot run at all (unknown queue, no credentials, stage not deployed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import requests
from botocore.exceptions import BotoCoreError, ClientError
from tqdm import tqdm

from local_runtime.streams import ItemReader, StreamReader, item_reader, matches, read_back
from ops.audit_run import audited_run
from ops.rescore import one_line
from ops.stages import LOCAL, CannotRun, stage_clients
from shared.catalog import CATALOG, Function, physical_name
from shared.redrive import (
    DeadLetter,
    UnknownQueue,
    UnreadableDeadLetter,
    WorkQueueDeadLetters,
    dead_letter,
    failed_records,
    held_messages,
    owner_of,
    release,
)

Client = Callable[[str], Any]
Taken = Literal["taken", "failed", "left", "would"]
SHOWN = 20  # permanent failures listed one by one, at most


@dataclass
class Outcome:
    """What a run did with the messages it took."""

    queue: str
    function_name: str
    dry_run: bool = False
    redriven: int = 0  # handed back and accepted (deleted); in a dry run: would be
    failed_again: int = 0  # handed back, and the function failed on them again: they stay
    left: int = 0  # not handed back: they stay (permanent, unreadable, a second letter of an event, records gone, or
    # the message in hand when an AWS error stopped the run)
    permanent: list[str] = field(default_factory=list)  # the PermanentFailure records left: "<event id>: <reason>"
    error: str | None = None  # the AWS error the run stopped on

    @property
    def exit_status(self) -> int:
        if self.error:
            return 1
        return 0 if self.dry_run else int(bool(self.left or self.failed_again))

    def summary(self) -> str:
        if self.dry_run:
            said = f"would redrive {self.redriven} message(s) from {self.queue} to {self.function_name}"
            return said + (f"; {self.left} would stay in the queue" if self.left else "")
        said = (
            f"redriven {self.redriven}, left {self.left}, failed again {self.failed_again}: "
            f"{self.queue} to {self.function_name}"
        )
        return said + (f"; stopped: {self.error}" if self.error else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", help="local (the default: the hub `make run` started), dev, prod")
    parser.add_argument("--queue", required=True, help="catalog queue name, without the revops-<stage>- prefix")
    parser.add_argument("--max", type=int, default=1000, help="at most this many messages (default 1000)")
    parser.add_argument("--dry-run", action="store_true", help="show what would be redriven; hand nothing back")
    parser.add_argument(
        "--include-permanent",
        action="store_true",
        help="also hand back PermanentFailure records (their cause was fixed); they stay otherwise",
    )
    parser.add_argument("--endpoint-url", help="AWS endpoint (default for local: the running hub's embedded AWS)")
    args = parser.parse_args(argv)
    stage = args.stage or LOCAL
    if args.max < 1:
        parser.error(f"--max is at least 1, not {args.max}")
    function: Function | None = None
    try:
        function = owner_of(CATALOG, args.queue)
    except WorkQueueDeadLetters as exc:
        if stage != LOCAL or args.dry_run:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    except UnknownQueue as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if stage == LOCAL and not args.dry_run:
            outcome = redrive_on_local_hub(args.queue, args.include_permanent)  # the hub records the run
        else:
            assert function is not None
            with audited_run("redrive", vars(args), stage, endpoint_url=args.endpoint_url) as audit:
                audit.target("queue", args.queue)
                outcome = redrive_queue(
                    stage_clients(stage, args.endpoint_url),
                    stage,
                    args.queue,
                    function,
                    limit=args.max,
                    dry_run=args.dry_run,
                    include_permanent=args.include_permanent,
                )
                audit.finish(outcome.exit_status, outcome.summary())
    except (CannotRun, BotoCoreError, ClientError) as exc:
        print(f"error: {_one_line(exc, stage, args.queue)}", file=sys.stderr)
        return 2
    print(outcome.summary())
    return outcome.exit_status


def _one_line(error: BaseException, stage: str, queue: str) -> str:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            return (
                f"stage {stage} has no queue {physical_name(stage, queue)} in this account and region: is it deployed?"
            )
    return one_line(error, stage)


def redrive_on_local_hub(queue: str, include_permanent: bool, hub_url: str | None = None) -> Outcome:
    """The local hub's redrive (`POST /_local/redrive/<queue>`): the hub hands the dead letters back in-process."""
    from local_runtime.discovery import NoLocalHub, running_hub

    try:
        url = hub_url or running_hub().url
    except NoLocalHub as exc:
        raise CannotRun(f"{exc}; start one with `make run`, or pass STAGE=dev for a deployed stage") from None
    query = "?include_permanent=1" if include_permanent else ""
    try:
        response = requests.post(f"{url.rstrip('/')}/_local/redrive/{queue}{query}", timeout=600)
    except requests.RequestException:
        raise CannotRun(f"no local hub answers at {url}; start one with `make run`, or pass STAGE=dev") from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or response.status_code >= 400:
        said = answer.get("message") if isinstance(answer, dict) else None
        raise CannotRun(f"the local hub answered {response.status_code}: {said or response.text[:200]}")
    try:
        function_name = owner_of(CATALOG, queue).slug
    except WorkQueueDeadLetters:
        function_name = "its work queue"
    return Outcome(
        queue,
        function_name,
        redriven=int(answer.get("redriven", 0)),
        failed_again=int(answer.get("failed_again", 0)),
        left=int(answer.get("left", 0)),
    )


def redrive_queue(
    client: Client,
    stage: str,
    queue: str,
    function: Function,
    *,
    limit: int = 1000,
    dry_run: bool = False,
    include_permanent: bool = False,
) -> Outcome:
    """Hand the messages of `queue` (those there now, at most `limit`) back to `function` on `stage`."""
    sqs, lambda_ = client("sqs"), client("lambda")
    queue_url = sqs.get_queue_url(QueueName=physical_name(stage, queue))["QueueUrl"]
    function_name = physical_name(stage, function.slug)
    tables = [physical_name(stage, trigger.table) for trigger in function.streams]
    read_item = item_reader(client("dynamodb"), tables[0]) if tables else None
    streams = client("dynamodbstreams") if function.streams else None
    outcome = Outcome(queue, function_name, dry_run=dry_run)
    held = held_messages(sqs, queue_url, limit=limit, wait_seconds=1)
    stay: list[dict[str, Any]] = []  # messages that stay in the queue: in view again when the run ends
    handed_back: set[str] = set()  # the events (their keys) handed back in this run
    done = 0  # the messages dealt with: deleted, or in `stay`; an AWS error stops the run with held[done] in hand
    bar = tqdm(held, desc=f"{'looking at' if dry_run else 'redriving'} {queue}", unit=" messages")
    try:
        for message in bar:
            try:
                letter = dead_letter(CATALOG, queue, message["Body"])
            except UnreadableDeadLetter as exc:
                tqdm.write(f"left in the queue: {exc}")
                outcome.left += 1
                stay.append(message)
                done += 1
                continue
            if letter.permanent and not include_permanent:
                outcome.permanent.append(f"{letter.key[:80]}: {_reason(message['Body'])}")
                outcome.left += 1
                stay.append(message)
                done += 1
                continue
            if letter.key in handed_back:
                tqdm.write(f"left in the queue: a second dead letter of {letter.key[:80]}, handed back once already")
                outcome.left += 1
                stay.append(message)
                done += 1
                continue
            taken = _hand_back(letter, streams, lambda_, function_name, dry_run, read_item)
            if taken == "taken":
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            if taken in ("taken", "would"):
                handed_back.add(letter.key)
                outcome.redriven += 1
            if taken != "taken":
                outcome.failed_again += taken == "failed"
                outcome.left += taken == "left"
                stay.append(message)
            done += 1
    except (BotoCoreError, ClientError) as exc:  # what was not handed back stays; the run says why it stopped
        outcome.error = one_line(exc, stage)
        # the message in hand when the error came (its hand-back or delete failed) is released with the rest, and
        # counted: it stays in the queue
        outcome.left += done < len(held)
    finally:
        bar.close()
        try:
            release(sqs, queue_url, stay + held[done:])
        except (BotoCoreError, ClientError) as exc:
            print(f"warning: messages left stay out of view until their hold ends: {one_line(exc, stage)}")
    if outcome.permanent:
        print(
            f"{len(outcome.permanent)} PermanentFailure record(s) left in the queue: the function set them aside as "
            "never able to succeed as they are; once their cause is fixed, redrive with --include-permanent"
        )
        for line in outcome.permanent[:SHOWN]:
            print(f"  {line}")
        if len(outcome.permanent) > SHOWN:
            print(f"  ... and {len(outcome.permanent) - SHOWN} more")
    return outcome


def _reason(body: str) -> str:
    """The error a destination record holds (why its function set the event aside)."""
    record = json.loads(body)
    response = record.get("responsePayload") if isinstance(record, dict) else None
    if not isinstance(response, dict):
        return "no reason given"
    return f"{response.get('errorType', 'Error')}: {response.get('errorMessage', '')}"[:200]


def _hand_back(
    letter: DeadLetter,
    streams: Any,
    lambda_: Any,
    function_name: str,
    dry_run: bool,
    read_item: ItemReader | None,
) -> Taken:
    if letter.from_stream:
        return _stream_letter_taken(letter, streams, lambda_, function_name, dry_run, read_item)
    if dry_run:
        tqdm.write(json.dumps(letter.event)[:200])
        return "would"
    lambda_.invoke(FunctionName=function_name, InvocationType="Event", Payload=json.dumps(letter.event))
    return "taken"


def _stream_letter_taken(
    letter: DeadLetter,
    streams: Any,
    lambda_: Any,
    function_name: str,
    dry_run: bool,
    read_item: ItemReader | None = None,
) -> Taken:
    """Hand a stream-reading function its records again: taken (every one: the message may go), failed (the function
    failed on one again), left (nothing to hand back: the records or their items are gone), would (a dry run)."""
    records = list(letter.event.get("Records", []))
    if read_item is not None:
        try:
            records = read_back(records, read_item)
        except LookupError as exc:
            tqdm.write(f"{exc} (erased, or past its TTL): nothing to hand back; left in the queue")
            return "left"
    if letter.stream_batch is not None:
        batch = letter.stream_batch
        [trigger] = letter.function.streams
        # the same reading of a stream the local hub's triggers use: records as Lambda hands them over
        read = StreamReader(streams, batch.stream_arn).between(batch.shard_id, batch.first, batch.last)
        records = [record for record in read if matches(trigger.filter_pattern, record)]
        if not read:
            tqdm.write(
                f"records {batch.first}..{batch.last} are no longer in the stream (it keeps them 24 hours): left"
            )
            return "left"
    if dry_run:
        tqdm.write(f"{len(records)} stream record(s): {json.dumps(records)[:200]}")
        return "would"
    if not records:
        return "taken"  # the batch held nothing the trigger passes on: nothing to hand back
    answer = lambda_.invoke(
        FunctionName=function_name, InvocationType="RequestResponse", Payload=json.dumps({"Records": records})
    )
    payload = answer["Payload"].read()
    if answer.get("FunctionError"):
        tqdm.write(f"the function failed again ({answer['FunctionError']}): {payload[:300]!r}; left in the queue")
        return "failed"
    failed = failed_records(json.loads(payload or b"{}"))
    if failed:
        tqdm.write(f"the function could not take {len(failed)} record(s) ({', '.join(failed[:5])}): left in the queue")
        return "failed"
    return "taken"


if __name__ == "__main__":
    raise SystemExit(main())
