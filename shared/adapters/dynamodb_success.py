"""The success store in DynamoDB (table `success`, `shared.catalog.success`; item layout in
`dynamodb_success_items.py`, pages and cursors in `dynamodb_success_pages.py`): each account's signal log, the
markers of the usage reports it was told under a message id, its latest health snapshot, and its
interventions with the markers of the open ones; and, outside the accounts' partitions, product feedback,
feature launches and CS campaigns.

Writes:

- `append_signal` is one PutItem on `attribute_not_exists(pk)`; the condition failing is False (that signal,
  same id and time, is kept already; nothing written).
- `file_signal(tenant_id, signal)` is one TransactWriteItems: a Put of the signal's claim (`FILED#<signal_id>`,
  its time) and a Put of the signal in the account's log, each on `attribute_not_exists(pk)`. Cancelled by the
  claim's condition, the answer is the account the claim names (from the cancellation's ALL_OLD item; a
  strongly consistent GetItem should it lack one): nothing written. Cancelled by the signal's condition only
  (kept before without a claim), the answer is `tenant_id`: nothing written, no claim either.
- `park_signal(log, ...)` is one TransactWriteItems: a Put of the signal in the parked log on
  `attribute_not_exists(pk)` and a Put of the log's index entry (`PARKED`, the log's name) as the signal leaves
  it. Cancelled by the signal's condition, False (kept already): nothing written, the entry as it was.
- `unindex_parked(p)` is one DeleteItem of the index entry on condition `mark` = `p.mark`; failing, False.
- `drop_signals` is one DeleteItem per signal (a parked log, once adopted, holds a few); absent ones are no
  error.
- `append_reported` is one TransactWriteItems: a Put of the marker and a Put of the signal, each on
  `attribute_not_exists(pk)`. Cancelled by the marker's condition, the answer is the digest stored with it
  (from the cancellation's ALL_OLD item; a strongly consistent GetItem should it lack one): nothing written.
  Cancelled by the signal's condition only (the signal, same id and time, was kept before without this
  marker: it came as an event too), the report counts as written before: the answer is the caller's own
  digest, and no marker is written.
- `save_health(h)` is one PutItem of the snapshot at `h.version + 1` on condition that none is stored
  (`h.version` 0) or that the stored one is at `h.version`; failing, `StaleHealth` naming the version found.
- `open_intervention(i)` is one TransactWriteItems: a Put of the `OPEN#<playbook>` marker and a Put of the
  intervention, each on `attribute_not_exists(pk)`. Cancelled by the marker's condition, the answer is the
  open intervention the marker names, nothing written: the intervention's own ALL_OLD item when it is that
  one (the same intervention opened again), else a strongly consistent GetItem of it (the marker itself from
  its ALL_OLD item, or a GetItem should it lack one). Cancelled by the intervention's condition only (that id
  is stored, and closed: its marker is gone; a retry of the cause that opened it), the answer is the stored
  one, and no marker is written (the transaction wrote nothing).
- `close_intervention(i)` is one TransactWriteItems: a Put of the closed intervention on condition
  `intervention_status = open` and a Delete of its playbook's marker on condition that it names the
  intervention. Cancelled by the intervention's condition (closed already, or never opened), False: nothing
  written. The marker's condition failing alone means an open intervention without its marker, which these
  writes never leave: RuntimeError.
- `add_feedback`, `add_launch`, `add_campaign` are one PutItem on `attribute_not_exists(pk)` with ALL_OLD on
  a failed condition: None when written; the condition failing, the item kept under that key (from the
  refusal's ALL_OLD item; a strongly consistent GetItem should it lack one), nothing written. (These items are
  never deleted; should one be gone by the time it is read, the write is tried again, `WRITE_ATTEMPTS` times in
  all, then `WriteConflict`.) Feedback is kept once per feature and key: the same `feedback_key` under
  another feature is other feedback.
- The transactions, cancelled by transaction conflicts only (or by a marker gone or an open intervention
  closed between the cancellation and the read of what it named), are tried again, `WRITE_ATTEMPTS` times in
  all with a short backoff, then `WriteConflict` (transient: the caller retries).

Every item is checked before any call (`dynamodb_success_items.py`): an item or key too large for DynamoDB is
`TooLargeToStore`, a value it cannot store a ValueError.

Reads:

- `signals(tenant_id, since)`: a strongly consistent Query of the account's partition, `sk` BETWEEN
  `SIGNAL#<since>` and `SIGNAL#~`, every page; signals at `since` itself are dropped (strictly after), the
  rest come oldest first, ties by signal id (the sort key's order).
- `filed_under(signal)`: a strongly consistent GetItem of the signal's claim.
- `health(tenant_id)`: a strongly consistent GetItem.
- `parked(cursor, limit)`: a strongly consistent Query of the `PARKED` partition in log order, asking for one
  entry more than the page; the cursor is url-safe base64 of JSON `{"parked_after": log}`.
- `tenants(cursor, limit)`: Queries of the `by-shard` index (eventually consistent, as every GSI), shard 0 to
  7 in turn, each in tenant id order, asking for one account more than the page so that `next_cursor` is None
  exactly when nothing follows. The cursor is url-safe base64 of JSON `{"shard": n, "after": tenant_id}`: the
  shard of the page's last account and that account, from which the query's ExclusiveStartKey is rebuilt (an
  index's LastEvaluatedKey is its keys and the table's: `tenant_shard`, `tenant_id`, `pk`, `sk`, all derived
  from the tenant id). A cursor it did not make is InvalidInput naming `cursor`.
- `intervention(tenant_id, intervention_id)`: a strongly consistent GetItem.
- `interventions(tenant_id, status, cursor, limit)` of an account: a strongly consistent Query of its
  partition, `sk` begins_with `INTERVENTION#`, every page (an account has few); those of the status asked
  (if any) kept, newest opened first (by `<opened_at>#<intervention_id>`, descending), paged in code. The
  cursor is url-safe base64 of JSON `{"tenant": tenant_id, "before": "<opened_at>#<intervention_id>"}` (the
  page's last).
- `interventions(None, status, cursor, limit)`: a Query of the `by-status` index for that status (required:
  ValueError naming `status` without it), `status_sort` ascending for open ones (the due first), descending
  for closed ones (the latest closed first), asking for one more than the page. The cursor is url-safe base64
  of JSON of the index's key at the page's last (`intervention_status`, `status_sort`, `pk`, `sk`: its
  ExclusiveStartKey); a cursor of another status or listing is InvalidInput naming `cursor`.
- `due_interventions(now, limit)`: a Query of the `by-status` index, `intervention_status` = `open` and
  `status_sort` <= `<now>#~` (every id sorts before `~`), ascending, up to `limit`, following pages.
- A limit under 1 is InvalidInput naming `limit`.
- `feedback(feature)`: a strongly consistent Query of the `FEEDBACK` partition (`sk` begins_with
  `<feature>#`, escaped as written, when a feature is given), every page; sorted in code by feature, then
  `received_at`, then `feedback_key`.
- `launch(launch_id)`, `campaign(campaign_id)`: a strongly consistent GetItem; lists come back as tuples.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from shared.adapters.dynamodb_items import (
    ConditionalWrite,
    VersionConflict,
    key,
    plain,
    put_at_version,
    serialize,
    stale_version,
    transact,
)
from shared.adapters.dynamodb_reads import get_item, partition_items, query_pages
from shared.adapters.dynamodb_success_items import (
    CAMPAIGN,
    FEEDBACK,
    HEALTH,
    INTERVENTION,
    LAUNCH,
    PARKED_LOGS,
    campaign_from,
    campaign_item,
    campaign_pk,
    check_status,
    claim_item,
    claim_key,
    due_until,
    feedback_from,
    feedback_item,
    feedback_listed,
    feedback_prefix,
    health_from,
    health_item,
    index_key,
    intervention_from,
    intervention_item,
    launch_from,
    launch_item,
    launch_pk,
    marker_item,
    open_marker_item,
    parked_entry_from,
    parked_entry_item,
    shard_key,
    signal_from,
    signal_item,
    signal_sk,
    signals_range,
    tenant_pk,
    unmarked,
)
from shared.adapters.dynamodb_success_pages import (
    account_page,
    check_limit,
    decode_account_cursor,
    decode_cursor,
    decode_parked_cursor,
    decode_status_cursor,
    listed_status,
    parked_page,
    status_page,
    tenant_page,
)
from shared.catalog.success import TENANT_SHARDS
from shared.success.campaigns import CsCampaign
from shared.success.feedback import Feedback
from shared.success.interventions import Intervention, InterventionStatus
from shared.success.ports import InterventionPage, ParkedLog, ParkedPage, StaleHealth, StoredHealth, TenantPage
from shared.success.product import Launch
from shared.success.signals import Signal

BY_SHARD, BY_STATUS = "by-shard", "by-status"
WRITE_ATTEMPTS = 4
_NEW = "attribute_not_exists(pk)"

_T = TypeVar("_T")


class WriteConflict(Exception):
    """A transaction was cancelled by concurrent transactions every time it was tried: nothing was written; a
    transient failure, to be retried later."""


class _Cancelled(Exception):
    pass


class _Again(Enum):
    """A cancellation's answer when what it found is gone by the time it is read: the transaction is tried
    again."""

    AGAIN = "again"


AGAIN = _Again.AGAIN
Refusals = dict[str, dict[str, Any] | None]  # a write's name -> the item its condition found (None: absent/unsaid)


@dataclass(frozen=True)
class _Write:
    name: str  # what its refusal is found under
    request: dict[str, Any]
    what: str  # for messages
    refusal: str  # what its condition failing means, for messages


class DynamoDbHealthStore:
    """The success store (`shared.success.ports.SuccessStore`): signals, health, interventions, feedback,
    launches and CS campaigns."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # --------------------------------------------------------------------------------------------- signals

    def append_signal(self, tenant_id: str, signal: Signal) -> bool:
        item = signal_item(tenant_id, signal)
        try:
            self._client.put_item(TableName=self._table, Item=serialize(item), ConditionExpression=_NEW)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def file_signal(self, tenant_id: str, signal: Signal) -> str | None:
        item, claim = signal_item(tenant_id, signal), claim_item(tenant_id, signal)

        def refused(found: Refusals) -> str | _Again:
            if "claim" in found:
                held = found["claim"] or get_item(self._client, self._table, claim["pk"], claim["sk"])
                return AGAIN if held is None else str(held["log"])  # None: gone since the check: try again
            return tenant_id  # the signal kept before without a claim: nothing written

        what = f"signal {signal.signal_id}"
        writes = [
            _Write("claim", self._put_new(claim), f"the claim of {what}", f"{what} at {item['at']} is filed already"),
            _Write("signal", self._put_new(item), what, f"{what} at {item['at']} is kept already"),
        ]
        return self._transact(writes, None, refused)

    def filed_under(self, signal: Signal) -> str | None:
        pk, sk = claim_key(signal)
        held = get_item(self._client, self._table, pk, sk)
        return None if held is None else str(held["log"])

    def park_signal(self, log: str, signal: Signal, names: Sequence[str]) -> bool:
        item = signal_item(log, signal)
        entry = parked_entry_item(log, signal, names)
        what = f"signal {signal.signal_id}"
        writes = [
            _Write("signal", self._put_new(item), what, f"{what} at {item['at']} is kept already"),
            _Write("entry", {"Put": {"TableName": self._table, "Item": serialize(entry)}}, f"parked log {log}", ""),
        ]
        return self._transact(writes, True, lambda found: False if "signal" in found else AGAIN)

    def parked(self, cursor: str | None = None, limit: int = 100) -> ParkedPage:
        check_limit(limit)
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": serialize({":pk": PARKED_LOGS}),
            "ConsistentRead": True,
            "Limit": limit + 1,
        }
        if cursor is not None:
            request["ExclusiveStartKey"] = serialize({"pk": PARKED_LOGS, "sk": decode_parked_cursor(cursor)})
        found = [parked_entry_from(item) for item in itertools.islice(query_pages(self._client, request), limit + 1)]
        return parked_page(found, limit)

    def unindex_parked(self, parked: ParkedLog) -> bool:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=serialize({"pk": PARKED_LOGS, "sk": parked.log}),
                ConditionExpression="#mark = :mark",
                ExpressionAttributeNames={"#mark": "mark"},
                ExpressionAttributeValues=serialize({":mark": parked.mark}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def drop_signals(self, tenant_id: str, signals: Sequence[Signal]) -> None:
        pk = tenant_pk(tenant_id)
        for signal in signals:  # a parked log holds few: one DeleteItem each, idempotent
            self._client.delete_item(TableName=self._table, Key=serialize({"pk": pk, "sk": signal_sk(signal)}))

    def append_reported(self, tenant_id: str, signal: Signal, message_id: str, digest: str) -> str | None:
        item = signal_item(tenant_id, signal)
        marker = marker_item(tenant_id, message_id, digest, item["sk"])
        what = f"message {message_id}"

        def refused(found: Refusals) -> str | _Again | None:
            if "marker" in found:
                stored = found["marker"] or get_item(self._client, self._table, marker["pk"], marker["sk"])
                # None: the marker was there when checked and is gone now: try again
                return AGAIN if stored is None else str(stored["digest"])
            return digest  # the signal kept before, without this marker: the same report, written before

        writes = [
            _Write("marker", self._put_new(marker), what, f"{what} was reported before"),
            _Write(
                "signal",
                self._put_new(item),
                f"signal {signal.signal_id}",
                f"signal {signal.signal_id} at {item['at']} is kept already",
            ),
        ]
        return self._transact(writes, None, refused)

    def _put_new(self, item: dict[str, Any]) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": serialize(item),
                "ConditionExpression": _NEW,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _transact(self, writes: Sequence[_Write], written: _T, refused: Callable[[Refusals], _T | _Again]) -> _T:
        """One TransactWriteItems of `writes`: `written` when it is; when conditions cancel it, what `refused`
        makes of the items they found (by write name); cancelled by transaction conflicts only (or `refused`
        answering AGAIN), tried again, `WRITE_ATTEMPTS` times in all, then WriteConflict."""
        found: Refusals = {}

        def recording(write: _Write) -> Callable[[dict[str, Any] | None], str]:
            def record(old: dict[str, Any] | None) -> str:
                found[write.name] = old
                return write.refusal

            return record

        conditional = [ConditionalWrite(w.request, w.what, recording(w)) for w in writes]
        attempt = 1
        while True:
            found.clear()
            try:
                transact(self._client, conditional, _Cancelled)
                return written
            except _Cancelled as cancelled:
                if found:
                    answer = refused(dict(found))
                    if not isinstance(answer, _Again):
                        return answer
                if attempt >= WRITE_ATTEMPTS:
                    raise WriteConflict(f"{cancelled} ({attempt} attempts)") from None
            time.sleep(0.02 * 2**attempt)
            attempt += 1

    def signals(self, tenant_id: str, since: datetime) -> list[Signal]:
        lower, upper = signals_range(since)
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lower AND :upper",
            "ExpressionAttributeValues": serialize({":pk": tenant_pk(tenant_id), ":lower": lower, ":upper": upper}),
            "ConsistentRead": True,
        }
        found = (signal_from(item) for item in query_pages(self._client, request))
        return [signal for signal in found if signal.at > since]

    # ---------------------------------------------------------------------------------------------- health

    def health(self, tenant_id: str) -> StoredHealth | None:
        item = get_item(self._client, self._table, tenant_pk(tenant_id), HEALTH)
        return None if item is None else health_from(item)

    def save_health(self, health: StoredHealth) -> StoredHealth:
        expected = health.version
        item = health_item(replace(health, version=expected + 1))
        try:
            put_at_version(self._client, self._table, item, expected)
        except VersionConflict as conflict:
            found = None if conflict.found is None else int(conflict.found["version"])
            raise StaleHealth(stale_version(f"health of {health.tenant_id}", expected, found)) from None
        return health_from(item)

    def tenants(self, cursor: str | None = None, limit: int = 100) -> TenantPage:
        check_limit(limit)
        first, after = (0, None) if cursor is None else decode_cursor(cursor)
        found: list[str] = []
        for shard in range(first, TENANT_SHARDS):
            wanted = limit + 1 - len(found)
            request: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": BY_SHARD,
                "KeyConditionExpression": "tenant_shard = :shard",
                "ExpressionAttributeValues": serialize({":shard": shard_key(shard)}),
                "ScanIndexForward": True,
                "Limit": wanted,
            }
            if after is not None and shard == first:
                request["ExclusiveStartKey"] = serialize(index_key(after))
            found += [str(item["tenant_id"]) for item in itertools.islice(query_pages(self._client, request), wanted)]
            if len(found) > limit:
                break
        return tenant_page(found, limit)

    # ----------------------------------------------------------------------------------------- interventions

    def open_intervention(self, intervention: Intervention) -> Intervention:
        check_status(intervention, InterventionStatus.OPEN, "opened")
        item = intervention_item(intervention)
        marker = open_marker_item(intervention)
        what = f"intervention {intervention.intervention_id} of {intervention.tenant_id}"

        def refused(found: Refusals) -> Intervention | _Again:
            own = found.get("intervention")
            if "marker" in found:
                held = found["marker"] or get_item(self._client, self._table, marker["pk"], marker["sk"])
                if held is None:
                    return AGAIN  # closed since the check: its playbook can be opened now
                open_id = str(held["intervention_id"])
                if own is None or own["intervention_id"] != open_id:
                    own = get_item(self._client, self._table, item["pk"], INTERVENTION + open_id)
                if own is None or own["intervention_status"] != InterventionStatus.OPEN.value:
                    return AGAIN  # closed since the check (it is never deleted)
                return intervention_from(own)
            stored = own or get_item(self._client, self._table, item["pk"], item["sk"])
            return AGAIN if stored is None else intervention_from(stored)

        writes = [
            _Write(
                "marker",
                self._put_new(marker),
                f"playbook {intervention.playbook} of {intervention.tenant_id}",
                f"playbook {intervention.playbook} is open for {intervention.tenant_id} already",
            ),
            _Write("intervention", self._put_new(item), what, f"{what} is stored already"),
        ]
        return self._transact(writes, intervention_from(item), refused)

    def intervention(self, tenant_id: str, intervention_id: str) -> Intervention | None:
        item = get_item(self._client, self._table, tenant_pk(tenant_id), INTERVENTION + intervention_id)
        return None if item is None else intervention_from(item)

    def interventions(
        self,
        tenant_id: str | None = None,
        status: InterventionStatus | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> InterventionPage:
        check_limit(limit)
        if tenant_id is not None:
            before = None if cursor is None else decode_account_cursor(cursor, tenant_id)
            items = partition_items(self._client, self._table, tenant_pk(tenant_id), INTERVENTION)
            return account_page(tenant_id, (intervention_from(item) for item in items), status, before, limit)
        listed = listed_status(status)
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": BY_STATUS,
            "KeyConditionExpression": "intervention_status = :status",
            "ExpressionAttributeValues": serialize({":status": listed.value}),
            "ScanIndexForward": listed is InterventionStatus.OPEN,
            "Limit": limit + 1,
        }
        if cursor is not None:
            request["ExclusiveStartKey"] = serialize(decode_status_cursor(cursor, listed))
        return status_page(list(itertools.islice(query_pages(self._client, request), limit + 1)), limit)

    def due_interventions(self, now: datetime, limit: int = 100) -> list[Intervention]:
        check_limit(limit)
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": BY_STATUS,
            "KeyConditionExpression": "intervention_status = :open AND status_sort <= :due",
            "ExpressionAttributeValues": serialize({":open": InterventionStatus.OPEN.value, ":due": due_until(now)}),
            "ScanIndexForward": True,
            "Limit": limit,
        }
        return [intervention_from(item) for item in itertools.islice(query_pages(self._client, request), limit)]

    def close_intervention(self, intervention: Intervention) -> bool:
        check_status(intervention, InterventionStatus.CLOSED, "closed")
        item = intervention_item(intervention)
        marker = open_marker_item(intervention)
        what = f"intervention {intervention.intervention_id} of {intervention.tenant_id}"
        close = {
            "Put": {
                "TableName": self._table,
                "Item": serialize(item),
                "ConditionExpression": "intervention_status = :open",
                "ExpressionAttributeValues": serialize({":open": InterventionStatus.OPEN.value}),
            }
        }
        unmark = {
            "Delete": {
                "TableName": self._table,
                "Key": key(marker["pk"], marker["sk"]),
                "ConditionExpression": "intervention_id = :id",
                "ExpressionAttributeValues": serialize({":id": intervention.intervention_id}),
            }
        }

        def refused(found: Refusals) -> bool:
            if "intervention" in found:
                return False  # closed already (or never opened): nothing written
            raise RuntimeError(unmarked(intervention))

        writes = [
            _Write("intervention", close, what, f"{what} is not open"),
            _Write("marker", unmark, f"the open marker of {what}", f"the open marker does not name {what}"),
        ]
        return self._transact(writes, True, refused)

    # ----------------------------------------------------------------------------------------------- product

    def add_feedback(self, feedback: Feedback) -> Feedback | None:
        stored = self._put_once(feedback_item(feedback), f"feedback {feedback.feedback_key} on {feedback.feature}")
        return None if stored is None else feedback_from(stored)

    def feedback(self, feature: str | None = None) -> list[Feedback]:
        prefix = None if feature is None else feedback_prefix(feature)
        return feedback_listed(partition_items(self._client, self._table, FEEDBACK, prefix))

    def add_launch(self, launch: Launch) -> Launch | None:
        stored = self._put_once(launch_item(launch), f"launch {launch.launch_id}")
        return None if stored is None else launch_from(stored)

    def launch(self, launch_id: str) -> Launch | None:
        item = get_item(self._client, self._table, launch_pk(launch_id), LAUNCH)
        return None if item is None else launch_from(item)

    def add_campaign(self, campaign: CsCampaign) -> CsCampaign | None:
        stored = self._put_once(campaign_item(campaign), f"campaign {campaign.campaign_id}")
        return None if stored is None else campaign_from(stored)

    def campaign(self, campaign_id: str) -> CsCampaign | None:
        item = get_item(self._client, self._table, campaign_pk(campaign_id), CAMPAIGN)
        return None if item is None else campaign_from(item)

    def _put_once(self, item: dict[str, Any], what: str) -> dict[str, Any] | None:
        """One PutItem of a new item: None when written; the item kept under its key when there is one (the
        refusal's ALL_OLD item, else a strongly consistent GetItem), nothing written. One gone by the time it
        is read is written again, `WRITE_ATTEMPTS` times in all, then WriteConflict."""
        for _ in range(WRITE_ATTEMPTS):
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item=serialize(item),
                    ConditionExpression=_NEW,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return None
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                old: Any = exc.response.get("Item")
            stored = plain(old) if old else get_item(self._client, self._table, item["pk"], item["sk"])
            if stored is not None:
                return stored
        raise WriteConflict(f"{what} was found stored and then gone, {WRITE_ATTEMPTS} times: nothing written")
