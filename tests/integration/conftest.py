"""Integration tier: the real adapters and handlers over moto's in-process AWS (`mock_aws`)."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws
from werkzeug.serving import make_server

from local_runtime import moto_patches
from local_runtime.function_imports import import_handler
from local_runtime.lambda_events import LOCAL_ACCOUNT, LocalLambdaContext, rest_proxy_event
from local_runtime.provision import Provisioned, provision, table_definition
from local_runtime.slack_sink import LocalSlack
from shared.catalog import CATALOG, physical_name
from shared.catalog.model import Table

STAGE = "test"

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        # botocore 1.44 puts the account id in DynamoDB Streams' endpoint, which moto does not serve (404)
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)


# The embedded AWS as the local hub runs it: moto with the local runtime's patches (same answers; a
# transaction's cost proportional to its items, not to the table).
moto_patches.install()


def handler_module(function: str) -> ModuleType:
    """A function's handler module, imported as Lambda starts it: with only its own environment (no other
    function's variables), so a variable its catalog entry lacks fails here as it would in AWS."""
    return import_handler(CATALOG, CATALOG.function(function), STAGE)


@pytest.fixture
def aws() -> Iterator[Provisioned]:
    with mock_aws():
        yield provision(CATALOG, STAGE, boto3.Session(region_name="us-east-1"))


@contextmanager
def only_table(table: Table) -> Iterator[Any]:
    """Only this catalog table, made as `provision` makes the catalog's tables (moto, patched as the local hub
    runs it: see above); the rest of the catalog is not needed by a store's own tests, and provisioning it costs
    most of a test's time. Yields a DynamoDB client."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_definition(table, STAGE))
        yield client


def drain(queue_url: str) -> list[dict]:
    """Every message currently in a queue (moto delivers synchronously, so nothing is in flight)."""
    import json

    sqs = boto3.client("sqs", region_name="us-east-1")
    messages = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            messages.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def refuse_put_events(client, times: int = 1, refused: set[int] | None = None) -> None:  # type: ignore[no-untyped-def]
    """Make the next `times` PutEvents calls on `client` refuse the entries at `refused` (all when None)."""
    from local_runtime.faults import PutEventsFaults

    faults = PutEventsFaults()
    faults.refuse_next(times, refused)
    faults.install(client.meta.events)


def stream_trigger(aws: Provisioned, function_name: str) -> Callable[[], int]:
    """Runs one function's stream trigger once (as the local hub does on its thread): returns how many stored
    records it handed to the function."""
    import json

    from local_runtime.lambda_events import LocalLambdaContext
    from local_runtime.streams import StreamReader, StreamTriggerRunner

    [(function, trigger)] = [(fn, trigger) for fn, trigger in CATALOG.streams if fn.name == function_name]
    module = handler_module(function.name)
    table = boto3.client("dynamodb", region_name="us-east-1").describe_table(
        TableName=physical_name(STAGE, trigger.table)
    )["Table"]
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    runner = StreamTriggerRunner(
        function,
        trigger,
        StreamReader(streams, table["LatestStreamArn"]),
        table["LatestStreamArn"],
        lambda _, event: module.handler(event, LocalLambdaContext(function.slug)),
        lambda failure: sqs.send_message(
            QueueUrl=aws.queue_urls[function.failure_queue.name], MessageBody=json.dumps(failure)
        ),
    )
    return runner.run_once


@pytest.fixture
def outbox(aws: Provisioned) -> Callable[[], int]:
    """Runs the webhook publisher's stream trigger once: returns how many stored events it handed to it."""
    return stream_trigger(aws, "webhook_publisher")


@pytest.fixture
def lead_outbox(aws: Provisioned) -> Callable[[], int]:
    """Runs the lead publisher's stream trigger once: returns how many stored lead events it handed to it."""
    return stream_trigger(aws, "lead_publisher")


@pytest.fixture(autouse=True)
def _fresh_metrics() -> Iterator[None]:
    """Lambda flushes a function's metrics at the end of each invocation (`@metrics.log_metrics`); a test that calls
    a handler's parts directly does not, and Powertools keeps metrics in one set shared by every `Metrics` object. An
    audit record that could not be stored (`AuditRecordsNotStored`) in one test would otherwise reach another's flush
    (and Powertools refuses to flush over 100 without the namespace the function's environment sets)."""
    yield
    from shared.observability import metrics

    metrics.clear_metrics()


def eventbridge(source: str, detail_type: str, detail: Any) -> dict[str, Any]:
    """An event as EventBridge hands it to a Lambda target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": LOCAL_ACCOUNT,
        "time": datetime.now(UTC).isoformat(),
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def wait_for(condition: Callable[[], Any], seconds: float = 30) -> Any:
    """The condition's first truthy result within `seconds`; fails the test otherwise. For what a background
    thread of the local runtime does (a poller, a dispatcher): there is nothing else to wait on."""
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return result


# The Slack stand-in served on a local port, as the hub serves it: notifiers post to it through slack_sdk ----------


class ServedSlack:
    def __init__(self, sink: LocalSlack, url: str) -> None:
        self.sink = sink
        self.url = url

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        return self.sink.messages(channel)

    def forget(self) -> None:
        requests.delete(f"{self.url}/_local/slack/messages", timeout=5)

    def fail_next(self, calls: int = 1, kind: str = "server_error") -> None:
        """Through the stand-in's faults endpoint, as a person would."""
        answer = requests.post(f"{self.url}/_local/slack/faults", json={"calls": calls, "kind": kind}, timeout=5)
        assert answer.status_code == 200, answer.text


@contextmanager
def serving_slack() -> Iterator[tuple[LocalSlack, str]]:
    """A fresh Slack stand-in served on a free loopback port: it and its URL, until the block ends."""
    sink = LocalSlack()
    server = make_server("127.0.0.1", 0, sink.wsgi(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield sink, f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def served_slack() -> Iterator[ServedSlack]:
    with serving_slack() as (sink, url):
        yield ServedSlack(sink, url)


@pytest.fixture
def slack(served_slack: ServedSlack) -> ServedSlack:
    """The stand-in, emptied and without faults, for one test."""
    served_slack.forget()
    served_slack.sink.fail_next(0)
    return served_slack


def api_answer(
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
    function_name: str,
    method: str,
    resource: str,
    claims: dict[str, str],
    body: Any = None,
    query: dict[str, str] | None = None,
    raw: bytes | None = None,
    **path: str,
) -> tuple[int, dict[str, Any]]:
    """A REST API request through a function's handler as API Gateway hands it over: (status, JSON body); a
    function that fails answers 502, as API Gateway would."""
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    event = rest_proxy_event(
        method=method,
        path=resource.format(**path),
        resource=resource,
        path_parameters=path or None,
        query={key: [value] for key, value in (query or {}).items()},
        headers={"Content-Type": "application/json"} if data else {},
        body=data,
        claims=claims,
    )
    try:
        answer = handler(event, LocalLambdaContext(function_name))
    except Exception as failed:  # the function failed: API Gateway answers 502
        return 502, {"message": f"the function failed: {type(failed).__name__}: {failed}"}
    return int(answer["statusCode"]), json.loads(answer["body"] or "{}")
