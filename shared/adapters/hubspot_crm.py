"""`CrmClient` over HubSpot's CRM API with the official SDK (`hubspot-api-client`): contacts, companies and deals
(the hub's contact, account and deal) through the v3 objects batch endpoints, links through v4 default
associations.

Calls, for one `write`: per kind, records with a CRM id are updated (`batch/update`); contacts matched on their
email are upserted by it (`batch/upsert`, `idProperty=email`: created when new, `created` says so); other records
matched on a property are looked up by a search (`IN`, one per 100 values) and updated, or created
(`batch/create`); records with neither are created. At most 100 inputs a call, never one id twice in a call
(a later write to the same record goes in a later call). Links follow (`batch/associate/default`, per pair of
kinds).

Every input carries an `objectWriteTraceId` (the write's position), HubSpot's opt-in for multi-status answers:
a 207 names the refused inputs and the others are applied; each refused write fails alone (`retryable` False,
unless HubSpot's category is a transient one), and a write HubSpot's answer says nothing of fails retryable. A
whole call refused for one input's values (a 400 naming the property, or the value) fails the writes it names
and sends the others again; one that names none is split in halves until the refused writes stand alone.

Errors of a whole call: 429 -> `RateLimited` (`Retry-After`, else HubSpot's policy: 10 s for its ten-second
window, an hour for the daily one); 5xx, no answer, a timeout -> `CrmUnavailable`; 401/403 -> `CrmRefused`.
They are raised only while nothing of the `write` is applied yet; after that, the writes not done are
returned failed (retryable, but for `CrmRefused`), so a caller never writes twice what was applied.

No retries in the SDK (urllib3 `Retry(total=0)`): a Lambda never sleeps through a `Retry-After`, the caller's
retries decide. Every call has a timeout. `api_url` points every API module the adapter uses (the SDK makes a
`Configuration` per module, from the same settings) at another host: locally the hub's stand-in.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import urllib3
from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    BatchInputPublicDefaultAssociationMultiPost,
    PublicDefaultAssociationMultiPost,
    PublicObjectId,
)
from hubspot.crm.associations.v4.exceptions import ApiException as AssociationsApiException
from hubspot.crm.contacts import PublicGdprDeleteInput
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.objects import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
)
from hubspot.crm.objects.exceptions import ApiException as ObjectsApiException
from urllib3.util.retry import Retry

from shared.crm.ports import (
    CrmName,
    CrmRefused,
    CrmSnapshot,
    CrmUnavailable,
    ObjectKind,
    OutboundWrite,
    RateLimited,
    WriteResult,
)

OBJECT_TYPES: Mapping[str, str] = {"contact": "contacts", "account": "companies", "deal": "deals"}
MODIFIED_PROPERTY = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate", "deals": "hs_lastmodifieddate"}
MAX_BATCH = 100  # inputs per batch call, HubSpot's limit
MAX_SEARCH_PAGE = 200  # results per search call, HubSpot's limit
MAX_SEARCH_RESULTS = 10_000  # HubSpot pages no further into a search
MAX_IN_VALUES = 100
DEFAULT_RETRY_AFTER = 10.0  # HubSpot's ten-second window
DAILY_RETRY_AFTER = 3600.0
DEFAULT_TIMEOUT = (3.05, 10.0)  # seconds: to connect, to read
# One attempt per call: no retry on a failed connection, a read timeout, a redirect, nor a 429/503's Retry-After
# (urllib3's default retries GETs after sleeping through it).
NO_RETRY = Retry(
    total=0,
    connect=0,
    read=0,
    redirect=0,
    status=0,
    other=0,
    respect_retry_after_header=False,
    raise_on_redirect=False,
    raise_on_status=False,
)
# A per-input error of these categories may pass on a retry; any other (a value HubSpot refuses, a record it
# does not have) will not.
TRANSIENT_CATEGORIES = frozenset({"RATE_LIMITS", "INTERNAL_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT", "LOCKED"})
# Property errors that refuse every input setting the property, whatever the value.
PROPERTY_LEVEL_ERRORS = frozenset({"PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE", "PROPERTY_NOT_WRITABLE"})

_API_EXCEPTIONS = (ObjectsApiException, AssociationsApiException, ContactsApiException)
_INVALID_PROPERTIES = re.compile(r"Property values were not valid:\s*(\[.*\])\s*$", re.DOTALL)
_T = TypeVar("_T")


def hubspot_crm(
    access_token: str, api_url: str | None = None, timeout: tuple[float, float] = DEFAULT_TIMEOUT
) -> HubSpotCrm:
    """The adapter with a private app's access token. `api_url` None is HubSpot itself (api.hubapi.com);
    locally it is the hub's stand-in, `http://127.0.0.1:<port>/_local/crm/hubspot`."""
    settings: dict[str, Any] = {"access_token": access_token, "retry": NO_RETRY}
    if api_url:
        # The SDK sets each of these on the Configuration of every API module it builds (`host` included).
        settings["host"] = api_url.rstrip("/")
    return HubSpotCrm(HubSpot(**settings), timeout)


