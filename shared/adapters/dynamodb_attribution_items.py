"""How attribution is laid out in the DynamoDB table `attribution` (access patterns in
`shared/catalog/attribution.py`): keys, items, the encodings of their values, the checks a write passes before
any call, and the listing cursor. The store (`dynamodb_attribution.py`) reads and writes through this; the
in-memory fake (`tests/attribution_fakes.py`) runs the same checks, so both refuse the same writes.

Items, all under `pk` + `sk`:

- `DEAL#<deal_id>` / `DEAL`: a deal: `deal_id`, `first_seen_at`, `status`, `status_at`, `amount_minor` and
  `amount_currency` (absent: no amount yet), `contact_ids` and `emails` (lists), `account_ref` and `won_at`
  (absent when None), `events` and `version`.
- `CONVERSION#<conversion_id>` / `CONVERSION`: a conversion: `conversion_id`, `kind`, `converted_at`,
  `amount_minor` + `amount_currency` (as reported), `company_minor` + `company_currency`, `rate` (a plain
  decimal string), `contact_ids` (a list), `account_id`, `deal_id`, `lead_created_at`,
  `opportunity_created_at` (each absent when None), `settings_version`, `recorded_at`, and:
  - `touches`: one map per touch, in journey order: `touch_id`, `occurred_at`, `channel`, `campaign_id` and
    `content` (absent when None), `roles` (a list, in `Role` order) and `credits`, the touch's figures under
    each of the seven heuristic models: `{model: {"minor": N, "weight": "num/den", "rule": S,
    "deal_units": N}}`;
  - `data_driven`: the data-driven model's figures, one map of the same shape per touch in the same order,
    with `fit_id`, the fit they were computed with (absent: none, linear). They are kept apart from `touches`
    so that the data-driven batch rewrites exactly these two attributes and the digest (one SET, whatever the
    number of touches: an expression naming each touch's path would pass DynamoDB's 4 KB expression limit at
    ~100 touches) and nothing else of the conversion can change.
  - the by-period index keys: `conversion_period=<yyyy-mm of converted_at in UTC>` and
    `conversion_sort=<converted_at>#<conversion_id>` (a month's conversions by time, then id);
  - `digest`: the SHA-256 of every other attribute (canonical JSON), rewritten with every write of the item.
    A replacement (the data-driven batch's, a reattribution's) is conditioned on it: what is stored is still,
    attribute for attribute, the conversion the replacement was computed from.
- `TOTALS#<yyyy-mm>` / `CAMPAIGN#<campaign_id>` and `TOTALS#<yyyy-mm>` / `CHANNEL#<channel>`: what the month's
  conversions credited to a campaign (`(none)`, `NO_CAMPAIGN`, for touches without one) or a channel, as flat
  numbers: `revenue_<model>` (company minor units) and `deals_<model>` (DEAL_UNITS) for each of the eight
  models, `touches` and `conversions`. The id is everything after the prefix (it may hold `#`). An item is
  never deleted: a campaign no conversion credits any more (a reattribution moved its credits away) keeps its
  item, every figure 0.
- `TOTALS#<yyyy-mm>` / `ALL`: the month's conversions in all: `revenue` (company minor units), `conversions`,
  and the part whose journey holds a touch of a campaign, `influenced_revenue` and `influenced_conversions`
  (a conversion without touches counts in all, not as influenced). Kept by `record` and moved by a
  reattribution (`replace_conversion`: the influenced part may change); the data-driven batch does not move it
  (it changes no conversion's amount or campaigns).
- `PIPELINE#<deal_id>` / `PIPELINE`: an open deal's contribution to pipeline: `deal_id`, `credits`
  (`{campaign_id: {model: minor}}`, every model, `(none)` for touches without campaign), `version` (1 when
  first set, + 1 each write) and `written` (a random id each write, so a condition on it tells a contribution
  from one removed and set again up to the same version). Removing the contribution deletes it.
- `PIPELINE` / `CAMPAIGN#<campaign_id>`: a campaign's pipeline now, `pipeline_<model>` for each of the eight
  models (the sum of its credits over the deals' contributions); `PIPELINE` / `TOTAL`: the same summed over
  every campaign but `(none)` (marketing-influenced pipeline), so either is one GetItem.
- `FUNNEL_EVENT#<event_id>` / `FUNNEL_EVENT`: the marker of a counted stage entry (`event_id`, `lead_id`,
  `stage`, `at`, `campaign_id`, `period`, `seconds_in_previous` when known): an entry is counted once.
- `FUNNEL#<yyyy-mm>` / `STAGE#<stage>`: the month's entries into a stage (`entered`) and the time they had
  spent in the stage left (`seconds_in_previous`, summed over the `timed` entries that knew it);
  `FUNNEL#<yyyy-mm>` / `CAMPAIGN#<campaign_id>#<stage>`: the entries the campaign brought (`entered`). Stages
  hold no `#`, so the stage is what follows the last one. The month is the entry's in UTC.
- `FIT` / `<period>#<fitted_at>`: a Markov fit: `fit_id`, `period`, `fitted_at` and `MarkovFit.to_record()`
  (`journeys`, `conversions`, `conversion_probability`, `removal_effects` as "num/den" strings, `transitions`
  as [from, to, count] rows). `FIT` / `LATEST`: a copy of the latest-fitted one, whole (so `latest_fit` is one
  GetItem; a fit is checked against the item limit, so its copy fits too).

Fractions are stored as "numerator/denominator" text (exact, whatever their size: DynamoDB numbers hold 38
digits). Datetimes are fixed-width UTC ISO strings with microseconds (they sort as they compare) and come back
aware in UTC; a naive datetime is a ValueError before anything is written. Every number comes back an int.

Size: DynamoDB refuses items over 400 KB. A conversion's item grows with its touches, ~1 KB each (eight models'
credits with their rule texts, time-decay weights of ~80 digits), so a journey of several hundred touches does
not fit: `check_size` refuses it with `TooLarge` naming the conversion, its size and its touch count, before
any call. Deals (their merged contacts and emails) and fits (their transitions) are checked alike.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from shared.adapters.dynamodb_items import MAX_ITEM_BYTES, iso, iso_or_none, item_size, when, when_or_none
from shared.attribution.deals import ConversionKind, Deal, DealStatus, People
from shared.attribution.funnel_counts import FUNNEL_STAGES, StageCounts, StageEntry
from shared.attribution.journeys import Credit, Model, Role, Touch
from shared.attribution.markov import MarkovFit
from shared.attribution.pipeline import CampaignCredits, difference
from shared.attribution.ports import (
    NO_CAMPAIGN,
    CreditedTouch,
    DealPipeline,
    Overall,
    StoredConversion,
    StoredFit,
    Totals,
)
from shared.errors import InvalidInput, TooLarge
from shared.finance.money import Money
from shared.finance.periods import Period, parse_period

DEAL, CONVERSION, LATEST, FIT = "DEAL", "CONVERSION", "LATEST", "FIT"
CAMPAIGN, CHANNEL = "CAMPAIGN#", "CHANNEL#"
REVENUE, DEALS = "revenue_", "deals_"
ALL, PIPELINE, TOTAL, FUNNEL_EVENT, STAGE = "ALL", "PIPELINE", "TOTAL", "FUNNEL_EVENT", "STAGE#"
DIGEST = "digest"
PIPELINE_FIGURE = "pipeline_"
TRANSACTION_ITEMS = 100  # DynamoDB's limit on a TransactWriteItems
BAD_CURSOR = "cursor is not one this API returned for this query; start again without it"

_HEURISTIC = tuple(model for model in Model if model is not Model.DATA_DRIVEN)
_ALL_MODELS = frozenset(Model)


# -------------------------------------------------------------------------------------------------- periods


def month_text(period: str | Period) -> str:
    """The stored spelling of a month: attribution is kept by month (InvalidInput for a quarter or no period)."""
    parsed = period if isinstance(period, Period) else parse_period(period)
    if not parsed.is_month:
        raise InvalidInput(f"period: {parsed} is a quarter; attribution is kept by month (ask for each of its months)")
    return str(parsed)


def month_texts(periods: Sequence[str]) -> list[str]:
    """The months asked for, once each, in the order asked (InvalidInput for a quarter)."""
    return list(dict.fromkeys(month_text(period) for period in periods))


def month_of(moment: datetime) -> str:
    """The month of an instant, in UTC (the month its conversion counts in)."""
    return moment.astimezone(UTC).strftime("%Y-%m")


# ----------------------------------------------------------------------------------------------------- keys


def deal_pk(deal_id: str) -> str:
    return f"DEAL#{deal_id}"


def conversion_pk(conversion_id: str) -> str:
    return f"CONVERSION#{conversion_id}"


def totals_pk(month: str) -> str:
    return f"TOTALS#{month}"


def campaign_key(touch: Touch) -> str:
    return touch.campaign_id if touch.campaign_id is not None else NO_CAMPAIGN


def campaign_sk(campaign_id: str) -> str:
    return f"{CAMPAIGN}{campaign_id}"


def channel_sk(channel: str) -> str:
    return f"{CHANNEL}{channel}"


def conversion_sort(converted_at: datetime, conversion_id: str) -> str:
    return f"{iso(converted_at)}#{conversion_id}"


def fit_sk(fit: StoredFit) -> str:
    return f"{fit.period}#{iso(fit.fitted_at)}"


def pipeline_pk(deal_id: str) -> str:
    return f"PIPELINE#{deal_id}"


def funnel_pk(month: str) -> str:
    return f"FUNNEL#{month}"


def funnel_event_pk(event_id: str) -> str:
    return f"FUNNEL_EVENT#{event_id}"


def stage_sk(stage: str) -> str:
    return f"{STAGE}{stage}"


def campaign_stage_sk(campaign_id: str, stage: str) -> str:
    return f"{CAMPAIGN}{campaign_id}#{stage}"


def stale_version(what: str, expected: int, found: int | None) -> str:
    """Why a write conditioned on the version read (`expected`, 0: none) was refused, given the version found
    (None: there is none)."""
    if found is None:
        return f"{what} does not exist (it was read at version {expected})"
    if expected == 0:
        return f"{what} exists already (version {found})"
    return f"{what} is at version {found}, not {expected} as read"


# --------------------------------------------------------------------------------------------------- checks


def _int(value: object, what: str) -> int:
    if type(value) is not int:
        raise ValueError(f"{what} must be an int, not {value!r}")
    return value


def _aware(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{what}: naive datetime {moment!r}: the attribution store keeps aware datetimes only")
    return moment.astimezone(UTC)


def _aware_or_none(moment: datetime | None, what: str) -> datetime | None:
    return None if moment is None else _aware(moment, what)


def checked_deal(deal: Deal) -> Deal:
    """The deal with its datetimes in UTC; ValueError for a deal that cannot be stored as it is."""
    what = f"deal {deal.deal_id}"
    if not deal.deal_id:
        raise ValueError("a deal needs a deal_id")
    if isinstance(deal.version, bool) or not isinstance(deal.version, int) or deal.version < 0:
        raise ValueError(f"{what}: the version read is 0 (new) or more, not {deal.version!r}")
    _int(deal.events, f"{what}: events")
    return replace(
        deal,
        first_seen_at=_aware(deal.first_seen_at, what),
        status_at=_aware(deal.status_at, what),
        won_at=_aware_or_none(deal.won_at, what),
        people=People(tuple(deal.people.contact_ids), tuple(deal.people.emails), deal.people.account_ref),
    )


def _checked_credit(credit: Credit, touch: Touch, model: Model, units: object, what: str) -> tuple[Credit, int]:
    where = f"{what}, touch {touch.touch_id}, {model}"
    if credit.touch_id != touch.touch_id:
        raise ValueError(f"{where}: the credit is of touch {credit.touch_id}")
    _int(credit.minor, f"{where}: the credit's minor units")
    weight = credit.weight
    if isinstance(weight, bool) or not isinstance(weight, Fraction | int):
        raise ValueError(f"{where}: the weight must be an exact Fraction, not {weight!r}")
    return replace(credit, weight=Fraction(weight)), _int(units, f"{where}: the deal units")


def checked_conversion(conversion: StoredConversion) -> StoredConversion:
    """The conversion with every datetime in UTC (so its `period` is its month in UTC); ValueError for one that
    cannot be stored as it is: no id, a naive datetime, a rate that is not finite and positive, a touch
    without a channel or with `NO_CAMPAIGN` (or "") as its campaign, a touch missing a model's credit or deal
    units, a credit of another touch, a figure that is not an int, or more campaigns and channels than one
    transaction can add to (`TRANSACTION_ITEMS` - 2 totals items: the conversion and its month's `ALL` take
    the other two)."""
    what = f"conversion {conversion.conversion_id}"
    if not conversion.conversion_id:
        raise ValueError("a conversion needs a conversion_id")
    _int(conversion.company_minor, f"{what}: company_minor")
    rate = conversion.rate
    if not isinstance(rate, Decimal | int) or isinstance(rate, bool) or not Decimal(rate).is_finite() or rate <= 0:
        raise ValueError(f"{what}: the rate {rate!r} is not a finite positive Decimal")
    touches = []
    for credited in conversion.touches:
        touch = credited.touch
        if not touch.channel:
            raise ValueError(f"{what}, touch {touch.touch_id}: a touch needs a channel")
        if touch.campaign_id in ("", NO_CAMPAIGN):
            raise ValueError(f'{what}, touch {touch.touch_id}: "{touch.campaign_id}" is no campaign id')
        missing = sorted(_ALL_MODELS - set(credited.credits)) + sorted(_ALL_MODELS - set(credited.deal_units))
        if missing:
            raise ValueError(f"{what}, touch {touch.touch_id}: no credit or deal units under {', '.join(missing)}")
        credits, units = {}, {}
        for model in Model:
            credits[model], units[model] = _checked_credit(
                credited.credits[model], touch, model, credited.deal_units[model], what
            )
        touches.append(
            CreditedTouch(
                replace(touch, occurred_at=_aware(touch.occurred_at, what)), frozenset(credited.roles), credits, units
            )
        )
    campaigns = {campaign_key(t.touch) for t in conversion.touches}
    channels = {t.touch.channel for t in conversion.touches}
    if len(campaigns) + len(channels) + 2 > TRANSACTION_ITEMS:
        raise ValueError(
            f"{what} touches {len(campaigns)} campaigns and {len(channels)} channels: one transaction adds to at "
            f"most {TRANSACTION_ITEMS - 2} totals (campaigns + channels) beside the conversion and its month's "
            "overall totals"
        )
    return replace(
        conversion,
        converted_at=_aware(conversion.converted_at, what),
        recorded_at=_aware(conversion.recorded_at, what),
        lead_created_at=_aware_or_none(conversion.lead_created_at, what),
        opportunity_created_at=_aware_or_none(conversion.opportunity_created_at, what),
        contact_ids=tuple(conversion.contact_ids),
        touches=tuple(touches),
    )


def data_driven_replaced(
    conversion: StoredConversion, credits: Sequence[Credit], deal_units: Sequence[int], fit_id: str
) -> StoredConversion:
    """The (checked) conversion with these data-driven credits and deal units, one per touch in order, and
    `fit_id`; ValueError when they do not fit its touches."""
    checked = checked_conversion(conversion)
    what = f"conversion {checked.conversion_id}"
    if not isinstance(fit_id, str) or not fit_id:
        raise ValueError(f"{what}: the data-driven credits need the id of the fit they were computed with")
    if not len(credits) == len(deal_units) == len(checked.touches):
        raise ValueError(
            f"{what}: {len(credits)} credits and {len(deal_units)} deal units for its {len(checked.touches)} touches"
        )
    touches = []
    for credited, credit, units in zip(checked.touches, credits, deal_units, strict=True):
        new_credit, new_units = _checked_credit(credit, credited.touch, Model.DATA_DRIVEN, units, what)
        touches.append(
            replace(
                credited,
                credits={**credited.credits, Model.DATA_DRIVEN: new_credit},
                deal_units={**credited.deal_units, Model.DATA_DRIVEN: new_units},
            )
        )
    return replace(checked, touches=tuple(touches), fit_id=fit_id)


def checked_fit(fit: StoredFit) -> StoredFit:
    if not fit.fit_id or not fit.period:
        raise ValueError(f"a stored fit needs a fit_id and a period, not {fit.fit_id!r} / {fit.period!r}")
    return replace(fit, fitted_at=_aware(fit.fitted_at, f"fit {fit.fit_id}"))


def check_size(item: dict[str, Any], what: str) -> None:
    """DynamoDB refuses items over 400 KB: checked before writing, so the caller hears what is too big."""
    size = item_size(item)
    if size > MAX_ITEM_BYTES:
        largest = max(item, key=lambda name: item_size({name: item[name]}))
        touches = f" ({len(item['touches'])} touches)" if "touches" in item else ""
        raise TooLarge(
            f"{what}{touches} would be {size} bytes, over DynamoDB's item limit of 400 KB "
            f"(its `{largest}` takes {item_size({largest: item[largest]})})"
        )


# ---------------------------------------------------------------------------------------------------- deals


def deal_item(deal: Deal, version: int) -> dict[str, Any]:
    """The `DEAL` item of a (checked) deal at `version` (plain values; `serialize` makes it DynamoDB JSON)."""
    item: dict[str, Any] = {
        "pk": deal_pk(deal.deal_id),
        "sk": DEAL,
        "deal_id": deal.deal_id,
        "first_seen_at": iso(deal.first_seen_at),
        "status": deal.status.value,
        "status_at": iso(deal.status_at),
        "amount_minor": None if deal.amount is None else deal.amount.minor,
        "amount_currency": None if deal.amount is None else deal.amount.currency,
        "contact_ids": list(deal.people.contact_ids),
        "emails": list(deal.people.emails),
        "account_ref": deal.people.account_ref,
        "won_at": iso_or_none(deal.won_at),
        "events": deal.events,
        "version": version,
    }
    return {name: value for name, value in item.items() if value is not None}


def deal_from(item: Mapping[str, Any]) -> Deal:
    amount = None
    if "amount_minor" in item:
        amount = Money(int(item["amount_minor"]), str(item["amount_currency"]))
    return Deal(
        deal_id=str(item["deal_id"]),
        first_seen_at=when(item["first_seen_at"]),
        status=DealStatus(item["status"]),
        status_at=when(item["status_at"]),
        amount=amount,
        people=People(
            tuple(str(c) for c in item.get("contact_ids", [])),
            tuple(str(e) for e in item.get("emails", [])),
            item.get("account_ref"),
        ),
        won_at=when_or_none(item.get("won_at")),
        events=int(item["events"]),
        version=int(item["version"]),
    )


# ---------------------------------------------------------------------------------------------- conversions


def _fraction_text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def _figures(credit: Credit, units: int) -> dict[str, Any]:
    return {"minor": credit.minor, "weight": _fraction_text(credit.weight), "rule": credit.rule, "deal_units": units}


def _credit_from(figures: Mapping[str, Any], touch_id: str) -> tuple[Credit, int]:
    credit = Credit(touch_id, int(figures["minor"]), Fraction(str(figures["weight"])), str(figures["rule"]))
    return credit, int(figures["deal_units"])


def _touch_map(credited: CreditedTouch) -> dict[str, Any]:
    touch = credited.touch
    mapped: dict[str, Any] = {
        "touch_id": touch.touch_id,
        "occurred_at": iso(touch.occurred_at),
        "channel": touch.channel,
        "campaign_id": touch.campaign_id,
        "content": touch.content,
        "roles": [role.value for role in Role if role in credited.roles],
        "credits": {model.value: _figures(credited.credits[model], credited.deal_units[model]) for model in _HEURISTIC},
    }
    return {name: value for name, value in mapped.items() if value is not None}


def data_driven_attributes(conversion: StoredConversion) -> dict[str, Any]:
    """The attributes the data-driven batch rewrites: `data_driven` (one map per touch) and `fit_id`."""
    return {
        "data_driven": [
            _figures(t.credits[Model.DATA_DRIVEN], t.deal_units[Model.DATA_DRIVEN]) for t in conversion.touches
        ],
        "fit_id": conversion.fit_id,
    }


def conversion_item(conversion: StoredConversion) -> dict[str, Any]:
    """The `CONVERSION` item of a (checked) conversion (plain values; `serialize` makes it DynamoDB JSON)."""
    item: dict[str, Any] = {
        "pk": conversion_pk(conversion.conversion_id),
        "sk": CONVERSION,
        "conversion_id": conversion.conversion_id,
        "kind": conversion.kind.value,
        "converted_at": iso(conversion.converted_at),
        "amount_minor": conversion.amount.minor,
        "amount_currency": conversion.amount.currency,
        "company_minor": conversion.company_minor,
        "company_currency": conversion.company_currency,
        "rate": format(Decimal(conversion.rate), "f"),
        "contact_ids": list(conversion.contact_ids),
        "account_id": conversion.account_id,
        "deal_id": conversion.deal_id,
        "lead_created_at": iso_or_none(conversion.lead_created_at),
        "opportunity_created_at": iso_or_none(conversion.opportunity_created_at),
        "touches": [_touch_map(credited) for credited in conversion.touches],
        **data_driven_attributes(conversion),
        "settings_version": conversion.settings_version,
        "recorded_at": iso(conversion.recorded_at),
        "conversion_period": month_of(conversion.converted_at),
        "conversion_sort": conversion_sort(conversion.converted_at, conversion.conversion_id),
    }
    present = {name: value for name, value in item.items() if value is not None}
    return {**present, DIGEST: _digest(present)}


def _digest(attributes: Mapping[str, Any]) -> str:
    text = json.dumps(attributes, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def conversion_digest(conversion: StoredConversion) -> str:
    """The `digest` the (checked) conversion's item holds: equal digests, equal items (every attribute)."""
    return str(conversion_item(conversion)[DIGEST])


