"""Patches to moto (5.x) that make the embedded AWS hold a burst: the local hub installs them before its moto
server takes a request. Each is small, keeps moto's answers exactly as they were, and is worth offering upstream.

1. DynamoDB requests are served one at a time. moto's tables are plain dicts that reads iterate (Query, Scan)
   and writes resize (a GetItem on a table with a sort key even adds an empty partition to a defaultdict),
   while moto server serves every request on its own thread: under concurrency a request fails with
   "dictionary changed size during iteration" (a 500). One lock around each DynamoDB request, answer
   included, costs no parallelism: moto's DynamoDB is pure-Python work under the GIL anyway. DynamoDB Streams
   requests take the same lock: a transaction adds its items' stream records as it writes them and, cancelled,
   takes them back and reuses their sequence numbers, so a stream read in between handed a trigger the records
   of a change that never happened (a lost commit's lead events published) and then skipped as many committed
   ones.

2. TransactWriteItems keeps, for rollback, a copy of each item it touches instead of a deep copy of every
   table it touches, taken on every call. The table copy made each transaction cost (time and memory) grow
   with the table: thousands of deliveries in, a hub spent seconds and gigabytes per webhook. The answers
   are unchanged: the same checks in the same order, the same cancellation reasons (one per item, in item
   order, `Item` with ReturnValuesOnConditionCheckFailure=ALL_OLD), the same 100-item limit and the same
   refusal of two operations on one item. Like moto, it ignores ClientRequestToken (no idempotency window).

3. SQS: `Queue.delete_message` rebuilds the queue's message list without the lock `add_message` takes, so a
   message sent while another is being deleted could vanish (an event lost between EventBridge and a rule's
   target). It now holds that lock. And the receipt handles of deleted messages, which moto keeps so that a
   second delete succeeds, are kept for the latest `DELETED_RECEIPTS_KEPT` per queue instead of forever.

4. moto keeps every instance of every model it ever created, for its dashboard (`/moto-api/data.json`):
   every DynamoDB item version (and every copy moto makes of one), every SQS message (and the copy each
   receive makes), every stream record. Those never go, so the embedded AWS grew with every request for as
   long as it ran. Items, messages and stream records are no longer tracked (the dashboard still lists
   tables, queues, rules and the like); the live ones stay in their tables and queues as before.

5. Speed, same answers: EventBridge builds a JSONPath parser (a yacc table) for each of the eight input paths
   of its default SQS input template, for every event and target, which made PutEvents the slowest call of
   a webhook; parsed paths are now kept (they are immutable). And moto server, to find which service a
   request is for, lists moto's own package directory (a listdir and ~150 stats) on every request; it is
   listed once.

6. Speed, same answers: a Query on a table (not an index) gathers its candidates from every item of the table,
   sorted, and keeps those of the partition asked for: a budget view reading 100 counters of a month took
   seconds once the finance table held 100,000 spend lines. It now reads the partition asked for (DynamoDB
   keeps each partition apart; so does moto's table); the sorting, paging, filtering and limits that follow
   are moto's own, unchanged. Index queries are left as they are.

7. Speed, same answers: SQS builds a queue's whole attribute map, approximate message counts included (each a
   walk over every message in the queue, with a clock read per message), to read one setting when a message
   is sent (ContentBasedDeduplication) and again for every message received (MessageRetentionPeriod). A
   rule's tap queue that fell behind made every send to it slower, PutEvents included, so it fell further
   behind: a 10,000-delivery burst lost events past the bus's drain window. Those two reads now skip the
   counts; GetQueueAttributes still counts, as before.

8. Speed, same answers: projecting an item (a ProjectionExpression, and every item an INCLUDE index returns)
   converted the whole item to plain Python once for each attribute asked for, nested values deep-copied
   each time: listing a month's conversions with 13 attributes of items holding thousands of touches took
   seconds a page. When every attribute asked for is a top-level name, only those are converted, once each;
   the conversion and the result are moto's own. Nested paths and list elements are left to moto.

9. A hook, same answers: every record moto adds to a table's stream tells the listeners registered with
   `on_stream_record` (the local hub's stream triggers), which then read at once instead of polling moto
   five times a second per stream while nothing happens.

`install()` is idempotent; `uninstall()` restores moto as it was (the tests run the same checks both ways).
"""

