"""The attribution store in DynamoDB (table `attribution`; item layout in `dynamodb_attribution_keys.py`).

Deals: `save_deal` is one conditional PutItem: on `attribute_not_exists(pk)` for a deal read at version 0 (new),
on `version = <the version read>` otherwise; the deal is written at version + 1. A failed condition is
`StaleDeal` naming the version found.

`record(conversion)` is one TransactWriteItems:

- a Put of the `CONVERSION` item on condition `attribute_not_exists(pk)` (the id is new);
- for each campaign (`NO_CAMPAIGN` for touches without one) and each channel its touches name, an Update of
  the month's totals item: `ADD revenue_<model> :r, deals_<model> :d` (each of the eight models: the sum of
  the credits and deal units of the conversion's touches there), `touches :t` (its touches there),
  `conversions :c` (1). ADD starts a missing number at 0, so the first conversion of a month creates it;
- an Update of the month's `ALL`: `ADD revenue, conversions, influenced_revenue, influenced_conversions` (the
  influenced figures 0 unless a touch carries a campaign).

A conversion that touches more campaigns + channels than fit beside it and `ALL` in one transaction (100
items: 98) is a ValueError, and one whose item passes DynamoDB's 400 KB (a journey of several hundred
touches) is `TooLarge`, both before any call. The transaction cancelled by the conversion's condition is
`False`: it exists, nothing was written (whatever else the cancellation says). Cancelled by a transaction
conflict only (DynamoDB cancels a transaction touching an item another transaction is writing: concurrent
conversions of one month and campaign), it is tried again, `RECORD_ATTEMPTS` times in all with a short
backoff, then `RecordConflict` (a transient failure: the caller's message is retried). Every other error
propagates.

`replace_data_driven` is one TransactWriteItems: an Update of the conversion setting `data_driven` (the
data-driven credits and deal units, one per touch), `fit_id` and `digest`, on condition that the stored
conversion is still the one read (`digest = <the digest of the conversion read>`: its fit, its touches,
everything; a reattribution may have replaced it with other touches under the same fit), plus an `ADD
revenue_data_driven, deals_data_driven` of the difference (new - old) on each campaign and channel whose
figures move. A failed condition (or a transaction conflict) is `StaleCredits`, nothing written, saying what
differs (the conversion does not exist, its touch count, its fit, or it was replaced otherwise).

`replace_conversion(old, new)` (a reattribution) is one TransactWriteItems: a Put of the new `CONVERSION` item
on condition `digest = <the digest of old>` (the stored conversion is still `old`, attribute for attribute;
a conversion that does not exist fails it too), plus an `ADD` of the difference (new - old, every figure) on
each of the month's campaign and channel totals items and its `ALL` that moves (items whose differences are
all zero are not written; a campaign no longer credited gets negative figures, down to 0). A failed condition
is `False`, nothing written; transaction conflicts are tried again as for `record`, then `RecordConflict`. A
`new` whose item is the same as `old`'s (the digests are equal) writes nothing and is `True` without any call
(whether `old` is still stored is then not checked). The conversion and the totals items it moves must fit
one transaction (100 items): a ValueError before any call otherwise. `record` writes the digest too, so every
conversion item carries it (the digest is the condition; nothing is added to the port).

Pipeline: `set_pipeline` reads the deal's contribution (a strongly consistent GetItem), refuses a version
other than the one found (`StaleDeal`, nothing written), computes what each campaign's pipeline moves by from
the contribution read to the new one (`pipeline.difference`), and writes one TransactWriteItems: a Put of the
new contribution at version + 1 (or a Delete, for None) on condition that the item is the one read
(`attribute_not_exists(pk)` for version 0, else `version` and `written` as read: a contribution removed and
set again up to the same version is another one), an `ADD pipeline_<model>` of the difference on each
campaign whose pipeline moves, and of their sum (campaigns but `NO_CAMPAIGN`) on `TOTAL` when it moves. So
the campaigns' pipeline always equals the sum of the stored contributions. A failed condition is `StaleDeal`
(the contribution moved after the read); a None over nothing (version 0) writes nothing (one GetItem). A
contribution of more than 98 campaigns is a ValueError before any call; a replacement whose difference spans
more items than one transaction holds is one after the read, before any write.

`pipelines` (a reattribution's read) is a strongly consistent Scan of the whole table filtered on the
contributions (`sk = PIPELINE`, `pk` beginning `PIPELINE#`), page after page: the contributions have no index,
and a reattribution is a rare operator action (as an erasure's scan is).

Funnel: `record_stage_entry` is one TransactWriteItems: a Put of the entry's `FUNNEL_EVENT` marker on
condition `attribute_not_exists(pk)`, an `ADD entered, seconds_in_previous, timed` on the month's stage
item, an `ADD entered` on the month's campaign-stage item. Cancelled by the marker's condition: `False`,
nothing written. Transaction conflicts (both `record` and `record_stage_entry` add to items every writer of
the month shares; `set_pipeline` to its campaigns and `TOTAL`) are tried again, `RECORD_ATTEMPTS` in all,
then `RecordConflict`. `stage_entries` (a reattribution's read) is a strongly consistent Scan of the whole table
filtered on the markers of the months asked for (`sk = FUNNEL_EVENT AND period IN (...)`, 99 months a scan).
`move_stage_entry` is one TransactWriteItems: an Update of the marker setting `campaign_id`, on condition that it
still names the campaign, stage and month read, an `ADD entered -1` on the month's old campaign-stage item and
`+1` on the new one's; a failed condition is `False`, nothing written (conflicts tried again as above).

Reads: deals, conversions, fits, a deal's contribution and the campaign and total pipeline are strongly
consistent GetItems; a campaign's months, the months' `ALL`, the months' stages (6 a month) and a campaign's
months' stages are strongly consistent BatchGetItems (100 keys a call, unprocessed keys asked again with
backoff); a month's campaigns or channels are a strongly consistent Query of the month's partition by sort
key prefix, following every page. `conversions` reads the by-period index (eventually consistent, as every
GSI): a month's conversions by `converted_at`, then id; a cursor holds the last `conversion_sort` returned
and its month. `conversion_outlines` is the same Query with a ProjectionExpression of the outline's attributes
(`OUTLINE_ATTRIBUTES`: the touches counted by their `data_driven` maps, ~85 bytes a touch, the touches themselves
not read), so a settings comparison receives about a tenth of each item. The read costs the same capacity
(DynamoDB charges a read by the whole item's size); what it saves is the bytes sent and parsed.

Fits: `save_fit` puts the fit's own item (`<period>#<fitted_at>`, last writer wins: the same fit), then a copy
as `LATEST` on condition that there is none or its `fitted_at` is not later (a fit saved after a later-fitted
one is kept, and not made the latest; two fits of the same instant: the last saved). Two calls: a failure
between them leaves the fit kept, not latest; saving it again completes it.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb_attribution_checks import (
    check_size,
    checked_conversion,
    checked_deal,
    checked_fit,
    checked_pipeline,
    checked_stage_entry,
    data_driven_replaced,
)
from shared.adapters.dynamodb_attribution_conversions import (
    DIGEST,
    OUTLINE_ATTRIBUTES,
    conversion_digest,
    conversion_from,
    conversion_item,
    conversion_outline_from,
    data_driven_attributes,
)
from shared.adapters.dynamodb_attribution_cursor import ConversionPosition, check_cursor, encode_cursor
from shared.adapters.dynamodb_attribution_deals import (
    deal_from,
    deal_item,
    pipeline_attributes,
    pipeline_changes,
    pipeline_figures,
    pipeline_from,
    pipeline_item,
)
from shared.adapters.dynamodb_attribution_fits import fit_from, fit_item
from shared.adapters.dynamodb_attribution_funnel import (
    stage_counts_attributes,
    stage_counts_from,
    stage_entry_counts,
    stage_entry_from,
    stage_entry_marker,
)
from shared.adapters.dynamodb_attribution_keys import (
    ALL,
    CAMPAIGN,
    CHANNEL,
    CONVERSION,
    DEAL,
    FIT,
    FUNNEL_EVENT,
    LATEST,
    PIPELINE,
    TOTAL,
    campaign_sk,
    campaign_stage_sk,
    conversion_pk,
    deal_pk,
    fit_sk,
    funnel_event_pk,
    funnel_pk,
    month_of,
    month_text,
    month_texts,
    pipeline_pk,
    stage_sk,
    totals_pk,
)
from shared.adapters.dynamodb_attribution_totals import (
    DEALS,
    REVENUE,
    checked_replacement,
    conversion_totals,
    data_driven_deltas,
    overall_added,
    overall_attributes,
    overall_from,
    totals_attributes,
    totals_from,
)
from shared.adapters.dynamodb_items import (
    ConditionalWrite,
    VersionConflict,
    key,
    plain,
    put_at_version,
    serialize,
    stale_version,
    transact,
    version_condition,
)
from shared.adapters.dynamodb_reads import batch_get, get_item, partition_items, query_pages
from shared.attribution.deals import Deal
from shared.attribution.funnel_counts import FUNNEL_STAGES, StageCounts, StageEntry, summed_by_stage
from shared.attribution.journeys import Credit, Model
from shared.attribution.ports import (
    ConversionPage,
    DealPipeline,
    OutlinePage,
    Overall,
    StaleCredits,
    StaleDeal,
    StoredConversion,
    StoredFit,
    Totals,
)
from shared.errors import InvalidInput

BY_PERIOD = "by-period"
RECORD_ATTEMPTS = 4


MAX_DEALS_SAVED = 25  # save_deals: far below a transaction's 100 items


class RecordConflict(Exception):
    """A transaction (a conversion's, a stage entry's, a deal's pipeline) was cancelled by concurrent
    transactions on the totals it adds to every time it was tried: nothing was written; a transient failure,
    to be retried later."""


class _Cancelled(Exception):
    pass


class DynamoDbAttributionStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # ----------------------------------------------------------------------------------------------- deals

    def deal(self, deal_id: str) -> Deal | None:
        item = self._get(deal_pk(deal_id), DEAL)
        return None if item is None else deal_from(item)

    def save_deal(self, deal: Deal) -> Deal:
        checked = checked_deal(deal)
        expected = checked.version
        stored = replace(checked, version=expected + 1)
        item = deal_item(stored, stored.version)
        what = f"deal {deal.deal_id}"
        check_size(item, what)
        try:
            put_at_version(self._client, self._table, item, expected)
        except VersionConflict as conflict:
            raise StaleDeal(_stale_deal(what, expected, conflict.found)) from None
        return stored

    def save_deals(self, deals: Sequence[Deal]) -> list[Deal]:
        checked = [checked_deal(deal) for deal in deals]
        if len({deal.deal_id for deal in checked}) != len(checked) or not 0 < len(checked) <= MAX_DEALS_SAVED:
            raise ValueError(
                f"save_deals takes 1 to {MAX_DEALS_SAVED} distinct deals, not {[d.deal_id for d in deals]}"
            )
        stored = [replace(deal, version=deal.version + 1) for deal in checked]
        refusals: list[str] = []
        writes = []
        for before, after in zip(checked, stored, strict=True):
            what = f"deal {after.deal_id}"
            item = deal_item(after, after.version)
            check_size(item, what)

            def refused(old: dict[str, Any] | None, what: str = what, expected: int = before.version) -> str:
                refusals.append(_stale_deal(what, expected, old))
                return refusals[-1]

            put = {
                "TableName": self._table,
                "Item": serialize(item),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                **version_condition(before.version),
            }
            writes.append(ConditionalWrite({"Put": put}, what, refused))
        if not self._write(writes, refusals):
            raise StaleDeal("; ".join(refusals))
        return stored

    # ----------------------------------------------------------------------------------------- conversions

    def conversion(self, conversion_id: str) -> StoredConversion | None:
        item = self._get(conversion_pk(conversion_id), CONVERSION)
        return None if item is None else conversion_from(item)

    def record(self, conversion: StoredConversion) -> bool:
        checked = checked_conversion(conversion)
        what = f"conversion {checked.conversion_id}"
        item = conversion_item(checked)
        check_size(item, what)
        refusals: list[str] = []

        def refused(old: dict[str, Any] | None) -> str:
            refusals.append(f"{what} exists already (recorded at {(old or {}).get('recorded_at')})")
            return refusals[-1]

        put = {
            "TableName": self._table,
            "Item": serialize(item),
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        month = month_of(checked.converted_at)
        writes = [ConditionalWrite({"Put": put}, what, refused)]
        writes += [self._add_totals(month, sk, totals) for sk, totals in conversion_totals(checked).items()]
        writes.append(self._add(totals_pk(month), ALL, overall_attributes(overall_added(checked))))
        return self._write(writes, refusals)

    def _write(self, writes: list[ConditionalWrite], refusals: list[str]) -> bool:
        """The transaction: True when written; False when cancelled by a condition (whose `refused` appends to
        `refusals`, cleared first); tried again when cancelled by transaction conflicts only, `RECORD_ATTEMPTS`
        times in all, then RecordConflict."""
        attempt = 1
        while True:
            refusals.clear()
            try:
                transact(self._client, writes, _Cancelled)
                return True
            except _Cancelled as cancelled:
                if refusals:
                    return False
                if attempt >= RECORD_ATTEMPTS:
                    raise RecordConflict(f"{cancelled} ({attempt} attempts)") from None
            time.sleep(0.02 * 2**attempt)
            attempt += 1

    def _add_totals(self, month: str, sk: str, totals: Totals) -> ConditionalWrite:
        return self._add(totals_pk(month), sk, totals_attributes(totals))

    def _add(self, pk: str, sk: str, deltas: Mapping[str, int]) -> ConditionalWrite:
        """An Update adding each delta to its attribute (ADD starts a missing item and number at 0)."""
        names = {f"#a{n}": name for n, name in enumerate(deltas)}
        values = {f":a{n}": value for n, value in enumerate(deltas.values())}
        update = {
            "TableName": self._table,
            "Key": key(pk, sk),
            "UpdateExpression": "ADD " + ", ".join(f"#a{n} :a{n}" for n in range(len(deltas))),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": serialize(values),
        }
        kind, _, rest = pk.partition("#")
        what = " ".join(part for part in (kind.lower(), rest, sk) if part)  # e.g. "totals 2026-11 CAMPAIGN#c1"
        return ConditionalWrite({"Update": update}, what, lambda _: f"{what} refused its update")

    def conversions(self, period: str, limit: int = 100, cursor: str | None = None) -> ConversionPage:
        items, next_cursor = self._listing(period, limit, cursor, None)
        return ConversionPage([conversion_from(item) for item in items], next_cursor)

    def conversion_outlines(self, period: str, limit: int = 100, cursor: str | None = None) -> OutlinePage:
        items, next_cursor = self._listing(period, limit, cursor, OUTLINE_ATTRIBUTES)
        return OutlinePage([conversion_outline_from(item) for item in items], next_cursor)

    def _listing(
        self, period: str, limit: int, cursor: str | None, attributes: Sequence[str] | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the month's conversion items (only `attributes` of each, when given: a ProjectionExpression)
        and the cursor after it. Asks for one conversion more than the page, so the cursor is None exactly when
        nothing follows."""
        if limit < 1:
            raise InvalidInput("limit must be at least 1")
        month = month_text(period)
        names = {"#period": "conversion_period"}
        values: dict[str, Any] = {":period": month}
        condition = "#period = :period"
        if cursor is not None:
            names["#sort"], values[":after"] = "conversion_sort", check_cursor(cursor, month)
            condition += " AND #sort > :after"
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": BY_PERIOD,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": serialize(values),
            "ScanIndexForward": True,
            "Limit": limit + 1,
        }
        if attributes is not None:
            projected = {f"#p{n}": name for n, name in enumerate(attributes)}
            names.update(projected)
            request["ProjectionExpression"] = ", ".join(projected)
        items = list(itertools.islice(query_pages(self._client, request), limit + 1))
        page = items[:limit]
        next_cursor = None
        if len(items) > limit:
            next_cursor = encode_cursor(ConversionPosition(str(page[-1]["conversion_sort"]), month))
        return page, next_cursor

    def replace_data_driven(
        self, conversion: StoredConversion, credits: Sequence[Credit], deal_units: Sequence[int], fit_id: str
    ) -> StoredConversion:
        new = data_driven_replaced(conversion, credits, deal_units, fit_id)
        old = checked_conversion(conversion)
        what = f"conversion {old.conversion_id}"
        check_size(conversion_item(new), what)
        names = {"#data_driven": "data_driven", "#fit": "fit_id", "#digest": DIGEST}
        values: dict[str, Any] = {
            ":data_driven": data_driven_attributes(new)["data_driven"],
            ":fit": fit_id,
            ":digest": conversion_digest(new),
            ":read": conversion_digest(old),
        }
        update = {
            "TableName": self._table,
            "Key": key(conversion_pk(old.conversion_id), CONVERSION),
            "UpdateExpression": "SET #data_driven = :data_driven, #fit = :fit, #digest = :digest",
            "ConditionExpression": "#digest = :read",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": serialize(values),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

        def refused(stored: dict[str, Any] | None) -> str:
            if stored is None:
                return f"{what} does not exist"
            if len(stored.get("touches", [])) != len(old.touches):
                return f"{what} has {len(stored.get('touches', []))} touches, not {len(old.touches)} as read"
            if stored.get("fit_id") != old.fit_id:
                return (
                    f"{what}'s data-driven credits were computed with fit {stored.get('fit_id')}, "
                    f"not {old.fit_id} as read"
                )
            return f"{what} was replaced since it was read (recorded at {stored.get('recorded_at')})"

        month = month_of(old.converted_at)
        writes = [ConditionalWrite({"Update": update}, what, refused)]
        for sk, (revenue, deals) in data_driven_deltas(old, new).items():
            model = Model.DATA_DRIVEN.value
            writes.append(self._add(totals_pk(month), sk, {f"{REVENUE}{model}": revenue, f"{DEALS}{model}": deals}))
        transact(self._client, writes, StaleCredits)
        return new

    def replace_conversion(self, old: StoredConversion, new: StoredConversion) -> bool:
        change = checked_replacement(old, new)
        if change.unchanged:
            return True
        what = f"conversion {change.new.conversion_id}"
        item = conversion_item(change.new)
        check_size(item, what)
        refusals: list[str] = []

        def refused(stored: dict[str, Any] | None) -> str:
            if stored is None:
                refusals.append(f"{what} does not exist")
            else:
                refusals.append(f"{what} was replaced since it was read (recorded at {stored.get('recorded_at')})")
            return refusals[-1]

        put = {
            "TableName": self._table,
            "Item": serialize(item),
            "ConditionExpression": "#digest = :read",
            "ExpressionAttributeNames": {"#digest": DIGEST},
            "ExpressionAttributeValues": serialize({":read": conversion_digest(change.old)}),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        writes = [ConditionalWrite({"Put": put}, what, refused)]
        writes += [self._add(pk, sk, deltas) for (pk, sk), deltas in change.moves.items()]
        return self._write(writes, refusals)

    # ---------------------------------------------------------------------------------------------- totals

    def campaign_totals(self, campaign_id: str, periods: Sequence[str]) -> dict[str, Totals]:
        months = month_texts(periods)
        found = self._batch_get([(totals_pk(month), campaign_sk(campaign_id)) for month in months], "totals")
        return {month: totals_from(item) for month, item in zip(months, found, strict=True) if item is not None}

    def channel_totals(self, period: str) -> dict[str, Totals]:
        return self._totals(period, CHANNEL)

    def campaigns_totals(self, period: str) -> dict[str, Totals]:
        return self._totals(period, CAMPAIGN)

    def _totals(self, period: str, prefix: str) -> dict[str, Totals]:
        items = partition_items(self._client, self._table, totals_pk(month_text(period)), prefix)
        return {str(item["sk"]).removeprefix(prefix): totals_from(item) for item in items}

    # ------------------------------------------------------------------------------------------------ fits

    def latest_fit(self) -> StoredFit | None:
        item = self._get(FIT, LATEST)
        return None if item is None else fit_from(item)

    def save_fit(self, fit: StoredFit) -> None:
        checked = checked_fit(fit)
        own = fit_item(checked, fit_sk(checked))
        check_size(fit_item(checked, LATEST), f"fit {checked.fit_id}")
        self._client.put_item(TableName=self._table, Item=serialize(own))
        try:
            self._client.put_item(
                TableName=self._table,
                Item=serialize(fit_item(checked, LATEST)),
                ConditionExpression="attribute_not_exists(pk) OR #fitted_at <= :fitted_at",
                ExpressionAttributeNames={"#fitted_at": "fitted_at"},
                ExpressionAttributeValues=serialize({":fitted_at": own["fitted_at"]}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise  # a later-fitted one is the latest: this one stays kept, not latest

    # -------------------------------------------------------------------------------------------- pipeline

    def deal_pipeline(self, deal_id: str) -> DealPipeline | None:
        item = self._get(pipeline_pk(deal_id), PIPELINE)
        return None if item is None else pipeline_from(item)

    def set_pipeline(self, deal_id: str, credits: Mapping[str, Mapping[Model, int]] | None, version: int) -> None:
        new = checked_pipeline(deal_id, credits, version)
        what = f"pipeline of deal {deal_id}"
        stored = self._get(pipeline_pk(deal_id), PIPELINE)
        found = None if stored is None else int(stored["version"])
        if (found or 0) != version:
            raise StaleDeal(stale_version(what, version, found))
        if stored is None and new is None:
            return  # nothing to remove
        changes = pipeline_changes(deal_id, new, None if stored is None else pipeline_from(stored).credits)
        refusals: list[str] = []

        def refused(now: dict[str, Any] | None) -> str:
            if now is not None and found is not None and int(now["version"]) == found:
                refusals.append(f"{what} was removed and set again since it was read at version {version}")
            else:
                refusals.append(stale_version(what, version, None if now is None else int(now["version"])))
            return refusals[-1]

        request: dict[str, Any] = {
            "TableName": self._table,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if stored is None:
            request["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            request["ConditionExpression"] = "#version = :version AND #written = :written"
            request["ExpressionAttributeNames"] = {"#version": "version", "#written": "written"}
            request["ExpressionAttributeValues"] = serialize({":version": version, ":written": stored["written"]})
        if new is None:
            own = {"Delete": {**request, "Key": key(pipeline_pk(deal_id), PIPELINE)}}
        else:
            item = pipeline_item(deal_id, new, version + 1, uuid.uuid4().hex)
            check_size(item, what)
            own = {"Put": {**request, "Item": serialize(item)}}
        writes = [ConditionalWrite(own, what, refused)]
        for campaign, delta in changes.campaigns.items():
            writes.append(self._add(PIPELINE, campaign_sk(campaign), pipeline_attributes(delta)))
        if changes.total:
            writes.append(self._add(PIPELINE, TOTAL, pipeline_attributes(changes.total)))
        if not self._write(writes, refusals):
            raise StaleDeal(refusals[0])

    def campaign_pipeline(self, campaign_id: str) -> dict[Model, int]:
        return pipeline_figures(self._get(PIPELINE, campaign_sk(campaign_id)))

    def pipelines(self) -> Iterator[DealPipeline]:
        found = self._scan(
            "sk = :pipeline AND begins_with(pk, :deal)", {":pipeline": PIPELINE, ":deal": f"{PIPELINE}#"}
        )
        return (pipeline_from(item) for item in found)

    def total_pipeline(self) -> dict[Model, int]:
        return pipeline_figures(self._get(PIPELINE, TOTAL))

    # ---------------------------------------------------------------------------------------------- funnel

    def record_stage_entry(self, entry: StageEntry) -> bool:
        checked = checked_stage_entry(entry)
        what = f"stage entry {checked.event_id}"
        refusals: list[str] = []

        def refused(old: dict[str, Any] | None) -> str:
            refusals.append(f"{what} was counted before (a {(old or {}).get('stage')} entry)")
            return refusals[-1]

        put = {
            "TableName": self._table,
            "Item": serialize(stage_entry_marker(checked)),
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        month = funnel_pk(month_of(checked.at))
        writes = [
            ConditionalWrite({"Put": put}, what, refused),
            self._add(month, stage_sk(checked.stage), stage_counts_attributes(stage_entry_counts(checked))),
            self._add(month, campaign_stage_sk(checked.campaign_id, checked.stage), {"entered": 1}),
        ]
        return self._write(writes, refusals)

    def stage_entries(self, periods: Sequence[str]) -> Iterator[StageEntry]:
        months = month_texts(periods)
        return (stage_entry_from(item) for chunk in _chunks(months, 99) for item in self._markers(chunk))

    def _markers(self, months: Sequence[str]) -> Iterator[dict[str, Any]]:
        """The counted entries' markers of these months (at most 99: an IN names 100 operands)."""
        values: dict[str, Any] = {":marker": FUNNEL_EVENT}
        values.update({f":m{n}": month for n, month in enumerate(months)})
        listed = ", ".join(f":m{n}" for n in range(len(months)))
        return self._scan(f"sk = :marker AND #period IN ({listed})", values, {"#period": "period"})

    def move_stage_entry(self, entry: StageEntry, campaign_id: str) -> bool:
        read = checked_stage_entry(entry)
        checked_stage_entry(replace(read, campaign_id=campaign_id))
        if campaign_id == read.campaign_id:
            return True
        what = f"stage entry {read.event_id}"
        refusals: list[str] = []

        def refused(old: dict[str, Any] | None) -> str:
            if old is None:
                refusals.append(f"{what} was never counted")
            else:
                refusals.append(f"{what} counts for campaign {old.get('campaign_id')} now, not {read.campaign_id}")
            return refusals[-1]

        month = month_of(read.at)
        update = {
            "TableName": self._table,
            "Key": key(funnel_event_pk(read.event_id), FUNNEL_EVENT),
            "UpdateExpression": "SET #campaign = :new",
            "ConditionExpression": "#campaign = :old AND #stage = :stage AND #period = :period",
            "ExpressionAttributeNames": {"#campaign": "campaign_id", "#stage": "stage", "#period": "period"},
            "ExpressionAttributeValues": serialize(
                {":new": campaign_id, ":old": read.campaign_id, ":stage": read.stage, ":period": month}
            ),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        writes = [
            ConditionalWrite({"Update": update}, what, refused),
            self._add(funnel_pk(month), campaign_stage_sk(read.campaign_id, read.stage), {"entered": -1}),
            self._add(funnel_pk(month), campaign_stage_sk(campaign_id, read.stage), {"entered": 1}),
        ]
        return self._write(writes, refusals)

    def funnel(self, periods: Sequence[str]) -> dict[str, StageCounts]:
        return summed_by_stage(self.monthly_funnel(periods).values())

    def monthly_funnel(self, periods: Sequence[str]) -> dict[str, dict[str, StageCounts]]:
        months = month_texts(periods)
        keys = [(funnel_pk(month), stage_sk(stage)) for month in months for stage in FUNNEL_STAGES]
        found = self._batch_get(keys, "funnel")
        by_month: dict[str, dict[str, StageCounts]] = {}
        for n, month in enumerate(months):
            items = found[n * len(FUNNEL_STAGES) : (n + 1) * len(FUNNEL_STAGES)]
            if any(item is not None for item in items):
                by_month[month] = {
                    stage: StageCounts() if item is None else stage_counts_from(item)
                    for stage, item in zip(FUNNEL_STAGES, items, strict=True)
                }
        return by_month

    def campaign_funnel(self, campaign_id: str, periods: Sequence[str]) -> dict[str, int]:
        months = month_texts(periods)
        keys = [
            (funnel_pk(month), campaign_stage_sk(campaign_id, stage)) for month in months for stage in FUNNEL_STAGES
        ]
        entered = dict.fromkeys(FUNNEL_STAGES, 0)
        for n, item in enumerate(self._batch_get(keys, "funnel")):
            if item is not None:
                entered[FUNNEL_STAGES[n % len(FUNNEL_STAGES)]] += int(item.get("entered", 0))
        return entered

    def overall(self, periods: Sequence[str]) -> dict[str, Overall]:
        months = month_texts(periods)
        found = self._batch_get([(totals_pk(month), ALL) for month in months], "overall")
        return {month: overall_from(item) for month, item in zip(months, found, strict=True) if item is not None}

    # ----------------------------------------------------------------------------------------------- reads

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        return get_item(self._client, self._table, pk, sk)

    def _scan(self, condition: str, values: dict[str, Any], names: dict[str, str] | None = None) -> Iterator[dict]:
        """Every item of the table meeting `condition`, a strongly consistent Scan a page at a time (a
        reattribution's read: it reads the whole table, and returns what meets the filter)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": condition,
            "ExpressionAttributeValues": serialize(values),
            "ConsistentRead": True,
        }
        if names:
            request["ExpressionAttributeNames"] = names
        while True:
            response = self._client.scan(**request)
            yield from (plain(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _batch_get(self, keys: Sequence[tuple[str, str]], what: str) -> list[dict[str, Any] | None]:
        """The item of each of these (distinct) (pk, sk) keys, in their order (None: absent)."""
        index = {pair: n for n, pair in enumerate(keys)}
        found: list[dict[str, Any] | None] = [None] * len(keys)
        for item in batch_get(self._client, self._table, [key(pk, sk) for pk, sk in keys], f"{what} keys", time.sleep):
            found[index[str(item["pk"]), str(item["sk"])]] = item
        return found


def _chunks(values: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _stale_deal(what: str, expected: int, old: dict[str, Any] | None) -> str:
    return stale_version(what, expected, None if old is None else int(old["version"]))
