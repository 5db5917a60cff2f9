"""The handoff and routing API over moto, with API Gateway REST proxy events carrying Cognito claims (issue 10):
who may call what (the catalog's groups), who may accept or reject a handoff, listings and their cursors, a
handoff with its lead, run-time rep overrides that routing obeys, what-if simulations that write nothing, and
speed-to-lead metrics. No input answers 5xx; every effect is read back from the store or the bus."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from local_runtime.provision import Provisioned
from shared.catalog.handoffs import HANDOFFS_DOMAIN
from shared.catalog.model import Group, Route
from tests.integration.conftest import api_answer
from tests.integration.test_handoff_functions import ADMIN, AMER_SDRS, EMAILS, Hub, types_of
from tests.integration.test_handoff_functions import _clock_as_it_was as _clock_as_it_was

ROOT = Path(__file__).resolve().parents[2]
ROUTING_FILE: dict[str, Any] = json.loads((ROOT / "config" / "routing.json").read_text())
ROUTES = {route.operation: route for fn in HANDOFFS_DOMAIN.functions for route in fn.routes}
HANDOFFS = "/api/v1/handoffs"
HANDOFF = "/api/v1/handoffs/{handoff_id}"
ACCEPT = "/api/v1/handoffs/{handoff_id}/accept"
REJECT = "/api/v1/handoffs/{handoff_id}/reject"
ASSIGN = "/api/v1/handoffs/{handoff_id}/assign"
COMPLETE = "/api/v1/handoffs/{handoff_id}/complete"
TOUCH = "/api/v1/handoffs/{handoff_id}/touch"
CUSTOMER = "/api/v1/cs-sales/handoff/{customer_id}"
METRICS = "/api/v1/handoffs/metrics"
REPS = "/api/v1/routing/reps"
REP = "/api/v1/routing/reps/{rep_id}"
SIMULATE = "/api/v1/routing/simulate"
Claims = dict[str, str] | None


def token(group: str = "sales", username: str = "someone", **more: str) -> dict[str, str]:
    """The claims of a Cognito ID token as API Gateway's authorizer passes them on."""
    return {"sub": f"sub-{username}", "cognito:groups": group, "cognito:username": username, "token_use": "id"} | more


def rep(rep_id: str, group: str = "sales") -> dict[str, str]:
    return token(group, rep_id, email=EMAILS.get(rep_id, f"{rep_id}@example.com"))


MANAGER = rep("mgr-priya-nair")


class Api:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def call(
        self,
        method: str,
        resource: str,
        claims: Claims = ADMIN,
        body: Any = None,
        query: dict[str, str] | None = None,
        raw: bytes | None = None,
        **path: str,
    ) -> tuple[int, dict[str, Any]]:
        return api_answer(self.hub.api.handler, "handoffs-api", method, resource, claims, body, query, raw, **path)

    def ok(self, method: str, resource: str, claims: Claims = ADMIN, **kwargs: Any) -> dict[str, Any]:
        status, body = self.call(method, resource, claims, **kwargs)
        assert status == 200, (status, body)
        return body

    def get(self, handoff_id: str) -> dict[str, Any]:
        return self.ok("GET", HANDOFF, handoff_id=handoff_id)

    def accept(self, handoff_id: str, claims: Claims = ADMIN) -> tuple[int, dict[str, Any]]:
        return self.call("POST", ACCEPT, claims, handoff_id=handoff_id)

    def reject(self, handoff_id: str, claims: Claims = ADMIN, body: Any = None) -> tuple[int, dict[str, Any]]:
        return self.call("POST", REJECT, claims, body={"reason": "wrong territory"} if body is None else body,
                         handoff_id=handoff_id)  # fmt: skip

    def list(self, **query: str) -> dict[str, Any]:
        return self.ok("GET", HANDOFFS, query=query)

    def reps(self) -> dict[str, dict[str, Any]]:
        return {r["rep_id"]: r for r in self.ok("GET", REPS)["reps"]}

    def set_rep(self, rep_id: str, **update: Any) -> dict[str, Any]:
        return self.ok("PUT", REP, body=update, rep_id=rep_id)

    def simulate(self, body: Any = None, raw: bytes | None = None) -> tuple[int, dict[str, Any]]:
        return self.call("POST", SIMULATE, body=body, raw=raw)


@pytest.fixture
def api(aws: Provisioned) -> Api:
    return Api(Hub(aws))


Case = tuple[str, dict[str, Any], int, str]  # what, Api.call's arguments, the status, what the message names


def misanswered(api: Api, cases: list[Case]) -> dict[str, tuple[int, str, bool]]:
    """The cases not answered with their status and a message naming what they should: {} when all are right
    (each: the status, the message, whether it was at least a 4xx)."""
    wrong = {}
    for case, request, status, mentions in cases:
        answered, body = api.call(**request)
        message = str(body.get("message", ""))
        if answered != status or mentions not in message:
            wrong[case] = (answered, message[:300], 400 <= answered < 500 and mentions in message)
    return wrong


# 1. RBAC per the catalog -------------------------------------------------------------------------------------------

# The routes of issue 10, each with a request an allowed caller gets a 2xx for, made fresh for each caller (a new
# handoff to accept...); any other route of the domain (the cs-sales handoff) is checked for its refusals only.
Request = Callable[[Api], dict[str, Any]]


def _existing(api: Api) -> str:
    return str(api.hub.assigned()["handoff_id"])


def _queued_for_maya(api: Api) -> str:
    """A handoff waiting in the AMER queue (every AMER SDR away when it came), with Maya back since."""
    for sdr in AMER_SDRS:
        api.set_rep(sdr, available=False)
    routed = api.hub.request(api.hub.capture())
    assert routed["status"] == "queued", routed
    api.set_rep("sdr-maya-chen", available=None)
    return str(routed["handoff_id"])


def _accepted(api: Api) -> str:
    handoff_id = _existing(api)
    assert api.accept(handoff_id)[0] == 200
    return handoff_id


REQUESTS: dict[str, Request] = {
    "list_handoffs": lambda api: {"method": "GET", "resource": HANDOFFS},
    "handoff_metrics": lambda api: {"method": "GET", "resource": METRICS},
    "get_handoff": lambda api: {"method": "GET", "resource": HANDOFF, "handoff_id": _existing(api)},
    "accept_handoff": lambda api: {"method": "POST", "resource": ACCEPT, "handoff_id": _existing(api)},
    "reject_handoff": lambda api: {
        "method": "POST",
        "resource": REJECT,
        "handoff_id": _existing(api),
        "body": {"reason": "not my territory"},
    },
    "assign_handoff": lambda api: {
        "method": "POST",
        "resource": ASSIGN,
        "handoff_id": _queued_for_maya(api),
        "body": {"rep_id": "sdr-maya-chen"},
    },
    "complete_handoff": lambda api: {"method": "POST", "resource": COMPLETE, "handoff_id": _accepted(api)},
    "touch_handoff": lambda api: {
        "method": "POST",
        "resource": TOUCH,
        "handoff_id": _accepted(api),
        "body": {"channel": "call"},
    },
    "list_reps": lambda api: {"method": "GET", "resource": REPS},
    "update_rep": lambda api: {"method": "PUT", "resource": REP, "rep_id": "sdr-sam-okafor", "body": {"capacity": 9}},
    "simulate_routing": lambda api: {
        "method": "POST",
        "resource": SIMULATE,
        "body": {"routing": ROUTING_FILE, "leads": [{"lead_id": "sim-1", "email": "a@b.example", "country": "US"}]},
    },
}


