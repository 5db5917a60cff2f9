"""The fixture of the governance section's parts on the local runtime (the erasure and the replay): a hub started
as `make run` starts it, and what a bench asks of it (Segment batches, admin API calls, signed Stripe deliveries,
waiting until it is quiet, every item of every table of its embedded DynamoDB).

"Quiet": the bus has taken no event for QUIET_SECONDS while no work is left (no CRM emulator webhook pending, no
replay running, no message in a work queue or a rule's tap); the time taken is the first poll of that still
stretch."""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from benchmarks.burst import start_hub, stop_hub
from benchmarks.embedded_aws import embedded_client
from local_runtime.stored_text import attribute_text
from shared.catalog import CATALOG, physical_name

SEGMENT_BATCH = 100  # messages per /v1/batch call, as segment-analytics-python sends them
QUIET_SECONDS = 3.0
POLL_SECONDS = 0.25
# Not quiet: a failure once the bus has taken no event for STALLED_SECONDS while work is left (something stuck),
# or after QUIET_LIMIT_SECONDS in all. A hub draining a backlog keeps publishing (lead events, CRM changes), so
# how long it may take scales with the machine, not with a fixed deadline.
STALLED_SECONDS = 240
QUIET_LIMIT_SECONDS = 1800


class Hub:
    """A local hub started as `make run` starts it, and what a bench asks of it."""

    def __init__(self, url: str) -> None:
        from local_runtime.auth import LocalUserPool
        from local_runtime.example import local_secret

        self.url = url
        self.http = requests.Session()
        self.admin = {"Authorization": f"Bearer {LocalUserPool.from_config().issue(['admin'])}"}
        self.write_key = local_secret("segment_api")
        self.aws_endpoint = str(self.http.get(f"{url}/healthz", timeout=10).json()["aws_endpoint"])
        self.dynamodb = embedded_client("dynamodb", self.aws_endpoint)
        sqs = embedded_client("sqs", self.aws_endpoint)
        self._sqs = sqs
        work_queues = {physical_name("local", queue.name) for queue in CATALOG.work_queues}
        # the work queues, and the rules' taps (a message stays in its tap until its function has handled it)
        self._queues = [
            url
            for url in sqs.list_queues(MaxResults=1000).get("QueueUrls", [])
            if url.rsplit("/", 1)[-1] in work_queues or url.endswith("-tap")
        ]

    def batch(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), SEGMENT_BATCH):
            body = {"batch": messages[start : start + SEGMENT_BATCH]}
            answer = self.http.post(f"{self.url}/v1/batch", json=body, auth=(self.write_key, ""), timeout=60)
            if answer.status_code not in (200, 202):
                raise AssertionError(f"/v1/batch answered {answer.status_code}: {answer.text[:300]}")

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, f"{self.url}{path}", headers=self.admin, timeout=60, **kwargs)

    def _last_seq(self) -> str:
        answer = self.http.get(f"{self.url}/_local/events", params={"since": 1 << 62}, timeout=10)
        return str(answer.headers["X-Events-Last-Seq"])

    def _work_left(self) -> bool:
        """Whether anything waits: the CRM emulators' webhooks to go out, a replay running, a message in a work
        queue or a rule's tap (waiting, or being handled: it leaves its tap once its function has handled it)."""
        for crm in ("hubspot", "salesforce"):
            if int(self.http.get(f"{self.url}/_local/crm/{crm}/_webhooks", timeout=10).json()["pending"]):
                return True
        replays = self.http.get(f"{self.url}/_local/replays", timeout=10).json()["items"]
        if any(not replay["replay_end_time"] for replay in replays):
            return True
        for url in self._queues:  # the costly part of a poll: asked only while the bus is still
            attributes = self._sqs.get_queue_attributes(  # delayed too: the CRM writer's held and throttled batches
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            if any(int(value) for value in attributes.values()):
                return True
        return False

    def quiet(self) -> float:
        """Waits until the bus has taken no event for QUIET_SECONDS with no work left; answers the perf_counter of
        the first poll of that still stretch: when the hub had done its work, to within a poll. While the bus
        moves, a poll is one cheap request, so the polling takes little from the hub it measures."""
        limit = time.perf_counter() + QUIET_LIMIT_SECONDS
        stalled = time.perf_counter() + STALLED_SECONDS
        last, since = None, None
        while True:
            seq = self._last_seq()
            polled = time.perf_counter()
            if seq != last:
                stalled = polled + STALLED_SECONDS
            if seq != last or self._work_left():
                last, since = seq, None
            elif since is None:
                since = polled
            elif polled - since >= QUIET_SECONDS:
                return since
            if polled > stalled:
                raise AssertionError(f"the hub's bus took no event for {STALLED_SECONDS} s with work left (seq {seq})")
            if polled > limit:
                raise AssertionError(f"the hub was not quiet after {QUIET_LIMIT_SECONDS} s (bus at seq {seq})")
            time.sleep(POLL_SECONDS)

    def items(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(table, item) of every item of every table of the embedded DynamoDB."""
        for table in self.dynamodb.list_tables()["TableNames"]:
            for page in self.dynamodb.get_paginator("scan").paginate(TableName=table):
                for item in page["Items"]:
                    yield table, item

    def snapshot(self) -> dict[tuple[str, str], str]:
        """Every item, by table and key, as canonical JSON (binary attributes as hex)."""
        keys = {
            table: [k["AttributeName"] for k in self.dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
            for table in self.dynamodb.list_tables()["TableNames"]
        }
        return {
            (table, "|".join(json.dumps(item[k], sort_keys=True) for k in keys[table])): json.dumps(
                item, sort_keys=True, default=bytes.hex
            )
            for table, item in self.items()
        }

    def holding(self, needle: str) -> list[tuple[str, str]]:
        """(table, "pk|sk: attributes") of every item holding `needle` (case-insensitive) in any attribute, zlib
        bodies inflated."""
        found = []
        needle = needle.casefold()
        for table, item in self.items():
            names = [name for name, value in item.items() if needle in attribute_text(value).casefold()]
            if names:
                where = "|".join(str(item.get(key, {}).get("S")) for key in ("pk", "sk"))
                found.append((table, f"{where}: {', '.join(names)}"))
        return found


@contextmanager
def local_hub() -> Iterator[Hub]:
    with tempfile.TemporaryDirectory(prefix="governance-") as scratch:
        errors = Path(scratch) / "hub.err"
        process, url = start_hub(errors)
        try:
            yield Hub(url)
        except Exception:
            print(f"the hub's stderr (its end):\n{errors.read_text()[-3000:]}", file=sys.stderr)
            raise
        finally:
            stop_hub(process)


TRACKED = ("Email Link Clicked", "Content Downloaded", "Webinar Attended", "Pricing Viewed", "Feature Used")


def post_stripe(hub: Hub, event_type: str, obj: dict[str, Any]) -> None:
    from local_runtime.example import local_secret
    from shared.webhooks.vendors import stripe

    now = int(time.time())
    event = {"id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": event_type, "created": now}
    body = json.dumps(event | {"data": {"object": obj}}).encode()
    headers = {"Stripe-Signature": stripe.sign(local_secret("stripe"), body, now), "Content-Type": "application/json"}
    answer = hub.http.post(f"{hub.url}/webhooks/stripe", data=body, headers=headers, timeout=30)
    if answer.status_code != 202:
        raise AssertionError(f"a Stripe delivery answered {answer.status_code}: {answer.text[:300]}")
