"""`CrmClient` over Salesforce's REST API with simple-salesforce (`simple_salesforce.Salesforce`).

Writes go as sObject Collections (`composite/sobjects`, up to 200 records a call, `allOrNone` false: a record
Salesforce refuses fails alone): those with a `crm_id` are updated; those with a `match_on` are looked up first,
with one SOQL query a batch (`WHERE Email IN (...)`; converted Leads left out, Salesforce keeps them read-only),
then the found ones are updated and the rest created. Reads go by ids (`composite/sobjects/{type}?ids=`) and by
`LastModifiedDate` (SOQL, oldest change first).

Failures of a call as a whole: REQUEST_LIMIT_EXCEEDED is `RateLimited` (after `Retry-After` when the answer has
one, else 60 s), a 5xx or no answer `CrmUnavailable`, an expired session is re-authenticated once and the call
tried once more (then `CrmRefused`), anything else Salesforce refuses `CrmRefused`. When a later call of a
`write` fails so after an earlier one applied records, the earlier results stand and the writes not yet sent
fail with the error (retryable unless refused).

Authentication and the transport that reaches the org: `salesforce_crm_auth.py`; what Salesforce's error
answers mean: `salesforce_crm_errors.py`; the SOQL sent: `salesforce_crm_soql.py`; answered records as the
port's snapshots: `salesforce_crm_records.py`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError, SalesforceExpiredSession

from shared.adapters.salesforce_crm_auth import DEFAULT_TIMEOUT_SECONDS, Connect, connector
from shared.adapters.salesforce_crm_auth import InstanceTransport as InstanceTransport  # callers import it from here
from shared.adapters.salesforce_crm_errors import RETRYABLE_RECORD_ERRORS, error_text, failure, record_errors_text
from shared.adapters.salesforce_crm_records import SALESFORCE_ID, field_value, snapshot
from shared.adapters.salesforce_crm_soql import FIELD_NAME, asked_fields, changes_query, in_lists, match_query
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

MAX_BATCH = 200  # records per sObject Collections call
MAX_READ_IDS = 200  # ids per collection read (Salesforce takes ~800 before the URL is too long)
SOBJECTS: Mapping[ObjectKind, str] = {"contact": "Lead", "account": "Account", "deal": "Opportunity"}
CONTACT_SOBJECTS = ("Lead", "Contact")
# The lookup field that links a record to another kind, by the record's sObject; a Lead has none (Salesforce
# links it to an account only when it is converted), so its associations are not sent.
ASSOCIATION_FIELDS: Mapping[tuple[str, ObjectKind], str] = {
    ("Contact", "account"): "AccountId",
    ("Opportunity", "account"): "AccountId",
    ("Task", "account"): "WhatId",  # a Task's "Related To": an Account (or an Opportunity)
}


class SalesforceCrm:
    """The CRM port for one Salesforce org. `connect` returns an authenticated `Salesforce` (called on first
    use, and again when Salesforce says the session expired); `contact_sobject`: what a hub contact is in this
    org, a Lead (the default) or a Contact."""

    name: CrmName = "salesforce"
    max_batch = MAX_BATCH

    def __init__(
        self,
        connect: Connect,
        contact_sobject: str = "Lead",
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        if contact_sobject not in CONTACT_SOBJECTS:
            raise ValueError(f"contact_sobject must be Lead or Contact, not {contact_sobject!r}")
        self._connect = connect
        self._timeout = timeout
        self.sobjects: Mapping[ObjectKind, str] = {**SOBJECTS, "contact": contact_sobject}
        self._lock = threading.Lock()
        self._client: Salesforce | None = None
        self._seen = threading.local()  # the last answer's Retry-After, per thread

    # The port ------------------------------------------------------------------------------------------------

    def write(self, writes: Sequence[OutboundWrite]) -> list[WriteResult]:
        results: list[WriteResult | None] = [None] * len(writes)
        try:
            for sobject in dict.fromkeys(self._sobject(w) for w in writes):
                positions = [i for i, w in enumerate(writes) if self._sobject(w) == sobject]
                for round_ in _rounds(writes, positions):
                    for chunk in _chunks(round_, self.max_batch):
                        self._write_chunk(sobject, [(i, writes[i]) for i in chunk], results)
        except (RateLimited, CrmUnavailable, CrmRefused) as exc:
            if not any(r is not None and r.ok for r in results):
                raise  # nothing applied: the call failed as a whole
            retryable = not isinstance(exc, CrmRefused)
            for i, result in enumerate(results):
                if result is None:
                    results[i] = WriteResult(writes[i].write_id, ok=False, error=str(exc), retryable=retryable)
        return [r for r in results if r is not None]

    def _sobject(self, write: OutboundWrite) -> str:
        """The sObject a write goes to: the one it names (an expansion's Task or Opportunity), else its kind's."""
        return write.crm_object or self.sobjects[write.kind]

    def erase(self, kind: ObjectKind, crm_ids: Sequence[str]) -> None:
        """Delete the records (a person's erasure): `DELETE sobjects/<Lead|Contact|...>/<id>` each; a record
        Salesforce no longer has (ENTITY_IS_DELETED, NOT_FOUND) is done. Raises as any call does (`_call`)."""
        sobject = self.sobjects[kind]
        for crm_id in crm_ids:
            if not SALESFORCE_ID.fullmatch(crm_id):
                continue  # not an id: no such record
            try:
                self._call(f"delete of {sobject} {crm_id}", "restful", f"sobjects/{sobject}/{crm_id}", method="DELETE")
            except CrmRefused as refused:
                if not any(code in str(refused) for code in ("NOT_FOUND", "ENTITY_IS_DELETED")):
                    raise

    def read(self, kind: ObjectKind, crm_ids: Sequence[str], fields: Sequence[str]) -> list[CrmSnapshot]:
        sobject = self.sobjects[kind]
        # an id that is not one cannot exist (and Salesforce answers null for it anyway)
        ids = list(dict.fromkeys(i for i in crm_ids if SALESFORCE_ID.fullmatch(i)))
        asked = asked_fields(fields)
        snapshots = []
        for chunk in _chunks(ids, MAX_READ_IDS):
            answer = self._call(
                f"read of {len(chunk)} {sobject}",
                "restful",
                f"composite/sobjects/{sobject}",
                params={"ids": ",".join(chunk), "fields": ",".join(asked)},
                timeout=self._timeout,
            )
            for record in answer or []:
                if isinstance(record, Mapping):
                    snapshots.append(snapshot(kind, record, fields))
        return snapshots

    def changed_since(
        self, kind: ObjectKind, since: datetime, fields: Sequence[str], limit: int = 200
    ) -> list[CrmSnapshot]:
        if limit <= 0:
            return []
        sobject = self.sobjects[kind]
        since = since.astimezone(UTC) if since.tzinfo else since.replace(tzinfo=UTC)
        soql = changes_query(sobject, fields, since, limit)
        answer = self._call(f"changes of {sobject}", "query_all", soql, timeout=self._timeout)
        snapshots = [snapshot(kind, r, fields) for r in answer.get("records", []) if isinstance(r, Mapping)]
        # the query starts at `since`'s whole second: what changed within it before `since` is left out here
        return [s for s in snapshots if s.modified_at > since]

    # Writes --------------------------------------------------------------------------------------------------

    def _write_chunk(
        self, sobject: str, items: list[tuple[int, OutboundWrite]], results: list[WriteResult | None]
    ) -> None:
        to_match = []
        for i, write in items:
            if write.crm_id is None and write.match_on is None:
                results[i] = WriteResult(write.write_id, ok=False, error="a write needs a crm_id or a match_on")
            elif write.crm_id is None and write.match_on is not None and not FIELD_NAME.fullmatch(write.match_on[0]):
                results[i] = WriteResult(write.write_id, ok=False, error=f"{write.match_on[0][:80]!r} is not a field")
            elif write.crm_id is None:
                to_match.append((i, write))
        found = self._find(sobject, to_match)
        updates: list[tuple[int, OutboundWrite, str]] = []
        creates: list[tuple[int, OutboundWrite, None]] = []
        for i, write in items:
            if results[i] is not None:
                continue
            crm_id = write.crm_id or found.get(i)
            if crm_id is not None:
                updates.append((i, write, crm_id))
            else:
                creates.append((i, write, None))
        # one update per record a call: a record matched by one write and named by another waits its turn
        while updates:
            now: list[tuple[int, OutboundWrite, str]] = []
            later: list[tuple[int, OutboundWrite, str]] = []
            ids: set[str] = set()
            for update in updates:
                (later if update[2] in ids else now).append(update)
                ids.add(update[2])
            self._send(sobject, "PATCH", now, results)
            updates = later
        if creates:
            self._send(sobject, "POST", creates, results)

    def _find(self, sobject: str, items: list[tuple[int, OutboundWrite]]) -> dict[int, str]:
        """The ids of the existing records that the writes match, by position: one query per field matched on
        (for each 200 values, fewer when they are long). Text compares without case, as SOQL does; the oldest
        record wins a tie. A write's own value first, then those an earlier create of it may have left
        (`match_also`)."""
        by_field: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        names: dict[str, str] = {}
        for i, write in items:
            assert write.match_on is not None
            field, value = write.match_on
            names.setdefault(field.lower(), field)
            by_field.setdefault(field.lower(), []).append((i, (value, *write.match_also)))
        found: dict[int, str] = {}
        for key, wanted in by_field.items():
            field = names[key]
            values = list(dict.fromkeys(v for _, vs in wanted for v in vs if v))
            ids: dict[str, str] = {}
            for chunk in in_lists(values, MAX_BATCH):
                answer = self._call(
                    f"match of {len(chunk)} {sobject} on {field}",
                    "query_all",
                    match_query(sobject, field, chunk),
                    timeout=self._timeout,
                )
                for record in answer.get("records", []):
                    value = field_value(record, field)
                    if isinstance(value, str) and isinstance(record.get("Id"), str):
                        ids.setdefault(value.casefold(), record["Id"])
            for i, candidates in wanted:
                crm_id = next((ids[v.casefold()] for v in candidates if v.casefold() in ids), None)
                if crm_id is not None:
                    found[i] = crm_id
        return found

    def find(self, kind: ObjectKind, field: str, values: Sequence[str]) -> list[str]:
        """The ids of every record of `kind` whose `field` holds one of the values (a SOQL `IN` per 200 values):
        how an erasure finds a record whose create was never answered."""
        sobject = self.sobjects[kind]
        if not FIELD_NAME.fullmatch(field):
            raise CrmRefused(f"{field[:80]!r} is not a Salesforce field name")
        ids: list[str] = []
        for chunk in in_lists([v for v in dict.fromkeys(values) if v], MAX_BATCH):
            answer = self._call(
                f"match of {len(chunk)} {sobject} on {field}",
                "query_all",
                match_query(sobject, field, chunk),
                timeout=self._timeout,
            )
            ids += [r["Id"] for r in answer.get("records", []) if isinstance(r.get("Id"), str)]
        return list(dict.fromkeys(ids))

    def _send(
        self,
        sobject: str,
        method: Literal["POST", "PATCH"],
        items: Sequence[tuple[int, OutboundWrite, str | None]],
        results: list[WriteResult | None],
    ) -> None:
        records = []
        for _, write, crm_id in items:
            record: dict[str, Any] = {"attributes": {"type": sobject}}
            if crm_id is not None:
                record["id"] = crm_id
            record |= self._values(sobject, write, create=crm_id is None)
            records.append(record)
        verb = "create" if method == "POST" else "update"
        answer = self._call(
            f"{verb} of {len(records)} {sobject}",
            "restful",
            "composite/sobjects",
            method=method,
            json={"allOrNone": False, "records": records},
            timeout=self._timeout,
        )
        if not isinstance(answer, list) or len(answer) != len(items):
            raise CrmUnavailable(f"Salesforce's answer to the {verb} of {len(records)} {sobject} is not one per record")
        for (i, write, crm_id), result in zip(items, answer, strict=True):
            result = result if isinstance(result, Mapping) else {}
            if result.get("success") is True:
                record_id = result.get("id") if isinstance(result.get("id"), str) else crm_id
                results[i] = WriteResult(write.write_id, ok=True, crm_id=record_id, created=method == "POST")
                continue
            errors = [e for e in result.get("errors") or [] if isinstance(e, Mapping)]
            codes = {str(e.get("statusCode")) for e in errors}
            results[i] = WriteResult(
                write.write_id,
                ok=False,
                crm_id=crm_id,
                error=record_errors_text(errors) or f"Salesforce refused the {verb} without saying why",
                retryable=bool(codes) and codes <= RETRYABLE_RECORD_ERRORS,
            )

    def _values(self, sobject: str, write: OutboundWrite, create: bool) -> dict[str, str | None]:
        values = dict(write.fields)
        for kind, linked in write.associate.items():
            field = ASSOCIATION_FIELDS.get((sobject, kind))
            if field is not None and not any(k.lower() == field.lower() for k in values):
                values[field] = linked
        if create and write.match_on is not None:
            field, value = write.match_on
            if not any(k.lower() == field.lower() for k in values):
                values[field] = value
        return values

    # Calls ---------------------------------------------------------------------------------------------------

    def _call(self, what: str, call: str, *args: Any, **kwargs: Any) -> Any:
        """`Salesforce.<call>(*args, **kwargs)`, its failures as the port's; an expired session is renewed and
        the call tried once more."""
        renewed = False
        while True:
            client = self._connection()
            try:
                return getattr(client, call)(*args, **kwargs)
            except SalesforceExpiredSession as exc:
                if renewed:
                    raise CrmRefused(
                        f"Salesforce refused a new session too ({what}): {error_text(exc.content)}"
                    ) from None
                self._forget(client)
                renewed = True
            except SalesforceError as exc:
                raise failure(what, exc, getattr(self._seen, "retry_after", None)) from None
            except requests.RequestException as exc:
                raise CrmUnavailable(f"Salesforce did not answer ({what}): {type(exc).__name__}") from None

    def _connection(self) -> Salesforce:
        with self._lock:
            if self._client is not None:
                return self._client
            try:
                client = self._connect()
            except SalesforceAuthenticationFailed as exc:
                if isinstance(exc.code, int) and exc.code >= 500:
                    raise CrmUnavailable(f"Salesforce's token endpoint answered {exc.code}") from None
                raise CrmRefused(f"Salesforce refused the credentials: {exc.code}: {exc.auth_message[:300]}") from None
            except requests.RequestException as exc:
                raise CrmUnavailable(f"Salesforce's token endpoint did not answer: {type(exc).__name__}") from None
            hooks = client.session.hooks.setdefault("response", [])
            if self._note_retry_after not in hooks:
                hooks.append(self._note_retry_after)
            self._client = client
            return client

    def _forget(self, client: Salesforce) -> None:
        with self._lock:
            if self._client is client:
                self._client = None

    def _note_retry_after(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._seen.retry_after = response.headers.get("Retry-After")


def salesforce_crm(
    credentials: Mapping[str, str],
    session: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> SalesforceCrm:
    """The port for the org the credentials name:

        {"auth": "client_credentials", "instance_url", "client_id", "client_secret"}
        {"auth": "jwt_bearer", "instance_url", "client_id", "username", "private_key" (PEM),
         "audience": "login" | "test" (optional: "test" for a sandbox)}

    and optionally "api_version" (simple-salesforce's, 59.0) and "contact_sobject" ("Lead" or "Contact").
    `instance_url` is the org's My Domain URL, or the local stand-in's. `session`: a requests Session used as
    it is (no transport mounted on it). Raises ValueError when a credential is missing (naming it, never a
    value); nothing is called until the first read or write."""
    connect = connector(credentials, session, timeout)
    return SalesforceCrm(connect, contact_sobject=credentials.get("contact_sobject") or "Lead", timeout=timeout)


def _rounds(writes: Sequence[OutboundWrite], positions: list[int]) -> list[list[int]]:
    """The writes in rounds that each touch a record once: the second write to the same id or the same match
    value goes in the second round (after the first has created the record it then updates)."""
    rounds: list[list[int]] = []
    seen: dict[tuple[str, ...], int] = {}
    for i in positions:
        write = writes[i]
        if write.crm_id is not None:
            target: tuple[str, ...] = ("id", write.crm_id)
        elif write.match_on is not None:
            target = ("match", write.match_on[0].lower(), write.match_on[1].casefold())
        else:
            target = ("none", str(i))
        turn = seen.get(target, 0)
        seen[target] = turn + 1
        while len(rounds) <= turn:
            rounds.append([])
        rounds[turn].append(i)
    return rounds


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
