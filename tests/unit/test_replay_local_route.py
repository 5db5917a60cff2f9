"""`POST /_local/replays`: a time out of range is a 400 naming its field (never a 500), and a replay started is
recorded in the audit trail as `/_local/redrive` runs are (route `CLI replay`, the replay as its target)."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from local_runtime import replay as local_replay
from local_runtime.dispatcher import LocalArchive
from ops.audit_run import AuditedRun, audited_run
from shared.audit.record import Phase
from shared.catalog import CATALOG
from tests.audit_fakes import InMemoryAuditStore


class Dispatcher:
    def __init__(self) -> None:
        self.archive = LocalArchive({"revops.webhooks"})
        self.taps: list[Any] = []

    def deliver(self, *_: Any) -> bool:
        return True


class Hub:
    """What the replay routes use of the local hub; its runs recorded in an in-memory trail."""

    def __init__(self) -> None:
        self.catalog = CATALOG
        self._dispatcher = Dispatcher()
        self.trail = InMemoryAuditStore()

    def audited_local_run(self, command: str, arguments: dict[str, Any]) -> AbstractContextManager[AuditedRun | None]:
        return audited_run(command, arguments, "local", store=self.trail, actor="operator")


def post(view: Callable[[Request], Response], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = Request(EnvironBuilder(method="POST", path="/_local/replays", json=body).get_environ())
    response = view(request)
    assert response.content_type == "application/json"
    return response.status_code, json.loads(response.get_data())


def start_view(hub: Hub) -> Callable[[Request], Response]:
    [view] = [v for method, path, v in local_replay.routes(hub) if (method, path) == ("POST", "/_local/replays")]  # type: ignore[arg-type]
    return view


@pytest.mark.parametrize(
    ("body", "field"),
    [({"from": "0001-01-01T00:00:00+14:00"}, "from"), ({"to": "9999-12-31T23:59:59-14:00"}, "to")],
)
def test_a_time_out_of_range_is_a_400_naming_its_field(body: dict[str, Any], field: str) -> None:
    hub = Hub()
    status, answer = post(start_view(hub), body)
    assert status == 400, answer
    assert [e["field"] for e in answer["errors"]] == [field]
    assert "2199" in answer["message"]
    assert hub.trail.records == []  # refused before it could start: no run to record


def test_a_replay_started_directly_is_recorded_in_the_audit_trail() -> None:
    hub = Hub()
    status, answer = post(start_view(hub), {"name": "direct-1", "from": "2026-05-01T09:00:00Z"})
    assert status == 202, answer
    assert [(r.route, r.phase) for r in hub.trail.records] == [
        ("CLI replay", Phase.STARTED),
        ("CLI replay", Phase.FINISHED),
    ]
    [finished] = [r for r in hub.trail.records if r.phase is Phase.FINISHED]
    assert [(t.field, t.id) for t in finished.targets] == [("replay", "direct-1")]
    assert finished.detail.get("arg.from", "").startswith("2026-05-01T09:00:00")
