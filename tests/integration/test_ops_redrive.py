"""`make redrive` on a deployed stage (`ops.redrive`), against the stage's queues in moto and a stand-in for Lambda:
a run hands back the dead letters there when it starts, once each; permanent failures stay unless included; a dry
run leaves everything in view; what cannot be read is counted and stays; mistakes are one line, not a traceback."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import ops.redrive as redrive
from local_runtime.provision import provision
from shared.catalog import CATALOG, physical_name
from shared.permanent_failures import PERMANENT_CONDITION
from shared.redrive import destination_record

STAGE = "dev"
FUNCTION = next(fn for fn in CATALOG.functions if fn.rules and not fn.streams)
QUEUE = FUNCTION.failure_queue.name


class StandInLambda:
    """Lambda's Invoke as `make redrive` calls it: records each event, and runs `then` (what the function does)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.then: Callable[[dict[str, Any]], None] = lambda event: None

    def invoke(self, **call: Any) -> dict[str, Any]:
        event = json.loads(call["Payload"])
        self.events.append(event)
        self.then(event)
        return {"StatusCode": 202}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str, StandInLambda]]:
    """The stage provisioned in moto (its queues and audit table), its Lambda a stand-in."""
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        provisioned = provision(CATALOG, STAGE, session)
        lambda_ = StandInLambda()
        real = boto3.session.Session.client

        def client(self: Any, service: str, *args: Any, **kwargs: Any) -> Any:
            return lambda_ if service == "lambda" else real(self, service, *args, **kwargs)

        monkeypatch.setattr(boto3.session.Session, "client", client)
        yield session.client("sqs"), provisioned.queue_urls[QUEUE], lambda_


def dead_letter(
    sqs: Any, url: str, event_id: str = "e-1", condition: str = "RetriesExhausted", body: str | None = None
) -> dict[str, Any]:
    event = {"id": event_id, "detail-type": "deal.won", "source": "revops.test", "detail": {"n": 1}}
    error = ValueError(f"{event_id} fails validation")
    record = destination_record(physical_name(STAGE, FUNCTION.slug), event, error, condition, 3)
    sqs.send_message(QueueUrl=url, MessageBody=body if body is not None else json.dumps(record))
    return record


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = redrive.main(list(argv))
        except SystemExit as exit_:  # argparse's refusals
            code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


