"""What scoring returns: `Score` (figures + breakdown) and `ScoreSummary` (figures only, from the fast path).

Points are integer hundredths in the `*_hundredths` fields, so the breakdown adds up exactly; each has a float
view (`points`, `raw`, `total`, ...) with the same value to two decimals, for display and JSON.
Line items are named tuples: cheap to build by the hundred thousand and immutable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HandoffLevel = Literal["immediate", "priority", "standard"]


def points(value_hundredths: int) -> float:
    """Hundredths back to points, as the nearest float to the 2-decimal value (`250` -> `2.5`)."""
    return value_hundredths / 100


def points_or_none(value_hundredths: int | None) -> float | None:
    """`points`, with None (no score) kept None."""
    return None if value_hundredths is None else points(value_hundredths)


def from_us(at_us: int) -> datetime:
    """Microseconds since the epoch back to an aware UTC datetime."""
    return EPOCH + timedelta(microseconds=at_us)


class FitLine(NamedTuple):
    """A fit rule that matched the profile (`matched`: the value or keyword it matched on)."""

    rule_id: str
    points_hundredths: int
    matched: str
    disqualifies: bool

    @property
    def points(self) -> float:
        return points(self.points_hundredths)


class EngagementLine(NamedTuple):
    """An engagement scored under `rule_id`, the first rule (in model order) that matched it.

    `raw`: the rule's points. `awarded`: what the event earned when it happened, after the rule's caps; `cap`
    names the cap that reduced it (`once`, `max_per_day`, `max_lifetime`) or is None. `points`: `awarded`
    after the group's decay as of the score's `as_of`: what this line contributes to the total. `excluded`: why
    the engagement earned nothing although the rule matched it (the caller withheld it: a withdrawn consent);
    then `awarded` and `points` are 0 and it counted toward no cap.
    """

    rule_id: str
    group: str
    kind: str
    event_id: str
    at_us: int
    raw_hundredths: int
    awarded_hundredths: int
    points_hundredths: int
    cap: str | None
    excluded: str | None = None

    @property
    def occurred_at(self) -> datetime:
        return from_us(self.at_us)

    @property
    def raw(self) -> float:
        return points(self.raw_hundredths)

    @property
    def awarded(self) -> float:
        return points(self.awarded_hundredths)

    @property
    def points(self) -> float:
        return points(self.points_hundredths)


class Adjustment(NamedTuple):
    """A cap or floor as a line of its own, so the breakdown still adds up to the total.

    `kind`: `group_cap` (scope: the group id; negative), `total_cap` (scope `total`; negative) or `floor`
    (scope `total`; positive: what raised a negative total to 0).
    """

    kind: Literal["group_cap", "total_cap", "floor"]
    scope: str
    points_hundredths: int
    detail: str

    @property
    def points(self) -> float:
        return points(self.points_hundredths)


class GroupScore(NamedTuple):
    """An engagement group's decayed points before (`uncapped`) and after (`points`) its cap."""

    group: str
    uncapped_hundredths: int
    points_hundredths: int
    cap_hundredths: int | None

    @property
    def points(self) -> float:
        return points(self.points_hundredths)


class HandoffTrigger(NamedTuple):
    """A handoff trigger that fires, and why (`event_id`: the engagement behind a priority trigger)."""

    level: HandoffLevel
    reason: str
    event_id: str | None = None


class ScoreSummary(NamedTuple):
    """The figures of a score without its breakdown: what `summarize` returns and `Score.summary()` gives."""

    total_hundredths: int
    fit_hundredths: int
    engagement_hundredths: int
    email_engagement_hundredths: int
    content_pieces: int
    website_sessions: int
    icp_fit: bool
    mql: bool
    handoff: HandoffLevel | None


@dataclass(frozen=True, slots=True)
class Score:
    """A contact's score as of `as_of` under model `model_version`, with its breakdown.

    The breakdown adds up exactly, in hundredths: `fit_lines + engagement_lines + adjustments == total`,
    `fit_lines == fit_score`, and `engagement_lines + group_cap adjustments == engagement_score`.
    """

    model_version: str
    as_of: datetime
    total_hundredths: int
    fit_hundredths: int
    engagement_hundredths: int
    email_engagement_hundredths: int
    content_pieces: int
    website_sessions: int
    icp_fit: bool
    disqualified_by: tuple[str, ...]
    mql: bool
    handoff: tuple[HandoffTrigger, ...]
    groups: tuple[GroupScore, ...]
    fit_lines: tuple[FitLine, ...]
    engagement_lines: tuple[EngagementLine, ...]
    adjustments: tuple[Adjustment, ...]

    @property
    def total(self) -> float:
        return points(self.total_hundredths)

    @property
    def fit_score(self) -> float:
        return points(self.fit_hundredths)

    @property
    def engagement_score(self) -> float:
        return points(self.engagement_hundredths)

    @property
    def email_engagement(self) -> float:
        return points(self.email_engagement_hundredths)

    @property
    def handoff_level(self) -> HandoffLevel | None:
        """The most urgent trigger that fires: `immediate`, `priority`, `standard`, or None."""
        return self.handoff[0].level if self.handoff else None

    def breakdown_hundredths(self) -> int:
        """The sum of every breakdown line; always equal to `total_hundredths`."""
        return (
            sum(line.points_hundredths for line in self.fit_lines)
            + sum(line.points_hundredths for line in self.engagement_lines)
            + sum(line.points_hundredths for line in self.adjustments)
        )

    def summary(self) -> ScoreSummary:
        return ScoreSummary(
            self.total_hundredths,
            self.fit_hundredths,
            self.engagement_hundredths,
            self.email_engagement_hundredths,
            self.content_pieces,
            self.website_sessions,
            self.icp_fit,
            self.mql,
            self.handoff_level,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; points as numbers with two decimals."""
        return {
            "model_version": self.model_version,
            "as_of": self.as_of.isoformat(),
            "total": self.total,
            "fit_score": self.fit_score,
            "engagement_score": self.engagement_score,
            "mql": {
                "met": self.mql,
                "email_engagement": self.email_engagement,
                "content_pieces": self.content_pieces,
                "website_sessions": self.website_sessions,
                "icp_fit": self.icp_fit,
                "disqualified_by": list(self.disqualified_by),
            },
            "handoff": [t._asdict() for t in self.handoff],
            "groups": [
                {
                    "group": g.group,
                    "points": g.points,
                    "uncapped": points(g.uncapped_hundredths),
                    "cap": None if g.cap_hundredths is None else points(g.cap_hundredths),
                }
                for g in self.groups
            ],
            "breakdown": {
                "fit": [
                    {"rule": f.rule_id, "points": f.points, "matched": f.matched, "disqualifies": f.disqualifies}
                    for f in self.fit_lines
                ],
                "engagement": [
                    {
                        "rule": e.rule_id,
                        "group": e.group,
                        "kind": e.kind,
                        "event_id": e.event_id,
                        "occurred_at": e.occurred_at.isoformat(),
                        "raw": e.raw,
                        "awarded": e.awarded,
                        "points": e.points,
                        "cap": e.cap,
                        "excluded": e.excluded,
                    }
                    for e in self.engagement_lines
                ],
                "adjustments": [
                    {"kind": a.kind, "scope": a.scope, "points": a.points, "detail": a.detail} for a in self.adjustments
                ],
            },
        }