def _any_request(route: Route) -> Request:
    """A request for a route of the domain this file does not know the inputs of: its parameters made up."""
    parameters = dict.fromkeys(re.findall(r"\{([^}]+)\}", route.path), "x-1")
    body: dict[str, Any] | None = {} if route.json_body else None
    return lambda api: {"method": route.method, "resource": route.path, "body": body, **parameters}


def test_every_route_of_issue_10_is_in_the_catalog() -> None:
    assert set(REQUESTS) <= set(ROUTES)


@pytest.mark.parametrize("operation", sorted(ROUTES))
def test_each_route_admits_exactly_the_catalogs_groups(api: Api, operation: str) -> None:
    route: Route = ROUTES[operation]
    # Given each of the six groups (as a manager rep: the accept / reject rules let them act), and no token
    callers: list[tuple[str, Claims]] = [("no token", None)]
    callers += [(group.value, rep("mgr-priya-nair", group.value)) for group in Group]
    make = REQUESTS.get(operation) or _any_request(route)
    for caller, claims in callers:
        request = make(api)
        target = request.get("handoff_id")
        before = api.hub.handoff(target).status.value if target is not None else None
        # When they call the route
        status, body = api.call(claims=claims, **request)
        # Then: 401 without a token, 403 naming the groups for a group the catalog does not list, 2xx otherwise
        if claims is None:
            assert status == 401, (caller, status, body)
        elif Group(caller) in (route.groups or ()) and operation in REQUESTS:
            assert 200 <= status < 300, (caller, status, body)
        elif Group(caller) in (route.groups or ()):
            assert status not in (401, 403), (caller, status, body)
            assert status < 500, (caller, status, body)
        else:
            assert status == 403, (caller, status, body)
            assert route.key in body["message"]
        if status in (401, 403):
            # and a refusal changed nothing
            assert body["message"]
            if target is not None:
                assert api.hub.handoff(target).status.value == before
    if operation == "update_rep":
        allowed = route.groups or frozenset()
        assert api.reps()["sdr-sam-okafor"]["capacity"] == (9 if allowed else 15)


# 2. Accept / reject rules ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who",
    ["assignee by username", "assignee by email claim", "the team's manager", "another team's manager", "an admin"],
)
def test_the_assignee_a_manager_or_an_admin_may_accept(api: Api, who: str) -> None:
    # Given a handoff assigned to an AMER SDR
    routed = api.hub.assigned()
    assignee = routed["rep_id"]
    claims = {
        "assignee by username": rep(assignee),
        "assignee by email claim": token("sales", "c0ffee00-user-pool-uuid", email=EMAILS[assignee].upper()),
        "the team's manager": MANAGER,
        "another team's manager": rep("mgr-claire-dubois"),
        "an admin": token("admin", "ops-admin"),
    }[who]
    api.hub.published(None)
    # When they accept it
    status, body = api.accept(routed["handoff_id"], claims)
    # Then it is accepted, stored so, handoff.accepted is on the bus, and the assignee is still the rep
    assert status == 200, body
    assert (body["status"], body["rep_id"]) == ("accepted", assignee)
    assert api.hub.handoff(routed["handoff_id"]).accepted_at is not None
    assert types_of(api.hub.published()) == ["handoff.accepted"]


@pytest.mark.parametrize("who", ["another SDR of the team", "a sales user who is no rep", "an SDR of another team"])
def test_anyone_else_is_refused_with_a_message_and_nothing_changes(api: Api, who: str) -> None:
    routed = api.hub.assigned()
    other = next(r for r in sorted(AMER_SDRS) if r != routed["rep_id"])
    claims = {
        "another SDR of the team": rep(other),
        "a sales user who is no rep": token("sales", "intern", email="intern@example.com"),
        "an SDR of another team": rep("sdr-lena-vogel"),
    }[who]
    api.hub.published(None)
    for act in (api.accept, api.reject):
        status, body = act(routed["handoff_id"], claims)
        assert status == 403, body
        assert "assignee" in body["message"]
    stored = api.hub.handoff(routed["handoff_id"])
    assert (stored.status.value, stored.rep_id, stored.excluded_reps) == ("assigned", routed["rep_id"], ())
    assert api.hub.published(None) == []


def test_a_second_accept_is_an_idempotent_200(api: Api) -> None:
    routed = api.hub.assigned()
    first = api.accept(routed["handoff_id"], rep(routed["rep_id"]))
    api.hub.published(None)
    second = api.accept(routed["handoff_id"], rep(routed["rep_id"]))
    assert (first[0], second[0]) == (200, 200)
    assert second[1]["accepted_at"] == first[1]["accepted_at"]
    assert [(e["at"], e["status"]) for e in second[1]["history"]] == [
        (e["at"], e["status"]) for e in first[1]["history"]
    ]
    assert api.hub.published(None) == []


def test_a_second_accept_by_someone_who_may_not_accept_is_still_403(api: Api) -> None:
    routed = api.hub.assigned()
    assert api.accept(routed["handoff_id"], rep(routed["rep_id"]))[0] == 200
    other = next(r for r in sorted(AMER_SDRS) if r != routed["rep_id"])
    status, body = api.accept(routed["handoff_id"], rep(other))
    assert status == 403, body


@pytest.mark.parametrize(
    ("body", "raw"),
    [
        ({}, None),
        ({"reason": ""}, None),
        ({"reason": None}, None),
        (None, b""),
    ],
    ids=["no reason", "empty reason", "null reason", "no body"],
)
def test_a_reject_without_a_reason_is_422_naming_reason(api: Api, body: Any, raw: bytes | None) -> None:
    routed = api.hub.assigned()
    status, answer = api.call("POST", REJECT, rep(routed["rep_id"]), body=body, raw=raw,
                              handoff_id=routed["handoff_id"])  # fmt: skip
    assert status == 422, answer
    # the field at fault: `reason`, or the whole body when there is none
    assert ("reason" if body is not None else "body") in answer["message"]
    assert api.hub.handoff(routed["handoff_id"]).rep_id == routed["rep_id"]


