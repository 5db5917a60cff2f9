"""Sign-in to a Salesforce org for `SalesforceCrm` (`salesforce_crm.py`), and the transport that reaches it.

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
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.api import DEFAULT_API_VERSION

from shared.crm.ports import CrmRefused, CrmUnavailable

DEFAULT_TIMEOUT_SECONDS = 30.0
JWT_LIFETIME_SECONDS = 180  # Salesforce takes an assertion that expires within 3 minutes

_LIBRARY_DOMAIN = re.compile(r"(?P<domain>[a-z0-9-]+(?:\.[a-z0-9-]+)*)\.salesforce\.com", re.IGNORECASE)

Connect = Callable[[], Salesforce]


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


def connector(
    credentials: Mapping[str, str],
    session: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> Connect:
    """What connects to the org the credentials name (their keys: `salesforce_crm`), signing in anew at each
    call. `session`: a requests Session used as it is (no transport mounted on it). Raises ValueError when a
    credential is missing (naming it, never a value); nothing is called until the first connect."""
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

    return connect


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
