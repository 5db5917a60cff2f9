"""The success store in DynamoDB (table `success`, `shared.catalog.success`): each account's signal log, the
markers of the usage reports it was told under a message id, its latest health snapshot, and its
interventions with the markers of the open ones; and, outside the accounts' partitions, product feedback,
feature launches and CS campaigns.

Items (every account's in its own partition, `pk` = `TENANT#<tenant_id>`):

- a signal: `sk` = `SIGNAL#<at>#<signal_id>`, `at` in UTC with microseconds (`dynamodb_items.iso`: fixed
  width, so the sort key orders the log by time, then signal id); attributes `signal_id`, `kind` (the
  `SignalKind` value), `at` (the same ISO text) and `values`: the values mapping as compact JSON text. Values
  are integers, text, None and one nested `features` map of text -> integer; JSON keeps them exact (no
  Decimal coming back, no refusal of an empty map) and an item's size is the text's. A value JSON cannot
  hold (a float NaN, a datetime) is a ValueError before any call.
- a reported message's marker: `sk` = `MESSAGE#<message_id>`; attributes `digest` (the caller's digest of the
  report's body) and `signal_sk` (the sort key of the signal it was written with).
- the health snapshot: `sk` = `HEALTH`; attributes `tenant_id`, `as_of` (ISO, UTC), `model_version`,
  `score_hundredths` (a number; absent for None), `band` (absent for None), `at_risk` and `expansion_ready`
  (booleans; `expansion_ready` read as false when absent), `version`
  (a number, from 1), and for the sparse `by-shard` index, which only snapshots carry: `tenant_shard` =
  `SHARD#<n>`, n = CRC-32 of the tenant id's UTF-8 bytes mod `TENANT_SHARDS` (stable across processes, unlike
  `hash()`), with `tenant_id` its sort key.
- an intervention: `sk` = `INTERVENTION#<intervention_id>`; attributes `intervention_id`, `tenant_id`,
  `playbook`, `trigger` (the `PlaybookTrigger` value), `reason`, `opened_at`, `task_title`, `task_due_at`,
  `evaluate_at` (ISO, UTC), and, each absent for None, `score_before` (a number), `band_before`,
  `requested_by`, `closed_at` (ISO, UTC), `score_after` (a number), `band_after`, `outcome` (the `Outcome`
  value). Its status is `intervention_status` (`open` or `closed`), the partition key of the sparse
  `by-status` index, which only interventions carry (every attribute projected); its sort key `status_sort`
  is `<evaluate_at>#<intervention_id>` while open (so the due come first) and `<closed_at>#<intervention_id>`
  once closed.
- an open intervention's marker, one per account and playbook while one of the playbook is open: `sk` =
  `OPEN#<playbook>`; attribute `intervention_id` (the open one's).

Product items (each absent attribute below is a None field; datetimes ISO in UTC, as above):

- feedback, every one in the partition `pk` = `FEEDBACK`: `sk` = `<feature>#<feedback_key>`, the feature
  with `%` and `#` percent-escaped (`%25`, `%23`: `feature_key`) so that the first `#` ends it, and a
  feature's feedback is exactly `begins_with(sk, "<feature>#")` (`sso` takes neither `sso-admin`'s nor
  `sso#admin`'s); attributes `feedback_key`, `tenant_id`, `feature` (as given), `kind` (the `FeedbackKind`
  value), `text`, `source`, `received_at`, `digest`, and `contact_email`, `campaign_id`.
- a launch: `pk` = `LAUNCH#<launch_id>`, `sk` = `LAUNCH`; attributes `launch_id`, `feature`, `launch_date`
  (ISO date text, `2026-12-01`), `target_bands` and `target_tenants` (lists of strings, empty ones kept
  empty), `messaging`, `created_at`, `digest`.
- a CS campaign: `pk` = `CAMPAIGN#<campaign_id>`, `sk` = `CAMPAIGN`; attributes `campaign_id`, `kind` (the
  `CampaignKind` value), `name`, its audience's `bands` (a list of strings), `min_nps` and `max_nps`
  (numbers), `advocates_only` (a boolean), `tenants` (a list of strings), `requested_by`, `created_at`,
  `digest`.

Writes:

- `append_signal` is one PutItem on `attribute_not_exists(pk)`; the condition failing is False (that signal,
  same id and time, is kept already; nothing written).
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

Every item is measured before it is written (DynamoDB refuses items over 400 KB): a signal, intervention,
feedback, launch or campaign too large is `TooLargeToStore` naming it, before any call; so is a key over
DynamoDB's key limits (a sort key of 1024 bytes, a partition key of 2048: a signal id, message id,
intervention id, playbook, feature, feedback key, launch id or campaign id thousands of characters long). An
empty id, key, account or feature, a naive datetime, an unknown kind or a list holding other than text is a
ValueError, before any call.

Reads:

- `signals(tenant_id, since)`: a strongly consistent Query of the account's partition, `sk` BETWEEN
  `SIGNAL#<since>` and `SIGNAL#~`, every page; signals at `since` itself are dropped (strictly after), the
  rest come oldest first, ties by signal id (the sort key's order).
- `health(tenant_id)`: a strongly consistent GetItem.
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

Datetimes come back timezone-aware, in UTC. The functions building and reading items are shared with the
in-memory fake of the tests, so both refuse and return exactly the same.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from shared.adapters.dynamodb_attribution_items import stale_version
from shared.adapters.dynamodb_items import (
    ConditionalWrite,
    VersionConflict,
    iso,
    iso_or_none,
    key,
    plain,
    put_at_version,
    serialize,
    transact,
    when,
    when_or_none,
)
from shared.adapters.dynamodb_lead_items import check_size
from shared.adapters.dynamodb_reads import get_item, partition_items, query_pages
from shared.catalog.success import TENANT_SHARDS
from shared.errors import InvalidInput
from shared.leads.ports import TooLargeToStore
from shared.success.campaigns import Audience, CampaignKind, CsCampaign
from shared.success.feedback import Feedback, FeedbackKind
from shared.success.interventions import Intervention, InterventionStatus, Outcome
from shared.success.model import PlaybookTrigger
from shared.success.ports import InterventionPage, StaleHealth, StoredHealth, TenantPage
from shared.success.product import Launch
from shared.success.signals import Signal, SignalKind

TENANT, SIGNAL, MESSAGE, HEALTH, SHARD = "TENANT#", "SIGNAL#", "MESSAGE#", "HEALTH", "SHARD#"
INTERVENTION, OPEN = "INTERVENTION#", "OPEN#"
FEEDBACK, LAUNCH, CAMPAIGN = "FEEDBACK", "LAUNCH", "CAMPAIGN"  # the feedback partition; launches' and campaigns' sk
SIGNALS_END = SIGNAL + "~"  # past every `SIGNAL#<iso time>...` (an ISO time starts with a digit)
BY_SHARD, BY_STATUS = "by-shard", "by-status"
WRITE_ATTEMPTS = 4
MAX_PARTITION_KEY_BYTES, MAX_SORT_KEY_BYTES = 2048, 1024  # DynamoDB's key limits (an index's keys too)
BAD_CURSOR = "cursor is not one this listing returned; start again without it"
STATUS_KEY = ("intervention_status", "status_sort", "pk", "sk")  # the by-status index's position at an item
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


# -------------------------------------------------------------------------------------------------- items


def tenant_pk(tenant_id: str) -> str:
    return TENANT + tenant_id


def signal_sk(signal: Signal) -> str:
    return f"{SIGNAL}{iso(signal.at)}#{signal.signal_id}"


def signals_range(since: datetime) -> tuple[str, str]:
    """The sort keys a query for the signals after `since` reads between (those at `since` itself included:
    dropped after)."""
    return SIGNAL + iso(since), SIGNALS_END


def signal_item(tenant_id: str, signal: Signal) -> dict[str, Any]:
    """A signal's item (plain values), checked: a naive time, an unknown kind or values JSON cannot hold are a
    ValueError; an item or key DynamoDB would refuse for its size is TooLargeToStore."""
    try:
        values = json.dumps(dict(signal.values), separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"signal {signal.signal_id}: values are integers, text, None and maps of them ({exc})"
        ) from None
    item: dict[str, Any] = {
        "pk": tenant_pk(tenant_id),
        "sk": signal_sk(signal),
        "signal_id": signal.signal_id,
        "kind": SignalKind(signal.kind).value,
        "at": iso(signal.at),
        "values": values,
    }
    what = f"signal {signal.signal_id} of {tenant_id}"
    check_keys(item, what)
    check_size(item, what)
    return item


def signal_from(item: Mapping[str, Any]) -> Signal:
    return Signal(str(item["signal_id"]), SignalKind(item["kind"]), when(str(item["at"])), json.loads(item["values"]))


def marker_item(tenant_id: str, message_id: str, digest: str, signal_sort_key: str) -> dict[str, Any]:
    item = {"pk": tenant_pk(tenant_id), "sk": MESSAGE + message_id, "digest": digest, "signal_sk": signal_sort_key}
    check_keys(item, f"message {message_id} of {tenant_id}")
    return item


def health_item(health: StoredHealth) -> dict[str, Any]:
    """The `HEALTH` item of a snapshot as stored (its version the stored one: 1 or more)."""
    if not health.tenant_id:
        raise ValueError("a health snapshot's tenant_id is empty")
    if health.version < 1:
        raise ValueError(f"health of {health.tenant_id}: a version read is 0 or more, not {health.version - 1}")
    item: dict[str, Any] = {
        "pk": tenant_pk(health.tenant_id),
        "sk": HEALTH,
        "tenant_id": health.tenant_id,
        "tenant_shard": shard_key(shard_of(health.tenant_id)),
        "as_of": iso(health.as_of),
        "model_version": health.model_version,
        "at_risk": bool(health.at_risk),
        "expansion_ready": bool(health.expansion_ready),
        "version": health.version,
    }
    if health.score_hundredths is not None:
        item["score_hundredths"] = int(health.score_hundredths)
    if health.band is not None:
        item["band"] = health.band
    what = f"health of {health.tenant_id}"
    check_keys(item, what)
    if len(health.tenant_id.encode("utf-8", "surrogatepass")) > MAX_SORT_KEY_BYTES:  # the index's sort key
        raise TooLargeToStore(f"{what}: a tenant id is at most {MAX_SORT_KEY_BYTES} bytes (the index's sort key)")
    check_size(item, what)
    return item


def health_from(item: Mapping[str, Any]) -> StoredHealth:
    score = item.get("score_hundredths")
    band = item.get("band")
    return StoredHealth(
        tenant_id=str(item["tenant_id"]),
        as_of=when(str(item["as_of"])),
        model_version=str(item["model_version"]),
        score_hundredths=None if score is None else int(score),
        band=None if band is None else str(band),
        at_risk=bool(item["at_risk"]),
        version=int(item["version"]),
        expansion_ready=bool(item.get("expansion_ready", False)),  # absent on snapshots stored before it existed
    )


def check_keys(item: Mapping[str, Any], what: str) -> None:
    for name, limit in (("pk", MAX_PARTITION_KEY_BYTES), ("sk", MAX_SORT_KEY_BYTES)):
        size = len(str(item[name]).encode("utf-8", "surrogatepass"))
        if size > limit:
            raise TooLargeToStore(f"{what}: its key `{name}` would be {size} bytes, over DynamoDB's {limit}")


def intervention_sk(intervention_id: str) -> str:
    return INTERVENTION + intervention_id


def status_sort(intervention: Intervention) -> str:
    """The `by-status` index's sort key: when it is due while open, when it closed once closed."""
    moment = intervention.evaluate_at if intervention.closed_at is None else intervention.closed_at
    return f"{iso(moment)}#{intervention.intervention_id}"