def test_a_reject_with_a_reason_goes_to_the_next_rep_and_never_back(api: Api) -> None:
    routed = api.hub.assigned()
    first = routed["rep_id"]
    api.hub.published(None)
    status, body = api.reject(routed["handoff_id"], rep(first), {"reason": "wrong territory"})
    assert status == 200, body
    assert body["status"] == "assigned"
    assert body["rep_id"] in AMER_SDRS - {first}
    assert first in body["excluded_reps"]
    assert any("wrong territory" in entry["cause"] for entry in body["history"])
    assert types_of(api.hub.published()) == ["handoff.assigned", "handoff.rejected"]
    # and the first rep's load was released
    reps = api.reps()
    assert (reps[first]["open_handoffs"], reps[body["rep_id"]]["open_handoffs"]) == (0, 1)


def test_a_handoffs_history_keeps_each_transitions_event_and_previous_rep(api: Api) -> None:
    # Given a handoff assigned, then rejected by its first rep and assigned to another
    routed = api.hub.assigned()
    first = routed["rep_id"]
    assert api.reject(routed["handoff_id"], rep(first))[0] == 200
    # When it is read back
    history = api.get(routed["handoff_id"])["history"]
    # Then each transition names the event it published, and the reassignment whom it came from
    assert [entry["event"] for entry in history] == [None, "handoff.assigned", "handoff.rejected", "handoff.assigned"]
    assert history[-1]["previous_rep_id"] == first


def test_a_reject_when_nobody_else_may_take_it_escalates_to_the_teams_manager(api: Api) -> None:
    # Given a handoff whose team has no other SDR available
    routed = api.hub.assigned()
    for sdr in AMER_SDRS - {routed["rep_id"]}:
        api.set_rep(sdr, available=False)
    api.hub.published(None)
    # When its assignee rejects it
    status, body = api.reject(routed["handoff_id"], rep(routed["rep_id"]))
    # Then the team's manager has it (it does not park in the queue), published as an escalation, with its deadline
    assert status == 200, body
    assert (body["status"], body["rep_id"], body["queue"]) == ("assigned", "mgr-priya-nair", None)
    assert api.hub.handoff(routed["handoff_id"]).rep_id == "mgr-priya-nair"
    assert types_of(api.hub.published()) == ["handoff.escalated", "handoff.rejected"]
    assert api.hub.timer_inputs(routed["handoff_id"], "sla_accept")
    reps = api.reps()
    assert (reps[routed["rep_id"]]["open_handoffs"], reps["mgr-priya-nair"]["open_handoffs"]) == (0, 1)


def test_a_manager_assigns_a_queued_handoff_to_a_named_eligible_rep(api: Api) -> None:
    # Given a handoff waiting in the AMER queue, Maya back, Sam still away
    handoff_id = _queued_for_maya(api)
    api.hub.published(None)
    # When a rep names someone else, a manager names an unknown rep or one away: refused, nothing changes
    refused = [
        api.call("POST", ASSIGN, rep("sdr-lena-vogel"), body={"rep_id": "sdr-maya-chen"}, handoff_id=handoff_id),
        api.call("POST", ASSIGN, MANAGER, body={"rep_id": "nobody-1"}, handoff_id=handoff_id),
        api.call("POST", ASSIGN, MANAGER, body={"rep_id": "sdr-sam-okafor"}, handoff_id=handoff_id),
        api.call("POST", ASSIGN, MANAGER, body={}, handoff_id=handoff_id),
    ]
    assert [status for status, _ in refused] == [403, 400, 409, 422], refused
    assert "nobody-1" in refused[1][1]["message"]
    assert "now: set unavailable" in refused[2][1]["message"]
    assert api.hub.handoff(handoff_id).status.value == "queued"
    assert api.hub.published(None) == []
    # When the manager gives it to Maya
    status, body = api.call("POST", ASSIGN, MANAGER, body={"rep_id": "sdr-maya-chen"}, handoff_id=handoff_id)
    # Then it is hers, stored, published, timed, and counted in her load; she may accept it
    assert status == 200, body
    assert (body["status"], body["rep_id"], body["queue"]) == ("assigned", "sdr-maya-chen", None)
    assert api.hub.handoff(handoff_id).rep_id == "sdr-maya-chen"
    assert types_of(api.hub.published()) == ["handoff.assigned", "lead.nurture_paused"]
    assert api.hub.timer_inputs(handoff_id, "sla_accept")
    assert api.reps()["sdr-maya-chen"]["open_handoffs"] == 1
    assert api.accept(handoff_id, rep("sdr-maya-chen"))[0] == 200


def test_a_queued_handoff_is_recycled_by_an_admin(api: Api) -> None:
    handoff_id = _queued(api)
    api.hub.published(None)
    status, body = api.reject(handoff_id, ADMIN, {"reason": "a student", "recycle": True})
    assert status == 200, body
    assert body["status"] == "recycled"
    assert api.hub.handoff(handoff_id).status.value == "recycled"
    assert types_of(api.hub.published()) == ["handoff.recycled"]


def known_customer(api: Api) -> str:
    """A customer the hub knows: the account of a captured lead, named by its company's domain."""
    email = f"buyer@complete-{uuid.uuid4().hex[:8]}.example"
    api.hub.capture(email)
    return email.split("@")[1]


def test_a_customer_handoff_for_a_customer_the_hub_does_not_know_is_404_naming_it(api: Api) -> None:
    # Given no customer known as "nonexistent"
    loads = {rep_id: load["open_handoffs"] for rep_id, load in api.reps().items()}
    api.hub.published(None)
    # When sales hand it to success
    body = {"deal_id": "deal-1", "goals": ["go live"]}
    status, answer = api.call("POST", CUSTOMER, body=body, customer_id="nonexistent")
    # Then the answer is 404 naming the customer, and no CSM was assigned, nothing published
    assert status == 404, answer
    assert "'nonexistent'" in answer["message"]
    assert api.call("GET", CUSTOMER, customer_id="nonexistent")[0] == 404
    assert {rep_id: load["open_handoffs"] for rep_id, load in api.reps().items()} == loads
    assert api.hub.published() == []


@pytest.mark.parametrize(
    ("value", "currency", "limit"),
    [
        ("12.345", "USD", "USD allows at most 2 decimal places"),
        ("1500.5", "JPY", "JPY allows whole amounts only"),
        ("1.2345", "EUR", "EUR allows at most 2 decimal places"),
    ],
)
def test_a_contract_value_finer_than_its_currency_is_422_naming_contract_value_and_the_limit(
    api: Api, value: str, currency: str, limit: str
) -> None:
    # Given a customer the hub knows
    customer = known_customer(api)
    api.hub.published(None)
    # When sales hand it over with a contract value its currency cannot hold
    body = {"deal_id": "deal-1", "contract_value": value, "currency": currency}
    status, answer = api.call("POST", CUSTOMER, body=body, customer_id=customer)
    # Then the answer is 422 naming the field and the currency's limit, and nothing is handed over
    assert status == 422, answer
    assert "contract_value" in answer["message"]
    assert limit in answer["message"]
    assert api.call("GET", CUSTOMER, customer_id=customer)[0] == 404
    assert api.hub.published() == []