def _touch_from(mapped: Mapping[str, Any], data_driven: Mapping[str, Any]) -> CreditedTouch:
    touch = Touch(
        touch_id=str(mapped["touch_id"]),
        occurred_at=when(mapped["occurred_at"]),
        channel=str(mapped["channel"]),
        campaign_id=mapped.get("campaign_id"),
        content=mapped.get("content"),
    )
    credits: dict[Model, Credit] = {}
    units: dict[Model, int] = {}
    for name, figures in mapped["credits"].items():
        credits[Model(name)], units[Model(name)] = _credit_from(figures, touch.touch_id)
    credits[Model.DATA_DRIVEN], units[Model.DATA_DRIVEN] = _credit_from(data_driven, touch.touch_id)
    roles = frozenset(Role(role) for role in mapped.get("roles", []))
    return CreditedTouch(touch, roles, {m: credits[m] for m in Model}, {m: units[m] for m in Model})


def conversion_from(item: Mapping[str, Any]) -> StoredConversion:
    return StoredConversion(
        conversion_id=str(item["conversion_id"]),
        kind=ConversionKind(item["kind"]),
        converted_at=when(item["converted_at"]),
        amount=Money(int(item["amount_minor"]), str(item["amount_currency"])),
        company_minor=int(item["company_minor"]),
        company_currency=str(item["company_currency"]),
        rate=Decimal(str(item["rate"])),
        contact_ids=tuple(str(c) for c in item.get("contact_ids", [])),
        account_id=item.get("account_id"),
        deal_id=item.get("deal_id"),
        lead_created_at=when_or_none(item.get("lead_created_at")),
        opportunity_created_at=when_or_none(item.get("opportunity_created_at")),
        touches=tuple(_touch_from(mapped, dd) for mapped, dd in zip(item["touches"], item["data_driven"], strict=True)),
        settings_version=str(item["settings_version"]),
        fit_id=item.get("fit_id"),
        recorded_at=when(item["recorded_at"]),
        people_erased="erased_at" in item,  # set by the privacy erasure (dynamodb_privacy_attribution)
    )