class HubSpotError(Exception):
    """A whole call refused with a 4xx other than 401, 403 and 429: HubSpot's error body, read."""

    def __init__(self, status: int, body: Mapping[str, Any], raw: str) -> None:
        self.status = status
        self.body = body
        self.category = str(body.get("category") or "")
        self.message = str(body.get("message") or raw[:300] or f"HTTP {status}")
        super().__init__(self.describe())

    def describe(self) -> str:
        return f"HubSpot {self.status} {self.category}: {self.message}"[:1000]


@dataclass
class _Item:
    """One write on its way: how it goes (`op`) and what makes it one record within a call (`key`)."""

    position: int
    write: OutboundWrite
    object_type: str
    op: str  # update | upsert | create
    crm_id: str | None = None
    key: str | None = None  # two items of one key never go in one call; None: unique
    matched_on: tuple[str, str] | None = None  # (property, lower-cased value) for a create found by no search

    @property
    def trace(self) -> str:
        return str(self.position)


@dataclass
class _Run:
    results: dict[int, WriteResult] = field(default_factory=dict)
    applied: bool = False  # some call of this write succeeded: no exception may lose what it did
    created: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (type, property, value) -> new id


class HubSpotCrm:
    name: CrmName = "hubspot"
    max_batch: int = MAX_BATCH

    def __init__(self, client: HubSpot, timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        # Built once: each API object holds its connection pool, kept across a warm Lambda's invocations.
        self._objects = client.crm.objects.batch_api
        self._search = client.crm.objects.search_api
        self._associations = client.crm.associations.v4.batch_api
        self._contacts = client.crm.contacts.basic_api  # the GDPR delete
        self._timeout = timeout

    @property
    def api_clients(self) -> list[Any]:
        """The SDK's API clients this adapter calls through (each with its own Configuration)."""
        return [api.api_client for api in (self._objects, self._search, self._associations, self._contacts)]

    # Erasure -----------------------------------------------------------------------------------------------------

    def erase(self, kind: ObjectKind, crm_ids: Sequence[str]) -> None:
        """Delete the records for good (a person's erasure): a contact by HubSpot's GDPR delete
        (`POST /crm/v3/objects/contacts/gdpr-delete`, which also blocks its email from coming back), one call
        each; a record HubSpot does not have (404) is done. Raises as a whole call does (`_call`), a refusal as
        `CrmRefused`."""
        if kind != "contact":
            raise CrmRefused(f"HubSpot erasure is for contacts, not {kind}")
        for crm_id in crm_ids:
            purge = PublicGdprDeleteInput(object_id=crm_id)
            try:
                self._call(functools.partial(self._contacts.purge, purge, _request_timeout=self._timeout))
            except HubSpotError as refused:
                if refused.status != 404:
                    raise CrmRefused(refused.describe()) from None

    # Writes ------------------------------------------------------------------------------------------------------

    def write(self, writes: Sequence[OutboundWrite]) -> list[WriteResult]:
        run = _Run()
        try:
            pending = self._plan(run, writes)
            while pending:
                now, later = _one_per_key(pending)
                for (object_type, op), items in _grouped(now):
                    for chunk in _chunks(items, MAX_BATCH):
                        self._send(run, object_type, op, chunk)
                pending = [self._again(run, item) for item in later]
        except (RateLimited, CrmUnavailable, CrmRefused) as stopped:
            if not run.applied:
                raise
            _fail_rest(run, writes, stopped)
        self._associate(run, writes)
        return [run.results[position] for position in range(len(writes))]

    def _plan(self, run: _Run, writes: Sequence[OutboundWrite]) -> list[_Item]:
        items, searched = [], []
        for position, write in enumerate(writes):
            object_type = OBJECT_TYPES.get(write.kind)
            if object_type is None:
                run.results[position] = _failed(write, f"no HubSpot object for kind {write.kind!r}")
            elif write.crm_id:
                items.append(
                    _Item(position, write, object_type, "update", write.crm_id, f"id:{object_type}:{write.crm_id}")
                )
            elif write.match_on and write.kind == "contact" and write.match_on[0] == "email":
                items.append(_Item(position, write, object_type, "upsert", key=f"email:{write.match_on[1].lower()}"))
            elif write.match_on:
                searched.append(_Item(position, write, object_type, "create"))
            else:
                items.append(_Item(position, write, object_type, "create"))
        if searched:
            items += self._matched(searched)
        return sorted(items, key=lambda item: item.position)

    def _matched(self, items: list[_Item]) -> list[_Item]:
        """Items matched on a property: updates of the records found, creates of the others (the first of a value
        creates; the others of that value update what it created, in a later call)."""
        wanted: dict[tuple[str, str], set[str]] = {}
        for item in items:
            prop, value = item.write.match_on or ("", "")
            wanted.setdefault((item.object_type, prop), set()).add(value.lower())
        found: dict[tuple[str, str, str], str] = {}
        for (object_type, prop), values in wanted.items():
            for value, record_id in self._find(object_type, prop, sorted(values)).items():
                found[(object_type, prop, value)] = record_id
        for item in items:
            prop, value = item.write.match_on or ("", "")
            crm_id = found.get((item.object_type, prop, value.lower()))
            if crm_id is not None:
                item.op, item.crm_id, item.key = "update", crm_id, f"id:{item.object_type}:{crm_id}"
            else:
                item.matched_on = (prop, value.lower())
                item.key = f"match:{item.object_type}:{prop}:{value.lower()}"
        return items

    def _find(self, object_type: str, prop: str, values: list[str]) -> dict[str, str]:
        """Lower-cased value -> id of the oldest record that has it."""
        found: dict[str, str] = {}
        for chunk in _chunks(values, MAX_IN_VALUES):
            after: str | None = None
            while True:
                request = PublicObjectSearchRequest(
                    filter_groups=[FilterGroup(filters=[Filter(property_name=prop, operator="IN", values=chunk)])],
                    sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                    properties=[prop],
                    limit=MAX_SEARCH_PAGE,
                    after=after,
                )
                page = self._read_call(
                    functools.partial(self._search.do_search, object_type, request, _request_timeout=self._timeout)
                )
                for result in page.results or []:
                    value = ((result.properties or {}).get(prop) or "").lower()
                    found.setdefault(value, str(result.id))
                after = _next_after(page)
                if after is None:
                    break
        return found

    def _again(self, run: _Run, item: _Item) -> _Item:
        """An item held for a later call: a create whose value another item just created becomes an update."""
        if item.matched_on is not None:
            created = run.created.get((item.object_type, *item.matched_on))
            if created is not None:
                return replace(
                    item, op="update", crm_id=created, key=f"id:{item.object_type}:{created}", matched_on=None
                )
        return item

    def _send(self, run: _Run, object_type: str, op: str, items: list[_Item]) -> None:
        try:
            answer = self._call(lambda: self._batch(object_type, op, items))
        except HubSpotError as refused:
            self._refused(run, object_type, op, items, refused)
            return
        run.applied = True
        self._collect(run, op, items, answer)

    def _batch(self, object_type: str, op: str, items: list[_Item]) -> Any:
        if op == "update":
            update = BatchInputSimplePublicObjectBatchInput(
                inputs=[
                    SimplePublicObjectBatchInput(
                        id=item.crm_id, properties=_values(item.write), object_write_trace_id=item.trace
                    )
                    for item in items
                ]
            )
            return self._objects.update(object_type, update, _request_timeout=self._timeout)
        if op == "upsert":
            upsert = BatchInputSimplePublicObjectBatchInputUpsert(
                inputs=[
                    SimplePublicObjectBatchInputUpsert(
                        id=(item.write.match_on or ("", ""))[1],
                        id_property="email",
                        properties=_values(item.write),
                        object_write_trace_id=item.trace,
                    )
                    for item in items
                ]
            )
            return self._objects.upsert(object_type, upsert, _request_timeout=self._timeout)
        create = BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(
                    properties=_created(item.write), object_write_trace_id=item.trace, associations=[]
                )
                for item in items
            ]
        )
        return self._objects.create(object_type, create, _request_timeout=self._timeout)

    def _collect(self, run: _Run, op: str, items: list[_Item], answer: Any) -> None:
        """Each item's fate from a 200/201/207: its result (by trace id, else by id or values) or its error."""
        by_trace = {item.trace: item for item in items}
        unanswered = {item.position: item for item in items}
        for result in getattr(answer, "results", None) or []:
            item = by_trace.get(str(getattr(result, "object_write_trace_id", None) or "")) or _by_record(
                op, result, list(unanswered.values())
            )
            if item is None or item.position not in unanswered:
                continue
            del unanswered[item.position]
            created = op == "create" or (op == "upsert" and bool(getattr(result, "new", False)))
            run.results[item.position] = WriteResult(item.write.write_id, True, crm_id=str(result.id), created=created)
            if item.matched_on is not None and created:
                run.created[(item.object_type, *item.matched_on)] = str(result.id)
        for error in getattr(answer, "errors", None) or []:
            category, message = str(error.category or ""), str(error.message or "")
            for item in _named(error.context or {}, list(unanswered.values())):
                del unanswered[item.position]
                retryable = category in TRANSIENT_CATEGORIES
                run.results[item.position] = _failed(item.write, f"HubSpot {category}: {message}", retryable)
        for item in unanswered.values():
            error = "HubSpot's answer names neither a result nor an error for this write"
            run.results[item.position] = _failed(item.write, error, retryable=True)

    def _refused(self, run: _Run, object_type: str, op: str, items: list[_Item], refused: HubSpotError) -> None:
        """A call refused as a whole (nothing of it applied): the writes it names fail, the others go again; when
        it names none, halves go again until the refused ones stand alone."""
        named = _culprits(refused, items)
        if named and len(named) < len(items):
            for item in named:
                run.results[item.position] = _failed(item.write, refused.describe())
            self._send(run, object_type, op, [item for item in items if item not in named])
        elif len(items) == 1 or named:
            for item in items:
                run.results[item.position] = _failed(item.write, refused.describe())
        else:
            half = len(items) // 2
            self._send(run, object_type, op, items[:half])
            self._send(run, object_type, op, items[half:])

    def _associate(self, run: _Run, writes: Sequence[OutboundWrite]) -> None:
        """Default associations of the records written; a write whose link is not made fails (its record kept)."""
        links: dict[tuple[str, str], list[tuple[int, str, str, str]]] = {}
        for position, write in enumerate(writes):
            result = run.results[position]
            if not result.ok or not result.crm_id:
                continue
            for linked_kind, linked_id in write.associate.items():
                pair = (OBJECT_TYPES.get(write.kind, write.kind), OBJECT_TYPES.get(linked_kind, linked_kind))
                links.setdefault(pair, []).append((position, result.crm_id, linked_kind, str(linked_id)))
        stopped: Exception | None = None
        for (from_type, to_type), pairs in links.items():
            for chunk in _chunks(pairs, MAX_BATCH):
                if stopped is not None:
                    for position, _, to_kind, to_id in chunk:
                        _link_failed(run, position, to_kind, to_id, str(stopped), _retryable(stopped))
                    continue
                try:
                    answer = self._call(functools.partial(self._link, from_type, to_type, chunk))
                except (RateLimited, CrmUnavailable, CrmRefused, HubSpotError) as exc:
                    # a refusal of this call alone (HubSpotError) does not stop the others
                    stopped = None if isinstance(exc, HubSpotError) else exc
                    for position, _, to_kind, to_id in chunk:
                        _link_failed(run, position, to_kind, to_id, str(exc), _retryable(exc))
                    continue
                _collect_links(run, chunk, answer)

    def _link(self, from_type: str, to_type: str, chunk: list[tuple[int, str, str, str]]) -> Any:
        body = BatchInputPublicDefaultAssociationMultiPost(
            inputs=[
                PublicDefaultAssociationMultiPost(_from=PublicObjectId(id=from_id), to=PublicObjectId(id=to_id))
                for _, from_id, _, to_id in chunk
            ]
        )
        return self._associations.create_default(from_type, to_type, body, _request_timeout=self._timeout)

    # Reads -------------------------------------------------------------------------------------------------------

    def read(self, kind: ObjectKind, crm_ids: Sequence[str], fields: Sequence[str]) -> list[CrmSnapshot]:
        object_type = _object_type(kind)
        properties = list(dict.fromkeys([*fields, MODIFIED_PROPERTY[object_type]]))
        found: dict[str, CrmSnapshot] = {}
        for chunk in _chunks(list(dict.fromkeys(str(crm_id) for crm_id in crm_ids)), MAX_BATCH):
            request = BatchReadInputSimplePublicObjectId(
                properties=properties,
                properties_with_history=[],
                inputs=[SimplePublicObjectId(id=crm_id) for crm_id in chunk],
            )
            answer = self._read_call(
                functools.partial(self._objects.read, object_type, request, _request_timeout=self._timeout)
            )
            # a 207's errors are the ids HubSpot does not have: left out
            for result in answer.results or []:
                found[str(result.id)] = _snapshot(kind, object_type, result, fields)
        return [found[crm_id] for crm_id in dict.fromkeys(str(crm_id) for crm_id in crm_ids) if crm_id in found]

    def changed_since(
        self, kind: ObjectKind, since: datetime, fields: Sequence[str], limit: int = 200
    ) -> list[CrmSnapshot]:
        object_type = _object_type(kind)
        modified = MODIFIED_PROPERTY[object_type]
        since_ms = int(_aware(since).timestamp() * 1000)
        properties = list(dict.fromkeys([*fields, modified]))
        snapshots: list[CrmSnapshot] = []
        after: str | None = None
        while len(snapshots) < limit:
            request = PublicObjectSearchRequest(
                filter_groups=[
                    FilterGroup(filters=[Filter(property_name=modified, operator="GT", value=str(since_ms))])
                ],
                sorts=[{"propertyName": modified, "direction": "ASCENDING"}],
                properties=properties,
                limit=min(MAX_SEARCH_PAGE, limit - len(snapshots)),
                after=after,
            )
            page = self._read_call(
                functools.partial(self._search.do_search, object_type, request, _request_timeout=self._timeout)
            )
            snapshots += [_snapshot(kind, object_type, result, fields) for result in page.results or []]
            after = _next_after(page)
            if after is None or not page.results:
                break
        return snapshots[:limit]

    # Calls -------------------------------------------------------------------------------------------------------

    def _read_call(self, call: Callable[[], _T]) -> _T:
        """A call that writes nothing: any refusal refuses the whole read."""
        try:
            return self._call(call)
        except HubSpotError as refused:
            raise CrmRefused(refused.describe()) from None

    def _call(self, call: Callable[[], _T]) -> _T:
        try:
            return call()
        except _API_EXCEPTIONS as exc:
            status = int(exc.status or 0)
            raw = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else str(exc.body or "")
            body = _json_object(raw)
            error = HubSpotError(status, body, raw)
            if status == 429:
                raise RateLimited(error.describe(), _retry_after(exc.headers, body)) from None
            if status in (401, 403):
                raise CrmRefused(error.describe()) from None
            if status == 0 or status >= 500 or not 400 <= status < 500:
                raise CrmUnavailable(error.describe() if status else f"HubSpot unreachable: {exc.reason}") from None
            raise error from None
        except urllib3.exceptions.HTTPError as exc:
            raise CrmUnavailable(f"HubSpot unreachable: {type(exc).__name__}: {str(exc)[:300]}") from None


