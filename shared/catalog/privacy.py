"""Privacy's part of the catalog (issue 15): erasure and export of a person across every domain.

No table of its own: the erasure receipts (under the hash of the email) and a tombstone per erased subject live
in the `leads` table, which every consumer that must drop events about an erased person reads already; see
`shared/adapters/dynamodb_privacy_ledger.py`. Its access patterns there:
- an erasure's receipt: get / put pk=ERASURE_RECEIPT#<salted hash of the email>, sk=RECEIPT (the first conditional:
  not there yet);
- tombstones: batch put pk=ERASURE#<salted hash of a subject key>, sk=TOMBSTONE (erased_at, erasure_id); every
  consumer batch-gets those of an event's subjects before applying it.

One function: an erasure completes within the API's timeout (every
store is reached by key or index, the CRMs through the sync's queue), so it answers synchronously."""

from __future__ import annotations

from shared.catalog.attribution import ATTRIBUTION
from shared.catalog.crm import CHANGES, CRM_SYNC
from shared.catalog.handoffs import HANDOFFS
from shared.catalog.leads import LEADS
from shared.catalog.model import Domain, Function, Group, Route, ThrottleDomain
from shared.catalog.success import SUCCESS
from shared.catalog.webhooks import WEBHOOK_DELIVERIES

ADMINS = frozenset({Group.ADMIN})
PRIVACY_DOMAIN = Domain(
    name="privacy",
    event_source=None,
    functions=(
        Function(
            name="privacy_api",
            description="Erasure and export of a person (an email and its merged identities) across the hub",
            memory_mb=1024,
            timeout_seconds=29,
            routes=(
                Route(
                    method="POST",
                    path="/api/v1/privacy/erasure",
                    operation="erase_person",
                    summary="Erase a person: every table, raw body and CRM record of an email and its identities",
                    description='`{"email"}`. 200 with the receipt `{"erasure_id", "status", "erased": {"<store>": '
                    "<count>}}`; the same request again answers the same erasure and erases only what arrived "
                    "since. Events about the person that happened before are dropped from then on. Groups: admin.",
                    domain=ThrottleDomain.ADMIN,
                    groups=ADMINS,
                    json_body=True,
                    audit_subject="email",  # recorded as its digest, never in clear
                ),
                Route(
                    method="GET",
                    path="/api/v1/privacy/export",
                    operation="export_person",
                    summary="Everything the hub holds about a person (`email`), as one JSON document",
                    description="Profile, engagement, identities, history, handoffs, deals and touches, health "
                    "signals, synced records, raw deliveries, consent. Groups: admin; every read is audited.",
                    domain=ThrottleDomain.ADMIN,
                    groups=ADMINS,
                    audited_read=True,
                    audit_subject="email",  # whose data was shown: recorded as the email's digest
                ),
            ),
            tables={
                WEBHOOK_DELIVERIES.name: "read_write",
                LEADS.name: "read_write",
                HANDOFFS.name: "read_write",
                ATTRIBUTION.name: "read_write",
                SUCCESS.name: "read_write",
                CRM_SYNC.name: "read_write",
            },
            sends_to=(CHANGES.name,),  # erasure notices: the sync's writer deletes the person in each CRM
        ),
    ),
)