def in_queue(sqs: Any, url: str) -> tuple[int, int]:
    """(in view, held) message counts."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return int(attributes[names[0]]), int(attributes[names[1]])


def bodies(sqs: Any, url: str) -> list[str]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    return sorted(message["Body"] for message in messages)


def test_a_dead_letter_whose_function_fails_again_at_once_is_handed_back_once(aws: Any) -> None:
    sqs, url, lambda_ = aws
    # Given one dead letter, and a function that sends each event it is handed straight back to its failure queue
    dead_letter(sqs, url)
    lambda_.then = lambda event: dead_letter(sqs, url, event["id"])
    # When the queue is redriven
    code, out, err = run("--stage", STAGE, "--queue", QUEUE, "--max", "25")
    # Then the event was handed back once, and its new dead letter waits, in view, for the next run
    assert [event["id"] for event in lambda_.events] == ["e-1"]
    assert (code, out.strip()) == (
        0,
        f"redriven 1, left 0, failed again 0: {QUEUE} to {physical_name(STAGE, FUNCTION.slug)}",
    )
    assert in_queue(sqs, url) == (1, 0)
    assert "redriving" in err  # the progress bar


def test_permanent_failures_are_listed_and_stay_unless_included(aws: Any) -> None:
    sqs, url, lambda_ = aws
    # Given a dead letter to retry and one the function set aside as never able to succeed as it is
    dead_letter(sqs, url, "e-retry")
    permanent = dead_letter(sqs, url, "e-bad", PERMANENT_CONDITION)
    # When the queue is redriven
    code, out, _ = run("--stage", STAGE, "--queue", QUEUE)
    # Then only the first is handed back; the permanent one is listed with its reason and stays; the run says so
    assert [event["id"] for event in lambda_.events] == ["e-retry"]
    assert code == 1
    assert "1 PermanentFailure record(s) left" in out
    assert "e-bad: ValueError: e-bad fails validation" in out
    assert "redriven 1, left 1, failed again 0" in out
    assert bodies(sqs, url) == [json.dumps(permanent)]
    # And with --include-permanent (its cause fixed) it is handed back
    code, out, _ = run("--stage", STAGE, "--queue", QUEUE, "--include-permanent")
    assert (code, [event["id"] for event in lambda_.events]) == (0, ["e-retry", "e-bad"])
    assert in_queue(sqs, url) == (0, 0)


def test_two_dead_letters_of_one_event_are_handed_back_once(aws: Any) -> None:
    sqs, url, lambda_ = aws
    # Given the same event dead-lettered twice
    dead_letter(sqs, url, "e-twice")
    dead_letter(sqs, url, "e-twice")
    # When the queue is redriven
    code, out, _ = run("--stage", STAGE, "--queue", QUEUE)
    # Then it is handed back once, and its second letter stays
    assert [event["id"] for event in lambda_.events] == ["e-twice"]
    assert (code, "redriven 1, left 1, failed again 0" in out) == (1, True)
    assert in_queue(sqs, url) == (1, 0)


def test_a_dry_run_leaves_every_message_in_view_for_the_real_run(aws: Any) -> None:
    sqs, url, lambda_ = aws
    # Given more dead letters than one receive returns
    for n in range(12):
        dead_letter(sqs, url, f"e-{n}")
    # When a dry run looks at them
    code, out, _ = run("--stage", STAGE, "--queue", QUEUE, "--dry-run")
    # Then it says it would redrive them all, hands nothing back, and leaves them all in view
    assert code == 0
    assert f"would redrive 12 message(s) from {QUEUE}" in out
    assert lambda_.events == []
    assert in_queue(sqs, url) == (12, 0)
    # And the real run right after redrives them all
    code, out, _ = run("--stage", STAGE, "--queue", QUEUE)
    assert (code, "redriven 12, left 0, failed again 0" in out) == (0, True)
    assert sorted(event["id"] for event in lambda_.events) == sorted(f"e-{n}" for n in range(12))


def test_a_message_that_is_no_dead_letter_is_counted_and_stays_and_the_others_go_back(aws: Any) -> None:
    sqs, url, lambda_ = aws
    # Given a message that is not JSON between two dead letters
    dead_letter(sqs, url, "e-1")
    dead_letter(sqs, url, body="not json")
    dead_letter(sqs, url, "e-2")
    # When the queue is redriven
    code, out, err = run("--stage", STAGE, "--queue", QUEUE)
    # Then the dead letters are handed back, the other message is counted as left, and stays; no traceback
    assert sorted(event["id"] for event in lambda_.events) == ["e-1", "e-2"]
    assert (code, "redriven 2, left 1, failed again 0" in out) == (1, True)
    assert "Traceback" not in out + err
    assert bodies(sqs, url) == ["not json"]


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--stage", "qa", "--queue", QUEUE], "qa"),  # a stage not deployed in this account
        (["--stage", STAGE, "--queue", "no-such-queue"], "no catalog queue named 'no-such-queue'"),
        (["--stage", STAGE, "--queue", QUEUE, "--max", "0"], "--max is at least 1"),
        (["--stage", STAGE, "--queue", "crm-sync-changes-dlq"], "StartMessageMoveTask"),
    ],
    ids=["stage not deployed", "unknown queue", "bad --max", "a work queue's dead letters"],
)
def test_a_run_that_cannot_run_says_why_in_one_line(aws: Any, argv: list[str], said: str) -> None:
    code, _, err = run(*argv)
    assert code == 2
    assert said in err
    assert "Traceback" not in err
    assert err.strip().count("\n") == 0 or err.startswith("usage:"), err


def test_a_queue_not_deployed_on_the_stage_is_one_line(aws: Any) -> None:
    sqs, url, _ = aws
    # Given the stage's failure queue is not there (its stack not deployed yet)
    sqs.delete_queue(QueueUrl=url)
    # When it is redriven
    code, _, err = run("--stage", STAGE, "--queue", QUEUE)
    # Then the run says so in one line
    assert code == 2
    said = f"stage {STAGE} has no queue {physical_name(STAGE, QUEUE)} in this account and region: is it deployed?"
    assert err.strip() == f"error: {said}"


def test_a_run_is_recorded_in_the_audit_trail_with_its_counts(aws: Any) -> None:
    sqs, url, _ = aws
    dead_letter(sqs, url, "e-1")
    dead_letter(sqs, url, "e-2", PERMANENT_CONDITION)
    code, _, _ = run("--stage", STAGE, "--queue", QUEUE)
    items = boto3.client("dynamodb").scan(TableName=physical_name(STAGE, "audit"))["Items"]
    finished = [item for item in items if item.get("phase", {}).get("S") == "finished"]
    assert code == 1
    assert len(finished) == 1
    assert "redriven 1, left 1, failed again 0" in json.dumps(finished[0])


def test_a_message_whose_hand_back_raises_stays_in_view_and_is_counted_as_left(aws: Any) -> None:
    sqs, url, lambda_ = aws
    # Given three dead letters, and Lambda throttling the second invoke
    for event_id in ("e-1", "e-2", "e-3"):
        dead_letter(sqs, url, event_id)

    def throttled_on_the_second(event: dict[str, Any]) -> None:
        if len(lambda_.events) == 2:
            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}, "Invoke")

    lambda_.then = throttled_on_the_second
    # When the queue is redriven
    code, out, _ = run("--stage", STAGE, "--queue", QUEUE)
    # Then the first went back; the one in hand when the error came is counted as left and, with the one not yet
    # looked at, is in view again at once (not held out of view for the redrive's hold)
    assert code == 1
    assert "redriven 1, left 1, failed again 0" in out
    assert "stopped:" in out
    assert "TooManyRequestsException" in out
    assert in_queue(sqs, url) == (2, 0)
    assert [json.loads(body)["requestPayload"]["id"] for body in bodies(sqs, url)] == ["e-2", "e-3"]
