"""Who is calling an `/api/v1` route, from the claims of the access token API Gateway's Cognito authorizer passes on,
for the functions that record or act on it (who accepted a handoff, changed a budget, resolved a conflict).

A person's access token names them by `username` (Cognito's generated id: people sign in by their email, an alias)
and carries their verified `email`, which the pool's pre token generation trigger adds
(`shared.identity.access_token`), and their groups. An ID token, or a hand-made event, says `cognito:username`
instead. A system's client-credentials token names no user: only its app client (`client_id`). A partner's request
(an API key) has no claims at all. The audit trail keeps its own, emailless, record of the caller
(`shared.audit.caller`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.http.rbac import USER_CLAIMS, groups_of

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Caller:
    username: str | None
    email: str | None  # as the user pool holds it; compare it case-insensitively
    groups: frozenset[str]
    client_id: str | None

    @property
    def is_system(self) -> bool:
        """An app client's client-credentials token: no user."""
        return self.username is None and self.client_id is not None

    @property
    def name(self) -> str:
        """How a record names the caller: a person by their email (what colleagues know them by, where their
        username is a generated id), else their username; a system by its app client; else "unknown"."""
        return self.email or self.username or self.client_id or UNKNOWN


def caller_of(claims: Mapping[str, Any] | None) -> Caller:
    claims = claims or {}
    username = next((str(claims[name]) for name in USER_CLAIMS if claims.get(name)), None)
    email = str(claims.get("email") or "").strip() or None
    client_id = str(claims.get("client_id") or "").strip() or None
    return Caller(username=username, email=email, groups=groups_of(dict(claims)), client_id=client_id)
