"""`LocalHubSpot`: the stand-in's routes (HubSpot's API and its own endpoints), the calls' gate (faults,
authentication, the log) and its in-process controls; what it emulates is told in the package's docstring."""

from __future__ import annotations

import functools
import hmac
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import requests
from werkzeug.wrappers import Request, Response

from local_runtime.crm_hubspot.portal import (
    APP_ID,
    BASE_PATH,
    CALLS_KEPT,
    DEFAULT_ASSOCIATION_TYPES,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_KNOWN_PROPERTIES,
    DEFAULT_USER_ID,
    DELIVERIES_KEPT,
    DELIVERY_TIMEOUT_SECONDS,
    EVENTS_KEPT,
    FAULT_KINDS,
    MAX_ASSOCIATION_BATCH,
    MAX_EVENTS_PER_DELIVERY,
    MAX_FAULT_CALLS,
    MAX_RETRY_AFTER,
    MAX_SEARCH_LIMIT,
    MAX_SEARCH_RESULTS,
    OBJECT_TYPE_IDS,
    OBJECT_TYPES,
    PORTAL_ID,
    PRIMARY_ASSOCIATION_TYPES,
    RETRY_DELAYS,
    SEARCHABLE,
    SINGULAR,
    TYPE_ALIASES,
    WEBHOOK_OBJECT_TYPES,
    Clock,
    resolve_object_type,
)
from local_runtime.crm_hubspot.records import Record, shape, written
from local_runtime.crm_hubspot.request_parsing import (
    admitted,
    batch_inputs,
    body_int,
    input_id,
    input_properties,
    input_values,
    is_count,
    object_body,
    own_body,
    property_names,
    query_int,
    query_properties,
    refuse_duplicates,
    text_properties,
    traced,
    type_or_refuse,
)
from local_runtime.crm_hubspot.responses import (
    Problem,
    Refused,
    association_batch,
    batch_response,
    error_response,
    json_response,
    missing_error,
    not_found,
    problem_response,
    shown_value,
    standard_errors,
    validation_error,
)
from local_runtime.crm_hubspot.search import filter_groups, matches, matches_query, record_sort_key, search_sorts
from local_runtime.crm_hubspot.store import RecordStore
from local_runtime.crm_hubspot.values import as_utc, iso, parse_time
from local_runtime.crm_hubspot.webhooks import Source, delivery_view
from local_runtime.crm_webhooks import CallLog, Faults, WebhookDeliveries, wsgi_application
from local_runtime.gateway import LocalRoute


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LocalHubSpot(RecordStore):
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
        self._subscribed = {
            object_type: frozenset(subscribed.get(object_type, ())) for object_type in WEBHOOK_OBJECT_TYPES
        }
        self._multi_status = multi_status
        # reentrant: the webhook deliveries share it, so the events one call fires are delivered together
        self._lock = threading.RLock()
        self._records: dict[str, dict[str, Record]] = {object_type: {} for object_type in OBJECT_TYPES}
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
            ("POST", f"{v4}/associations/<from_type>/<to_type>/batch/create", self._associate_labeled),
            ("POST", f"{v4}/associations/<from_type>/<to_type>/batch/archive", self._dissociate_batch),
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
        return wsgi_application(self.routes(), json_response)

    def set_webhook_url(self, url: str | None) -> None:
        """Where the next events go (None: nowhere, they are only kept)."""
        self._webhooks.set_url(url)

    def close(self) -> None:
        """Stops the delivery thread (what waits is not delivered)."""
        self._webhooks.close()

    # In-process: records, calls, faults, edits, webhooks ----------------------------------------------------------

    def records(self, object_type: str) -> list[dict[str, Any]]:
        """Every record of `object_type` (contacts, companies, deals) with every property, oldest first."""
        object_type = resolve_object_type(object_type)
        with self._lock:
            return [shape(record, None) for record in self._records[object_type].values()]

    def record(self, object_type: str, record_id: str) -> dict[str, Any] | None:
        object_type = resolve_object_type(object_type)
        with self._lock:
            record = self._records[object_type].get(str(record_id))
            return shape(record, None) if record is not None else None

    def associations(self, from_type: str, from_id: str) -> list[tuple[str, str, int]]:
        """(to type, to id, association type id) of every association from the record."""
        from_type = resolve_object_type(from_type)
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
        object_type = resolve_object_type(object_type)
        values = text_properties(properties)
        if isinstance(values, str):
            raise ValueError(values)
        when = as_utc(occurred_at) if occurred_at is not None else None
        source = Source("CRM_UI", f"userId:{user_id if user_id is not None else DEFAULT_USER_ID}")
        with self._lock:
            record = self._find(object_type, record_id, email)
            if record is None:
                raise KeyError(f"no {SINGULAR[object_type]} {record_id or email}")
            problem = self._values_problem(object_type, values, record)
            if problem is not None:
                raise ValueError(problem.message)
            moment = when or self._tick()
            self._apply(object_type, record, values, moment, source)
            return shape(record, None)

    def events(self) -> list[dict[str, Any]]:
        """Every webhook event fired (the latest kept), delivered or not, oldest first."""
        with self._lock:
            return [dict(event) for event in self._events]

    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook delivery: {"delivery", "url", "status" (pending, delivered, failed), "attempts",
        "response_status", "error", "event_ids", "at"}, oldest first."""
        return self._webhooks.views(delivery_view)

    def wait_until_delivered(self, timeout: float = 10) -> bool:
        """Waits until every event fired so far was delivered (or given up on): False when `timeout` seconds
        passed first."""
        return self._webhooks.wait_until_delivered(timeout)

    # HubSpot's API: objects -----------------------------------------------------------------------------------------

    def _create_one(self, request: Request, object_type: str) -> Response:
        object_type = type_or_refuse(object_type)
        body = object_body(request)
        values = input_properties(body.get("properties"), "properties")
        with self._lock:
            problem = self._values_problem(object_type, values, None)
            if problem is not None:
                return problem_response(problem)
            association_problem, associations = self._inline_associations(object_type, body.get("associations"))
            if association_problem is not None:
                return problem_response(association_problem)
            record = self._create_associated(object_type, values, associations, self._tick(), self._api_source())
            return json_response(shape(record, written(object_type, values)), 201)

    def _list_page(self, request: Request, object_type: str) -> Response:
        object_type = type_or_refuse(object_type)
        limit = query_int(request, "limit", 10, 1, 100)
        after = query_int(request, "after", 0, 0, None)
        wanted = query_properties(request)
        with self._lock:
            records = sorted(self._records[object_type].values(), key=lambda r: int(r.id))
            page = [record for record in records if int(record.id) > after][:limit]
            answer: dict[str, Any] = {"results": [shape(r, self._returned(object_type, wanted)) for r in page]}
            if page and int(page[-1].id) < int(records[-1].id):
                answer["paging"] = {"next": {"after": page[-1].id, "link": f"?after={page[-1].id}"}}
            return json_response(answer)

    def _get_one(self, request: Request, object_type: str, object_id: str) -> Response:
        object_type = type_or_refuse(object_type)
        id_property = self._id_property(object_type, request.args.get("idProperty"))
        wanted = query_properties(request)
        with self._lock:
            record = self._lookup(object_type, object_id, id_property)
            if record is None:
                return not_found(object_id)
            return json_response(shape(record, self._returned(object_type, wanted)))

    def _update_one(self, request: Request, object_type: str, object_id: str) -> Response:
        object_type = type_or_refuse(object_type)
        id_property = self._id_property(object_type, request.args.get("idProperty"))
        values = input_properties(object_body(request).get("properties"), "properties")
        with self._lock:
            record = self._lookup(object_type, object_id, id_property)
            if record is None:
                return not_found(object_id)
            problem = self._values_problem(object_type, values, record)
            if problem is not None:
                return problem_response(problem)
            self._apply(object_type, record, values, self._tick(), self._api_source())
            return json_response(shape(record, written(object_type, values)))

    def _gdpr_delete(self, request: Request) -> Response:
        body = object_body(request)
        object_id = body.get("objectId")
        if isinstance(object_id, int) and not isinstance(object_id, bool):
            object_id = str(object_id)
        if not isinstance(object_id, str) or not object_id.strip():
            return validation_error("objectId is required")
        id_property = self._id_property("contacts", body.get("idProperty"))
        with self._lock:
            record = self._lookup("contacts", object_id, id_property)
            if record is None:
                return Response(status=204) if id_property == "email" else not_found(object_id)
            del self._records["contacts"][record.id]
            self._emails = {email: owner for email, owner in self._emails.items() if owner != record.id}
            self._associations = {
                a
                for a in self._associations
                if (a[0], a[1]) != ("contacts", record.id) and (a[2], a[3]) != ("contacts", record.id)
            }
        return Response(status=204)

    def _batch_create(self, request: Request, object_type: str) -> Response:
        object_type = type_or_refuse(object_type)
        inputs = batch_inputs(object_body(request))
        with self._lock:
            now, source = self._tick(), self._api_source()
            planned: list[tuple[dict[str, str], str | None, list[tuple[str, str, int]]]] = []
            problems: list[tuple[str | None, str | None, Problem]] = []
            claimed: set[str] = set()
            for position, item in enumerate(inputs):
                values, trace = input_values(item, position)
                association_problem, associations = self._inline_associations(
                    object_type, item.get("associations"), f"inputs[{position}]."
                )
                problem = self._values_problem(object_type, values, None, claimed) or association_problem
                if admitted(problem, values, trace, None, problems, claimed):
                    planned.append((values, trace, associations))
            self._refuse_unless_traced(problems)
            results = []
            for values, trace, associations in planned:
                record = self._create_associated(object_type, values, associations, now, source)
                results.append(traced(shape(record, written(object_type, values)), trace))
        return batch_response(results, standard_errors(problems), now, 201)

    def _batch_update(self, request: Request, object_type: str) -> Response:
        object_type = type_or_refuse(object_type)
        inputs = batch_inputs(object_body(request))
        keys = [input_id(item, position) for position, item in enumerate(inputs)]
        refuse_duplicates(keys)
        with self._lock:
            now, source = self._tick(), self._api_source()
            planned: list[tuple[Record, dict[str, str], str | None]] = []
            problems: list[tuple[str | None, str | None, Problem]] = []
            missing: list[tuple[str, str | None]] = []
            claimed: set[str] = set()
            for position, (item, key) in enumerate(zip(inputs, keys, strict=True)):
                id_property = self._id_property(object_type, item.get("idProperty"), f"inputs[{position}].")
                values, trace = input_values(item, position)
                record = self._lookup(object_type, key, id_property)
                if record is None:
                    missing.append((key, trace))
                    continue
                problem = self._values_problem(object_type, values, record, claimed)
                if admitted(problem, values, trace, key, problems, claimed):
                    planned.append((record, values, trace))
            self._refuse_unless_traced(problems)
            results = []
            for record, values, trace in planned:
                self._apply(object_type, record, values, now, source)
                results.append(traced(shape(record, written(object_type, values)), trace))
        errors = standard_errors(problems)
        if missing:
            errors.append(missing_error(object_type, missing))
        return batch_response(results, errors, now, 200)

    def _batch_upsert(self, request: Request, object_type: str) -> Response:
        object_type = type_or_refuse(object_type)
        inputs = batch_inputs(object_body(request))
        keys = [input_id(item, position) for position, item in enumerate(inputs)]
        for position, item in enumerate(inputs):
            id_property = item.get("idProperty")
            if not isinstance(id_property, str) or not id_property:
                raise Refused(validation_error(f"inputs[{position}].idProperty is required to upsert"))
            self._id_property(object_type, id_property, f"inputs[{position}].")
            if id_property != "email":
                raise Refused(validation_error(f"{id_property} is not a property with unique values of {object_type}"))
        refuse_duplicates([key.lower() for key in keys])
        with self._lock:
            now, source = self._tick(), self._api_source()
            planned: list[tuple[Record | None, dict[str, str], str | None]] = []
            problems: list[tuple[str | None, str | None, Problem]] = []
            claimed: set[str] = set()
            for position, (item, key) in enumerate(zip(inputs, keys, strict=True)):
                values, trace = input_values(item, position)
                record = self._lookup(object_type, key, "email")
                if record is None:
                    values = {"email": key, **values}
                problem = self._values_problem(object_type, values, record, claimed, {"email": key, **values})
                if admitted(problem, values, trace, key, problems, claimed):
                    planned.append((record, values, trace))
            self._refuse_unless_traced(problems)
            results = []
            for found, values, trace in planned:
                record = found or self._create(object_type, values, now, source)
                if found is not None:
                    self._apply(object_type, found, values, now, source)
                shaped = shape(record, written(object_type, values))
                results.append(traced({**shaped, "new": found is None}, trace))
        return batch_response(results, standard_errors(problems), now, 200)

    def _batch_read(self, request: Request, object_type: str) -> Response:
        object_type = type_or_refuse(object_type)
        body = object_body(request)
        inputs = batch_inputs(body)
        keys = [input_id(item, position) for position, item in enumerate(inputs)]
        wanted = property_names(body.get("properties"), "properties")
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
                    results.append(shape(record, self._returned(object_type, wanted)))
        return batch_response(results, [missing_error(object_type, missing)] if missing else [], now, 200)

    def _search(self, request: Request, object_type: str) -> Response:
        object_type = type_or_refuse(object_type)
        body = object_body(request)
        limit = body_int(body, "limit", 10, 0, MAX_SEARCH_LIMIT)
        after = body_int(body, "after", 0, 0, MAX_SEARCH_RESULTS - 1)
        wanted = property_names(body.get("properties"), "properties")
        groups = filter_groups(object_type, self._known[object_type], body.get("filterGroups"))
        sorts = search_sorts(object_type, self._known[object_type], body.get("sorts"))
        query = body.get("query")
        if query is not None and not isinstance(query, str):
            raise Refused(validation_error("query must be a string"))
        with self._lock:
            matched = [
                record
                for record in self._records[object_type].values()
                if (not groups or any(all(matches(record, f) for f in group) for group in groups))
                and (not query or matches_query(record, SEARCHABLE[object_type], query))
            ]
            matched.sort(key=lambda r: int(r.id))
            for name, descending in reversed(sorts):
                present = [r for r in matched if r.properties.get(name) not in (None, "")]
                absent = [r for r in matched if r.properties.get(name) in (None, "")]
                present.sort(key=functools.partial(record_sort_key, name), reverse=descending)
                matched = present + absent
            page = matched[after : after + limit]
            answer: dict[str, Any] = {
                "total": len(matched),
                "results": [shape(r, self._returned(object_type, wanted)) for r in page],
            }
        if after + limit < len(matched) and limit:
            answer["paging"] = {"next": {"after": str(after + limit), "link": f"?after={after + limit}"}}
        return json_response(answer)

    # HubSpot's API: associations (v4) -------------------------------------------------------------------------------

    def _associate_one(self, _: Request, from_type: str, from_id: str, to_type: str, to_id: str) -> Response:
        from_type, to_type = type_or_refuse(from_type), type_or_refuse(to_type)
        with self._lock:
            now = self._clock()
            results, errors = self._associate_default(from_type, to_type, [(from_id, to_id)])
        if errors:
            return problem_response(Problem(400, "VALIDATION_ERROR", errors[0]["message"], (), errors[0]["context"]))
        return json_response(association_batch(results, [], now))

    def _associate_batch(self, request: Request, from_type: str, to_type: str) -> Response:
        from_type, to_type = type_or_refuse(from_type), type_or_refuse(to_type)
        inputs = batch_inputs(object_body(request), MAX_ASSOCIATION_BATCH)
        pairs = []
        for position, item in enumerate(inputs):
            start, end = item.get("from"), item.get("to")
            if not (isinstance(start, dict) and isinstance(start.get("id"), str | int)) or not (
                isinstance(end, dict) and isinstance(end.get("id"), str | int)
            ):
                raise Refused(validation_error(f"inputs[{position}] must be {{'from': {{'id'}}, 'to': {{'id'}}}}"))
            pairs.append((str(start["id"]), str(end["id"])))
        with self._lock:
            now = self._clock()
            results, errors = self._associate_default(from_type, to_type, pairs)
        # The SDK's model of this answer (HubSpot's spec) is a 200 that may carry errors.
        return json_response(association_batch(results, errors, now))

    def _associate_labeled(self, request: Request, from_type: str, to_type: str) -> Response:
        """`{"inputs": [{"from": {"id"}, "to": {"id"}, "types": [{"associationCategory", "associationTypeId"}]}]}`:
        the pairs associated with those types (a default one, or a contact's primary company, 1): 201 with each
        pair's labels, 207 naming the pairs refused (an unknown record or type)."""
        from_type, to_type = type_or_refuse(from_type), type_or_refuse(to_type)
        inputs = batch_inputs(object_body(request), MAX_ASSOCIATION_BATCH)
        known = {
            DEFAULT_ASSOCIATION_TYPES.get((from_type, to_type)),
            PRIMARY_ASSOCIATION_TYPES.get((from_type, to_type)),
        }
        asked = []
        for position, item in enumerate(inputs):
            start, end, types = item.get("from"), item.get("to"), item.get("types")
            if (
                not (isinstance(start, dict) and isinstance(start.get("id"), str | int))
                or not (isinstance(end, dict) and isinstance(end.get("id"), str | int))
                or not isinstance(types, list)
                or not types
            ):
                raise Refused(validation_error(f"inputs[{position}] must have from.id, to.id and types"))
            type_ids = [t.get("associationTypeId") if isinstance(t, dict) else None for t in types]
            bad = [t for t in type_ids if t not in known or t is None]
            if bad:
                message = f"{shown_value(bad[0])} is not a valid association type from {from_type} to {to_type}"
                raise Refused(problem_response(Problem(400, "VALIDATION_ERROR", message)))
            asked.append((str(start["id"]), str(end["id"]), [t for t in type_ids if isinstance(t, int)]))
        results, errors = [], []
        with self._lock:
            now = self._clock()
            for from_id, to_id, kinds in asked:
                missing = [(k, i) for k, i in ((from_type, from_id), (to_type, to_id)) if i not in self._records[k]]
                if missing:
                    errors.append(
                        {
                            "status": "error",
                            "category": "VALIDATION_ERROR",
                            "message": f"No {SINGULAR[missing[0][0]]} with ID {missing[0][1]} exists",
                            "context": {"fromObjectId": [from_id], "toObjectId": [to_id]},
                            "errors": [],
                            "links": {},
                        }
                    )
                    continue
                for kind in kinds:
                    self._associate(from_type, from_id, to_type, to_id, kind)
                results.append(
                    {
                        "fromObjectTypeId": OBJECT_TYPE_IDS[from_type],
                        "fromObjectId": int(from_id),
                        "toObjectTypeId": OBJECT_TYPE_IDS[to_type],
                        "toObjectId": int(to_id),
                        "labels": [],
                    }
                )
        return batch_response(results, errors, now, 201)

    def _dissociate_batch(self, request: Request, from_type: str, to_type: str) -> Response:
        """`{"inputs": [{"from": {"id"}, "to": [{"id"}...]}]}`: 204, whether or not the associations were there."""
        from_type, to_type = type_or_refuse(from_type), type_or_refuse(to_type)
        inputs = batch_inputs(object_body(request), MAX_ASSOCIATION_BATCH)
        pairs = []
        for position, item in enumerate(inputs):
            start, ends = item.get("from"), item.get("to")
            if (
                not (isinstance(start, dict) and isinstance(start.get("id"), str | int))
                or not isinstance(ends, list)
                or not all(isinstance(end, dict) and isinstance(end.get("id"), str | int) for end in ends)
            ):
                raise Refused(validation_error(f"inputs[{position}] must be {{'from': {{'id'}}, 'to': [{{'id'}}]}}"))
            pairs += [(str(start["id"]), str(end["id"])) for end in ends]
        with self._lock:
            self._dissociate(from_type, to_type, pairs)
        return Response(status=204)

    def _list_associations(self, _: Request, from_type: str, from_id: str, to_type: str) -> Response:
        from_type, to_type = type_or_refuse(from_type), type_or_refuse(to_type)
        with self._lock:
            if from_id not in self._records[from_type]:
                return not_found(from_id)
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
        return json_response({"results": results})

    def _no_route(self, request: Request, rest: str) -> Response:
        return error_response(404, f"No route for {request.method} /{rest[:200]}", "OBJECT_NOT_FOUND")

    # The stand-in's own endpoints ----------------------------------------------------------------------------------

    def _list_records(self, _: Request, object_type: str) -> Response:
        if object_type not in TYPE_ALIASES:
            return json_response({"message": f"object type must be one of {', '.join(OBJECT_TYPES)}"}, 404)
        return json_response({"records": self.records(object_type)})

    def _list_calls(self, _: Request) -> Response:
        calls, count = self._calls.snapshot()
        return json_response({"calls": calls, "count": count})

    def _forget_calls(self, _: Request) -> Response:
        forgotten = self._calls.forget().counted
        return json_response({"forgotten": forgotten})

    def _list_webhooks(self, _: Request) -> Response:
        with self._lock:
            events = list(self._events)
            webhooks = self._webhooks.state()
        return json_response(
            {
                "url": webhooks.url,
                "pending": webhooks.waiting,
                "deliveries": [delivery_view(delivery) for delivery in webhooks.deliveries],
                "events": events,
            }
        )

    def _set_faults(self, request: Request) -> Response:
        body = own_body(request)
        if isinstance(body, Response):
            return body
        outage = body.get("outage")
        if outage is not None and not isinstance(outage, bool):
            return json_response({"message": f"outage must be true or false, not {shown_value(outage)}"}, 400)
        faults = "calls" in body or "kind" in body or outage is None
        calls, kind = body.get("calls", 1), body.get("kind", "ratelimited")
        retry_after, after = body.get("retry_after", 10), body.get("after", 0)
        if not is_count(calls, MAX_FAULT_CALLS):
            return json_response(
                {"message": f"calls must be an integer from 0 to {MAX_FAULT_CALLS}, not {shown_value(calls)}"}, 400
            )
        if not is_count(after, MAX_FAULT_CALLS):
            return json_response(
                {"message": f"after must be an integer from 0 to {MAX_FAULT_CALLS}, not {shown_value(after)}"}, 400
            )
        if kind not in FAULT_KINDS:
            return json_response(
                {"message": f"kind must be one of {', '.join(FAULT_KINDS)}, not {shown_value(kind)}"}, 400
            )
        if not is_count(retry_after, MAX_RETRY_AFTER):
            message = (
                f"retry_after must be an integer from 0 to {MAX_RETRY_AFTER} (seconds), not {shown_value(retry_after)}"
            )
            return json_response({"message": message}, 400)
        answer: dict[str, Any] = {}
        if outage is not None:
            self.set_outage(outage)
            answer["outage"] = outage
        if faults:
            self.fail_next(calls, kind, retry_after, after)
            answer |= {"calls": calls, "kind": kind, "retry_after": retry_after, "after": after}
        return json_response(answer)

    def _post_edit(self, request: Request) -> Response:
        body = own_body(request)
        if isinstance(body, Response):
            return body
        object_type = body.get("object", "contacts")
        if object_type not in TYPE_ALIASES:
            return json_response(
                {"message": f"object must be one of {', '.join(OBJECT_TYPES)}, not {shown_value(object_type)}"}, 400
            )
        record_id, email = body.get("id"), body.get("email")
        if record_id is not None and (not isinstance(record_id, str | int) or isinstance(record_id, bool)):
            return json_response({"message": f"id must be a record id, not {shown_value(record_id)}"}, 400)
        if email is not None and not isinstance(email, str):
            return json_response({"message": f"email must be a string, not {shown_value(email)}"}, 400)
        if record_id is None and email is None:
            return json_response({"message": "name the record: an id, or a contact's email"}, 400)
        properties = body.get("properties")
        if not isinstance(properties, dict) or not properties:
            return json_response({"message": 'properties must be an object like {"firstname": "Ana"}'}, 400)
        occurred_at = body.get("occurred_at")
        when = parse_time(occurred_at) if isinstance(occurred_at, str) else None
        if occurred_at is not None and when is None:
            return json_response(
                {"message": f"occurred_at must be an ISO 8601 time, not {shown_value(occurred_at)}"}, 400
            )
        user_id = body.get("user_id")
        if user_id is not None and not is_count(user_id, 10**12):
            return json_response({"message": f"user_id must be a HubSpot user id, not {shown_value(user_id)}"}, 400)
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
            return json_response(
                {"message": f"no {object_type} record {record_id if record_id is not None else email}"}, 404
            )
        except ValueError as exc:
            return json_response({"message": str(exc)}, 400)
        return json_response(record)

    # Calls: faults, authentication, the log ------------------------------------------------------------------------

    def _api(self, view: Callable[..., Response]) -> Callable[..., Response]:
        def answer(request: Request, **arguments: str) -> Response:
            response = self._gate(request)
            if response is None:
                try:
                    response = view(request, **arguments)
                except Refused as refused:
                    response = refused.response
            self._calls.add(
                {
                    "method": request.method,
                    "path": request.path[len(BASE_PATH) :] or "/",
                    "status": response.status_code,
                    "at": iso(self._clock()),
                }
            )
            return response

        return answer

    def _gate(self, request: Request) -> Response | None:
        """HubSpot's answer before the call is looked at: an outage, an injected fault, a bad token."""
        outage = self._faults.outage
        fault = None if outage else self._faults.take()
        if outage:
            return error_response(503, "Service Unavailable", "SERVICE_UNAVAILABLE")
        if fault is not None and fault[0] == "ratelimited":
            response = json_response(
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
            return error_response(502, "Bad Gateway", "INTERNAL_ERROR")
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return error_response(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find "
                "more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                "INVALID_AUTHENTICATION",
            )
        if self._access_token is not None and not hmac.compare_digest(token, self._access_token):
            return error_response(
                401,
                "The OAuth token used to make this call expired or is not valid for this portal.",
                "INVALID_AUTHENTICATION",
            )
        return None
