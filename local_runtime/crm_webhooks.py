"""What the local CRM stand-ins (`crm_hubspot`, `crm_salesforce`) share: the asynchronous webhook deliveries (one
background thread, a queue, retries with delays, a log of deliveries), the log of API calls, the injected faults
and serving their routes as a WSGI application. Each is thread-safe on a lock of its own; the stand-ins shape
what they send and what they answer.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local_runtime.gateway import LocalRoute

T = TypeVar("T")  # what is delivered: one event, one notification
M = TypeVar("M")  # a delivery's message, made once for all of its attempts


class Attempt(NamedTuple):
    """What became of one attempt to deliver: the answer's status (None: no answer), what went wrong, and
    whether the receiver took the delivery."""

    status: int | None
    error: str | None
    delivered: bool


@dataclass
class Delivery(Generic[T]):
    """One request's worth of items, sent (and sent again) until delivered or given up on."""

    number: int
    items: list[T]
    at: datetime | None = None  # when it was taken from the queue (with a clock)
    url: str | None = None
    status: str = "pending"  # pending, delivered, failed
    attempts: int = 0
    response_status: int | None = None
    error: str | None = None


class DeliveriesState(NamedTuple, Generic[T]):
    url: str | None
    waiting: int  # queued, not yet taken by the worker
    in_flight: bool  # a delivery is being attempted
    deliveries: list[Delivery[T]]


@dataclass
class _Queue(Generic[T]):
    items: deque[T] = field(default_factory=deque)
    in_flight: bool = False
    closed: bool = False
    worker: threading.Thread | None = None


class WebhookDeliveries(Generic[T, M]):
    """Delivers items in order from one background thread (started with the first item), up to `max_batch` a
    delivery (and only items of one `batch_key`), each delivery attempted again after each of `retry_delays`
    until `send` says it was delivered, then recorded as failed. No url: items are not queued."""

    def __init__(
        self,
        *,
        url: str | None,
        prepare: Callable[[list[T]], M],
        send: Callable[[str, M, int], Attempt],
        retry_delays: Sequence[float],
        max_batch: int,
        kept: int,
        thread_name: str,
        join_timeout: float,
        batch_key: Callable[[T], Hashable] | None = None,
        clock: Callable[[], datetime] | None = None,
        url_at_each_attempt: bool = False,
        drop_on_close: bool = False,
        changed: threading.Condition | None = None,
    ) -> None:
        """`prepare`: a delivery's message, from its items (called once, on the worker, out of the lock);
        `send(url, message, attempt)`: one attempt (0 first); `clock`: when given, a delivery's `at`;
        `url_at_each_attempt`: each attempt goes to the url set then (else to the one when the delivery started);
        `drop_on_close`: `close` forgets what waits (else it is kept, never sent); `changed`: a condition on the
        stand-in's own lock (a reentrant one), so that what one call queues under it is taken together (else a
        lock of the deliveries' own)."""
        self._url = url
        self._prepare = prepare
        self._send = send
        self._retry_delays = tuple(retry_delays)
        self._max_batch = max_batch
        self._thread_name = thread_name
        self._join_timeout = join_timeout
        self._batch_key = batch_key
        self._clock = clock
        self._url_at_each_attempt = url_at_each_attempt
        self._drop_on_close = drop_on_close
        self._changed = changed if changed is not None else threading.Condition()
        self._queue: _Queue[T] = _Queue()
        self._deliveries: deque[Delivery[T]] = deque(maxlen=kept)
        self._next_number = 1

    @property
    def url(self) -> str | None:
        with self._changed:
            return self._url

    def set_url(self, url: str | None) -> None:
        with self._changed:
            self._url = url

    def enqueue(self, items: Iterable[T]) -> None:
        """Queues the items for delivery (nothing without a url, or once closed)."""
        items = list(items)
        with self._changed:
            if self._url is None or self._queue.closed or not items:
                return
            self._queue.items.extend(items)
            if self._queue.worker is None:
                self._queue.worker = threading.Thread(target=self._work, name=self._thread_name, daemon=True)
                self._queue.worker.start()
            self._changed.notify_all()

    def state(self) -> DeliveriesState[T]:
        """The url, what waits, and every delivery (the latest kept), oldest first, read at one moment."""
        with self._changed:
            return DeliveriesState(self._url, len(self._queue.items), self._queue.in_flight, list(self._deliveries))

    def views(self, view: Callable[[Delivery[T]], dict[str, Any]]) -> list[dict[str, Any]]:
        with self._changed:
            return [view(delivery) for delivery in self._deliveries]

    def wait_until_delivered(self, timeout: float) -> bool:
        """Waits until nothing waits or is being sent: False when `timeout` seconds passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._queue.items and not self._queue.in_flight, timeout)

    def close(self) -> None:
        """Stops the worker (what waits is not delivered)."""
        with self._changed:
            self._queue.closed = True
            if self._drop_on_close:
                self._queue.items.clear()
            self._changed.notify_all()
            worker = self._queue.worker
        if worker is not None:
            worker.join(timeout=self._join_timeout)

    def _work(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._queue.closed or bool(self._queue.items))
                if self._queue.closed:
                    return
                delivery = Delivery(
                    self._next_number,
                    self._take(),
                    at=self._clock() if self._clock is not None else None,
                    url=None if self._url_at_each_attempt else self._url,
                )
                self._next_number += 1
                self._deliveries.append(delivery)
                self._queue.in_flight = True
            try:
                self._attempts(delivery)
            finally:
                with self._changed:
                    if delivery.status == "pending":
                        delivery.status = "failed"
                    self._queue.in_flight = False
                    self._changed.notify_all()

    def _take(self) -> list[T]:
        """The next delivery's items (called under the lock, the queue not empty)."""
        queue = self._queue.items
        first = queue.popleft()
        batch = [first]
        key = self._batch_key
        while queue and len(batch) < self._max_batch and (key is None or key(queue[0]) == key(first)):
            batch.append(queue.popleft())
        return batch

    def _attempts(self, delivery: Delivery[T]) -> None:
        message = self._prepare(delivery.items)
        for attempt, delay in enumerate((*self._retry_delays, None)):
            with self._changed:
                if self._url_at_each_attempt:
                    delivery.url = self._url
                url = delivery.url
                if url is None:
                    delivery.error = "no webhook_url"
                    return
            status, error, delivered = self._send(url, message, attempt)
            with self._changed:
                delivery.attempts, delivery.response_status, delivery.error = attempt + 1, status, error
                if delivered:
                    delivery.status = "delivered"
                    return
                # waits for the retry, or until closed
                if delay is None or self._changed.wait_for(lambda: self._queue.closed, timeout=delay):
                    return


