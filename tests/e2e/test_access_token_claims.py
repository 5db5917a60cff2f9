"""A rep is recognised by the email their access token carries (issue 15 §5), on the running hub. In AWS a person
signs in by email and Cognito names them by a generated username, so the handoff API can only tell which rep is
calling from their email, which the user pool's pre token generation trigger adds to the access token; the local
pool runs that same trigger. A rep whose token carries their email accepts their handoff; the same person without
it, or another rep, may not."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests

from tests.e2e.conftest import ROOT, started_hub
from tests.e2e.test_handoffs import AMER_SDRS, Hub


def access_token(username: str, email: str | None = None, *groups: str) -> str:
    """A person's access token, as `make -s token` issues it (`python -m local_runtime.token`)."""
    command = [sys.executable, "-m", "local_runtime.token", *(groups or ("sales",)), "--username", username]
    if email is not None:
        command += ["--email", email]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    return result.stdout.strip()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with started_hub(tmp_path_factory.mktemp("access-token-claims") / "hub.json") as (url, _):
        yield Hub(url)


@pytest.fixture(scope="module")
def assigned(hub: Hub) -> dict[str, Any]:
    """An AMER ICP lead's demo request, assigned to one of the AMER SDRs."""
    handoff = hub.handoff_of(hub.demo_request("US"))
    assert handoff["rep_id"] in AMER_SDRS
    return handoff


def accept(hub: Hub, handoff: dict[str, Any], token: str) -> requests.Response:
    return hub.post(f"/api/v1/handoffs/{handoff['handoff_id']}/accept", headers={"Authorization": f"Bearer {token}"})


def test_the_local_pool_gives_a_persons_access_token_their_email(hub: Hub) -> None:
    claims = jwt.decode(access_token("u-1", "maya.chen@example.com"), options={"verify_signature": False})
    assert (claims["token_use"], claims["username"], claims["email"]) == ("access", "u-1", "maya.chen@example.com")


def test_a_rep_signed_in_under_a_generated_username_accepts_their_handoff_by_their_email(
    hub: Hub, assigned: dict[str, Any]
) -> None:
    # Given the assignee, signed in as Cognito names people (a generated username), and another AMER SDR
    assignee = hub.rep(assigned["rep_id"])
    other = hub.rep(sorted(AMER_SDRS - {assignee["rep_id"]})[0])
    username = str(uuid.uuid4())
    # When the other rep, or the assignee's token without the email claim, tries to accept it
    by_other = accept(hub, assigned, access_token(str(uuid.uuid4()), other["email"]))
    anonymous = accept(hub, assigned, access_token(username))
    # Then both are refused, and the handoff is still the assignee's to accept
    assert (by_other.status_code, anonymous.status_code) == (403, 403), (by_other.text, anonymous.text)
    assert username in anonymous.json()["message"]
    assert hub.get(f"/api/v1/handoffs/{assigned['handoff_id']}")["status"] == "assigned"
    # When the assignee accepts with the access token the user pool issues them, carrying their email
    accepted = accept(hub, assigned, access_token(username, assignee["email"]))
    # Then they are recognised as that rep: the handoff is accepted, by them, and announced once
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["rep_id"] == assignee["rep_id"]
    last = accepted.json()["history"][-1]
    assert (last["status"], last["actor"]) == ("accepted", assignee["email"])
    assert len(hub.events("handoff.accepted", assigned["handoff_id"])) == 1