def opened_sort(intervention: Intervention) -> str:
    """An account's listing order (descending: the newest opened first)."""
    return f"{iso(intervention.opened_at)}#{intervention.intervention_id}"


def check_status(intervention: Intervention, expected: InterventionStatus, done: str) -> None:
    if InterventionStatus(intervention.status) is not expected:
        article = {InterventionStatus.OPEN: "an open", InterventionStatus.CLOSED: "a closed"}
        raise ValueError(
            f"intervention {intervention.intervention_id} of {intervention.tenant_id}: only {article[expected]} "
            f"intervention is {done}, not {article.get(intervention.status, repr(intervention.status))} one"
        )


def intervention_item(intervention: Intervention) -> dict[str, Any]:
    """An intervention's item (plain values), checked: an empty id, tenant or playbook, a naive datetime, an
    unknown trigger, status or outcome, a closed one without `closed_at` or an open one with it are a
    ValueError; an item or key DynamoDB would refuse for its size is TooLargeToStore."""
    what = f"intervention {intervention.intervention_id} of {intervention.tenant_id}"
    for name in ("intervention_id", "tenant_id", "playbook"):
        if not getattr(intervention, name):
            raise ValueError(f"{what}: its {name} is empty")
    status = InterventionStatus(intervention.status)
    if (status is InterventionStatus.CLOSED) != (intervention.closed_at is not None):
        raise ValueError(f"{what}: a closed intervention has a closed_at and an open one none ({status.value})")
    item: dict[str, Any] = {
        "pk": tenant_pk(intervention.tenant_id),
        "sk": intervention_sk(intervention.intervention_id),
        "intervention_id": intervention.intervention_id,
        "tenant_id": intervention.tenant_id,
        "playbook": intervention.playbook,
        "trigger": PlaybookTrigger(intervention.trigger).value,
        "reason": intervention.reason,
        "opened_at": iso(intervention.opened_at),
        "task_title": intervention.task_title,
        "task_due_at": iso(intervention.task_due_at),
        "evaluate_at": iso(intervention.evaluate_at),
        "intervention_status": status.value,
        "status_sort": status_sort(intervention),
    }
    optional = {
        "score_before": None if intervention.score_before is None else int(intervention.score_before),
        "band_before": intervention.band_before,
        "requested_by": intervention.requested_by,
        "closed_at": iso_or_none(intervention.closed_at),
        "score_after": None if intervention.score_after is None else int(intervention.score_after),
        "band_after": intervention.band_after,
        "outcome": None if intervention.outcome is None else Outcome(intervention.outcome).value,
    }
    item.update((name, value) for name, value in optional.items() if value is not None)
    check_keys(item, what)  # the index's sort key, `<time>#<id>`, is shorter than `sk`
    check_size(item, what)
    return item


