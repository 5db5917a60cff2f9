"""One-time timers, locally: the schedules functions create in the embedded AWS's EventBridge Scheduler
(moto stores them and runs nothing) are fired here when they come due by the hub's clock, with the schedule's
input, through the same asynchronous delivery as rules (retries, then the function's failure queue), and then
deleted, as `ActionAfterCompletion=DELETE` does in AWS.

The hub's clock can be moved forward (`POST /_local/clock`): every function's `SystemClock` sees the moved
time, and the timers that came due fire at once, so a 30-minute SLA can be watched breaching in a second.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.adapters.clock import SystemClock
from shared.catalog import Catalog, Function
from shared.catalog.model import timer_group

POLL_SECONDS = 0.5
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")


@dataclass(frozen=True)
class PendingTimer:
    name: str
    group: str
    function: Function
    due_at: datetime
    payload: dict[str, Any]

    def view(self) -> dict[str, Any]:
        return {"name": self.name, "function": self.function.name, "due_at": self.due_at.isoformat(), **self.payload}


class LocalTimers:
    def __init__(
        self,
        catalog: Catalog,
        stage: str,
        scheduler: Any,
        deliver: Callable[[Function, dict[str, Any]], Any],
    ) -> None:
        self._scheduler = scheduler
        self._deliver = deliver
        self._stop = threading.Event()
        self._firing = threading.Lock()
        # GetSchedule answers by (group, name), with the LastModificationDate they are of: a poll lists the
        # schedules and reads only those that are new or changed (each pending SLA timer cost a call a poll)
        self._read: dict[tuple[str, str], tuple[Any, dict[str, Any]]] = {}
        self._reading = threading.Lock()  # pending() is called by the poller and by the hub's pages alike
        targets = {fn.sets_timers_for for fn in catalog.functions if fn.sets_timers_for}
        self.groups = {timer_group(stage, catalog.function(name)): catalog.function(name) for name in sorted(targets)}

    def provision(self) -> None:
        for group in self.groups:
            self._scheduler.create_schedule_group(Name=group)

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True, name="local-timers").start()

    def stop(self) -> None:
        self._stop.set()

    @staticmethod
    def now() -> datetime:
        return SystemClock().now()

    def advance(self, seconds: float) -> list[dict[str, Any]]:
        """Moves the hub's clock forward and fires what came due; returns what fired. The move is made under
        the firing lock: the poller, waking between the move and the firing, would fire them itself, and the
        answer would not say so."""
        with self._firing:
            SystemClock.offset += timedelta(seconds=seconds)
            return self._fire_due()

    def pending(self) -> list[PendingTimer]:
        with self._reading:
            return self._pending()

    def _pending(self) -> list[PendingTimer]:
        timers = []
        listed: set[tuple[str, str]] = set()
        for group, function in self.groups.items():
            pages = self._scheduler.get_paginator("list_schedules").paginate(GroupName=group)
            for summary in (s for page in pages for s in page["Schedules"]):
                schedule = self._schedule(group, summary)
                if schedule is None:  # deleted since it was listed: it will not fire
                    continue
                listed.add((group, summary["Name"]))
                match = _AT.match(schedule["ScheduleExpression"])
                if match is None:
                    continue
                due = datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC)
                payload = json.loads(schedule["Target"].get("Input") or "{}")
                timers.append(PendingTimer(summary["Name"], group, function, due, payload))
        for gone in set(self._read) - listed:
            del self._read[gone]
        return sorted(timers, key=lambda timer: timer.due_at)

    def _schedule(self, group: str, summary: dict[str, Any]) -> dict[str, Any] | None:
        """The listed schedule as set; None when a function deleted it since the listing."""
        key, modified = (group, summary["Name"]), summary.get("LastModificationDate")
        known = self._read.get(key)
        if known is None or known[0] != modified or modified is None:
            try:
                known = (modified, self._scheduler.get_schedule(Name=summary["Name"], GroupName=group))
            except self._scheduler.exceptions.ResourceNotFoundException:
                return None
            self._read[key] = known
        return known[1]

    def fire_due(self) -> list[dict[str, Any]]:
        with self._firing:  # the poller and a clock move never fire the same timer twice
            return self._fire_due()

    def _fire_due(self) -> list[dict[str, Any]]:
        fired = []
        for timer in self.pending():
            if timer.due_at > self.now():
                break
            try:
                self._scheduler.delete_schedule(Name=timer.name, GroupName=timer.group)
            except self._scheduler.exceptions.ResourceNotFoundException:
                # an earlier timer's function deleted it (a breach cancels the handoff's later timers, due in the
                # same move of the clock): a deleted schedule never fires in AWS either
                continue
            self._deliver(timer.function, timer.payload)
            fired.append(timer.view())
        return fired

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self.fire_due()
            except Exception:  # the poller must outlive one bad timer; the next poll retries it
                logging.getLogger("local_runtime").exception("local timers: firing failed")