# --------------------------------------------------------------------------------------------------- totals


def conversion_totals(conversion: StoredConversion) -> dict[str, Totals]:
    """What a conversion adds to its month's totals, by sort key (`CAMPAIGN#...`, `CHANNEL#...`): per model the
    sum of its touches' credits and deal units there, the touches there, and 1 conversion."""
    grouped: dict[str, list[CreditedTouch]] = {}
    for credited in conversion.touches:
        grouped.setdefault(campaign_sk(campaign_key(credited.touch)), []).append(credited)
    for credited in conversion.touches:
        grouped.setdefault(channel_sk(credited.touch.channel), []).append(credited)
    return {
        sk: Totals(
            {model: sum(t.credits[model].minor for t in touches) for model in Model},
            {model: sum(t.deal_units[model] for t in touches) for model in Model},
            len(touches),
            1,
        )
        for sk, touches in grouped.items()
    }


def data_driven_deltas(old: StoredConversion, new: StoredConversion) -> dict[str, tuple[int, int]]:
    """How the data-driven revenue and deals of each campaign and channel move from `old`'s credits to `new`'s
    (the same touches): sort key -> (revenue, deals), the keys that do not move left out."""
    before, after = conversion_totals(old), conversion_totals(new)
    deltas = {}
    for sk, totals in after.items():
        revenue = totals.revenue[Model.DATA_DRIVEN] - before[sk].revenue[Model.DATA_DRIVEN]
        deals = totals.deals[Model.DATA_DRIVEN] - before[sk].deals[Model.DATA_DRIVEN]
        if revenue or deals:
            deltas[sk] = (revenue, deals)
    return deltas