from __future__ import annotations

import copy
import functools
import inspect
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import jsonpath_ng.ext
from moto import backends as moto_backends
from moto.core.common_models import BaseModel
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.dynamo_type import deserializer as _deserializer
from moto.dynamodb.models.dynamo_type import serializer as _serializer
from moto.dynamodb.models.table import StreamRecord, StreamShard, Table
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.sqs.exceptions import ReceiptHandleIsInvalid
from moto.sqs.models import Message, Queue, SQSBackend

TRANSACTION_ITEM_LIMIT = 100
DELETED_RECEIPTS_KEPT = 10_000

# Reentrant: in-process (`mock_aws`), a DynamoDB request can lead to another on the same thread (a stream's
# Lambda event source calling DynamoDB).
_DYNAMODB_LOCK = threading.RLock()
_originals: dict[tuple[object, str], Any] = {}  # functions, and one property
_install_lock = threading.Lock()
_stream_listeners: list[Callable[[], None]] = []


def install() -> None:
    """Patch moto's classes in this process (idempotent)."""
    with _install_lock:
        if _originals:
            return
        _replace(DynamoHandler, "call_action", _serialized(DynamoHandler.call_action))
        _replace(DynamoDBStreamsHandler, "call_action", _serialized(DynamoDBStreamsHandler.call_action))
        _replace(DynamoDBBackend, "transact_write_items", transact_write_items)
        _replace(Queue, "delete_message", _delete_message)
        _replace(BaseModel, "__new__", staticmethod(_new_model))
        _replace(jsonpath_ng.ext, "parse", functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse))
        _replace(moto_backends, "list_of_moto_modules", _listed_once(moto_backends.list_of_moto_modules))
        _replace(Table, "query", _partition_query(Table.query))
        _replace(Item, "project", _top_level_projection(Item.project))
        _replace(StreamShard, "add", _telling_listeners(StreamShard.add))
        _replace(Queue, "attributes", _attributes_counted_unless_settings_only(vars(Queue)["attributes"]))
        _replace(SQSBackend, "send_message", _settings_only(SQSBackend.send_message))
        _replace(
            SQSBackend,
            "is_message_valid_based_on_retention_period",
            _settings_only(SQSBackend.is_message_valid_based_on_retention_period),
        )


def installed() -> bool:
    return bool(_originals)


def on_stream_record(listener: Callable[[], None]) -> Callable[[], None]:
    """Call `listener` (quick, never raising) after moto adds a record to any table's stream, while the patches
    are installed; returns what unregisters it."""
    with _install_lock:
        _stream_listeners.append(listener)

    def unregister() -> None:
        with _install_lock:
            if listener in _stream_listeners:
                _stream_listeners.remove(listener)

    return unregister


def uninstall() -> None:
    """Put moto back as it was."""
    with _install_lock:
        for (owner, name), original in _originals.items():
            if original is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        _originals.clear()


_INHERITED = object()  # the name was the base class's: uninstall removes the override instead of restoring it


def _replace(owner: object, name: str, replacement: object) -> None:
    _originals[(owner, name)] = vars(owner).get(name, _INHERITED)
    setattr(owner, name, replacement)


