"""Where the scoring model in force is kept: in the `leads` table, beside the scores it produced.

`SCORING_MODEL#<version>` / `DEFINITION` holds each applied version (immutable: applying a version again
with other rules is refused); `SCORING_MODEL` / `ACTIVE` names the one in force. Both are written in one
transaction, so the pointer never names a version that is not stored.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb_lead_items import (
    ACTIVE_MODEL_PK,
    ACTIVE_MODEL_SK,
    MODEL_SK,
    iso,
    key,
    model_pk,
    plain,
    serialize,
    when,
)
from shared.leads.ports import AppliedModel, ModelVersionConflict


class DynamoDbScoringModelStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def active_version(self) -> str | None:
        response = self._client.get_item(
            TableName=self._table,
            Key=key(ACTIVE_MODEL_PK, ACTIVE_MODEL_SK),
            ConsistentRead=True,
            ProjectionExpression="version",
        )
        return str(plain(response["Item"])["version"]) if "Item" in response else None

    def applied(self, version: str) -> AppliedModel | None:
        response = self._client.get_item(
            TableName=self._table, Key=key(model_pk(version), MODEL_SK), ConsistentRead=True
        )
        if "Item" not in response:
            return None
        item = plain(response["Item"])
        return AppliedModel(item["version"], item["document"], item["sha256"], when(item["applied_at"]))

    def apply(self, model: AppliedModel) -> None:
        definition = {
            "pk": model_pk(model.version),
            "sk": MODEL_SK,
            "entity": "scoring_model",
            "version": model.version,
            "document": model.document,
            "sha256": model.sha256,
            "applied_at": iso(model.applied_at),
        }
        active = {
            "pk": ACTIVE_MODEL_PK,
            "sk": ACTIVE_MODEL_SK,
            "entity": "scoring_model_in_force",
            "version": model.version,
            "sha256": model.sha256,
            "applied_at": iso(model.applied_at),
        }
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": serialize(definition),
                            # the same rules may be applied again (e.g. a rescore interrupted half-way)
                            "ConditionExpression": "attribute_not_exists(pk) OR sha256 = :sha256",
                            "ExpressionAttributeValues": {":sha256": {"S": model.sha256}},
                        }
                    },
                    {"Put": {"TableName": self._table, "Item": serialize(active)}},
                ]
            )
        except ClientError as exc:
            reasons: list[Any] = list(exc.response.get("CancellationReasons") or [])
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                raise ModelVersionConflict(
                    f"scoring model version {model.version!r} was applied before with different rules; "
                    "give the new model its own version"
                ) from None
            raise
