"""What the DynamoDB stores' own tests put around a moto client: a client that answers in small pieces as a
large or loaded table does, clients whose transactions are cancelled, and the record of the operations a store
calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from botocore.exceptions import ClientError


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


class CancelledTransactions:
    """A client whose next `times` transactions are cancelled with `code` on their `on` item (first or last),
    the others' reasons "None", without any item; the transactions after them go through."""

    def __init__(self, client: Any, code: str, times: int, on: Literal["first", "last"] = "last") -> None:
        self._client, self._code, self.times, self._on = client, code, times, on

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, TransactItems: list[dict[str, Any]], **request: Any) -> dict[str, Any]:
        if self.times <= 0:
            result: dict[str, Any] = self._client.transact_write_items(TransactItems=TransactItems, **request)
            return result
        self.times -= 1
        reasons: list[dict[str, Any]] = [{"Code": "None"}] * len(TransactItems)
        reasons[0 if self._on == "first" else -1] = {"Code": self._code}
        response: Any = {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": reasons,
        }
        raise ClientError(response, "TransactWriteItems")


class WithoutItems:
    """A client whose transactions' cancellations carry no item (as without ALL_OLD)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, TransactItems: list[dict[str, Any]], **request: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = self._client.transact_write_items(TransactItems=TransactItems, **request)
        except ClientError as exc:
            for reason in exc.response.get("CancellationReasons", []):
                reason.pop("Item", None)
            raise
        return result


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