@dataclass(frozen=True)
class Replacement:
    """A stored conversion (`old`) to be replaced by `new`, both checked, and what the replacement adds to the
    totals items: (pk, sk) -> attribute -> delta (new minus old) for each of the campaigns', channels' and
    month's `ALL` items that moves; an item whose deltas are all zero is left out (it is not written)."""

    old: StoredConversion
    new: StoredConversion
    moves: dict[tuple[str, str], dict[str, int]]

    @property
    def unchanged(self) -> bool:
        """Nothing to write: the two items are the same, attribute for attribute."""
        return conversion_digest(self.old) == conversion_digest(self.new)


def _contributions(conversion: StoredConversion) -> dict[tuple[str, str], dict[str, int]]:
    """What the (checked) conversion adds to totals items, by (pk, sk), as `record` adds it."""
    pk = totals_pk(month_of(conversion.converted_at))
    added = {(pk, sk): totals_attributes(totals) for sk, totals in conversion_totals(conversion).items()}
    added[pk, ALL] = overall_attributes(overall_added(conversion))
    return added


def checked_replacement(old: StoredConversion, new: StoredConversion) -> Replacement:
    """The replacement of `old` by `new`; ValueError when either cannot be stored as it is
    (`checked_conversion`), when they are not the same conversion (id), or when the conversion and the totals
    items it moves (campaigns and channels of either, the month's `ALL`) take more than one transaction holds
    (`TRANSACTION_ITEMS`): a journey moved from dozens of campaigns to dozens of others."""
    before, after = checked_conversion(old), checked_conversion(new)
    what = f"conversion {before.conversion_id}"
    if after.conversion_id != before.conversion_id:
        raise ValueError(f"{what} cannot be replaced by conversion {after.conversion_id}: they are not the same one")
    was, becomes = _contributions(before), _contributions(after)
    moves: dict[tuple[str, str], dict[str, int]] = {}
    for where in dict.fromkeys([*becomes, *was]):
        now, then = becomes.get(where, {}), was.get(where, {})
        delta = {name: now.get(name, 0) - then.get(name, 0) for name in dict.fromkeys([*now, *then])}
        if any(delta.values()):
            moves[where] = delta
    if 1 + len(moves) > TRANSACTION_ITEMS:
        raise ValueError(
            f"{what}: replacing it moves {len(moves)} totals items (campaigns, channels and the month's overall of "
            f"both versions), more than one transaction holds beside the conversion (at most "
            f"{TRANSACTION_ITEMS - 1})"
        )
    return Replacement(before, after, moves)


