"""A local stand-in for HubSpot's CRM API (v3 objects, v4 default associations) and its webhooks, enough for the
hub's CRM sync: `hubspot.HubSpot(access_token=..., host="http://127.0.0.1:<port>/_local/crm/hubspot")` calls here
as it would call api.hubapi.com, and every change to a record, by the API or by a "user" (`_edits`), fires
HubSpot's webhook events at the hub, signed as HubSpot signs them (v3).

HubSpot's API, under /_local/crm/hubspot (`<type>`: contacts, companies, deals, or 0-1, 0-2, 0-3):

    POST   /crm/v3/objects/<type>                        create one: 201, 409 for a contact email already taken
    GET    /crm/v3/objects/<type>[?limit=&after=&properties=a,b]                           a page, by id
    GET    /crm/v3/objects/<type>/<id>[?properties=a,b&idProperty=email]                  one, 404 if none
    PATCH  /crm/v3/objects/<type>/<id>[?idProperty=email]                                 update one
    POST   /crm/v3/objects/<type>/batch/create           {"inputs": [{"properties", "objectWriteTraceId"?}]}
    POST   /crm/v3/objects/<type>/batch/update           {"inputs": [{"id", "properties", "idProperty"?, ...}]}
    POST   /crm/v3/objects/<type>/batch/upsert           {"inputs": [{"id", "idProperty": "email", "properties"}]}
    POST   /crm/v3/objects/<type>/batch/read             {"properties", "idProperty"?, "inputs": [{"id"}]}
    POST   /crm/v3/objects/<type>/search                 {"filterGroups", "sorts", "properties", "limit", "after"}
    PUT    /crm/v4/objects/<from>/<id>/associations/default/<to>/<id>          default (unlabeled) association
    POST   /crm/v4/associations/<from>/<to>/batch/associate/default            {"inputs": [{"from", "to"}]}
    GET    /crm/v4/objects/<from>/<id>/associations/<to>                       a record's associations
    POST   /crm/v3/objects/contacts/gdpr-delete          {"objectId", "idProperty"?: "email"}: the contact and
                                                     its associations deleted for good, 204; an id that names
                                                     no contact 404; an email that names none 204 (HubSpot
                                                     blocklists it)

The stand-in's own endpoints, under /_local/crm/hubspot (no token, not counted as API calls):

    GET    /_records/<type>          {"records": [...]}: every record, every property
    GET    /_calls                   {"calls": [{"method", "path", "status", "at"}...], "count": N}: every API
                                     call (faults and refusals too), its path as HubSpot's (without this prefix)
    DELETE /_calls                   forgets them (the count starts again from 0)
    GET    /_webhooks                {"url", "pending", "deliveries": [...], "events": [...]}
    POST   /_faults                  {"calls": N, "kind": "ratelimited" | "server_error", "retry_after": S,
                                     "after": M?}: the next N API calls (once M more passed) answer 429 (with
                                     Retry-After) or 502; {"outage": true}: every API call answers 503 until
                                     {"outage": false}
    POST   /_edits                   {"object": "contacts", "id": "123" | "email": "a@b.c", "properties": {...},
                                     "occurred_at": "<ISO 8601>"?, "user_id": 123?}: a user changes the record in
                                     HubSpot's UI at that moment (a late, older change when in the past); answers
                                     the record and fires the webhooks (changeSource CRM_UI)

As HubSpot answers: every value is text; `createdate`, `hs_object_id` and the last-modified date
(`lastmodifieddate` for contacts, `hs_lastmodifieddate` for companies and deals) are kept by the CRM; a
property outside the portal's known set is refused (VALIDATION_ERROR "Property values were not valid",
PROPERTY_DOESNT_EXIST, named), as are an email that is not one, a number that is not one and an option that is
not one; a contact's email is unique in the portal (lower-cased). Errors are HubSpot's body (`status`,
`message`, `correlationId`, `category`, ...). A batch takes 100 inputs at most and no id twice. A batch
answers 200 (batch create: 201) when every input succeeded, and 207 with per-input `errors` when some failed:
ids that name no record (OBJECT_NOT_FOUND, `context.ids`) always; an input refused for its values only when
the inputs carry `objectWriteTraceId` (HubSpot's multi-status opt-in; `context.objectWriteTraceId`), else the
whole batch is refused (400, or 409 for an email taken) and nothing of it applied (always, with
`multi_status=False`). A search takes filters EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY,
NOT_HAS_PROPERTY, CONTAINS_TOKEN (dates as epoch milliseconds or ISO 8601; text without case), one sort, 200
results a page at most and pages no further than 10,000. A contact's first company (a default association)
becomes its `associatedcompanyid`. Records of one call share its modified date; calls never share one.

Webhooks: `contact.creation` then one `contact.propertyChange` per property the change set (`company.*`,
`deal.*` alike), with HubSpot's fields, delivered in order by one background thread to `webhook_url`, up to 100
events a request, signed with `X-HubSpot-Signature-v3` over method + URI + body + `X-HubSpot-Request-Timestamp`
with the app's client secret. A delivery answered other than 2xx, or not at all, is sent again after each of
`retry_delays` (with `attemptNumber` up), then recorded as failed. No `webhook_url`: events are kept, not sent.
Thread-safe (werkzeug serves each request on a thread of its own); `close()` stops the delivery thread.
"""

from __future__ import annotations

import functools
import hmac
import json
import math
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from werkzeug.wrappers import Request, Response

from local_runtime.crm_webhooks import Attempt, CallLog, Delivery, Faults, WebhookDeliveries, wsgi_application
from local_runtime.gateway import LocalRoute
from shared.crm.mappings import CrmMappings
from shared.webhooks.vendors.hubspot import SIGNATURE_HEADER, TIMESTAMP_HEADER
from shared.webhooks.vendors.hubspot import sign as sign_v3

BASE_PATH = "/_local/crm/hubspot"
DEFAULT_CLIENT_SECRET = "local-hubspot-client-secret-dev-only"  # noqa: S105 - the stand-in's own, for local use only
PORTAL_ID = 62515
APP_ID = 1_160_452
DEFAULT_USER_ID = 7_100_001  # the "user" an edit is made by when none is named

MAX_BATCH = 100
MAX_ASSOCIATION_BATCH = 2000
MAX_SEARCH_LIMIT = 200
MAX_SEARCH_RESULTS = 10_000
MAX_FILTER_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18
MAX_BODY = 1024 * 1024
MAX_FAULT_CALLS = 1000
MAX_RETRY_AFTER = 3600
MAX_EVENTS_PER_DELIVERY = 100
CALLS_KEPT = 100_000
EVENTS_KEPT = 10_000
DELIVERIES_KEPT = 5000
DELIVERY_TIMEOUT_SECONDS = 5.0
RETRY_DELAYS = (0.1, 0.5, 1.0)
FAULT_KINDS = ("ratelimited", "server_error")

OBJECT_TYPES = ("contacts", "companies", "deals")
_TYPE_ALIASES = {
    **{name: name for name in OBJECT_TYPES},
    "contact": "contacts",
    "company": "companies",
    "deal": "deals",
    "0-1": "contacts",
    "0-2": "companies",
    "0-3": "deals",
}
_SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal"}

