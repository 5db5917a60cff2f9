from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import ClassVar


class WallClock:
    """The real time, UTC, never moved: what a sender's clock is compared with (webhook signature timestamps,
    which a moved local clock would otherwise refuse as stale)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class SystemClock:
    """The hub's time, UTC. `offset` is zero in AWS; the local runtime moves it forward (`POST /_local/clock`)
    so that SLA deadlines, scoring decay and other timers can be watched passing in seconds, with every domain
    function of the local hub seeing the same moved time. The webhook gateway keeps the WallClock."""

    offset: ClassVar[timedelta] = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + SystemClock.offset
