"""Where the trail is kept: appended to, never changed; searched (`shared.audit.query`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the request chokepoint imports this at every API function's cold start: nothing more
    from shared.audit.query import AuditPage, AuditQuery
    from shared.audit.record import AuditRecord


class AuditUnavailable(Exception):
    """The record could not be stored (the store refused or did not answer)."""


class AuditStore(Protocol):
    def append(self, record: AuditRecord) -> None:
        """Store the record durably before returning; never overwrite one (storing the same record again is a
        no-op). Raises AuditUnavailable when it cannot be stored."""
        ...

    def search(self, query: AuditQuery) -> AuditPage: ...