# Helpers -------------------------------------------------------------------------------------------------------


def _object_type(kind: str) -> str:
    try:
        return OBJECT_TYPES[kind]
    except KeyError:
        raise ValueError(f"no HubSpot object for kind {kind!r}") from None


def _values(write: OutboundWrite, creating: bool = False) -> dict[str, str]:
    """The fields as HubSpot takes them: "" clears a property (nothing to clear on a create)."""
    if creating:
        return {name: value for name, value in write.fields.items() if value is not None}
    return {name: "" if value is None else value for name, value in write.fields.items()}


def _created(write: OutboundWrite) -> dict[str, str]:
    """A new record's properties: the fields set, and the value it was matched on (so that it matches next time)."""
    properties = _values(write, creating=True)
    if write.match_on is not None and write.match_on[1]:
        properties.setdefault(write.match_on[0], write.match_on[1])
    return properties


def _one_per_key(items: list[_Item]) -> tuple[list[_Item], list[_Item]]:
    now, later, seen = [], [], set()
    for item in items:
        if item.key is not None and item.key in seen:
            later.append(item)
        else:
            now.append(item)
            if item.key is not None:
                seen.add(item.key)
    return now, later


def _grouped(items: list[_Item]) -> Iterator[tuple[tuple[str, str], list[_Item]]]:
    groups: dict[tuple[str, str], list[_Item]] = {}
    for item in items:
        groups.setdefault((item.object_type, item.op), []).append(item)
    return iter(groups.items())