def test_a_contract_value_within_its_currencys_decimals_is_stored(api: Api) -> None:
    customer = known_customer(api)
    body = {"deal_id": "deal-1", "contract_value": "12.340", "currency": "USD"}
    status, answer = api.call("POST", CUSTOMER, body=body, customer_id=customer)
    assert status == 201, answer
    assert (answer["handover"]["contract_value"], answer["handover"]["currency"]) == ("12.340", "USD")


def customer_handoffs_of(api: Api, *names: str) -> list[dict[str, Any]]:
    """The stored customer handoffs whose subject is `customer:<name>`, whichever of `names`."""
    subjects = {f"customer:{name}" for name in names}
    return [item for item in api.list(limit="200")["items"] if item["lead_id"] in subjects]


def test_a_customer_handoff_is_one_whichever_name_of_the_customer_is_asked(api: Api) -> None:
    # Given a customer the hub knows, named by its domain and by its account id
    domain = known_customer(api)
    account_id = api.hub.api.customers.resolve(domain)
    assert account_id is not None
    assert account_id != domain
    api.hub.published(None)
    body = {"deal_id": "deal-1", "goals": ["go live"], "contract_value": "100", "currency": "JPY"}
    # When sales hand it over by its domain, then the same request by its account id
    first_status, first = api.call("POST", CUSTOMER, body=body, customer_id=domain)
    again_status, again = api.call("POST", CUSTOMER, body=body, customer_id=account_id)
    # Then the first is stored under the account id, and the second answers it (200): one handoff, one CSM
    assert first_status == 201, first
    assert first["customer_id"] == account_id
    assert again_status == 200, again
    assert again["handoff_id"] == first["handoff_id"]
    assert [h["handoff_id"] for h in customer_handoffs_of(api, domain, account_id)] == [first["handoff_id"]]
    assert types_of(api.hub.published()).count("success_plan.created") == 1
    # And it is read by either name
    for name in (domain, account_id):
        status, read = api.call("GET", CUSTOMER, customer_id=name)
        assert (status, read["handoff_id"], read["customer_id"]) == (200, first["handoff_id"], account_id), name
    # And another deal while it is open is a 409 by either name, storing nothing
    for name in (domain, account_id):
        status, refused = api.call("POST", CUSTOMER, body={"deal_id": "deal-2"}, customer_id=name)
        assert status == 409, (name, refused)
        assert first["handoff_id"] in refused["message"]
    assert len(customer_handoffs_of(api, domain, account_id)) == 1
    assert api.hub.published() == []


def test_a_get_of_a_customer_the_hub_does_not_know_is_404_naming_it(api: Api) -> None:
    status, answer = api.call("GET", CUSTOMER, customer_id="nowhere.example")
    assert status == 404, answer
    assert "'nowhere.example'" in answer["message"]


def test_completing_an_accepted_customer_handoff_lets_the_api_hand_the_customer_off_again(api: Api) -> None:
    # Given a customer handoff its CSM accepted: another deal's handoff is a 409 while it is open
    customer = known_customer(api)
    status, first = api.call("POST", CUSTOMER, body={"deal_id": "deal-1"}, customer_id=customer)
    assert status == 201, first
    csm = first["rep_id"]
    status, body = api.call("POST", COMPLETE, rep(csm), handoff_id=first["handoff_id"])
    assert (status, "not accepted" in body["message"]) == (409, True), body
    assert api.accept(first["handoff_id"], rep(csm))[0] == 200
    assert api.call("POST", CUSTOMER, body={"deal_id": "deal-2"}, customer_id=customer)[0] == 409
    api.hub.published(None)
    # When another rep tries to complete it (403), then the CSM does
    assert api.call("POST", COMPLETE, rep("sdr-maya-chen"), handoff_id=first["handoff_id"])[0] == 403
    status, body = api.call("POST", COMPLETE, rep(csm), handoff_id=first["handoff_id"])
    # Then it is completed, stored and published, and the CSM's load is back
    assert status == 200, body
    assert body["status"] == "completed"
    assert api.hub.handoff(first["handoff_id"]).status.value == "completed"
    assert types_of(api.hub.published()) == ["handoff.completed"]
    assert api.reps()[csm]["open_handoffs"] == 0
    assert api.call("POST", COMPLETE, rep(csm), handoff_id=first["handoff_id"])[0] == 200
    # And a request through the API hands the customer off again
    status, again = api.call("POST", CUSTOMER, body={"deal_id": "deal-2"}, customer_id=customer)
    assert status == 201, again
    assert again["handoff_id"] != first["handoff_id"]


def test_the_assignee_records_the_leads_first_touch_once(api: Api) -> None:
    # Given a handoff its assignee accepted
    routed = api.hub.assigned()
    assignee = rep(routed["rep_id"])
    assert api.accept(routed["handoff_id"], assignee)[0] == 200
    api.hub.published(None)
    # When they record that they called the lead (just now: never before the assignment, never in the future)
    called = datetime.now(UTC)
    body = {"channel": "call", "touched_at": called.isoformat(), "note": "left a voicemail"}
    status, answer = api.call("POST", TOUCH, assignee, body=body, handoff_id=routed["handoff_id"])
    # Then the handoff answers the touch, still accepted, met within the SLA; it is stored so
    assert status == 200, answer
    assert answer["status"] == "accepted"
    assert datetime.fromisoformat(answer["first_touched_at"]) == called
    touch = answer["first_touch"]
    assert (touch["channel"], touch["rep_id"], touch["note"], touch["within_sla"]) == (
        "call",
        routed["rep_id"],
        "left a voicemail",
        True,
    )
    assert answer["details"]["follow_up_task"]["done_at"] == called.isoformat()
    assert answer["history"][-1]["event"] == "handoff.first_touched"
    stored = api.hub.handoff(routed["handoff_id"])
    assert stored.first_touch is not None
    assert stored.first_touch.at == called
    # And handoff.first_touched is on the bus, with the touch, and the first-touch deadline is gone
    [event] = api.hub.published()
    assert event["detail-type"] == "handoff.first_touched"
    detail = event["detail"]
    assert (detail["handoff_id"], detail["rep_id"], detail["status"], detail["channel"], detail["within_sla"]) == (
        routed["handoff_id"],
        routed["rep_id"],
        "accepted",
        "call",
        True,
    )
    assert datetime.fromisoformat(detail["touched_at"]) == called
    assert api.hub.timer_inputs(routed["handoff_id"]) == []
    # And a second touch, by a manager, answers the first with 200 and changes nothing
    status, again = api.call("POST", TOUCH, MANAGER, body={"channel": "meeting"}, handoff_id=routed["handoff_id"])
    assert status == 200, again
    assert again["first_touch"] == touch
    assert api.hub.published(None) == []


