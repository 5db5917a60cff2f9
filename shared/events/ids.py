"""Deterministic ids of canonical events, without the event model (no pydantic): the webhook receiver
computes them while it stores vendor events, and the publisher gets the same ids when it normalizes them.

The same vendor event always becomes the same canonical event id, so a re-publish after a crash, a retry
of the delivery or a redrive is recognisable downstream.
"""

from __future__ import annotations

import uuid

EVENT_ID_NAMESPACE = uuid.UUID("6f1c2d38-5b7e-4c53-9a57-2b1a7c0e9d41")


def event_id(namespace: str, dedupe_key: str) -> str:
    """The canonical event id of the vendor event `dedupe_key` of the de-duplication namespace `namespace` (a
    UUID 5): the vendor's name, except where several ways in share one (`Vendor.dedupe_namespace`: Segment's
    webhook destination and tracking API are both `segment_api`, so a message has one id whichever way it came)."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{namespace}:{dedupe_key}"))
