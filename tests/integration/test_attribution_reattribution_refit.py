"""One `make reattribute` converges after a channel mapping change: the data-driven fit was made on the channels
the conversions had stored, so the run fits the model again on the channels the new mapping gives before it
credits, and neither the scheduled fit that follows nor another run changes anything (before, it took
reattribute, the scheduled fit, and reattribute again). A run that moves no channel fits nothing."""

from __future__ import annotations

from ops.reattribute import reattribute
from shared.attribution.reports import MonthRange
from tests.attribution_fakes import InMemoryAttributionStore
from tests.integration.test_attribution_reattribution_convergence import (
    FIT,
    MONTHS,
    START,
    Hub,
    record_history,
    settings_a,
    settings_b,
    stored,
)

RANGE = MonthRange.of(START.date(), MONTHS[0], MONTHS[-1])


def test_one_run_after_a_channel_mapping_change_converges_with_the_data_driven_fit() -> None:
    # Given a history recorded under settings A, credited with a fit of A's channels
    hub = Hub(InMemoryAttributionStore(), settings_a())
    record_history(hub)
    assert hub.store.latest_fit() == FIT
    # When the settings become B (email links are content, LinkedIn traffic paid social) and one run reattributes
    hub.service = hub.attribution(settings_b())
    summary = reattribute(hub.service, RANGE)
    assert summary.converged, str(summary)
    # Then the model was fitted again, on B's channels, and the conversions are credited with that fit
    latest = hub.store.latest_fit()
    assert latest is not None
    assert latest.fit_id != FIT.fit_id
    assert summary.refit == latest
    credited = stored(hub.store)
    # (every conversion with touches credited with the new fit; one without names none: no fit credits it)
    assert {c.fit_id for c in credited.conversions.values() if c.touches} == {latest.fit_id}
    assert {c.fit_id for c in credited.conversions.values() if not c.touches} <= {None}
    channels = {t.touch.channel for c in credited.conversions.values() for t in c.touches}
    assert channels <= set(latest.fit.removal_effects)
    # When the scheduled fit runs (at the same moment: the fit it makes has the same id)
    refit = hub.service.fit_data_driven()
    # Then it fits the same model on the channels now stored, and moves nothing
    assert refit.fit.fit == latest.fit
    assert refit.recredited == 0
    # And another run changes nothing: the conversions, their totals, the open deals' pipeline, the funnel
    again = reattribute(hub.service, RANGE)
    assert again.converged
    assert again.refit is None
    assert [tally.counts["changed"] for tally in (again.conversions, again.pipelines, again.entries)] == [0, 0, 0]
    assert stored(hub.store) == credited


def test_a_run_that_moves_no_channel_fits_nothing() -> None:
    # Given a history recorded under settings A, credited with a fit
    hub = Hub(InMemoryAttributionStore(), settings_a())
    record_history(hub)
    # When it is reattributed with a longer lookback and the same channel mapping
    longer = settings_a().model_copy(update={"version": "A2", "lookback_days": 200})
    hub.service = hub.attribution(longer)
    summary = reattribute(hub.service, RANGE)
    # Then the fit stays the latest: refitting is the schedule's unless the mapping moved channels
    assert summary.refit is None
    assert hub.store.latest_fit() == FIT
