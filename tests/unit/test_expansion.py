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


SIX = {"reports": 40, "dashboards": 12, "alerts": 3, "api": 200, "sso": 1, "exports": 9}


def test_heavy_use_near_the_seat_limit_by_a_promoter_is_ready_with_evidence_that_sums_exactly() -> None:
    # Given 19 of 20 seats used, six features, a promoter, a green health
    signals = [usage(19, 20, SIX), nps(9)]
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
    ]
    assert sum(e.contribution_hundredths for e in readiness.evidence) == readiness.score_hundredths
    # And the features it uses suggest the products that build on them
    assert [(s.product, s.because) for s in readiness.suggestions] == [
        ("analytics_pro", ["dashboards", "reports"]),
        ("enterprise_security", ["sso"]),
        ("api_platform", ["api"]),
    ]


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
