"""Points as the APIs write them: JSON numbers of at most two decimals. Read as decimals, as README says to,
a lead score's and a health score's breakdown lines add up to the total to the hundredth, as the engines'
integer hundredths do (summed as binary floats they may not: `0.1 + 0.2`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.scoring import Engagement, Profile, ScoringModel, score
from shared.success.api_models import HealthResponse
from shared.success.engine import evaluate, trend_of
from shared.success.model import load_health_model
from shared.success.service import HealthView
from shared.success.signals import Signal, SignalKind
from tests.unit.test_scoring_properties import AS_OF, logs, models, profiles

SETTINGS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HEALTH_MODEL = load_health_model()


def as_decimals(document: dict[str, Any]) -> Any:
    return json.loads(json.dumps(document), parse_float=Decimal)


def at_most_two_decimals(value: Decimal | int) -> bool:
    return isinstance(value, int) or value.as_tuple().exponent >= -2  # type: ignore[operator]


@SETTINGS
@given(models, profiles, logs)
def test_a_lead_scores_json_lines_read_as_decimals_add_up_to_its_total(
    model: ScoringModel, profile: Profile, log: list[Engagement]
) -> None:
    # Given a score as the leads API writes it
    document = as_decimals(score(model, profile, log, AS_OF).to_dict())
    # When its lines are read as decimals
    lines = document["breakdown"]
    points = [line["points"] for line in (*lines["fit"], *lines["engagement"], *lines["adjustments"])]
    # Then each has at most two decimals, and they add up to the total exactly
    assert all(at_most_two_decimals(value) for value in (*points, document["total"]))
    assert sum(points, Decimal(0)) == document["total"]


def usage(days_ago: int, active: int, seats: int, features: int) -> Signal:
    values: dict[str, Any] = {"active_users": active, "licensed_seats": seats}
    if features:
        values["features"] = {f"feature_{i}": 3 for i in range(features)}
    return Signal(f"usage-{days_ago}", SignalKind.USAGE, NOW - timedelta(days=days_ago), values)


@SETTINGS
@given(
    seats=st.integers(1, 50),
    earlier=st.integers(0, 50),
    later=st.integers(0, 50),
    features=st.integers(0, 8),
    nps=st.integers(0, 10),
    paid=st.booleans(),
)
def test_a_health_scores_json_lines_read_as_decimals_add_up_to_its_score(
    seats: int, earlier: int, later: int, features: int, nps: int, paid: bool
) -> None:
    # Given an account's usage, NPS and payments, and its health as the success API writes it
    signals = [
        usage(40, min(earlier, seats), seats, 0),
        usage(2, min(later, seats), seats, features),
        Signal("nps", SignalKind.NPS, NOW - timedelta(days=5), {"nps": nps}),
    ]
    if paid:
        signals.append(Signal("paid", SignalKind.PAYMENT_SUCCEEDED, NOW - timedelta(days=11), {"invoice_id": "in_1"}))
    health = evaluate(HEALTH_MODEL, signals, NOW)
    view = HealthView("t-1", health, trend_of(HEALTH_MODEL, signals, health), [])
    document = json.loads(HealthResponse.of(view).model_dump_json(), parse_float=Decimal)
    # When its breakdown is read as decimals, Then the lines (a cap's among them) add up to the score exactly
    if document["score"] is not None:
        contributions = [line["contribution"] for line in document["breakdown"]]
        assert all(at_most_two_decimals(value) for value in (*contributions, document["score"]))
        assert sum(contributions, Decimal(0)) == document["score"]
