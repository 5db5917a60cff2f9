"""One entry of the audit trail: an API request (its outcome, or, for a write, its receipt before it runs) or an
operator command's start and finish. Append-only: a record is never changed; a later fact is a new record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Channel(StrEnum):
    API = "api"  # a request through /api/v1
    CLI = "cli"  # an operator command (`make rescore`, ...)


class Phase(StrEnum):
    """Which moment of the request or run a record is about.

    A write is recorded twice: `received` before the route runs (stored durably, or the write is refused with a
    503: no write without its record) and `completed` with the status the caller got. A refusal or an audited read
    is recorded once, `completed`. An operator run is `started`, then `finished`."""

    RECEIVED = "received"
    COMPLETED = "completed"
    STARTED = "started"
    FINISHED = "finished"


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"  # 2xx/3xx; a run that exited 0
    REFUSED = "refused"  # 401/403: the caller may not
    REJECTED = "rejected"  # any other 4xx: the request was wrong
    FAILED = "failed"  # 5xx, or the function failed; a run that failed or exited non-zero
    PENDING = "pending"  # received or started, not yet done


def outcome_of(status: int) -> Outcome:
    if status in (401, 403):
        return Outcome.REFUSED
    if 400 <= status < 500:
        return Outcome.REJECTED
    if status >= 500:
        return Outcome.FAILED
    return Outcome.SUCCEEDED


@dataclass(frozen=True)
class Target:
    """Something a request was about: a path parameter or a well-known id field of the response."""

    field: str  # "lead_id", "period", "spend_id"...
    id: str


@dataclass(frozen=True)
class AuditRecord:
    """`request_id` is API Gateway's for a request, the run id for an operator command: a request's or run's
    records share it. No body and no email is ever held in clear (`shared.audit.privacy`)."""

    request_id: str
    at: datetime  # UTC
    channel: Channel
    phase: Phase
    outcome: Outcome
    actor: str  # the token's `sub` (a system's: its client_id); an operator's AWS identity ARN or local user
    route: str  # "POST /api/v1/leads/{lead_id}/unmerge"; "CLI rescore" for an operator command
    method: str
    path: str
    status: int | None = None  # the HTTP status; a run's exit status; None while pending
    username: str | None = None
    groups: tuple[str, ...] = ()
    client_id: str | None = None
    scopes: tuple[str, ...] = ()
    targets: tuple[Target, ...] = ()
    targets_omitted: int = 0  # targets past the most one record keeps (`AuditConfig.max_targets`)
    request_digest: str | None = None  # "sha256:<hex>" of the body as received
    source_ip: str | None = None
    user_agent: str | None = None
    detail: Mapping[str, str] = field(default_factory=dict)  # an operator run's arguments and summary

    @property
    def listed(self) -> bool:
        """Whether a search by time finds it: everything but a write's receipt, which its `completed` record
        follows. A receipt is found by its request id, and by its actor, route and targets while its outcome is
        missing (the write whose function was stopped, by a timeout or out of memory, before its outcome was
        recorded): "what did this user do" lists a write that may have half-applied, once either way."""
        return self.phase is not Phase.RECEIVED

    @property
    def target(self) -> str | None:
        return self.targets[0].id if self.targets else None
