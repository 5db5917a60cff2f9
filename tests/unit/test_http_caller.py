"""Who calls an `/api/v1` route, from the claims API Gateway passes on (`shared.http.caller`): a person by the
generated username and the verified email of their access token, a system by its app client; and the handoff API
recognises a rep whose username is Cognito's generated id by that email."""

from __future__ import annotations

from typing import Any

import pytest

from shared.handoffs.api_views import actor_of
from shared.handoffs.routing import compile_routing
from shared.handoffs.routing_config import load_routing
from shared.http.caller import UNKNOWN, caller_of

ROUTER = compile_routing(load_routing())
MAYA = next(rep for rep in ROUTER.config.reps if rep.rep_id == "sdr-maya-chen")
MANAGER = next(rep for rep in ROUTER.config.reps if rep.role.value == "manager")
POOL_ID = "c0ffee00-5e1f-4b1e-9a55-0123456789ab"  # a username as Cognito generates it (people sign in by email)


def access_token(groups: str = "sales", username: str = POOL_ID, **more: str) -> dict[str, Any]:
    """A person's access token's claims, as API Gateway's authorizer passes them on (strings, groups joined)."""
    return {"sub": username, "username": username, "cognito:groups": groups, "client_id": "people",
            "scope": "aws.cognito.signin.user.admin", "token_use": "access"} | more  # fmt: skip


def test_a_person_is_named_by_the_email_their_access_token_carries() -> None:
    caller = caller_of(access_token("sales,marketing", email=MAYA.email))
    assert (caller.username, caller.email, caller.client_id) == (POOL_ID, MAYA.email, "people")
    assert caller.groups == frozenset({"sales", "marketing"})
    assert not caller.is_system
    assert caller.name == MAYA.email


def test_a_person_without_an_email_is_named_by_username_and_an_id_tokens_by_cognito_username() -> None:
    assert caller_of(access_token()).name == POOL_ID
    id_token = {"sub": "s-1", "cognito:username": "admin", "cognito:groups": "[admin]", "token_use": "id"}
    caller = caller_of(id_token)
    assert (caller.username, caller.groups, caller.name) == ("admin", frozenset({"admin"}), "admin")


def test_a_system_is_named_by_its_app_client_and_nobody_is_unknown() -> None:
    system = caller_of({"sub": "bi-reporting", "client_id": "bi-reporting", "scope": "revops/leads.read"})
    assert system.is_system
    assert (system.username, system.email, system.groups, system.name) == (None, None, frozenset(), "bi-reporting")
    for claims in (None, {}):
        nobody = caller_of(claims)
        assert (nobody.name, nobody.is_system) == (UNKNOWN, False)


@pytest.mark.parametrize("email", [MAYA.email, MAYA.email.upper(), f"  {MAYA.email}  "])
def test_a_rep_with_a_generated_username_is_recognised_by_email(email: str) -> None:
    # Given Maya's access token in AWS: a generated username, her email as the pre token generation trigger adds it
    actor = actor_of(access_token(email=email), ROUTER)
    # Then she is the rep Maya, named by her email, and no manager
    assert actor.rep_id == MAYA.rep_id
    assert actor.name == email.strip()
    assert not actor.is_manager


def test_without_the_email_claim_the_same_person_is_no_rep() -> None:
    # (what every AWS access token looked like before the trigger: the handoff API could not tell who it was)
    actor = actor_of(access_token(), ROUTER)
    assert (actor.rep_id, actor.name, actor.is_manager) == (None, POOL_ID, False)


def test_a_rep_signed_in_as_their_rep_id_and_managers_and_admins() -> None:
    assert actor_of(access_token(username=MAYA.rep_id), ROUTER).rep_id == MAYA.rep_id
    manager = actor_of(access_token(email=MANAGER.email), ROUTER)
    assert (manager.rep_id, manager.is_manager) == (MANAGER.rep_id, True)
    admin = actor_of(access_token("admin", email="ops@example.com"), ROUTER)
    assert (admin.rep_id, admin.is_manager, admin.name) == (None, True, "ops@example.com")
