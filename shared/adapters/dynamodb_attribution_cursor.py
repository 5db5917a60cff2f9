"""The cursor of a month's conversions listing (url-safe base64 of JSON: the last `conversion_sort` returned
and the month), shared by the store and the in-memory fake, so both refuse the same cursors."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from shared.adapters.dynamodb_attribution_keys import month_of
from shared.adapters.dynamodb_items import iso
from shared.errors import InvalidInput

BAD_CURSOR = "cursor is not one this API returned for this query; start again without it"


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
