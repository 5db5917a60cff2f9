"""Failures on demand, for proving that nothing accepted is lost: make EventBridge refuse entries the way
it does under throttling or an outage (`FailedEntryCount > 0`), without touching the code under test.

Installed as a botocore `before-call` hook on a session (before its clients exist) or on one client.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders

_FORWARDED = ("Source", "DetailType", "Detail", "EventBusName", "Time", "Resources")


class PutEventsFaults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls_to_refuse = 0
        self._positions: set[int] | None = None
        self._forwarder: Any = None

    def refuse_next(self, calls: int = 1, positions: set[int] | None = None) -> None:
        """Refuse the entries at `positions` (all when None) of the next `calls` PutEvents calls."""
        with self._lock:
            self._calls_to_refuse, self._positions = calls, positions

    def install(self, emitter: Any) -> None:
        emitter.register("before-call.events.PutEvents", self._answer)

    def _answer(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        with self._lock:
            if self._calls_to_refuse <= 0:
                return None
            self._calls_to_refuse -= 1
            positions = self._positions
        entries = json.loads(params["body"])["Entries"]
        refused = set(range(len(entries))) if positions is None else positions
        accepted = [entry for position, entry in enumerate(entries) if position not in refused]
        if accepted:
            # The entries EventBridge did take must still arrive, through a client without this hook.
            self._forward([{key: e[key] for key in _FORWARDED if key in e} for e in accepted])
        results = [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "injected by PutEventsFaults"}
            if position in refused
            else {"EventId": f"injected-ok-{position}"}
            for position in range(len(entries))
        ]
        return AWSResponse(params.get("url", ""), 200, HTTPHeaders(), None), {
            "FailedEntryCount": len(refused),
            "Entries": results,
        }

    def _forward(self, entries: list[dict[str, Any]]) -> None:
        if self._forwarder is None:
            import boto3

            self._forwarder = boto3.session.Session().client("events")
        self._forwarder.put_events(Entries=entries)
