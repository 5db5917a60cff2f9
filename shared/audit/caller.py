"""Who made a request, from the claims API Gateway's Cognito authorizer passes on: a person's token (`sub`,
`cognito:username` or `username`, `cognito:groups`) or a system's OAuth 2.0 client-credentials access token
(`client_id`, `scope`; its `sub` is the client id too); or, on a partner route, the API key it was called with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.audit.privacy import kept

ANONYMOUS = "anonymous"  # no token reached the function (a route it refused with 401)
GROUPS_CLAIM = "cognito:groups"


@dataclass(frozen=True)
class Caller:
    actor: str
    username: str | None
    groups: tuple[str, ...]
    client_id: str | None
    scopes: tuple[str, ...]

    def record_fields(self) -> dict[str, Any]:
        """What an `AuditRecord` keeps of the caller (its fields of the same names)."""
        return {
            "actor": self.actor,
            "username": self.username,
            "groups": self.groups,
            "client_id": self.client_id,
            "scopes": self.scopes,
        }


def _listed(raw: object) -> tuple[str, ...]:
    """API Gateway flattens a list claim to a string ("admin,sales" or "[admin sales]"); a space-separated
    `scope` claim is a list too."""
    if raw is None:
        return ()
    if isinstance(raw, list | tuple):
        return tuple(sorted({str(item) for item in raw if str(item)}))
    cleaned = str(raw).strip().strip("[]").replace(",", " ")
    return tuple(sorted({part for part in cleaned.split() if part}))


def caller_of(claims: Mapping[str, Any] | None, api_key_id: str | None = None) -> Caller:
    """`api_key_id`: the API Gateway API key a partner route was called with (such a request has no token)."""
    claims = claims or {}
    if not claims and api_key_id:
        return Caller(f"api-key:{kept(str(api_key_id))}", None, (), None, ())
    username = claims.get("cognito:username") or claims.get("username")
    client_id = claims.get("client_id")
    # A client-credentials token names no user: the system is its app client.
    actor = str(client_id) if client_id and not username else str(claims.get("sub") or username or ANONYMOUS)
    return Caller(
        actor=kept(actor) or ANONYMOUS,
        username=kept(str(username)) if username else None,
        groups=_listed(claims.get(GROUPS_CLAIM)),
        client_id=kept(str(client_id)) if client_id else None,
        scopes=_listed(claims.get("scope")),
    )
