"""The funnel's items (layout: `dynamodb_attribution_keys.py`): the marker of a counted stage entry (and the
entry it records, read back), and the counts an entry adds to its month's stage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.adapters.dynamodb_attribution_keys import FUNNEL_EVENT, funnel_event_pk, month_of
from shared.adapters.dynamodb_items import iso, when
from shared.attribution.funnel_counts import StageCounts, StageEntry


def stage_entry_marker(entry: StageEntry) -> dict[str, Any]:
    """The marker of a (checked) entry, written once with its counts."""
    item: dict[str, Any] = {
        "pk": funnel_event_pk(entry.event_id),
        "sk": FUNNEL_EVENT,
        "event_id": entry.event_id,
        "lead_id": entry.lead_id,
        "stage": entry.stage,
        "at": iso(entry.at),
        "campaign_id": entry.campaign_id,
        "period": month_of(entry.at),
        "seconds_in_previous": entry.seconds_in_previous,
    }
    return {name: value for name, value in item.items() if value is not None}


def stage_entry_from(item: Mapping[str, Any]) -> StageEntry:
    """The entry a marker records, as it counts now (its campaign moved by a reattribution or not)."""
    seconds = item.get("seconds_in_previous")
    return StageEntry(
        event_id=str(item["event_id"]),
        lead_id=str(item["lead_id"]),
        stage=str(item["stage"]),
        at=when(item["at"]),
        campaign_id=str(item["campaign_id"]),
        seconds_in_previous=None if seconds is None else int(seconds),
    )


def stage_entry_counts(entry: StageEntry) -> StageCounts:
    """What an entry adds to its month's stage."""
    timed = entry.seconds_in_previous is not None
    return StageCounts(1, entry.seconds_in_previous or 0, 1 if timed else 0)


def stage_counts_attributes(counts: StageCounts) -> dict[str, int]:
    return {"entered": counts.entered, "seconds_in_previous": counts.seconds_in_previous, "timed": counts.timed}


def stage_counts_from(item: Mapping[str, Any]) -> StageCounts:
    return StageCounts(int(item.get("entered", 0)), int(item.get("seconds_in_previous", 0)), int(item.get("timed", 0)))
