"""A rule target for dispatch tests: fails while `failing` is set, counting its invocations."""

from typing import Any

invocations: list[str] = []
failing = True


def handler(event: dict[str, Any], context: Any) -> None:
    invocations.append(event["id"])
    if failing:
        raise RuntimeError(f"cannot handle {event['detail-type']}")
