"""Where the local hub runs, for the examples and tools that talk to it.

`make run` (`python -m local_runtime`) writes a small state file while the hub runs, `.hub/local.json` at the
repository root, with its `url`, `aws_endpoint` and `pid`, and removes it when it stops. A hub never replaces
the file of another hub that is still running: the first one keeps it. `HUB_STATE_FILE` moves the file; set
to an empty string, no file is written or read (the e2e suite and the benchmarks give their hubs a file of
their own, or none, so they never touch a developer's).

`hub_url()` is, in order: `$HUB_URL`; the URL in the state file when its process is alive;
`http://127.0.0.1:${HUB_PORT:-3000}`. `aws_endpoint()` likewise: `$HUB_AWS_ENDPOINT`; the state file;
`http://127.0.0.1:${HUB_AWS_PORT:-3001}` (the port `make run` gives the embedded AWS).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATE_FILE = ROOT / ".hub" / "local.json"
STATE_FILE_VARIABLE = "HUB_STATE_FILE"


@dataclass(frozen=True)
class HubState:
    url: str
    aws_endpoint: str
    pid: int


class NoLocalHub(Exception):
    """No running hub is recorded; the message says where it looked."""


def state_file() -> Path | None:
    """The state file's path; None when `HUB_STATE_FILE` is set empty (no state file)."""
    configured = os.environ.get(STATE_FILE_VARIABLE)
    if configured is None:
        return DEFAULT_STATE_FILE
    return Path(configured) if configured.strip() else None


def write_state(state: HubState) -> Path | None:
    """Record a running hub (atomically: a reader never sees half a file); returns the path written, or None
    when there is no state file or another hub that is still running holds it."""
    path = state_file()
    if path is None:
        return None
    recorded = _read(path)
    if recorded is not None and recorded.pid != state.pid and _alive(recorded.pid):
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(asdict(state), indent=2) + "\n")
    partial.replace(path)
    return path


def remove_state(pid: int) -> None:
    """Remove the state file if it is this hub's (another hub may have started since and replaced it)."""
    path = state_file()
    if path is None:
        return
    state = _read(path)
    if state is not None and state.pid == pid:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def running_hub() -> HubState:
    """The hub the state file records, if its process is still alive; else NoLocalHub."""
    path = state_file()
    if path is None:
        raise NoLocalHub(f"no local hub is recorded ({STATE_FILE_VARIABLE} is empty: no state file)")
    state = _read(path)
    if state is None:
        raise NoLocalHub(f"no local hub is running (none recorded in {path})")
    if not _alive(state.pid):
        raise NoLocalHub(f"no local hub is running (the one recorded in {path}, pid {state.pid}, has stopped)")
    return state


def hub_url() -> str:
    if configured := os.environ.get("HUB_URL", "").strip():
        return configured.rstrip("/")
    try:
        return running_hub().url
    except NoLocalHub:
        return f"http://127.0.0.1:{os.environ.get('HUB_PORT') or 3000}"


def aws_endpoint() -> str:
    if configured := os.environ.get("HUB_AWS_ENDPOINT", "").strip():
        return configured.rstrip("/")
    try:
        return running_hub().aws_endpoint
    except NoLocalHub:
        return f"http://127.0.0.1:{os.environ.get('HUB_AWS_PORT') or 3001}"


def _read(path: Path) -> HubState | None:
    try:
        data = json.loads(path.read_text())
        return HubState(url=str(data["url"]), aws_endpoint=str(data["aws_endpoint"]), pid=int(data["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no file, or not one a hub wrote: as if no hub were running


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, and someone else's
        return True
    return True
