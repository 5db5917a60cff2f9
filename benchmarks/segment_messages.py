"""A Segment message as a bench sends it to the tracking API's batch route: its own message id, at a set time."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any


def segment_message(kind: str, user: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "userId": user, "messageId": uuid.uuid4().hex, "timestamp": at.isoformat(), **fields}
