"""The product and CS <-> marketing use cases: feedback kept once and ranked by ARR-weighted demand, product
analytics of an account, launches and their adoption, the marketing view of an account's health, and
CS-driven campaigns with their audience resolved. Health comes from the health service: computed from each
account's signal log, never read from a snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shared.events.success_events import SuccessEvent, SuccessEventType
from shared.success.campaigns import AccountStanding, CsCampaign, audience_of
from shared.success.engine import Health
from shared.success.expansion import Readiness, readiness_of
from shared.success.feedback import Arr, Demand, Feedback, FeedbackKind, arr_of, ranked
from shared.success.interventions import InterventionStatus
from shared.success.model import MeasureValue
from shared.success.ports import SuccessStore
from shared.success.product import Analytics, Launch, LaunchAdoption, adoption_of, analytics_of
from shared.success.service import HealthService

# How many accounts, and for a campaign how many of their contacts, one launch or campaign may reach: its event
# names every one and is one EventBridge entry (256 KB: 2,000 accounts and 3,000 contacts under ids of 40
# characters are about 215 KB, the hub's ids being 32), and the launch or campaign is one DynamoDB item (400 KB:
# it keeps its accounts). A broader audience is refused (422) before anything is told or kept: narrow it.
MAX_AUDIENCE_ACCOUNTS = 2_000
MAX_AUDIENCE_CONTACTS = 3_000


class KeyReused(Exception):
    """An id (feedback, launch, campaign) was used before with another body (409)."""


class AudienceTooLarge(ValueError):
    """A launch or campaign reaching more accounts (or contacts) than one event can name (422, naming the fields
    that chose them and the limit)."""


@dataclass(frozen=True)
class Ranking:
    demand: list[Demand]
    foreign_payments: int  # payments in another currency left out of the ARR


class ProductService:
    def __init__(self, store: SuccessStore, health: HealthService, company_currency: str) -> None:
        self.store = store
        self.health = health
        self.company_currency = company_currency

    # ---------------------------------------------------------------------------------------------- feedback

    def add_feedback(self, feedback: Feedback) -> tuple[bool, Feedback]:
        """(True, it) when kept now, (False, the one kept) for the same feedback again; KeyReused for another
        body under a used `feedback_id`. A request is also its account's `feature_requested` signal (expansion
        readiness reads it), recorded again when the same feedback comes again: a retry after the signal failed
        records it then."""
        created, kept = self._once(self.store.add_feedback(feedback), feedback, "feedback_id")
        if kept.kind is FeedbackKind.REQUEST:
            self.health.record_feature_request(kept.tenant_id, kept.feedback_key, kept.feature, kept.received_at)
        return created, kept

    def ranking(self, feature: str | None, kind: FeedbackKind | None) -> Ranking:
        feedback = self.store.feedback(feature)
        arr: dict[str, Arr] = {t: self.arr(t) for t in {f.tenant_id for f in feedback}}
        demand = ranked(feedback, {t: a.minor for t, a in arr.items()}, kind)
        return Ranking(demand, sum(a.foreign_payments for a in arr.values()))

    def arr(self, tenant_id: str) -> Arr:
        return arr_of(self.health.log(tenant_id), self.health.now(), self.company_currency)

    # ---------------------------------------------------------------------------------------------- analytics

    def analytics(self, reference: str) -> tuple[str, Analytics, Health, Readiness]:
        view, signals = self.health.view_of(self.health.tenant(reference))
        readiness = readiness_of(self.health.model, view.health, signals)
        return view.tenant_id, analytics_of(signals, view.health.as_of), view.health, readiness

    # ---------------------------------------------------------------------------------------------- launches

    def schedule_launch(self, launch: Launch) -> tuple[bool, Launch]:
        """Kept once under its id with the target accounts resolved now (those in its bands and segments), and
        published as `product.launch_scheduled` for marketing; AudienceTooLarge beyond `MAX_AUDIENCE_ACCOUNTS`."""
        stored = self.store.launch(launch.launch_id)
        if stored is not None:  # before resolving the targets: that reads every account's health
            return self._once(stored, launch, "launch_id")
        targets = tuple(s.tenant_id for s in self.standings() if launch.targets(s.band, s.segment))
        if len(targets) > MAX_AUDIENCE_ACCOUNTS:
            raise AudienceTooLarge(
                f"target_bands, target_segments: they reach {len(targets)} accounts, and a launch reaches at most "
                f"{MAX_AUDIENCE_ACCOUNTS}; target fewer bands or segments"
            )
        resolved = replace(launch, target_tenants=targets)
        event = self._event(
            SuccessEventType.LAUNCH_SCHEDULED,
            resolved.launch_id,
            resolved.created_at,
            launch_id=resolved.launch_id,
            feature=resolved.feature,
            launch_date=resolved.launch_date,
            target_bands=list(resolved.target_bands),
            target_segments=list(resolved.target_segments),
            tenant_ids=list(targets),
            messaging=resolved.messaging,
        )
        self.health.publish([event])  # told before it is kept: a retry tells again under the same id
        return self._once(self.store.add_launch(resolved), resolved, "launch_id")

    def launch_adoption(self, launch_id: str) -> tuple[Launch, LaunchAdoption] | None:
        launch = self.store.launch(launch_id)
        if launch is None:
            return None
        logs = {tenant: self.health.log(tenant) for tenant in launch.target_tenants}
        return launch, adoption_of(launch, logs)

    # ---------------------------------------------------------------------------------------------- CS <-> marketing

    def standing(self, reference: str) -> AccountStanding:
        return self._standing(self.health.tenant(reference))

    def standings(self) -> Iterator[AccountStanding]:
        """Every account with a health snapshot, as marketing sees it now."""
        cursor = None
        while True:
            page = self.health.store.tenants(cursor)
            for tenant_id in page.tenant_ids:
                yield self._standing(tenant_id)
            cursor = page.next_cursor
            if cursor is None:
                return

    def request_campaign(self, campaign: CsCampaign) -> tuple[bool, CsCampaign]:
        """Kept once under its id with its audience resolved now, and published as `marketing.campaign_requested`
        with the accounts and their contacts; AudienceTooLarge beyond `MAX_AUDIENCE_ACCOUNTS` accounts or
        `MAX_AUDIENCE_CONTACTS` contacts."""
        stored = self.store.campaign(campaign.campaign_id)
        if stored is not None:
            return self._once(stored, campaign, "campaign_id")
        tenants = tuple(audience_of(campaign.audience, campaign.kind, list(self.standings())))
        if len(tenants) > MAX_AUDIENCE_ACCOUNTS:
            raise AudienceTooLarge(
                f"audience: it reaches {len(tenants)} accounts, and a campaign reaches at most "
                f"{MAX_AUDIENCE_ACCOUNTS}; narrow its bands, segments or NPS range"
            )
        resolved = replace(campaign, tenants=tenants)
        contacts = [c for tenant in tenants for c in self.health.accounts.contacts_of(tenant)]
        if len(contacts) > MAX_AUDIENCE_CONTACTS:
            raise AudienceTooLarge(
                f"audience: its {len(tenants)} accounts have {len(contacts)} contacts, and a campaign reaches at "
                f"most {MAX_AUDIENCE_CONTACTS}; narrow its bands, segments or NPS range"
            )
        event = self._event(
            SuccessEventType.CAMPAIGN_REQUESTED,
            resolved.campaign_id,
            resolved.created_at,
            campaign_id=resolved.campaign_id,
            campaign_kind=resolved.kind.value,
            tenant_ids=list(tenants),
            contact_ids=contacts,
        )
        self.health.publish([event])
        return self._once(self.store.add_campaign(resolved), resolved, "campaign_id")

    # ---------------------------------------------------------------------------------------------- internals

    def _standing(self, tenant_id: str) -> AccountStanding:
        view = self.health.health_of(tenant_id)
        nps = next((line.value for line in view.health.lines if _measures(self.health, line.measure)), None)
        suppressed = False
        interventions = self.health.interventions
        if interventions is not None:
            page = interventions.interventions(tenant_id, InterventionStatus.OPEN, None, 100)
            suppressing = {p.id for p in self.health.model.playbooks if p.suppress_marketing}
            suppressed = any(i.playbook in suppressing for i in page.interventions)
        score = int(nps) if nps is not None and not isinstance(nps, str) else None
        return AccountStanding(tenant_id, view.health.band, score, suppressed, view.segment)

    def _event(self, kind: SuccessEventType, key: str, at: datetime, **fields: Any) -> SuccessEvent:
        return SuccessEvent.model_validate(
            {
                "event_id": SuccessEvent.id_for(key, kind.value),
                "event_type": kind,
                "occurred_at": at,
                "tenant_id": None,
                "model_version": self.health.model.version,
                "score": None,
                "band": None,
                "cause": f"{kind.value}:{key}",
                **fields,
            }
        )

    @staticmethod
    def _once(stored: Any, candidate: Any, id_field: str) -> tuple[bool, Any]:
        if stored is None:
            return True, candidate
        if stored.digest != candidate.digest:
            raise KeyReused(f"{id_field}: used before with another body; send a new {id_field}")
        return False, stored


def _measures(health: HealthService, measure_id: str) -> bool:
    measure = next((m for m in health.model.measures if m.id == measure_id), None)
    return measure is not None and measure.value is MeasureValue.NPS
