"""A local API Gateway: the catalog's routes over HTTP, each request turned into the REST proxy event the
deployed stage would send (Cognito claims included) and handed to the same handler, in-process.

Its authorizer checks what the deployed methods check: on a `/api/v1` route an access token of the pool (an ID token
is refused, as on a method with OAuth scopes) holding one of the method's scopes (`SystemScopes.method_scopes`), else
401; on a partner route an enabled API key of a partner's usage plan, else 403. Like the stage, it writes an access log
line per API request (`shared.catalog.access_log`) to whoever listens (`access_log`): the hub hands the lines to the
functions subscribed to them."""

from __future__ import annotations

import base64
import json
import logging
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local_runtime.auth import LocalUserPool, method_scopes_granted
from local_runtime.lambda_events import rest_proxy_event
from local_runtime.partner_keys import LocalPartnerKeys, PartnerKey
from shared.catalog import Catalog, Function, Route
from shared.catalog.access_log import ACCESS_LOG_FIELDS, NO_VALUE
from shared.catalog.partners import takes_api_key
from shared.catalog.scopes import SystemScopes, composed_domains
from shared.http.webhook_request import CORS_PREFLIGHT_HEADERS, answers_browsers

API_GATEWAY_MAX_BODY = 10 * 1024 * 1024
log = logging.getLogger("local_runtime.gateway")

Invoke = Callable[[Function, dict[str, Any]], dict[str, Any]]
LocalRoute = tuple[str, str, Callable[..., Response]]  # method, werkzeug path, view(request, **path args)


def werkzeug_path(path: str) -> str:
    return path.replace("{", "<").replace("}", ">")


