"""The funnel's records: an entry into a stage, and a stage's counts (see `funnel.py` for how they are made)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

VISITOR = "Visitor"
FUNNEL_STAGES: tuple[str, ...] = (VISITOR, "Lead", "MQL", "SQL", "Opportunity", "Customer")


@dataclass(frozen=True)
class StageEntry:
    event_id: str
    lead_id: str
    stage: str  # one of FUNNEL_STAGES
    at: datetime
    campaign_id: str
    seconds_in_previous: int | None  # time in the stage left; None when not known

    @property
    def period(self) -> str:
        """The month it counts in, in UTC (as the store keys it)."""
        return self.at.astimezone(UTC).strftime("%Y-%m")


@dataclass(frozen=True)
class StageCounts:
    """A month's (or a range's) entries into one stage, and the time they had spent in the stage they left."""

    entered: int = 0
    seconds_in_previous: int = 0
    timed: int = 0  # entries whose time in the previous stage is known

    def plus(self, other: StageCounts) -> StageCounts:
        return StageCounts(
            self.entered + other.entered,
            self.seconds_in_previous + other.seconds_in_previous,
            self.timed + other.timed,
        )


def summed_by_stage(months: Iterable[Mapping[str, StageCounts]]) -> dict[str, StageCounts]:
    """Every stage of `FUNNEL_STAGES` with its counts summed over the months' (a range's funnel)."""
    counts = dict.fromkeys(FUNNEL_STAGES, StageCounts())
    for by_stage in months:
        for stage, found in by_stage.items():
            counts[stage] = counts[stage].plus(found)
    return counts
