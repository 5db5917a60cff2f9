"""A rule target for dispatch tests: remembers every event it is given."""

from typing import Any

received: list[dict[str, Any]] = []


def handler(event: dict[str, Any], context: Any) -> None:
    received.append(event)
