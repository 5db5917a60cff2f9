"""Replay the bus's archived events to the rules that consume them, with a progress bar and a summary: after a
consumer was broken or added later, or a consumer's bug was fixed (the events were delivered, but mishandled).
Failed deliveries sit in dead-letter queues instead: `make redrive` hands those back (README, "Replay").

    python -m ops.replay --from=-1h                          # the last hour, every rule, on the hub `make run` started
    python -m ops.replay --from 2026-05-01T09:00Z --to 2026-05-01T10:00Z --types deal.won,payment.succeeded
    python -m ops.replay --from=-2d --target=attribution-conversions --stage dev   # a deployed stage's archive

--from and --to: ISO 8601 (UTC when no offset is given), `now`, or a time ago (`-90m`, `-6h`, `-7d`); --to defaults
to now, --from to an hour before --to. The window is the events' own `time`, which the hub's publishers set to
when the event occurred (a vendor's event time, for canonical events), not when it reached the bus.

Which rules hear the replay, as EventBridge decides it: --target names catalog rules (or functions: all of
their rules); --types names event types (`docs/events.md`) and narrows the replay to the rules whose pattern
takes at least one of them. EventBridge replays by rule, not by type: a rule chosen for `deal.won` also hears
the window's other events it matches (`contact.upserted`, ...), which its consumer already handled and takes as
the duplicates they are (consumers are idempotent under replay), so that is harmless, only wider. Neither: the
whole bus, every rule. (A time ago starts with a dash: write `--from=-1h`, as `make replay FROM=-1h` does.)

A deployed stage (`--stage dev`): EventBridge StartReplay from the archive `revops-<stage>-events-archive` to the
bus `revops-<stage>-events`, polled with DescribeReplay; Ctrl-C cancels it (CancelReplay). Without --stage: the
local hub's archive (`POST /_local/replays`), replayed in-process the same way. Replayed events carry
`replay-name`; notifiers (Slack, e-mail) skip them: a replay re-applies state, it does not tell people again.

Exit status: 0 when the replay completed, 1 when it failed or was cancelled, 2 when it cannot run at all.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import requests
from botocore.exceptions import BotoCoreError, ClientError
from tqdm import tqdm

from ops.audit_run import audited_run
from ops.rescore import one_line
from ops.stages import LOCAL, CannotRun, stage_clients
from shared.catalog import CATALOG, Catalog, Rule, physical_name
from shared.errors import InvalidInput

DEFAULT_WINDOW = timedelta(hours=1)
POLL_SECONDS = 2.0
LOCAL_POLL_SECONDS = 0.5
CANCEL_WAIT_SECONDS = 60.0  # how long a cancelled replay is watched until it says it stopped
_AGO = re.compile(r"^-(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# EventBridge's states: a replay in one of these is over
FINISHED = frozenset({"COMPLETED", "CANCELLED", "FAILED"})


# -- what to replay -------------------------------------------------------------------------------------------


def parse_moment(text: str, now: datetime, name: str) -> datetime:
    """`text` as a moment: ISO 8601 (UTC when it has no offset), `now`, or a time before `now` (`-90m`, `-6h`,
    `-7d`, `-2w`, `-30s`)."""
    value = text.strip()
    if value.lower() == "now":
        return now
    if ago := _AGO.match(value):
        return now - timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{name} must be an ISO 8601 time (2026-05-01T09:00:00Z), now, or a time ago (-90m, -6h, -7d), "
            f"not {value[:40]!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """Events whose own time is at or after `start` and before `end`."""

    start: datetime
    end: datetime

    @classmethod
    def of(cls, start: str | None, end: str | None, now: datetime) -> Window:
        last = parse_moment(end, now, "to") if end else now
        first = parse_moment(start, now, "from") if start else last - DEFAULT_WINDOW
        if first >= last:
            raise InvalidInput(f"from ({first.isoformat()}) must be before to ({last.isoformat()})")
        if last > now + timedelta(minutes=1):
            raise InvalidInput(f"to ({last.isoformat()}) is in the future: the archive holds events up to now")
        return cls(first.astimezone(UTC), last.astimezone(UTC))

    def __str__(self) -> str:
        return f"{self.start.isoformat(timespec='seconds')} to {self.end.isoformat(timespec='seconds')}"


def event_type_sources() -> dict[str, frozenset[str]]:
    """Every event type of the taxonomy (`docs/events.md`) with the sources that publish it."""
    from shared.events.families import FAMILIES

    sources: dict[str, set[str]] = {}
    for family in FAMILIES:
        for event_type in family.types:
            sources.setdefault(event_type.value, set()).add(family.source)
    return {event_type: frozenset(found) for event_type, found in sources.items()}


@dataclass(frozen=True)
class ReplayScope:
    """The catalog rules a replay reaches (`rules` empty: the whole bus, every rule) and why."""

    rules: tuple[str, ...]
    types: tuple[str, ...] = ()

    @property
    def whole_bus(self) -> bool:
        return not self.rules

    def __str__(self) -> str:
        if self.whole_bus:
            return "every rule on the bus"
        named = ", ".join(self.rules)
        return f"{len(self.rules)} rule{'s' * (len(self.rules) != 1)} ({named})"


def replay_scope(catalog: Catalog, types: Sequence[str] = (), targets: Sequence[str] = ()) -> ReplayScope:
    """The rules a replay of `types` to `targets` reaches: `targets` are catalog rules or functions (all their
    rules); `types` keep the rules whose pattern takes at least one of them. Neither: the whole bus."""
    known_types = event_type_sources()
    for event_type in types:
        if event_type not in known_types:
            raise InvalidInput(f"types: no event type {event_type!r}{_did_you_mean(event_type, known_types)}")
    chosen = _targets(catalog, targets) if targets else [rule for _, rule in catalog.rules]
    if types:
        taking = [rule for rule in chosen if any(_takes(rule, t, known_types[t]) for t in types)]
        for target in targets:  # a target that hears none of the types is a mistake to say, not to narrow away
            rules = [rule for rule in chosen if target in (rule.name, _owner(catalog, rule))]
            if not any(rule in taking for rule in rules):
                what = "rule" if target in (rule.name for rule in rules) else "function"
                raise InvalidInput(f"target: {what} {target} takes none of the types {', '.join(types)}")
        if not taking:
            raise InvalidInput(f"types: no rule on the bus takes {', '.join(types)}: there is nothing to replay to")
        chosen = taking
    if not types and not targets:
        return ReplayScope(())
    return ReplayScope(tuple(rule.name for rule in chosen), tuple(types))


def _targets(catalog: Catalog, targets: Sequence[str]) -> list[Rule]:
    rules = {rule.name: rule for _, rule in catalog.rules}
    by_function = {fn.name: list(fn.rules) for fn in catalog.functions if fn.rules}
    chosen: list[Rule] = []
    for target in targets:
        if target in rules:
            found = [rules[target]]
        elif target in by_function:
            found = by_function[target]
        else:
            hint = _did_you_mean(target, [*rules, *by_function]) or f"; the rules are: {', '.join(rules)}"
            raise InvalidInput(f"target: no rule or rule-consuming function {target!r}{hint}")
        chosen += [rule for rule in found if rule not in chosen]
    return chosen


def _owner(catalog: Catalog, rule: Rule) -> str:
    return next(fn.name for fn, owned in catalog.rules if owned is rule)


def _takes(rule: Rule, event_type: str, sources: frozenset[str]) -> bool:
    """Whether `rule`'s pattern can match events of `event_type` (from one of `sources`); its content filters
    (on `detail`) may still let only some of them through."""
    return _allows(rule.pattern.get("detail-type"), {event_type}) and _allows(rule.pattern.get("source"), sources)


def _allows(condition: object, values: set[str] | frozenset[str]) -> bool:
    if condition is None:
        return True
    if not isinstance(condition, list):
        return True  # a pattern this does not read: as if it took anything (a wider replay, never a missed one)
    for allowed in condition:
        if isinstance(allowed, str) and allowed in values:
            return True
        if isinstance(allowed, dict):
            prefix = allowed.get("prefix")
            if not isinstance(prefix, str) or any(value.startswith(prefix) for value in values):
                return True
    return False


def _did_you_mean(word: str, known: Sequence[str] | dict[str, Any]) -> str:
    close = difflib.get_close_matches(word, list(known), n=3)
    return f"; did you mean {' or '.join(close)}?" if close else ""


# -- where it runs ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayStatus:
    state: str  # STARTING, RUNNING, CANCELLING, COMPLETED, CANCELLED, FAILED (EventBridge's)
    last_replayed: datetime | None = None  # the time of the last event replayed (it moves through the window)
    reason: str = ""
    events_total: int | None = None  # the local hub counts; EventBridge does not say
    events_replayed: int | None = None
    deliveries: int | None = None
    failed: int | None = None


class Replays(Protocol):
    """Where replays run: a deployed stage's EventBridge, or the local hub."""

    where: str

    def now(self) -> datetime: ...

    def start(self, name: str, window: Window, scope: ReplayScope, description: str) -> ReplayStatus: ...

    def status(self, name: str) -> ReplayStatus: ...

    def cancel(self, name: str) -> None: ...