def test_touches_the_hub_cannot_take_are_4xx_saying_why_and_change_nothing(api: Api) -> None:
    # Given an assigned handoff, and a queued one
    routed = api.hub.assigned()
    handoff_id, assignee = routed["handoff_id"], rep(routed["rep_id"])
    queued = _queued(api)
    other = rep(next(r for r in sorted(AMER_SDRS) if r != routed["rep_id"]))
    assigned_at = api.hub.handoff(handoff_id).assigned_at
    assert assigned_at is not None
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    before = (assigned_at - timedelta(minutes=1)).isoformat()
    api.hub.published(None)

    def touch(claims: Claims, body: Any, target: str = handoff_id) -> dict[str, Any]:
        return {"method": "POST", "resource": TOUCH, "claims": claims, "body": body, "handoff_id": target}

    cases: list[Case] = [
        ("another rep", touch(other, {"channel": "call"}), 403, "assignee"),
        ("a queued handoff", touch(ADMIN, {"channel": "call"}, queued), 409, "is queued, not assigned or accepted"),
        ("in the future", touch(assignee, {"channel": "call", "touched_at": future}), 400, "in the future"),
        ("before the assignment", touch(assignee, {"channel": "email", "touched_at": before}), 400, "before"),
        ("no channel", touch(assignee, {"note": "hi"}), 422, "channel"),
        ("an unknown channel", touch(assignee, {"channel": "fax"}), 422, "channel"),
        ("a misspelt field", touch(assignee, {"channel": "call", "notes": "x"}), 422, "notes"),
        ("a long note", touch(assignee, {"channel": "call", "note": "x" * 501}), 422, "note"),
        ("year 1", touch(assignee, {"channel": "call", "touched_at": "0001-01-01T00:00:00Z"}), 422, "touched_at"),
        ("a number", touch(assignee, {"channel": "call", "touched_at": 1_700_000_000}), 422, "touched_at: must be an"),
        ("an unknown handoff", touch(ADMIN, {"channel": "call"}, "0" * 32), 404, "0" * 32),
    ]
    assert misanswered(api, cases) == {}
    assert api.hub.handoff(handoff_id).first_touch is None
    assert api.hub.handoff(queued).first_touch is None
    assert api.hub.published(None) == []


def _queued(api: Api) -> str:
    """A handoff no rep could take: every AMER SDR set unavailable, so it waits in the team's queue."""
    for sdr in AMER_SDRS:
        api.set_rep(sdr, available=False)
    routed = api.hub.request(api.hub.capture())
    assert routed["status"] == "queued", routed
    return str(routed["handoff_id"])


def test_accepting_or_rejecting_a_handoff_that_is_not_assigned_is_409(api: Api) -> None:
    # Given an accepted handoff and a queued one
    accepted = api.hub.assigned()["handoff_id"]
    assert api.accept(accepted)[0] == 200
    queued = _queued(api)
    # When an admin rejects the accepted one, accepts or rejects the queued one: 409 saying why
    for status, body in (api.reject(accepted), api.accept(queued), api.reject(queued)):
        assert status == 409, body
        assert "cannot be" in body["message"]
    assert api.hub.handoff(accepted).status.value == "accepted"
    assert api.hub.handoff(queued).status.value == "queued"


def test_unknown_or_malformed_handoff_ids_are_4xx_naming_them(api: Api) -> None:
    unknown = "0" * 32
    cases: list[Case] = [
        ("get unknown", {"method": "GET", "resource": HANDOFF, "handoff_id": unknown}, 404, unknown),
        ("accept unknown", {"method": "POST", "resource": ACCEPT, "handoff_id": unknown}, 404, unknown),
        (
            "reject unknown",
            {"method": "POST", "resource": REJECT, "handoff_id": unknown, "body": {"reason": "r"}},
            404,
            unknown,
        ),
    ]
    cases += [
        (f"get {bad!r}", {"method": "GET", "resource": HANDOFF, "handoff_id": bad}, 422, "handoff_id")
        for bad in ("bad id!", "x" * 65, "%00")
    ]
    assert misanswered(api, cases) == {}


# 3. Listings and a handoff with its lead -------------------------------------------------------------------------


def test_listings_filter_by_status_rep_and_priority(api: Api) -> None:
    # Given three standard handoffs (one accepted), a priority one, and a queued one
    standard = [api.hub.assigned() for _ in range(3)]
    urgent = api.hub.assigned("priority")
    api.accept(standard[0]["handoff_id"])
    queued = _queued(api)
    every = {h["handoff_id"] for h in [*standard, urgent]} | {queued}

    def ids(**query: str) -> set[str]:
        return {item["handoff_id"] for item in api.list(limit="200", **query)["items"]}

    # Then each filter gives exactly its handoffs
    assert ids() == every
    assert ids(status="accepted") == {standard[0]["handoff_id"]}
    assert ids(status="queued") == {queued}
    assert ids(status="assigned") == {h["handoff_id"] for h in [*standard[1:], urgent]}
    assert ids(priority="priority") == {urgent["handoff_id"]}
    assert ids(priority="standard", status="assigned") == {h["handoff_id"] for h in standard[1:]}
    for sdr in AMER_SDRS:
        mine = {h["handoff_id"] for h in [*standard, urgent] if h["rep_id"] == sdr}
        assert ids(rep_id=sdr) == mine
        assert ids(rep_id=sdr, status="accepted") == mine & {standard[0]["handoff_id"]}
    assert ids(rep_id="nobody") == set()


