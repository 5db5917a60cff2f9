"""The privacy domain's memory in the `leads` table (access patterns in `shared/catalog/privacy.py`): erasure
receipts under the hash of the email (`ERASURE_RECEIPT#<hash>` / `RECEIPT`) and a tombstone per erased subject
(`ERASURE#<subject hash>` / `TOMBSTONE`, with `erased_at`). In the leads table because every consumer that must
drop events about an erased person reads that table already (no new table, no new grant), and neither carries a
key of the lead domain's (`CONTACT#`, `IDENTITY#`, ...): its scans of `sk = PROFILE` never see them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb_items import iso, when
from shared.adapters.dynamodb_privacy_items import BATCH_WRITE, MAX_UNPROCESSED_ROUNDS, composite_key, get_items
from shared.catalog import LEADS
from shared.function_environment import FunctionEnvironment
from shared.privacy.guard import ErasureGuard
from shared.privacy.model import ErasureReceipt, ErasureStatus

RECEIPT, TOMBSTONE = "RECEIPT", "TOMBSTONE"


def receipt_pk(email_hash: str) -> str:
    return f"ERASURE_RECEIPT#{email_hash}"


def tombstone_pk(subject: str) -> str:
    return f"ERASURE#{subject}"


class DynamoDbErasureLedger:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    # receipts -------------------------------------------------------------------------------------------------

    def receipt(self, email_hash: str) -> ErasureReceipt | None:
        answer = self._client.get_item(
            TableName=self._table, Key=composite_key(receipt_pk(email_hash), RECEIPT), ConsistentRead=True
        )
        item = answer.get("Item")
        return _receipt(item) if item else None

    def open(self, email_hash: str, receipt: ErasureReceipt) -> ErasureReceipt:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=_receipt_item(email_hash, receipt),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            kept = self.receipt(email_hash)
            if kept is not None:
                return kept
        return receipt

    def save(self, email_hash: str, receipt: ErasureReceipt) -> None:
        self._client.put_item(TableName=self._table, Item=_receipt_item(email_hash, receipt))

    # tombstones -----------------------------------------------------------------------------------------------

    def tombstone(self, subjects: Sequence[str], erased_at: datetime, erasure_id: str) -> None:
        puts = [
            {
                "PutRequest": {
                    "Item": composite_key(tombstone_pk(subject), TOMBSTONE)
                    | {"erased_at": {"S": iso(erased_at)}, "erasure_id": {"S": erasure_id}}
                }
            }
            for subject in dict.fromkeys(subjects)
        ]
        for start in range(0, len(puts), BATCH_WRITE):
            pending: dict[str, Any] = {self._table: puts[start : start + BATCH_WRITE]}
            for _ in range(MAX_UNPROCESSED_ROUNDS):
                pending = self._client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break
            else:
                raise RuntimeError("DynamoDB left tombstones unprocessed")

    def erased_at(self, subjects: Sequence[str]) -> Mapping[str, datetime]:
        if not subjects:
            return {}
        keys = [composite_key(tombstone_pk(subject), TOMBSTONE) for subject in subjects]
        return {
            item["pk"]["S"].removeprefix("ERASURE#"): when(item["erased_at"]["S"])
            for item in get_items(self._client, self._table, keys)
        }


def erasure_guard(environment: FunctionEnvironment) -> ErasureGuard:
    """For a function that reads the `leads` table (every consumer that keeps personal data does)."""
    import boto3

    return ErasureGuard(DynamoDbErasureLedger(boto3.client("dynamodb"), environment.table(LEADS.name)))


def _receipt_item(email_hash: str, receipt: ErasureReceipt) -> dict[str, Any]:
    document = {
        "erasure_id": receipt.erasure_id,
        "status": receipt.status.value,
        "requested_at": iso(receipt.requested_at),
        "completed_at": iso(receipt.completed_at) if receipt.completed_at else None,
        "erased": receipt.erased,
        "subjects": list(receipt.subjects),
        "contact_ids": list(receipt.contact_ids),
        "runs": receipt.runs,
    }
    return composite_key(receipt_pk(email_hash), RECEIPT) | {
        "erasure_id": {"S": receipt.erasure_id},
        "receipt": {"S": json.dumps(document, separators=(",", ":"))},
    }


def _receipt(item: Mapping[str, Any]) -> ErasureReceipt:
    document = json.loads(item["receipt"]["S"])
    return ErasureReceipt(
        erasure_id=document["erasure_id"],
        status=ErasureStatus(document["status"]),
        requested_at=when(document["requested_at"]),
        completed_at=when(document["completed_at"]) if document.get("completed_at") else None,
        erased={str(k): int(v) for k, v in document.get("erased", {}).items()},
        subjects=tuple(document.get("subjects", [])),
        contact_ids=tuple(document.get("contact_ids", [])),
        runs=int(document.get("runs", 0)),
    )