class EventBridgeReplays:
    """StartReplay from the stage's archive to its bus (FilterArns: the scope's rules), DescribeReplay, CancelReplay."""

    def __init__(self, events: Any, stage: str, catalog: Catalog = CATALOG) -> None:
        self._events = events
        self._stage = stage
        self._catalog = catalog
        self.bus = physical_name(stage, catalog.bus_name)
        self.archive = physical_name(stage, f"{catalog.bus_name}-archive")
        self.where = f"archive {self.archive}"

    def now(self) -> datetime:
        return datetime.now(UTC)

    def start(self, name: str, window: Window, scope: ReplayScope, description: str) -> ReplayStatus:
        archive = self._events.describe_archive(ArchiveName=self.archive)
        bus_arn = self._events.describe_event_bus(Name=self.bus)["Arn"]
        destination: dict[str, Any] = {"Arn": bus_arn}
        if not scope.whole_bus:
            destination["FilterArns"] = [
                self._events.describe_rule(Name=physical_name(self._stage, rule), EventBusName=self.bus)["Arn"]
                for rule in scope.rules
            ]
        started = self._events.start_replay(
            ReplayName=name,
            Description=description[:512],
            EventSourceArn=archive["ArchiveArn"],
            EventStartTime=window.start,
            EventEndTime=window.end,
            Destination=destination,
        )
        return ReplayStatus(str(started.get("State", "STARTING")), reason=str(started.get("StateReason", "")))

    def status(self, name: str) -> ReplayStatus:
        described = self._events.describe_replay(ReplayName=name)
        last = described.get("EventLastReplayedTime")
        return ReplayStatus(
            state=str(described.get("State", "")),
            last_replayed=last.astimezone(UTC) if isinstance(last, datetime) else None,
            reason=str(described.get("StateReason", "")),
        )

    def cancel(self, name: str) -> None:
        self._events.cancel_replay(ReplayName=name)


