"""A person's access token carries their verified email (issue 15 §5): the user pool's pre token generation trigger
(event version V2_0) adds it, from the attributes Cognito sends it, to the access token only, leaving their groups and
everything else as Cognito made them; the local user pool runs the same trigger, so its tokens carry the same."""

from __future__ import annotations

import copy
from typing import Any

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.access_token_claims.handler import handler
from local_runtime.auth import LocalUserPool, applied, pre_token_generation_event
from local_runtime.lambda_events import LocalLambdaContext
from shared.catalog import CATALOG, DOMAINS, IDENTITY_DOMAIN
from shared.catalog.identity import pre_token_generation_trigger
from shared.catalog.scopes import PERSON_SCOPE, composed_domains
from shared.identity.access_token import access_token_claims

# A V2_0 event as Cognito sends it for a sign-in to a pool whose people sign in by email (an alias): the username is
# a generated id, the email an attribute (the shape of the AWS documentation's and aws-lambda-go's sample events).
SIGN_IN: dict[str, Any] = {
    "version": "2",
    "triggerSource": "TokenGeneration_Authentication",
    "region": "eu-west-1",
    "userPoolId": "eu-west-1_Ab12Cd34E",
    "userName": "a36036a8-9061-424d-a737-56d57dae7bc6",
    "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "1example23456789"},
    "request": {
        "userAttributes": {
            "sub": "a36036a8-9061-424d-a737-56d57dae7bc6",
            "cognito:email_alias": "maya.chen@example.com",
            "cognito:user_status": "CONFIRMED",
            "email_verified": "true",
            "email": "maya.chen@example.com",
        },
        "groupConfiguration": {"groupsToOverride": ["sales"], "iamRolesToOverride": [], "preferredRole": None},
        "scopes": ["aws.cognito.signin.user.admin"],
    },
    "response": {"claimsAndScopeOverrideDetails": None},
}


def trigger(event: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = handler(copy.deepcopy(event), LocalLambdaContext("revops-test-access-token-claims"))
    return answer


def signing_in(source: str = "TokenGeneration_Authentication", **attributes: str | None) -> dict[str, Any]:
    event = copy.deepcopy(SIGN_IN)
    event["triggerSource"] = source
    for name, value in attributes.items():
        if value is None:
            event["request"]["userAttributes"].pop(name, None)
        else:
            event["request"]["userAttributes"][name] = value
    return event


# --- the trigger -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    ["TokenGeneration_Authentication", "TokenGeneration_RefreshTokens", "TokenGeneration_NewPasswordChallenge"],
)
def test_a_persons_access_token_gets_their_verified_email_and_nothing_else_changes(source: str) -> None:
    # Given Cognito about to issue tokens to a person whose verified email is Maya's (at sign-in, refresh or first
    # password change)
    event = signing_in(source)
    # When the trigger answers
    answer = trigger(event)
    details = answer["response"]["claimsAndScopeOverrideDetails"]
    # Then their access token gets the email, as the attribute holds it
    assert details["accessTokenGeneration"] == {"claimsToAddOrOverride": {"email": "maya.chen@example.com"}}
    # And their groups are those Cognito sent (an answer naming no groups would drop them), the ID token untouched
    assert details["groupOverrideDetails"] == event["request"]["groupConfiguration"]
    assert "idTokenGeneration" not in details
    # And the rest of the event is Cognito's own
    assert {key: value for key, value in answer.items() if key != "response"} == {
        key: value for key, value in event.items() if key != "response"
    }


@pytest.mark.parametrize(
    "attributes",
    [
        {"email_verified": "false"},  # changed by the person and not yet proved: could be another rep's address
        {"email_verified": None},
        {"email": None, "cognito:email_alias": None},
        {"email": "   "},
    ],
    ids=["unverified", "verification-unknown", "no-email", "blank-email"],
)
def test_no_email_is_added_unless_the_pool_verified_it(attributes: dict[str, str | None]) -> None:
    answer = trigger(signing_in(**attributes))
    access = answer["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"]
    assert access.get("claimsToAddOrOverride", {}) == {}


def test_a_person_of_no_group_stays_of_no_group() -> None:
    event = signing_in()
    event["request"]["groupConfiguration"]["groupsToOverride"] = []
    details = trigger(event)["response"]["claimsAndScopeOverrideDetails"]
    assert details["groupOverrideDetails"]["groupsToOverride"] == []


@given(st.dictionaries(st.sampled_from(["email", "email_verified", "sub", "name"]), st.text(max_size=40)))
def test_the_claims_are_an_email_the_pool_verified_or_nothing(attributes: dict[str, str]) -> None:
    claims = access_token_claims(attributes)
    if claims:
        assert claims == {"email": attributes["email"].strip()}
        assert attributes["email_verified"].strip().lower() == "true"
    else:
        assert not attributes.get("email", "").strip() or attributes.get("email_verified", "").strip().lower() != "true"


