"""Routes for partners that can only send a key: no token, an API Gateway API key instead.

A `PartnerRoute` is declared in its domain's catalog module like any route. API Gateway requires an API key on its
method (`x-api-key`) that belongs to a partner's usage plan on the stage (`config/api-clients.json`: its rate and
quota; `make rotate-api-key` issues and rotates the keys), throttles and counts the partner's calls against that
plan, and answers 403 without calling the function when the key is missing, unknown or disabled. The function
then sees the key's id as `requestContext.identity.apiKeyId` (`shared.http.rbac` requires it). No person calls it,
so it has no groups; people and systems with a token call the route's token-authenticated twin.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.catalog.model import Route

PARTNER_PATH_PREFIX = "/api/v1/partners/"


@dataclass(frozen=True)
class PartnerRoute(Route):
    def __post_init__(self) -> None:
        if self.groups is not None:
            raise ValueError(f"partner route {self.key}: partners send a key, not a token, so it takes no groups")
        if not self.path.startswith(PARTNER_PATH_PREFIX):
            raise ValueError(f"partner route {self.key}: partner routes live under {PARTNER_PATH_PREFIX}")


def takes_api_key(route: Route) -> bool:
    return isinstance(route, PartnerRoute)