_APPROXIMATE_COUNTS = frozenset(
    {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed", "ApproximateNumberOfMessagesNotVisible"}
)
_reading_settings = threading.local()  # per moto server thread: is the caller after a setting, not the counts?


def _settings_only(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def reading_settings_only(*args: Any, **kwargs: Any) -> Any:
        before = getattr(_reading_settings, "active", False)
        _reading_settings.active = True
        try:
            return method(*args, **kwargs)
        finally:
            _reading_settings.active = before

    return reading_settings_only


class _QueueWithoutCounts:
    """A queue as moto's `attributes` reads it, minus the approximate counts: moto's own code builds the map."""

    BASE_ATTRIBUTES: ClassVar[list[str]] = [name for name in Queue.BASE_ATTRIBUTES if name not in _APPROXIMATE_COUNTS]

    def __init__(self, queue: Queue) -> None:
        self._queue = queue

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)


def _attributes_counted_unless_settings_only(attributes: property) -> property:
    build = attributes.fget
    if build is None:
        raise TypeError("moto's Queue.attributes is expected to be a property with a getter")

    def counted_unless_settings_only(self: Queue) -> dict[str, Any]:
        if getattr(_reading_settings, "active", False):
            return dict(build(_QueueWithoutCounts(self)))
        return dict(build(self))

    return property(counted_unless_settings_only)


def _listed_once(list_modules: Callable[[], Iterable[str]]) -> Callable[[], tuple[str, ...]]:
    listed = tuple(list_modules())  # moto's package directory does not change while it runs

    def list_of_moto_modules() -> tuple[str, ...]:
        return listed

    return list_of_moto_modules


def _partition_query(query: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(query)  # moto passes index_name by position, or by name: bind to tell

    def query_one_partition(self: Table, hash_key: DynamoType | None, *args: Any, **kwargs: Any) -> Any:
        if signature.bind(self, hash_key, *args, **kwargs).arguments.get("index_name") or hash_key is None:
            return query(self, hash_key, *args, **kwargs)
        bucket = self.items.get(hash_key)  # .get: a missing partition must not be created (items is a defaultdict)
        if bucket is None:
            partition: list[Item] = []
        elif self.range_key_attr:
            partition = list(bucket.values())
        else:
            partition = [bucket]  # type: ignore[list-item]
        # moto's query reads its candidates through all_items(); give it this partition's only (an instance
        # attribute shadows the method for this call; DynamoDB requests are served one at a time, patch 1)
        self.all_items = lambda: partition  # type: ignore[method-assign]
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    return query_one_partition


# Created per request and never looked up through the dashboard's registry; the resources stay tracked.
UNTRACKED_MODELS: tuple[type, ...] = (Item, StreamRecord, Message)


def _top_level_projection(project: Callable[..., Item]) -> Callable[..., Item]:
    @functools.wraps(project)
    def project_top_level_names(self: Item, projection_expressions: list[list[str]]) -> Item:
        names = [path[0] for path in projection_expressions if len(path) == 1 and "[" not in path[0]]
        if len(names) != len(projection_expressions):
            return project(self, projection_expressions)
        # what `Item.project` computes for top-level names: each attribute as plain Python, serialized back
        kept = {
            name: _deserializer.deserialize(self.attrs[name].to_regular_json()) for name in names if name in self.attrs
        }
        return Item(hash_key=self.hash_key, range_key=self.range_key, attrs=dict(_serializer.serialize(kept)["M"]))

    return project_top_level_names


def _telling_listeners(add: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(add)
    def add_and_tell(self: StreamShard, old: Item | None, new: Item | None) -> None:
        add(self, old, new)
        for listener in tuple(_stream_listeners):
            listener()

    return add_and_tell


def _new_model(cls: type, *args: Any, **kwargs: Any) -> Any:
    if issubclass(cls, UNTRACKED_MODELS):
        return object.__new__(cls)
    return _originals[(BaseModel, "__new__")](cls, *args, **kwargs)


def _serialized(call_action: Callable[[DynamoHandler], Any]) -> Callable[[DynamoHandler], Any]:
    def call_action_one_at_a_time(self: DynamoHandler) -> Any:
        with _DYNAMODB_LOCK:
            return call_action(self)

    return call_action_one_at_a_time


@dataclass
class _ItemBefore:
    """An item as it was before the transaction wrote it (None: it did not exist)."""

    table: Table
    hash_key: DynamoType
    range_key: DynamoType | None
    item: Item | None

    def restore(self) -> None:
        items = self.table.items
        if self.range_key is None:
            if self.item is None:
                items.pop(self.hash_key, None)
            else:
                items[self.hash_key] = self.item  # type: ignore[assignment]  # moto types partitions only
            return
        if self.item is not None:
            items[self.hash_key][self.range_key] = self.item
            return
        partition = items.get(self.hash_key)  # `.get`: `items` is a defaultdict and must not grow here
        if partition is not None:
            partition.pop(self.range_key, None)
            if not partition:
                del items[self.hash_key]


class _Rollback:
    """What a transaction has touched so far, and how to put it back: items, and each table's stream."""

    def __init__(self) -> None:
        self._items: list[_ItemBefore] = []
        self._stream_lengths: dict[int, tuple[Table, int]] = {}

    def remember(self, backend: DynamoDBBackend, table_name: str, key: dict[str, Any]) -> None:
        table = backend.get_table(table_name)
        hash_key, range_key = backend.get_keys_value(table, key)
        # A copy: UpdateItem changes the stored item in place.
        self._items.append(_ItemBefore(table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        if table.stream_shard is not None:
            self._stream_lengths.setdefault(id(table), (table, len(table.stream_shard.items)))

    def restore(self) -> None:
        for before in reversed(self._items):
            before.restore()
        for table, length in self._stream_lengths.values():
            shard = table.stream_shard
            # Records a stream already handed to a Lambda event source are gone from the shard; those stay.
            if shard is not None and len(shard.items) >= length:
                del shard.items[length:]


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's TransactWriteItems, step for step, with a per-item rollback instead of whole-table copies."""
    if len(transact_items) > TRANSACTION_ITEM_LIMIT:
        raise TooManyTransactionsException()
    rollback = _Rollback()
    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str, str, dict[str, Any] | None] | tuple[None, None, None]] = []  # (Code, Message, Item)
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            expression_attribute_names = op.get("ExpressionAttributeNames")
            expression_attribute_values = op.get("ExpressionAttributeValues")
            return_values_on_condition_check_failure = op.get("ReturnValuesOnConditionCheckFailure")

            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]

            check_unicity(table_name, key)

            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = get_filter_expression(
                    condition_expression, expression_attribute_names, expression_attribute_values
                )
                if not condition_op.expr(current):
                    if return_values_on_condition_check_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            if op_type != "ConditionCheck":
                rollback.remember(self, table_name, key)
            if op_type == "Put":
                self.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            rollback.restore()
            raise
        except ConditionalCheckFailed as exc:
            errors.append(("ConditionalCheckFailed", str(exc.message), original_item))
        except Exception as exc:  # as moto does: any other failure is this item's cancellation reason
            errors.append((type(exc).__name__, str(exc), original_item))

    if any(code is not None for code, _, _ in errors):
        rollback.restore()
        raise TransactionCanceledException(errors)


class _RecentReceipts:
    """The receipt handles of a queue's deleted messages, the latest `limit` of them (moto keeps a set)."""

    def __init__(self, handles: Iterable[str], limit: int = DELETED_RECEIPTS_KEPT) -> None:
        self._limit = limit
        self._handles: OrderedDict[str, None] = OrderedDict()
        self.update(handles)

    def __contains__(self, handle: object) -> bool:
        return handle in self._handles

    def __len__(self) -> int:
        return len(self._handles)

    def __iter__(self) -> Iterator[str]:
        return iter(self._handles)

    def update(self, handles: Iterable[str | None]) -> None:
        for handle in handles:
            if handle is not None:
                self._handles[handle] = None
        while len(self._handles) > self._limit:
            self._handles.popitem(last=False)


def _delete_message(self: Queue, receipt_handle: str) -> None:
    """moto's `Queue.delete_message` under the queue's own lock, remembering a bounded number of receipts."""
    with self._messages_lock:
        if not isinstance(self.deleted_messages, _RecentReceipts):
            self.deleted_messages = _RecentReceipts(self.deleted_messages)  # type: ignore[assignment]
        if receipt_handle in self.deleted_messages:
            return  # already deleted: a second delete succeeds, as in SQS
        kept: list[Any] = []
        deleted: list[Any] = []
        for message in self._messages:
            (deleted if message.had_receipt_handle(receipt_handle) else kept).append(message)
        if not deleted:
            raise ReceiptHandleIsInvalid()
        for message in deleted:
            self.pending_messages.discard(message)
            self.deleted_messages.update(message.all_receipt_handles)
        self._messages = kept
