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

Authentication (`salesforce_crm(credentials)`): the OAuth 2.0 client credentials flow or the JWT bearer flow of a
connected app, at the org's My Domain. For `https://<domain>.my.salesforce.com` simple-salesforce's own login
(`SalesforceLogin`) gets the token; for any other instance URL (the local stand-in,
`http://127.0.0.1:<port>/_local/crm/salesforce`), which simple-salesforce's login cannot spell, one small POST
to `<instance_url>/services/oauth2/token` does. Then the client is `Salesforce(instance_url=, session_id=)`.

simple-salesforce builds every URL as `https://<host[:port]>/services/...` from the instance URL's host
(`sf_instance`), dropping an `http` scheme and any path. So the session gets a requests transport adapter
(`InstanceTransport`, mounted as requests mounts adapters) that sends what simple-salesforce addresses to
`https://<host[:port]>` to the instance URL itself, scheme and path included; the library is neither patched
nor its attributes touched, and every code path of it (`sf.query`, `sf.restful`, `sf.Lead.create`, a query's
`nextRecordsUrl`) reaches the instance. For a real org the two are the same and nothing is rewritten. The
transport also gives every request a default timeout (simple-salesforce's login sets none).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.api import DEFAULT_API_VERSION
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError, SalesforceExpiredSession
from simple_salesforce.format import format_soql

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
MAX_IN_CHARACTERS = 6_000  # of a match query's IN list: the query goes in a GET's URL (16 KB at most, encoded)
DEFAULT_RETRY_AFTER = 60.0
MAX_RETRY_AFTER = 86_400.0
DEFAULT_TIMEOUT_SECONDS = 30.0
JWT_LIFETIME_SECONDS = 180  # Salesforce takes an assertion that expires within 3 minutes
SOBJECTS: Mapping[ObjectKind, str] = {"contact": "Lead", "account": "Account", "deal": "Opportunity"}
CONTACT_SOBJECTS = ("Lead", "Contact")
# The lookup field that links a record to another kind, by the record's sObject; a Lead has none (Salesforce
# links it to an account only when it is converted), so its associations are not sent.
ASSOCIATION_FIELDS: Mapping[tuple[str, ObjectKind], str] = {
    ("Contact", "account"): "AccountId",
    ("Opportunity", "account"): "AccountId",
}
RETRYABLE_RECORD_ERRORS = frozenset({"UNABLE_TO_LOCK_ROW"})  # another transaction held the record: try again

_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")
_SALESFORCE_ID = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?")
_LIBRARY_DOMAIN = re.compile(r"(?P<domain>[a-z0-9-]+(?:\.[a-z0-9-]+)*)\.salesforce\.com", re.IGNORECASE)

Connect = Callable[[], Salesforce]


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
            for kind in dict.fromkeys(w.kind for w in writes):
                positions = [i for i, w in enumerate(writes) if w.kind == kind]
                for round_ in _rounds(writes, positions):
                    for chunk in _chunks(round_, self.max_batch):
                        self._write_chunk(self.sobjects[kind], [(i, writes[i]) for i in chunk], results)
        except (RateLimited, CrmUnavailable, CrmRefused) as exc:
            if not any(r is not None and r.ok for r in results):
                raise  # nothing applied: the call failed as a whole
            retryable = not isinstance(exc, CrmRefused)
            for i, result in enumerate(results):
                if result is None:
                    results[i] = WriteResult(writes[i].write_id, ok=False, error=str(exc), retryable=retryable)
        return [r for r in results if r is not None]

    def erase(self, kind: ObjectKind, crm_ids: Sequence[str]) -> None:
        """Delete the records (a person's erasure): `DELETE sobjects/<Lead|Contact|...>/<id>` each; a record
        Salesforce no longer has (ENTITY_IS_DELETED, NOT_FOUND) is done. Raises as any call does (`_call`)."""
        sobject = self.sobjects[kind]
        for crm_id in crm_ids:
            if not _SALESFORCE_ID.fullmatch(crm_id):
                continue  # not an id: no such record
            try:
                self._call(f"delete of {sobject} {crm_id}", "restful", f"sobjects/{sobject}/{crm_id}", method="DELETE")
            except CrmRefused as refused:
                if not any(code in str(refused) for code in ("NOT_FOUND", "ENTITY_IS_DELETED")):
                    raise

    def read(self, kind: ObjectKind, crm_ids: Sequence[str], fields: Sequence[str]) -> list[CrmSnapshot]:
        sobject = self.sobjects[kind]
        # an id that is not one cannot exist (and Salesforce answers null for it anyway)
        ids = list(dict.fromkeys(i for i in crm_ids if _SALESFORCE_ID.fullmatch(i)))
        asked = _asked(fields)
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
                    snapshots.append(_snapshot(kind, record, fields))
        return snapshots

    def changed_since(
        self, kind: ObjectKind, since: datetime, fields: Sequence[str], limit: int = 200
    ) -> list[CrmSnapshot]:
        if limit <= 0:
            return []
        sobject = self.sobjects[kind]
        since = since.astimezone(UTC) if since.tzinfo else since.replace(tzinfo=UTC)
        # SOQL's date-times have whole seconds: the query starts at the second, and what changed within it
        # before `since` is left out here
        literal = since.strftime("%Y-%m-%dT%H:%M:%SZ")
        # field names are checked to be names (`_asked`), the object is one of SOBJECTS
        soql = (
            f"SELECT {', '.join(_asked(fields))} FROM {sobject} WHERE LastModifiedDate > {literal} "  # noqa: S608
            f"ORDER BY LastModifiedDate ASC LIMIT {int(limit)}"
        )
        answer = self._call(f"changes of {sobject}", "query_all", soql, timeout=self._timeout)
        snapshots = [_snapshot(kind, r, fields) for r in answer.get("records", []) if isinstance(r, Mapping)]
        return [s for s in snapshots if s.modified_at > since]

    # Writes --------------------------------------------------------------------------------------------------

    def _write_chunk(
        self, sobject: str, items: list[tuple[int, OutboundWrite]], results: list[WriteResult | None]
    ) -> None:
        to_match = []
        for i, write in items:
            if write.crm_id is None and write.match_on is None:
                results[i] = WriteResult(write.write_id, ok=False, error="a write needs a crm_id or a match_on")
            elif write.crm_id is None and write.match_on is not None and not _FIELD_NAME.fullmatch(write.match_on[0]):
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
        record wins a tie."""
        by_field: dict[str, list[tuple[int, str]]] = {}
        names: dict[str, str] = {}
        for i, write in items:
            assert write.match_on is not None
            field, value = write.match_on
            names.setdefault(field.lower(), field)
            by_field.setdefault(field.lower(), []).append((i, value))
        found: dict[int, str] = {}
        for key, wanted in by_field.items():
            field = names[key]
            values = list(dict.fromkeys(v for _, v in wanted if v))
            ids: dict[str, str] = {}
            for chunk in _in_lists(values):
                unconverted = " AND IsConverted = false" if sobject == "Lead" else ""
                # the field is checked to be a name, the values quoted by simple-salesforce's format_soql
                soql = (
                    f"SELECT Id, {field} FROM {sobject} WHERE {field} IN {format_soql('{}', chunk)}"  # noqa: S608
                    f"{unconverted} ORDER BY CreatedDate ASC"
                )
                answer = self._call(
                    f"match of {len(chunk)} {sobject} on {field}", "query_all", soql, timeout=self._timeout
                )
                for record in answer.get("records", []):
                    value = _field(record, field)
                    if isinstance(value, str) and isinstance(record.get("Id"), str):
                        ids.setdefault(value.casefold(), record["Id"])
            for i, value in wanted:
                if value.casefold() in ids:
                    found[i] = ids[value.casefold()]
        return found

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
                error=_describe(errors) or f"Salesforce refused the {verb} without saying why",
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
                        f"Salesforce refused a new session too ({what}): {_error_text(exc.content)}"
                    ) from None
                self._forget(client)
                renewed = True
            except SalesforceError as exc:
                raise self._failure(what, exc) from None
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

    def _failure(self, what: str, exc: SalesforceError) -> Exception:
        code, message = _first_error(exc.content)
        if code == "REQUEST_LIMIT_EXCEEDED" or exc.status == 429:
            return RateLimited(f"Salesforce's request limit ({what}): {message}", self._retry_after())
        if exc.status >= 500:
            return CrmUnavailable(f"Salesforce answered {exc.status} ({what}): {code}: {message}")
        return CrmRefused(f"Salesforce refused the {what}: {code}: {message}")

    def _retry_after(self) -> float:
        try:
            seconds = float(getattr(self._seen, "retry_after", None) or DEFAULT_RETRY_AFTER)
        except ValueError:  # an HTTP date, which Salesforce does not send
            return DEFAULT_RETRY_AFTER
        return min(max(seconds, 0.0), MAX_RETRY_AFTER) if seconds == seconds else DEFAULT_RETRY_AFTER


# The client ------------------------------------------------------------------------------------------------------


class InstanceTransport(HTTPAdapter):
    """A requests transport adapter: every request gets a default timeout, and what simple-salesforce addresses
    to `https://<host[:port]>` (the only way it spells an instance) goes to the instance URL it stands for, e.g.
    `http://127.0.0.1:3000/_local/crm/salesforce`."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        super().__init__()
        self._timeout = timeout
        self._instances: dict[str, str] = {}

    def route(self, spelled: str, instance_url: str) -> None:
        """Requests to `spelled` (`https://host[:port]`, no slash at the end) go to `instance_url`."""
        if spelled != instance_url:
            self._instances[spelled] = instance_url

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        url = request.url or ""
        for spelled, instance_url in self._instances.items():
            if url.startswith(spelled + "/") and not url.startswith(instance_url + "/"):
                request.url = instance_url + url[len(spelled) :]
                break
        timeout = self._timeout if timeout is None else timeout
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)


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
    auth = credentials.get("auth", "client_credentials")
    instance_url = _required(credentials, "instance_url").rstrip("/")
    parts = urlsplit(instance_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError("the Salesforce instance_url must be an http(s) URL, like https://acme.my.salesforce.com")
    version = credentials.get("api_version") or DEFAULT_API_VERSION
    client_id = _required(credentials, "client_id")
    transport: InstanceTransport | None = None
    if session is None:
        session = requests.Session()
        transport = InstanceTransport(timeout)
        session.mount("https://", transport)
        session.mount("http://", transport)
    # simple-salesforce's login reaches a My Domain of salesforce.com; anything else gets the token here
    library_domain = _library_domain(instance_url)
    login: Callable[[], str]
    if auth == "client_credentials":
        client_secret = _required(credentials, "client_secret")
        if library_domain is not None:
            domain = library_domain
            login = _library_login(
                lambda: SalesforceLogin(
                    session=session, consumer_key=client_id, consumer_secret=client_secret, domain=domain
                )
            )
        else:
            form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
            login = _token_login(session, instance_url, lambda: form, timeout)
    elif auth == "jwt_bearer":
        username = _required(credentials, "username")
        private_key = _pem(_required(credentials, "private_key"))
        audience = credentials.get("audience") or "login"
        if audience not in ("login", "test"):
            raise ValueError("the Salesforce audience must be login or test")
        if library_domain is not None:
            my_domain = library_domain
            login = _library_login(
                lambda: SalesforceLogin(
                    session=session,
                    username=username,
                    consumer_key=client_id,
                    privatekey=private_key,
                    domain=audience,
                    instance_url=my_domain,  # simple-salesforce posts the assertion to https://<this>.salesforce.com
                )
            )
        else:
            login = _token_login(
                session, instance_url, lambda: _jwt_form(client_id, username, private_key, audience), timeout
            )
    else:
        raise ValueError(f"the Salesforce auth must be client_credentials or jwt_bearer, not {auth[:40]!r}")

    def connect() -> Salesforce:
        client = Salesforce(instance_url=instance_url, session_id=login(), version=version, session=session)
        if transport is not None:
            transport.route(f"https://{client.sf_instance}", instance_url)
        return client

    return SalesforceCrm(connect, contact_sobject=credentials.get("contact_sobject") or "Lead", timeout=timeout)


def _library_domain(instance_url: str) -> str | None:
    """`acme.my` for `https://acme.my.salesforce.com`: what simple-salesforce's login takes; None for an
    instance URL it cannot spell (another scheme, a port, a path, another host)."""
    parts = urlsplit(instance_url)
    if parts.scheme != "https" or parts.port not in (None, 443) or parts.path not in ("", "/"):
        return None
    match = _LIBRARY_DOMAIN.fullmatch(parts.hostname or "")
    return match.group("domain") if match else None


def _library_login(salesforce_login: Callable[[], tuple[Any, Any]]) -> Callable[[], str]:
    """simple-salesforce's login, its session id (the instance it answers is the one configured)."""
    return lambda: str(salesforce_login()[0])


def _token_login(
    session: requests.Session, instance_url: str, form: Callable[[], Mapping[str, str]], timeout: float
) -> Callable[[], str]:
    """A token from `<instance_url>/services/oauth2/token` for the form (made anew at each login: a JWT
    assertion expires)."""

    def login() -> str:
        try:
            answer = session.post(f"{instance_url}/services/oauth2/token", data=dict(form()), timeout=timeout)
        except requests.RequestException as exc:
            raise CrmUnavailable(f"Salesforce's token endpoint did not answer: {type(exc).__name__}") from None
        if answer.status_code >= 500:
            raise CrmUnavailable(f"Salesforce's token endpoint answered {answer.status_code}")
        try:
            body = answer.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        token = body.get("access_token")
        if answer.status_code != 200 or not isinstance(token, str) or not token:
            error = f"{body.get('error')}: {str(body.get('error_description'))[:300]}"
            raise CrmRefused(f"Salesforce refused the credentials ({answer.status_code}): {error}")
        return token

    return login


def _jwt_form(client_id: str, username: str, private_key: str, audience: str) -> dict[str, str]:
    """The JWT bearer flow's form: an RS256 assertion with the claims Salesforce (and simple-salesforce) use."""
    import jwt

    claims = {
        "iss": client_id,
        "sub": username,
        "aud": f"https://{audience}.salesforce.com",
        "exp": int(time.time()) + JWT_LIFETIME_SECONDS,
    }
    try:
        assertion = jwt.encode(claims, private_key, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        raise CrmRefused(f"the Salesforce private key cannot sign: {type(exc).__name__}") from None
    return {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}


def _pem(key: str) -> str:
    # a key kept in a JSON secret on one line has its line breaks escaped
    return key.replace("\\n", "\n") if "\n" not in key else key


def _required(credentials: Mapping[str, str], key: str) -> str:
    value = credentials.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"the Salesforce credentials have no {key}")
    return value.strip()


# Answers ---------------------------------------------------------------------------------------------------------


def _snapshot(kind: ObjectKind, record: Mapping[str, Any], fields: Sequence[str]) -> CrmSnapshot:
    crm_id = _field(record, "Id")
    modified = _field(record, "LastModifiedDate")
    try:
        modified_at = datetime.fromisoformat(modified) if isinstance(modified, str) else None
    except ValueError:
        modified_at = None
    if not isinstance(crm_id, str) or modified_at is None:
        raise CrmUnavailable("Salesforce answered a record without its Id or LastModifiedDate")
    if modified_at.tzinfo is None:
        modified_at = modified_at.replace(tzinfo=UTC)
    return CrmSnapshot(kind, crm_id, {name: _text(_field(record, name)) for name in fields}, modified_at)


def _field(record: Mapping[str, Any], name: str) -> Any:
    """A field of an answered record by name, whatever the case the caller spelled it in."""
    if name in record:
        return record[name]
    lower = name.lower()
    return next((value for key, value in record.items() if key.lower() == lower), None)


def _text(value: Any) -> str | None:
    """A field's value as the port carries it: text, None for blank."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | str):
        return str(value)
    import json

    return json.dumps(value, sort_keys=True, default=str)  # a compound field (an address)


def _asked(fields: Sequence[str]) -> list[str]:
    """The fields to ask for: Id and LastModifiedDate first, each once (SOQL names have no case)."""
    for name in fields:
        if not _FIELD_NAME.fullmatch(name):
            raise CrmRefused(f"{name[:80]!r} is not a Salesforce field name")
    asked: dict[str, str] = {}
    for name in ("Id", "LastModifiedDate", *fields):
        asked.setdefault(name.lower(), name)
    return list(asked.values())


def _first_error(content: Any) -> tuple[str, str]:
    """Salesforce's errorCode and message from an error answer ([{"message", "errorCode"}] or OAuth's)."""
    first = content[0] if isinstance(content, list) and content else content
    if isinstance(first, Mapping):
        code = first.get("errorCode") or first.get("error") or "UNKNOWN"
        message = first.get("message") or first.get("error_description") or ""
        return str(code), str(message)[:500]
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)
    return "UNKNOWN", text[:500]


def _error_text(content: Any) -> str:
    code, message = _first_error(content)
    return f"{code}: {message}"


def _describe(errors: Sequence[Mapping[str, Any]]) -> str:
    described = []
    for error in errors:
        fields = error.get("fields") or []
        where = f" ({', '.join(str(f) for f in fields)})" if isinstance(fields, list) and fields else ""
        described.append(f"{error.get('statusCode')}: {error.get('message')}{where}")
    return "; ".join(described)[:1000]


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


def _in_lists(values: Sequence[str]) -> Iterator[list[str]]:
    """The values in lists for `IN (...)`: at most MAX_BATCH a list, and MAX_IN_CHARACTERS once quoted."""
    chunk: list[str] = []
    size = 0
    for value in values:
        quoted = len(format_soql("{}", value)) + 1
        if chunk and (len(chunk) == MAX_BATCH or size + quoted > MAX_IN_CHARACTERS):
            yield chunk
            chunk, size = [], 0
        chunk.append(value)
        size += quoted
    if chunk:
        yield chunk


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
