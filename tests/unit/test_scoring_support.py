"""Builders shared by the scoring tests (no tests here): small models, engagements at an age, a fixed as_of."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.scoring import Engagement, ScoringModel, parse_model

AS_OF = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def model_dict(
    *,
    fit_rules: list[dict[str, Any]] | None = None,
    icp_min: float = 0,
    groups: list[dict[str, Any]] | None = None,
    rules: list[dict[str, Any]] | None = None,
    total: dict[str, Any] | None = None,
    mql: dict[str, Any] | None = None,
    handoff: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A valid model with nothing in it but what the test gives (one undecayed, uncapped `email` group)."""
    data: dict[str, Any] = {
        "version": "test-1",
        "fit": {"icp_min": icp_min, "rules": fit_rules or []},
        "engagement": {"groups": groups or [{"id": "email"}], "rules": rules or []},
        "mql": {
            "email_engagement_min": 0,
            "content_pieces_min": 0,
            "website_sessions_min": 0,
            "require_icp_fit": False,
            **(mql or {}),
        },
    }
    if total is not None:
        data["total"] = total
    if handoff is not None:
        data["handoff"] = handoff
    return data


def build(**parts: Any) -> ScoringModel:
    return parse_model(model_dict(**parts))


def rule(rule_id: str, kind: str, points: float, group: str = "email", **extra: Any) -> dict[str, Any]:
    return {"id": rule_id, "kind": kind, "group": group, "points": points, **extra}


def ago(event_id: str, kind: str, age: timedelta = timedelta(0), **fields: Any) -> Engagement:
    """An engagement `age` before AS_OF."""
    return Engagement.of(event_id, AS_OF - age, kind, **fields)


def at(event_id: str, kind: str, moment: datetime, **fields: Any) -> Engagement:
    return Engagement.of(event_id, moment, kind, **fields)