DEFAULT_KNOWN_PROPERTIES: Mapping[str, frozenset[str]] = {
    "contacts": frozenset(
        {
            "email",
            "firstname",
            "lastname",
            "company",
            "jobtitle",
            "phone",
            "country",
            "lifecyclestage",
            "hs_lead_status",
            "hubspot_owner_id",
            "associatedcompanyid",
            "num_conversion_events",
            "createdate",
            "lastmodifieddate",
            "hs_object_id",
            # made by the portal's admin for the hub
            "revops_score",
            "revops_score_factors",
            "revops_lifecycle_stage",
            "revops_mql_date",
            "revops_handoff_status",
            "revops_sync_version",
        }
    ),
    "companies": frozenset(
        {
            "name",
            "domain",
            "industry",
            "numberofemployees",
            "annualrevenue",
            "country",
            "hubspot_owner_id",
            "lifecyclestage",
            "createdate",
            "hs_lastmodifieddate",
            "hs_object_id",
            "revops_health_score",
            "revops_health_band",
            "revops_sync_version",
        }
    ),
    "deals": frozenset(
        {
            "dealname",
            "amount",
            "dealstage",
            "pipeline",
            "closedate",
            "hubspot_owner_id",
            "createdate",
            "hs_lastmodifieddate",
            "hs_object_id",
            "revops_attribution_summary",
            "revops_sync_version",
        }
    ),
}
MODIFIED_PROPERTY = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate", "deals": "hs_lastmodifieddate"}
# What HubSpot keeps itself: an input setting one of these is refused.
READ_ONLY_PROPERTIES = frozenset({"hs_object_id", "lastmodifieddate", "hs_lastmodifieddate"})
# What a read returns when it names no properties (plus createdate, the last-modified date and hs_object_id).
DEFAULT_RETURNED = {
    "contacts": ("email", "firstname", "lastname"),
    "companies": ("domain", "name"),
    "deals": ("amount", "closedate", "dealname", "dealstage", "pipeline"),
}
# What a search's free-text `query` looks in.
_SEARCHABLE = {
    "contacts": ("firstname", "lastname", "email", "phone", "company"),
    "companies": ("name", "domain", "phone"),
    "deals": ("dealname", "pipeline", "dealstage"),
}
# Typed properties, checked where the portal knows them (the others are text).
DATE_PROPERTIES = frozenset({"createdate", "lastmodifieddate", "hs_lastmodifieddate", "closedate", "revops_mql_date"})
NUMBER_PROPERTIES = frozenset(
    {
        "num_conversion_events",
        "numberofemployees",
        "annualrevenue",
        "amount",
        "associatedcompanyid",
        "revops_score",
        "revops_health_score",
        "revops_sync_version",
    }
)
_NUMERIC = NUMBER_PROPERTIES | {"hs_object_id"}
ENUMERATIONS: Mapping[str, frozenset[str]] = {
    "lifecyclestage": frozenset(
        {
            "subscriber",
            "lead",
            "marketingqualifiedlead",
            "salesqualifiedlead",
            "opportunity",
            "customer",
            "evangelist",
            "other",
        }
    ),
    "hs_lead_status": frozenset(
        {"NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT", "CONNECTED", "BAD_TIMING"}
    ),
    "pipeline": frozenset({"default"}),
    "dealstage": frozenset(
        {
            "appointmentscheduled",
            "qualifiedtobuy",
            "presentationscheduled",
            "decisionmakerboughtin",
            "contractsent",
            "closedwon",
            "closedlost",
        }
    ),
}
# HubSpot's default (unlabeled) association types between the standard objects.
DEFAULT_ASSOCIATION_TYPES = {
    ("contacts", "companies"): 279,
    ("companies", "contacts"): 280,
    ("deals", "contacts"): 3,
    ("contacts", "deals"): 4,
    ("deals", "companies"): 341,
    ("companies", "deals"): 342,
}
SUBSCRIPTION_IDS = {
    f"{_SINGULAR[object_type]}.{action}": 1000 + 10 * position + offset
    for position, object_type in enumerate(OBJECT_TYPES)
    for offset, action in enumerate(("creation", "propertyChange"))
}
SEARCH_OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    }
)
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")

Clock = Callable[[], datetime]


