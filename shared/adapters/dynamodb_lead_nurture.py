"""Where the nurture clock resumes: one item in the `leads` table, `NURTURE_CLOCK` / `CURSORS`, naming the last
contact the clock reached in each nurtured stage (`cursors`, stage -> contact id). Each run reads it once and
puts it whole as it goes; the last put wins (two runs at once only rescore some leads twice)."""

from __future__ import annotations

from typing import Any

from shared.adapters.dynamodb_lead_items import key, plain, serialize
from shared.leads.model import Stage

NURTURE_PK, NURTURE_SK = "NURTURE_CLOCK", "CURSORS"


class DynamoDbNurtureCursors:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def read(self) -> dict[Stage, str]:
        response = self._client.get_item(
            TableName=self._table, Key=key(NURTURE_PK, NURTURE_SK), ConsistentRead=True, ProjectionExpression="cursors"
        )
        stored = plain(response["Item"]).get("cursors", {}) if "Item" in response else {}
        known = {stage.value: stage for stage in Stage}
        # a stage this version does not know (an item a later version wrote) starts over: it is not one it clocks
        return {known[name]: str(contact_id) for name, contact_id in stored.items() if name in known}

    def save(self, cursors: dict[Stage, str]) -> None:
        item = {
            "pk": NURTURE_PK,
            "sk": NURTURE_SK,
            "entity": "nurture_cursors",
            "cursors": {Stage(stage).value: contact_id for stage, contact_id in cursors.items()},
        }
        self._client.put_item(TableName=self._table, Item=serialize(item))
