from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _no_network(socket_disabled: None) -> None:
    """Unit tests never touch the network: any socket use fails the test."""


@pytest.fixture(autouse=True)
def _fresh_metrics() -> Iterator[None]:
    """Lambda flushes a function's metrics at the end of each invocation (`@metrics.log_metrics`); a test that calls
    a handler's parts directly does not, and Powertools keeps metrics in one set shared by every `Metrics` object. An
    audit record that could not be stored (`AuditRecordsNotStored`) in one test would otherwise reach another's flush
    (and Powertools refuses to flush over 100 without the namespace the function's environment sets)."""
    yield
    from shared.observability import metrics

    metrics.clear_metrics()
