"""Local stand-in for Cognito's OAuth 2.0 token endpoint, for the client-credentials grant systems use:

    curl -s -u bi-reporting:local-bi-reporting-secret-dev-only -d grant_type=client_credentials "$HUB/oauth2/token"

As Cognito's: a form-encoded POST, the app client authenticated with HTTP Basic (or `client_id` and `client_secret`
in the form), `scope` optional (space-separated, `revops/leads.read`; none: all the client's scopes); the answer is
`{"access_token", "expires_in", "token_type": "Bearer"}`, or 400 with an OAuth `error`. The ids and secrets are the
dev-only ones of `config/local.auth.json`; in AWS each app client's id and secret are in Cognito (README).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from local_runtime.auth import InvalidScope, LocalUserPool, UnknownClient

if TYPE_CHECKING:
    from local_runtime.gateway import LocalRoute
    from local_runtime.hub import LocalHub

TOKEN_PATH = "/oauth2/token"  # noqa: S105 (a URL path, not a password)
FORM = "application/x-www-form-urlencoded"


def routes(hub: LocalHub) -> list[LocalRoute]:
    """The hub's local routes this module serves."""
    return [("POST", TOKEN_PATH, TokenEndpoint(LocalUserPool.from_config()))]


class TokenEndpoint:
    def __init__(self, pool: LocalUserPool) -> None:
        self._pool = pool

    def __call__(self, request: Request) -> Response:
        if request.mimetype != FORM:
            return _error("invalid_request", f"send the parameters form-encoded ({FORM})")
        form = request.form
        if form.get("grant_type") != "client_credentials":
            return _error("unsupported_grant_type", "this endpoint grants client_credentials only")
        credentials = _client_credentials(request)
        if credentials is None:
            return _error("invalid_client", "authenticate the app client with HTTP Basic (client id and secret)")
        try:
            client = self._pool.authenticate(*credentials)
            scopes = form.get("scope", "").split()
            token = self._pool.issue_for_client(client.name, scopes)
        except UnknownClient as exc:
            return _error("invalid_client", str(exc))
        except InvalidScope as exc:
            return _error("invalid_scope", str(exc))
        body = {"access_token": token, "expires_in": client.access_token_minutes * 60, "token_type": "Bearer"}
        return Response(json.dumps(body), content_type="application/json", headers={"Cache-Control": "no-store"})


def _client_credentials(request: Request) -> tuple[str, str] | None:
    """From `Authorization: Basic base64(id:secret)`, else from the form (client_secret_post)."""
    scheme, _, encoded = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, separator, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return (client_id, secret) if separator else None
    posted_id, posted_secret = request.form.get("client_id"), request.form.get("client_secret")
    return (posted_id, posted_secret) if posted_id and posted_secret else None


def _error(code: str, description: str) -> Response:
    body = {"error": code, "error_description": description}
    return Response(json.dumps(body), status=400, content_type="application/json")