def totals_attributes(totals: Totals) -> dict[str, int]:
    """A Totals as the flat attributes of its item."""
    return {
        **{f"{REVENUE}{model.value}": minor for model, minor in totals.revenue.items()},
        **{f"{DEALS}{model.value}": units for model, units in totals.deals.items()},
        "touches": totals.touches,
        "conversions": totals.conversions,
    }


def totals_from(item: Mapping[str, Any]) -> Totals:
    revenue = {Model(name.removeprefix(REVENUE)): int(v) for name, v in item.items() if name.startswith(REVENUE)}
    deals = {Model(name.removeprefix(DEALS)): int(v) for name, v in item.items() if name.startswith(DEALS)}
    return Totals(revenue, deals, int(item.get("touches", 0)), int(item.get("conversions", 0)))


# -------------------------------------------------------------------------------------------------- overall


def overall_added(conversion: StoredConversion) -> Overall:
    """What a conversion adds to its month's `ALL`: its amount and 1, and as much influenced when a touch of its
    journey carries a campaign."""
    influenced = any(credited.touch.campaign_id is not None for credited in conversion.touches)
    minor = conversion.company_minor
    return Overall(minor, 1, minor if influenced else 0, 1 if influenced else 0)


def overall_attributes(overall: Overall) -> dict[str, int]:
    return {
        "revenue": overall.revenue,
        "conversions": overall.conversions,
        "influenced_revenue": overall.influenced_revenue,
        "influenced_conversions": overall.influenced_conversions,
    }


