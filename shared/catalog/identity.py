"""The identity domain's part of the catalog: what the hub's Cognito user pool runs as people sign in.

People sign in by their email (the pool's sign-in alias) and Cognito names each by a generated username, and a
Cognito access token carries no user attribute. So that a function can tell which rep or colleague is calling,
`access_token_claims` (the pool's pre token generation trigger, event version V2_0) adds the person's verified email to
their access token. Cognito runs a V2_0 trigger for people's sign-ins and refreshes only, never for an app client's
client-credentials grant (that takes V3_0), so systems' tokens stay as Cognito makes them.
"""

from __future__ import annotations

from typing import Final

from shared.catalog.model import Catalog, Domain, Function

PRE_TOKEN_GENERATION: Final = "pre_token_generation"  # noqa: S105 (a Cognito trigger's name, not a password)

IDENTITY_DOMAIN = Domain(
    name="identity",
    event_source=None,
    functions=(
        Function(
            name="access_token_claims",
            description="Cognito pre token generation (V2_0): adds a person's verified email to their access token",
            memory_mb=256,
            # Cognito waits 5 s for a trigger, cold start included, then fails the sign-in.
            timeout_seconds=5,
            cognito_trigger=PRE_TOKEN_GENERATION,
        ),
    ),
)


def pre_token_generation_trigger(catalog: Catalog) -> Function | None:
    """The catalog's pre token generation trigger, if it has one (a user pool runs one at most)."""
    triggers = [fn for fn in catalog.functions if fn.cognito_trigger == PRE_TOKEN_GENERATION]
    if len(triggers) > 1:
        raise ValueError(f"a user pool has one pre token generation trigger: {', '.join(fn.name for fn in triggers)}")
    return triggers[0] if triggers else None