def _chunks(items: Sequence[_T], size: int) -> Iterator[list[_T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _by_record(op: str, result: Any, items: list[_Item]) -> _Item | None:
    """The item a result answers when HubSpot did not echo its trace id: by id, by email, or by the values
    written, when exactly one item fits."""
    properties = getattr(result, "properties", None) or {}
    if op == "update":
        fits = [item for item in items if item.crm_id == str(result.id)]
    elif op == "upsert":
        email = (properties.get("email") or "").lower()
        fits = [item for item in items if email and (item.write.match_on or ("", ""))[1].lower() == email]
    else:
        fits = [
            item
            for item in items
            if item.write.fields
            and all((properties.get(name) or None) == value for name, value in _values(item.write, True).items())
        ]
    return fits[0] if len(fits) == 1 else None


def _named(context: Mapping[str, Any], items: list[_Item]) -> list[_Item]:
    """The items an error's `context` names: by trace id, or by record id (an update's id, an upsert's email)."""
    traces = {str(value) for value in context.get("objectWriteTraceId") or []}
    ids = {str(value).lower() for value in context.get("ids") or []}
    return [
        item
        for item in items
        if item.trace in traces
        or (item.crm_id is not None and item.crm_id.lower() in ids)
        or (item.op == "upsert" and (item.write.match_on or ("", ""))[1].lower() in ids)
    ]


def _culprits(refused: HubSpotError, items: list[_Item]) -> list[_Item]:
    """The items a whole-call refusal is about: named in its context, or setting a property it names (any value
    for a property the portal lacks or does not let be written, the very value for a value it refuses)."""
    named = _named(refused.body.get("context") or {}, items) if isinstance(refused.body.get("context"), dict) else []
    problems = _property_problems(refused)
    culprits = []
    for item in items:
        values = _values(item.write)
        if item.op == "upsert":
            values.setdefault("email", (item.write.match_on or ("", ""))[1])
        for name, code, message in problems:
            if name not in values:
                continue
            if code in PROPERTY_LEVEL_ERRORS or _names_value(message, values[name]):
                culprits.append(item)
                break
    return [item for item in items if item in named or item in culprits]


def _names_value(message: str, value: str) -> bool:
    """Whether HubSpot's message about a value ("x@ is invalid", "vip was not one of the allowed options: [...]")
    is about this one: the value as a whole word, before any list of what is allowed."""
    if not value:
        return False
    head = message.split("[", 1)[0]
    return re.search(rf"(?<![\w@.+-]){re.escape(value)}(?![\w@.+-])", head) is not None


def _property_problems(refused: HubSpotError) -> list[tuple[str, str, str]]:
    """(property, error code, message) of each property a refusal names: from HubSpot's `errors` details and
    from the JSON list its "Property values were not valid: [...]" message carries."""
    problems = []
    for detail in refused.body.get("errors") or []:
        if isinstance(detail, dict):
            names = (detail.get("context") or {}).get("propertyName") or []
            for name in names if isinstance(names, list) else []:
                problems.append((str(name), str(detail.get("code") or ""), str(detail.get("message") or "")))
    listed = _INVALID_PROPERTIES.search(refused.message)
    if listed:
        try:
            entries = json.loads(listed.group(1))
        except ValueError:
            entries = []
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("name"):
                problems.append((str(entry["name"]), str(entry.get("error") or ""), str(entry.get("message") or "")))
    return problems


def _failed(write: OutboundWrite, error: str, retryable: bool = False) -> WriteResult:
    return WriteResult(write.write_id, False, error=error[:1000], retryable=retryable)


def _fail_rest(run: _Run, writes: Sequence[OutboundWrite], stopped: Exception) -> None:
    for position, write in enumerate(writes):
        if position not in run.results:
            run.results[position] = _failed(write, f"not sent: {stopped}", _retryable(stopped))


def _link_failed(run: _Run, position: int, to_kind: str, to_id: str, error: str, retryable: bool) -> None:
    result = run.results[position]
    message = f"written, but not associated with {to_kind} {to_id}: {error}"
    run.results[position] = replace(result, ok=False, error=message[:1000], retryable=retryable)


def _collect_links(run: _Run, chunk: list[tuple[int, str, str, str]], answer: Any) -> None:
    """A link HubSpot's answer does not list failed: for good when an error names one of its ends, retryable
    when none does."""
    linked = set()
    for result in getattr(answer, "results", None) or []:
        ends = (str(getattr(result._from, "id", "")), str(getattr(result.to, "id", "")))
        linked |= {ends, ends[::-1]}
    errors = [
        (
            {str(i) for i in (error.context or {}).get("fromObjectId") or []},
            {str(i) for i in (error.context or {}).get("toObjectId") or (error.context or {}).get("ids") or []},
            f"HubSpot {error.category}: {error.message}",
        )
        for error in getattr(answer, "errors", None) or []
    ]
    for position, from_id, to_kind, to_id in chunk:
        if (from_id, to_id) in linked:
            continue
        named = [message for starts, ends, message in errors if from_id in starts or to_id in ends]
        if named:
            _link_failed(run, position, to_kind, to_id, named[0], retryable=False)
        else:
            error = "HubSpot's answer names neither the association nor an error for it"
            _link_failed(run, position, to_kind, to_id, error, retryable=True)


def _retryable(exc: Exception) -> bool:
    return isinstance(exc, RateLimited | CrmUnavailable)


def _retry_after(headers: Any, body: Mapping[str, Any]) -> float:
    raw = headers.get("Retry-After") if headers is not None else None
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            try:
                return max(0.0, (parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds())
            except (TypeError, ValueError):
                pass
    return DAILY_RETRY_AFTER if str(body.get("policyName") or "").upper() == "DAILY" else DEFAULT_RETRY_AFTER


def _json_object(raw: str) -> dict[str, Any]:
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _next_after(page: Any) -> str | None:
    paging = getattr(page, "paging", None)
    following = getattr(paging, "next", None) if paging is not None else None
    after = getattr(following, "after", None) if following is not None else None
    if not after or (str(after).isdigit() and int(after) >= MAX_SEARCH_RESULTS):
        return None
    return str(after)


def _snapshot(kind: ObjectKind, object_type: str, result: Any, fields: Sequence[str]) -> CrmSnapshot:
    properties = result.properties or {}
    modified = _parse_time(properties.get(MODIFIED_PROPERTY[object_type]))
    updated = result.updated_at if isinstance(result.updated_at, datetime) else None
    return CrmSnapshot(
        kind=kind,
        crm_id=str(result.id),
        fields={name: properties.get(name) or None for name in fields},
        modified_at=modified or _aware(updated or datetime.fromtimestamp(0, UTC)),
    )


def _parse_time(value: object) -> datetime | None:
    """HubSpot's dates: ISO 8601 (`2026-11-25T12:00:00.123Z`), or epoch milliseconds in older properties."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        return _aware(datetime.fromisoformat(text))
    except (ValueError, OverflowError, OSError):
        return None


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
