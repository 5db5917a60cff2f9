"""Request and response models of the webhook routes; the OpenAPI document is generated from them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from shared.webhooks.model import DeliverySummary, Disposition, Outcome


class ErrorBody(BaseModel):
    message: str = Field(description="What is wrong and what to do about it")


class WebhookAck(BaseModel):
    """Answer to a vendor: 202 accepted, 200 duplicate, 4xx rejected (with `message`), 503 retry."""

    delivery_id: str = Field(description="Id of this attempt in the delivery log")
    status: Outcome | None = None
    accepted: int | None = Field(None, description="Events published by this delivery")
    duplicates: int | None = Field(None, description="Events already published by an earlier delivery")
    event_ids: list[str] | None = Field(None, description="Canonical event ids, stable across retries")
    message: str | None = None


class TrackingAck(BaseModel):
    """Answer of the Segment-compatible tracking API (what analytics SDKs expect)."""

    success: bool = True


class DeliveryEventView(BaseModel):
    vendor_event_id: str | None
    vendor_event_type: str
    event_type: str
    event_id: str
    disposition: Disposition


class DeliveryView(BaseModel):
    delivery_id: str
    vendor: str
    received_at: datetime
    outcome: Outcome
    status_code: int
    reason: str | None
    body_size: int
    body_sha256: str
    content_type: str | None
    user_agent: str | None
    source_ip: str | None
    events: list[DeliveryEventView]

    @classmethod
    def of(cls, summary: DeliverySummary) -> DeliveryView:
        return cls(
            delivery_id=summary.attempt_id,
            vendor=summary.vendor,
            received_at=summary.received_at,
            outcome=summary.outcome,
            status_code=summary.status_code,
            reason=summary.reason,
            body_size=summary.body_size,
            body_sha256=summary.body_sha256,
            content_type=summary.content_type,
            user_agent=summary.user_agent,
            source_ip=summary.source_ip,
            events=[
                DeliveryEventView(
                    vendor_event_id=record.vendor_event_id,
                    vendor_event_type=record.vendor_event_type,
                    event_type=record.event_type,
                    event_id=record.event_id,
                    disposition=record.disposition,
                )
                for record in summary.events
            ],
        )


class DeliveryList(BaseModel):
    items: list[DeliveryView]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next (older) page")
