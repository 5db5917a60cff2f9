"""A local stand-in for a Salesforce org, enough for the hub's CRM sync: simple-salesforce pointed at
`http://127.0.0.1:<port>/_local/crm/salesforce` (the org's instance URL, its My Domain) authenticates, reads and
writes Leads, Contacts, Accounts, Opportunities and Tasks here as it would in Salesforce; a workflow rule sends the
hub's webhook receiver an outbound message on every save of a Lead, Contact, Account or Opportunity; people and
tests change records as a user would, inject faults and read what was called.

Salesforce's API, under the instance URL (`BASE_PATH`), answering as Salesforce does:

    POST   /services/oauth2/token                    client_credentials (client id and secret in the form or
                                                     as HTTP Basic) or urn:ietf:params:oauth:grant-type:jwt-bearer
                                                     (an RS256 `assertion` whose `iss` is the client id and `sub`
                                                     a user; its signature is NOT verified: the stand-in holds no
                                                     connected app certificate) -> Salesforce's token JSON
    GET    /services/data/                           the API versions (no token needed)
    POST   /services/data/v59.0/sobjects/{type}/     create one: 201 {"id", "success": true, "errors": []}
    GET    /services/data/v59.0/sobjects/{type}/{id}[?fields=A,B]
    PATCH  /services/data/v59.0/sobjects/{type}/{id} update one: 204
    DELETE /services/data/v59.0/sobjects/{type}/{id} 204
    GET    /services/data/v59.0/query/?q=<SOQL>      {"totalSize", "done", "records", "nextRecordsUrl"?}: 2000 a
                                                     page (`Sforce-Query-Options: batchSize=200..2000`), the
                                                     rest from query/{locator}
    POST   /services/data/v59.0/composite/sobjects   create up to 200: {"allOrNone": bool, "records": [...]}
    PATCH  /services/data/v59.0/composite/sobjects   update up to 200 (each record with its "id")
    GET    /services/data/v59.0/composite/sobjects/{type}?ids=A,B&fields=X,Y   a record or null per id, in order

    Every call but the versions needs `Authorization: Bearer <a token issued here>` (else 401
    INVALID_SESSION_ID). A call refused as a whole answers `[{"message", "errorCode"}]` (INVALID_FIELD naming an
    unknown field, JSON_PARSER_ERROR, MALFORMED_QUERY, NOT_FOUND ...); a collection answers per record
    `{"id", "success", "errors": [{"statusCode", "message", "fields"}]}` (REQUIRED_FIELD_MISSING,
    INVALID_EMAIL_ADDRESS, INVALID_CROSS_REFERENCE_KEY for an owner that is not a user id (005...) or a lookup
    to no record, STRING_TOO_LONG, INVALID_FIELD_FOR_INSERT_UPDATE for a system field), all of them refused and
    the valid ones rolled back when `allOrNone`. URLs in answers (attributes.url, nextRecordsUrl) are relative to
    the instance URL, as Salesforce's are.

    SOQL, the subset the hub uses: SELECT field, ... FROM type [WHERE cond [AND cond ...]]
    [ORDER BY field [ASC|DESC]] [LIMIT n], a cond being `field op literal` (op = != < <= > >=) or
    `field [NOT] IN (literal, ...)`; literals 'text' (compared case-insensitively, as Salesforce does),
    numbers, true/false, null, dates (2026-01-01) and date-times (2026-01-01T00:00:00Z, +00:00 or +0000).

The stand-in's own, under `BASE_PATH` too:

    POST   /_faults      {"calls": N, "kind": "request_limit" | "server_error", "retry_after": S}: the next N
                         API calls answer 403 REQUEST_LIMIT_EXCEEDED (with `Retry-After: S` when given;
                         Salesforce sends none) or 503; {"outage": true | false}: every call 503 until cleared
    GET    /_records/{type}   {"records": [...], "count": N}, as the REST API shows them
    GET    /_calls       {"calls": [...], "count": N}: every call to /services/..., token calls flagged `token`
    DELETE /_calls       forgets them
    POST   /_edits       a user changes a record in the CRM: {"sobject": "Lead", "id": "00Q..." (or "email" to
                         find a Lead or Contact; neither: a record the user creates), "fields": {...},
                         "modified_at": ISO time (optional: a late-arriving older change), "modified_by": "005..."}
    GET    /_webhooks    {"deliveries": [...], "pending": N}: the outbound messages and what became of them

Outbound messages: every save of a Lead, Contact, Account or Opportunity (by the API or by an edit) becomes a
`Notification` (an `Id` of its own, the whole record as its `sObject`, null fields as `xsi:nil`) in a SOAP 1.1
`notifications` message to `webhook_url`, as `shared.webhooks.vendors.salesforce` reads it. One background worker
sends them in order, up to 100 notifications of one sObject type per message, and retries a message a few times
while the answer is not a 2xx with a SOAP `<Ack>true</Ack>` (or the connection fails); then the delivery is
recorded as failed. No `webhook_url`: nothing is sent.

In-process: `records`, `record`, `calls`, `reset_calls`, `fail_next`, `set_outage`, `edit`, `deliveries`,
`wait_until_delivered`, `revoke_tokens`, `rotate_client_secret`, `set_webhook_url`, `close`. Thread-safe: werkzeug
serves each request on a thread of its own. Bodies over 1 MB are refused (413); malformed input never answers a
500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import jwt
import requests
from werkzeug.wrappers import Request, Response

from local_runtime.crm_webhooks import Attempt, CallLog, Delivery, Faults, WebhookDeliveries, wsgi_application
from local_runtime.gateway import LocalRoute

BASE_PATH = "/_local/crm/salesforce"
API_VERSION = "59.0"
ORGANIZATION_ID = "00D000000000001AAA"
CLIENT_ID = "local-salesforce-client-id"
CLIENT_SECRET = "local-salesforce-client-secret-dev-only"  # noqa: S105 - the stand-in's own, for local use only
INTEGRATION_USER_ID = "005000000000000AAA"  # whom tokens are issued to: API writes are theirs
DEFAULT_EDITOR_ID = "005000000000009AAA"  # who an edit is by when it names nobody and the record has no owner

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_BODY_BYTES = 1024 * 1024
MAX_COLLECTION = 200  # records per sObject Collections create or update
MAX_RETRIEVE_IDS = 2000
QUERY_BATCH = 2000  # records per query page (Sforce-Query-Options batchSize: 200 to 2000)
MAX_QUERY_LENGTH = 100_000
MAX_LIMIT = 50_000
MAX_NOTIFICATIONS = 100  # per outbound message
MAX_FAULT_CALLS = 1000
MAX_RETRY_AFTER = 86_400
CALLS_KEPT = 10_000
DELIVERIES_KEPT = 5_000
TOKENS_KEPT = 1_000
CURSORS_KEPT = 100
FAULT_KINDS = ("request_limit", "server_error")
NOTIFIED = ("Lead", "Contact", "Account", "Opportunity")  # the objects the workflow rule's outbound message is on

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
ENTERPRISE_NS = "urn:sobject.enterprise.soap.sforce.com"

_SYSTEM = ("CreatedDate", "LastModifiedDate", "LastModifiedById", "SystemModstamp")
_REVOPS_PERSON = (
    "RevOps_Score__c",
    "RevOps_Score_Factors__c",
    "RevOps_Lifecycle_Stage__c",
    "RevOps_MQL_Date__c",
    "RevOps_Handoff_Status__c",
    "RevOps_Sync_Version__c",
)
DEFAULT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "Lead": (
        "Id",
        "Email",
        "FirstName",
        "LastName",
        "Company",
        "Title",
        "Phone",
        "Country",
        "Status",
        "LeadSource",
        "OwnerId",
        "Industry",
        "NumberOfEmployees",
        "AnnualRevenue",
        "IsConverted",
        *_SYSTEM,
        *_REVOPS_PERSON,
    ),
    "Contact": (
        "Id",
        "Email",
        "FirstName",
        "LastName",
        "AccountId",
        "Title",
        "Phone",
        "MailingCountry",
        "LeadSource",
        "OwnerId",
        *_SYSTEM,
        *_REVOPS_PERSON,
    ),
    "Account": (
        "Id",
        "Name",
        "Website",
        "Industry",
        "NumberOfEmployees",
        "AnnualRevenue",
        "BillingCountry",
        "OwnerId",
        *_SYSTEM,
        "RevOps_Health_Score__c",
        "RevOps_Health_Band__c",
        "RevOps_Sync_Version__c",
    ),
    "Opportunity": (
        "Id",
        "Name",
        "Amount",
        "StageName",
        "CloseDate",
        "AccountId",
        "OwnerId",
        "IsWon",
        "IsClosed",
        *_SYSTEM,
        "RevOps_Attribution_Summary__c",
        "RevOps_Sync_Version__c",
    ),
    "Task": ("Id", "Subject", "WhoId", "WhatId", "OwnerId", "Status", "Description", "ActivityDate", *_SYSTEM),
}
"""The fields each object has (its `Id` first): the default of `LocalSalesforce(fields=...)`."""

KEY_PREFIXES = {"Lead": "00Q", "Contact": "003", "Account": "001", "Opportunity": "006", "Task": "00T"}
REQUIRED = {
    "Lead": ("LastName", "Company"),
    "Contact": ("LastName",),
    "Account": ("Name",),
    "Opportunity": ("Name", "StageName", "CloseDate"),
}
READ_ONLY = frozenset({"Id", *_SYSTEM, "IsConverted", "IsWon", "IsClosed"})
# A field's type by name (any field not named here is text of up to 255 characters).
FIELD_TYPES = {
    "Id": "id",
    "OwnerId": "user",
    "LastModifiedById": "user",
    "AccountId": "reference",
    "WhoId": "reference",
    "WhatId": "reference",
    "CreatedDate": "datetime",
    "LastModifiedDate": "datetime",
    "SystemModstamp": "datetime",
    "CloseDate": "date",
    "ActivityDate": "date",
    "RevOps_MQL_Date__c": "date",
    "IsConverted": "boolean",
    "IsWon": "boolean",
    "IsClosed": "boolean",
    "NumberOfEmployees": "int",
    "AnnualRevenue": "double",
    "Amount": "double",
    "RevOps_Score__c": "double",
    "RevOps_Health_Score__c": "double",
    "RevOps_Sync_Version__c": "double",
    "Email": "email",
    "Description": "textarea",
    "RevOps_Score_Factors__c": "textarea",
    "RevOps_Attribution_Summary__c": "textarea",
}
LOOKUP_TARGETS = {"AccountId": ("Account",), "WhoId": ("Lead", "Contact"), "WhatId": ("Account", "Opportunity")}
MAX_LENGTHS = {"string": 255, "email": 80, "textarea": 131_072}
LABELS = {"OwnerId": "Owner ID", "AccountId": "Account ID", "WhoId": "Name ID", "WhatId": "Related To ID"}

_ID = re.compile(r"[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?")
_USER_ID = re.compile(r"005[a-zA-Z0-9]{12}(?:[A-Z0-5]{3})?")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")
_ACK = re.compile(rb"<(?:[\w.-]+:)?Ack>\s*true\s*</(?:[\w.-]+:)?Ack>")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


class SalesforceRefusal(ValueError):
    """What Salesforce answers when it refuses a change: `errors` as it lists them
    ([{"statusCode" | "errorCode", "message", "fields"}]) and the HTTP status of the answer."""

    def __init__(self, errors: list[dict[str, Any]], status: int = 400) -> None:
        super().__init__("; ".join(f"{e.get('statusCode') or e.get('errorCode')}: {e['message']}" for e in errors))
        self.errors = errors
        self.status = status


def _refusal(code: str, message: str, status: int = 400) -> SalesforceRefusal:
    """A call refused as a whole, in the REST API's shape: [{"message", "errorCode"}]."""
    return SalesforceRefusal([{"message": message, "errorCode": code}], status)


