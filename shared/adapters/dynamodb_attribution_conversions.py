"""The `CONVERSION` item (layout: `dynamodb_attribution_keys.py`): a conversion, its touches with their
credits under every model, the data-driven figures kept apart, and the digest a replacement is conditioned on;
and the attributes of its outline (`ConversionOutline`), which a projected read asks for alone."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from shared.adapters.dynamodb_attribution_keys import CONVERSION, conversion_pk, conversion_sort, month_of
from shared.adapters.dynamodb_items import iso, iso_or_none, when, when_or_none
from shared.attribution.deals import ConversionKind
from shared.attribution.journeys import Credit, Model, Role, Touch
from shared.attribution.ports import ConversionOutline, CreditedTouch, StoredConversion
from shared.finance.money import Money

DIGEST = "digest"

_HEURISTIC = tuple(model for model in Model if model is not Model.DATA_DRIVEN)


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
        # only while marked: an item never re-credited keeps the attributes (and the digest) it always had
        "unannounced": True if conversion.unannounced else None,
        "superseded_by": conversion.superseded_by,  # only when another conversion counts its money
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


def _what_converted(item: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a conversion and its outline share: what converted, when, for how much, whose journey."""
    return {
        "conversion_id": str(item["conversion_id"]),
        "kind": ConversionKind(item["kind"]),
        "converted_at": when(item["converted_at"]),
        "amount": Money(int(item["amount_minor"]), str(item["amount_currency"])),
        "company_minor": int(item["company_minor"]),
        "company_currency": str(item["company_currency"]),
        "contact_ids": tuple(str(c) for c in item.get("contact_ids", [])),
        "account_id": item.get("account_id"),
        "deal_id": item.get("deal_id"),
        "opportunity_created_at": when_or_none(item.get("opportunity_created_at")),
    }


def conversion_from(item: Mapping[str, Any]) -> StoredConversion:
    return StoredConversion(
        **_what_converted(item),
        rate=Decimal(str(item["rate"])),
        lead_created_at=when_or_none(item.get("lead_created_at")),
        touches=tuple(_touch_from(mapped, dd) for mapped, dd in zip(item["touches"], item["data_driven"], strict=True)),
        settings_version=str(item["settings_version"]),
        fit_id=item.get("fit_id"),
        recorded_at=when(item["recorded_at"]),
        people_erased="erased_at" in item,  # set by the privacy erasure (dynamodb_privacy_attribution)
        unannounced=bool(item.get("unannounced", False)),
        superseded_by=item.get("superseded_by"),
    )


# What `conversion_outline_from` reads, and `conversion_sort` (the listing's cursor). The touches are counted
# by `data_driven`, one small map per touch (`conversion_item` and the data-driven batch keep it so), not by
# `touches`, whose maps hold every heuristic model's credits: a ProjectionExpression cannot take a list's length.
OUTLINE_ATTRIBUTES = (
    "conversion_id",
    "kind",
    "converted_at",
    "amount_minor",
    "amount_currency",
    "company_minor",
    "company_currency",
    "contact_ids",
    "account_id",
    "deal_id",
    "opportunity_created_at",
    "data_driven",
    "conversion_sort",
)


def conversion_outline_from(item: Mapping[str, Any]) -> ConversionOutline:
    """The outline of a `CONVERSION` item read whole or projected on OUTLINE_ATTRIBUTES: the fields of
    `ConversionOutline.of(conversion_from(item))`, read as `conversion_from` reads them."""
    return ConversionOutline(**_what_converted(item), touch_count=len(item["data_driven"]))
