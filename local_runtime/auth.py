"""Local stand-in for the Cognito user pool: the access tokens it issues to people and to app clients, and the checks
API Gateway's Cognito authorizer makes before a method runs.

Tokens carry the claims Cognito's access tokens carry, signed with the dev key in `config/local.auth.json`:
- a person's (`make -s token ROLE=admin`): `sub`, `username`, `cognito:groups`, the people app client's `client_id`,
  `scope` "aws.cognito.signin.user.admin", and what the pool's pre token generation trigger adds (their verified
  `email`, when they have one: `python -m local_runtime.token sales --email maya.chen@example.com`);
- an app client's (`make -s token CLIENT=bi-reporting`, `POST /oauth2/token`): `sub` and `client_id` its id (locally,
  its name), `scope` its scopes as `revops/<scope>`, no user and no groups (Cognito runs no V2_0 trigger for them).
Verified claims are handed to the handler the way API Gateway does: as strings, groups comma-joined.

The trigger is the catalog's own function (`shared.catalog.identity`), run in-process on the V2_0 event Cognito sends
it, and its answer applied as Cognito applies it to the access token: a person's local token carries exactly what
the deployed trigger would put in theirs, and a change to the trigger shows here without a second copy of it.
"""

from __future__ import annotations

import hmac
import importlib
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt

from local_runtime.lambda_events import LOCAL_REGION, LocalLambdaContext
from shared.api_clients import ApiClients, AppClient, load_api_clients
from shared.catalog import CATALOG, Catalog, Function, Group, physical_name
from shared.catalog.identity import pre_token_generation_trigger
from shared.catalog.scopes import PERSON_SCOPE, RESOURCE_SERVER, catalog_scopes

CONFIG = Path(__file__).resolve().parent.parent / "config" / "local.auth.json"
ALGORITHM = "HS256"
TOKEN_LIFETIME_SECONDS = 12 * 3600
STAGE = "local"
# Claims a pre token generation trigger cannot add, change or suppress in an access token: Cognito's own (its
# documented exclusions, the token's user, client and scopes) and any `cognito:` claim. Cognito ignores them.
COGNITO_OWN_CLAIMS = frozenset(
    {"acr", "amr", "aud", "auth_time", "azp", "client_id", "exp", "iat", "identities", "iss", "jti", "nbf", "nonce",
     "origin_jti", "scope", "sub", "token_use", "username", "version"}
)  # fmt: skip


class UnknownClient(ValueError):
    """No configured app client has that id, or its secret is not the one sent."""


class InvalidScope(ValueError):
    """A scope the app client was not given."""


@dataclass(frozen=True)
class PreTokenGeneration:
    """A catalog function as the pool's pre token generation trigger: its handler invoked in-process (imported at the
    first sign-in, as Lambda would cold-start it) on the event Cognito sends a V2_0 trigger."""

    function: Function

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        handler = importlib.import_module(self.function.module).handler
        context = LocalLambdaContext(
            physical_name(STAGE, self.function.slug), self.function.memory_mb, self.function.timeout_seconds
        )
        answer: dict[str, Any] = handler(event, context)
        return answer