class LocalHubReplays:
    """The local hub's archive, replayed by the hub (`local_runtime.replay`) over HTTP."""

    def __init__(self, url: str, session: requests.Session | None = None) -> None:
        self.url = url.rstrip("/")
        self._http = session or requests.Session()
        self.where = f"the local hub's archive ({self.url})"

    def now(self) -> datetime:
        """The hub's clock (`POST /_local/clock` moves it): the time its functions give the events they publish."""
        return datetime.fromisoformat(self._call("GET", "/_local/clock")["now"])

    def start(self, name: str, window: Window, scope: ReplayScope, description: str) -> ReplayStatus:
        body = {
            "name": name,
            "from": window.start.isoformat(),
            "to": window.end.isoformat(),
            "target": list(scope.rules),
            "description": description[:512],
        }
        return _local_status(self._call("POST", "/_local/replays", body))

    def status(self, name: str) -> ReplayStatus:
        return _local_status(self._call("GET", f"/_local/replays/{name}"))

    def cancel(self, name: str) -> None:
        self._call("POST", f"/_local/replays/{name}/cancel")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self._http.request(method, f"{self.url}{path}", json=body, timeout=30)
        except requests.RequestException:
            said = f"no local hub answers at {self.url}; start one with `make run`, or pass STAGE=dev"
            raise CannotRun(said) from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise CannotRun(f"{self.url} answered {method} {path} with {response.status_code}, not a hub's JSON")
        if response.status_code >= 400:
            raise InvalidInput(str(answer.get("message") or f"the hub answered {response.status_code}"))
        return answer


