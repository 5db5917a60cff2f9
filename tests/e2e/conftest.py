"""End-to-end tier: the local runtime started exactly as `make run` starts it, spoken to over real HTTP."""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def hub() -> Iterator[str]:
    port = free_port()
    env = os.environ | {"HUB_PORT": str(port), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "local_runtime"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"local runtime did not start:\n{output}")
        time.sleep(0.2)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@functools.cache
def token(*groups: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "local_runtime.token", *groups], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def bus_events(url: str) -> list[dict]:
    return list(requests.get(f"{url}/_local/events", timeout=5).json())


def wait_for_event(url: str, predicate, seconds: float = 15) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for event in bus_events(url):
            if predicate(event):
                return event
        time.sleep(0.1)
    raise AssertionError("expected event did not reach the bus")
