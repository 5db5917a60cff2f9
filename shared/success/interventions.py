"""Interventions: a playbook run for one account. Opened when the account becomes a churn risk (the playbooks
whose trigger is `churn_risk` and whose bands hold its band) or by hand; one open per account and playbook, so
opening it again while it is open is the same intervention. Each keeps the health before; when its
`evaluate_after_days` have passed, the nightly closes it with the health after and the outcome, and the
outcomes per playbook are its effectiveness (seed 002: "tracks intervention effectiveness")."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from shared.success.engine import Health
from shared.success.model import HealthModel, Playbook, PlaybookTrigger

_NAMESPACE = uuid.UUID("d3a6c1f2-5b7e-4f08-9c2d-6e1a0b3c4d5f")


class InterventionStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Outcome(StrEnum):
    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    WORSENED = "worsened"
    NO_SCORE = "no_score"  # no score before or after to compare


@dataclass(frozen=True)
class Intervention:
    intervention_id: str
    tenant_id: str
    playbook: str
    trigger: PlaybookTrigger
    reason: str
    opened_at: datetime
    task_title: str
    task_due_at: datetime
    evaluate_at: datetime
    score_before: int | None  # hundredths
    band_before: str | None
    requested_by: str | None = None  # who asked, for a manual one
    status: InterventionStatus = InterventionStatus.OPEN
    closed_at: datetime | None = None
    score_after: int | None = None
    band_after: str | None = None
    outcome: Outcome | None = None


@dataclass(frozen=True)
class Effectiveness:
    playbook: str
    opened: int
    closed: int
    improved: int
    unchanged: int
    worsened: int
    mean_change_hundredths: int | None  # the mean score change of the closed ones with scores, rounded down


def churn_playbooks(model: HealthModel, band: str | None, segment: str | None = None) -> list[Playbook]:
    """The churn-risk playbooks for an account of this band and segment (a playbook naming no segment: any)."""
    return [
        p
        for p in model.playbooks
        if p.trigger is PlaybookTrigger.CHURN_RISK and band in p.bands and (not p.segments or segment in p.segments)
    ]


def opened(
    playbook: Playbook,
    tenant_id: str,
    account_name: str,
    health: Health,
    reason: str,
    cause: str,
    requested_by: str | None = None,
) -> Intervention:
    """The intervention a playbook opens now; its id is derived from the account, the playbook and the cause,
    so a retry of the same cause is the same intervention."""
    now = health.as_of
    return Intervention(
        intervention_id=str(uuid.uuid5(_NAMESPACE, f"{tenant_id}:{playbook.id}:{cause}")),
        tenant_id=tenant_id,
        playbook=playbook.id,
        trigger=playbook.trigger if requested_by is None else PlaybookTrigger.MANUAL,
        reason=reason,
        opened_at=now,
        task_title=playbook.task.title.replace("{account}", account_name),
        task_due_at=now + timedelta(days=playbook.task.due_days),
        evaluate_at=now + timedelta(days=playbook.evaluate_after_days),
        score_before=health.score_hundredths,
        band_before=health.band,
        requested_by=requested_by,
    )


def closed(intervention: Intervention, health: Health, flat_within_hundredths: int) -> Intervention:
    """The intervention closed with the health after it, and its outcome."""
    before, after = intervention.score_before, health.score_hundredths
    if before is None or after is None:
        outcome = Outcome.NO_SCORE
    elif abs(after - before) < flat_within_hundredths:
        outcome = Outcome.UNCHANGED
    else:
        outcome = Outcome.IMPROVED if after > before else Outcome.WORSENED
    return replace(
        intervention,
        status=InterventionStatus.CLOSED,
        closed_at=health.as_of,
        score_after=after,
        band_after=health.band,
        outcome=outcome,
    )


def effectiveness(playbooks: Sequence[str], interventions: Iterable[Intervention]) -> list[Effectiveness]:
    """Per playbook: how many were opened and closed, their outcomes and the mean score change."""
    by_playbook: dict[str, list[Intervention]] = {p: [] for p in playbooks}
    for one in interventions:
        by_playbook.setdefault(one.playbook, []).append(one)
    report = []
    for playbook, runs in by_playbook.items():
        done = [r for r in runs if r.status is InterventionStatus.CLOSED]
        changes = [
            r.score_after - r.score_before for r in done if r.score_after is not None and r.score_before is not None
        ]
        report.append(
            Effectiveness(
                playbook=playbook,
                opened=len(runs),
                closed=len(done),
                improved=sum(r.outcome is Outcome.IMPROVED for r in done),
                unchanged=sum(r.outcome is Outcome.UNCHANGED for r in done),
                worsened=sum(r.outcome is Outcome.WORSENED for r in done),
                mean_change_hundredths=sum(changes) // len(changes) if changes else None,
            )
        )
    return report