def _record_error(code: str, message: str, fields: Sequence[str] = ()) -> dict[str, Any]:
    """One record's error, in the shape sObject Collections answer it."""
    return {"statusCode": code, "message": message, "fields": list(fields)}


@dataclass
class _Notification:
    id: str
    sobject: str
    record: dict[str, Any]  # a copy of the record as saved


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
        self._versions = _versions(api_version)
        self._fields = {sobject: tuple(dict.fromkeys(("Id", *names))) for sobject, names in fields.items()}
        self._by_lower = {sobject: {n.lower(): n for n in names} for sobject, names in self._fields.items()}
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, dict[str, Any]]] = {sobject: {} for sobject in self._fields}
        self._deleted: dict[str, str] = {}
        self._tokens: OrderedDict[str, str] = OrderedDict()
        self._cursors: OrderedDict[str, tuple[int, list[dict[str, Any]]]] = OrderedDict()
        self._calls = CallLog(CALLS_KEPT)
        self._faults = Faults(FAULT_KINDS, retry_after=None)
        # A pod of its own per stand-in, so ids from two runs do not collide.
        self._pod = "".join(secrets.choice(_BASE62[1:]) for _ in range(2))
        self._sequence = itertools.count(1)
        self._instance_url: str | None = None
        self._outbox: WebhookDeliveries[_Notification, bytes] = WebhookDeliveries(
            url=webhook_url,
            prepare=self._message,
            send=_post_message,
            retry_delays=retry_delays,
            max_batch=MAX_NOTIFICATIONS,
            kept=DELIVERIES_KEPT,
            thread_name="local-salesforce-outbound",
            join_timeout=5,
            batch_key=lambda notification: notification.sobject,
            url_at_each_attempt=True,
        )
        self._uncommitted: list[_Notification] = []  # saved, queued when the call ends (`_transaction`)

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
            return [self._view(sobject, r) for r in self._records_of(sobject).values()]

    def record(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._records_of(sobject).get(_id18(record_id) if len(record_id) == 15 else record_id)
            return None if found is None else self._view(sobject, found)

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
        at = _edit_time(modified_at)
        if modified_by is not None and not _USER_ID.fullmatch(modified_by):
            raise _refusal("INVALID_CROSS_REFERENCE_KEY", f"modified_by is not a user id (005...): {modified_by[:40]}")
        with self._transaction():
            existing: dict[str, Any] | None = None
            if record_id is None and email is None:
                if sobject is None or sobject not in self._fields:
                    raise _refusal("INVALID_TYPE", f"sObject type '{_shown(sobject)}' is not supported.")
            else:
                sobject, existing = self._find_for_edit(sobject, record_id, email)
            coerced = self._coerce(sobject, values)
            errors = self._errors(sobject, coerced, existing)
            if errors:
                raise SalesforceRefusal(_rest_errors(errors))
            owner = (coerced if existing is None else existing).get("OwnerId")
            user = modified_by or _text_or_none(owner) or DEFAULT_EDITOR_ID
            saved = self._save(sobject, existing, coerced, user, at)
            return self._view(sobject, saved)

    def deliveries(self) -> list[dict[str, Any]]:
        """Every outbound message sent or being sent, oldest first, with what became of it."""
        return self._outbox.views(_delivery_view)

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
                    "at": _iso(self._clock()),
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
        except SalesforceRefusal as refusal:
            return _json(refusal.errors, refusal.status)

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
        grant = form.get("grant_type")
        if grant == "client_credentials":
            client_id, client_secret = form.get("client_id"), form.get("client_secret")
            basic = _basic_credentials(request.headers.get("Authorization"))
            if basic is not None:
                client_id, client_secret = basic
            with self._lock:
                expected = self._client_secret
            if not (
                client_id is not None
                and client_secret is not None
                and hmac.compare_digest(client_id.encode(), self.client_id.encode())
                and hmac.compare_digest(client_secret.encode(), expected.encode())
            ):
                return _json({"error": "invalid_client", "error_description": "invalid client credentials"}, 400)
        elif grant == JWT_BEARER:
            problem = self._assertion_problem(form.get("assertion"))
            if problem is not None:
                return _json({"error": problem[0], "error_description": problem[1]}, 400)
        elif grant is None:
            return _json({"error": "invalid_request", "error_description": "grant type not specified"}, 400)
        else:
            return _json({"error": "unsupported_grant_type", "error_description": "grant type not supported"}, 400)
        return _json(self._issue(request))

    def _assertion_problem(self, assertion: str | None) -> tuple[str, str] | None:
        """Why a JWT bearer assertion is refused, or None. Its signature is not verified: a real org checks it
        against the connected app's certificate, which the stand-in does not hold."""
        if not assertion:
            return "invalid_request", "assertion not specified"
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return "invalid_grant", "invalid assertion"
        if header.get("alg") != "RS256":
            return "invalid_grant", "invalid assertion: the algorithm must be RS256"
        issuer = claims.get("iss")
        if not isinstance(issuer, str) or not hmac.compare_digest(issuer.encode(), self.client_id.encode()):
            return "invalid_client", "client identifier invalid"
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            return "invalid_grant", "invalid assertion: no subject"
        expires = claims.get("exp")
        try:
            expired = float(str(expires)) < time.time()  # simple-salesforce sends it as a string
        except (TypeError, ValueError):
            return "invalid_grant", "invalid assertion: no expiration"
        if expired:
            return "invalid_grant", "expired authorization code"
        return None

    def _issue(self, request: Request) -> dict[str, str]:
        instance_url = request.host_url.rstrip("/") + BASE_PATH
        access_token = f"{self.organization_id[:15]}!{secrets.token_urlsafe(48)}"
        identity = f"{instance_url}/id/{self.organization_id}/{INTEGRATION_USER_ID}"
        issued_at = str(int(self._clock().timestamp() * 1000))
        with self._lock:
            secret = self._client_secret
            self._tokens[access_token] = self.client_id
            while len(self._tokens) > TOKENS_KEPT:
                self._tokens.popitem(last=False)
        # as Salesforce signs it: HMAC-SHA256 of the id URL and issued_at with the client secret
        signature = hmac.new(secret.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
        return {
            "access_token": access_token,
            "instance_url": instance_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": base64.b64encode(signature).decode(),
        }

    # REST resources ---------------------------------------------------------------------------------------------

    def _list_versions(self, _: Request) -> Response:
        return _json([{"label": f"API {v}", "url": f"/services/data/v{v}", "version": v} for v in self._versions])

    def _resources(self, _: Request, version: str) -> Response:
        base = f"/services/data/v{version}"
        return _json({name: f"{base}/{name}" for name in ("sobjects", "query", "composite")})

    def _not_found(self, _: Request, version: str, rest: str) -> Response:
        return _errors(404, "NOT_FOUND", "The requested resource does not exist")

    def _create(self, request: Request, version: str, sobject: str) -> Response:
        self._known(sobject, status=404)
        body = _object_body(request)
        with self._transaction():
            values = self._coerce(sobject, body, allowed=("attributes",))
            errors = self._errors(sobject, values, None)
            if errors:
                raise SalesforceRefusal(_rest_errors(errors))
            saved = self._save(sobject, None, values, INTEGRATION_USER_ID, None)
        response = _json({"id": saved["Id"], "success": True, "errors": []}, 201)
        response.headers["Location"] = f"/services/data/v{version}/sobjects/{sobject}/{saved['Id']}"
        return response

    def _get(self, request: Request, version: str, sobject: str, record_id: str) -> Response:
        self._known(sobject, status=404)
        names = self._field_list(sobject, request.args.get("fields"))
        with self._lock:
            found = self._existing(sobject, record_id)
            return _json(self._view(sobject, found, names, version))

    def _update(self, request: Request, version: str, sobject: str, record_id: str) -> Response:
        self._known(sobject, status=404)
        body = _object_body(request)
        with self._transaction():
            existing = self._existing(sobject, record_id)
            values = self._coerce(sobject, body, allowed=("attributes",))
            errors = self._errors(sobject, values, existing)
            if errors:
                raise SalesforceRefusal(_rest_errors(errors))
            self._save(sobject, existing, values, INTEGRATION_USER_ID, None)
        return Response(status=204)

    def _delete(self, _: Request, version: str, sobject: str, record_id: str) -> Response:
        self._known(sobject, status=404)
        with self._lock:
            existing = self._existing(sobject, record_id)
            del self._records[sobject][existing["Id"]]
            self._deleted[existing["Id"]] = sobject
        return Response(status=204)

    def _query(self, request: Request, version: str) -> Response:
        text = request.args.get("q")
        if not text:
            raise _refusal("MALFORMED_QUERY", "A query string has to be specified")
        if len(text) > MAX_QUERY_LENGTH:
            raise _refusal("QUERY_TOO_COMPLICATED", f"the query is longer than {MAX_QUERY_LENGTH} characters")
        batch = _batch_size(request.headers.get("Sforce-Query-Options"))
        with self._lock:
            query = _parse_soql(text, self._fields, self._by_lower)
            found = [r for r in self._records[query.sobject].values() if all(c.holds(r) for c in query.conditions)]
            if query.order is not None:
                name, descending = query.order
                found.sort(key=lambda r: _sort_key(r.get(name)), reverse=descending)
            if query.limit is not None:
                found = found[: query.limit]
            views = [self._view(query.sobject, r, query.fields, version) for r in found]
            return _json(self._page(views, 0, batch, version, None))

    def _query_more(self, request: Request, version: str, locator: str) -> Response:
        cursor, _, offset = locator.rpartition("-")
        with self._lock:
            kept = self._cursors.get(cursor)
            if kept is None or not offset.isdigit() or int(offset) > len(kept[1]):
                raise _refusal("INVALID_QUERY_LOCATOR", "invalid query locator")
            return _json(self._page(kept[1], int(offset), kept[0], version, cursor))

    def _page(
        self, views: list[dict[str, Any]], offset: int, batch: int, version: str, cursor: str | None
    ) -> dict[str, Any]:
        """One page of a query's records (called under the lock): a cursor keeps the rest for query/{locator}."""
        end = offset + batch
        page: dict[str, Any] = {"totalSize": len(views), "done": end >= len(views), "records": views[offset:end]}
        if end < len(views):
            if cursor is None:
                cursor = self._new_id("01g")
                self._cursors[cursor] = (batch, views)
                while len(self._cursors) > CURSORS_KEPT:
                    self._cursors.popitem(last=False)
            page["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor}-{end}"
        return page

    def _create_collection(self, request: Request, version: str) -> Response:
        all_or_none, records = _collection_body(request)
        with self._transaction():
            prepared: list[tuple[str, dict[str, Any]]] = []
            for record in records:
                sobject = self._record_type(record)
                if "id" in record or "Id" in record:
                    raise _refusal("INVALID_FIELD", "cannot specify Id in an insert call")
                prepared.append((sobject, self._coerce(sobject, record, allowed=("attributes",))))
            errors = [self._errors(sobject, values, None) for sobject, values in prepared]
            if all_or_none and any(errors):
                return _json(_rolled_back(errors))
            results = []
            for (sobject, values), problems in zip(prepared, errors, strict=True):
                if problems:
                    results.append({"success": False, "errors": problems})
                    continue
                saved = self._save(sobject, None, values, INTEGRATION_USER_ID, None)
                results.append({"id": saved["Id"], "success": True, "errors": []})
        return _json(results)

    def _update_collection(self, request: Request, version: str) -> Response:
        all_or_none, records = _collection_body(request)
        with self._transaction():
            prepared: list[tuple[str, dict[str, Any] | None, dict[str, Any], list[dict[str, Any]]]] = []
            seen: set[str] = set()
            for record in records:
                sobject = self._record_type(record)
                values = self._coerce(sobject, record, allowed=("attributes", "id"))
                record_id = values.pop("Id", None) if "Id" in values else record.get("id")
                existing, problems = self._update_target(sobject, record_id, seen)
                if existing is not None:
                    problems = self._errors(sobject, values, existing)
                prepared.append((sobject, existing, values, problems))
            if all_or_none and any(p[3] for p in prepared):
                return _json(_rolled_back([p[3] for p in prepared], [p[1] for p in prepared]))
            results = []
            for sobject, existing, values, problems in prepared:
                if problems or existing is None:
                    results.append({"id": existing["Id"] if existing else None, "success": False, "errors": problems})
                    continue
                saved = self._save(sobject, existing, values, INTEGRATION_USER_ID, None)
                results.append({"id": saved["Id"], "success": True, "errors": []})
        return _json(results)

    def _retrieve_collection(self, request: Request, version: str, sobject: str) -> Response:
        self._known(sobject, status=404)
        ids = [i for i in (request.args.get("ids") or "").split(",") if i]
        if not ids:
            raise _refusal("MISSING_ARGUMENT", "ids: required parameter missing")
        if len(ids) > MAX_RETRIEVE_IDS:
            raise _refusal("EXCEEDED_ID_LIMIT", f"cannot retrieve more than {MAX_RETRIEVE_IDS} records")
        if not request.args.get("fields"):
            raise _refusal("MISSING_ARGUMENT", "fields: required parameter missing")
        names = self._field_list(sobject, request.args.get("fields"))
        with self._lock:
            kept = self._records[sobject]
            answer: list[dict[str, Any] | None] = []
            for record_id in ids:
                found = kept.get(_id18(record_id) if len(record_id) == 15 else record_id)
                answer.append(None if found is None else self._view(sobject, found, names, version))
        return _json(answer)

    # The stand-in's own endpoints --------------------------------------------------------------------------------

    def _set_faults(self, request: Request) -> Response:
        try:
            body = _json_body(request, allow_empty=True)
        except SalesforceRefusal as refusal:
            return _json(refusal.errors, refusal.status)
        if not isinstance(body, dict):
            return _json({"message": 'the body must be a JSON object like {"calls": 2, "kind": "request_limit"}'}, 400)
        if "outage" in body:
            if not isinstance(body["outage"], bool):
                return _json({"message": f"outage must be true or false, not {_shown(body['outage'])}"}, 400)
            self.set_outage(body["outage"])
            return _json({"outage": body["outage"]})
        calls, kind = body.get("calls", 1), body.get("kind", "request_limit")
        retry_after = body.get("retry_after")
        if not _is_count(calls, MAX_FAULT_CALLS):
            return _json({"message": f"calls must be an integer from 0 to {MAX_FAULT_CALLS}, not {_shown(calls)}"}, 400)
        if kind not in FAULT_KINDS:
            return _json({"message": f"kind must be one of {', '.join(FAULT_KINDS)}, not {_shown(kind)}"}, 400)
        if retry_after is not None and not _is_count(retry_after, MAX_RETRY_AFTER):
            message = f"retry_after must be seconds from 0 to {MAX_RETRY_AFTER}, not {_shown(retry_after)}"
            return _json({"message": message}, 400)
        self.fail_next(calls, kind, retry_after)
        return _json({"calls": calls, "kind": kind, "retry_after": retry_after})

    def _list_records(self, _: Request, sobject: str) -> Response:
        if sobject not in self._fields:
            return _json({"message": f"no such object {_shown(sobject)}; objects: {', '.join(self._fields)}"}, 404)
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
            body = _json_body(request)
            if not isinstance(body, dict):
                raise _refusal("JSON_PARSER_ERROR", "the body must be a JSON object")
            arguments = _edit_arguments(body)
            return _json(self.edit(**arguments))
        except SalesforceRefusal as refusal:
            return _json(refusal.errors, refusal.status)
        except LookupError as exc:
            return _json([{"message": str(exc), "errorCode": "NOT_FOUND"}], 404)

    def _list_deliveries(self, _: Request) -> Response:
        outbox = self._outbox.state()
        pending = outbox.waiting + (1 if outbox.in_flight else 0)
        return _json({"deliveries": [_delivery_view(d) for d in outbox.deliveries], "pending": pending})

    # Records: checks and saves (called under the lock) -----------------------------------------------------------

    def _known(self, sobject: str, status: int = 400) -> None:
        if sobject not in self._fields:
            if status == 404:
                raise _refusal("NOT_FOUND", "The requested resource does not exist", 404)
            raise _refusal("INVALID_TYPE", f"sObject type '{_shown(sobject)}' is not supported.")

    def _records_of(self, sobject: str) -> dict[str, dict[str, Any]]:
        if sobject not in self._records:
            raise LookupError(f"no such object {sobject!r}; objects: {', '.join(self._records)}")
        return self._records[sobject]

    def _existing(self, sobject: str, record_id: str) -> dict[str, Any]:
        key = _id18(record_id) if len(record_id) == 15 and _ID.fullmatch(record_id) else record_id
        found = self._records[sobject].get(key)
        if found is not None:
            return found
        if key in self._deleted:
            raise _refusal("ENTITY_IS_DELETED", "entity is deleted", 404)
        raise _refusal("NOT_FOUND", "The requested resource does not exist", 404)

    def _record_type(self, record: object) -> str:
        if not isinstance(record, dict):
            raise _refusal("JSON_PARSER_ERROR", "each record must be a JSON object")
        attributes = record.get("attributes")
        sobject = attributes.get("type") if isinstance(attributes, dict) else None
        if not isinstance(sobject, str) or not sobject:
            raise _refusal("INVALID_TYPE", "Must send a concrete entity type.")
        self._known(sobject)
        return sobject

    def _update_target(
        self, sobject: str, record_id: object, seen: set[str]
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        if not isinstance(record_id, str) or not record_id:
            return None, [_record_error("MISSING_ARGUMENT", "Id not specified in an update call")]
        if not _ID.fullmatch(record_id) or not record_id.startswith(KEY_PREFIXES[sobject]):
            return None, [_record_error("MALFORMED_ID", f"malformed id {record_id[:40]}", ["Id"])]
        key = _id18(record_id) if len(record_id) == 15 else record_id
        if key in seen:
            return None, [_record_error("DUPLICATE_VALUE", f"Duplicate id in list: {key}", ["Id"])]
        seen.add(key)
        found = self._records[sobject].get(key)
        if found is None:
            if key in self._deleted:
                return None, [_record_error("ENTITY_IS_DELETED", "entity is deleted")]
            return None, [_record_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")]
        return found, []

    def _find_for_edit(
        self, sobject: str | None, record_id: str | None, email: str | None
    ) -> tuple[str, dict[str, Any]]:
        if sobject is not None and sobject not in self._fields:
            raise _refusal("INVALID_TYPE", f"sObject type '{_shown(sobject)}' is not supported.")
        if record_id is not None:
            key = _id18(record_id) if len(record_id) == 15 and _ID.fullmatch(record_id) else record_id
            for name in [sobject] if sobject else list(self._records):
                found = self._records[name].get(key)
                if found is not None:
                    return name, found
            raise LookupError(f"no {sobject or 'record'} has the id {record_id[:40]}")
        wanted = (email or "").casefold()
        for name in [sobject] if sobject else ["Lead", "Contact"]:
            for record in self._records.get(name, {}).values():
                if isinstance(record.get("Email"), str) and record["Email"].casefold() == wanted:
                    return name, record
        raise LookupError(f"no {sobject or 'Lead or Contact'} has the email {(email or '')[:80]}")

    def _coerce(self, sobject: str, body: Mapping[str, Any], allowed: Sequence[str] = ()) -> dict[str, Any]:
        """The body's fields by their names, their values as the field's type holds them; a field the object
        does not have, or a value its type cannot take, refuses the whole call (as Salesforce's JSON parser does)."""
        values: dict[str, Any] = {}
        for key, value in body.items():
            if key in allowed:
                continue
            name = self._by_lower[sobject].get(str(key).lower())
            if name is None:
                raise _refusal("INVALID_FIELD", f"No such column '{_shown_name(key)}' on sobject of type {sobject}")
            values[name] = _coerce_value(name, FIELD_TYPES.get(name, "string"), value)
        return values

    def _errors(
        self, sobject: str, values: Mapping[str, Any], existing: Mapping[str, Any] | None
    ) -> list[dict[str, Any]]:
        """What Salesforce says of this record's values: nothing when it saves them."""
        errors = []
        read_only = [name for name in values if name in READ_ONLY and name != "Id"]
        if read_only:
            message = (
                f"Unable to create/update fields: {', '.join(read_only)}. Please check the security settings of "
                "this field and verify that it is read/write for your profile or permission set."
            )
            errors.append(_record_error("INVALID_FIELD_FOR_INSERT_UPDATE", message, read_only))
        merged = {**(existing or {}), **values}
        missing = [n for n in REQUIRED.get(sobject, ()) if n in self._fields[sobject] and merged.get(n) in (None, "")]
        if missing:
            errors.append(
                _record_error("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
            )
        for name, value in values.items():
            if value is None or name in READ_ONLY:
                continue
            kind = FIELD_TYPES.get(name, "string")
            if kind == "email" and not _EMAIL.fullmatch(value):
                errors.append(
                    _record_error("INVALID_EMAIL_ADDRESS", f"Email: invalid email address: {value[:80]}", [name])
                )
            elif kind in MAX_LENGTHS and len(value) > MAX_LENGTHS[kind]:
                message = f"{name}: data value too large: {value[:40]}... (max length={MAX_LENGTHS[kind]})"
                errors.append(_record_error("STRING_TOO_LONG", message, [name]))
            elif (kind == "user" and not _USER_ID.fullmatch(value)) or (
                kind == "reference" and not self._references(name, value)
            ):
                message = f"{LABELS.get(name, name)}: id value of incorrect type: {value[:40]}"
                errors.append(_record_error("INVALID_CROSS_REFERENCE_KEY", message, [name]))
        return errors

    def _references(self, name: str, value: str) -> bool:
        key = _id18(value) if len(value) == 15 and _ID.fullmatch(value) else value
        return any(key in self._records.get(target, {}) for target in LOOKUP_TARGETS.get(name, ()))

    def _save(
        self,
        sobject: str,
        existing: dict[str, Any] | None,
        values: Mapping[str, Any],
        user: str,
        modified_at: datetime | None,
    ) -> dict[str, Any]:
        now = _millis(self._clock())
        if existing is None:
            record: dict[str, Any] = dict.fromkeys(self._fields[sobject])
            record |= {"CreatedDate": now, "OwnerId": user} | _defaults(sobject)
            record["Id"] = self._new_id(KEY_PREFIXES[sobject])
            self._records[sobject][record["Id"]] = record
        else:
            record = existing
        record.update({k: v for k, v in values.items() if k != "Id"})
        if sobject == "Opportunity":
            stage = str(record.get("StageName") or "").strip().lower()
            record["IsWon"] = stage == "closed won"
            record["IsClosed"] = stage in ("closed won", "closed lost")
        record["LastModifiedDate"] = _millis(modified_at) if modified_at is not None else now
        record["LastModifiedById"] = user
        record["SystemModstamp"] = now
        for name in [n for n in record if n not in self._fields[sobject]]:
            del record[name]
        if sobject in NOTIFIED:  # the workflow rule: created, and every time it's edited
            self._uncommitted.append(_Notification(self._new_id("04l"), sobject, dict(record)))
        return record

    def _new_id(self, prefix: str) -> str:
        number = next(self._sequence)
        digits = ""
        for _ in range(10):
            number, digit = divmod(number, 62)
            digits = _BASE62[digit] + digits
        return _id18(f"{prefix}{self._pod}{digits}")

    def _field_list(self, sobject: str, requested: str | None) -> tuple[str, ...]:
        if not requested:
            return self._fields[sobject]
        names = []
        for raw in requested.split(","):
            name = self._by_lower[sobject].get(raw.strip().lower())
            if name is None:
                raise _refusal("INVALID_FIELD", f"No such column '{_shown_name(raw.strip())}' on entity '{sobject}'")
            names.append(name)
        return tuple(dict.fromkeys(names))

    def _view(
        self,
        sobject: str,
        record: Mapping[str, Any],
        names: Iterable[str] | None = None,
        version: str | None = None,
    ) -> dict[str, Any]:
        url = f"/services/data/v{version or self.api_version}/sobjects/{sobject}/{record['Id']}"
        view: dict[str, Any] = {"attributes": {"type": sobject, "url": url}}
        for name in names if names is not None else self._fields[sobject]:
            view[name] = _json_value(record.get(name))
        return view

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
        notifications, self._uncommitted = self._uncommitted, []
        self._outbox.enqueue(notifications)

    def _message(self, batch: list[_Notification]) -> bytes:
        """The outbound message of one delivery: notifications of one sObject type."""
        with self._lock:
            instance = self._instance_url
        if instance is None:  # not called yet: the hub that serves the stand-in serves its webhooks too
            instance = _origin(self._outbox.url) + BASE_PATH
        sobject = batch[0].sobject
        org15 = self.organization_id[:15]
        notifications = "".join(
            f"<Notification><Id>{n.id}</Id>"
            f'<sObject xsi:type="sf:{n.sobject}" xmlns:sf="{ENTERPRISE_NS}">'
            + "".join(_xml_field(name, n.record.get(name)) for name in self._fields[n.sobject])
            + "</sObject></Notification>"
            for n in batch
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            "<soapenv:Body>"
            f'<notifications xmlns="{OUTBOUND_NS}">'
            f"<OrganizationId>{escape(self.organization_id)}</OrganizationId>"
            f"<ActionId>{_action_id(sobject)}</ActionId>"
            '<SessionId xsi:nil="true"/>'
            f"<EnterpriseUrl>{escape(instance)}/services/Soap/c/{self.api_version}/{org15}</EnterpriseUrl>"
            f"<PartnerUrl>{escape(instance)}/services/Soap/u/{self.api_version}/{org15}</PartnerUrl>"
            f"{notifications}"
            "</notifications></soapenv:Body></soapenv:Envelope>"
        ).encode()


# SOQL --------------------------------------------------------------------------------------------------------------

_SOQL_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^'\\]|\\.)*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:?\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<op>!=|<>|<=|>=|=|<|>)
    | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}


@dataclass(frozen=True)
class _Condition:
    name: str
    op: str  # = != < <= > >= IN, NOT IN
    values: tuple[Any, ...]

    def holds(self, record: Mapping[str, Any]) -> bool:
        value = record.get(self.name)
        if self.op in ("IN", "NOT IN"):
            inside = any(_equal(value, v) for v in self.values)
            return inside if self.op == "IN" else not inside
        [literal] = self.values
        if self.op == "=":
            return _equal(value, literal)
        if self.op == "!=":
            return not _equal(value, literal)
        if value is None or literal is None:
            return False
        left, right = _comparable(value), _comparable(literal)
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[self.op]


@dataclass(frozen=True)
class _Query:
    sobject: str
    fields: tuple[str, ...]
    conditions: tuple[_Condition, ...]
    order: tuple[str, bool] | None  # the field, descending
    limit: int | None


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _SOQL_TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            raise _refusal("MALFORMED_QUERY", f"unexpected token: '{text[position:].strip()[:20]}'")
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
        position = match.end()
    return tokens


class _SoqlParser:
    def __init__(self, text: str, fields: Mapping[str, tuple[str, ...]], by_lower: Mapping[str, dict[str, str]]):
        self._tokens = _tokens(text)
        self._position = 0
        self._fields = fields
        self._by_lower = by_lower

    def parse(self) -> _Query:
        self._keyword("SELECT")
        selected = [self._name()]
        while self._take_punct(","):
            selected.append(self._name())
        self._keyword("FROM")
        sobject = self._name()
        if sobject not in self._fields:
            raise _refusal("INVALID_TYPE", f"sObject type '{_shown_name(sobject)}' is not supported.")
        names = tuple(dict.fromkeys(self._field(sobject, n) for n in selected))
        conditions: list[_Condition] = []
        if self._take_keyword("WHERE"):
            conditions.append(self._condition(sobject))
            while self._take_keyword("AND"):
                conditions.append(self._condition(sobject))
        order = None
        if self._take_keyword("ORDER"):
            self._keyword("BY")
            name = self._field(sobject, self._name())
            descending = False
            if self._take_keyword("DESC"):
                descending = True
            else:
                self._take_keyword("ASC")
            order = (name, descending)
        limit = None
        if self._take_keyword("LIMIT"):
            kind, value = self._next()
            if kind != "number" or not value.isdigit() or int(value) > MAX_LIMIT:
                raise _refusal("MALFORMED_QUERY", f"LIMIT must be an integer from 0 to {MAX_LIMIT}")
            limit = int(value)
        if self._position < len(self._tokens):
            raise _refusal("MALFORMED_QUERY", f"unexpected token: '{self._tokens[self._position][1][:40]}'")
        return _Query(sobject, names, tuple(conditions), order, limit)

    def _condition(self, sobject: str) -> _Condition:
        name = self._field(sobject, self._name())
        kind = FIELD_TYPES.get(name, "string")
        if self._take_keyword("NOT"):
            self._keyword("IN")
            return _Condition(name, "NOT IN", self._list(name, kind))
        if self._take_keyword("IN"):
            return _Condition(name, "IN", self._list(name, kind))
        lexeme, op = self._next()
        if lexeme != "op":
            raise _refusal("MALFORMED_QUERY", f"unexpected token: '{op[:40]}'")
        return _Condition(name, "!=" if op == "<>" else op, (self._literal(name, kind),))

    def _list(self, name: str, kind: str) -> tuple[Any, ...]:
        if not self._take_punct("("):
            raise _refusal("MALFORMED_QUERY", "IN needs a parenthesized list")
        values = [self._literal(name, kind)]
        while self._take_punct(","):
            values.append(self._literal(name, kind))
        if not self._take_punct(")"):
            raise _refusal("MALFORMED_QUERY", "unclosed IN list")
        return tuple(values)

    def _literal(self, name: str, kind: str) -> Any:
        lexeme, text = self._next()
        if lexeme == "name" and text.upper() == "NULL":
            return None
        expected = {
            "datetime": ("datetime", "dateTime"),
            "date": ("date", "date"),
            "boolean": ("name", "boolean"),
            "int": ("number", "number"),
            "double": ("number", "number"),
        }.get(kind, ("string", "string"))
        if lexeme != expected[0] or (kind == "boolean" and text.upper() not in ("TRUE", "FALSE")):
            quoted = "" if expected[0] == "string" else " and should not be enclosed in quotes"
            raise _refusal(
                "INVALID_FIELD", f"value of filter criterion for field '{name}' must be of type {expected[1]}{quoted}"
            )
        if kind == "datetime":
            return _parse_time(text)
        if kind == "boolean":
            return text.upper() == "TRUE"
        if kind in ("int", "double"):
            return float(text)
        if kind == "date":
            return text
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])

    def _field(self, sobject: str, raw: str) -> str:
        name = self._by_lower[sobject].get(raw.lower())
        if name is None:
            raise _refusal(
                "INVALID_FIELD",
                f"No such column '{_shown_name(raw)}' on entity '{sobject}'. If you are attempting to use a custom "
                "field, be sure to append the '__c' after the custom field name.",
            )
        return name

    def _next(self) -> tuple[str, str]:
        if self._position >= len(self._tokens):
            raise _refusal("MALFORMED_QUERY", "unexpected end of query")
        token = self._tokens[self._position]
        self._position += 1
        return token

    def _name(self) -> str:
        kind, text = self._next()
        if kind != "name":
            raise _refusal("MALFORMED_QUERY", f"unexpected token: '{text[:40]}'")
        return text

    def _keyword(self, word: str) -> None:
        if not self._take_keyword(word):
            found = self._tokens[self._position][1] if self._position < len(self._tokens) else "end of query"
            raise _refusal("MALFORMED_QUERY", f"expected {word}, found '{found[:40]}'")

    def _take_keyword(self, word: str) -> bool:
        if self._position < len(self._tokens):
            kind, text = self._tokens[self._position]
            if kind == "name" and text.upper() == word:
                self._position += 1
                return True
        return False

    def _take_punct(self, punct: str) -> bool:
        if self._position < len(self._tokens) and self._tokens[self._position] == ("punct", punct):
            self._position += 1
            return True
        return False


def _parse_soql(text: str, fields: Mapping[str, tuple[str, ...]], by_lower: Mapping[str, dict[str, str]]) -> _Query:
    return _SoqlParser(text, fields, by_lower).parse()


def _equal(value: Any, literal: Any) -> bool:
    if value is None or literal is None:
        return value is None and literal is None
    if isinstance(value, str) and isinstance(literal, str):
        return value.casefold() == literal.casefold()
    if isinstance(value, bool) or isinstance(literal, bool):
        return value is literal
    return bool(_comparable(value) == _comparable(literal))


def _comparable(value: Any) -> Any:
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def _sort_key(value: Any) -> tuple[bool, Any]:
    # Salesforce sorts nulls first when ascending (and so last when descending)
    return (value is not None, _comparable(value) if value is not None else 0)


def _batch_size(options: str | None) -> int:
    match = re.search(r"batchSize\s*=\s*(\d+)", options or "")
    return min(max(int(match.group(1)), 200), QUERY_BATCH) if match else QUERY_BATCH


# Values ------------------------------------------------------------------------------------------------------------


def _coerce_value(name: str, kind: str, value: Any) -> Any:
    """A JSON value as a field of `kind` holds it ("" is null, as Salesforce has it); what Salesforce's JSON
    parser would not take refuses the call."""
    if value is None or value == "":
        return None
    if isinstance(value, dict | list):
        token = "START_OBJECT" if isinstance(value, dict) else "START_ARRAY"
        raise _refusal("JSON_PARSER_ERROR", f"Cannot deserialize instance of {kind} from {token} value for {name}")
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    elif kind in ("int", "double"):
        number = _number(value)
        if number is not None and kind == "double":
            return number
        if number is not None and number.is_integer():
            return int(number)
    elif kind in ("date", "datetime"):
        if isinstance(value, str):
            with suppress(ValueError):
                return date.fromisoformat(value[:10]).isoformat() if kind == "date" else _millis(_parse_time(value))
    elif isinstance(value, bool):
        return "true" if value else "false"
    elif isinstance(value, int | float | str):
        return str(value)
    raise _refusal("JSON_PARSER_ERROR", f"Cannot deserialize instance of {kind} from value {_shown(value)} for {name}")


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _number(value: Any) -> float | None:
    """A finite number from a JSON number or a numeric string; None for anything else."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if abs(number) < 1e18 else None  # NaN fails the comparison too


def _defaults(sobject: str) -> dict[str, Any]:
    defaults: dict[str, dict[str, Any]] = {
        "Lead": {"Status": "Open - Not Contacted", "IsConverted": False},
        "Opportunity": {"IsWon": False, "IsClosed": False},
        "Task": {"Status": "Not Started"},
    }
    return dict(defaults.get(sobject, {}))


def _json_value(value: Any) -> Any:
    return _sf_time(value) if isinstance(value, datetime) else value


def _xml_field(name: str, value: Any) -> str:
    if value is None:
        return f'<sf:{name} xsi:nil="true"/>'
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime):
        text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    else:
        text = str(value)
    return f"<sf:{name}>{escape(text)}</sf:{name}>"


def _millis(moment: datetime) -> datetime:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)


def _sf_time(moment: datetime) -> str:
    """As Salesforce's REST API writes a date-time: 2026-01-01T12:00:00.000+0000."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _iso(moment: datetime) -> str:
    return _millis(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _edit_time(modified_at: datetime | str | None) -> datetime | None:
    if modified_at is None or isinstance(modified_at, datetime):
        return modified_at
    try:
        return _parse_time(modified_at)
    except ValueError:
        raise _refusal("JSON_PARSER_ERROR", f"modified_at is not an ISO-8601 time: {modified_at[:40]}") from None


def _edit_arguments(body: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - {"sobject", "id", "email", "fields", "modified_at", "modified_by"})
    if unknown:
        raise _refusal("JSON_PARSER_ERROR", f"unknown key(s): {', '.join(_shown_name(k) for k in unknown[:5])}")
    for key in ("sobject", "id", "email", "modified_at", "modified_by"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise _refusal("JSON_PARSER_ERROR", f"{key} must be a string")
    fields = body.get("fields") or {}
    if not isinstance(fields, dict):
        raise _refusal("JSON_PARSER_ERROR", "fields must be an object of field names to values")
    if body.get("id") is None and body.get("email") is None and body.get("sobject") is None:
        raise _refusal("MISSING_ARGUMENT", "name the sobject, and the record by id or email (neither: a new one)")
    return {
        "sobject": body.get("sobject"),
        "fields": fields,
        "record_id": body.get("id"),
        "email": body.get("email"),
        "modified_at": body.get("modified_at"),
        "modified_by": body.get("modified_by"),
    }


def _id18(id15: str) -> str:
    """Salesforce's 18-character id: the 15-character one and a suffix that encodes its capitals."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _CHECKSUM[bits]
    return id15 + suffix


def _action_id(sobject: str) -> str:
    """The outbound message's id (one outbound message action per object)."""
    return _id18(f"04k{NOTIFIED.index(sobject) + 1:012d}") if sobject in NOTIFIED else _id18("04k000000000000")


def _versions(latest: str) -> tuple[str, ...]:
    try:
        major = int(float(latest))
    except ValueError:
        raise ValueError(f"api_version must look like 59.0, not {latest!r}") from None
    return tuple(f"{v}.0" for v in range(min(55, major), major + 1))


def _delivery_view(delivery: Delivery[_Notification]) -> dict[str, Any]:
    """An outbound message and what became of it, as `deliveries` and /_webhooks list it."""
    return {
        "id": f"delivery-{delivery.number}",
        "sobject": delivery.items[0].sobject,
        "notification_ids": [n.id for n in delivery.items],
        "record_ids": [n.record["Id"] for n in delivery.items],
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status": delivery.response_status,
        "last_error": delivery.error,
        "url": delivery.url,
    }


# HTTP -----------------------------------------------------------------------------------------------------------------


def _post_message(url: str, body: bytes, attempt: int) -> Attempt:
    """Posts an outbound message (the same at every attempt): delivered when the receiver acknowledged it."""
    try:
        answer = requests.post(
            url,
            data=body,
            headers={
                "Content-Type": "text/xml; charset=utf-8",
                "SOAPAction": '""',
                "User-Agent": "Jakarta Commons-HttpClient/3.1",
            },
            timeout=10,
        )
    except requests.RequestException as exc:
        return Attempt(None, f"{type(exc).__name__}: {str(exc)[:200]}", False)
    if not 200 <= answer.status_code < 300:
        return Attempt(answer.status_code, f"HTTP {answer.status_code}: {answer.text[:200]}", False)
    if not _ACK.search(answer.content):
        return Attempt(answer.status_code, "the answer is not a SOAP Ack", False)
    return Attempt(answer.status_code, None, True)


def _read_body(request: Request) -> bytes:
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise _refusal("REQUEST_ENTITY_TOO_LARGE", f"the body exceeds {MAX_BODY_BYTES} bytes", 413)
    return raw


def _json_body(request: Request, allow_empty: bool = False) -> Any:
    raw = _read_body(request)
    if allow_empty and not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        message = str(exc)[:200] if isinstance(exc, ValueError) else "the JSON nests too deep"
        raise _refusal("JSON_PARSER_ERROR", message) from None


def _object_body(request: Request) -> dict[str, Any]:
    body = _json_body(request)
    if not isinstance(body, dict):
        raise _refusal("JSON_PARSER_ERROR", f"Cannot deserialize instance of sObject from {type(body).__name__}")
    return body


def _collection_body(request: Request) -> tuple[bool, list[Any]]:
    body = _object_body(request)
    records, all_or_none = body.get("records"), body.get("allOrNone", False)
    if not isinstance(all_or_none, bool):
        raise _refusal("JSON_PARSER_ERROR", "allOrNone must be true or false")
    if not isinstance(records, list) or not records:
        raise _refusal("MISSING_ARGUMENT", "records: a list of at least one record is required")
    if len(records) > MAX_COLLECTION:
        raise _refusal(
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_COLLECTION} records into this call",
        )
    return all_or_none, records


def _rolled_back(
    errors: list[list[dict[str, Any]]], existing: Sequence[Mapping[str, Any] | None] | None = None
) -> list[dict[str, Any]]:
    """Every record's result when allOrNone fails: its own errors, or that it was rolled back."""
    rolled_back = _record_error(
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using AllOrNone header",
    )
    results = []
    for position, problems in enumerate(errors):
        found = existing[position] if existing is not None else None
        results.append({"id": found["Id"] if found else None, "success": False, "errors": problems or [rolled_back]})
    return results


def _rest_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Record errors as a single-record call answers them: [{"message", "errorCode", "fields"}]."""
    return [{"message": e["message"], "errorCode": e["statusCode"], "fields": e["fields"]} for e in errors]


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        client_id, _, client_secret = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return client_id, client_secret


def _origin(url: str | None) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "http://127.0.0.1"


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _is_count(value: object, most: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= most


def _shown(value: object) -> str:
    return json.dumps(value, default=str)[:40]


def _shown_name(value: object) -> str:
    return str(value)[:80]


def _errors(status: int, code: str, message: str) -> Response:
    return _json([{"message": message, "errorCode": code}], status)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json;charset=UTF-8")