def test_listings_page_newest_first_with_a_cursor(api: Api) -> None:
    made = [api.hub.assigned()["handoff_id"] for _ in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = api.list(limit="2", **({"cursor": cursor} if cursor else {}))
        seen += [item["handoff_id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == list(reversed(made))


def test_bad_listing_queries_are_4xx_naming_what(api: Api) -> None:
    bad: list[tuple[dict[str, str], int, str]] = [
        ({"cursor": "%%%"}, 400, "cursor"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, 400, "cursor"),
        ({"cursor": "x" * 3000}, 422, "cursor"),
        ({"status": "exploded"}, 422, "status"),
        ({"priority": "urgent"}, 422, "priority"),
        ({"limit": "0"}, 422, "limit"),
        ({"limit": "201"}, 422, "limit"),
        ({"limit": "ten"}, 422, "limit"),
        ({"rep_id": "r" * 65}, 422, "rep_id"),
    ]
    cases: list[Case] = [
        (json.dumps(query)[:60], {"method": "GET", "resource": HANDOFFS, "query": query}, status, mentions)
        for query, status, mentions in bad
    ]
    assert misanswered(api, cases) == {}


def test_a_cursor_of_another_listing_is_400(api: Api) -> None:
    for _ in range(3):
        api.hub.assigned()
    cursor = api.list(limit="1")["next_cursor"]
    status, body = api.call("GET", HANDOFFS, query={"cursor": cursor, "status": "assigned", "limit": "1"})
    assert status == 400, body
    assert "cursor" in body["message"]


def test_a_handoff_carries_its_lead_with_the_score_breakdown_and_engagement(api: Api) -> None:
    # Given a lead who requested a demo, and its handoff
    email = "grace.hopper@navy-systems.example"
    lead_id = api.hub.capture(email, first_name="Grace", last_name="Hopper")
    api.hub.engage(email, "demo_request")
    routed = api.hub.request(lead_id)
    # When a sales user reads the handoff
    status, handoff = api.call("GET", HANDOFF, token("sales"), handoff_id=routed["handoff_id"])
    # Then it has the assignee, the SLA, the history, and the lead with its breakdown and its engagement
    assert status == 200, handoff
    assert (handoff["rep_id"], handoff["status"]) == (routed["rep_id"], "assigned")
    assert handoff["sla_due_at"] is not None
    assert [entry["status"] for entry in handoff["history"]] == ["requested", "assigned"]
    lead = handoff["lead"]
    assert lead["lead_id"] == lead_id
    assert lead["profile"]["first_name"] == "Grace"
    assert lead["breakdown"]
    assert any(line["points"] > 0 for line in lead["breakdown"]), lead["breakdown"]
    assert [e["kind"] for e in lead["engagement"]] == ["demo_request"]


# 4. Reps: availability and capacity at run time ------------------------------------------------------------------


def test_reps_are_listed_with_load_capacity_and_availability(api: Api) -> None:
    routed = api.hub.assigned()
    listed = api.ok("GET", REPS, rep(routed["rep_id"]))
    assert listed["routing_version"] == ROUTING_FILE["version"]
    reps = {r["rep_id"]: r for r in listed["reps"]}
    assert set(reps) == {r["rep_id"] for r in ROUTING_FILE["reps"]}
    assert (reps[routed["rep_id"]]["open_handoffs"], reps[routed["rep_id"]]["assignments"]) == (1, 1)


def test_an_unknown_rep_is_404(api: Api) -> None:
    status, body = api.call("PUT", REP, body={"available": False}, rep_id="sdr-nobody")
    assert status == 404, body
    assert "sdr-nobody" in body["message"]


def test_a_rep_update_the_model_refuses_is_422_naming_the_field(api: Api) -> None:
    bad: list[tuple[dict[str, Any], str]] = [
        ({"capacty": 3}, "capacty"),
        ({"available": False, "active": True}, "active"),
        ({"capacity": -1}, "capacity"),
        ({"capacity": 10_001}, "capacity"),
        ({"capacity": 2.5}, "capacity"),
        ({"available": "perhaps"}, "available"),
        # neither a boolean nor a numeric string is a capacity, nor "no" an availability (strict, not coerced)
        ({"capacity": True}, "capacity"),
        ({"capacity": "7"}, "capacity"),
        ({"available": "no"}, "available"),
        ({"available": 0}, "available"),
    ]
    cases: list[Case] = [
        (json.dumps(body), {"method": "PUT", "resource": REP, "rep_id": "sdr-maya-chen", "body": body}, 422, named)
        for body, named in bad
    ]
    assert misanswered(api, cases) == {}
    maya = api.reps()["sdr-maya-chen"]
    assert (maya["available"], maya["capacity"]) == (True, 25)


def test_an_unavailable_rep_gets_no_handoffs_until_available_again(api: Api) -> None:
    # Given Maya, who is next by weight, set unavailable
    answer = api.set_rep("sdr-maya-chen", available=False)
    assert (answer["available"], answer["availability_note"]) == (False, "set unavailable (run-time override)")
    # When four handoffs are requested
    got = [api.hub.assigned()["rep_id"] for _ in range(4)]
    # Then none went to her
    assert "sdr-maya-chen" not in got
    assert set(got) == AMER_SDRS - {"sdr-maya-chen"}
    # And once she is available again, she is next (the fewest assignments by weight)
    api.set_rep("sdr-maya-chen", available=True)
    assert api.hub.assigned()["rep_id"] == "sdr-maya-chen"


def test_reps_set_unavailable_at_run_time_are_skipped_as_unavailable_not_inactive(api: Api) -> None:
    # Given every AMER SDR set unavailable at run time (each active in the routing file)
    for rep_id in AMER_SDRS:
        api.set_rep(rep_id, available=False)
    api.hub.published(None)
    # When a handoff is requested
    routed = api.hub.request(api.hub.capture())
    # Then it waits in the queue, each skip saying `unavailable`, and the queued event's reason counts them so
    assert (routed["status"], routed["rep_id"]) == ("queued", None)
    stored = api.get(routed["handoff_id"])
    assert {(s["rep_id"], s["reason"]) for s in stored["skips"]} == {(r, "unavailable") for r in AMER_SDRS}
    [queued] = [e for e in api.hub.published() if e["detail-type"] == "handoff.queued"]
    assert "3 reps skipped (3 set unavailable)" in queued["detail"]["reason"]
    assert "inactive" not in queued["detail"]["reason"]


def test_a_capacity_override_is_respected(api: Api) -> None:
    # Given Maya and Jordan out of routing, and Sam's capacity lowered to 1
    api.set_rep("sdr-maya-chen", available=False)
    api.set_rep("sdr-jordan-reyes", capacity=0)
    sam = api.set_rep("sdr-sam-okafor", capacity=1)
    assert sam["capacity"] == 1
    # When two handoffs are requested
    first = api.hub.request(api.hub.capture())
    second = api.hub.request(api.hub.capture())
    # Then Sam takes one, and the other waits in the team's queue: nobody has room
    assert (first["status"], first["rep_id"]) == ("assigned", "sdr-sam-okafor")
    assert (second["status"], second["rep_id"]) == ("queued", None)
    reps = api.reps()
    assert (reps["sdr-sam-okafor"]["available"], reps["sdr-sam-okafor"]["open_handoffs"]) == (False, 1)
    assert "at capacity" in reps["sdr-sam-okafor"]["availability_note"]
    assert reps["sdr-jordan-reyes"]["capacity"] == 0


def test_clearing_the_overrides_gives_back_the_files_values(api: Api) -> None:
    api.set_rep("sdr-sam-okafor", available=False, capacity=2)
    cleared = api.set_rep("sdr-sam-okafor")
    assert (cleared["available"], cleared["capacity"]) == (True, 15)


# 5. Simulation: what-if, writing nothing -------------------------------------------------------------------------

SIM_LEADS: list[dict[str, Any]] = [
    {"lead_id": "sim-us", "email": "a@us.example", "country": "US"},
    {"lead_id": "sim-de", "email": "b@de.example", "country": "DE", "language": "de", "product_interest": ["payments"]},
    {"lead_id": "sim-big", "email": "c@big.example", "country": "US", "employee_count": 5000},
    {"lead_id": "sim-cust", "kind": "customer", "country": "SE", "annual_revenue": "250000000"},
]


def test_a_valid_candidate_is_simulated_and_nothing_is_written(api: Api) -> None:
    # Given some stored handoffs, and a candidate that sends EMEA leads to the AEs
    api.hub.assigned()
    items, loads = api.hub.handoff_items(), api.reps()
    candidate = json.loads(json.dumps(ROUTING_FILE))
    candidate["version"] = "candidate-1"
    emea = next(rule for rule in candidate["rules"] if rule["rule_id"] == "emea-sdr")
    emea.update(team="ae", strategy="round_robin")
    api.hub.published(None)
    # When it is simulated
    status, report = api.simulate({"routing": candidate, "leads": SIM_LEADS})
    # Then every lead has a decision with an explanation, the EMEA lead moved, and
    assert status == 200, report
    assert (report["candidate_version"], report["current_version"]) == ("candidate-1", ROUTING_FILE["version"])
    decisions = {d["lead_id"]: d for d in report["decisions"]}
    assert set(decisions) == {lead["lead_id"] for lead in SIM_LEADS}
    assert all(d["explanation"] for d in decisions.values())
    assert decisions["sim-de"]["team"] == "ae"
    assert decisions["sim-us"]["rep_id"] in AMER_SDRS
    assert decisions["sim-big"]["rule_id"] == "enterprise-accounts"
    assert decisions["sim-cust"]["team"] == "csm"
    assert report["changed_from_current"] >= 1
    # nothing was written: no handoff, no load, no event, no timer
    assert api.hub.handoff_items() == items
    assert api.reps() == loads
    assert api.hub.published(None) == []


def test_a_simulation_gates_leads_as_a_real_request_would_and_writes_nothing(api: Api) -> None:
    # Given an ICP lead's demo request, an anonymous visitor's, and a buying signal below the fit line (10)
    leads = [
        {"lead_id": "sim-icp", "email": "icp@us.example", "country": "US", "fit_score": "40", "priority": "priority"},
        {"lead_id": "sim-anon", "country": "US", "fit_score": "40", "priority": "immediate"},
        {"lead_id": "sim-low", "email": "low@us.example", "country": "US", "fit_score": "5", "priority": "priority"},
    ]
    items, loads = api.hub.handoff_items(), api.reps()
    # When the shipped file is simulated against them
    status, report = api.simulate({"routing": ROUTING_FILE, "leads": leads})
    # Then only the ICP lead gets a rep; the others are where a real request would put them, with the reason
    assert status == 200, report
    decisions = {d["lead_id"]: d for d in report["decisions"]}
    assert (decisions["sim-icp"]["gate"], decisions["sim-icp"]["rep_id"] in AMER_SDRS) == ("route", True)
    anon, low = decisions["sim-anon"], decisions["sim-low"]
    assert (anon["gate"], anon["rep_id"], anon["queue"]) == ("await_identification", None, None)
    assert "no email" in anon["explanation"]
    assert (low["gate"], low["rep_id"], low["queue"]) == ("qualify", None, "sdr-qualification")
    assert "fit score" in low["explanation"]
    assert report["assigned_per_rep"] == {decisions["sim-icp"]["rep_id"]: 1}
    assert sorted(report["unroutable"]) == ["sim-anon", "sim-low"]
    # And nothing was written
    assert api.hub.handoff_items() == items
    assert api.reps() == loads
    assert api.hub.published(None) == []


def test_a_simulation_without_leads_routes_the_stored_mqls(api: Api) -> None:
    status, report = api.simulate({"routing": ROUTING_FILE, "limit": 5})
    assert status == 200, report
    assert report["leads_routed"] == len(report["decisions"])


def _with(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    candidate: dict[str, Any] = json.loads(json.dumps(ROUTING_FILE))
    change(candidate)
    return candidate


def _nested(depth: int) -> dict[str, Any]:
    inner: dict[str, Any] = {}
    for _ in range(depth):
        inner = {"a": inner}
    return inner


INVALID_CANDIDATES: list[tuple[str, dict[str, Any] | None, bytes | None, str]] = [
    (
        "a rule naming no team",
        {"routing": _with(lambda c: c["rules"][3].update(team="sdr-emae"))},
        None,
        'team "sdr-emae" is not defined',
    ),
    (
        "a rep of no team",
        {"routing": _with(lambda c: c["reps"][0].update(team="nowhere"))},
        None,
        'rep "sdr-maya-chen": team "nowhere"',
    ),
    (
        "a float where a decimal goes",
        {"routing": _with(lambda c: c["gates"].update(min_fit_score_for_behaviour_trigger=10.5))},
        None,
        "min_fit_score_for_behaviour_trigger",
    ),
    (
        "a float range bound",
        {"routing": _with(lambda c: c["rules"][8]["when"]["annual_revenue"].update(min=1.5e8))},
        None,
        "annual_revenue",
    ),
    ("a routing file that is a list", None, b'{"routing": [1, 2]}', "routing"),
    ("an empty routing file", {"routing": {}}, None, "version"),
    ("no catch-all", {"routing": _with(lambda c: c["rules"].pop(7))}, None, "no catch-all for lead"),
    ("nesting 10,000 deep", None, b'{"routing": ' + b'{"a": ' * 10_000 + b"1" + b"}" * 10_001, "deeper than"),
    ("nesting 60 deep", {"routing": _with(lambda c: c.update(extra=_nested(60)))}, None, "extra"),
    (
        "10,000 leads",
        {"routing": ROUTING_FILE, "leads": [{"lead_id": f"l-{n}"} for n in range(10_000)]},
        None,
        "leads",
    ),
    ("a score that is a number", {"routing": ROUTING_FILE, "leads": [{"lead_id": "l", "score": 12.5}]}, None, "score"),
    ("an unknown field", {"routing": ROUTING_FILE, "leeds": []}, None, "leeds"),
    ("a 5,000-digit capacity", None, b'{"routing": {"reps": [{"capacity": ' + b"9" * 5000 + b"}]}}", "digits"),
]


def test_an_invalid_candidate_is_4xx_naming_the_problem_and_writes_nothing(api: Api) -> None:
    api.hub.assigned()
    items, loads = api.hub.handoff_items(), api.reps()
    cases: list[Case] = [
        (case, {"method": "POST", "resource": SIMULATE, "body": body, "raw": raw}, 400, mentions)
        for case, body, raw, mentions in INVALID_CANDIDATES
    ]
    wrong = misanswered(api, cases)
    # (the model's own refusals are 422s: a 4xx either way, never a 5xx)
    assert {case: answer for case, answer in wrong.items() if not answer[2]} == {}
    assert (api.hub.handoff_items(), api.reps()) == (items, loads)


@pytest.mark.parametrize("zone", ["America", "Z" * 300])
def test_a_candidate_with_a_time_zone_that_is_no_zone_is_4xx(api: Api, zone: str) -> None:
    candidate = _with(lambda c: c["reps"][0]["working_hours"].update(time_zone=zone))
    status, answer = api.simulate({"routing": candidate, "leads": SIM_LEADS[:1]})
    assert 400 <= status < 500, (status, answer)
    assert "time_zone" in answer["message"]


def test_a_candidate_with_an_absence_to_the_end_of_time_is_simulated_or_refused(api: Api) -> None:
    forever = [{"from": "2020-01-01", "to": "9999-12-31"}]
    candidate = _with(lambda c: c["reps"][0].update(out_of_office=forever))
    status, answer = api.simulate({"routing": candidate, "leads": SIM_LEADS[:1]})
    assert status < 500, answer
    if status == 200:
        assert answer["decisions"][0]["rep_id"] != "sdr-maya-chen"


@pytest.mark.parametrize("as_of", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_a_simulation_at_the_edge_of_time_is_4xx(api: Api, as_of: str) -> None:
    leads = [
        {"lead_id": "l-us", "email": "a@b.example", "country": "US", "priority": "immediate"},
        {"lead_id": "l-jp", "email": "c@d.example", "country": "JP", "priority": "immediate"},
    ]
    status, answer = api.simulate({"routing": ROUTING_FILE, "leads": leads, "as_of": as_of})
    assert 400 <= status < 500 or status == 200, (status, answer)


# 6. Metrics ------------------------------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def test_a_metrics_range_out_of_bounds_is_4xx(api: Api) -> None:
    bad: list[tuple[str, dict[str, str], int, str]] = [
        ("from after to", {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, 400, "before"),
        ("an empty range", {"from": "2026-03-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, 400, "before"),
        ("93 days", {"from": "2026-01-01T00:00:00Z", "to": "2026-04-04T00:00:00Z"}, 400, "92 days"),
        ("93 days by offsets", {"from": "2026-01-01T00:00:00+14:00", "to": "2026-04-02T00:00:00-12:00"}, 400, "92"),
        ("a year, from only", {"from": "2025-01-01T00:00:00Z"}, 400, "92 days"),
        ("from in the far future", {"from": "2999-01-01T00:00:00Z"}, 422, "from: must fall between 1970-01-01"),
        ("from a number", {"from": "1700000000"}, 422, "from: must be an ISO 8601 date-time string"),
        ("from no date", {"from": "yesterday"}, 422, "from"),
        ("to no date", {"to": "2026-13-01"}, 422, "to"),
    ]
    cases: list[Case] = [
        (case, {"method": "GET", "resource": METRICS, "query": query}, status, mentions)
        for case, query, status, mentions in bad
    ]
    assert misanswered(api, cases) == {}


@pytest.mark.parametrize(
    "query",
    [
        {"to": "0001-01-05T00:00:00Z"},
        {"from": "9999-12-30T00:00:00Z", "to": "9999-12-31T23:00:00-05:00"},
        {"from": "0001-01-01T00:00:00+05:00", "to": "0001-01-02T00:00:00Z"},
    ],
    ids=["to in year 1, no from", "to past year 9999 in UTC", "from before year 1 in UTC"],
)
def test_metrics_at_the_edge_of_time_are_not_5xx(api: Api, query: dict[str, str]) -> None:
    status, body = api.call("GET", METRICS, query=query)
    assert status in (200, 400, 422), (status, body)


def test_metrics_count_a_request_and_its_accept(api: Api) -> None:
    # Given two handoffs requested, one accepted
    accepted = api.hub.assigned()
    api.hub.assigned()
    assert api.accept(accepted["handoff_id"], rep(accepted["rep_id"]))[0] == 200
    now = datetime.now(UTC)
    # When marketing reads the last hour's metrics
    status, metrics = api.call(
        "GET",
        METRICS,
        token("marketing"),
        query={"from": _iso(now - timedelta(hours=1)), "to": _iso(now + timedelta(minutes=1))},
    )
    # Then both handoffs count, with speed to assignment for both and to acceptance for one, and the SLA row
    assert status == 200, metrics
    assert metrics["handoffs"] == 2
    assert metrics["requested_to_assigned"]["count"] == 2
    assert metrics["requested_to_assigned"]["p50_seconds"] is not None
    assert metrics["requested_to_accepted"]["count"] == 1
    assert metrics["requested_to_accepted"]["p50_seconds"] is not None
    assert metrics["assigned_to_accepted"]["count"] == 1
    [row] = metrics["sla"]
    assert (row["priority"], row["team"], row["handoffs"]) == ("standard", "sdr-amer", 2)
    assert (row["accepted_within_sla"], row["open_within_sla"], row["attainment"]) == (1, 1, 1.0)
    # And a range before them counts nothing
    status, empty = api.call(
        "GET", METRICS, query={"from": _iso(now - timedelta(days=3)), "to": _iso(now - timedelta(days=2))}
    )
    assert (status, empty["handoffs"], empty["requested_to_assigned"]["p50_seconds"]) == (200, 0, None)


def test_metrics_count_a_first_touch_and_the_leads_still_awaiting_one(api: Api) -> None:
    # Given two handoffs accepted, the lead of one touched by its rep
    touched, waiting = api.hub.assigned(), api.hub.assigned()
    for routed in (touched, waiting):
        assert api.accept(routed["handoff_id"], rep(routed["rep_id"]))[0] == 200
    status, _ = api.call("POST", TOUCH, rep(touched["rep_id"]), body={"channel": "email"},
                         handoff_id=touched["handoff_id"])  # fmt: skip
    assert status == 200
    now = datetime.now(UTC)
    # When the last hour's metrics are read
    metrics = api.ok("GET", METRICS, query={"from": _iso(now - timedelta(hours=1)), "to": _iso(now)})
    # Then the touch is timed from its assignment, and the first-touch SLA row counts one met and one open
    assert metrics["assigned_to_first_touch"]["count"] == 1
    assert metrics["requested_to_first_touch"]["p50_seconds"] is not None
    [row] = metrics["sla"]
    assert (row["touched_within_sla"], row["first_touch_breached"], row["awaiting_touch_within_sla"]) == (1, 0, 1)
    assert row["first_touch_attainment"] == 1.0
    assert (row["accepted_within_sla"], row["attainment"]) == (2, 1.0)


def test_metrics_count_a_missed_first_touch_apart_from_the_accept_sla(api: Api) -> None:
    # Given an accepted handoff whose first-touch deadline passed untouched
    routed = api.hub.assigned()
    assert api.accept(routed["handoff_id"], rep(routed["rep_id"]))[0] == 200
    api.hub.fire(routed["handoff_id"], "first_touch")
    now = datetime.now(UTC)
    # When the metrics are read
    metrics = api.ok("GET", METRICS, query={"from": _iso(now - timedelta(hours=1)), "to": _iso(now)})
    # Then the first-touch SLA was missed, while the accept SLA was met
    [row] = metrics["sla"]
    assert (row["first_touch_breached"], row["first_touch_attainment"]) == (1, 0.0)
    assert (row["accepted_within_sla"], row["breached"], row["attainment"]) == (1, 0, 1.0)


def test_metrics_count_an_sla_breach(api: Api) -> None:
    # Given a handoff whose SLA passed (its timer fired: it went to another rep)
    routed = api.hub.assigned()
    api.hub.fire(routed["handoff_id"])
    assert api.hub.handoff(routed["handoff_id"]).reassignments == 1
    now = datetime.now(UTC)
    # When the metrics of the last hour are read
    metrics = api.ok("GET", METRICS, query={"from": _iso(now - timedelta(hours=1)), "to": _iso(now)})
    # Then the breach counts against the SLA
    [row] = metrics["sla"]
    assert (row["breached"], row["open_within_sla"], row["attainment"]) == (1, 0, 0.0)
