"""The success store's listings (`dynamodb_success.py`): the limit a listing takes, its pages and their cursors
(url-safe base64 of JSON, as the store's Reads tell). Shared with the in-memory fake of the tests
(`tests/success_fakes.py`), so both page and refuse cursors exactly the same."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from shared.adapters.dynamodb_success_items import INTERVENTION, TENANT, intervention_from, opened_sort, shard_of
from shared.errors import InvalidInput
from shared.success.interventions import Intervention, InterventionStatus
from shared.success.ports import InterventionPage, ParkedLog, ParkedPage, TenantPage

BAD_CURSOR = "cursor is not one this listing returned; start again without it"
STATUS_KEY = ("intervention_status", "status_sort", "pk", "sk")  # the by-status index's position at an item


# ------------------------------------------------------------------------------------------------ tenants


def check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInput(f"limit must be an integer of at least 1, not {limit!r}")


def tenant_page(found: list[str], limit: int) -> TenantPage:
    """The page of the first `limit` accounts of `found` (up to `limit + 1`, in listing order): a cursor after
    its last when one more was found."""
    page = found[:limit]
    return TenantPage(page, encode_cursor(page[-1]) if len(found) > limit else None)


def encode_cursor(after: str) -> str:
    return encode_document({"shard": shard_of(after), "after": after})


def decode_cursor(cursor: str) -> tuple[int, str]:
    """(shard, tenant id) to continue after; InvalidInput for a cursor `encode_cursor` did not make."""
    document = decode_document(cursor)
    shard, after = document.get("shard"), document.get("after")
    if isinstance(shard, bool) or not isinstance(shard, int) or not isinstance(after, str) or not after:
        raise InvalidInput(BAD_CURSOR)
    if shard_of(after) != shard:
        raise InvalidInput(BAD_CURSOR)
    return shard, after


# ------------------------------------------------------------------------------------------ parked logs


def parked_page(found: list[ParkedLog], limit: int) -> ParkedPage:
    """The page of the first `limit` entries of `found` (up to `limit + 1`, in log order)."""
    page = found[:limit]
    return ParkedPage(page, encode_document({"parked_after": page[-1].log}) if len(found) > limit else None)


def decode_parked_cursor(cursor: str) -> str:
    """The parked log a listing continues after; InvalidInput for a cursor `parked_page` did not make."""
    document = decode_document(cursor)
    after = document.get("parked_after")
    if set(document) != {"parked_after"} or not isinstance(after, str) or not after:
        raise InvalidInput(BAD_CURSOR)
    return after


# ------------------------------------------------------------------------------------------ interventions


def listed_status(status: InterventionStatus | str | None) -> InterventionStatus:
    """The status of a listing of every account's interventions: required there."""
    if status is None:
        raise ValueError("status is required to list the interventions of every account")
    return InterventionStatus(status)


def account_page(
    tenant_id: str,
    found: Iterable[Intervention],
    status: InterventionStatus | str | None,
    before: str | None,
    limit: int,
) -> InterventionPage:
    """A page of an account's interventions (of `status`, if any), the newest opened first, after the one whose
    `opened_sort` is `before`."""
    wanted = None if status is None else InterventionStatus(status)
    listed = sorted((one for one in found if wanted is None or one.status is wanted), key=opened_sort, reverse=True)
    if before is not None:
        listed = [one for one in listed if opened_sort(one) < before]
    page = listed[:limit]
    after = encode_document({"tenant": tenant_id, "before": opened_sort(page[-1])}) if len(listed) > limit else None
    return InterventionPage(page, after)


def decode_account_cursor(cursor: str, tenant_id: str) -> str:
    """The `opened_sort` an account's listing continues before; InvalidInput for a cursor it did not make (or
    made for another account)."""
    document = decode_document(cursor)
    before = document.get("before")
    if set(document) != {"tenant", "before"} or document["tenant"] != tenant_id:
        raise InvalidInput(BAD_CURSOR)
    if not isinstance(before, str) or not before:
        raise InvalidInput(BAD_CURSOR)
    return before


def status_position(item: Mapping[str, Any]) -> tuple[str, ...]:
    """An item's place in the `by-status` index (its sort key, then the table's keys)."""
    return tuple(str(item[name]) for name in STATUS_KEY)


def status_page(found: Sequence[Mapping[str, Any]], limit: int) -> InterventionPage:
    """The page of the first `limit` items of `found` (up to `limit + 1`, in the index's order): a cursor at its
    last when one more was found."""
    page = found[:limit]
    after = None
    if len(found) > limit:
        after = encode_document(dict(zip(STATUS_KEY, status_position(page[-1]), strict=True)))
    return InterventionPage([intervention_from(item) for item in page], after)


def decode_status_cursor(cursor: str, status: InterventionStatus) -> dict[str, str]:
    """The `by-status` index's key to continue after; InvalidInput for a cursor a listing of `status` did not
    make."""
    document = decode_document(cursor)
    if set(document) != set(STATUS_KEY) or not all(isinstance(value, str) and value for value in document.values()):
        raise InvalidInput(BAD_CURSOR)
    sk, sort = document["sk"], document["status_sort"]
    if (
        document["intervention_status"] != status.value
        or not document["pk"].startswith(TENANT)
        or not sk.startswith(INTERVENTION)
        or not sort.endswith("#" + sk.removeprefix(INTERVENTION))
    ):
        raise InvalidInput(BAD_CURSOR)
    return {name: document[name] for name in STATUS_KEY}


# ------------------------------------------------------------------------------------------------ cursors


def encode_document(document: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()


def decode_document(cursor: str) -> dict[str, Any]:
    """The JSON object a cursor encodes; InvalidInput naming the cursor for anything else."""
    try:
        document = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, TypeError, AttributeError, UnicodeError):
        raise InvalidInput(BAD_CURSOR) from None
    if not isinstance(document, dict):
        raise InvalidInput(BAD_CURSOR)
    return document
