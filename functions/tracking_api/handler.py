"""POST /v1/batch|track|identify|page|screen|group|alias: the Segment HTTP tracking API. Analytics SDKs pointed
at the hub deliver calls that are stored like any webhook (one write) and published from the table's stream."""

from __future__ import annotations

import logging
from typing import Any

from shared.cold_start import collector_paused

with collector_paused():  # SDKs wait on this function's cold starts: see shared/cold_start.py
    from shared.function_environment import environment_of
    from shared.http.webhook_request import inbound_webhook, proxy_response
    from shared.webhooks.registry import TRACKING_API
    from shared.wiring import webhook_ingest

    ingest = webhook_ingest(environment_of(__name__), vendors={TRACKING_API.name: TRACKING_API})

_log = logging.getLogger(__name__)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    reply = ingest.receive(inbound_webhook(event, TRACKING_API.name))
    if reply.incident:  # an adapter bug: logged with its traceback already; this line is what the alarm counts
        _log.error("tracking payload unreadable", extra={"incident": reply.incident, "status": reply.status_code})
    return proxy_response(reply)
