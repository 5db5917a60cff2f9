"""The privacy API's bodies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.privacy.subject_keys import normalized_email


def email_problem(value: str) -> str | None:
    """Why `value` is no email the privacy API acts on (None when it is one): an email is text a person can type,
    so one holding a control character (`\\u0000`) is none, nor one no UTF-8 encodes."""
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value):
        return "not an email address: it holds a control character"
    if normalized_email(value) is None:
        return "not an email address"
    return None


class ErasureRequest(BaseModel):
    """Unknown fields are refused: an erasure is not a request to guess at."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320, description="The person's email; their merged identities too.")

    @field_validator("email")
    @classmethod
    def _an_email(cls, value: str) -> str:
        if (problem := email_problem(value)) is not None:
            raise ValueError(problem)
        return value


class ErasureReceiptView(BaseModel):
    erasure_id: str = Field(description="The erasure's id; the same for every request about the same email.")
    status: str = Field(description="`completed` (CRM deletions are queued for the sync's writer).")
    erased: dict[str, int] = Field(description="Per store, what every run of this erasure deleted or anonymized.")
    erased_now: dict[str, int] = Field(description="Per store, what this request deleted or anonymized.")
    requested_at: str
    completed_at: str | None
    runs: int = Field(description="How many requests ran this erasure.")
    lead_ids: list[str] = Field(
        description="The leads the erasure removed (ids that now name nothing): the audit trail records each as a "
        "target, so `GET /api/v1/audit?target=<lead id>` finds the erasure."
    )


class PersonExport(BaseModel):
    """Everything the hub holds about a person; each section as its store keeps it."""

    model_config = ConfigDict(extra="allow")

    email: str
    exported_at: str
    known: bool = Field(description="Whether a lead holds the email.")
    profile: dict[str, Any]
    identities: list[str]
    engagement: list[dict[str, Any]]
    erasure: dict[str, Any] | None = Field(description="The erasure's receipt when the person was erased.")
