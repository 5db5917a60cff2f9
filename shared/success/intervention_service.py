"""The intervention use cases: open the churn playbooks as an account becomes a churn risk, open a playbook by
hand, evaluate the interventions whose time has come, and list them with each playbook's effectiveness.

Opening returns the events to publish (the start, the marketing requests) rather than publishing them: the
health recorder keeps the interventions a churn risk calls for in the outbox of the snapshot it saves, then
opens them and publishes their events with the churn risk, so a failure in between is retried from the outbox:
it opens the same interventions (their ids derive from the cause) and publishes the same ids. Nothing is opened
for a health that was not saved."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.events.success_events import SuccessEvent, SuccessEventType
from shared.scoring.results import points_or_none
from shared.success.engine import Health
from shared.success.interventions import (
    Effectiveness,
    Intervention,
    InterventionStatus,
    churn_playbooks,
    closed,
    effectiveness,
    opened,
)
from shared.success.model import HealthModel
from shared.success.ports import AccountDirectory, InterventionPage, InterventionStore
from shared.webhooks.ports import EventPublisher

EVALUATED_PER_RUN = 1000  # the nightly evaluates at most this many due interventions; the rest the next night


class UnknownPlaybook(LookupError):
    """A playbook id the health model does not have (the request names it: 422)."""


@dataclass(frozen=True)
class Requested:
    intervention: Intervention
    opened: bool  # False: one of that playbook was open for the account already (this is it)


class InterventionService:
    def __init__(
        self,
        store: InterventionStore,
        accounts: AccountDirectory,
        model: HealthModel,
        publisher: EventPublisher | None,
    ) -> None:
        self.store = store
        self._accounts = accounts
        self.model = model
        self._publisher = publisher

    def for_churn_risk(
        self, tenant_id: str, health: Health, risks: list[str], cause: str, segment: str | None = None
    ) -> list[SuccessEvent]:
        """Open the churn playbooks for the account's band and segment; the events to publish with the churn risk."""
        return self.open_churn(self.churn_candidates(tenant_id, health, risks, cause, segment))

    def churn_candidates(
        self, tenant_id: str, health: Health, risks: list[str], cause: str, segment: str | None = None
    ) -> list[Intervention]:
        """The churn playbooks' interventions the account's band and segment call for, nothing written: the
        health recorder saves them in the snapshot's outbox and opens them (`open_churn`) once it is saved."""
        name = self._accounts.name_of(tenant_id)
        return [
            opened(playbook, tenant_id, name, health, "; ".join(risks), cause)
            for playbook in churn_playbooks(self.model, health.band, segment)
        ]

    def open_churn(self, candidates: Sequence[Intervention]) -> list[SuccessEvent]:
        """Open these interventions (one of a playbook already open stays the one); the events to publish: those
        of each opened now, or by this same cause before (a retry tells the same ids again)."""
        events: list[SuccessEvent] = []
        for candidate in candidates:
            stored = self.store.open_intervention(candidate)
            if stored.intervention_id == candidate.intervention_id:  # new, or this same cause retried
                events += self._started(stored)
        return events

    def request(self, tenant_id: str, playbook_id: str, reason: str, requested_by: str, health: Health) -> Requested:
        """A playbook opened by hand (any trigger), published; the one already open when there is one (nothing
        published again)."""
        playbook = self.model.playbook(playbook_id)
        if playbook is None:
            known = ", ".join(p.id for p in self.model.playbooks) or "none"
            raise UnknownPlaybook(
                f"playbook: {playbook_id!r} is not a playbook of health model {self.model.version} ({known})"
            )
        already = self._open(tenant_id, playbook.id)
        if already is not None:
            return Requested(already, False)
        name = self._accounts.name_of(tenant_id)
        candidate = opened(
            playbook, tenant_id, name, health, reason, f"request:{health.as_of.isoformat()}", requested_by
        )
        # Told before it is kept, as the health recorder does: a failure in between leaves nothing open, and the
        # caller's retry tells again. Two requests racing may both tell; the one kept is the answer to both.
        self._publish(self._started(candidate))
        stored = self.store.open_intervention(candidate)
        return Requested(stored, stored.intervention_id == candidate.intervention_id)

    def _open(self, tenant_id: str, playbook_id: str) -> Intervention | None:
        return next((i for i in self.open_for(tenant_id) if i.playbook == playbook_id), None)

    def open_for(self, tenant_id: str) -> list[Intervention]:
        """The account's open interventions (one per playbook at most: a few)."""
        found: list[Intervention] = []
        cursor = None
        while True:
            page = self.store.interventions(tenant_id, InterventionStatus.OPEN, cursor, 100)
            found += page.interventions
            cursor = page.next_cursor
            if cursor is None:
                return found

    def evaluate_due(self, now: datetime, health_of: Callable[[str], Health]) -> list[Intervention]:
        """Close the open interventions whose evaluation time has come, with the health now and the outcome."""
        flat = int(self.model.trend.flat_within * 100)
        done: list[Intervention] = []
        for due in self.store.due_interventions(now, EVALUATED_PER_RUN):
            result = closed(due, health_of(due.tenant_id), flat)
            self._publish([self._closed_event(result)])
            if self.store.close_intervention(result):
                done.append(result)
        return done

    def interventions(
        self, tenant_id: str | None, status: InterventionStatus | None, cursor: str | None, limit: int
    ) -> InterventionPage:
        return self.store.interventions(tenant_id, status, cursor, limit)

    def effectiveness(self) -> list[Effectiveness]:
        """Every playbook's runs and outcomes, from every intervention kept (open and closed)."""
        runs: list[Intervention] = []
        for status in InterventionStatus:
            cursor = None
            while True:
                page = self.store.interventions(None, status, cursor, 500)
                runs += page.interventions
                cursor = page.next_cursor
                if cursor is None:
                    break
        return effectiveness([p.id for p in self.model.playbooks], runs)

    # ------------------------------------------------------------------------------------------ events

    def _started(self, intervention: Intervention) -> list[SuccessEvent]:
        playbook = self.model.playbook(intervention.playbook)
        common = self._common(intervention)
        events = [
            self._event(
                intervention,
                SuccessEventType.INTERVENTION_STARTED,
                task_title=intervention.task_title,
                task_due_at=intervention.task_due_at,
                reasons=[intervention.reason] if intervention.reason else [],
                **common,
            )
        ]
        if playbook is None:
            return events  # a playbook removed from the model since: its intervention is told as it was
        contacts = (
            self._accounts.contacts_of(intervention.tenant_id)
            if (playbook.suppress_marketing or playbook.enroll_campaign)
            else []
        )
        if playbook.suppress_marketing:
            events.append(
                self._event(intervention, SuccessEventType.SUPPRESSION_REQUESTED, contact_ids=contacts, **common)
            )
        if playbook.enroll_campaign:
            events.append(
                self._event(
                    intervention,
                    SuccessEventType.ENROLLMENT_REQUESTED,
                    campaign_id=playbook.enroll_campaign,
                    contact_ids=contacts,
                    **common,
                )
            )
        return events

    def _closed_event(self, intervention: Intervention) -> SuccessEvent:
        common = self._common(intervention) | {
            "occurred_at": intervention.closed_at,
            "score": points_or_none(intervention.score_after),
            "band": intervention.band_after,
            "previous_score": points_or_none(intervention.score_before),
            "previous_band": intervention.band_before,
        }
        outcome = intervention.outcome.value if intervention.outcome else None
        return self._event(intervention, SuccessEventType.INTERVENTION_CLOSED, outcome=outcome, **common)

    def _common(self, intervention: Intervention) -> dict[str, object]:
        return {
            "occurred_at": intervention.opened_at,
            "tenant_id": intervention.tenant_id,
            "model_version": self.model.version,
            "score": points_or_none(intervention.score_before),
            "band": intervention.band_before,
            "cause": f"intervention:{intervention.intervention_id}",
            "intervention_id": intervention.intervention_id,
            "playbook": intervention.playbook,
        }

    @staticmethod
    def _event(intervention: Intervention, kind: SuccessEventType, **fields: object) -> SuccessEvent:
        return SuccessEvent.model_validate(
            {"event_id": SuccessEvent.id_for(intervention.intervention_id, kind.value), "event_type": kind, **fields}
        )

    def _publish(self, events: list[SuccessEvent]) -> None:
        if not events:
            return
        if self._publisher is None:
            raise RuntimeError("this function publishes nothing: it cannot run playbooks")
        failed = self._publisher.publish(events).failed
        if failed:
            raise RuntimeError(f"the bus refused {len(failed)} success event(s): {next(iter(failed.values()))}")