def overall_from(item: Mapping[str, Any]) -> Overall:
    return Overall(
        int(item.get("revenue", 0)),
        int(item.get("conversions", 0)),
        int(item.get("influenced_revenue", 0)),
        int(item.get("influenced_conversions", 0)),
    )


# ------------------------------------------------------------------------------------------------- pipeline


def checked_pipeline(
    deal_id: str, credits: CampaignCredits | None, version: object
) -> dict[str, dict[Model, int]] | None:
    """The contribution with every model of every campaign (0 where the mapping has none); ValueError for one
    that cannot be stored: no deal id, a version that is not 0 or more, a campaign id that is not a non-empty
    string, a key that is not a Model, a figure that is not an int, or more campaigns than one transaction
    moves beside the deal's item and the total (`TRANSACTION_ITEMS` - 2)."""
    if not deal_id:
        raise ValueError("a deal's pipeline needs a deal_id")
    what = f"pipeline of deal {deal_id}"
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ValueError(f"{what}: the version read is 0 (none yet) or more, not {version!r}")
    if credits is None:
        return None
    checked: dict[str, dict[Model, int]] = {}
    for campaign, by_model in credits.items():
        if not isinstance(campaign, str) or not campaign:
            raise ValueError(f"{what}: {campaign!r} is no campaign id")
        strangers = [name for name in by_model if not isinstance(name, Model)]
        if strangers:
            raise ValueError(f"{what}, campaign {campaign}: {strangers[0]!r} is not a Model")
        checked[campaign] = {
            model: _int(by_model.get(model, 0), f"{what}, campaign {campaign}, {model}") for model in Model
        }
    if len(checked) + 2 > TRANSACTION_ITEMS:
        raise ValueError(
            f"{what} credits {len(checked)} campaigns: one transaction moves the pipeline of at most "
            f"{TRANSACTION_ITEMS - 2} campaigns beside the deal's contribution and the total"
        )
    return checked