@dataclass(frozen=True)
class LocalUserPool:
    issuer: str
    signing_key: str
    people_client_id: str
    client_secrets: dict[str, str] = field(default_factory=dict)
    clients: ApiClients | None = None
    pre_token_generation: PreTokenGeneration | None = None

    @classmethod
    def from_config(
        cls, path: Path = CONFIG, clients: ApiClients | None = None, catalog: Catalog = CATALOG
    ) -> LocalUserPool:
        config = json.loads(path.read_text())
        clients = clients or load_api_clients(known_scopes=catalog_scopes().names)
        secrets = dict(config.get("client_secrets") or {})
        missing = sorted({client.name for client in clients.clients} - set(secrets))
        if missing:
            raise ValueError(f"{path.name} has no local secret for app client(s) {', '.join(missing)}")
        trigger = pre_token_generation_trigger(catalog)
        return cls(
            config["issuer"],
            config["signing_key"],
            config["people_client_id"],
            secrets,
            clients,
            PreTokenGeneration(trigger) if trigger else None,
        )

    def issue(
        self,
        groups: list[str],
        username: str | None = None,
        lifetime: int = TOKEN_LIFETIME_SECONDS,
        email: str | None = None,
    ) -> str:
        """A person's access token, as the pool issues it after an SRP sign-in (with MFA in AWS), to a confirmed
        user with those groups and, when given, that (verified) email; through the pool's pre token generation
        trigger, when the catalog has one."""
        unknown = sorted(set(groups) - {group.value for group in Group})
        if unknown:
            raise ValueError(f"unknown group(s) {', '.join(unknown)}; choose from {', '.join(g.value for g in Group)}")
        name = username or f"local-{'-'.join(groups) or 'user'}"
        sub = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
        claims: dict[str, Any] = {
            "sub": sub,
            "cognito:groups": groups,
            "username": name,
            "client_id": self.people_client_id,
            "scope": PERSON_SCOPE,
        }
        if self.pre_token_generation is not None:
            attributes = {"sub": sub, "cognito:user_status": "CONFIRMED"}
            if email:
                attributes |= {"email": email, "email_verified": "true", "cognito:email_alias": email}
            event = pre_token_generation_event(name, attributes, groups, self.people_client_id)
            claims = applied(claims, self.pre_token_generation(event))
        return self._signed(claims, lifetime)

    def issue_for_client(self, name: str, scopes: list[str] | None = None) -> str:
        """An app client's client-credentials access token: the scopes asked for (full or short names), or all the
        client's when none are; valid as long as the client's `access_token_minutes`."""
        client = self._client(name)
        granted = {f"{RESOURCE_SERVER}/{scope}" for scope in client.scopes}
        asked = {scope if "/" in scope else f"{RESOURCE_SERVER}/{scope}" for scope in scopes or ()} or granted
        if not asked <= granted:
            refused = ", ".join(sorted(asked - granted))
            raise InvalidScope(f"app client {name} was not given {refused}; it has {', '.join(sorted(granted))}")
        claims = {"sub": client.name, "client_id": client.name, "scope": " ".join(sorted(asked)), "version": 2}
        return self._signed(claims, client.access_token_minutes * 60)

    def authenticate(self, client_id: str, secret: str) -> AppClient:
        """The app client whose id and secret these are (HTTP Basic at the token endpoint)."""
        expected = self.client_secrets.get(client_id)
        if expected is None or not hmac.compare_digest(expected.encode(), secret.encode()):
            raise UnknownClient("the client id or secret is wrong")
        return self._client(client_id)

    def verify(self, token: str) -> dict[str, str]:
        """Claims as API Gateway passes them to the function; raises jwt.InvalidTokenError for a token the deployed
        authorizer would refuse: a bad signature, another issuer, expired, not an access token (every method has
        OAuth scopes, so API Gateway takes access tokens only), or of an app client the pool does not have."""
        claims: dict[str, Any] = jwt.decode(
            token,
            self.signing_key,
            algorithms=[ALGORITHM],
            issuer=self.issuer,
            options={"require": ["exp", "iat", "sub", "client_id"], "verify_aud": False},
        )
        if claims.get("token_use") != "access":
            raise jwt.InvalidTokenError(f"token_use is {claims.get('token_use')!r}; an access token is needed")
        if claims["client_id"] != self.people_client_id and claims["client_id"] not in self.client_secrets:
            raise jwt.InvalidTokenError(f"no app client {claims['client_id']!r} in this pool")
        return {
            key: ",".join(map(str, value)) if isinstance(value, list) else str(value) for key, value in claims.items()
        }

    def _client(self, name: str) -> AppClient:
        if self.clients is None:
            raise UnknownClient("no app clients are configured")
        try:
            return self.clients.client(name)
        except KeyError as exc:
            raise UnknownClient(str(exc.args[0])) from None

    def _signed(self, claims: dict[str, Any], lifetime: int) -> str:
        now = int(time.time())
        payload = claims | {
            "token_use": "access",
            "iss": self.issuer,
            "iat": now,
            "auth_time": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(payload, self.signing_key, algorithm=ALGORITHM)


def pre_token_generation_event(
    username: str, user_attributes: dict[str, str], groups: list[str], client_id: str
) -> dict[str, Any]:
    """The event Cognito sends a V2_0 pre token generation trigger when a person signs in."""
    return {
        "version": "2",
        "triggerSource": "TokenGeneration_Authentication",
        "region": LOCAL_REGION,
        "userPoolId": f"{LOCAL_REGION}_local",
        "userName": username,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": client_id},
        "request": {
            "userAttributes": dict(user_attributes),
            "groupConfiguration": {"groupsToOverride": list(groups), "iamRolesToOverride": [], "preferredRole": None},
            "scopes": [PERSON_SCOPE],
        },
        "response": {"claimsAndScopeOverrideDetails": None},
    }


def applied(claims: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """A person's access token claims changed as Cognito changes them by a V2_0 trigger's answer: the access token's
    claims added or overridden and suppressed (never Cognito's own), its scopes added and suppressed, and its groups
    replaced when the answer names them (an empty or null group override drops them)."""
    details = (answer.get("response") or {}).get("claimsAndScopeOverrideDetails") or {}
    access = details.get("accessTokenGeneration") or {}
    changed = dict(claims)
    for name in access.get("claimsToSuppress") or ():
        if not _cognitos_own(name):
            changed.pop(name, None)
    changed |= {
        name: value for name, value in (access.get("claimsToAddOrOverride") or {}).items() if not _cognitos_own(name)
    }
    scopes = [
        scope for scope in str(changed.get("scope", "")).split() if scope not in (access.get("scopesToSuppress") or ())
    ]
    scopes += [scope for scope in access.get("scopesToAdd") or () if scope not in scopes]
    changed["scope"] = " ".join(scopes)
    if "groupOverrideDetails" in details:
        groups = list((details["groupOverrideDetails"] or {}).get("groupsToOverride") or ())
        if groups:
            changed["cognito:groups"] = groups
        else:
            changed.pop("cognito:groups", None)
    return changed


def _cognitos_own(claim: str) -> bool:
    return claim in COGNITO_OWN_CLAIMS or claim.startswith("cognito:")


def method_scopes_granted(claims: dict[str, str], method_scopes: list[str]) -> bool:
    """API Gateway's check of a method's OAuth scopes: the token's `scope` holds at least one of them."""
    return bool(set(claims.get("scope", "").split()) & set(method_scopes))
