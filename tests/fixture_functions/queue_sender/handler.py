"""A work queue's sender for queue-trigger tests: sends the messages it is given to the work queue whose URL
variable (`QUEUE_<STEM>_URL`) it names, reading the URLs from its environment at cold start, as a function does."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

QUEUE_URLS = {name: url for name, url in os.environ.items() if name.startswith("QUEUE_") and name.endswith("_URL")}
sqs = boto3.client("sqs")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """`{"queue": "QUEUE_..._URL", "messages": [{"body": {...}, "group": "...", "id": "...", "attributes": {...}}]}`:
    each body sent as JSON in its message group, de-duplicated on its id."""
    url = QUEUE_URLS[event["queue"]]
    for message in event["messages"]:
        sqs.send_message(
            QueueUrl=url,
            MessageBody=json.dumps(message["body"]),
            MessageGroupId=message["group"],
            MessageDeduplicationId=message["id"],
            MessageAttributes=message.get("attributes", {}),
        )
    return {"sent": len(event["messages"])}
