"""The stand-in's Salesforce org as a set of routes (see the package's docstring for what each answers): every
API call's authentication, faults and call log, the REST resources, the OAuth token endpoint, the stand-in's own
endpoints and what people and tests call in-process. The records are a `RecordStore`, guarded by one lock."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from werkzeug.wrappers import Request, Response

from local_runtime.crm_salesforce.field_values import edit_time, iso
from local_runtime.crm_salesforce.oauth import grant_problem, new_access_token, token_answer
from local_runtime.crm_salesforce.org import (
    API_VERSION,
    BASE_PATH,
    CLIENT_ID,
    CLIENT_SECRET,
    DEFAULT_EDITOR_ID,
    INTEGRATION_USER_ID,
    ORGANIZATION_ID,
    api_versions,
)
from local_runtime.crm_salesforce.outbound_messages import (
    MAX_NOTIFICATIONS,
    Notification,
    delivery_view,
    outbound_message,
    post_message,
)
from local_runtime.crm_salesforce.record_ids import USER_ID
from local_runtime.crm_salesforce.record_store import RecordStore
from local_runtime.crm_salesforce.refusals import SalesforceRefusal, refusal, rest_errors, rolled_back_results, shown
from local_runtime.crm_salesforce.request_bodies import (
    MAX_BODY_BYTES,
    collection_body,
    edit_arguments,
    json_body,
    object_body,
)
from local_runtime.crm_salesforce.schema import DEFAULT_FIELDS, KEY_PREFIXES
from local_runtime.crm_salesforce.soql import MAX_QUERY_LENGTH, batch_size, parse_soql
from local_runtime.crm_webhooks import CallLog, Faults, WebhookDeliveries, wsgi_application
from local_runtime.gateway import LocalRoute

MAX_RETRIEVE_IDS = 2000
MAX_FAULT_CALLS = 1000
MAX_RETRY_AFTER = 86_400
CALLS_KEPT = 10_000
DELIVERIES_KEPT = 5_000
TOKENS_KEPT = 1_000
CURSORS_KEPT = 100
FAULT_KINDS = ("request_limit", "server_error")


class LocalSalesforce:
    def __init__(
        self,
        webhook_url: str | None = None,
        organization_id: str = ORGANIZATION_ID,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        api_version: str = API_VERSION,
        fields: Mapping[str, Sequence[str]] = DEFAULT_FIELDS,
        retry_delays: Sequence[float] = (0.2, 1.0, 3.0),
    ) -> None:
        """`webhook_url`: where outbound messages go (None: nowhere, until `set_webhook_url`); `fields`: each
        object's fields, its `Id` included (objects other than Lead, Contact, Account, Opportunity and Task are
        not known); `retry_delays`: the waits, in seconds, before each retry of an outbound message."""
        unknown = sorted(set(fields) - set(KEY_PREFIXES))
        if unknown:
            raise ValueError(f"no key prefix is known for {', '.join(unknown)}; objects: {', '.join(KEY_PREFIXES)}")
        if len(organization_id) != 18 or not organization_id.startswith("00D"):
            raise ValueError("organization_id must be an 18-character org id (00D...)")
        self.organization_id = organization_id
        self.client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self.api_version = api_version
        self._versions = api_versions(api_version)
        self._store = RecordStore(fields, clock, api_version)
        self._lock = threading.Lock()
        self._tokens: OrderedDict[str, str] = OrderedDict()
        self._cursors: OrderedDict[str, tuple[int, list[dict[str, Any]]]] = OrderedDict()
        self._calls = CallLog(CALLS_KEPT)
        self._faults = Faults(FAULT_KINDS, retry_after=None)
        self._instance_url: str | None = None
        self._outbox: WebhookDeliveries[Notification, bytes] = WebhookDeliveries(
            url=webhook_url,
            prepare=self._message,
            send=post_message,
            retry_delays=retry_delays,
            max_batch=MAX_NOTIFICATIONS,
            kept=DELIVERIES_KEPT,
            thread_name="local-salesforce-outbound",
            join_timeout=5,
            batch_key=lambda notification: notification.sobject,
            url_at_each_attempt=True,
        )

    def routes(self) -> list[LocalRoute]:
        data = f"{BASE_PATH}/services/data/v<version>"
        api = self._api
        return [
            ("POST", f"{BASE_PATH}/services/oauth2/token", api(self._token, token=True)),
            ("GET", f"{BASE_PATH}/services/data", api(self._list_versions, authenticated=False)),
            ("GET", f"{BASE_PATH}/services/data/", api(self._list_versions, authenticated=False)),
            ("GET", data, api(self._resources)),
            ("GET", f"{data}/", api(self._resources)),
            ("POST", f"{data}/sobjects/<sobject>", api(self._create)),
            ("POST", f"{data}/sobjects/<sobject>/", api(self._create)),
            ("GET", f"{data}/sobjects/<sobject>/<record_id>", api(self._get)),
            ("PATCH", f"{data}/sobjects/<sobject>/<record_id>", api(self._update)),
            ("DELETE", f"{data}/sobjects/<sobject>/<record_id>", api(self._delete)),
            ("GET", f"{data}/query", api(self._query)),
            ("GET", f"{data}/query/", api(self._query)),
            ("GET", f"{data}/query/<locator>", api(self._query_more)),
            ("POST", f"{data}/composite/sobjects", api(self._create_collection)),
            ("POST", f"{data}/composite/sobjects/", api(self._create_collection)),
            ("PATCH", f"{data}/composite/sobjects", api(self._update_collection)),
            ("PATCH", f"{data}/composite/sobjects/", api(self._update_collection)),
            ("GET", f"{data}/composite/sobjects/<sobject>", api(self._retrieve_collection)),
            *[(m, f"{BASE_PATH}/services/<path:rest>", api(self._not_found)) for m in ("GET", "POST", "PATCH")],
            ("DELETE", f"{BASE_PATH}/services/<path:rest>", api(self._not_found)),
            ("POST", f"{BASE_PATH}/_faults", self._set_faults),
            ("GET", f"{BASE_PATH}/_records/<sobject>", self._list_records),
            ("GET", f"{BASE_PATH}/_calls", self._list_calls),
            ("DELETE", f"{BASE_PATH}/_calls", self._forget_calls),
            ("POST", f"{BASE_PATH}/_edits", self._edit),
            ("GET", f"{BASE_PATH}/_webhooks", self._list_deliveries),
        ]

    def wsgi(self) -> Callable[..., Any]:
        """The routes as a WSGI application of their own (the hub serves them through its gateway)."""
        return wsgi_application(self.routes(), _json)

    # In-process -----------------------------------------------------------------------------------------------

    def set_webhook_url(self, url: str | None) -> None:
        """Where outbound messages go from now on (None: nowhere)."""
        self._outbox.set_url(url)

    def records(self, sobject: str) -> list[dict[str, Any]]:
        """Every record of `sobject`, oldest first, as the REST API shows them."""
        with self._lock:
            return [self._store.view(sobject, r) for r in self._store.records_of(sobject).values()]

    def record(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._store.find(sobject, record_id)
            return None if found is None else self._store.view(sobject, found)

    def calls(self) -> list[dict[str, Any]]:
        """Every call to the API (/services/...), oldest first; token calls have `token` true."""
        return self._calls.calls()

    def reset_calls(self) -> None:
        self._calls.forget()

    def fail_next(self, calls: int = 1, kind: str = "request_limit", retry_after: int | None = None) -> None:
        """The next `calls` API calls (token calls aside) fail: `request_limit` (403 REQUEST_LIMIT_EXCEEDED, with
        `Retry-After` when `retry_after` is given) or `server_error` (503)."""
        self._faults.fail_next(calls, kind, retry_after)

    def set_outage(self, outage: bool) -> None:
        """While on, every call (token calls too) answers 503."""
        self._faults.set_outage(outage)

    def revoke_tokens(self) -> None:
        """Every token issued so far stops working (401 INVALID_SESSION_ID), as when sessions expire."""
        with self._lock:
            self._tokens.clear()

    def rotate_client_secret(self, client_secret: str) -> None:
        """The connected app's secret changes: the old one is refused from now on (tokens issued stay valid)."""
        with self._lock:
            self._client_secret = client_secret

    def edit(
        self,
        sobject: str | None = None,
        fields: Mapping[str, Any] | None = None,
        *,
        record_id: str | None = None,
        email: str | None = None,
        modified_at: datetime | str | None = None,
        modified_by: str | None = None,
    ) -> dict[str, Any]:
        """A user changes a record in the CRM: the one with `record_id`, or the Lead or Contact with `email` (of
        `sobject` when given), or, with neither, a new one of `sobject`. LastModifiedDate is `modified_at` (an
        older change arriving late) or now, LastModifiedById `modified_by`, else the record's owner. Fires the
        outbound message. Returns the record; raises LookupError when there is none, SalesforceRefusal (a
        ValueError) when Salesforce would refuse the change."""
        values = dict(fields or {})
        at = edit_time(modified_at)
        if modified_by is not None and not USER_ID.fullmatch(modified_by):
            raise refusal("INVALID_CROSS_REFERENCE_KEY", f"modified_by is not a user id (005...): {modified_by[:40]}")
        with self._transaction():
            existing: dict[str, Any] | None = None
            if record_id is None and email is None:
                if sobject is None or sobject not in self._store.fields:
                    raise refusal("INVALID_TYPE", f"sObject type '{shown(sobject)}' is not supported.")
            else:
                sobject, existing = self._store.find_for_edit(sobject, record_id, email)
            coerced = self._store.coerce(sobject, values)
            errors = self._store.errors(sobject, coerced, existing)
            if errors:
                raise SalesforceRefusal(rest_errors(errors))
            owner = (coerced if existing is None else existing).get("OwnerId")
            user = modified_by or _text_or_none(owner) or DEFAULT_EDITOR_ID
            saved = self._store.save(sobject, existing, coerced, user, at)
            return self._store.view(sobject, saved)

    def deliveries(self) -> list[dict[str, Any]]:
        """Every outbound message sent or being sent, oldest first, with what became of it."""
        return self._outbox.views(delivery_view)

    def wait_until_delivered(self, timeout: float = 10) -> bool:
        """Waits until no outbound message is waiting or being sent (each delivered, or failed after its
        retries): True then, False when `timeout` seconds pass first."""
        return self._outbox.wait_until_delivered(timeout)

    def close(self) -> None:
        """Stops the outbound message worker (what waits is not sent)."""
        self._outbox.close()

    # The API: what every call goes through -------------------------------------------------------------------

    def _api(
        self, view: Callable[..., Response], token: bool = False, authenticated: bool = True
    ) -> Callable[..., Response]:
        def serve(request: Request, **arguments: Any) -> Response:
            response = self._serve(request, view, arguments, token, authenticated)
            self._calls.add(
                {
                    "at": iso(self._clock()),
                    "method": request.method,
                    "path": request.path.removeprefix(BASE_PATH),
                    "query": request.args.get("q"),
                    "status": response.status_code,
                    "token": token,
                }
            )
            return response

        return serve

    def _serve(
        self,
        request: Request,
        view: Callable[..., Response],
        arguments: dict[str, Any],
        token: bool,
        authenticated: bool,
    ) -> Response:
        with self._lock:
            self._instance_url = request.host_url.rstrip("/") + BASE_PATH
        if self._faults.outage:
            return _errors(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable (a local outage: _faults)")
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return _errors(413, "REQUEST_ENTITY_TOO_LARGE", f"the body exceeds {MAX_BODY_BYTES} bytes")
        if token or not authenticated:
            return view(request, **arguments)
        if not self._authorized(request):
            return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
        fault = self._take_fault()
        if fault is not None:
            return fault
        version = arguments.pop("version", None)
        if version is not None and version not in self._versions:
            return _errors(404, "NOT_FOUND", "The requested resource does not exist")
        try:
            return view(request, version=version or self.api_version, **arguments)
        except SalesforceRefusal as refused:
            return _json(refused.errors, refused.status)

    def _authorized(self, request: Request) -> bool:
        scheme, _, presented = (request.headers.get("Authorization") or "").partition(" ")
        presented = presented.strip()
        if scheme.lower() not in ("bearer", "oauth") or not presented:
            return False
        with self._lock:
            return presented in self._tokens

    def _take_fault(self) -> Response | None:
        fault = self._faults.take()
        if fault is None:
            return None
        kind, retry_after = fault
        if kind == "request_limit":
            response = _errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        else:
            response = _errors(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable")
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    # OAuth 2.0 ------------------------------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        raw = request.stream.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            return _json({"error": "invalid_request", "error_description": "request too large"}, 400)
        try:
            form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
        except (UnicodeDecodeError, ValueError):
            return _json({"error": "invalid_request", "error_description": "body is not a form"}, 400)
        with self._lock:
            expected = self._client_secret
        problem = grant_problem(form, request.headers.get("Authorization"), self.client_id, expected)
        if problem is not None:
            return _json({"error": problem[0], "error_description": problem[1]}, 400)
        return _json(self._issue(request))

    def _issue(self, request: Request) -> dict[str, str]:
        instance_url = request.host_url.rstrip("/") + BASE_PATH
        access_token = new_access_token(self.organization_id)
        issued_at = str(int(self._clock().timestamp() * 1000))
        with self._lock:
            secret = self._client_secret
            self._tokens[access_token] = self.client_id
            while len(self._tokens) > TOKENS_KEPT:
                self._tokens.popitem(last=False)
        return token_answer(instance_url, self.organization_id, access_token, issued_at, secret)

    # REST resources ---------------------------------------------------------------------------------------------

    def _list_versions(self, _: Request) -> Response:
        return _json([{"label": f"API {v}", "url": f"/services/data/v{v}", "version": v} for v in self._versions])

    def _resources(self, _: Request, version: str) -> Response:
        base = f"/services/data/v{version}"
        return _json({name: f"{base}/{name}" for name in ("sobjects", "query", "composite")})

    def _not_found(self, _: Request, version: str, rest: str) -> Response:
        return _errors(404, "NOT_FOUND", "The requested resource does not exist")

    def _create(self, request: Request, version: str, sobject: str) -> Response:
        self._store.known(sobject, status=404)
        body = object_body(request)
        with self._transaction():
            values = self._store.coerce(sobject, body, allowed=("attributes",))
            errors = self._store.errors(sobject, values, None)
            if errors:
                raise SalesforceRefusal(rest_errors(errors))
            saved = self._store.save(sobject, None, values, INTEGRATION_USER_ID, None)
        response = _json({"id": saved["Id"], "success": True, "errors": []}, 201)
        response.headers["Location"] = f"/services/data/v{version}/sobjects/{sobject}/{saved['Id']}"
        return response

    def _get(self, request: Request, version: str, sobject: str, record_id: str) -> Response:
        self._store.known(sobject, status=404)
        names = self._store.field_list(sobject, request.args.get("fields"))
        with self._lock:
            found = self._store.existing(sobject, record_id)
            return _json(self._store.view(sobject, found, names, version))

    def _update(self, request: Request, version: str, sobject: str, record_id: str) -> Response:
        self._store.known(sobject, status=404)
        body = object_body(request)
        with self._transaction():
            existing = self._store.existing(sobject, record_id)
            values = self._store.coerce(sobject, body, allowed=("attributes",))
            errors = self._store.errors(sobject, values, existing)
            if errors:
                raise SalesforceRefusal(rest_errors(errors))
            self._store.save(sobject, existing, values, INTEGRATION_USER_ID, None)
        return Response(status=204)

    def _delete(self, _: Request, version: str, sobject: str, record_id: str) -> Response:
        self._store.known(sobject, status=404)
        with self._lock:
            self._store.delete(sobject, record_id)
        return Response(status=204)

    def _query(self, request: Request, version: str) -> Response:
        text = request.args.get("q")
        if not text:
            raise refusal("MALFORMED_QUERY", "A query string has to be specified")
        if len(text) > MAX_QUERY_LENGTH:
            raise refusal("QUERY_TOO_COMPLICATED", f"the query is longer than {MAX_QUERY_LENGTH} characters")
        batch = batch_size(request.headers.get("Sforce-Query-Options"))
        with self._lock:
            query = parse_soql(text, self._store.fields, self._store.by_lower)
            found = query.selected(self._store.records_of(query.sobject).values())
            views = [self._store.view(query.sobject, r, query.fields, version) for r in found]
            return _json(self._page(views, 0, batch, version, None))

    def _query_more(self, request: Request, version: str, locator: str) -> Response:
        cursor, _, offset = locator.rpartition("-")
        with self._lock:
            kept = self._cursors.get(cursor)
            if kept is None or not offset.isdigit() or int(offset) > len(kept[1]):
                raise refusal("INVALID_QUERY_LOCATOR", "invalid query locator")
            return _json(self._page(kept[1], int(offset), kept[0], version, cursor))

    def _page(
        self, views: list[dict[str, Any]], offset: int, batch: int, version: str, cursor: str | None
    ) -> dict[str, Any]:
        """One page of a query's records (called under the lock): a cursor keeps the rest for query/{locator}."""
        end = offset + batch
        page: dict[str, Any] = {"totalSize": len(views), "done": end >= len(views), "records": views[offset:end]}
        if end < len(views):
            if cursor is None:
                cursor = self._store.new_id("01g")
                self._cursors[cursor] = (batch, views)
                while len(self._cursors) > CURSORS_KEPT:
                    self._cursors.popitem(last=False)
            page["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor}-{end}"
        return page

    def _create_collection(self, request: Request, version: str) -> Response:
        all_or_none, records = collection_body(request)
        with self._transaction():
            prepared: list[tuple[str, dict[str, Any]]] = []
            for record in records:
                sobject = self._store.record_type(record)
                if "id" in record or "Id" in record:
                    raise refusal("INVALID_FIELD", "cannot specify Id in an insert call")
                prepared.append((sobject, self._store.coerce(sobject, record, allowed=("attributes",))))
            errors = [self._store.errors(sobject, values, None) for sobject, values in prepared]
            if all_or_none and any(errors):
                return _json(rolled_back_results(errors))
            results = []
            for (sobject, values), problems in zip(prepared, errors, strict=True):
                if problems:
                    results.append({"success": False, "errors": problems})
                    continue
                saved = self._store.save(sobject, None, values, INTEGRATION_USER_ID, None)
                results.append({"id": saved["Id"], "success": True, "errors": []})
        return _json(results)

    def _update_collection(self, request: Request, version: str) -> Response:
        all_or_none, records = collection_body(request)
        with self._transaction():
            prepared: list[tuple[str, dict[str, Any] | None, dict[str, Any], list[dict[str, Any]]]] = []
            seen: set[str] = set()
            for record in records:
                sobject = self._store.record_type(record)
                values = self._store.coerce(sobject, record, allowed=("attributes", "id"))
                record_id = values.pop("Id", None) if "Id" in values else record.get("id")
                existing, problems = self._store.update_target(sobject, record_id, seen)
                if existing is not None:
                    problems = self._store.errors(sobject, values, existing)
                prepared.append((sobject, existing, values, problems))
            if all_or_none and any(p[3] for p in prepared):
                return _json(rolled_back_results([p[3] for p in prepared], [p[1] for p in prepared]))
            results = []
            for sobject, existing, values, problems in prepared:
                if problems or existing is None:
                    results.append({"id": existing["Id"] if existing else None, "success": False, "errors": problems})
                    continue
                saved = self._store.save(sobject, existing, values, INTEGRATION_USER_ID, None)
                results.append({"id": saved["Id"], "success": True, "errors": []})
        return _json(results)

    def _retrieve_collection(self, request: Request, version: str, sobject: str) -> Response:
        self._store.known(sobject, status=404)
        ids = [i for i in (request.args.get("ids") or "").split(",") if i]
        if not ids:
            raise refusal("MISSING_ARGUMENT", "ids: required parameter missing")
        if len(ids) > MAX_RETRIEVE_IDS:
            raise refusal("EXCEEDED_ID_LIMIT", f"cannot retrieve more than {MAX_RETRIEVE_IDS} records")
        if not request.args.get("fields"):
            raise refusal("MISSING_ARGUMENT", "fields: required parameter missing")
        names = self._store.field_list(sobject, request.args.get("fields"))
        with self._lock:
            answer: list[dict[str, Any] | None] = []
            for record_id in ids:
                found = self._store.find(sobject, record_id)
                answer.append(None if found is None else self._store.view(sobject, found, names, version))
        return _json(answer)

    # The stand-in's own endpoints --------------------------------------------------------------------------------

    def _set_faults(self, request: Request) -> Response:
        try:
            body = json_body(request, allow_empty=True)
        except SalesforceRefusal as refused:
            return _json(refused.errors, refused.status)
        if not isinstance(body, dict):
            return _json({"message": 'the body must be a JSON object like {"calls": 2, "kind": "request_limit"}'}, 400)
        if "outage" in body:
            if not isinstance(body["outage"], bool):
                return _json({"message": f"outage must be true or false, not {shown(body['outage'])}"}, 400)
            self.set_outage(body["outage"])
            return _json({"outage": body["outage"]})
        calls, kind = body.get("calls", 1), body.get("kind", "request_limit")
        retry_after = body.get("retry_after")
        if not _is_count(calls, MAX_FAULT_CALLS):
            return _json({"message": f"calls must be an integer from 0 to {MAX_FAULT_CALLS}, not {shown(calls)}"}, 400)
        if kind not in FAULT_KINDS:
            return _json({"message": f"kind must be one of {', '.join(FAULT_KINDS)}, not {shown(kind)}"}, 400)
        if retry_after is not None and not _is_count(retry_after, MAX_RETRY_AFTER):
            message = f"retry_after must be seconds from 0 to {MAX_RETRY_AFTER}, not {shown(retry_after)}"
            return _json({"message": message}, 400)
        self.fail_next(calls, kind, retry_after)
        return _json({"calls": calls, "kind": kind, "retry_after": retry_after})

    def _list_records(self, _: Request, sobject: str) -> Response:
        if sobject not in self._store.fields:
            return _json({"message": f"no such object {shown(sobject)}; objects: {', '.join(self._store.fields)}"}, 404)
        records = self.records(sobject)
        return _json({"records": records, "count": len(records)})

    def _list_calls(self, _: Request) -> Response:
        calls = self.calls()
        return _json({"calls": calls, "count": len(calls)})

    def _forget_calls(self, _: Request) -> Response:
        forgotten = self._calls.forget().kept
        return _json({"forgotten": forgotten})

    def _edit(self, request: Request) -> Response:
        try:
            body = json_body(request)
            if not isinstance(body, dict):
                raise refusal("JSON_PARSER_ERROR", "the body must be a JSON object")
            arguments = edit_arguments(body)
            return _json(self.edit(**arguments))
        except SalesforceRefusal as refused:
            return _json(refused.errors, refused.status)
        except LookupError as exc:
            return _json([{"message": str(exc), "errorCode": "NOT_FOUND"}], 404)

    def _list_deliveries(self, _: Request) -> Response:
        outbox = self._outbox.state()
        pending = outbox.waiting + (1 if outbox.in_flight else 0)
        return _json({"deliveries": [delivery_view(d) for d in outbox.deliveries], "pending": pending})

    # Outbound messages ------------------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """The store's lock for a call that saves: the outbound messages of its saves are queued together when
        it ends, as Salesforce queues a transaction's on commit (so one call's records batch together)."""
        with self._lock:
            try:
                yield
            finally:
                self._commit()

    def _commit(self) -> None:
        """Queues the notifications of the saves made so far (called under the store's lock, so the
        notifications queue in the order of the saves)."""
        self._outbox.enqueue(self._store.take_uncommitted())

    def _message(self, batch: list[Notification]) -> bytes:
        """The outbound message of one delivery: notifications of one sObject type."""
        with self._lock:
            instance = self._instance_url
        if instance is None:  # not called yet: the hub that serves the stand-in serves its webhooks too
            instance = _origin(self._outbox.url) + BASE_PATH
        return outbound_message(batch, instance, self.organization_id, self.api_version, self._store.fields)


def _origin(url: str | None) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "http://127.0.0.1"


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _is_count(value: object, most: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= most


def _errors(status: int, code: str, message: str) -> Response:
    return _json([{"message": message, "errorCode": code}], status)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json;charset=UTF-8")
