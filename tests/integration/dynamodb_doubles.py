"""What the DynamoDB stores' own tests put around a moto client: a client that answers in small pieces as a
large or loaded table does, and the record of the operations a store calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class SmallPages:
    """A client whose queries return at most 2 items a page, as DynamoDB does past 1 MB, and whose batch reads
    leave all but 3 keys unprocessed, as DynamoDB may under load."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.queries = 0
        self.batches = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def query(self, **request: Any) -> dict[str, Any]:
        self.queries += 1
        return self._client.query(**{**request, "Limit": min(request.get("Limit", 2), 2)})  # type: ignore[no-any-return]

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.batches += 1
        [(table, request)] = RequestItems.items()
        now, later = request["Keys"][:3], request["Keys"][3:]
        response: dict[str, Any] = self._client.batch_get_item(RequestItems={table: {**request, "Keys": now}})
        response["UnprocessedKeys"] = {table: {**request, "Keys": later}} if later else {}
        return response


class Starved(SmallPages):
    """A client whose batch reads process no key at all, as a table throttled for long."""

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        return {"Responses": {}, "UnprocessedKeys": RequestItems}


def counted_calls(client: Any) -> tuple[list[str], Callable[[Callable[[], object]], list[str]]]:
    """The DynamoDB operations `client` is asked for from now on, by name in order, and `count(action)`: the
    ones `action` asks for (the record is cleared first)."""
    calls: list[str] = []
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))

    def count(action: Callable[[], object]) -> list[str]:
        calls.clear()
        action()
        return list(calls)

    return calls, count
