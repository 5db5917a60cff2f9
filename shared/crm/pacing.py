"""When the writer calls a CRM: at once for a change on its own, in full batches when changes come in bulk.

A writer that calls each CRM as soon as its queue hands it a batch makes one call per batch, and under a steady
stream of changes (an import, a rescore) the queue's batching window hands over small batches: a thousand
updates at ten a second cost a hundred calls per CRM, where ten full batches would do. CRM calls are a budget
(HubSpot allows a private app 100-190 calls per 10 seconds, a Salesforce org a daily quota shared with every
other integration), so the writer paces itself as Nagle's algorithm paces a socket:

- a change on its own goes at once: while fewer than `busy_at` records changed afresh for a CRM in the last
  `window`, every batch is written as it comes (the sync's latency, seconds, is what users see then);
- under load, a batch that would not fill a call waits: its notices are queued again to come back at one moment
  shared by every batch held meanwhile (when the changes seen so far would fill a call at the current rate, at
  most `max_hold` away), so they come back together as one full batch;
- a notice waits once: one that was held (or that waited out a rate limit) is written when it comes back, with
  whatever came along. A change under load reaches its CRM within `max_hold` plus a batch's time.

The pacer's memory is the writer's (per container; the writer's queue trigger runs at most two at once), so it
is a saving, never a guarantee: a cold writer writes at once.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.crm.ports import ChangeNotice, CrmName

BUSY_AT = 10  # records changed afresh for one CRM within WINDOW that make a stream, not changes on their own
WINDOW = timedelta(seconds=10)
MAX_HOLD = timedelta(seconds=20)
MIN_HOLD = timedelta(seconds=1)  # SQS delays a message by whole seconds


@dataclass
class _Stream:
    seen: deque[tuple[datetime, int]] = field(default_factory=deque)  # (when, records changed afresh) per batch
    release_at: datetime | None = None  # when the notices held so far come back


class CallPacer:
    def __init__(self, busy_at: int = BUSY_AT, window: timedelta = WINDOW, max_hold: timedelta = MAX_HOLD) -> None:
        self.busy_at = busy_at
        self.window = window
        self.max_hold = max_hold
        self._streams: dict[CrmName, _Stream] = {}

    def hold(
        self, crm: CrmName, notices: Sequence[ChangeNotice], records: int, full: int, now: datetime
    ) -> timedelta | None:
        """How long a batch's notices to `crm` (of `records` distinct records) should wait before they are written;
        None: write them now. `full` is how many records one call of that CRM takes."""
        stream = self._streams.setdefault(crm, _Stream())
        fresh = len({n.record_key for n in notices if not (n.held or n.throttled)})
        seen_before = self._recent(stream, now)
        stream.seen.append((now, fresh))
        if any(n.held or n.throttled for n in notices) or records >= full or seen_before + fresh < self.busy_at:
            if stream.release_at is not None and stream.release_at <= now:
                stream.release_at = None  # what was held is back: the next batch under load waits anew
            return None
        if stream.release_at is None or stream.release_at <= now:
            per_second = (seen_before + fresh) / self.window.total_seconds()
            fill = timedelta(seconds=math.ceil((full - records) / per_second))
            stream.release_at = now + min(self.max_hold, max(MIN_HOLD, fill))
        return max(MIN_HOLD, stream.release_at - now)

    def _recent(self, stream: _Stream, now: datetime) -> int:
        while stream.seen and stream.seen[0][0] <= now - self.window:
            stream.seen.popleft()
        return sum(count for _, count in stream.seen)
