"""Webhook deliveries by vendor and outcome, as a CloudWatch metric (`WebhookDeliveries`, service `webhooks`).

Every attempt ends in the delivery log exactly once, so the log is where it is counted: `CountedDeliveryLedger`
wraps the ledger the receiver writes to and counts an `accept` that stored something as `accepted`, and every
`record` (rejected, handshake, duplicate: an attempt that stored nothing) as its outcome.

The metric is written as an Embedded Metric Format line by hand, not through Powertools: this module is on the
webhook receiver's import path, which loads no Powertools and no pydantic (their import is a cold start vendors
wait on; `tests/receiver_probe.py` holds that line). The line follows Powertools' shape (namespace and
`POWERTOOLS_METRICS_DISABLED` from the same environment), with three dimension sets so the dashboard reads
deliveries per vendor and outcome, per outcome and per vendor. An unknown vendor (a 404) counts as `unknown`,
so a URL nobody configured cannot mint metrics.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Collection, Sequence

from shared.webhooks.model import (
    ClaimStatus,
    DeliveryAttempt,
    DeliveryPage,
    DeliveryQuery,
    InboundWebhook,
    Outcome,
    StoredEvent,
)
from shared.webhooks.ports import DeliveryLedger

METRIC = "WebhookDeliveries"
SERVICE = "webhooks"
UNKNOWN_VENDOR = "unknown"
DIMENSION_SETS = (["service", "vendor", "outcome"], ["service", "outcome"], ["service", "vendor"])


def emf_line(namespace: str, vendor: str, outcome: str, now_ms: int) -> str:
    """One delivery as an EMF document: CloudWatch reads the metric out of the log line."""
    return json.dumps(
        {
            "_aws": {
                "Timestamp": now_ms,
                "CloudWatchMetrics": [
                    {
                        "Namespace": namespace,
                        "Dimensions": [list(dimensions) for dimensions in DIMENSION_SETS],
                        "Metrics": [{"Name": METRIC, "Unit": "Count"}],
                    }
                ],
            },
            "service": SERVICE,
            "vendor": vendor,
            "outcome": outcome,
            METRIC: 1,
        },
        separators=(",", ":"),
    )


def record_delivery(vendor: str, outcome: Outcome) -> None:
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() in ("1", "true"):
        return
    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "RevOpsHub")
    # stdout, as Powertools writes its EMF: Lambda ships each line to the function's log group
    sys.stdout.write(emf_line(namespace, vendor, outcome.value, int(time.time() * 1000)) + "\n")


class CountedDeliveryLedger:
    """The receiver's delivery ledger, counting each attempt as it lands in the log."""

    def __init__(self, ledger: DeliveryLedger, vendors: Collection[str]) -> None:
        self._ledger = ledger
        self._vendors = frozenset(vendors)

    def accept(self, attempt: DeliveryAttempt, events: Sequence[StoredEvent]) -> dict[str, ClaimStatus]:
        statuses = self._ledger.accept(attempt, events)
        if ClaimStatus.NEW in statuses.values():  # all duplicates: the caller records the attempt as one
            record_delivery(self._vendor(attempt), Outcome.ACCEPTED)
        return statuses

    def record(self, attempt: DeliveryAttempt) -> None:
        self._ledger.record(attempt)
        record_delivery(self._vendor(attempt), attempt.outcome)

    def list_attempts(self, query: DeliveryQuery) -> DeliveryPage:
        return self._ledger.list_attempts(query)

    def request_of(self, attempt_id: str) -> InboundWebhook | None:
        return self._ledger.request_of(attempt_id)

    def _vendor(self, attempt: DeliveryAttempt) -> str:
        return attempt.vendor if attempt.vendor in self._vendors else UNKNOWN_VENDOR
