"""The data-driven fit reads every journey over the same span: a conversion of the window (converted at or after
its start) is the touches within the lookback before it, a person who did not convert the touches within the
lookback before now (README "data_driven")."""

from __future__ import annotations

from datetime import timedelta

from shared.attribution.markov import fit_markov, path_counts
from tests.unit.test_attribution_service import World


def test_buyers_and_non_buyers_with_the_same_history_are_read_alike() -> None:
    # Given ten people with the same history (a display visit 110 days ago, an email visit 10 days ago), five buy
    w = World()
    users = [f"p{i}" for i in range(10)]
    for u in users:
        w.visit(u, "https://acme.test/?utm_campaign=banner&utm_medium=display", anonymous=True)
        w.identify(u, f"buyer@{u}-corp.io")
    w.clock.advance(timedelta(days=100))
    for u in users:
        w.visit(u, "https://acme.test/?utm_campaign=news&utm_medium=email")
    w.clock.advance(timedelta(days=9))
    for i, u in enumerate(users[:5]):
        w.won(f"D-{i}", "1000.00", email=f"buyer@{u}-corp.io")
    w.clock.advance(timedelta(days=1))
    # When the batch fits (a 90-day window, a 180-day lookback)
    fit = w.service.fit_data_driven().fit.fit
    # Then the non-buyers' paths hold the display visit too: the fit is that of identical journeys
    alike = fit_markov(path_counts([(["display", "email"], True)] * 5 + [(["display", "email"], False)] * 5))
    assert (fit.journeys, fit.conversions) == (10, 5)
    assert fit.removal_effects == alike.removal_effects == {"display": 1, "email": 1}


def test_a_conversion_of_the_first_month_before_the_window_is_not_fitted() -> None:
    # Given a conversion on day 0 and another on day 60
    w = World()
    w.visit("a", "https://acme.test/?utm_campaign=banner&utm_medium=display", anonymous=True)
    w.identify("a", "ann@a-corp.io")
    w.won("D-old", "1000.00", email="ann@a-corp.io")
    w.clock.advance(timedelta(days=60))
    w.visit("b", "https://acme.test/?utm_campaign=news&utm_medium=email", anonymous=True)
    w.identify("b", "bo@b-corp.io")
    w.won("D-new", "1000.00", email="bo@b-corp.io")
    # When the batch fits on day 95 (the 90-day window starts on day 5, in the first conversion's month)
    w.clock.advance(timedelta(days=35))
    refit = w.service.fit_data_driven()
    # Then only the conversion of the window is a converting journey of the fit
    assert (refit.fit.fit.journeys, refit.fit.fit.conversions) == (1, 1)
    assert set(refit.fit.fit.removal_effects) == {"email"}