def intervention_from(item: Mapping[str, Any]) -> Intervention:
    def text(name: str) -> str | None:
        return None if item.get(name) is None else str(item[name])

    def number(name: str) -> int | None:
        return None if item.get(name) is None else int(item[name])

    outcome = text("outcome")
    return Intervention(
        intervention_id=str(item["intervention_id"]),
        tenant_id=str(item["tenant_id"]),
        playbook=str(item["playbook"]),
        trigger=PlaybookTrigger(item["trigger"]),
        reason=str(item["reason"]),
        opened_at=when(str(item["opened_at"])),
        task_title=str(item["task_title"]),
        task_due_at=when(str(item["task_due_at"])),
        evaluate_at=when(str(item["evaluate_at"])),
        score_before=number("score_before"),
        band_before=text("band_before"),
        requested_by=text("requested_by"),
        status=InterventionStatus(item["intervention_status"]),
        closed_at=when_or_none(text("closed_at")),
        score_after=number("score_after"),
        band_after=text("band_after"),
        outcome=None if outcome is None else Outcome(outcome),
    )


def open_marker_item(intervention: Intervention) -> dict[str, Any]:
    """The marker of an account's open intervention of a playbook (one at a time)."""
    item = {
        "pk": tenant_pk(intervention.tenant_id),
        "sk": OPEN + intervention.playbook,
        "intervention_id": intervention.intervention_id,
    }
    check_keys(item, f"the open marker of playbook {intervention.playbook} of {intervention.tenant_id}")
    return item


