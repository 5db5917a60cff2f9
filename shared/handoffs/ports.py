"""What the handoff domain needs from storage, the lead directory, the clock of timers and the notification
channels. The DynamoDB / Scheduler / Slack / SES adapters and the in-memory fakes both honour it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from shared.handoffs.model import Handoff, HandoffStatus, LeadFacts, Priority, RepLoad

if TYPE_CHECKING:
    from shared.handoffs.notifications import EmailMessage, SlackMessage


class HandoffConflict(Exception):
    """Someone changed what this change was computed from (the handoff's version, the lead's open handoff, a
    rep's load, or a rep's capacity would be passed); read again and decide again."""


class LeadLock(StrEnum):
    """One open handoff per lead (or per customer, for sales -> CS handoffs)."""

    CLAIM = "claim"  # the lead must hold no open handoff, or this one already
    RELEASE = "release"  # the lead is freed, if this handoff holds it


@dataclass(frozen=True)
class RepDelta:
    """A change to one rep's load, conditioned on the load's `version` as read. With `capacity`, the commit
    also fails unless `open_handoffs + open_delta <= capacity` after the change. With `rotation`, the rep's
    `RepLoad.rotation` becomes that (a round robin's pick moves to the back of the rotation)."""

    rep_id: str
    expected_version: int
    open_delta: int = 0
    assignment_delta: int = 0
    capacity: int | None = None
    rotation: int | None = None


@dataclass(frozen=True)
class HandoffChange:
    """Everything one transition writes, committed all or nothing. `handoff.version` is the new version: the
    stored handoff must be at `handoff.version - 1` (version 1: must not exist yet)."""

    handoff: Handoff
    lead_lock: LeadLock | None = None
    reps: tuple[RepDelta, ...] = ()
    # the handoff's customer is onboarded (a CSM took it): remembered for the subject (`onboarded_by`), so a
    # later won deal of the customer opens no second onboarding
    onboarded: bool = False


@dataclass(frozen=True)
class HandoffPage:
    items: list[Handoff]
    next_cursor: str | None = None


class HandoffRepository(Protocol):
    def handoff(self, handoff_id: str) -> Handoff | None: ...

    def open_handoff_of(self, lead_id: str) -> str | None:
        """The id of the open handoff holding the lead, if any."""
        ...

    def onboarded_by(self, subject: str) -> str | None:
        """The id of the handoff that last onboarded the subject (a customer), if one did."""
        ...

    def rep_loads(self) -> dict[str, RepLoad]:
        """Every rep's stored load; a rep never assigned has none (the caller treats it as RepLoad(rep_id))."""
        ...

    def commit(self, change: HandoffChange) -> None:
        """All or nothing; HandoffConflict when any condition fails (and nothing is written)."""
        ...

    def set_rep_overrides(
        self, rep_id: str, available: bool | None, capacity: int | None, overrides_version: str
    ) -> RepLoad:
        """Run-time availability and capacity of a rep (either may be None: no override), under the routing
        file's version; the open count and assignments are untouched."""
        ...

    def handoffs(
        self,
        status: HandoffStatus | None = None,
        rep_id: str | None = None,
        priority: Priority | None = None,
        limit: int = 50,
        cursor: str | None = None,
        oldest_first: bool = False,
    ) -> HandoffPage:
        """Newest first (requested_at, then handoff id, descending); with `oldest_first`, ascending (the queue
        sweep serves the longest waiting first). A cursor belongs to its filters and its order."""
        ...

    def requested_between(self, start: datetime, end: datetime) -> Iterator[Handoff]:
        """Every handoff requested in [start, end), for speed-to-lead metrics."""
        ...

    def unannounced(self, limit: int = 100) -> list[Handoff]:
        """Up to `limit` handoffs whose last commit left a transition unannounced (`announced < len(history)`):
        the commit marks them in the same write, and the commit recording them announced unmarks them. What a
        failure after a commit left unpublished (events, timers) is found here by the periodic sweep."""
        ...


class LeadDirectory(Protocol):
    def facts(self, lead_id: str) -> LeadFacts | None:
        """What routing reads about the lead and its account; None when the hub does not know the lead."""
        ...

    def account_facts(self, account_id: str) -> LeadFacts | None:
        """What routing reads about an account (its firmographics and owner); None when the hub does not know it."""
        ...


class TimerKind(StrEnum):
    SLA_ACCEPT = "sla_accept"  # not accepted in time: breach, reassign, tell the manager
    REMINDER = "reminder"  # remind the assignee (seed 003 reminder_sequence)
    FIRST_TOUCH = "first_touch"  # a lead not touched in time: breach, tell the manager (accepting keeps it)


# What a timer's schedule name says its kind is (names are short: see Timer.name)
_NAME_KINDS = {TimerKind.SLA_ACCEPT: "sla", TimerKind.REMINDER: "rem", TimerKind.FIRST_TOUCH: "touch"}


@dataclass(frozen=True)
class Timer:
    """A one-time timer of a handoff (an EventBridge Scheduler `at(...)` schedule in AWS). `name` is
    deterministic, so creating it twice is harmless and deleting it on accept finds it."""

    handoff_id: str
    kind: TimerKind
    due_at: datetime
    assignment: int  # the handoff's reassignment count when set: a timer of an earlier assignment is stale
    # How many times it was delivered before `due_at` and set again: such a one fires in the minute after its
    # due time (Scheduler's precision is the minute), under a name of its own (`-e<n>`); 0 for a first setting
    early: int = 0

    @property
    def name(self) -> str:
        """Scheduler names are at most 64 of [0-9A-Za-z-_.]: a 32-hex handoff id leaves room for the rest. A
        timer set again after an early delivery is named apart (the schedule that fired deletes itself)."""
        name = f"{self.handoff_id}-{_NAME_KINDS[self.kind]}-{self.assignment}-{int(self.due_at.timestamp())}"
        return f"{name}-e{self.early}" if self.early else name


class TimerScheduler(Protocol):
    def set(self, timers: Sequence[Timer]) -> None: ...

    def cancel(self, timers: Sequence[Timer]) -> None:
        """Deletes them; a timer already fired or never set is no error."""
        ...


class NoticeDeliveries(Protocol):
    """Which channels of which notices went out: a notice's Slack message and its email are delivered (and
    retried) independently, and a retry sends only what did not go out (keys: `notice_delivery_key`)."""

    def delivered(self, keys: Sequence[str]) -> set[str]:
        """The keys among these recorded as sent."""
        ...

    def record(self, key: str) -> None:
        """Remembers the key as sent; recording it again is harmless."""
        ...


class ChatPoster(Protocol):
    def post(self, message: SlackMessage) -> str:
        """Posts to Slack; returns the message's `ts`."""
        ...


class EmailSender(Protocol):
    def send(self, message: EmailMessage) -> str:
        """Sends through SES; returns the message id."""
        ...