# --- the catalog -------------------------------------------------------------------------------------------------


def test_the_identity_domain_declares_the_pools_one_trigger_and_is_composed() -> None:
    trigger_fn = pre_token_generation_trigger(CATALOG)
    assert trigger_fn is not None
    assert trigger_fn.name == "access_token_claims"
    assert trigger_fn.module == "functions.access_token_claims.handler"
    # Cognito gives a trigger 5 s, cold start included; it needs no table, secret, bus or route
    assert trigger_fn.timeout_seconds <= 5
    assert (trigger_fn.routes, trigger_fn.rules, trigger_fn.tables, trigger_fn.secrets) == ((), (), {}, ())
    assert not trigger_fn.publishes_events
    assert IDENTITY_DOMAIN in DOMAINS
    assert composed_domains() == DOMAINS
    assert [fn.name for d in DOMAINS for fn in d.functions] == [fn.name for fn in CATALOG.functions]


def test_two_pre_token_generation_triggers_are_refused() -> None:
    import dataclasses

    [only] = IDENTITY_DOMAIN.functions
    twice = dataclasses.replace(CATALOG, functions=(*CATALOG.functions, dataclasses.replace(only, name="another")))
    with pytest.raises(ValueError, match="one pre token generation trigger"):
        pre_token_generation_trigger(twice)


# --- the local user pool runs it ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool() -> LocalUserPool:
    return LocalUserPool.from_config()


def test_a_local_persons_token_carries_what_the_trigger_adds(pool: LocalUserPool) -> None:
    # Given a person signed in as Cognito names them (a generated username), whose verified email is Maya's
    token = pool.issue(["sales"], username="c0ffee00-5e1f-4b1e-9a55-user-pool-id", email="Maya.Chen@example.com")
    # Then their access token carries that email beside what it always carries, as API Gateway passes it on
    claims = pool.verify(token)
    assert claims["email"] == "Maya.Chen@example.com"
    assert (claims["username"], claims["cognito:groups"], claims["scope"]) == (
        "c0ffee00-5e1f-4b1e-9a55-user-pool-id",
        "sales",
        PERSON_SCOPE,
    )
    assert claims["token_use"] == "access"
    # And without an email, there is none
    assert "email" not in pool.verify(pool.issue(["sales"], username="no-email-person"))


def test_an_app_clients_token_goes_through_no_trigger(pool: LocalUserPool) -> None:
    # (V2_0 triggers run for people only: a client-credentials token is as Cognito makes it)
    claims = jwt.decode(pool.issue_for_client("web-forms"), options={"verify_signature": False})
    assert "email" not in claims
    assert claims["client_id"] == "web-forms"


def test_the_local_pool_sends_the_event_cognito_sends() -> None:
    event = pre_token_generation_event(
        "u-1", {"sub": "s", "email": "a@example.com", "email_verified": "true"}, ["admin"], "client"
    )
    assert set(event) == set(SIGN_IN)
    assert set(event["request"]) == set(SIGN_IN["request"])
    assert event["version"] == "2"
    assert event["request"]["groupConfiguration"]["groupsToOverride"] == ["admin"]
    assert trigger(event)["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"] == {
        "claimsToAddOrOverride": {"email": "a@example.com"}
    }


def test_the_local_pool_applies_an_answer_as_cognito_does() -> None:
    claims = {"sub": "s", "username": "u", "client_id": "c", "scope": PERSON_SCOPE, "cognito:groups": ["sales"], "x": 1}
    answer = {
        "response": {
            "claimsAndScopeOverrideDetails": {
                "accessTokenGeneration": {
                    "claimsToAddOrOverride": {"email": "a@example.com", "username": "admin", "cognito:groups": "admin"},
                    "claimsToSuppress": ["x", "sub"],
                    "scopesToAdd": ["revops/leads.read"],
                    "scopesToSuppress": [PERSON_SCOPE],
                },
                "groupOverrideDetails": {"groupsToOverride": ["marketing"]},
            }
        }
    }
    changed = applied(claims, answer)
    # Claims added and suppressed, never Cognito's own (its user, client, scopes, `cognito:` claims, token plumbing)
    assert changed["email"] == "a@example.com"
    assert (changed["username"], changed["sub"]) == ("u", "s")
    assert "x" not in changed
    # Scopes and groups as the answer says
    assert changed["scope"] == "revops/leads.read"
    assert changed["cognito:groups"] == ["marketing"]
    # An answer that leaves everything alone changes nothing; an empty group override drops the groups
    assert applied(claims, {"response": {"claimsAndScopeOverrideDetails": None}}) == claims
    no_groups = {"response": {"claimsAndScopeOverrideDetails": {"groupOverrideDetails": {}}}}
    assert "cognito:groups" not in applied(claims, no_groups)