class Forgotten(NamedTuple):
    kept: int
    counted: int


class CallLog:
    """The API calls a stand-in answered (the latest `kept`), oldest first, and how many since forgotten."""

    def __init__(self, kept: int) -> None:
        self._lock = threading.Lock()
        self._calls: deque[dict[str, Any]] = deque(maxlen=kept)
        self._count = 0

    def add(self, call: dict[str, Any]) -> None:
        with self._lock:
            self._count += 1
            self._calls.append(call)

    def calls(self) -> list[dict[str, Any]]:
        return self.snapshot()[0]

    def snapshot(self) -> tuple[list[dict[str, Any]], int]:
        """The calls kept and the count, read at one moment."""
        with self._lock:
            return [dict(call) for call in self._calls], self._count

    @property
    def count(self) -> int:
        """Every call since forgotten, those no longer kept too."""
        with self._lock:
            return self._count

    def forget(self) -> Forgotten:
        """Forgets every call: how many were kept, and how many were counted."""
        with self._lock:
            forgotten = Forgotten(len(self._calls), self._count)
            self._calls.clear()
            self._count = 0
        return forgotten


class Faults:
    """Injected faults: the next `calls` API calls fail (once `after` more have passed), or every call while
    there is an outage."""

    def __init__(self, kinds: Sequence[str], retry_after: int | None) -> None:
        self._lock = threading.Lock()
        self.kinds = tuple(kinds)
        self._calls = 0
        self._after = 0
        self._kind = self.kinds[0]
        self._retry_after = retry_after
        self._outage = False

    def fail_next(self, calls: int, kind: str, retry_after: int | None, after: int = 0) -> None:
        if kind not in self.kinds:
            raise ValueError(f"kind must be one of {', '.join(self.kinds)}, not {kind!r}")
        with self._lock:
            self._calls, self._kind, self._retry_after, self._after = calls, kind, retry_after, after

    @property
    def outage(self) -> bool:
        with self._lock:
            return self._outage

    def set_outage(self, outage: bool) -> None:
        with self._lock:
            self._outage = outage

    def take(self) -> tuple[str, int | None] | None:
        """The fault this call answers with, (kind, retry after), counting it; None: no fault."""
        with self._lock:
            if self._calls <= 0:
                return None
            if self._after > 0:
                self._after -= 1
                return None
            self._calls -= 1
            return self._kind, self._retry_after


def wsgi_application(routes: list[LocalRoute], no_route: Callable[[Any, int], Response]) -> Callable[..., Any]:
    """The routes as a WSGI application of their own; `no_route(body, status)` answers what matches none."""
    urls = Map(
        [Rule(path, methods=[method], endpoint=i) for i, (method, path, _) in enumerate(routes)],
        merge_slashes=False,
    )

    @Request.application
    def application(request: Request) -> Response:
        try:
            endpoint, arguments = urls.bind_to_environ(request.environ).match()
        except HTTPException as exc:
            return no_route({"message": exc.description}, exc.code or 404)
        return routes[endpoint][2](request, **arguments)

    return application
