"""Schemathesis over the hub's OpenAPI document (`/openapi.json` of the running local runtime): every
operation, with an admin token, with no token, and with a token of a group no route admits. Whoever calls,
the hub never answers 5xx, and every answer whose status is documented matches the documented schema. A partner
route takes a partner's API key instead of a token: the admin's run sends it one (issued by `make rotate-api-key`),
so what the route does is fuzzed too; the other runs send none.

Examples are bounded and derandomized, so a CI run is reproducible and takes the same time every time.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from local_runtime.auth import LocalUserPool
from shared.catalog.partners import PARTNER_PATH_PREFIX
from tests.e2e.conftest import token
from tests.fuzz.conftest import HubLog, ServerErrors
from tests.partner_keys import API_KEY_HEADER, rotate_partner_key

pytestmark = pytest.mark.fuzz

CHECKS = [not_a_server_error, response_schema_conformance]


@functools.cache
def groupless_token() -> str:
    """A signed-in user of no group (Cognito lets a user belong to none): its token is valid, and every route
    that needs a group refuses it. Every group is admitted by some route now, so no group's token would do."""
    return LocalUserPool.from_config().issue([], username="local-no-group")


@pytest.fixture(scope="session")
def hub_schema(hub: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{hub}/openapi.json")


@pytest.fixture(scope="session")
def partner_key(hub: str, hub_state_file: Path) -> str:
    """A key of config/api-clients.json's partner on the fuzzed hub, as an operator issues it."""
    return rotate_partner_key(hub_state_file)


schema = schemathesis.pytest.from_fixture("hub_schema")


def bounded(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
    )


def call_and_check(
    case: schemathesis.Case,
    token_value: str | None,
    hub_log: HubLog,
    server_errors: ServerErrors,
    api_key: str | None = None,
) -> None:
    """Sends the case as this caller (with `api_key` on a partner route), files any server error under its root
    cause from the hub's log, then runs the checks."""
    headers = {"Authorization": f"Bearer {token_value}"} if token_value else {}
    if api_key and case.operation.path.startswith(PARTNER_PATH_PREFIX):
        headers[API_KEY_HEADER] = api_key
    if case.headers:
        if token_value is None:
            case.headers.pop("Authorization", None)  # no token at all, not a generated one
        if API_KEY_HEADER not in headers:
            case.headers.pop(API_KEY_HEADER, None)  # likewise no key
    mark = hub_log.mark()
    response = case.call(headers=headers)
    if response.status_code >= 500:
        logged = HubLog.root_cause(hub_log.since(mark))
        where, detail = logged or (f"{response.status_code} from {case.operation.label}", response.text[:300])
        repro = case.as_curl_command(headers=headers).replace(token_value or "\0", "$TOKEN")
        repro = repro.replace(api_key or "\0", "$PARTNER_KEY")
        server_errors.record(where, repro, detail, case.operation.label)
    case.validate_response(response, checks=CHECKS, headers=headers)


@schema.parametrize()
@bounded(max_examples=30)
def test_every_operation_with_an_admin_token(
    case: schemathesis.Case, hub_log: HubLog, server_errors: ServerErrors, partner_key: str
) -> None:
    # Given any request the document allows, or nearly allows, from an admin (on a partner route, from a partner)
    # When it is sent to the hub
    # Then the answer is not a 5xx, and matches its documented schema
    call_and_check(case, token("admin"), hub_log, server_errors, api_key=partner_key)


@schema.parametrize()
@bounded(max_examples=10)
def test_every_operation_without_a_token(case: schemathesis.Case, hub_log: HubLog, server_errors: ServerErrors) -> None:
    # Given any request the document allows, without an Authorization header
    # When it is sent to the hub
    # Then the answer is not a 5xx (401 where a token is needed), and matches its documented schema
    call_and_check(case, None, hub_log, server_errors)


@schema.parametrize()
@bounded(max_examples=10)
def test_every_operation_with_a_token_of_no_group(
    case: schemathesis.Case, hub_log: HubLog, server_errors: ServerErrors
) -> None:
    # Given any request the document allows, from a signed-in user of no group
    # When it is sent to the hub
    # Then the answer is not a 5xx (403 where a group is needed), and matches its documented schema
    call_and_check(case, groupless_token(), hub_log, server_errors)