@dataclass(frozen=True)
class PipelineChanges:
    """What replacing a deal's contribution adds: to each campaign whose pipeline moves, and to the total (the
    campaigns but `NO_CAMPAIGN`; empty when it does not move)."""

    campaigns: dict[str, dict[Model, int]]
    total: dict[Model, int]

    @property
    def items(self) -> int:
        return len(self.campaigns) + (1 if self.total else 0)


def pipeline_changes(deal_id: str, new: CampaignCredits | None, old: CampaignCredits | None) -> PipelineChanges:
    """How the campaigns' and the total pipeline move from `old` to `new` (either None: no contribution);
    ValueError when that takes more items than one transaction holds beside the deal's."""
    campaigns = difference(new or {}, old or {})
    total = {model: sum(d[model] for c, d in campaigns.items() if c != NO_CAMPAIGN) for model in Model}
    changes = PipelineChanges(campaigns, total if any(total.values()) else {})
    if 1 + changes.items > TRANSACTION_ITEMS:
        raise ValueError(
            f"pipeline of deal {deal_id}: going from {len(old or {})} campaigns to {len(new or {})} moves the "
            f"pipeline of {len(campaigns)} campaigns, more than one transaction holds beside the deal's "
            f"contribution (at most {TRANSACTION_ITEMS - 2}): remove the deal's contribution, then set the new one"
        )
    return changes


def pipeline_item(deal_id: str, credits: CampaignCredits, version: int, written: str) -> dict[str, Any]:
    """The `PIPELINE` item of a deal's (checked) contribution at `version`, written by the write `written`."""
    return {
        "pk": pipeline_pk(deal_id),
        "sk": PIPELINE,
        "deal_id": deal_id,
        "credits": {campaign: {model.value: minor for model, minor in by.items()} for campaign, by in credits.items()},
        "version": version,
        "written": written,
    }


def pipeline_from(item: Mapping[str, Any]) -> DealPipeline:
    credits = {
        str(campaign): {Model(name): int(minor) for name, minor in by_model.items()}
        for campaign, by_model in item["credits"].items()
    }
    return DealPipeline(str(item["deal_id"]), credits, int(item["version"]))


def pipeline_attributes(figures: Mapping[Model, int]) -> dict[str, int]:
    return {f"{PIPELINE_FIGURE}{model.value}": minor for model, minor in figures.items()}


