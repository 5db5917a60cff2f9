"""The local stage's access log and its subscriptions: the gateway writes a line per API request, and the lines a
function's `AccessLogTrigger` matches reach it as CloudWatch Logs would deliver them, a gzipped, base64 `awslogs`
batch, invoked asynchronously (retries, then the function's failure queue: `EventDispatcher.deliver`).

Off the request's thread, as in AWS (a subscription delivers seconds after the request was answered): a worker
takes whatever lines have queued up, at most `MAX_BATCH` at a time, so a burst of refusals is a few batches."""

from __future__ import annotations

import base64
import gzip
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from local_runtime.lambda_events import LOCAL_ACCOUNT
from shared.catalog import AccessLogTrigger, Catalog, Function, physical_name

MAX_BATCH = 100
log = logging.getLogger("local_runtime.access_log")

Deliver = Callable[[Function, dict[str, Any]], bool]


def awslogs_event(log_group: str, filter_name: str, lines: list[dict[str, str]]) -> dict[str, Any]:
    """A CloudWatch Logs subscription's Lambda event for these lines (`DATA_MESSAGE`)."""
    batch = {
        "messageType": "DATA_MESSAGE",
        "owner": LOCAL_ACCOUNT,
        "logGroup": log_group,
        "logStream": "local",
        "subscriptionFilters": [filter_name],
        "logEvents": [
            {"id": uuid.uuid4().hex, "timestamp": _logged_at(line), "message": json.dumps(line)} for line in lines
        ],
    }
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(batch).encode())).decode()}}


def _logged_at(line: dict[str, str]) -> int:
    """When the line was written (ms): as the request was received, which the line says."""
    epoch = line.get("requestTimeEpoch", "")
    return int(epoch) if epoch.isdigit() else int(time.time() * 1000)


class LocalAccessLog:
    def __init__(self, catalog: Catalog, stage: str, deliver: Deliver) -> None:
        self._subscriptions: list[tuple[Function, AccessLogTrigger]] = list(catalog.access_log_triggers)
        self._deliver = deliver
        self._log_group = f"/aws/apigateway/{physical_name(stage, 'api')}/access"
        self._stage = stage
        self._lines: queue.Queue[dict[str, str] | None] = queue.Queue()
        self._worker: threading.Thread | None = None

    def write(self, line: dict[str, str]) -> None:
        if self._subscriptions:
            self._lines.put(line)

    def start(self) -> None:
        if self._subscriptions:
            self._worker = threading.Thread(target=self._run, name="access-log", daemon=True)
            self._worker.start()

    def stop(self) -> None:
        if self._worker is not None:
            self._lines.put(None)
            self._worker.join(timeout=10)

    def _run(self) -> None:
        while (line := self._lines.get()) is not None:
            lines = [line]
            while len(lines) < MAX_BATCH:
                try:
                    more = self._lines.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._send(lines)
                    return
                lines.append(more)
            self._send(lines)

    def _send(self, lines: list[dict[str, str]]) -> None:
        for fn, trigger in self._subscriptions:
            matched = [line for line in lines if trigger.matched(line)]
            if not matched:
                continue
            event = awslogs_event(self._log_group, physical_name(self._stage, f"access-log-to-{fn.slug}"), matched)
            try:
                self._deliver(fn, event)
            except Exception:  # a worker that dies would drop every later line
                log.exception("access log lines could not be delivered to %s", fn.name)