class LocalApiGateway:
    def __init__(
        self,
        catalog: Catalog,
        invoke: Invoke,
        user_pool: LocalUserPool,
        local_routes: list[LocalRoute],
        stage: str = "local",
        access_log: Callable[[dict[str, str]], None] | None = None,
    ) -> None:
        self._invoke = invoke
        self._access_log = access_log
        self._user_pool = user_pool
        self._scopes = SystemScopes.of(catalog, composed_domains())
        self._partner_keys = LocalPartnerKeys(user_pool.clients, stage) if user_pool.clients else None
        self._local_views = {f"{method} {path}": view for method, path, view in local_routes}
        # API Gateway matches paths as sent: no merging of `//`, and so no redirect to a "cleaner" URL.
        self._local_routes = Map(
            [Rule(path, methods=[method], endpoint=f"{method} {path}") for method, path, _ in local_routes],
            merge_slashes=False,
        )
        self._stage = stage
        self._targets = {route.key: (fn, route) for fn, route in catalog.routes}
        self._routes = Map(
            [
                Rule(werkzeug_path(route.path), methods=[route.method], endpoint=route.key)
                for _, route in catalog.routes
            ],
            strict_slashes=False,
            merge_slashes=False,
        )
        # The CORS preflights the deployed API answers itself (a mock integration, no auth) on the resources browsers
        # call: every resource is mapped, so a request is matched to its resource as API Gateway matches it (a
        # literal path before a parameter beside it), then answered only if that resource has a preflight.
        self._preflight_paths = {route.path for _, route in catalog.routes if answers_browsers(route)}
        self._preflights = Map(
            [
                Rule(werkzeug_path(path), methods=["OPTIONS"], endpoint=path)
                for path in sorted({route.path for _, route in catalog.routes})
            ],
            strict_slashes=False,
            merge_slashes=False,
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        if "//" in str(environ.get("PATH_INFO", "")):
            # No resource has an empty path segment, and API Gateway merges no slashes. (Python's HTTP server
            # itself turns a leading `//` into `/`, so `//webhooks//stripe` arrives as `/webhooks//stripe`.)
            response = _not_found(request)
        elif (local := _match(self._local_routes, environ)).endpoint is not None:
            response = self._local_views[local.endpoint](request, **local.arguments)
        else:
            line = access_log_line(request)
            response = self._api(request, local.allowed, line)
            if self._access_log is not None:
                line["status"] = str(response.status_code)
                line["responseLength"] = str(response.content_length or 0)
                line["responseLatency"] = str(int((time.time() - float(line["requestTimeEpoch"]) / 1000) * 1000))
                self._access_log(line)
        return response(environ, start_response)

    def _api(self, request: Request, allowed_locally: frozenset[str], line: dict[str, str]) -> Response:
        """The answer to a request for the API; `line` (its access log line) learns the route and what refused
        or answered it."""
        matched = _match(self._routes, request.environ)
        preflight = _match(self._preflights, request.environ) if matched.endpoint is None else None
        if preflight is not None and preflight.endpoint in self._preflight_paths:
            line["resourcePath"] = preflight.endpoint
            return Response(status=204, headers=CORS_PREFLIGHT_HEADERS)
        if matched.endpoint is None:
            allowed = sorted(allowed_locally | matched.allowed)
            if allowed:
                message = f"{request.method} is not allowed on {request.path}; try {', '.join(allowed)}"
                response = _json(405, {"message": message})
                response.headers["Allow"] = ", ".join(allowed)
                return response
            return _not_found(request)
        key, path_parameters = matched.endpoint, matched.arguments
        fn, route = self._targets[key]
        line["resourcePath"] = route.path
        if (request.content_length or 0) > API_GATEWAY_MAX_BODY:
            line["errorType"] = "REQUEST_TOO_LARGE"
            return _json(413, {"message": "Request Too Long"})
        claims, partner_key = None, None
        if takes_api_key(route):
            partner_key = self._partner_key(request)
            if partner_key is None:
                line["errorType"] = "INVALID_API_KEY"
                return _json(403, {"message": "Forbidden"})
            line["apiKeyId"] = partner_key.key_id
        elif not route.is_public:
            claims = self._claims(request)
            if claims is not None:
                # the authorizer has read the token, whether or not its scopes open the method
                line["user"] = claims.get("sub") or NO_VALUE
                line["clientId"] = claims.get("client_id") or NO_VALUE
            if claims is None or not method_scopes_granted(claims, self._scopes.method_scopes(route)):
                line["errorType"] = "UNAUTHORIZED"
                return _json(401, {"message": "Unauthorized"})
        event = self._event(request, route, path_parameters, claims)
        line["requestId"] = str(event["requestContext"]["requestId"])
        if partner_key is not None:
            event["requestContext"]["identity"] |= {
                "apiKeyId": partner_key.key_id,
                "apiKey": request.headers["x-api-key"],
            }
        try:
            result = self._invoke(fn, event)
        except Exception:
            log.error("function %s failed:\n%s", fn.name, traceback.format_exc())
            line["integrationStatus"] = "500"
            return _json(502, {"message": "Internal server error"})
        line["integrationStatus"] = "200"  # Lambda answered (the proxy's own status is `status`)
        return _response(result)

    def _claims(self, request: Request) -> dict[str, str] | None:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if not token or scheme.lower() != "bearer":
            return None
        try:
            return self._user_pool.verify(token.strip())
        except jwt.InvalidTokenError as exc:
            log.info("token refused: %s", exc)
            return None

    def _partner_key(self, request: Request) -> PartnerKey | None:
        if self._partner_keys is None:
            return None
        return self._partner_keys.check((request.headers.get("x-api-key") or "").strip())

    def _event(
        self, request: Request, route: Route, path_parameters: Mapping[str, Any], claims: dict[str, str] | None
    ) -> dict[str, Any]:
        headers = dict(request.headers.items())
        headers.setdefault("X-Forwarded-Proto", request.scheme)
        return rest_proxy_event(
            method=request.method,
            path=request.path,
            resource=route.path,
            path_parameters=path_parameters,
            query={key: request.args.getlist(key) for key in request.args},
            headers=headers,
            body=request.get_data(),
            claims=claims,
            stage=self._stage,
            source_ip=request.remote_addr or "127.0.0.1",
            domain_name=request.host.split(":")[0],
        )


def access_log_line(request: Request) -> dict[str, str]:
    """The stage's access log line for a request (`ACCESS_LOG_FIELDS`), as API Gateway starts it: every field
    without a value (`-`) until the request is matched, checked and answered."""
    line = dict.fromkeys(ACCESS_LOG_FIELDS, NO_VALUE)
    now = time.time()
    line |= {
        "requestId": str(uuid.uuid4()),
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "requestTimeEpoch": str(int(now * 1000)),
        "httpMethod": request.method,
        "path": str(request.environ.get("PATH_INFO") or request.path),
        "protocol": str(request.environ.get("SERVER_PROTOCOL") or NO_VALUE),
        "sourceIp": request.remote_addr or "127.0.0.1",
        "userAgent": request.headers.get("User-Agent") or NO_VALUE,
    }
    return line


def _not_found(request: Request) -> Response:
    path = str(request.environ.get("PATH_INFO") or request.path)  # as sent: `request.path` drops leading slashes
    return _json(404, {"message": f"no route {request.method} {path}; see /openapi.json"})


@dataclass(frozen=True)
class _Match:
    endpoint: str | None  # None: no route for this method and path
    arguments: dict[str, Any]
    allowed: frozenset[str]  # the methods the path has, when it has some but not this one


def _match(routes: Map, environ: dict[str, Any]) -> _Match:
    try:
        endpoint, arguments = routes.bind_to_environ(environ).match()
    except MethodNotAllowed as exc:
        return _Match(None, {}, frozenset(exc.valid_methods or ()))
    except HTTPException:  # not found (the maps neither merge slashes nor redirect)
        return _Match(None, {}, frozenset())
    return _Match(str(endpoint), dict(arguments), frozenset())


def _response(result: dict[str, Any]) -> Response:
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    response = Response(data, status=int(result.get("statusCode", 200)))
    for key, value in (result.get("headers") or {}).items():
        response.headers[key] = str(value)
    for key, values in (result.get("multiValueHeaders") or {}).items():
        response.headers.remove(key)
        for value in values:
            response.headers.add(key, str(value))
    return response


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")
