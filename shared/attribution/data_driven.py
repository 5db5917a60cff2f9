"""The data-driven batch (schedule `attribution-data-driven`): fit the Markov model on the journeys of the last
`data_driven_window_days` (default 90), converting and not, then recompute the data-driven credits of every
conversion of the months that window touches with the new fit.

Journeys, all read over the same span: each conversion of the window (converted at or after its start; the
first month's earlier ones are re-credited, not fitted) is one converting journey (the channels of its stored
touches: those within the lookback before it); every other person with a touch in the window is one journey
that did not convert (the channels of their touches within the lookback before now). A non-converter cut to the
window while buyers kept their lookback would make a channel of the older touches look as if only buyers had
it.

People are read from the lead store contact by contact: the batch reads every contact's engagement log once. At
about 2,000 contacts a second (moto, one core; DynamoDB pages of 100 do better) a 15-minute Lambda covers about
1.5 million contacts; beyond that, export the lead table to S3 and fit with a Step Functions distributed map or
Athena, storing the fit the same way (`save_fit`). The fit itself is small work (100,000 journeys of 12 touches:
under a second, see `make bench`).

A conversion credited with an older fit (or none: linear) is moved to the new one; its totals follow by the
difference in the same write. A conversion recorded meanwhile keeps the fit it was recorded with until the next
run (StaleCredits is skipped, not retried).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.attribution.config import AttributionConfig
from shared.attribution.crediting import deal_units
from shared.attribution.journeys import Credit, Journey
from shared.attribution.markov import MarkovFit, data_driven_credits, fit_markov, path_counts
from shared.attribution.ports import AttributionStore, StaleCredits, StoredConversion, StoredFit
from shared.attribution.touchpoints import touches_from
from shared.leads.model import EngagementRecord

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Refit:
    fit: StoredFit
    recredited: int
    skipped: int  # recorded or re-credited meanwhile: left for the next run


def months_between(start: datetime, end: datetime) -> list[str]:
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def window_conversions(store: AttributionStore, months: list[str]) -> Iterator[StoredConversion]:
    for month in months:
        cursor = None
        while True:
            page = store.conversions(month, 100, cursor)
            yield from page.conversions
            if (cursor := page.next_cursor) is None:
                break


def stored_channels(conversion: StoredConversion) -> list[str]:
    """The channels of a conversion's stored touches, in order: its converting journey as the batch reads it."""
    return [t.touch.channel for t in conversion.touches]


def window_fit(
    store: AttributionStore,
    people: Iterable[tuple[str, list[EngagementRecord]]],
    config: AttributionConfig,
    now: datetime,
    window_days: int,
    progress: Progress = lambda _: None,
    channels_of: Callable[[StoredConversion], list[str]] = stored_channels,
) -> tuple[list[StoredConversion], StoredFit]:
    """The fit of the window's journeys (not saved) and the window's conversions it was made from. A converting
    journey is `channels_of(conversion)` (the schedule: its stored touches' channels; a reattribution: the
    channels the settings in force give them), for each conversion at or after the window's start; a journey that
    did not convert, the channels `config` gives the person's touches within the lookback before `now`, for each
    person with a touch in the window. `people` yields each person (a surviving contact id) with their engagement
    log (theirs and their merged contacts')."""
    start = now - timedelta(days=window_days)
    lookback = now - timedelta(days=config.lookback_days)
    months = months_between(start, now)
    conversions = list(window_conversions(store, months))
    converted_people = {contact for c in conversions for contact in c.contact_ids}
    # The first month is read whole (re-credited whole), but only the window's conversions are fitted; one another
    # conversion counts (superseded: emptied, no touches) is no journey of its own.
    journeys: list[tuple[list[str], bool]] = [
        (channels_of(c), True) for c in conversions if c.converted_at >= start and c.superseded_by is None
    ]
    for contact_id, records in people:
        progress(1)
        if contact_id in converted_people:
            continue
        # Read like a converting journey: the touches within the lookback before its end (now), once the person
        # has been active in the window.
        touches = [t for t in touches_from(records, config) if lookback <= t.occurred_at <= now]
        if any(t.occurred_at >= start for t in touches):
            journeys.append(([t.channel for t in touches], False))
    fit = StoredFit(f"{months[-1]}#{now.isoformat()}", months[-1], now, fit_markov(path_counts(journeys)))
    return conversions, fit


def fit_window(
    store: AttributionStore,
    people: Iterable[tuple[str, list[EngagementRecord]]],
    config: AttributionConfig,
    now: datetime,
    window_days: int,
    progress: Progress = lambda _: None,
) -> Refit:
    """Fits on the window's journeys (`window_fit`, their stored channels), saves the fit as the latest, and
    re-credits the window's conversions."""
    conversions, fit = window_fit(store, people, config, now, window_days, progress)
    store.save_fit(fit)
    recredited = skipped = 0
    for conversion in conversions:
        if conversion.fit_id == fit.fit_id or not conversion.touches:
            continue
        try:
            store.replace_data_driven(conversion, *recredit(conversion, fit.fit), fit.fit_id)
            recredited += 1
        except StaleCredits:
            skipped += 1
    return Refit(fit, recredited, skipped)


def recredit(conversion: StoredConversion, fit: MarkovFit) -> tuple[list[Credit], list[int]]:
    """The conversion's data-driven credits and deal units under `fit`."""
    journey = Journey(
        conversion_id=conversion.conversion_id,
        converted_at=conversion.converted_at,
        amount_minor=conversion.company_minor,
        currency=conversion.company_currency,
        touches=tuple(t.touch for t in conversion.touches),
        lead_created_at=conversion.lead_created_at,
        opportunity_created_at=conversion.opportunity_created_at,
    )
    credits = data_driven_credits(journey, fit)
    return credits, deal_units(credits)