def unmarked(intervention: Intervention) -> str:
    return (
        f"intervention {intervention.intervention_id} of {intervention.tenant_id} is open but the open marker of "
        f"playbook {intervention.playbook} does not name it: the store is inconsistent, nothing written"
    )


# ------------------------------------------------------------------------------------------------ product


def feature_key(feature: str) -> str:
    """A feature as written in a feedback sort key: `%` and `#` percent-escaped, so the first `#` ends it."""
    return feature.replace("%", "%25").replace("#", "%23")


def feedback_prefix(feature: str) -> str:
    """The sort keys of a feature's feedback begin with this (and no other feature's do)."""
    return feature_key(feature) + "#"


def check_given(record: object, names: Sequence[str], what: str) -> None:
    for name in names:
        if not getattr(record, name):
            raise ValueError(f"{what}: its {name} is empty")


def texts(values: Iterable[str], what: str, name: str) -> list[str]:
    """A tuple of text as the list stored; anything else in it is a ValueError (it would not come back as
    it went)."""
    listed = list(values)
    if not all(isinstance(value, str) for value in listed):
        raise ValueError(f"{what}: its {name} holds text only, not {listed!r}")
    return listed


def text_or_none(item: Mapping[str, Any], name: str) -> str | None:
    return None if item.get(name) is None else str(item[name])