def _local_status(answer: dict[str, Any]) -> ReplayStatus:
    last = answer.get("event_last_replayed_time")
    return ReplayStatus(
        state=str(answer.get("state", "")),
        last_replayed=datetime.fromisoformat(last) if isinstance(last, str) else None,
        reason=str(answer.get("state_reason") or ""),
        events_total=answer.get("events_total"),
        events_replayed=answer.get("events_replayed"),
        deliveries=answer.get("deliveries"),
        failed=answer.get("failed"),
    )


def local_replays() -> LocalHubReplays:
    """The hub `make run` started (`local_runtime.url` finds it the same way)."""
    from local_runtime.discovery import hub_url

    return LocalHubReplays(hub_url())


# -- the run -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    name: str
    where: str
    window: Window
    scope: ReplayScope
    status: ReplayStatus
    seconds: float

    @property
    def completed(self) -> bool:
        return self.status.state == "COMPLETED"

    def __str__(self) -> str:
        status = self.status
        said = f"replay {self.name} {status.state.lower()} after {_duration(self.seconds)}"
        if status.reason:
            said += f" ({status.reason})"
        if status.events_total is not None:
            said += f": {status.events_replayed} of {status.events_total} events"
        else:
            said += ": the events"
        said += f" of {self.window} from {self.where} to {self.scope}"
        if status.deliveries is not None:
            said += f"; {status.deliveries} deliveries"
            if status.failed:
                said += f", {status.failed} failed every retry (in their functions' failure queues: make redrive)"
        if not self.completed and status.last_replayed is not None:
            said += f"; replayed up to {status.last_replayed.isoformat()}"
        return said


def replay_name(stage: str, now: datetime) -> str:
    """`revops-<stage>-replay-<UTC time>-<random>`: EventBridge's name rules ([.-_A-Za-z0-9], 64 at most)."""
    return f"{physical_name(stage, 'replay')}-{now.astimezone(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"[:64]


