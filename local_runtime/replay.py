"""Local replay of the archived bus events (`make replay` against the local hub), as EventBridge replays them.

`POST /_local/replays` `{"from", "to", "types", "target", "name", "description"}` (all optional: the last hour
of the hub's clock, every rule) starts a replay of the local archive (`local_runtime.dispatcher.LocalArchive`):
the events whose own time is in the window, by time, each delivered again to the rules it matches among those
chosen (moto's pattern matching, as live delivery), with `replay-name` set and its `id` and `time` kept, to the
rule's function as live events are (retried, then its failure queue). `types` and `target` choose rules exactly
as `ops.replay` does for a deployed stage (`ops.replay.replay_scope`): EventBridge replays by rule. Replayed
events are not archived again, as EventBridge's archive rule leaves them out.

`GET /_local/replays/<name>` follows one (`state`, `events_total`, `events_replayed`, `deliveries`, `failed`,
`event_last_replayed_time`), `GET /_local/replays` lists them, `POST /_local/replays/<name>/cancel` stops one.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from werkzeug.wrappers import Request, Response

from ops.stages import CannotRun
from shared.catalog import Catalog
from shared.errors import InvalidInput
from shared.http.moments import Moment

if TYPE_CHECKING:
    from local_runtime.dispatcher import LocalArchive
    from local_runtime.gateway import LocalRoute
    from local_runtime.hub import LocalHub
    from local_runtime.provision import RuleTap

DEFAULT_WINDOW = timedelta(hours=1)
REPLAYS_KEPT = 100  # finished replays remembered for GET; the oldest finished ones are forgotten
ACTIVE_REPLAYS = 10  # at once, as EventBridge allows per account and region
NAME_PATTERN = r"^[.\-_A-Za-z0-9]{1,64}$"  # EventBridge's replay names
MAX_LISTED = 100

Deliver = Callable[[Any, dict[str, Any], Any], bool]  # (function, event, tap) -> delivered without failing


class ReplayRequest(BaseModel):
    """The body of `POST /_local/replays`; unknown fields are refused (a misspelt `tyeps` would widen a replay)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # `Moment`: ISO 8601 with an offset, 1970 to 2199, as the API's times (year 1 or 9999 overflowed to a 500)
    start: Moment | None = Field(None, alias="from", description="window start (default: an hour before to)")
    end: Moment | None = Field(None, alias="to", description="window end, excluded (default: the hub's now)")
    types: list[str] = Field(default_factory=list, max_length=100)
    target: list[str] = Field(default_factory=list, max_length=100, description="catalog rules or functions")
    name: str | None = Field(None, pattern=NAME_PATTERN)
    description: str = Field("", max_length=512)

    @field_validator("types", "target", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        """ "deal.won" as well as ["deal.won"]; "a,b" as ["a", "b"] (as Make passes them)."""
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value


@dataclass
class LocalReplay:
    name: str
    description: str
    start: datetime
    end: datetime
    rules: tuple[str, ...]  # empty: every rule
    events: list[dict[str, Any]]
    taps: list[tuple[RuleTap, Any]]  # (the rule with its function, its compiled pattern)
    state: str = "STARTING"
    state_reason: str = ""
    events_replayed: int = 0
    deliveries: int = 0
    failed: int = 0
    last_replayed: datetime | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended_at: datetime | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)

    def run(self, deliver: Deliver) -> None:
        self.state = "RUNNING"
        try:
            for event in self.events:
                if self.cancelled.is_set():
                    break
                replayed = {**event, "replay-name": self.name}
                for tap, pattern in self.taps:
                    if pattern.matches_event(event):
                        self.deliveries += 1
                        self.failed += not deliver(tap.function, replayed, tap)
                self.events_replayed += 1
                self.last_replayed = _time_of(event)
        except Exception as exc:  # the replay stops, as EventBridge's does, saying why; the hub goes on
            self.state, self.state_reason = "FAILED", f"{type(exc).__name__}: {str(exc)[:400]}"
        else:
            self.state = "CANCELLED" if self.cancelled.is_set() else "COMPLETED"
        self.ended_at = datetime.now(UTC)

    def view(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "state": self.state,
            "state_reason": self.state_reason or None,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "rules": list(self.rules) or "all",
            "events_total": len(self.events),
            "events_replayed": self.events_replayed,
            "deliveries": self.deliveries,
            "failed": self.failed,
            "event_last_replayed_time": self.last_replayed.isoformat() if self.last_replayed else None,
            "replay_start_time": self.started_at.isoformat(),
            "replay_end_time": self.ended_at.isoformat() if self.ended_at else None,
        }


