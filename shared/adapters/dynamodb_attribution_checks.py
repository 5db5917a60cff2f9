"""The checks an attribution write passes before any call (`dynamodb_attribution_keys.py` tells the layout): the
store (`dynamodb_attribution.py`) and the in-memory fake (`tests/attribution_fakes.py`) both run them, so both
refuse the same writes.

Size: DynamoDB refuses items over 400 KB. A conversion's item grows with its touches, ~1 KB each (eight models'
credits with their rule texts, time-decay weights of ~80 digits), so a journey of several hundred touches does
not fit: `check_size` refuses it with `TooLarge` naming the conversion, its size and its touch count, before
any call. Deals (their merged contacts and emails) and fits (their transitions) are checked alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from shared.adapters.dynamodb_attribution_keys import campaign_key
from shared.adapters.dynamodb_items import MAX_ITEM_BYTES, item_size
from shared.attribution.deals import Deal, People
from shared.attribution.funnel_counts import FUNNEL_STAGES, StageEntry
from shared.attribution.journeys import Credit, Model, Touch
from shared.attribution.pipeline import CampaignCredits
from shared.attribution.ports import NO_CAMPAIGN, CreditedTouch, StoredConversion, StoredFit
from shared.errors import TooLarge

TRANSACTION_ITEMS = 100  # DynamoDB's limit on a TransactWriteItems

_ALL_MODELS = frozenset(Model)


# --------------------------------------------------------------------------------------------------- values


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


# ------------------------------------------------------------------------------ deals, conversions and fits


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
        status_at=_aware_or_none(deal.status_at, what),
        won_at=_aware_or_none(deal.won_at, what),
        amount_at=_aware_or_none(deal.amount_at, what),
        people=People(tuple(deal.people.contact_ids), tuple(deal.people.emails), deal.people.account_ref),
        aliases=tuple(deal.aliases),
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


# ----------------------------------------------------------------------------------------------------- size


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
