"""What scoring reads of a lead (its profile, its account's firmographics, its engagement log) and what is
kept of a score on the lead (the snapshot the stage lists sort by)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.leads.identity import company_domain
from shared.leads.model import Account, Contact, EngagementRecord, ScoreSnapshot
from shared.leads.profile_updates import number
from shared.scoring.engine import Engagement, Profile
from shared.scoring.results import Score


def scoring_profile(contact: Contact, account: Account | None) -> Profile:
    profile = contact.profile

    def value(name: str) -> Any:
        own = profile.get(name)
        return own if own not in (None, "") or account is None else account.profile.get(name)

    employees = number(value("employee_count")) if value("employee_count") is not None else None
    revenue = number(value("annual_revenue")) if value("annual_revenue") is not None else None
    return Profile(
        email=contact.email,
        job_title=value("job_title"),
        industry=value("industry"),
        country=value("country"),
        company_domain=(account.domain if account else None) or company_domain(contact.email),
        employee_count=int(employees) if employees is not None else None,
        annual_revenue=float(revenue) if revenue is not None else None,
        nurture_started_at=nurture_started(contact),
        attributes=profile.attributes,
    )


def nurture_started(contact: Contact) -> datetime | None:
    """When the contact's nurturing started, which the standard handoff counts from: when it became a Lead, or
    when sales last recycled it (handed it back to nurture), whichever is later."""
    started = [moment for moment in (contact.lead_since, contact.recycled_at) if moment is not None]
    return max(started) if started else None


def scoring_engagement(record: EngagementRecord, withheld: str | None = None) -> Engagement:
    """The engagement as the engine reads it; `withheld`: why it may not score (the person's consent)."""
    return Engagement.of(
        record.event_id,
        record.occurred_at,
        record.kind,
        name=record.name,
        url=record.url,
        path=record.path,
        properties=record.properties,
        withheld=withheld,
    )


def snapshot(result: Score) -> ScoreSnapshot:
    return ScoreSnapshot(
        total=result.total,
        fit=result.fit_score,
        engagement=result.engagement_score,
        mql=result.mql,
        handoff=result.handoff_level,
        model_version=result.model_version,
        as_of=result.as_of,
        email_engagement=result.email_engagement,
        content_pieces=result.content_pieces,
        website_sessions=result.website_sessions,
        icp_fit=result.icp_fit,
    )
