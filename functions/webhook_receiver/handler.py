"""POST /webhooks/{vendor}: verify, split into the vendor's events and store them (one write), then answer.
The webhook publisher puts what was stored on the bus, from the table's stream."""

from __future__ import annotations

import logging
from typing import Any

from shared.cold_start import collector_paused

with collector_paused():  # vendors wait on this function's cold starts: see shared/cold_start.py
    from shared.function_environment import environment_of
    from shared.http.webhook_request import inbound_webhook, path_parameter, proxy_response
    from shared.wiring import webhook_ingest

    ingest = webhook_ingest(environment_of(__name__))

_log = logging.getLogger(__name__)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    reply = ingest.receive(inbound_webhook(event, path_parameter(event, "vendor")))
    if reply.incident:  # an adapter bug: logged with its traceback already; this line is what the alarm counts
        _log.error("webhook payload unreadable", extra={"incident": reply.incident, "status": reply.status_code})
    return proxy_response(reply)