class LocalReplays:
    """The replays of one hub: each runs in a thread of its own, beside live delivery."""

    def __init__(
        self,
        catalog: Catalog,
        archive: LocalArchive,
        taps: list[RuleTap],
        deliver: Deliver,
        now: Callable[[], datetime],
    ) -> None:
        from moto.events.models import EventPattern  # moto's matching: what live delivery uses (see provision)

        self._catalog = catalog
        self._archive = archive
        self._taps = [(tap, EventPattern.load(json.dumps(tap.rule.pattern))) for tap in taps]
        self._deliver = deliver
        self._now = now
        self._lock = threading.Lock()
        self._replays: OrderedDict[str, LocalReplay] = OrderedDict()

    def start(self, request: ReplayRequest) -> LocalReplay:
        from ops.replay import replay_name, replay_scope

        scope = replay_scope(self._catalog, request.types, request.target)
        now = self._now()
        end = request.end or now
        start = request.start or end - DEFAULT_WINDOW
        if start >= end:
            raise InvalidInput(f"from ({start.isoformat()}) must be before to ({end.isoformat()})")
        name = request.name or replay_name("local", now)
        chosen = [(tap, pattern) for tap, pattern in self._taps if scope.whole_bus or tap.rule.name in scope.rules]
        with self._lock:
            if name in self._replays:
                raise ReplayConflict(f"a replay named {name} exists already")
            active = [r for r in self._replays.values() if r.ended_at is None]
            if len(active) >= ACTIVE_REPLAYS:
                raise ReplayConflict(f"{len(active)} replays are running: at most {ACTIVE_REPLAYS} run at once")
            replay = LocalReplay(
                name,
                request.description,
                start.astimezone(UTC),
                end.astimezone(UTC),
                scope.rules,
                self._archive.between(start, end),
                chosen,
            )
            self._replays[name] = replay
            self._forget_finished()
        threading.Thread(target=replay.run, args=(self._deliver,), name=f"replay {name}", daemon=True).start()
        return replay

    def get(self, name: str) -> LocalReplay | None:
        with self._lock:
            return self._replays.get(name)

    def listed(self) -> list[LocalReplay]:
        with self._lock:
            return list(self._replays.values())[-MAX_LISTED:]

    def _forget_finished(self) -> None:
        finished = [name for name, replay in self._replays.items() if replay.ended_at is not None]
        for name in finished[: max(0, len(self._replays) - REPLAYS_KEPT)]:
            del self._replays[name]


class ReplayConflict(Exception):
    """The replay cannot start or stop in its present state (answered 409)."""


def _time_of(event: dict[str, Any]) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(event.get("time")))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def routes(hub: LocalHub) -> list[LocalRoute]:
    """The hub's local routes this module serves."""
    made: list[LocalReplays] = []
    making = threading.Lock()

    def replays() -> LocalReplays:
        """Made at the first request: the dispatcher (archive, taps) exists only once the hub has started."""
        from shared.adapters.clock import SystemClock

        with making:
            if not made:
                dispatcher = hub._dispatcher
                assert dispatcher is not None, "the hub serves only once started"
                clock = SystemClock().now
                made.append(LocalReplays(hub.catalog, dispatcher.archive, dispatcher.taps, dispatcher.deliver, clock))
            return made[0]

    def start(request: Request) -> Response:
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            return _json({"message": 'the body must be JSON like {"from": "2026-05-01T09:00:00Z"}'}, 400)
        if not isinstance(body, dict):
            return _json({"message": 'the body must be a JSON object like {"from": "2026-05-01T09:00:00Z"}'}, 400)
        try:
            wanted = ReplayRequest.model_validate(body)
            # recorded in the audit trail as `/_local/redrive` is (route `CLI replay`, the replay as target)
            with hub.audited_local_run("replay", wanted.model_dump(by_alias=True, mode="json")) as run:
                replay = replays().start(wanted)
                if run is not None:
                    run.target("replay", replay.name)
                    run.finish(0, f"replay {replay.name} started: {len(replay.events)} events")
        except CannotRun as exc:  # the run cannot be recorded, so it did not start
            return _json({"message": str(exc)}, 503)
        except ValidationError as exc:
            errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
            said = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
            return _json({"message": f"invalid replay: {said}", "errors": errors}, 400)
        except InvalidInput as exc:
            return _json({"message": str(exc)}, 400)
        except ReplayConflict as exc:
            return _json({"message": str(exc)}, 409)
        return _json(replay.view(), 202)

    def listed(_: Request) -> Response:
        return _json({"items": [replay.view() for replay in replays().listed()]})

    def one(_: Request, name: str) -> Response:
        replay = replays().get(name)
        if replay is None:
            return _json({"message": f"no replay named {name[:64]!r}"}, 404)
        return _json(replay.view())

    def cancel(_: Request, name: str) -> Response:
        replay = replays().get(name)
        if replay is None:
            return _json({"message": f"no replay named {name[:64]!r}"}, 404)
        if replay.ended_at is not None:
            return _json({"message": f"replay {name} is {replay.state.lower()} already", **replay.view()}, 409)
        replay.cancelled.set()
        return _json({**replay.view(), "state": "CANCELLING"})

    return [
        ("POST", "/_local/replays", start),
        ("GET", "/_local/replays", listed),
        ("GET", "/_local/replays/<name>", one),
        ("POST", "/_local/replays/<name>/cancel", cancel),
    ]


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status=status, content_type="application/json")
