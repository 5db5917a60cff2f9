"""The catalog's schedules, locally: `rate(...)` schedules fire on their period in-process; any schedule
can be fired on demand (`POST /_local/schedules/<name>`), which is how one checks a daily job in a minute."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shared.catalog import Catalog, Function, Schedule

_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
_RATE = re.compile(r"^rate\((\d+)\s+(\w+)\)$")


def period_seconds(expression: str) -> int | None:
    """Seconds between runs of a `rate(...)` expression; None for cron and one-off expressions."""
    match = _RATE.match(expression.strip())
    if not match or match.group(2) not in _UNITS:
        return None
    return int(match.group(1)) * _UNITS[match.group(2)]


def scheduled_event(schedule: Schedule) -> dict[str, Any]:
    """What a scheduled invocation hands the function (EventBridge's scheduled-event shape)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resources": [schedule.name],
        "detail": {},
    }


class LocalScheduler:
    def __init__(self, catalog: Catalog, deliver: Callable[[Function, dict[str, Any]], Any]) -> None:
        self._deliver = deliver
        self._stop = threading.Event()
        self.schedules = {s.name: (fn, s) for fn in catalog.functions for s in fn.schedules}

    def start(self) -> None:
        for fn, schedule in self.schedules.values():
            period = period_seconds(schedule.expression)
            if period is not None:
                threading.Thread(target=self._every, args=(fn, schedule, period), daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def fire(self, name: str) -> Any:
        fn, schedule = self.schedules[name]
        return self._deliver(fn, scheduled_event(schedule))

    def _every(self, fn: Function, schedule: Schedule, period: int) -> None:
        while not self._stop.wait(period):
            self._deliver(fn, scheduled_event(schedule))
