"""Governance, erasure, on the local runtime (`make run`): a person with K Segment events (`/v1/batch`), a lead
capture (an ICP lead who requests a demo: a handoff), a Stripe customer and invoice and a HubSpot change, all about
their email; the export of that person (`GET /api/v1/privacy/export`, reads only: the baseline) and then
`POST /api/v1/privacy/erasure`, each timed (wall); then every attribute of every item of every table of the hub's
embedded DynamoDB (zlib bodies inflated) searched for the email: how many items still hold it (must be 0), beside
how many did before."""

from __future__ import annotations

import statistics
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from benchmarks.governance_hub import TRACKED, Hub, local_hub, post_stripe
from benchmarks.governance_shared import CAPTURE, say
from benchmarks.rows import Row, mark
from benchmarks.segment_messages import segment_message

EXPORT_READS = 5
DEFAULT_ERASURE_EVENTS = 200


def _hubspot_email(hub: Hub, object_id: int, email: str) -> None:
    from local_runtime.example import hubspot_property_change, local_secret

    url = f"{hub.url}/webhooks/hubspot"
    secret, now, uid = local_secret("hubspot"), datetime.now(UTC), uuid.uuid4().hex
    example = hubspot_property_change(url, secret, now, uid, object_id=object_id, value=email, change_source="FORM")
    headers = {**example.headers, "Content-Type": example.content_type}
    answer = hub.http.post(url, data=example.body, headers=headers, timeout=30)
    if answer.status_code != 202:
        raise AssertionError(f"a HubSpot delivery answered {answer.status_code}: {answer.text[:300]}")


def erasure_rows(events: int = DEFAULT_ERASURE_EVENTS) -> list[Row]:
    with local_hub() as hub:
        run = uuid.uuid4().hex[:8]
        email = f"Erin.Castillo.{run}@fjord-{run}.io"  # mixed case: erased and searched case-insensitively
        user, now = f"user-{run}", datetime.now(UTC).replace(microsecond=0)
        say(f"erasure: a person with {events} Segment events, a capture, Stripe and HubSpot deliveries")
        traits = {"email": email, "firstName": "Erin", "lastName": f"Castillo{run}"}
        messages = [
            segment_message("identify", user, now - timedelta(days=6), traits=traits, anonymousId=f"anon-{run}")
        ]
        messages += [
            segment_message("track", user, now - timedelta(days=5, minutes=-n), event=TRACKED[n % len(TRACKED)],
                     properties={"n": n})
            for n in range(events - 1)
        ]  # fmt: skip
        hub.batch(messages)
        profile = {"first_name": "Erin", "last_name": f"Castillo{run}", "company": f"Fjord {run}"}
        icp = {"job_title": "VP of Sales", "industry": "Software", "employee_count": 450, "country": "US"}
        captured = hub.api("POST", CAPTURE, json={"email": email, "source": "web form", **profile, **icp})
        if captured.status_code not in (200, 201):
            raise AssertionError(f"the capture answered {captured.status_code}: {captured.text[:300]}")
        hub.batch([segment_message("track", user, now - timedelta(hours=1), event="Demo Requested")])
        customer = f"cus_{run}"
        post_stripe(hub, "customer.created", {"object": "customer", "id": customer, "email": email, "name": "Fjord"})
        invoice = {"object": "invoice", "id": f"in_{run}", "customer": customer, "customer_email": email}
        post_stripe(hub, "invoice.paid", invoice | {"amount_paid": 4900, "currency": "usd"})
        _hubspot_email(hub, int(run, 16) % 10**9, email)
        hub.quiet()
        exports = []
        for _ in range(EXPORT_READS):
            started = time.perf_counter()
            answer = hub.api("GET", "/api/v1/privacy/export", params={"email": email})
            exports.append(time.perf_counter() - started)
            if answer.status_code != 200 or not answer.json().get("known"):
                raise AssertionError(f"the export answered {answer.status_code}: {answer.text[:300]}")
        export = answer.json()
        before = hub.holding(email)
        say("erasure: erasing")
        started = time.perf_counter()
        erased = hub.api("POST", "/api/v1/privacy/erasure", json={"email": email})
        erasure = time.perf_counter() - started
        if erased.status_code != 200:
            raise AssertionError(f"the erasure answered {erased.status_code}: {erased.text[:300]}")
        receipt = erased.json()
        hub.quiet()  # the CRM deletions, through the sync's queue
        after = hub.holding(email)
        baseline = statistics.median(exports)
        held = ", ".join(
            f"{len(export.get(part) or [])} {part}" for part in ("engagement", "identities", "handoffs", "deliveries")
        )
        stores = {store: count for store, count in receipt["erased"].items() if count}
        for table, where in after:  # what the erasure left: said where it can be read
            say(f"erasure left the email in {table} {where}")
        tables = Counter(table.removeprefix("revops-local-") for table, _ in after)
        return [
            (
                "erasure",
                f"GET /api/v1/privacy/export of the person (baseline, median of {EXPORT_READS}; {held})",
                f"{baseline * 1000:.0f} ms",
                "1.00",
            ),
            (
                "erasure",
                f"POST /api/v1/privacy/erasure, {events} engagement events (wall, one request)",
                f"{erasure * 1000:.0f} ms",
                f"{erasure / baseline:.2f}; {sum(stores.values())} items in {len(stores)} stores",
            ),
            (
                "erasure",
                "items of the hub's tables holding the email, after the erasure",
                str(len(after)),
                f"before: {len(before)} in {len({table for table, _ in before})} tables"
                + mark(not after and bool(before))
                + (f"; left in {', '.join(f'{n} {t}' for t, n in tables.most_common())}" if after else ""),
            ),
        ]
