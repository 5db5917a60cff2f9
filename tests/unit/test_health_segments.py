"""Customer segments (issue 13: playbooks "configurable per band and segment", CS campaigns and launches aimed by
segment): an account is in the first segment of the health model it meets, by what it paid over the trailing
year in the company currency and by its licensed seats; churn playbooks, campaign audiences and launches target
segments; a model naming segments badly is refused, naming them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.events.canonical import EventType
from shared.events.success_events import SuccessEventType
from shared.success.api_models import HealthResponse
from shared.success.campaigns import Audience, CampaignKind, CsCampaign
from shared.success.interventions import churn_playbooks
from shared.success.model import DEFAULT_HEALTH_MODEL_PATH, InvalidHealthModel, load_health_model, parse_health_model
from shared.success.product import Launch
from shared.success.segments import segment_of
from shared.success.signals import Signal, SignalKind
from tests.unit.test_health_service import CUSTOMER, World, turn_red

MODEL = load_health_model()
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def paid(days_ago: int, minor: int, currency: str = "USD", n: int = 0) -> Signal:
    values = {"amount_minor": minor, "currency": currency}
    return Signal(f"pay-{days_ago}-{n}", SignalKind.PAYMENT_SUCCEEDED, NOW - timedelta(days=days_ago), values)


def seats(days_ago: int, licensed: int) -> Signal:
    values = {"active_users": 1, "licensed_seats": licensed, "features": {}}
    return Signal(f"use-{days_ago}", SignalKind.USAGE, NOW - timedelta(days=days_ago), values)


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        ([paid(10, 10_000_000)], "enterprise"),  # 100,000.00 USD in the year: the threshold itself
        ([paid(10, 9_999_999)], "mid_market"),
        ([paid(30 * m, 200_000, n=m) for m in range(12)], "mid_market"),  # 2,000.00 a month for a year
        ([paid(400, 50_000_000)], "smb"),  # paid before the trailing year
        ([paid(10, 50_000_000, currency="EUR")], "smb"),  # another currency is not counted
        ([], "smb"),
    ],
)
def test_an_account_is_in_the_first_segment_it_meets_by_its_trailing_year_revenue(
    signals: list[Signal], expected: str
) -> None:
    assert segment_of(MODEL.segments, signals, NOW, "USD") == expected


def test_segments_by_seats_read_the_latest_report_that_gives_them_and_none_without_segments() -> None:
    model = parse_health_model(
        _default()
        | {
            "segments": [{"id": "large", "min_seats": 500}, {"id": "small"}],
            "playbooks": [p for p in _default()["playbooks"] if not p.get("segments")],
        }
    )
    assert segment_of(model.segments, [seats(40, 800), seats(5, 120)], NOW, "USD") == "small"
    assert segment_of(model.segments, [seats(40, 120), seats(5, 800)], NOW, "USD") == "large"
    assert segment_of(model.segments, [], NOW, "USD") == "small"
    assert segment_of([], [seats(5, 800)], NOW, "USD") is None


def test_churn_playbooks_are_chosen_by_band_and_segment() -> None:
    assert [p.id for p in churn_playbooks(MODEL, "yellow", "enterprise")] == ["enterprise_escalation"]
    assert [p.id for p in churn_playbooks(MODEL, "red", "enterprise")] == ["enterprise_escalation", "churn_save"]
    assert [p.id for p in churn_playbooks(MODEL, "red", "smb")] == ["churn_save"]
    assert churn_playbooks(MODEL, "yellow", "mid_market") == []


def test_an_enterprise_account_turning_red_opens_its_escalation_too_and_its_health_names_the_segment() -> None:
    # Given two worlds: Kestrel Labs paying 4,900.00 once, and paying 120,000.00 (company currency USD)
    small, large = World("USD"), World("USD")
    turn_red(small)
    large.customer()
    big = {"amount_minor": 12_000_000, "currency": "usd"}
    large.service.handle(large.event(EventType.PAYMENT_SUCCEEDED, big, account_id=CUSTOMER))
    turn_red(large)
    # When each turned red
    started = {
        name: [e.playbook for e in world.published(SuccessEventType.INTERVENTION_STARTED)]
        for name, world in (("small", small), ("large", large))
    }
    # Then the enterprise account opened its escalation beside the churn save, the small one only the save
    assert started == {"small": ["churn_save"], "large": ["enterprise_escalation", "churn_save"]}
    tenant = large.service.tenant(CUSTOMER)
    assert HealthResponse.of(large.service.health_of(tenant)).segment == "enterprise"
    assert HealthResponse.of(small.service.health_of(small.service.tenant(CUSTOMER))).segment == "smb"


def test_campaigns_and_launches_reach_only_the_segments_they_name() -> None:
    # Given an enterprise customer (a 120,000.00 payment)
    world = World("USD")
    world.customer()
    big = {"amount_minor": 12_000_000, "currency": "usd"}
    world.service.handle(world.event(EventType.PAYMENT_SUCCEEDED, big, account_id=CUSTOMER))
    tenant = world.service.tenant(CUSTOMER)

    # When an upsell campaign is asked for SMB accounts, another for enterprise ones, and launches likewise
    def campaign(campaign_id: str, segment: str) -> CsCampaign:
        audience = Audience(segments=(segment,))
        return CsCampaign(campaign_id, CampaignKind.UPSELL, "Upsell", audience, "ana", NOW, ())

    _, to_smb = world.product.request_campaign(campaign("c-smb", "smb"))
    _, to_enterprise = world.product.request_campaign(campaign("c-ent", "enterprise"))

    def launch(launch_id: str, segment: str) -> Launch:
        return Launch(launch_id, "sso", NOW.date(), (), "New", NOW, target_segments=(segment,))

    _, for_smb = world.product.schedule_launch(launch("l-smb", "smb"))
    _, for_enterprise = world.product.schedule_launch(launch("l-ent", "enterprise"))
    # Then only those naming its segment reach it, and the launch's event says which segments it targets
    assert (to_smb.tenants, to_enterprise.tenants) == ((), (tenant,))
    assert (for_smb.target_tenants, for_enterprise.target_tenants) == ((), (tenant,))
    scheduled = world.published(SuccessEventType.LAUNCH_SCHEDULED)
    assert [e.target_segments for e in scheduled] == [["smb"], ["enterprise"]]
    assert world.product.standing(tenant).segment == "enterprise"


def _default() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DEFAULT_HEALTH_MODEL_PATH.read_text())
    return document


@pytest.mark.parametrize(
    ("segments", "playbook_segments", "problem"),
    [
        ([{"id": "a", "min_seats": 1}, {"id": "a"}], [], 'segment "a": id is used by another segment'),
        ([{"id": "a"}, {"id": "b"}], [], 'segment "a": only the last segment may name no condition'),
        ([{"id": "a", "min_seats": 5}], [], 'segment "a": the last segment names no condition'),
        ([{"id": "a"}], ["enterprise"], 'playbook "save": segment "enterprise" is not a segment of the model'),
    ],
)
def test_a_model_naming_segments_badly_is_refused_naming_them(
    segments: list[dict[str, Any]], playbook_segments: list[str], problem: str
) -> None:
    document = _default() | {"segments": segments}
    document["playbooks"] = [
        {"id": "save", "trigger": "churn_risk", "segments": playbook_segments, "task": {"title": "Call {account}"}}
    ]
    with pytest.raises(InvalidHealthModel) as refused:
        parse_health_model(document)
    assert any(problem in one for one in refused.value.problems), refused.value.problems
