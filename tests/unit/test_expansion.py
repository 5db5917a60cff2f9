"""Expansion readiness: seat pressure, adoption, a green health and a promoter's NPS make an account ready; the
evidence sums to the readiness exactly; the features it uses suggest products; no evidence is no readiness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.success.engine import evaluate
from shared.success.expansion import readiness_of
from shared.success.model import load_health_model
from shared.success.signals import Signal, SignalKind

MODEL = load_health_model()
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def usage(active: int, seats: int, features: dict[str, int]) -> Signal:
    values: dict[str, Any] = {"active_users": active, "licensed_seats": seats, "features": features}
    return Signal(f"u-{active}", SignalKind.USAGE, NOW - timedelta(days=1), values)


def nps(score: int) -> Signal:
    return Signal(f"nps-{score}", SignalKind.NPS, NOW - timedelta(days=2), {"nps": score})


def requested(feature: str, days_ago: int = 3) -> Signal:
    at = NOW - timedelta(days=days_ago)
    return Signal(f"fr-{feature}-{days_ago}", SignalKind.FEATURE_REQUESTED, at, {"feature": feature})


SIX = {"reports": 40, "dashboards": 12, "alerts": 3, "api": 200, "sso": 1, "exports": 9}


def test_heavy_use_near_the_seat_limit_by_a_promoter_is_ready_with_evidence_that_sums_exactly() -> None:
    # Given 19 of 20 seats used, six features, a promoter, a green health, and two catalog features asked for
    signals = [usage(19, 20, SIX), nps(9), requested("audit_log"), requested("webhooks")]
    health = evaluate(MODEL, signals, NOW)
    # When its readiness is computed
    readiness = readiness_of(MODEL, health, signals)
    # Then every component scores 100: ready, and the evidence shares the readiness exactly
    assert (readiness.score_hundredths, readiness.ready) == (10_000, True)
    assert [(e.component, e.score) for e in readiness.evidence] == [
        ("seat_pressure", 100),
        ("adoption", 100),
        ("healthy", 100),
        ("advocacy", 100),
        ("feature_demand", 100),
    ]
    assert sum(e.contribution_hundredths for e in readiness.evidence) == readiness.score_hundredths
    # And the features it uses and asks for suggest the products that build on them
    assert [(s.product, s.because) for s in readiness.suggestions] == [
        ("analytics_pro", ["dashboards", "reports"]),
        ("enterprise_security", ["audit_log", "sso"]),
        ("api_platform", ["api", "webhooks"]),
    ]


def test_feature_requests_for_the_catalogs_products_are_evidence_and_suggest_whatever_the_seats() -> None:
    # Given light use (40 % of seats), a request for SSO, one for a feature no product has, and one long ago
    signals = [usage(8, 20, {"reports": 2}), requested("sso"), requested("dark_mode"), requested("audit_log", 200)]
    health = evaluate(MODEL, signals, NOW)
    # When its readiness is computed
    readiness = readiness_of(MODEL, health, signals)
    # Then one catalog feature asked for in the last 180 days is the demand's evidence (60 of its 100)
    demand = next(e for e in readiness.evidence if e.component == "feature_demand")
    assert (demand.measure, demand.value, demand.score, demand.weight) == ("feature_requests", 1, 60, 10)
    assert sum(e.contribution_hundredths for e in readiness.evidence) == readiness.score_hundredths
    # And the product it asked for is suggested though its seats would not suggest one by use
    assert [(s.product, s.because) for s in readiness.suggestions] == [("enterprise_security", ["sso"])]


def test_light_use_is_not_ready_and_missing_evidence_counts_for_nothing() -> None:
    signals = [usage(8, 20, {"reports": 2})]  # 40 % of seats, one feature, no NPS
    health = evaluate(MODEL, signals, NOW)
    readiness = readiness_of(MODEL, health, signals)
    assert not readiness.ready
    advocacy = next(e for e in readiness.evidence if e.component == "advocacy")
    assert (advocacy.value, advocacy.score, advocacy.contribution_hundredths) == (None, 0, 0)
    # analytics_pro wants half the seats used: not suggested at 40 %
    assert [s.product for s in readiness.suggestions] == []
    assert sum(e.contribution_hundredths for e in readiness.evidence) == readiness.score_hundredths
