import pytest


@pytest.fixture(autouse=True)
def _no_network(socket_disabled: None) -> None:
    """Unit tests never touch the network: any socket use fails the test."""