def run_replay(
    replays: Replays,
    name: str,
    window: Window,
    scope: ReplayScope,
    description: str,
    poll_seconds: float = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> Summary:
    """Start the replay, follow it with a progress bar until it is over; Ctrl-C cancels it and waits for it to
    stop (a second Ctrl-C leaves it cancelling)."""
    began = time.monotonic()
    status = replays.start(name, window, scope, description)
    try:
        with _progress(name, window) as show:
            while status.state not in FINISHED:
                show(status)
                sleep(poll_seconds)
                status = replays.status(name)
            show(status)
    except KeyboardInterrupt:
        print(f"\ncancelling replay {name} ...", file=sys.stderr)
        replays.cancel(name)
        status = _stopped(replays, name, poll_seconds, sleep)
    return Summary(name, replays.where, window, scope, status, time.monotonic() - began)


def _stopped(replays: Replays, name: str, poll_seconds: float, sleep: Callable[[float], None]) -> ReplayStatus:
    waited = 0.0
    status = replays.status(name)
    while status.state not in FINISHED and waited < CANCEL_WAIT_SECONDS:
        sleep(poll_seconds)
        waited += poll_seconds
        status = replays.status(name)
    return status


@contextlib.contextmanager
def _progress(name: str, window: Window) -> Iterator[Callable[[ReplayStatus], None]]:
    """A bar over the replay's events when it counts them (the local hub), else over the window's minutes, as
    EventBridge replays them minute by minute (EventLastReplayedTime)."""
    bar: tqdm[Any] | None = None
    minutes = max(1, int((window.end - window.start).total_seconds() // 60))

    def show(status: ReplayStatus) -> None:
        nonlocal bar
        counted = status.events_total is not None
        if bar is None:
            total = status.events_total if counted else minutes
            bar = tqdm(total=total, desc=f"replaying {name}", unit=" events" if counted else " min")
        if counted:
            done = status.events_replayed or 0
        elif status.state == "COMPLETED":
            done = minutes
        elif status.last_replayed is not None:
            done = min(minutes, int((status.last_replayed - window.start).total_seconds() // 60))
        else:
            done = bar.n
        bar.update(max(0, done - bar.n))
        bar.set_postfix_str(status.state.lower())

    try:
        yield show
    finally:
        if bar is not None:
            bar.close()


def _duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}m{whole % 60:02d}s" if whole >= 60 else f"{seconds:.1f}s"


def _list(values: Sequence[str] | None) -> list[str]:
    """`a,b c` -> [a, b, c]: Make passes TYPES and TARGET as one word each, comma-separated."""
    return [item for value in values or () for item in re.split(r"[,\s]+", value) if item]


def _one_line(error: BaseException, stage: str) -> str:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = str(error.response.get("Error", {}).get("Message", "")).rstrip(".")
        if code == "ResourceNotFoundException":
            return f"stage {stage}: {message or 'not found'}; is it deployed (`make deploy`)?"
        if code == "LimitExceededException":
            said = message or "too many replays"
            return f"stage {stage}: {said} (EventBridge runs 10 replays at once per account and region)"
    return one_line(error, stage)


def main(argv: list[str] | None = None, poll_seconds: float = POLL_SECONDS) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="start", help="the window's start (default: an hour before --to)")
    parser.add_argument("--to", dest="end", help="the window's end, excluded (default: now)")
    parser.add_argument("--types", action="append", help="event types, comma-separated: only the rules taking them")
    parser.add_argument("--target", action="append", help="catalog rules or functions, comma-separated")
    parser.add_argument("--stage", help="a deployed stage (dev, prod); default: the local hub `make run` started")
    parser.add_argument("--endpoint-url", help="AWS endpoint of a deployed stage (default: AWS's own)")
    args = parser.parse_args(argv)
    stage = args.stage or LOCAL
    types, targets = _list(args.types), _list(args.target)
    try:
        scope = replay_scope(CATALOG, types, targets)
        replays: Replays
        if stage == LOCAL:
            replays = local_replays()
        else:
            replays = EventBridgeReplays(stage_clients(stage, args.endpoint_url)("events"), stage)
        now = replays.now()
        window = Window.of(args.start, args.end, now)
        name = replay_name(stage, now)
        description = f"make replay: {scope}" + (f", for types {', '.join(types)}" if types else "")
        arguments = {"from": window.start.isoformat(), "to": window.end.isoformat(), "types": types, "target": targets}
        with audited_run("replay", arguments, stage, endpoint_url=args.endpoint_url) as run:
            run.target("replay", name)
            # the local hub answers at once and replays in seconds: it is followed more closely
            poll = poll_seconds if stage != LOCAL else min(poll_seconds, LOCAL_POLL_SECONDS)
            summary = run_replay(replays, name, window, scope, description, poll)
            run.finish(0 if summary.completed else 1, str(summary))
    except (CannotRun, InvalidInput, BotoCoreError, ClientError) as exc:
        print(f"error: {_one_line(exc, stage)}", file=sys.stderr)
        return 2
    print(summary)
    return 0 if summary.completed else 1


if __name__ == "__main__":
    raise SystemExit(main())