def subscriptions_of(mappings: CrmMappings) -> dict[str, frozenset[str]]:
    """The properties the hub's HubSpot app subscribes to (`propertyChange`), as README tells a portal's admin:
    every property but those the hub writes and never reads back. Subscribed to those too, every write of the
    hub's score would come back as a webhook per property, each taken through the gateway, the lead processor
    and the sync for nothing."""
    written_only = mappings.written_only("hubspot")
    return {
        object_type: frozenset(known - written_only.get(object_type, frozenset()))
        for object_type, known in DEFAULT_KNOWN_PROPERTIES.items()
    }


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Record:
    id: str
    properties: dict[str, str]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class _Problem:
    """Why one input is refused, as HubSpot words it (a StandardError in a 207, or the body of a 4xx)."""

    status: int
    category: str
    message: str
    errors: tuple[dict[str, Any], ...] = ()
    context: Mapping[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Source:
    """Who made a change, as HubSpot's webhook events say it."""

    change_source: str
    source_id: str


class _Refused(Exception):
    """A request refused as a whole: `response` is the answer."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class LocalHubSpot:
    def __init__(
        self,
        webhook_url: str | None = None,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        access_token: str | None = None,
        clock: Clock = _utc_now,
        portal_id: int = PORTAL_ID,
        app_id: int = APP_ID,
        known_properties: Mapping[str, Iterable[str]] | None = None,
        subscribed_properties: Mapping[str, Iterable[str]] | None = None,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        multi_status: bool = True,
    ) -> None:
        """`webhook_url`: where events are delivered (none: kept only; `set_webhook_url` once known);
        `client_secret`: the app's, signing deliveries; `access_token`: the only private-app token accepted (any
        bearer token when None); `clock`: HubSpot's time (records' dates, events' occurredAt, the signature's
        timestamp); `known_properties`: each object's properties in the portal (HubSpot's defaults and the hub's
        custom ones when None); `subscribed_properties`: each object's properties whose changes fire a
        `propertyChange` event (a HubSpot app subscribes property by property; every property when None);
        `retry_delays`: seconds before each new attempt of a failed delivery;
        `multi_status` False: a batch with an input refused for its values is refused whole even when its inputs
        carry `objectWriteTraceId` (as HubSpot's endpoints without the multi-status opt-in answer)."""
        self._client_secret = client_secret
        self._access_token = access_token
        self._clock = clock
        self.portal_id = portal_id
        self.app_id = app_id
        known = DEFAULT_KNOWN_PROPERTIES if known_properties is None else known_properties
        self._known = {object_type: frozenset(known.get(object_type, ())) for object_type in OBJECT_TYPES}
        subscribed = self._known if subscribed_properties is None else subscribed_properties
        self._subscribed = {object_type: frozenset(subscribed.get(object_type, ())) for object_type in OBJECT_TYPES}
        self._multi_status = multi_status
        # reentrant: the webhook deliveries share it, so the events one call fires are delivered together
        self._lock = threading.RLock()
        self._records: dict[str, dict[str, _Record]] = {object_type: {} for object_type in OBJECT_TYPES}
        self._emails: dict[str, str] = {}  # a contact's email (lower-case) -> its id
        self._associations: set[tuple[str, str, str, str, int]] = set()  # (from type, id, to type, id, type id)
        self._next_id = 1_000_001
        self._last_ms = 0
        self._calls = CallLog(CALLS_KEPT)
        self._faults = Faults(FAULT_KINDS, retry_after=10)
        self._next_event_id = 1
        self._events: deque[dict[str, Any]] = deque(maxlen=EVENTS_KEPT)
        self._session = requests.Session()  # the delivery thread's
        self._webhooks: WebhookDeliveries[dict[str, Any], list[dict[str, Any]]] = WebhookDeliveries(
            url=webhook_url,
            prepare=list,
            send=self._post,
            retry_delays=retry_delays,
            max_batch=MAX_EVENTS_PER_DELIVERY,
            kept=DELIVERIES_KEPT,
            thread_name="local-hubspot-webhooks",
            join_timeout=DELIVERY_TIMEOUT_SECONDS + 1,
            clock=clock,
            drop_on_close=True,
            changed=threading.Condition(self._lock),
        )

    # Serving ------------------------------------------------------------------------------------------------------

    def routes(self) -> list[LocalRoute]:
        objects = f"{BASE_PATH}/crm/v3/objects/<object_type>"
        v4 = f"{BASE_PATH}/crm/v4"
        api: list[LocalRoute] = [
            ("POST", objects, self._create_one),
            ("GET", objects, self._list_page),
            ("GET", f"{objects}/<object_id>", self._get_one),
            ("PATCH", f"{objects}/<object_id>", self._update_one),
            ("POST", f"{objects}/batch/create", self._batch_create),
            ("POST", f"{objects}/batch/update", self._batch_update),
            ("POST", f"{objects}/batch/upsert", self._batch_upsert),
            ("POST", f"{objects}/batch/read", self._batch_read),
            ("POST", f"{objects}/search", self._search),
            ("POST", f"{BASE_PATH}/crm/v3/objects/contacts/gdpr-delete", self._gdpr_delete),
            ("PUT", f"{v4}/objects/<from_type>/<from_id>/associations/default/<to_type>/<to_id>", self._associate_one),
            ("POST", f"{v4}/associations/<from_type>/<to_type>/batch/associate/default", self._associate_batch),
            ("GET", f"{v4}/objects/<from_type>/<from_id>/associations/<to_type>", self._list_associations),
            *[(method, f"{BASE_PATH}/<path:rest>", self._no_route) for method in ("GET", "POST", "PUT", "PATCH")],
        ]
        own: list[LocalRoute] = [
            ("GET", f"{BASE_PATH}/_records/<object_type>", self._list_records),
            ("GET", f"{BASE_PATH}/_calls", self._list_calls),
            ("DELETE", f"{BASE_PATH}/_calls", self._forget_calls),
            ("GET", f"{BASE_PATH}/_webhooks", self._list_webhooks),
            ("POST", f"{BASE_PATH}/_faults", self._set_faults),
            ("POST", f"{BASE_PATH}/_edits", self._post_edit),
        ]
        return [(method, path, self._api(view)) for method, path, view in api] + own

    def wsgi(self) -> Callable[..., Any]:
        """The routes as a WSGI application of their own (the hub serves them through its gateway)."""
        return wsgi_application(self.routes(), _json)

    def set_webhook_url(self, url: str | None) -> None:
        """Where the next events go (None: nowhere, they are only kept)."""
        self._webhooks.set_url(url)

    def close(self) -> None:
        """Stops the delivery thread (what waits is not delivered)."""
        self._webhooks.close()

    # In-process: records, calls, faults, edits, webhooks ----------------------------------------------------------

    def records(self, object_type: str) -> list[dict[str, Any]]:
        """Every record of `object_type` (contacts, companies, deals) with every property, oldest first."""
        object_type = _object_type(object_type)
        with self._lock:
            return [_shape(record, None) for record in self._records[object_type].values()]

    def record(self, object_type: str, record_id: str) -> dict[str, Any] | None:
        object_type = _object_type(object_type)
        with self._lock:
            record = self._records[object_type].get(str(record_id))
            return _shape(record, None) if record is not None else None

    def associations(self, from_type: str, from_id: str) -> list[tuple[str, str, int]]:
        """(to type, to id, association type id) of every association from the record."""
        from_type = _object_type(from_type)
        with self._lock:
            return sorted((t, i, k) for f, fi, t, i, k in self._associations if (f, fi) == (from_type, str(from_id)))

    def calls(self) -> list[dict[str, Any]]:
        """Every API call since the last reset: {"method", "path", "status", "at"}, oldest first."""
        return self._calls.calls()

    @property
    def call_count(self) -> int:
        return self._calls.count

    def reset_calls(self) -> None:
        self._calls.forget()

    def fail_next(self, calls: int = 1, kind: str = "ratelimited", retry_after: int = 10, after: int = 0) -> None:
        """The next `calls` API calls fail, once `after` more have passed: `ratelimited` (429 with `Retry-After:
        retry_after`) or `server_error` (502)."""
        self._faults.fail_next(calls, kind, retry_after, after)

    def set_outage(self, outage: bool) -> None:
        """While on, every API call answers 503."""
        self._faults.set_outage(outage)

    def edit(
        self,
        object_type: str,
        record_id: str | None,
        properties: Mapping[str, Any],
        email: str | None = None,
        occurred_at: datetime | None = None,
        user_id: int | None = None,
    ) -> dict[str, Any]:
        """A user changes the record (found by id, or a contact by `email`) in HubSpot's UI at `occurred_at`
        (now when None): the record as it is after, and the webhooks fired. Raises KeyError when there is no such
        record, ValueError when HubSpot would refuse the values."""
        object_type = _object_type(object_type)
        values = _text_properties(properties)
        if isinstance(values, str):
            raise ValueError(values)
        when = _utc(occurred_at) if occurred_at is not None else None
        source = _Source("CRM_UI", f"userId:{user_id if user_id is not None else DEFAULT_USER_ID}")
        with self._lock:
            record = self._find(object_type, record_id, email)
            if record is None:
                raise KeyError(f"no {_SINGULAR[object_type]} {record_id or email}")
            problem = self._values_problem(object_type, values, record)
            if problem is not None:
                raise ValueError(problem.message)
            moment = when or self._tick()
            self._apply(object_type, record, values, moment, source)
            return _shape(record, None)

    def events(self) -> list[dict[str, Any]]:
        """Every webhook event fired (the latest kept), delivered or not, oldest first."""
        with self._lock:
            return [dict(event) for event in self._events]

    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook delivery: {"delivery", "url", "status" (pending, delivered, failed), "attempts",
        "response_status", "error", "event_ids", "at"}, oldest first."""
        return self._webhooks.views(_delivery_view)

    def wait_until_delivered(self, timeout: float = 10) -> bool:
        """Waits until every event fired so far was delivered (or given up on): False when `timeout` seconds
        passed first."""
        return self._webhooks.wait_until_delivered(timeout)

    # HubSpot's API: objects -----------------------------------------------------------------------------------------

    def _create_one(self, request: Request, object_type: str) -> Response:
        object_type = self._type_or_refuse(object_type)
        body = _object_body(request)
        values = _input_properties(body.get("properties"), "properties")
        with self._lock:
            problem = self._values_problem(object_type, values, None)
            if problem is not None:
                return _problem_response(problem)
            association_problem, associations = self._inline_associations(object_type, body.get("associations"))
            if association_problem is not None:
                return _problem_response(association_problem)
            record = self._create_associated(object_type, values, associations, self._tick(), self._api_source())
            return _json(_shape(record, _written(object_type, values)), 201)

    def _list_page(self, request: Request, object_type: str) -> Response:
        object_type = self._type_or_refuse(object_type)
        limit = _query_int(request, "limit", 10, 1, 100)
        after = _query_int(request, "after", 0, 0, None)
        wanted = _query_properties(request)
        with self._lock:
            records = sorted(self._records[object_type].values(), key=lambda r: int(r.id))
            page = [record for record in records if int(record.id) > after][:limit]
            answer: dict[str, Any] = {"results": [_shape(r, self._returned(object_type, wanted)) for r in page]}
            if page and int(page[-1].id) < int(records[-1].id):
                answer["paging"] = {"next": {"after": page[-1].id, "link": f"?after={page[-1].id}"}}
            return _json(answer)

    def _get_one(self, request: Request, object_type: str, object_id: str) -> Response:
        object_type = self._type_or_refuse(object_type)
        id_property = self._id_property(object_type, request.args.get("idProperty"))
        wanted = _query_properties(request)
        with self._lock:
            record = self._lookup(object_type, object_id, id_property)
            if record is None:
                return _not_found(object_id)
            return _json(_shape(record, self._returned(object_type, wanted)))

    def _update_one(self, request: Request, object_type: str, object_id: str) -> Response:
        object_type = self._type_or_refuse(object_type)
        id_property = self._id_property(object_type, request.args.get("idProperty"))
        values = _input_properties(_object_body(request).get("properties"), "properties")
        with self._lock:
            record = self._lookup(object_type, object_id, id_property)
            if record is None:
                return _not_found(object_id)
            problem = self._values_problem(object_type, values, record)
            if problem is not None:
                return _problem_response(problem)
            self._apply(object_type, record, values, self._tick(), self._api_source())
            return _json(_shape(record, _written(object_type, values)))

    def _gdpr_delete(self, request: Request) -> Response:
        body = _object_body(request)
        object_id = body.get("objectId")
        if isinstance(object_id, int) and not isinstance(object_id, bool):
            object_id = str(object_id)
        if not isinstance(object_id, str) or not object_id.strip():
            return _validation("objectId is required")
        id_property = self._id_property("contacts", body.get("idProperty"))
        with self._lock:
            record = self._lookup("contacts", object_id, id_property)
            if record is None:
                return Response(status=204) if id_property == "email" else _not_found(object_id)
            del self._records["contacts"][record.id]
            self._emails = {email: owner for email, owner in self._emails.items() if owner != record.id}
            self._associations = {
                a
                for a in self._associations
                if (a[0], a[1]) != ("contacts", record.id) and (a[2], a[3]) != ("contacts", record.id)
            }
        return Response(status=204)

    def _batch_create(self, request: Request, object_type: str) -> Response:
        object_type = self._type_or_refuse(object_type)
        inputs = _batch_inputs(_object_body(request))
        with self._lock:
            now, source = self._tick(), self._api_source()
            planned: list[tuple[dict[str, str], str | None, list[tuple[str, str, int]]]] = []
            problems: list[tuple[str | None, str | None, _Problem]] = []
            claimed: set[str] = set()
            for position, item in enumerate(inputs):
                values, trace = _input_values(item, position)
                association_problem, associations = self._inline_associations(
                    object_type, item.get("associations"), f"inputs[{position}]."
                )
                problem = self._values_problem(object_type, values, None, claimed) or association_problem
                if _admitted(problem, values, trace, None, problems, claimed):
                    planned.append((values, trace, associations))
            self._refuse_unless_traced(problems)
            results = []
            for values, trace, associations in planned:
                record = self._create_associated(object_type, values, associations, now, source)
                results.append(_traced(_shape(record, _written(object_type, values)), trace))
        return _batch_response(results, _standard_errors(problems), now, 201)

    def _batch_update(self, request: Request, object_type: str) -> Response:
        object_type = self._type_or_refuse(object_type)
        inputs = _batch_inputs(_object_body(request))
        keys = [_input_id(item, position) for position, item in enumerate(inputs)]
        _refuse_duplicates(keys)
        with self._lock:
            now, source = self._tick(), self._api_source()
            planned: list[tuple[_Record, dict[str, str], str | None]] = []
            problems: list[tuple[str | None, str | None, _Problem]] = []
            missing: list[tuple[str, str | None]] = []
            claimed: set[str] = set()
            for position, (item, key) in enumerate(zip(inputs, keys, strict=True)):
                id_property = self._id_property(object_type, item.get("idProperty"), f"inputs[{position}].")
                values, trace = _input_values(item, position)
                record = self._lookup(object_type, key, id_property)
                if record is None:
                    missing.append((key, trace))
                    continue
                problem = self._values_problem(object_type, values, record, claimed)
                if _admitted(problem, values, trace, key, problems, claimed):
                    planned.append((record, values, trace))
            self._refuse_unless_traced(problems)
            results = []
            for record, values, trace in planned:
                self._apply(object_type, record, values, now, source)
                results.append(_traced(_shape(record, _written(object_type, values)), trace))
        errors = _standard_errors(problems)
        if missing:
            errors.append(_missing_error(object_type, missing))
        return _batch_response(results, errors, now, 200)

    def _batch_upsert(self, request: Request, object_type: str) -> Response:
        object_type = self._type_or_refuse(object_type)
        inputs = _batch_inputs(_object_body(request))
        keys = [_input_id(item, position) for position, item in enumerate(inputs)]
        for position, item in enumerate(inputs):
            id_property = item.get("idProperty")
            if not isinstance(id_property, str) or not id_property:
                raise _Refused(_validation(f"inputs[{position}].idProperty is required to upsert"))
            self._id_property(object_type, id_property, f"inputs[{position}].")
            if id_property != "email":
                raise _Refused(_validation(f"{id_property} is not a property with unique values of {object_type}"))
        _refuse_duplicates([key.lower() for key in keys])
        with self._lock:
            now, source = self._tick(), self._api_source()
            planned: list[tuple[_Record | None, dict[str, str], str | None]] = []
            problems: list[tuple[str | None, str | None, _Problem]] = []
            claimed: set[str] = set()
            for position, (item, key) in enumerate(zip(inputs, keys, strict=True)):
                values, trace = _input_values(item, position)
                record = self._lookup(object_type, key, "email")
                if record is None:
                    values = {"email": key, **values}
                problem = self._values_problem(object_type, values, record, claimed, {"email": key, **values})
                if _admitted(problem, values, trace, key, problems, claimed):
                    planned.append((record, values, trace))
            self._refuse_unless_traced(problems)
            results = []
            for found, values, trace in planned:
                record = found or self._create(object_type, values, now, source)
                if found is not None:
                    self._apply(object_type, found, values, now, source)
                shaped = _shape(record, _written(object_type, values))
                results.append(_traced({**shaped, "new": found is None}, trace))
        return _batch_response(results, _standard_errors(problems), now, 200)

    def _batch_read(self, request: Request, object_type: str) -> Response:
        object_type = self._type_or_refuse(object_type)
        body = _object_body(request)
        inputs = _batch_inputs(body)
        keys = [_input_id(item, position) for position, item in enumerate(inputs)]
        wanted = _names(body.get("properties"), "properties")
        id_property = self._id_property(object_type, body.get("idProperty"))
        with self._lock:
            now = self._clock()
            results, missing, seen = [], [], set()
            for key in keys:
                record = self._lookup(object_type, key, id_property)
                if record is None:
                    missing.append((key, None))
                elif record.id not in seen:
                    seen.add(record.id)
                    results.append(_shape(record, self._returned(object_type, wanted)))
        return _batch_response(results, [_missing_error(object_type, missing)] if missing else [], now, 200)

    def _search(self, request: Request, object_type: str) -> Response:
        object_type = self._type_or_refuse(object_type)
        body = _object_body(request)
        limit = _body_int(body, "limit", 10, 0, MAX_SEARCH_LIMIT)
        after = _body_int(body, "after", 0, 0, MAX_SEARCH_RESULTS - 1)
        wanted = _names(body.get("properties"), "properties")
        groups = self._filter_groups(object_type, body.get("filterGroups"))
        sorts = self._sorts(object_type, body.get("sorts"))
        query = body.get("query")
        if query is not None and not isinstance(query, str):
            raise _Refused(_validation("query must be a string"))
        with self._lock:
            matched = [
                record
                for record in self._records[object_type].values()
                if (not groups or any(all(_matches(record, f) for f in group) for group in groups))
                and (not query or _found(record, _SEARCHABLE[object_type], query))
            ]
            matched.sort(key=lambda r: int(r.id))
            for name, descending in reversed(sorts):
                present = [r for r in matched if r.properties.get(name) not in (None, "")]
                absent = [r for r in matched if r.properties.get(name) in (None, "")]
                present.sort(key=functools.partial(_record_sort_key, name), reverse=descending)
                matched = present + absent
            page = matched[after : after + limit]
            answer: dict[str, Any] = {
                "total": len(matched),
                "results": [_shape(r, self._returned(object_type, wanted)) for r in page],
            }
        if after + limit < len(matched) and limit:
            answer["paging"] = {"next": {"after": str(after + limit), "link": f"?after={after + limit}"}}
        return _json(answer)

    # HubSpot's API: associations (v4) -------------------------------------------------------------------------------

    def _associate_one(self, _: Request, from_type: str, from_id: str, to_type: str, to_id: str) -> Response:
        from_type, to_type = self._type_or_refuse(from_type), self._type_or_refuse(to_type)
        with self._lock:
            now = self._clock()
            results, errors = self._associate_default(from_type, to_type, [(from_id, to_id)])
        if errors:
            return _problem_response(_Problem(400, "VALIDATION_ERROR", errors[0]["message"], (), errors[0]["context"]))
        return _json(_association_batch(results, [], now))

    def _associate_batch(self, request: Request, from_type: str, to_type: str) -> Response:
        from_type, to_type = self._type_or_refuse(from_type), self._type_or_refuse(to_type)
        inputs = _batch_inputs(_object_body(request), MAX_ASSOCIATION_BATCH)
        pairs = []
        for position, item in enumerate(inputs):
            start, end = item.get("from"), item.get("to")
            if not (isinstance(start, dict) and isinstance(start.get("id"), str | int)) or not (
                isinstance(end, dict) and isinstance(end.get("id"), str | int)
            ):
                raise _Refused(_validation(f"inputs[{position}] must be {{'from': {{'id'}}, 'to': {{'id'}}}}"))
            pairs.append((str(start["id"]), str(end["id"])))
        with self._lock:
            now = self._clock()
            results, errors = self._associate_default(from_type, to_type, pairs)
        # The SDK's model of this answer (HubSpot's spec) is a 200 that may carry errors.
        return _json(_association_batch(results, errors, now))

    def _list_associations(self, _: Request, from_type: str, from_id: str, to_type: str) -> Response:
        from_type, to_type = self._type_or_refuse(from_type), self._type_or_refuse(to_type)
        with self._lock:
            if from_id not in self._records[from_type]:
                return _not_found(from_id)
            found: dict[str, list[int]] = {}
            for f, fi, t, ti, k in sorted(self._associations):
                if (f, fi, t) == (from_type, from_id, to_type):
                    found.setdefault(ti, []).append(k)
        results = [
            {
                "toObjectId": int(to_id),
                "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": k, "label": None} for k in kinds],
            }
            for to_id, kinds in found.items()
        ]
        return _json({"results": results})

    def _no_route(self, request: Request, rest: str) -> Response:
        return _error(404, f"No route for {request.method} /{rest[:200]}", "OBJECT_NOT_FOUND")

    # The stand-in's own endpoints ----------------------------------------------------------------------------------

    def _list_records(self, _: Request, object_type: str) -> Response:
        if object_type not in _TYPE_ALIASES:
            return _json({"message": f"object type must be one of {', '.join(OBJECT_TYPES)}"}, 404)
        return _json({"records": self.records(object_type)})

    def _list_calls(self, _: Request) -> Response:
        calls, count = self._calls.snapshot()
        return _json({"calls": calls, "count": count})

    def _forget_calls(self, _: Request) -> Response:
        forgotten = self._calls.forget().counted
        return _json({"forgotten": forgotten})

    def _list_webhooks(self, _: Request) -> Response:
        with self._lock:
            events = list(self._events)
            webhooks = self._webhooks.state()
        return _json(
            {
                "url": webhooks.url,
                "pending": webhooks.waiting,
                "deliveries": [_delivery_view(delivery) for delivery in webhooks.deliveries],
                "events": events,
            }
        )

    def _set_faults(self, request: Request) -> Response:
        body = _own_body(request)
        if isinstance(body, Response):
            return body
        outage = body.get("outage")
        if outage is not None and not isinstance(outage, bool):
            return _json({"message": f"outage must be true or false, not {_shown(outage)}"}, 400)
        faults = "calls" in body or "kind" in body or outage is None
        calls, kind = body.get("calls", 1), body.get("kind", "ratelimited")
        retry_after, after = body.get("retry_after", 10), body.get("after", 0)
        if not _is_count(calls, MAX_FAULT_CALLS):
            return _json({"message": f"calls must be an integer from 0 to {MAX_FAULT_CALLS}, not {_shown(calls)}"}, 400)
        if not _is_count(after, MAX_FAULT_CALLS):
            return _json({"message": f"after must be an integer from 0 to {MAX_FAULT_CALLS}, not {_shown(after)}"}, 400)
        if kind not in FAULT_KINDS:
            return _json({"message": f"kind must be one of {', '.join(FAULT_KINDS)}, not {_shown(kind)}"}, 400)
        if not _is_count(retry_after, MAX_RETRY_AFTER):
            message = f"retry_after must be an integer from 0 to {MAX_RETRY_AFTER} (seconds), not {_shown(retry_after)}"
            return _json({"message": message}, 400)
        answer: dict[str, Any] = {}
        if outage is not None:
            self.set_outage(outage)
            answer["outage"] = outage
        if faults:
            self.fail_next(calls, kind, retry_after, after)
            answer |= {"calls": calls, "kind": kind, "retry_after": retry_after, "after": after}
        return _json(answer)

    def _post_edit(self, request: Request) -> Response:
        body = _own_body(request)
        if isinstance(body, Response):
            return body
        object_type = body.get("object", "contacts")
        if object_type not in _TYPE_ALIASES:
            return _json(
                {"message": f"object must be one of {', '.join(OBJECT_TYPES)}, not {_shown(object_type)}"}, 400
            )
        record_id, email = body.get("id"), body.get("email")
        if record_id is not None and (not isinstance(record_id, str | int) or isinstance(record_id, bool)):
            return _json({"message": f"id must be a record id, not {_shown(record_id)}"}, 400)
        if email is not None and not isinstance(email, str):
            return _json({"message": f"email must be a string, not {_shown(email)}"}, 400)
        if record_id is None and email is None:
            return _json({"message": "name the record: an id, or a contact's email"}, 400)
        properties = body.get("properties")
        if not isinstance(properties, dict) or not properties:
            return _json({"message": 'properties must be an object like {"firstname": "Ana"}'}, 400)
        occurred_at = body.get("occurred_at")
        when = _parse_time(occurred_at) if isinstance(occurred_at, str) else None
        if occurred_at is not None and when is None:
            return _json({"message": f"occurred_at must be an ISO 8601 time, not {_shown(occurred_at)}"}, 400)
        user_id = body.get("user_id")
        if user_id is not None and not _is_count(user_id, 10**12):
            return _json({"message": f"user_id must be a HubSpot user id, not {_shown(user_id)}"}, 400)
        try:
            record = self.edit(
                object_type,
                None if record_id is None else str(record_id),
                properties,
                email=email,
                occurred_at=when,
                user_id=user_id,
            )
        except KeyError:
            return _json({"message": f"no {object_type} record {record_id if record_id is not None else email}"}, 404)
        except ValueError as exc:
            return _json({"message": str(exc)}, 400)
        return _json(record)

    # Calls: faults, authentication, the log ------------------------------------------------------------------------

    def _api(self, view: Callable[..., Response]) -> Callable[..., Response]:
        def answer(request: Request, **arguments: str) -> Response:
            response = self._gate(request)
            if response is None:
                try:
                    response = view(request, **arguments)
                except _Refused as refused:
                    response = refused.response
            self._calls.add(
                {
                    "method": request.method,
                    "path": request.path[len(BASE_PATH) :] or "/",
                    "status": response.status_code,
                    "at": _iso(self._clock()),
                }
            )
            return response

        return answer

    def _gate(self, request: Request) -> Response | None:
        """HubSpot's answer before the call is looked at: an outage, an injected fault, a bad token."""
        outage = self._faults.outage
        fault = None if outage else self._faults.take()
        if outage:
            return _error(503, "Service Unavailable", "SERVICE_UNAVAILABLE")
        if fault is not None and fault[0] == "ratelimited":
            response = _json(
                {
                    "status": "error",
                    "message": "You have reached your ten_secondly_rolling limit.",
                    "errorType": "RATE_LIMIT",
                    "correlationId": str(uuid.uuid4()),
                    "policyName": "TEN_SECONDLY_ROLLING",
                    "groupName": f"publicapi:private-app:{self.app_id}",
                },
                429,
            )
            response.headers["Retry-After"] = str(fault[1])
            response.headers["X-HubSpot-RateLimit-Max"] = "190"
            response.headers["X-HubSpot-RateLimit-Remaining"] = "0"
            response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = "10000"
            return response
        if fault is not None:
            return _error(502, "Bad Gateway", "INTERNAL_ERROR")
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return _error(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find "
                "more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                "INVALID_AUTHENTICATION",
            )
        if self._access_token is not None and not hmac.compare_digest(token, self._access_token):
            return _error(
                401,
                "The OAuth token used to make this call expired or is not valid for this portal.",
                "INVALID_AUTHENTICATION",
            )
        return None

    # The records (called under the lock) ---------------------------------------------------------------------------

    def _tick(self) -> datetime:
        """Now, in whole milliseconds, later than any write before: two writes never share a modified date."""
        ms = max(int(self._clock().timestamp() * 1000), self._last_ms + 1)
        self._last_ms = ms
        return datetime.fromtimestamp(ms / 1000, UTC)

    def _api_source(self) -> _Source:
        return _Source("INTEGRATION", str(self.app_id))

    def _type_or_refuse(self, object_type: str) -> str:
        if object_type not in _TYPE_ALIASES:
            raise _Refused(_validation(f"Unable to infer object type from: {object_type[:100]}"))
        return _TYPE_ALIASES[object_type]

    def _id_property(self, object_type: str, id_property: object, where: str = "") -> str | None:
        if id_property in (None, "", "hs_object_id"):
            return None
        if not isinstance(id_property, str) or id_property not in self._known[object_type]:
            raise _Refused(_validation(f"{where}idProperty {_shown(id_property)} is not a property of {object_type}"))
        if (object_type, id_property) != ("contacts", "email"):
            raise _Refused(_validation(f"{id_property} is not a property with unique values of {object_type}"))
        return id_property

    def _lookup(self, object_type: str, key: str, id_property: str | None) -> _Record | None:
        if id_property == "email":
            found = self._emails.get(key.strip().lower())
            return self._records[object_type].get(found) if found else None
        return self._records[object_type].get(key)

    def _find(self, object_type: str, record_id: str | None, email: str | None) -> _Record | None:
        if record_id is not None:
            return self._records[object_type].get(record_id)
        return self._lookup(object_type, email or "", "email") if object_type == "contacts" else None

    def _returned(self, object_type: str, wanted: list[str] | None) -> list[str]:
        always = ["createdate", MODIFIED_PROPERTY[object_type], "hs_object_id"]
        names = list(DEFAULT_RETURNED[object_type]) if wanted is None else wanted
        # HubSpot leaves out what the portal does not have, silently, when reading
        return [name for name in dict.fromkeys([*names, *always]) if name in self._known[object_type] or name in always]

    def _property_problem(self, object_type: str, values: Mapping[str, str], record: _Record | None) -> _Problem | None:
        invalid = []
        for name, value in values.items():
            error = None
            if name not in self._known[object_type]:
                error = ("PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
            elif name in READ_ONLY_PROPERTIES or (record is not None and name == "createdate"):
                error = ("READ_ONLY_VALUE", f'"{name}" is a read only property; its value cannot be set.')
            elif value == "":
                continue
            elif name == "email" and not _EMAIL.fullmatch(value):
                error = ("INVALID_EMAIL", f"Email address {value} is invalid")
            elif name in NUMBER_PROPERTIES and not _is_number(value):
                error = (
                    "INVALID_INTEGER" if name == "associatedcompanyid" else "INVALID_FLOAT",
                    f"{value} was not a valid number.",
                )
            elif name in DATE_PROPERTIES and _parse_time(value) is None:
                error = ("INVALID_DATE", f"{value} was not a valid long or ISO 8601 date.")
            elif name in ENUMERATIONS and value not in ENUMERATIONS[name]:
                options = ", ".join(sorted(ENUMERATIONS[name]))
                error = ("INVALID_OPTION", f"{value} was not one of the allowed options: [{options}]")
            if error is not None:
                code, message = error
                invalid.append(
                    {
                        "isValid": False,
                        "message": message,
                        "error": code,
                        "name": name,
                        "localizedErrorMessage": message,
                        "portalId": self.portal_id,
                    }
                )
        if not invalid:
            return None
        return _Problem(
            400,
            "VALIDATION_ERROR",
            "Property values were not valid: " + json.dumps(invalid, separators=(",", ":")),
            tuple(
                {"message": i["message"], "code": i["error"], "context": {"propertyName": [i["name"]]}} for i in invalid
            ),
        )

    def _values_problem(
        self,
        object_type: str,
        values: Mapping[str, str],
        record: _Record | None,
        claimed: set[str] | None = None,
        checked: Mapping[str, str] | None = None,
    ) -> _Problem | None:
        """Why HubSpot refuses the values for the record (None: a new one): a property's (of `checked`, the
        values when None), or the email taken in the portal or by an input before (`claimed`)."""
        return self._property_problem(object_type, values if checked is None else checked, record) or self._email_taken(
            object_type, values, record.id if record is not None else None, claimed
        )

    def _email_taken(
        self, object_type: str, values: Mapping[str, str], own_id: str | None, claimed: set[str] | None = None
    ) -> _Problem | None:
        email = values.get("email", "").strip().lower()
        if object_type != "contacts" or not email:
            return None
        holder = self._emails.get(email)
        if holder is not None and holder != own_id:
            return _Problem(409, "CONFLICT", f"Contact already exists. Existing ID: {holder}")
        if claimed is not None and email in claimed:
            return _Problem(409, "CONFLICT", f"Contact already exists. Duplicate email in batch input: {email}")
        return None

    def _inline_associations(
        self, object_type: str, raw: object, where: str = ""
    ) -> tuple[_Problem | None, list[tuple[str, str, int]]]:
        """The `associations` of a create: [{"to": {"id"}, "types": [{"associationCategory", "associationTypeId"}]}]."""
        if raw in (None, []):
            return None, []
        if not isinstance(raw, list):
            raise _Refused(_validation(f"{where}associations must be a list"))
        found: list[tuple[str, str, int]] = []
        by_type_id = {v: k for k, v in DEFAULT_ASSOCIATION_TYPES.items()}
        for position, item in enumerate(raw):
            to = item.get("to") if isinstance(item, dict) else None
            types = item.get("types") if isinstance(item, dict) else None
            if not isinstance(to, dict) or not isinstance(to.get("id"), str | int) or not isinstance(types, list):
                raise _Refused(_validation(f"{where}associations[{position}] must have to.id and types"))
            for kind in types:
                type_id = kind.get("associationTypeId") if isinstance(kind, dict) else None
                pair = by_type_id.get(type_id) if isinstance(type_id, int) else None
                if pair is None or pair[0] != object_type or not isinstance(type_id, int):
                    return _Problem(
                        400, "VALIDATION_ERROR", f"{_shown(type_id)} is not a valid association type from {object_type}"
                    ), []
                if str(to["id"]) not in self._records[pair[1]]:
                    message = f"No {_SINGULAR[pair[1]]} with ID {to['id']} exists"
                    return _Problem(400, "VALIDATION_ERROR", message, (), {"toObjectId": [str(to["id"])]}), []
                found.append((pair[1], str(to["id"]), type_id))
        return None, found

    def _refuse_unless_traced(self, problems: list[tuple[str | None, str | None, _Problem]]) -> None:
        """HubSpot answers a batch's refused inputs one by one (207) only when every one of them carries an
        `objectWriteTraceId`; otherwise the whole batch is refused, nothing of it applied."""
        for trace, _, problem in problems:
            if trace is None or not self._multi_status:
                raise _Refused(_problem_response(problem))

    def _create(self, object_type: str, values: Mapping[str, str], when: datetime, source: _Source) -> _Record:
        record_id = str(self._next_id)
        self._next_id += 1
        record = _Record(record_id, {"createdate": _iso(when), "hs_object_id": record_id}, when, when)
        record.properties[MODIFIED_PROPERTY[object_type]] = _iso(when)
        self._records[object_type][record_id] = record
        self._emit([self._event(object_type, record_id, "creation", when, source)])
        self._apply(object_type, record, values, when, source)
        return record

    def _create_associated(
        self,
        object_type: str,
        values: Mapping[str, str],
        associations: Sequence[tuple[str, str, int]],
        when: datetime,
        source: _Source,
    ) -> _Record:
        record = self._create(object_type, values, when, source)
        for to_type, to_id, type_id in associations:
            self._associate(object_type, record.id, to_type, to_id, type_id)
        return record

    def _apply(
        self, object_type: str, record: _Record, values: Mapping[str, str], when: datetime, source: _Source
    ) -> list[str]:
        """Sets the values that differ; a change moves the modified date to `when` and fires one propertyChange
        event per property changed that the app subscribed to. Returns the names changed."""
        changed = []
        for name, raw in values.items():
            value = raw.strip().lower() if name == "email" else raw
            old = record.properties.get(name)
            if value == (old or ""):
                continue
            if name == "email" and object_type == "contacts":
                if old:
                    self._emails.pop(old, None)
                if value:
                    self._emails[value] = record.id
            if value:
                record.properties[name] = value
            else:
                del record.properties[name]
            changed.append(name)
        if changed:
            record.properties[MODIFIED_PROPERTY[object_type]] = _iso(when)
            record.updated_at = when
            self._emit(
                [
                    self._event(
                        object_type, record.id, "propertyChange", when, source, name, record.properties.get(name, "")
                    )
                    for name in changed
                    if name in self._subscribed[object_type]
                ]
            )
        return changed

    def _associate_default(
        self, from_type: str, to_type: str, pairs: Sequence[tuple[str, str]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        type_id = DEFAULT_ASSOCIATION_TYPES.get((from_type, to_type))
        reverse_id = DEFAULT_ASSOCIATION_TYPES.get((to_type, from_type))
        results, errors = [], []
        for from_id, to_id in pairs:
            missing = [
                (kind, object_id)
                for kind, object_id in ((from_type, from_id), (to_type, to_id))
                if object_id not in self._records[kind]
            ]
            if type_id is None or reverse_id is None:
                problem = f"No default association from {from_type} to {to_type}"
            elif missing:
                problem = f"No {_SINGULAR[missing[0][0]]} with ID {missing[0][1]} exists"
            else:
                self._associate(from_type, from_id, to_type, to_id, type_id)
                for a, b, kind in ((from_id, to_id, type_id), (to_id, from_id, reverse_id)):
                    results.append(
                        {
                            "from": {"id": a},
                            "to": {"id": b},
                            "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": kind},
                        }
                    )
                continue
            errors.append(
                {
                    "status": "error",
                    "category": "VALIDATION_ERROR",
                    "message": problem,
                    "context": {"fromObjectId": [from_id], "toObjectId": [to_id]},
                    "errors": [],
                    "links": {},
                }
            )
        return results, errors

    def _associate(self, from_type: str, from_id: str, to_type: str, to_id: str, type_id: int) -> None:
        reverse_id = DEFAULT_ASSOCIATION_TYPES[(to_type, from_type)]
        self._associations |= {
            (from_type, from_id, to_type, to_id, type_id),
            (to_type, to_id, from_type, from_id, reverse_id),
        }
        # A contact's first company becomes its primary one: `associatedcompanyid`, a property change.
        contact, company = (
            (from_id, to_id)
            if (from_type, to_type) == ("contacts", "companies")
            else (to_id, from_id)
            if (from_type, to_type) == ("companies", "contacts")
            else (None, None)
        )
        if contact is not None and company is not None:
            record = self._records["contacts"][contact]
            if not record.properties.get("associatedcompanyid"):
                self._apply("contacts", record, {"associatedcompanyid": company}, self._tick(), self._api_source())

    def _filter_groups(self, object_type: str, raw: object) -> list[list[dict[str, Any]]]:
        if raw is None:
            return []
        if not isinstance(raw, list) or len(raw) > MAX_FILTER_GROUPS:
            raise _Refused(_validation(f"filterGroups must be a list of at most {MAX_FILTER_GROUPS} groups"))
        groups, total = [], 0
        for g, group in enumerate(raw):
            filters = group.get("filters") if isinstance(group, dict) else None
            if not isinstance(filters, list) or len(filters) > MAX_FILTERS_PER_GROUP:
                raise _Refused(
                    _validation(f"filterGroups[{g}].filters must be a list of at most {MAX_FILTERS_PER_GROUP}")
                )
            total += len(filters)
            if total > MAX_FILTERS:
                raise _Refused(_validation(f"a search takes at most {MAX_FILTERS} filters in all"))
            groups.append(
                [self._filter(object_type, f, f"filterGroups[{g}].filters[{i}]") for i, f in enumerate(filters)]
            )
        return groups

    def _filter(self, object_type: str, raw: object, where: str) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise _Refused(_validation(f"{where} must be an object"))
        name, operator = raw.get("propertyName"), raw.get("operator")
        if not isinstance(name, str) or name not in self._known[object_type]:
            raise _Refused(
                _validation(f"{where}.propertyName: Property {_shown(name)} does not exist on {object_type}")
            )
        if operator not in SEARCH_OPERATORS:
            raise _Refused(_validation(f"{where}.operator must be one of {', '.join(sorted(SEARCH_OPERATORS))}"))
        checked: dict[str, Any] = {"name": name, "operator": operator}
        if operator in ("IN", "NOT_IN"):
            values = raw.get("values")
            if not isinstance(values, list) or not values or not all(isinstance(v, str | int | float) for v in values):
                raise _Refused(_validation(f"{where}.values must be a non-empty list for {operator}"))
            checked["values"] = [_filter_key(name, str(v), where) for v in values]
        elif operator not in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
            value = raw.get("value")
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise _Refused(_validation(f"{where}.value is required for {operator}"))
            if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
                checked["value"] = str(value).strip("*").lower()
            else:
                checked["value"] = _filter_key(name, str(value), where)
            if operator == "BETWEEN":
                high = raw.get("highValue")
                if not isinstance(high, str | int | float) or isinstance(high, bool):
                    raise _Refused(_validation(f"{where}.highValue is required for BETWEEN"))
                checked["high"] = _filter_key(name, str(high), where)
        return checked

    def _sorts(self, object_type: str, raw: object) -> list[tuple[str, bool]]:
        if raw is None:
            return []
        if not isinstance(raw, list) or len(raw) > 1:
            raise _Refused(_validation("sorts must be a list of one sort at most: HubSpot applies one sort a search"))
        sorts = []
        for position, item in enumerate(raw):
            if isinstance(item, str):  # "createdate" or "-createdate"
                name, descending = item.lstrip("-"), item.startswith("-")
            elif isinstance(item, dict) and isinstance(item.get("propertyName"), str):
                direction = item.get("direction", "ASCENDING")
                if direction not in ("ASCENDING", "DESCENDING"):
                    raise _Refused(_validation(f"sorts[{position}].direction must be ASCENDING or DESCENDING"))
                name, descending = item["propertyName"], direction == "DESCENDING"
            else:
                raise _Refused(_validation(f"sorts[{position}] must be {{'propertyName', 'direction'}}"))
            if name not in self._known[object_type]:
                raise _Refused(
                    _validation(f"sorts[{position}]: Property {_shown(name)} does not exist on {object_type}")
                )
            sorts.append((name, descending))
        return sorts

    # Webhooks ------------------------------------------------------------------------------------------------------

    def _event(
        self,
        object_type: str,
        object_id: str,
        action: str,
        when: datetime,
        source: _Source,
        name: str | None = None,
        value: str | None = None,
    ) -> dict[str, Any]:
        subscription = f"{_SINGULAR[object_type]}.{action}"
        event: dict[str, Any] = {
            "eventId": self._next_event_id,
            "subscriptionId": SUBSCRIPTION_IDS[subscription],
            "portalId": self.portal_id,
            "appId": self.app_id,
            "occurredAt": int(when.timestamp() * 1000),
            "subscriptionType": subscription,
            "attemptNumber": 0,
            "objectId": int(object_id),
        }
        self._next_event_id += 1
        if action == "creation":
            event["changeFlag"] = "CREATED"
        event |= {"changeSource": source.change_source, "sourceId": source.source_id}
        if name is not None:
            event |= {"propertyName": name, "propertyValue": value}
        return event

    def _emit(self, events: list[dict[str, Any]]) -> None:
        """Keeps the events and queues them for delivery (called under the lock)."""
        if not events:
            return
        self._events.extend(events)
        self._webhooks.enqueue(events)

    def _post(self, url: str, events: list[dict[str, Any]], attempt: int) -> Attempt:
        body = json.dumps([{**event, "attemptNumber": attempt} for event in events], separators=(",", ":")).encode()
        timestamp = str(int(self._clock().timestamp() * 1000))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/) - WebhooksExecutorDaemon",
            SIGNATURE_HEADER: self.signature("POST", url, body, timestamp),
            TIMESTAMP_HEADER: timestamp,
            "X-HubSpot-Signature-Version": "v3",
        }
        try:
            response = self._session.post(url, data=body, headers=headers, timeout=DELIVERY_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            return Attempt(None, f"{type(exc).__name__}: {str(exc)[:300]}", False)
        status = response.status_code
        return Attempt(status, None if response.ok else response.text[:300], 200 <= status < 300)

    def signature(self, method: str, url: str, body: bytes, timestamp: str) -> str:
        """HubSpot's v3 signature: base64 HMAC-SHA256, with the app's client secret, of method + URI + body +
        timestamp, the URI with the characters HubSpot's guide lists decoded (`signed_uri`)."""
        return sign_v3(self._client_secret, method, url, body, timestamp)


def _delivery_view(delivery: Delivery[dict[str, Any]]) -> dict[str, Any]:
    return {
        "delivery": delivery.number,
        "url": delivery.url,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "response_status": delivery.response_status,
        "error": delivery.error,
        "event_ids": [event["eventId"] for event in delivery.items],
        "at": _iso(delivery.at) if delivery.at is not None else None,
    }


# Requests ------------------------------------------------------------------------------------------------------------


def _object_type(object_type: str) -> str:
    try:
        return _TYPE_ALIASES[object_type]
    except KeyError:
        raise ValueError(f"object type must be one of {', '.join(OBJECT_TYPES)}, not {object_type!r}") from None


def _read_body(request: Request) -> bytes:
    if (request.content_length or 0) > MAX_BODY:
        raise _Refused(_error(413, f"The request body is larger than {MAX_BODY} bytes", "VALIDATION_ERROR"))
    raw = request.stream.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise _Refused(_error(413, f"The request body is larger than {MAX_BODY} bytes", "VALIDATION_ERROR"))
    return raw


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise _Refused(_validation(f"Invalid input JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}")) from None
    except (ValueError, RecursionError) as exc:
        raise _Refused(_validation(f"Invalid input JSON: {str(exc)[:200]}")) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _object_body(request: Request) -> dict[str, Any]:
    body = _parse_json(_read_body(request) or b"{}")
    if not isinstance(body, dict):
        raise _Refused(_validation("Invalid input JSON: expected an object"))
    return body


def _own_body(request: Request) -> dict[str, Any] | Response:
    try:
        raw = _read_body(request)
        body = _parse_json(raw) if raw.strip() else {}
    except _Refused as refused:
        return _json({"message": json.loads(refused.response.get_data())["message"]}, refused.response.status_code)
    if not isinstance(body, dict):
        return _json({"message": "the body must be a JSON object"}, 400)
    return body


def _batch_inputs(body: Mapping[str, Any], most: int = MAX_BATCH) -> list[dict[str, Any]]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise _Refused(_validation("inputs must be a list"))
    if len(inputs) > most:
        raise _Refused(_validation(f"Batch input is limited to {most} inputs; {len(inputs)} were sent"))
    for position, item in enumerate(inputs):
        if not isinstance(item, dict):
            raise _Refused(_validation(f"inputs[{position}] must be an object"))
    return inputs


def _input_id(item: Mapping[str, Any], position: int) -> str:
    value = item.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise _Refused(_validation(f"inputs[{position}].id is required"))
    return value


def _refuse_duplicates(keys: Sequence[str]) -> None:
    seen: set[str] = set()
    repeated: set[str] = set()
    for key in keys:
        (repeated if key in seen else seen).add(key)
    duplicates = sorted(repeated)
    if duplicates:
        shown = ", ".join(duplicates[:10])
        raise _Refused(_validation(f"Duplicate IDs found in batch input: [{shown}]. IDs must be unique"))


def _trace(item: Mapping[str, Any], position: int) -> str | None:
    trace = item.get("objectWriteTraceId")
    if trace is None:
        return None
    if not isinstance(trace, str) or not trace:
        raise _Refused(_validation(f"inputs[{position}].objectWriteTraceId must be a non-empty string"))
    return trace


def _traced(shaped: dict[str, Any], trace: str | None) -> dict[str, Any]:
    return {**shaped, "objectWriteTraceId": trace} if trace is not None else shaped


def _input_values(item: Mapping[str, Any], position: int) -> tuple[dict[str, str], str | None]:
    """A batch input's properties and its `objectWriteTraceId`."""
    return _input_properties(item.get("properties"), f"inputs[{position}].properties"), _trace(item, position)


def _admitted(
    problem: _Problem | None,
    values: Mapping[str, str],
    trace: str | None,
    key: str | None,
    problems: list[tuple[str | None, str | None, _Problem]],
    claimed: set[str],
) -> bool:
    """Whether a batch's input goes ahead: else its problem is noted; when it does, its email is claimed."""
    if problem is not None:
        problems.append((trace, key, problem))
        return False
    if values.get("email"):
        claimed.add(values["email"].lower())
    return True


def _input_properties(raw: object, where: str) -> dict[str, str]:
    values = _text_properties(raw if raw is not None else {}, where)
    if isinstance(values, str):
        raise _Refused(_validation(values))
    return values


def _text_properties(raw: object, where: str = "properties") -> dict[str, str] | str:
    """Property values as HubSpot keeps them, text ("" clears); a message when they are not values."""
    if not isinstance(raw, Mapping):
        return f"{where} must be an object"
    values = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not name:
            return f"{where}: a property name must be a non-empty string"
        if value is None:
            values[name] = ""
        elif isinstance(value, bool):
            values[name] = "true" if value else "false"
        elif isinstance(value, int | float):
            values[name] = json.dumps(value)
        elif isinstance(value, str):
            values[name] = value
        else:
            return f"{where}.{name[:100]}: a value must be a string, a number, a boolean or null"
    return values


def _names(raw: object, where: str) -> list[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        raise _Refused(_validation(f"{where} must be a list of property names"))
    return [name for name in raw if name]


def _query_properties(request: Request) -> list[str] | None:
    values = request.args.getlist("properties")
    if not values:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def _query_int(request: Request, name: str, default: int, least: int, most: int | None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _Refused(_validation(f"{name} must be an integer, not {raw[:40]!r}")) from None
    if value < least or (most is not None and value > most):
        raise _Refused(_validation(f"{name} must be from {least} to {most}, not {value}"))
    return value


def _body_int(body: Mapping[str, Any], name: str, default: int, least: int, most: int) -> int:
    raw = body.get(name, default)
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw)
    if raw is None:
        raw = default
    if not isinstance(raw, int) or isinstance(raw, bool) or not least <= raw <= most:
        raise _Refused(_validation(f"{name} must be an integer from {least} to {most}, not {_shown(raw)}"))
    return raw


# Values ---------------------------------------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _parse_time(value: str) -> datetime | None:
    """An ISO 8601 time (a date alone is midnight UTC) or epoch milliseconds, as HubSpot takes dates."""
    text = value.strip()
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        return _utc(datetime.fromisoformat(text))
    except (ValueError, OverflowError, OSError):
        return None


def _is_number(value: str) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def _sort_key(name: str, value: str) -> Any:
    """How a value compares: dates by their moment, numbers by their value, text without case."""
    if name in DATE_PROPERTIES:
        parsed = _parse_time(value)
        return (0, parsed.timestamp()) if parsed else (1, value)
    if name in _NUMERIC and _is_number(value):
        return (0, float(value))
    return (1, value.lower())


def _record_sort_key(name: str, record: _Record) -> Any:
    return _sort_key(name, record.properties[name])


def _filter_key(name: str, value: str, where: str) -> Any:
    if name in DATE_PROPERTIES:
        parsed = _parse_time(value)
        if parsed is None:
            raise _Refused(_validation(f"{where}: {value[:40]!r} is not a date (epoch milliseconds or ISO 8601)"))
        return (0, parsed.timestamp())
    if name in _NUMERIC:
        if not _is_number(value):
            raise _Refused(_validation(f"{where}: {value[:40]!r} is not a number"))
        return (0, float(value))
    return (1, value.lower())


def _matches(record: _Record, checked: Mapping[str, Any]) -> bool:
    name, operator = checked["name"], checked["operator"]
    raw = record.properties.get(name) or None
    if operator == "HAS_PROPERTY":
        return raw is not None
    if operator == "NOT_HAS_PROPERTY":
        return raw is None
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        contains = raw is not None and checked["value"] in raw.lower()
        return contains if operator == "CONTAINS_TOKEN" else not contains
    if raw is None:
        return operator in ("NEQ", "NOT_IN")
    key = _sort_key(name, raw)
    if operator == "IN":
        return key in checked["values"]
    if operator == "NOT_IN":
        return key not in checked["values"]
    value = checked["value"]
    if key[0] != value[0]:
        return operator == "NEQ"
    comparisons: dict[str, Callable[[], bool]] = {
        "EQ": lambda: key == value,
        "NEQ": lambda: key != value,
        "LT": lambda: key < value,
        "LTE": lambda: key <= value,
        "GT": lambda: key > value,
        "GTE": lambda: key >= value,
        "BETWEEN": lambda: value <= key <= checked["high"],
    }
    return comparisons[operator]()


def _found(record: _Record, searchable: Sequence[str], query: str) -> bool:
    wanted = query.strip("*").lower()
    return any(wanted in (record.properties.get(name) or "").lower() for name in searchable)


# Answers -------------------------------------------------------------------------------------------------------------


def _shape(record: _Record, names: Sequence[str] | None) -> dict[str, Any]:
    """A record as HubSpot's API answers it: the properties named (null when unset), all of them when None."""
    properties = (
        dict(sorted(record.properties.items()))
        if names is None
        else {name: record.properties.get(name) for name in names}
    )
    return {
        "id": record.id,
        "properties": properties,
        "createdAt": _iso(record.created_at),
        "updatedAt": _iso(record.updated_at),
        "archived": False,
    }


def _written(object_type: str, values: Mapping[str, str]) -> list[str]:
    """What a write answers: the properties written and the ones the CRM keeps."""
    return list(dict.fromkeys([*values, "createdate", MODIFIED_PROPERTY[object_type], "hs_object_id"]))


def _batch_response(
    results: list[dict[str, Any]], errors: list[dict[str, Any]], started: datetime, ok: int
) -> Response:
    return _json(_association_batch(results, errors, started), 207 if errors else ok)


def _association_batch(
    results: list[dict[str, Any]], errors: list[dict[str, Any]], started: datetime
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": _iso(started),
        "completedAt": _iso(started),
    }
    if errors:
        body |= {"numErrors": len(errors), "errors": errors}
    return body


def _standard_errors(problems: Sequence[tuple[str | None, str | None, _Problem]]) -> list[dict[str, Any]]:
    return [_standard_error(problem, trace, record_id) for trace, record_id, problem in problems]


def _standard_error(problem: _Problem, trace: str | None, record_id: str | None) -> dict[str, Any]:
    context = dict(problem.context)
    if trace is not None:
        context["objectWriteTraceId"] = [trace]
    if record_id is not None:
        context["ids"] = [record_id]
    return {
        "status": "error",
        "category": problem.category,
        "message": problem.message,
        "context": context,
        "errors": list(problem.errors),
        "links": {},
    }


def _missing_error(object_type: str, missing: Sequence[tuple[str, str | None]]) -> dict[str, Any]:
    context: dict[str, list[str]] = {"ids": [key for key, _ in missing]}
    traces = [trace for _, trace in missing if trace is not None]
    if traces:
        context["objectWriteTraceId"] = traces
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": f"Could not get some {_SINGULAR[object_type].upper()} objects, they may be deleted or not exist. "
        "Check that ids are valid.",
        "context": context,
        "errors": [],
        "links": {},
    }


def _problem_response(problem: _Problem) -> Response:
    more: dict[str, Any] = {}
    if problem.errors:
        more["errors"] = list(problem.errors)
    if problem.context:
        more["context"] = dict(problem.context)
    return _error(problem.status, problem.message, problem.category, **more)


def _not_found(object_id: str) -> Response:
    return _error(
        404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND", context={"id": [object_id[:100]]}
    )


def _validation(message: str) -> Response:
    return _error(400, message, "VALIDATION_ERROR")


def _error(status: int, message: str, category: str, **more: Any) -> Response:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category, **more}
    return _json(body, status)


def _is_count(value: object, most: int) -> bool:
    # bool is an int in Python, and `true` is not a count
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= most


def _shown(value: object) -> str:
    return json.dumps(value, default=str)[:40]


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json;charset=utf-8")
