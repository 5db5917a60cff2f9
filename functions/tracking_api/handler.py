"""POST /v1/batch|track|identify|page|screen|group|alias (and analytics.js's /v1/b|t|i|p|s|g|a): the Segment HTTP
tracking API. Analytics SDKs pointed at the hub deliver calls that are stored like any webhook (one write) and
published from the table's stream. Each call is noted with the time API Gateway received it (Segment's clock-skew
correction reads it: `shared.webhooks.vendors.segment.stamped`), and every answer is readable by a browser (CORS)."""

from __future__ import annotations

import logging
from typing import Any

from shared.cold_start import collector_paused

with collector_paused():  # SDKs wait on this function's cold starts: see shared/cold_start.py
    from shared.function_environment import environment_of
    from shared.http.webhook_request import CORS_HEADERS, inbound_webhook, proxy_response, received_at
    from shared.webhooks.registry import TRACKING_API
    from shared.webhooks.vendors.segment import stamped
    from shared.wiring import webhook_ingest

    ingest = webhook_ingest(environment_of(__name__), vendors={TRACKING_API.name: TRACKING_API})

_log = logging.getLogger(__name__)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    reply = ingest.receive(stamped(inbound_webhook(event, TRACKING_API.name), received_at(event)))
    if reply.incident:  # an adapter bug: logged with its traceback already; this line is what the alarm counts
        _log.error("tracking payload unreadable", extra={"incident": reply.incident, "status": reply.status_code})
    return proxy_response(reply, CORS_HEADERS)
