"""Local stand-in for the Cognito user pool and API Gateway's Cognito authorizer.

Tokens carry the claims a Cognito ID token carries (`sub`, `cognito:groups`, `cognito:username`,
`token_use`...), signed with the dev key in `config/local.auth.json`. Verified claims are handed to the
handler the way API Gateway does: as strings, groups comma-joined.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt

from shared.catalog import Group

CONFIG = Path(__file__).resolve().parent.parent / "config" / "local.auth.json"
ALGORITHM = "HS256"
TOKEN_LIFETIME_SECONDS = 12 * 3600


@dataclass(frozen=True)
class LocalUserPool:
    issuer: str
    audience: str
    signing_key: str

    @classmethod
    def from_config(cls, path: Path = CONFIG) -> LocalUserPool:
        config = json.loads(path.read_text())
        return cls(config["issuer"], config["audience"], config["signing_key"])

    def issue(self, groups: list[str], username: str | None = None, lifetime: int = TOKEN_LIFETIME_SECONDS) -> str:
        unknown = sorted(set(groups) - {group.value for group in Group})
        if unknown:
            raise ValueError(f"unknown group(s) {', '.join(unknown)}; choose from {', '.join(g.value for g in Group)}")
        now = int(time.time())
        name = username or f"local-{'-'.join(groups) or 'user'}"
        claims = {
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
            "cognito:groups": groups,
            "cognito:username": name,
            "email": f"{name}@example.com",
            "token_use": "id",
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "auth_time": now,
            "exp": now + lifetime,
        }
        return jwt.encode(claims, self.signing_key, algorithm=ALGORITHM)

    def verify(self, token: str) -> dict[str, str]:
        """Claims as API Gateway passes them to the function; raises jwt.InvalidTokenError when invalid or
        not an ID token."""
        claims = jwt.decode(
            token,
            self.signing_key,
            algorithms=[ALGORITHM],
            audience=self.audience,
            issuer=self.issuer,
            options={"require": ["exp", "iat", "sub"]},
        )
        # API Gateway's Cognito authorizer without OAuth scopes takes ID tokens only; an access token (or a
        # token that does not say) is refused.
        if claims.get("token_use") != "id":
            raise jwt.InvalidTokenError(f'token_use is {claims.get("token_use")!r}; an ID token ("id") is needed')
        return {
            key: ",".join(map(str, value)) if isinstance(value, list) else str(value) for key, value in claims.items()
        }
