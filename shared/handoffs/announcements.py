"""Announcing a handoff's stored transitions, after their commit: the events of those not announced yet
published, the timers of the handoff's state set (both idempotent: deterministic event ids and timer names),
then the handoff recorded as announced (an outbox in the record). A transition stored but never announced (a
crash, a bus failure after the commit) is announced by whoever next reads the handoff."""

from __future__ import annotations

from dataclasses import dataclass, replace

from shared.events.handoff_events import HandoffEvent
from shared.handoffs.assignment_timers import live_timers, timers_of
from shared.handoffs.model import Handoff
from shared.handoffs.ports import HandoffChange, HandoffConflict, HandoffRepository, Timer, TimerScheduler
from shared.handoffs.routing import RouterSource
from shared.handoffs.transition_events import events_of
from shared.webhooks.ports import EventPublisher


@dataclass(frozen=True)
class Announcement:
    """The handoff as announced (as read, when recording it lost to a concurrent change) and what it published."""

    handoff: Handoff
    events: tuple[HandoffEvent, ...]


class HandoffAnnouncer:
    def __init__(
        self,
        repository: HandoffRepository,
        publisher: EventPublisher,
        timers: TimerScheduler,
        router: RouterSource,
    ) -> None:
        self._repository = repository
        self._publisher = publisher
        self._timers = timers
        self._router = router

    def announce(self, handoff: Handoff) -> Announcement:
        """Publishes the events of the transitions not announced yet and sets the timers of the handoff's state
        (both idempotent), then records them as announced. Losing that last write to a concurrent change is
        harmless: whoever changed it announces again, with the same event ids and timer names."""
        events = events_of(handoff, since=handoff.announced)
        if events:
            failed = self._publisher.publish(events).failed
            if failed:
                raise RuntimeError(f"the bus refused {len(failed)} handoff event(s): {next(iter(failed.values()))}")
        self._timers.set(timers_of(handoff, self._router()))
        if handoff.announced >= len(handoff.history):
            return Announcement(handoff, tuple(events))
        marked = replace(handoff, announced=len(handoff.history), version=handoff.version + 1)
        try:
            self._repository.commit(HandoffChange(marked))
        except HandoffConflict:
            return Announcement(handoff, tuple(events))
        return Announcement(marked, tuple(events))

    def flushed(self, handoff: Handoff) -> Handoff:
        """The handoff with every stored transition announced (a crash or a bus failure after an earlier
        commit left some unannounced): what a use case decides from."""
        if handoff.announced >= len(handoff.history):
            return handoff
        return self.announce(handoff).handoff

    def set_again(self, timer: Timer) -> None:
        """A timer delivered before its due time, set again (under its own name: the schedule that fired is
        deleting itself)."""
        self._timers.set([timer])

    def cancel_timers(self, handoff: Handoff, keep: Handoff | None = None) -> None:
        """Deletes every timer the handoff's current assignment may have live (`live_timers`), but those the
        state `keep` sets (a raise's new timers that happen to share a name with an old one). Best effort
        against a race: a stale timer that fires anyway does nothing."""
        router = self._router()
        kept = {timer.name for timer in timers_of(keep, router)} if keep is not None else set()
        self._timers.cancel([timer for timer in live_timers(handoff, router) if timer.name not in kept])
