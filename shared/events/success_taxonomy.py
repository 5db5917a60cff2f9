"""What each customer success event type means, and an example of it: prose for the schema registry and
`docs/events.md`. `shared/success/service.py` is the authority on what is published when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from shared.events.success_events import SuccessEvent, SuccessEventType


@dataclass(frozen=True)
class SuccessEventTypeInfo:
    meaning: str
    described: bool = True


NOT_DESCRIBED = SuccessEventTypeInfo(
    meaning="Not described yet: add it to `SUCCESS_EVENT_TYPES` in `shared/events/success_taxonomy.py`.",
    described=False,
)

SUCCESS_EVENT_TYPES: Mapping[SuccessEventType, SuccessEventTypeInfo] = MappingProxyType(
    {
        SuccessEventType.HEALTH_CHANGED: SuccessEventTypeInfo(
            "An account's health score or band changed: a signal arrived (usage, a ticket, an NPS or CSAT answer, "
            "a payment, a subscription change, a CSM touch, the executive sponsor's engagement, a success plan "
            "or one of its milestones completed), or the nightly recomputation aged its time-based "
            "measures. `previous_band` and `band` say whether it crossed a band; "
            "`GET /api/v1/integrations/success/health/{tenant_id}` has the breakdown."
        ),
        SuccessEventType.CHURN_RISK_DETECTED: SuccessEventTypeInfo(
            "An account became a churn risk: it turned red, or its score fell by the model's `churn_risk."
            "drop_points` or more within `churn_risk.within_days`. Published once as it becomes one; again only "
            "after it recovered (left red and the drop) and fell again. `reasons` says which."
        ),
        SuccessEventType.EXPANSION_SIGNAL: SuccessEventTypeInfo(
            "An account became ready to expand: its expansion readiness (seat pressure, adoption, health, "
            "advocacy, as the model's `expansion` components score them) reached `ready_from`. Once as it "
            "becomes ready; again only after it fell below and rose again. `reasons` holds the evidence, "
            "`suggestions` the products its feature use suggests; `GET /api/v1/cs-sales/expansion/{customer_id}` "
            "has the breakdown."
        ),
        SuccessEventType.RENEWAL_AT_RISK: SuccessEventTypeInfo(
            "An account's subscription renews within the model's `renewal.at_risk_within_days` (its latest "
            "`subscription.changed` period end) and its health is not green. Told once per account and renewal "
            "date, by the recomputation that first finds it so (a signal, or the nightly as the date comes "
            "closer), under one id per account and renewal date."
        ),
        SuccessEventType.CAMPAIGN_REQUESTED: SuccessEventTypeInfo(
            "Customer success asked marketing for a campaign (`POST /api/v1/cs-marketing/campaigns`): advocacy, "
            "reference, retention or upsell, with its audience resolved when asked (`tenant_ids` by health band, "
            "customer segment and NPS; a promotion never reaches an account whose open intervention suppresses "
            "marketing) and their contacts (`contact_ids`). Once per `campaign_id`."
        ),
        SuccessEventType.LAUNCH_SCHEDULED: SuccessEventTypeInfo(
            "Product scheduled a launch (`POST /api/v1/integrations/product/launches`): the `feature`, its "
            "`launch_date`, the `target_bands` and `target_segments` and the accounts in them now (`tenant_ids`), "
            "and the `messaging` for marketing. Once per `launch_id`; `GET .../launches/{launch_id}` follows its "
            "adoption."
        ),
        SuccessEventType.INTERVENTION_STARTED: SuccessEventTypeInfo(
            "A playbook was started for an account: by the churn risk (the playbooks whose trigger is `churn_risk` "
            "and whose bands hold the account's band) or by hand (`POST /api/v1/integrations/success/"
            "interventions`). Carries the CSM task (`task_title`, `task_due_at`) and the health before "
            "(`score`, `band`). Once per account and playbook while it is open; `success_notifier` tells the "
            "playbook's Slack channel and emails."
        ),
        SuccessEventType.INTERVENTION_CLOSED: SuccessEventTypeInfo(
            "An intervention was evaluated, its playbook's `evaluate_after_days` after it opened: `previous_score` "
            "/ `previous_band` the health before, `score` / `band` after, `outcome` improved, unchanged (within "
            "the model's `trend.flat_within`), worsened, or no_score."
        ),
        SuccessEventType.SUPPRESSION_REQUESTED: SuccessEventTypeInfo(
            "An intervention asks marketing to stop promotional campaigns to an at-risk account's contacts "
            "(`contact_ids`, the hub's lead ids) while it is open (`intervention_id`)."
        ),
        SuccessEventType.ENROLLMENT_REQUESTED: SuccessEventTypeInfo(
            "An intervention asks marketing to enrol an account's contacts (`contact_ids`) in a campaign "
            "(`campaign_id`, the playbook's `enroll_campaign`: the retention campaign for a churn risk)."
        ),
    }
)

_AT = datetime(2026, 11, 30, 3, 15, 0, tzinfo=UTC)


def describe(event_type: SuccessEventType) -> SuccessEventTypeInfo:
    return SUCCESS_EVENT_TYPES.get(event_type, NOT_DESCRIBED)


_TENANT = "acct-0f3a"
_CAUSE = "6f1c2b7e-4d0a-5e3f-9b8c-1a2d3e4f5a6b"
_INTERVENTION = "9b2f6c1e-0d4a-5b7e-8c3f-2a1d6e5f4b3c"
_CONTACTS = ["lead-7c1e", "lead-91ab"]
_ABOUT_ACCOUNT = {"tenant_id": _TENANT, "cause": _CAUSE}
_STARTED = {
    "tenant_id": _TENANT,
    "cause": f"intervention:{_INTERVENTION}",
    "intervention_id": _INTERVENTION,
    "playbook": "churn_save",
    "score": 35.0,
    "band": "red",
}
# Per type: what its id is derived from, and its fields beside the common ones.
_EXAMPLES: Mapping[SuccessEventType, tuple[tuple[str, ...], dict[str, Any]]] = {
    SuccessEventType.HEALTH_CHANGED: (
        (_TENANT, _CAUSE),
        _ABOUT_ACCOUNT
        | {"score": 61.5, "band": "yellow", "previous_score": 74.25, "previous_band": "green", "trend_d30": -12.75},
    ),
    SuccessEventType.CHURN_RISK_DETECTED: (
        (_TENANT, _CAUSE),
        _ABOUT_ACCOUNT
        | {
            "score": 35.0,
            "band": "red",
            "previous_score": 61.5,
            "previous_band": "yellow",
            "trend_d30": -39.25,
            "reasons": ["turned red", "fell 39.25 points in 30 days"],
        },
    ),
    SuccessEventType.EXPANSION_SIGNAL: (
        (_TENANT, _CAUSE),
        _ABOUT_ACCOUNT
        | {
            "score": 92.5,
            "band": "green",
            "readiness": 84.0,
            "suggestions": ["analytics_pro"],
            "reasons": ["seat_pressure: 0.9500", "adoption: 6", "healthy: green", "advocacy: 9"],
        },
    ),
    SuccessEventType.RENEWAL_AT_RISK: (
        (_TENANT, "2026-12-31"),
        {
            "tenant_id": _TENANT,
            "cause": "renewal:2026-12-31",
            "score": 52.0,
            "band": "yellow",
            "renews_at": datetime(2026, 12, 31, 0, 0, tzinfo=UTC),
            "reasons": ["renews in 30 days while yellow"],
        },
    ),
    SuccessEventType.INTERVENTION_STARTED: (
        (_INTERVENTION,),
        _STARTED
        | {
            "task_title": "Save call with kestrel-labs.io",
            "task_due_at": _AT + timedelta(days=2),
            "reasons": ["turned red"],
        },
    ),
    SuccessEventType.SUPPRESSION_REQUESTED: ((_INTERVENTION,), _STARTED | {"contact_ids": _CONTACTS}),
    SuccessEventType.ENROLLMENT_REQUESTED: (
        (_INTERVENTION,),
        _STARTED | {"campaign_id": "retention-save", "contact_ids": _CONTACTS},
    ),
    SuccessEventType.INTERVENTION_CLOSED: (
        (_INTERVENTION,),
        _STARTED
        | {"score": 68.5, "band": "yellow", "previous_score": 35.0, "previous_band": "red", "outcome": "improved"},
    ),
    SuccessEventType.CAMPAIGN_REQUESTED: (
        ("advocacy-q1",),
        {
            "cause": "marketing.campaign_requested:advocacy-q1",
            "campaign_id": "advocacy-q1",
            "campaign_kind": "advocacy",
            "tenant_ids": [_TENANT, "acct-77b2"],
            "contact_ids": [*_CONTACTS, "lead-a3d4"],
        },
    ),
    SuccessEventType.LAUNCH_SCHEDULED: (
        ("launch-sso",),
        {
            "cause": "product.launch_scheduled:launch-sso",
            "launch_id": "launch-sso",
            "feature": "sso",
            "launch_date": _AT.date() + timedelta(days=14),
            "target_bands": ["green", "yellow"],
            "target_segments": [],
            "tenant_ids": [_TENANT, "acct-77b2"],
            "messaging": "Single sign-on for every plan",
        },
    ),
}


def example_event(event_type: SuccessEventType) -> SuccessEvent:
    key, fields = _EXAMPLES[event_type]
    common = {"occurred_at": _AT, "model_version": "2026.1", "tenant_id": None, "score": None, "band": None}
    return SuccessEvent.model_validate(
        common | {"event_id": SuccessEvent.id_for(*key, event_type.value), "event_type": event_type} | fields
    )
