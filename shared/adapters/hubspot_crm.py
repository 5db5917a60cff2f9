"""`CrmClient` over HubSpot's CRM API with the official SDK (`hubspot-api-client`): contacts, companies and deals
(the hub's contact, account and deal), and the tasks or deals the hub makes of expansion signals (the object the
write names), through the v3 objects batch endpoints; links inline on a create when HubSpot defines their type (a
task is created with its company), else through v4 default associations.

Calls, for one `write`: per kind, records with a CRM id are updated (`batch/update`); contacts matched on their
email are upserted by it (`batch/upsert`, `idProperty=email`: created when new, `created` says so); other records
matched on a property are looked up by a search (`IN`, one per 100 values) and updated, or created
(`batch/create`); records with neither are created. A write that may have been created before with other values
(`match_also`: a create whose answer was lost) is looked up by all of them first, a contact too (then upserted by
its email when none is found). At most 100 inputs a call, never one id twice in a call
(a later write to the same record goes in a later call). Links follow (`batch/associate/default`, per pair of
kinds; a contact's company as its primary one, `batch/create` type 1), then the links a write moves away from
are removed (`batch/archive`).

Every input carries an `objectWriteTraceId` (the write's position), HubSpot's opt-in for multi-status answers:
a 207 names the refused inputs and the others are applied; each refused write fails alone (`retryable` False,
unless HubSpot's category is a transient one), and a write HubSpot's answer says nothing of fails retryable. A
whole call refused for one input's values (a 400 naming the property, or the value) fails the writes it names
and sends the others again; one that names none is split in halves until the refused writes stand alone.

Errors of a whole call: 429 -> `RateLimited` (`Retry-After`, else HubSpot's policy: 10 s for its ten-second
window, an hour for the daily one); 5xx, no answer, a timeout -> `CrmUnavailable`; 401/403 -> `CrmRefused`.
They are raised only while nothing of the `write` is applied yet; after that, the writes not done are
returned failed (retryable, but for `CrmRefused`), so a caller never writes twice what was applied.

No retries in the SDK (urllib3 `Retry(total=0)`): a Lambda never sleeps through a `Retry-After`, the caller's
retries decide. Every call has a timeout. `api_url` points every API module the adapter uses (the SDK makes a
`Configuration` per module, from the same settings) at another host: locally the hub's stand-in.

The parts, each a module of its own: how a write goes in calls (`hubspot_crm_plan.py`), one batch call and its
answer (`hubspot_crm_batches.py`), which writes HubSpot's errors name (`hubspot_crm_refusals.py`), the links
(`hubspot_crm_associations.py`), reads and searches (`hubspot_crm_reads.py`), the SDK's exceptions as the
port's errors (`hubspot_crm_errors.py`) and the records' values both ways (`hubspot_crm_values.py`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hubspot import HubSpot
from hubspot.crm.contacts import PublicGdprDeleteInput
from urllib3.util.retry import Retry

from shared.adapters.hubspot_crm_associations import associate, dissociate
from shared.adapters.hubspot_crm_batches import BatchSender
from shared.adapters.hubspot_crm_errors import HubSpotError, call_api
from shared.adapters.hubspot_crm_plan import WriteRun, again, fail_rest, grouped, one_per_key, plan
from shared.adapters.hubspot_crm_reads import changed_snapshots, find_ids, read_snapshots
from shared.adapters.hubspot_crm_values import MAX_BATCH, chunks, object_type_of
from shared.crm.ports import (
    CrmName,
    CrmRefused,
    CrmSnapshot,
    CrmUnavailable,
    ObjectKind,
    OutboundWrite,
    RateLimited,
    WriteResult,
)

DEFAULT_TIMEOUT = (3.05, 10.0)  # seconds: to connect, to read
# One attempt per call: no retry on a failed connection, a read timeout, a redirect, nor a 429/503's Retry-After
# (urllib3's default retries GETs after sleeping through it).
NO_RETRY = Retry(
    total=0,
    connect=0,
    read=0,
    redirect=0,
    status=0,
    other=0,
    respect_retry_after_header=False,
    raise_on_redirect=False,
    raise_on_status=False,
)


def hubspot_crm(
    access_token: str, api_url: str | None = None, timeout: tuple[float, float] = DEFAULT_TIMEOUT
) -> HubSpotCrm:
    """The adapter with a private app's access token. `api_url` None is HubSpot itself (api.hubapi.com);
    locally it is the hub's stand-in, `http://127.0.0.1:<port>/_local/crm/hubspot`."""
    settings: dict[str, Any] = {"access_token": access_token, "retry": NO_RETRY}
    if api_url:
        # The SDK sets each of these on the Configuration of every API module it builds (`host` included).
        settings["host"] = api_url.rstrip("/")
    return HubSpotCrm(HubSpot(**settings), timeout)


