"""Local replay of the recorded bus events (`make replay` against the local hub)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from local_runtime.gateway import LocalRoute
    from local_runtime.hub import LocalHub


def routes(hub: LocalHub) -> list[LocalRoute]:
    """The hub's local routes this module serves."""
    return []