def pipeline_figures(item: Mapping[str, Any] | None) -> dict[Model, int]:
    """A campaign's (or the total) pipeline item as every model's figure (0 for none)."""
    return {model: int((item or {}).get(f"{PIPELINE_FIGURE}{model.value}", 0)) for model in Model}


# --------------------------------------------------------------------------------------------------- funnel


def checked_stage_entry(entry: StageEntry) -> StageEntry:
    """The entry with its time in UTC (its month is the month of `at` in UTC); ValueError for one that cannot be
    counted: no event id, a stage not of `FUNNEL_STAGES`, no campaign id (`NO_CAMPAIGN` for none), a naive
    time, a time in the previous stage that is not an int of 0 or more."""
    if not entry.event_id:
        raise ValueError("a stage entry needs an event_id")
    what = f"stage entry {entry.event_id}"
    if entry.stage not in FUNNEL_STAGES:
        raise ValueError(f"{what}: {entry.stage!r} is not a funnel stage ({', '.join(FUNNEL_STAGES)})")
    if not isinstance(entry.campaign_id, str) or not entry.campaign_id:
        raise ValueError(f"{what}: a stage entry needs a campaign id ({NO_CAMPAIGN} for none)")
    if entry.seconds_in_previous is not None and _int(entry.seconds_in_previous, f"{what}: seconds_in_previous") < 0:
        raise ValueError(f"{what}: {entry.seconds_in_previous} seconds in the previous stage")
    return replace(entry, at=_aware(entry.at, what))


def stage_entry_marker(entry: StageEntry) -> dict[str, Any]:
    """The marker of a (checked) entry, written once with its counts."""
    item: dict[str, Any] = {
        "pk": funnel_event_pk(entry.event_id),
        "sk": FUNNEL_EVENT,
        "event_id": entry.event_id,
        "lead_id": entry.lead_id,
        "stage": entry.stage,
        "at": iso(entry.at),
        "campaign_id": entry.campaign_id,
        "period": month_of(entry.at),
        "seconds_in_previous": entry.seconds_in_previous,
    }
    return {name: value for name, value in item.items() if value is not None}


def stage_entry_counts(entry: StageEntry) -> StageCounts:
    """What an entry adds to its month's stage."""
    timed = entry.seconds_in_previous is not None
    return StageCounts(1, entry.seconds_in_previous or 0, 1 if timed else 0)


def stage_counts_attributes(counts: StageCounts) -> dict[str, int]:
    return {"entered": counts.entered, "seconds_in_previous": counts.seconds_in_previous, "timed": counts.timed}


def stage_counts_from(item: Mapping[str, Any]) -> StageCounts:
    return StageCounts(int(item.get("entered", 0)), int(item.get("seconds_in_previous", 0)), int(item.get("timed", 0)))


# ----------------------------------------------------------------------------------------------------- fits


def fit_item(fit: StoredFit, sk: str) -> dict[str, Any]:
    """A fit item (its own, `<period>#<fitted_at>`, or the `LATEST` copy) of a (checked) fit."""
    return {
        "pk": FIT,
        "sk": sk,
        "fit_id": fit.fit_id,
        "period": fit.period,
        "fitted_at": iso(fit.fitted_at),
        **fit.fit.to_record(),
    }


def fit_from(item: Mapping[str, Any]) -> StoredFit:
    record = {
        "journeys": int(item["journeys"]),
        "conversions": int(item["conversions"]),
        "conversion_probability": item["conversion_probability"],
        "removal_effects": dict(item["removal_effects"]),
        "transitions": [[str(source), str(target), int(count)] for source, target, count in item["transitions"]],
    }
    return StoredFit(
        fit_id=str(item["fit_id"]),
        period=str(item["period"]),
        fitted_at=when(item["fitted_at"]),
        fit=MarkovFit.from_record(record),
    )


# --------------------------------------------------------------------------------------------------- cursor


@dataclass(frozen=True)
class ConversionPosition:
    """Where a page of a month's conversions ended: the `conversion_sort` of its last one, and the month."""

    after: str
    period: str


def encode_cursor(position: ConversionPosition) -> str:
    document = {"after": position.after, "p": position.period}
    return base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()


def check_cursor(cursor: str, period: str) -> str:
    """The `conversion_sort` to continue after; InvalidInput for a cursor `encode_cursor` did not make, or one
    of another month's listing."""
    try:
        document = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        position = ConversionPosition(document["after"], document["p"])
        moment, _, conversion_id = position.after.partition("#")
        parsed = datetime.fromisoformat(moment)
        if not conversion_id or parsed.tzinfo is None or iso(parsed) != moment or not isinstance(position.period, str):
            raise ValueError(position)
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError, UnicodeError):
        raise InvalidInput(BAD_CURSOR) from None
    if position.period != period or month_of(parsed) != period:
        raise InvalidInput("cursor belongs to another month's listing; start again without it")
    return position.after
