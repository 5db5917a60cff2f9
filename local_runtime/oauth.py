"""Local stand-in for Cognito's OAuth 2.0 token endpoint (client credentials)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from local_runtime.gateway import LocalRoute
    from local_runtime.hub import LocalHub


def routes(hub: LocalHub) -> list[LocalRoute]:
    """The hub's local routes this module serves."""
    return []
