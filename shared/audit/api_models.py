"""What `GET /api/v1/audit` answers: the records of a search, newest first, and the cursor of the next page."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from shared.audit.record import AuditRecord, Channel, Outcome, Phase


class TargetView(BaseModel):
    field: str = Field(description="What the id is: a path parameter's or a response field's name (lead_id)")
    id: str


class AuditEntryView(BaseModel):
    at: datetime
    actor: str = Field(description="The token's sub (a system's: its client_id), an operator's AWS ARN or local user")
    username: str | None
    groups: list[str]
    client_id: str | None
    scopes: list[str]
    route: str = Field(description="`METHOD /path/{template}`; `CLI <command>` for an operator command")
    method: str
    path: str
    target: str | None = Field(description="The target the record was found under: the searched one, else its first")
    targets: list[TargetView]
    targets_omitted: int
    status: int | None = Field(description="The HTTP status answered; an operator run's exit status")
    outcome: Outcome
    phase: Phase
    channel: Channel
    request_id: str
    source_ip: str | None
    user_agent: str | None
    request_digest: str | None = Field(description="sha256 of the request body as received; the body is not kept")
    detail: dict[str, str] = Field(
        description="An operator run's stage, arguments, summary or error; what refused a request API Gateway refused "
        "before any function ran (refused_by, error)"
    )

    @classmethod
    def of(cls, record: AuditRecord, target: str | None) -> AuditEntryView:
        return cls(
            at=record.at,
            actor=record.actor,
            username=record.username,
            groups=list(record.groups),
            client_id=record.client_id,
            scopes=list(record.scopes),
            route=record.route,
            method=record.method,
            path=record.path,
            target=target,
            targets=[TargetView(field=t.field, id=t.id) for t in record.targets],
            targets_omitted=record.targets_omitted,
            status=record.status,
            outcome=record.outcome,
            phase=record.phase,
            channel=record.channel,
            request_id=record.request_id,
            source_ip=record.source_ip,
            user_agent=record.user_agent,
            request_digest=record.request_digest,
            detail=dict(record.detail),
        )


class AuditList(BaseModel):
    items: list[AuditEntryView]
    next_cursor: str | None = None