def number_or_none(item: Mapping[str, Any], name: str) -> int | None:
    return None if item.get(name) is None else int(item[name])


def feedback_item(feedback: Feedback) -> dict[str, Any]:
    """Feedback's item (plain values), checked: an empty key, account or feature, a naive time or an unknown
    kind are a ValueError; an item or key DynamoDB would refuse for its size is TooLargeToStore."""
    what = f"feedback {feedback.feedback_key} on {feedback.feature}"
    check_given(feedback, ("feedback_key", "tenant_id", "feature"), what)
    item: dict[str, Any] = {
        "pk": FEEDBACK,
        "sk": feedback_prefix(feedback.feature) + feedback.feedback_key,
        "feedback_key": feedback.feedback_key,
        "tenant_id": feedback.tenant_id,
        "feature": feedback.feature,
        "kind": FeedbackKind(feedback.kind).value,
        "text": feedback.text,
        "source": feedback.source,
        "received_at": iso(feedback.received_at),
        "digest": feedback.digest,
    }
    optional = {"contact_email": feedback.contact_email, "campaign_id": feedback.campaign_id}
    item.update((name, value) for name, value in optional.items() if value is not None)
    check_keys(item, what)
    check_size(item, what)
    return item


def feedback_from(item: Mapping[str, Any]) -> Feedback:
    return Feedback(
        feedback_key=str(item["feedback_key"]),
        tenant_id=str(item["tenant_id"]),
        feature=str(item["feature"]),
        kind=FeedbackKind(item["kind"]),
        text=str(item["text"]),
        source=str(item["source"]),
        received_at=when(str(item["received_at"])),
        contact_email=text_or_none(item, "contact_email"),
        campaign_id=text_or_none(item, "campaign_id"),
        digest=str(item["digest"]),
    )


def feedback_listed(items: Iterable[Mapping[str, Any]]) -> list[Feedback]:
    """Feedback by feature, then in the order received (ties by key)."""
    return sorted(
        (feedback_from(item) for item in items), key=lambda one: (one.feature, one.received_at, one.feedback_key)
    )


def launch_pk(launch_id: str) -> str:
    return f"{LAUNCH}#{launch_id}"


def launch_item(launch: Launch) -> dict[str, Any]:
    """A launch's item (plain values), checked: an empty id, a launch date that is a datetime, a naive
    `created_at` or a target list holding other than text are a ValueError; an item or key DynamoDB would
    refuse for its size is TooLargeToStore."""
    what = f"launch {launch.launch_id}"
    check_given(launch, ("launch_id",), what)
    if isinstance(launch.launch_date, datetime) or not isinstance(launch.launch_date, date):
        raise ValueError(f"{what}: its launch_date is a date, not {launch.launch_date!r}")
    item: dict[str, Any] = {
        "pk": launch_pk(launch.launch_id),
        "sk": LAUNCH,
        "launch_id": launch.launch_id,
        "feature": launch.feature,
        "launch_date": launch.launch_date.isoformat(),
        "target_bands": texts(launch.target_bands, what, "target_bands"),
        "target_tenants": texts(launch.target_tenants, what, "target_tenants"),
        "messaging": launch.messaging,
        "created_at": iso(launch.created_at),
        "digest": launch.digest,
    }
    check_keys(item, what)
    check_size(item, what)
    return item


