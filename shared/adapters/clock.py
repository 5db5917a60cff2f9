from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import ClassVar


class SystemClock:
    """The wall clock, UTC. `offset` is zero in AWS; the local runtime moves it forward (`POST /_local/clock`)
    so that SLA deadlines and other timers can be watched passing in seconds, with every function of the local
    hub seeing the same moved time."""

    offset: ClassVar[timedelta] = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + SystemClock.offset
