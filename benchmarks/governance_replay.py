"""Governance, replay, on a local runtime of its own: an hour of M events (Segment identify and track for 50
people, timed back over the last hour and sent in `/v1/batch` calls of 100; five Stripe customers, then their
invoices), processed until the hub is quiet (the original processing: the baseline), then a replay of that window
(`POST /_local/replays`, every rule) until it is COMPLETED and the hub is quiet again; and every item of every
table before and after: how many the replay changed (must be 0; the first few are printed)."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.governance_hub import POLL_SECONDS, TRACKED, local_hub, post_stripe
from benchmarks.governance_shared import say
from benchmarks.rows import Row, mark
from benchmarks.segment_messages import segment_message

REPLAY_PEOPLE = 50
REPLAY_STRIPE_DELIVERIES = 5
DEFAULT_REPLAY_EVENTS = 500


def replay_rows(events: int = DEFAULT_REPLAY_EVENTS) -> list[Row]:
    with local_hub() as hub:
        run = uuid.uuid4().hex[:8]
        hour_start = datetime.now(UTC) - timedelta(hours=1)
        per_person = max(2, events // REPLAY_PEOPLE)
        messages: list[dict[str, Any]] = []
        for person in range(REPLAY_PEOPLE):
            user = f"user-{run}-{person}"
            at = hour_start + timedelta(minutes=person % 50)
            traits = {"email": f"p{person}.{run}@replay-{person % 7}-{run}.io", "title": "Manager of Data"}
            messages.append(segment_message("identify", user, at, traits=traits))
            messages += [
                segment_message(
                    "track", user, at + timedelta(seconds=n + 1), event=TRACKED[(person + n) % len(TRACKED)]
                )
                for n in range(per_person - 1)
            ]
        messages.sort(key=lambda message: str(message["timestamp"]))  # sent as the hour went
        say(f"replay: an hour of {len(messages)} Segment messages and {REPLAY_STRIPE_DELIVERIES} Stripe customers")
        customers = [(f"cus_{run}_{n}", f"p{n}.{run}@replay-{n % 7}-{run}.io") for n in range(REPLAY_STRIPE_DELIVERIES)]
        # The customers first, their payments later, as they come in the hour: a payment of a customer the hub does
        # not know yet is parked until the next signal about it, and a replay would be that next signal.
        started = time.perf_counter()
        for customer, email in customers:
            post_stripe(
                hub, "customer.created", {"object": "customer", "id": customer, "email": email, "name": customer}
            )
        original = hub.quiet() - started
        started = time.perf_counter()
        hub.batch(messages)
        for n, (customer, email) in enumerate(customers):
            invoice = {"object": "invoice", "id": f"in_{run}_{n}", "customer": customer, "customer_email": email}
            post_stripe(hub, "invoice.paid", invoice | {"amount_paid": 4900, "currency": "usd"})
        original += hub.quiet() - started
        before = hub.snapshot()
        window = {"from": (hour_start - timedelta(minutes=1)).isoformat(), "to": datetime.now(UTC).isoformat()}
        say("replay: replaying the hour")
        started = time.perf_counter()
        answer = hub.http.post(f"{hub.url}/_local/replays", json=window, timeout=30)
        if answer.status_code != 202:
            raise AssertionError(f"the replay answered {answer.status_code}: {answer.text[:300]}")
        name = answer.json()["name"]
        while (replay := hub.http.get(f"{hub.url}/_local/replays/{name}", timeout=10).json())["state"] in (
            "STARTING",
            "RUNNING",
        ):
            time.sleep(POLL_SECONDS)
        if replay["state"] != "COMPLETED":
            raise AssertionError(f"the replay ended {replay['state']}: {replay.get('state_reason')}")
        replayed = hub.quiet() - started
        after = hub.snapshot()
        changed = _changes(before, after)
        for (table, key), (was, now) in sorted(changed.items())[:5]:  # the consumer at fault: said where it shows
            say(f"replay changed {table} {key}: {was[:300]} -> {now[:300]}")
        kinds = Counter(
            f"{table.removeprefix('revops-local-')} {_kind(was, now)}" for (table, _), (was, now) in changed.items()
        )
        total = int(replay["events_total"])
        return [
            (
                "replay",
                f"an hour: {len(messages)} Segment messages, {REPLAY_STRIPE_DELIVERIES} Stripe customers and their "
                "payments, processed until quiet (baseline)",
                f"{original:.1f} s",
                "1.00",
            ),
            (
                "replay",
                f"replay of that hour ({total} archived events, {replay['deliveries']} rule deliveries) until quiet",
                f"{replayed:.1f} s",
                f"{replayed / original:.2f}; failed {replay['failed']}",
            ),
            ("replay", "events replayed per second", f"{total / replayed:.0f} /s", ""),
            (
                "replay",
                f"items changed by the replay, of {len(after):,} in every table",
                str(len(changed)),
                f"expected 0{mark(not changed)}"
                + (f"; {', '.join(f'{n} {k}' for k, n in kinds.most_common())}" if kinds else ""),
            ),
        ]


def _changes(
    before: dict[tuple[str, str], str], after: dict[tuple[str, str], str]
) -> dict[tuple[str, str], tuple[str, str]]:
    """(table, key) -> (before, after) of every item that differs ("" where there was none)."""
    return {
        key: (before.get(key, ""), after.get(key, ""))
        for key in before.keys() | after.keys()
        if before.get(key) != after.get(key)
    }


def _kind(was: str, now: str) -> str:
    return "new" if not was else "gone" if not now else "changed"