def launch_from(item: Mapping[str, Any]) -> Launch:
    return Launch(
        launch_id=str(item["launch_id"]),
        feature=str(item["feature"]),
        launch_date=date.fromisoformat(str(item["launch_date"])),
        target_bands=tuple(str(band) for band in item["target_bands"]),
        messaging=str(item["messaging"]),
        created_at=when(str(item["created_at"])),
        digest=str(item["digest"]),
        target_tenants=tuple(str(tenant) for tenant in item["target_tenants"]),
    )


def campaign_pk(campaign_id: str) -> str:
    return f"{CAMPAIGN}#{campaign_id}"


def campaign_item(campaign: CsCampaign) -> dict[str, Any]:
    """A CS campaign's item (plain values), checked: an empty id, an unknown kind, a naive `created_at` or a
    list holding other than text are a ValueError; an item or key DynamoDB would refuse for its size is
    TooLargeToStore."""
    what = f"campaign {campaign.campaign_id}"
    check_given(campaign, ("campaign_id",), what)
    audience = campaign.audience
    item: dict[str, Any] = {
        "pk": campaign_pk(campaign.campaign_id),
        "sk": CAMPAIGN,
        "campaign_id": campaign.campaign_id,
        "kind": CampaignKind(campaign.kind).value,
        "name": campaign.name,
        "bands": texts(audience.bands, what, "audience's bands"),
        "advocates_only": bool(audience.advocates_only),
        "tenants": texts(campaign.tenants, what, "tenants"),
        "requested_by": campaign.requested_by,
        "created_at": iso(campaign.created_at),
        "digest": campaign.digest,
    }
    optional = {
        "min_nps": None if audience.min_nps is None else int(audience.min_nps),
        "max_nps": None if audience.max_nps is None else int(audience.max_nps),
    }
    item.update((name, value) for name, value in optional.items() if value is not None)
    check_keys(item, what)
    check_size(item, what)
    return item


def campaign_from(item: Mapping[str, Any]) -> CsCampaign:
    return CsCampaign(
        campaign_id=str(item["campaign_id"]),
        kind=CampaignKind(item["kind"]),
        name=str(item["name"]),
        audience=Audience(
            bands=tuple(str(band) for band in item["bands"]),
            min_nps=number_or_none(item, "min_nps"),
            max_nps=number_or_none(item, "max_nps"),
            advocates_only=bool(item["advocates_only"]),
        ),
        requested_by=str(item["requested_by"]),
        created_at=when(str(item["created_at"])),
        tenants=tuple(str(tenant) for tenant in item["tenants"]),
        digest=str(item["digest"]),
    )


# ------------------------------------------------------------------------------------------------ tenants


def shard_of(tenant_id: str) -> int:
    """The account's index partition: stable across processes and releases (CRC-32, not `hash()`)."""
    return zlib.crc32(tenant_id.encode("utf-8", "surrogatepass")) % TENANT_SHARDS


def shard_key(shard: int) -> str:
    return f"{SHARD}{shard}"


def index_key(tenant_id: str) -> dict[str, str]:
    """The `by-shard` index's position at an account's snapshot (its keys and the table's)."""
    return {
        "tenant_shard": shard_key(shard_of(tenant_id)),
        "tenant_id": tenant_id,
        "pk": tenant_pk(tenant_id),
        "sk": HEALTH,
    }


def check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInput(f"limit must be an integer of at least 1, not {limit!r}")


def tenant_page(found: list[str], limit: int) -> TenantPage:
    """The page of the first `limit` accounts of `found` (up to `limit + 1`, in listing order): a cursor after
    its last when one more was found."""
    page = found[:limit]
    return TenantPage(page, encode_cursor(page[-1]) if len(found) > limit else None)


def encode_cursor(after: str) -> str:
    return encode_document({"shard": shard_of(after), "after": after})


