"""A Markov fit's items (layout: `dynamodb_attribution_keys.py`): its own and the `LATEST` copy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.adapters.dynamodb_attribution_keys import FIT
from shared.adapters.dynamodb_items import iso, when
from shared.attribution.markov import MarkovFit
from shared.attribution.ports import StoredFit


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
