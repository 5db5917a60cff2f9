"""Request and response models of the webhook routes; the OpenAPI document is generated from them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.webhooks.model import DeliverySummary, Disposition, Outcome


class ErrorBody(BaseModel):
    message: str = Field(description="What is wrong and what to do about it")


class WebhookAck(BaseModel):
    """A delivery taken: 202 accepted (stored and published), or 200 a duplicate of one already published.
    Salesforce and Slack get their own acknowledgements instead (a SOAP `Ack`, an empty 200)."""

    status: Literal["accepted", "duplicate"] = Field(description="`accepted` (202) or `duplicate` (200)")
    delivery_id: str = Field(description="Id of this attempt in the delivery log")
    accepted: int | None = Field(
        None, description="Events this delivery stored (202 only); the publisher puts them on the bus"
    )
    duplicates: int = Field(description="Events an earlier delivery stored already")
    event_ids: list[str] = Field(description="Canonical event ids, stable across retries")


class WebhookRefusal(BaseModel):
    """A delivery not taken (4xx), or taken and not yet published (503); the attempt is in the delivery log."""

    message: str = Field(description="What is wrong, and whether a retry can help")
    delivery_id: str = Field(description="Id of this attempt in the delivery log")


class SlackChallenge(BaseModel):
    """Slack's `url_verification` handshake, answered with its challenge."""

    challenge: str


class IntercomPong(BaseModel):
    """Intercom's `ping` (its "send test request"), answered and not published."""

    status: Literal["pong"]


class TrackingAck(BaseModel):
    """Answer of the Segment-compatible tracking API (what analytics SDKs expect)."""

    success: bool = True


class TrackingRefusal(BaseModel):
    """An error of the Segment-compatible tracking API, in Segment's shape."""

    code: str = Field(description="`invalid_request`, `unauthorized`, `too_large` or `error`")
    message: str = Field(description="What is wrong")
    delivery_id: str = Field(description="Id of this attempt in the delivery log")


class DeliveryEventView(BaseModel):
    vendor_event_id: str | None
    vendor_event_type: str
    event_id: str = Field(description="The canonical event's id on the bus (consumers de-duplicate on it)")
    disposition: Disposition = Field(
        description="`accepted`: stored by this delivery, put on the bus by the publisher; `duplicate`: stored "
        "by an earlier delivery"
    )


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
                    event_id=record.event_id,
                    disposition=record.disposition,
                )
                for record in summary.events
            ],
        )


class DeliveryList(BaseModel):
    items: list[DeliveryView]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next (older) page")
