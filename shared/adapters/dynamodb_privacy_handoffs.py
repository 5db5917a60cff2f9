"""The person's part of the `handoffs` table (a `shared.privacy.ports.PersonalStore`, access patterns in
`shared/catalog/handoffs.py`). The table has no index on a person: the handoffs of the person's leads and
accounts are read with a filtered scan. It is small next to the delivery log (one item per handoff), and an
erasure is a rare operator action; an index per lead would cost every handoff write for that."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb_items import plain, serialize
from shared.adapters.dynamodb_privacy_items import exported, item_key, json_ready, scan_matching
from shared.privacy.model import Person
from shared.privacy.redaction import redact


class HandoffsPrivacy:
    """Table `handoffs`: the person's lead handoffs and their accounts' customer handoffs (found by a filtered
    scan on `lead_id`, see the module's docstring). A handoff names its lead by the hub's contact id, which
    names nobody once the contact is erased, so handoffs and the speed-to-lead figures stay; whatever in their
    details and history names the person (a stakeholder, a note) is anonymized."""

    name = "handoffs"

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def _handoffs(self, person: Person) -> list[dict[str, Any]]:
        leads = [*person.contact_ids, *(f"customer:{a}" for a in person.account_ids)]
        found: list[dict[str, Any]] = []
        for start in range(0, len(leads), 50):
            chunk = leads[start : start + 50]
            values = {f":l{n}": {"S": lead} for n, lead in enumerate(chunk)}
            expression = f"sk = :state AND lead_id IN ({', '.join(values)})"
            found += scan_matching(self._client, self._table, expression, values | {":state": {"S": "STATE"}})
        return found

    def export(self, person: Person) -> list[dict[str, Any]]:
        return [exported(item) for item in self._handoffs(person)]

    def erase(self, person: Person) -> int:
        needles = person.needles
        erased = 0
        for item in self._handoffs(person):
            handoff = plain(item)
            details, details_changed = redact(json_ready(handoff.get("details") or {}), needles)
            history, history_changed = redact(json_ready(handoff.get("history") or []), needles)
            if not (details_changed or history_changed):
                continue
            version = int(handoff.get("version", 0))
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=item_key(item),
                    UpdateExpression="SET details = :details, history = :history, #version = :next",
                    ConditionExpression="#version = :read",
                    ExpressionAttributeNames={"#version": "version"},
                    ExpressionAttributeValues=serialize(
                        {":details": details, ":history": history, ":next": version + 1, ":read": version}
                    ),
                )
                erased += 1
            except ClientError as exc:  # changed meanwhile: a second request anonymizes it
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        return erased
