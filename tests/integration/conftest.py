"""Integration tier: the real adapters and handlers over moto's in-process AWS (`mock_aws`)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from local_runtime.provision import Provisioned, provision
from shared.catalog import CATALOG

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
    }
)
for _function in CATALOG.functions:
    os.environ.update(CATALOG.environment(_function, STAGE))
os.environ.pop("AWS_ENDPOINT_URL", None)


@pytest.fixture
def aws() -> Iterator[Provisioned]:
    with mock_aws():
        yield provision(CATALOG, STAGE, boto3.Session(region_name="us-east-1"))


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
