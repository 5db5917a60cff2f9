"""A rule target for dispatch tests: fails every time, counting its invocations."""

from typing import Any

invocations: list[str] = []


def handler(event: dict[str, Any], context: Any) -> None:
    invocations.append(event["id"])
    raise RuntimeError(f"cannot handle {event['detail-type']}")