class HubSpotCrm:
    name: CrmName = "hubspot"
    max_batch: int = MAX_BATCH

    def __init__(self, client: HubSpot, timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        # Built once: each API object holds its connection pool, kept across a warm Lambda's invocations.
        self._objects = client.crm.objects.batch_api
        self._search = client.crm.objects.search_api
        self._associations = client.crm.associations.v4.batch_api
        self._contacts = client.crm.contacts.basic_api  # the GDPR delete
        self._timeout = timeout
        self._batches = BatchSender(self._objects, timeout)

    @property
    def api_clients(self) -> list[Any]:
        """The SDK's API clients this adapter calls through (each with its own Configuration)."""
        return [api.api_client for api in (self._objects, self._search, self._associations, self._contacts)]

    # Erasure -----------------------------------------------------------------------------------------------------

    def erase(self, kind: ObjectKind, crm_ids: Sequence[str]) -> None:
        """Delete the records for good (a person's erasure): a contact by HubSpot's GDPR delete
        (`POST /crm/v3/objects/contacts/gdpr-delete`, which also blocks its email from coming back), one call
        each; a record HubSpot does not have (404) is done. Raises as a whole call does (`call_api`), a refusal
        as `CrmRefused`."""
        if kind != "contact":
            raise CrmRefused(f"HubSpot erasure is for contacts, not {kind}")
        for crm_id in crm_ids:
            purge = PublicGdprDeleteInput(object_id=crm_id)
            try:
                call_api(functools.partial(self._contacts.purge, purge, _request_timeout=self._timeout))
            except HubSpotError as refused:
                if refused.status != 404:
                    raise CrmRefused(refused.describe()) from None

    def find(self, kind: ObjectKind, prop: str, values: Sequence[str]) -> list[str]:
        """The ids of the records of `kind` whose `prop` holds one of the values (a v3 search, `IN`; the oldest
        record of each value): how an erasure finds a record whose create was never answered."""
        wanted = [value for value in dict.fromkeys(values) if value]
        if not wanted:
            return []
        found = find_ids(self._search, self._timeout, object_type_of(kind), prop, wanted)
        return list(dict.fromkeys(found.values()))

    # Writes ------------------------------------------------------------------------------------------------------

    def write(self, writes: Sequence[OutboundWrite]) -> list[WriteResult]:
        run = WriteRun()
        try:
            pending = plan(self._search, self._timeout, run, writes)
            while pending:
                now, later = one_per_key(pending)
                for (object_type, op), items in grouped(now):
                    for chunk in chunks(items, MAX_BATCH):
                        self._batches.send(run, object_type, op, chunk)
                pending = [again(run, item) for item in later]
        except (RateLimited, CrmUnavailable, CrmRefused) as stopped:
            if not run.applied:
                raise
            fail_rest(run, writes, stopped)
        associate(self._associations, self._timeout, run, writes)  # a contact's new company, primary now,
        dissociate(self._associations, self._timeout, run, writes)  # then its old one (the hub's) removed
        return [run.results[position] for position in range(len(writes))]

    # Reads -------------------------------------------------------------------------------------------------------

    def read(self, kind: ObjectKind, crm_ids: Sequence[str], fields: Sequence[str]) -> list[CrmSnapshot]:
        return read_snapshots(self._objects, self._timeout, kind, crm_ids, fields)

    def changed_since(
        self, kind: ObjectKind, since: datetime, fields: Sequence[str], limit: int = 200
    ) -> list[CrmSnapshot]:
        return changed_snapshots(self._search, self._timeout, kind, since, fields, limit)
