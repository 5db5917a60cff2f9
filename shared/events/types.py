"""The canonical event types and engagement kinds, apart from the event model: the catalog (which every
function imports) and the webhook receiver name them without loading pydantic."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    CONTACT_UPSERTED = "contact.upserted"
    ACCOUNT_UPSERTED = "account.upserted"
    ENGAGEMENT_RECORDED = "engagement.recorded"
    DEAL_STAGE_CHANGED = "deal.stage_changed"
    DEAL_WON = "deal.won"
    DEAL_LOST = "deal.lost"
    DEAL_UPDATED = "deal.updated"
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    SUBSCRIPTION_CHANGED = "subscription.changed"
    SUPPORT_TICKET_OPENED = "support.ticket_opened"
    SUPPORT_TICKET_SOLVED = "support.ticket_solved"
    SURVEY_RESPONDED = "survey.responded"
    PRODUCT_USAGE_REPORTED = "product.usage_reported"
    HANDOFF_ACCEPTED = "handoff.accepted"
    HANDOFF_REJECTED = "handoff.rejected"
    VENDOR_UNMAPPED = "vendor.unmapped"


class EngagementKind(StrEnum):
    EMAIL_OPEN = "email_open"
    EMAIL_CLICK = "email_click"
    PAGE_VIEW = "page_view"
    FORM_SUBMIT = "form_submit"
    CONTENT_DOWNLOAD = "content_download"
    WEBINAR_ATTENDED = "webinar_attended"
    MEETING_BOOKED = "meeting_booked"
    MEETING_CANCELED = "meeting_canceled"
    DEMO_REQUEST = "demo_request"
    PRICING_PAGE_VISIT = "pricing_page_visit"
    TRIAL_SIGNUP = "trial_signup"
    TRACK = "track"
    CAMPAIGN_RESPONSE = "campaign_response"  # a CRM campaign's member who responded (Salesforce CampaignMember)


# Segment's semantic event names (its B2B SaaS and e-commerce specs) that mean a scoring-relevant engagement.
SEGMENT_TRACK_KINDS: dict[str, EngagementKind] = {
    "demo requested": EngagementKind.DEMO_REQUEST,
    "trial started": EngagementKind.TRIAL_SIGNUP,
    "signed up": EngagementKind.TRIAL_SIGNUP,
    "form submitted": EngagementKind.FORM_SUBMIT,
    "email opened": EngagementKind.EMAIL_OPEN,
    "email link clicked": EngagementKind.EMAIL_CLICK,
    "webinar attended": EngagementKind.WEBINAR_ATTENDED,
    "content downloaded": EngagementKind.CONTENT_DOWNLOAD,
    "file downloaded": EngagementKind.CONTENT_DOWNLOAD,
    "meeting booked": EngagementKind.MEETING_BOOKED,
    "pricing page viewed": EngagementKind.PRICING_PAGE_VISIT,
}