def decode_cursor(cursor: str) -> tuple[int, str]:
    """(shard, tenant id) to continue after; InvalidInput for a cursor `encode_cursor` did not make."""
    document = decode_document(cursor)
    shard, after = document.get("shard"), document.get("after")
    if isinstance(shard, bool) or not isinstance(shard, int) or not isinstance(after, str) or not after:
        raise InvalidInput(BAD_CURSOR)
    if shard_of(after) != shard:
        raise InvalidInput(BAD_CURSOR)
    return shard, after


# ------------------------------------------------------------------------------------------ interventions


def listed_status(status: InterventionStatus | str | None) -> InterventionStatus:
    """The status of a listing of every account's interventions: required there."""
    if status is None:
        raise ValueError("status is required to list the interventions of every account")
    return InterventionStatus(status)


def account_page(
    tenant_id: str,
    found: Iterable[Intervention],
    status: InterventionStatus | str | None,
    before: str | None,
    limit: int,
) -> InterventionPage:
    """A page of an account's interventions (of `status`, if any), the newest opened first, after the one whose
    `opened_sort` is `before`."""
    wanted = None if status is None else InterventionStatus(status)
    listed = sorted((one for one in found if wanted is None or one.status is wanted), key=opened_sort, reverse=True)
    if before is not None:
        listed = [one for one in listed if opened_sort(one) < before]
    page = listed[:limit]
    after = encode_document({"tenant": tenant_id, "before": opened_sort(page[-1])}) if len(listed) > limit else None
    return InterventionPage(page, after)


def decode_account_cursor(cursor: str, tenant_id: str) -> str:
    """The `opened_sort` an account's listing continues before; InvalidInput for a cursor it did not make (or
    made for another account)."""
    document = decode_document(cursor)
    before = document.get("before")
    if set(document) != {"tenant", "before"} or document["tenant"] != tenant_id:
        raise InvalidInput(BAD_CURSOR)
    if not isinstance(before, str) or not before:
        raise InvalidInput(BAD_CURSOR)
    return before


def due_until(now: datetime) -> str:
    """The highest `status_sort` of an open intervention due at `now` (every id sorts before `~`)."""
    return f"{iso(now)}#~"


def status_position(item: Mapping[str, Any]) -> tuple[str, ...]:
    """An item's place in the `by-status` index (its sort key, then the table's keys)."""
    return tuple(str(item[name]) for name in STATUS_KEY)


def status_page(found: Sequence[Mapping[str, Any]], limit: int) -> InterventionPage:
    """The page of the first `limit` items of `found` (up to `limit + 1`, in the index's order): a cursor at its
    last when one more was found."""
    page = found[:limit]
    after = None
    if len(found) > limit:
        after = encode_document(dict(zip(STATUS_KEY, status_position(page[-1]), strict=True)))
    return InterventionPage([intervention_from(item) for item in page], after)


def decode_status_cursor(cursor: str, status: InterventionStatus) -> dict[str, str]:
    """The `by-status` index's key to continue after; InvalidInput for a cursor a listing of `status` did not
    make."""
    document = decode_document(cursor)
    if set(document) != set(STATUS_KEY) or not all(isinstance(value, str) and value for value in document.values()):
        raise InvalidInput(BAD_CURSOR)
    sk, sort = document["sk"], document["status_sort"]
    if (
        document["intervention_status"] != status.value
        or not document["pk"].startswith(TENANT)
        or not sk.startswith(INTERVENTION)
        or not sort.endswith("#" + sk.removeprefix(INTERVENTION))
    ):
        raise InvalidInput(BAD_CURSOR)
    return {name: document[name] for name in STATUS_KEY}


# ---------------------------------------------------------------------------------------------- cursors


def encode_document(document: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()


def decode_document(cursor: str) -> dict[str, Any]:
    """The JSON object a cursor encodes; InvalidInput naming the cursor for anything else."""
    try:
        document = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, TypeError, AttributeError, UnicodeError):
        raise InvalidInput(BAD_CURSOR) from None
    if not isinstance(document, dict):
        raise InvalidInput(BAD_CURSOR)
    return document
