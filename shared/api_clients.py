"""The systems and partners allowed to call the API (`config/api-clients.json`), validated at load.

- `clients`: systems that call with an OAuth 2.0 client-credentials token (a BI tool, a form backend, a nightly job).
  Each becomes a Cognito app client with a generated secret, allowed the client-credentials grant only and the
  `scopes` listed (`<domain>.<read|write>`, the scopes `shared.catalog.scopes` generates from the catalog), its
  access tokens valid `access_token_minutes`. Locally, `make -s token CLIENT=<name>` issues one.
- `partners`: partners that can only send a key. Each gets an API Gateway usage plan on the stage, with its steady
  rate, burst and quota, and calls the catalog's partner routes with a key of that plan (`make rotate-api-key`).

The CDK stack, the local runtime and the operator commands read it; the functions never do (RBAC reads the scopes
from the tokens and the catalog).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

CONFIG = Path(__file__).resolve().parent.parent / "config" / "api-clients.json"
# Cognito's limits on an app client's access token validity (5 minutes to a day) keep a leaked token short-lived.
MIN_TOKEN_MINUTES, MAX_TOKEN_MINUTES = 5, 24 * 60

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")]
ScopeName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*\.(read|write)$")]


class InvalidApiClients(ValueError):
    """The file is wrong; the message names the client, partner or scope."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AppClient(_Strict):
    name: Name
    description: Annotated[str, Field(min_length=1, max_length=200)]
    scopes: Annotated[tuple[ScopeName, ...], Field(min_length=1)]
    access_token_minutes: Annotated[int, Field(ge=MIN_TOKEN_MINUTES, le=MAX_TOKEN_MINUTES)] = 60


class Quota(_Strict):
    limit: Annotated[int, Field(ge=1)]
    period: Literal["DAY", "WEEK", "MONTH"]


class Partner(_Strict):
    name: Name
    description: Annotated[str, Field(min_length=1, max_length=200)]
    rate_per_second: Annotated[int, Field(ge=1)]
    burst: Annotated[int, Field(ge=1)]
    quota: Quota

    @model_validator(mode="after")
    def _burst_holds_a_second(self) -> Partner:
        if self.burst < self.rate_per_second:
            raise ValueError(f"partner {self.name}: burst {self.burst} is below its rate {self.rate_per_second}/s")
        return self


class ApiClients(_Strict):
    version: int
    description: str
    clients: tuple[AppClient, ...] = ()
    partners: tuple[Partner, ...] = ()

    @model_validator(mode="after")
    def _names_are_unique(self) -> ApiClients:
        for kind, names in (("client", [c.name for c in self.clients]), ("partner", [p.name for p in self.partners])):
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                raise ValueError(f"{kind} names must be unique: {', '.join(repeated)} appear(s) twice")
        return self

    def client(self, name: str) -> AppClient:
        for client in self.clients:
            if client.name == name:
                return client
        known = ", ".join(c.name for c in self.clients) or "none"
        raise KeyError(f"no app client {name!r} in config/api-clients.json (configured: {known})")

    def partner(self, name: str) -> Partner:
        for partner in self.partners:
            if partner.name == name:
                return partner
        known = ", ".join(p.name for p in self.partners) or "none"
        raise KeyError(f"no partner {name!r} in config/api-clients.json (configured: {known})")

    def check_scopes(self, known: Iterable[str]) -> ApiClients:
        """Every client's scopes are scopes some route takes (`SystemScopes.names`)."""
        offered = frozenset(known)
        for client in self.clients:
            unknown = sorted(set(client.scopes) - offered)
            if unknown:
                raise InvalidApiClients(
                    f"app client {client.name}: no route takes the scope(s) {', '.join(unknown)}; the scopes are "
                    f"{', '.join(sorted(offered))}"
                )
        return self


def load_api_clients(path: Path = CONFIG, known_scopes: Iterable[str] | None = None) -> ApiClients:
    """The file, validated; with `known_scopes`, each client's scopes are checked against them."""
    try:
        clients = ApiClients.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError, ValidationError) as exc:
        raise InvalidApiClients(f"{path.name}: {exc}") from None
    return clients if known_scopes is None else clients.check_scopes(known_scopes)


def usage_plan_name(stage: str, partner: str) -> str:
    """A partner's usage plan on a stage (`revops-<stage>-partner-<name>`): CDK creates it, `make rotate-api-key`
    finds it by this name."""
    return f"revops-{stage}-partner-{partner}"
