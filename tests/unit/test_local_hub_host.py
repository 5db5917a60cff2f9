"""The local hub serves `/dashboard/data` and `/_local/*` without authentication: fine on loopback, so it starts
on another address only when asked to explicitly (`--allow-remote` or `HUB_ALLOW_REMOTE=1`)."""

from __future__ import annotations

from typing import Any

import pytest

from local_runtime import hub


class Started(Exception):
    """The hub would have started."""


class NoHub:
    def __init__(self, **_: Any) -> None:
        pass

    def start(self, **_: Any) -> None:
        raise Started


@pytest.fixture(autouse=True)
def no_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub, "LocalHub", NoHub)
    monkeypatch.delenv("HUB_ALLOW_REMOTE", raising=False)


ANY = "0.0.0.0"  # noqa: S104 (what is refused)


@pytest.mark.parametrize("host", [ANY, "::", "192.168.1.20", "hub.example.com"])
def test_a_non_loopback_host_is_refused_without_the_opt_in(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        hub.main(["--host", host])
    assert exited.value.code == 2
    assert "--allow-remote" in capsys.readouterr().err


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_a_loopback_host_starts(host: str) -> None:
    with pytest.raises(Started):
        hub.main(["--host", host])


def test_the_opt_in_lets_another_host_start(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(Started):
        hub.main(["--host", ANY, "--allow-remote"])
    monkeypatch.setenv("HUB_ALLOW_REMOTE", "1")
    with pytest.raises(Started):
        hub.main(["--host", ANY])
