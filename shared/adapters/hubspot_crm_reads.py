"""Reading HubSpot's records (`hubspot_crm.py`): records by id (v3 objects `batch/read`), records changed
since a moment, and the ids of the records that hold a value of a property (both by v3 search, paged, no
further than HubSpot pages). Any refusal refuses the whole read."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hubspot.crm.objects import (
    BatchApi,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SearchApi,
    SimplePublicObjectId,
)

from shared.adapters.hubspot_crm_errors import call_read_api
from shared.adapters.hubspot_crm_values import MAX_BATCH, MODIFIED_PROPERTY, aware, chunks, object_type_of, snapshot
from shared.crm.ports import CrmSnapshot, ObjectKind

MAX_SEARCH_PAGE = 200  # results per search call, HubSpot's limit
MAX_SEARCH_RESULTS = 10_000  # HubSpot pages no further into a search
MAX_IN_VALUES = 100


def read_snapshots(
    objects: BatchApi, timeout: tuple[float, float], kind: ObjectKind, crm_ids: Sequence[str], fields: Sequence[str]
) -> list[CrmSnapshot]:
    object_type = object_type_of(kind)
    properties = list(dict.fromkeys([*fields, MODIFIED_PROPERTY[object_type]]))
    found: dict[str, CrmSnapshot] = {}
    for chunk in chunks(list(dict.fromkeys(str(crm_id) for crm_id in crm_ids)), MAX_BATCH):
        request = BatchReadInputSimplePublicObjectId(
            properties=properties,
            properties_with_history=[],
            inputs=[SimplePublicObjectId(id=crm_id) for crm_id in chunk],
        )
        answer = call_read_api(functools.partial(objects.read, object_type, request, _request_timeout=timeout))
        # a 207's errors are the ids HubSpot does not have: left out
        for result in answer.results or []:
            found[str(result.id)] = snapshot(kind, object_type, result, fields)
    return [found[crm_id] for crm_id in dict.fromkeys(str(crm_id) for crm_id in crm_ids) if crm_id in found]


def changed_snapshots(
    search: SearchApi,
    timeout: tuple[float, float],
    kind: ObjectKind,
    since: datetime,
    fields: Sequence[str],
    limit: int,
) -> list[CrmSnapshot]:
    object_type = object_type_of(kind)
    modified = MODIFIED_PROPERTY[object_type]
    since_ms = int(aware(since).timestamp() * 1000)
    properties = list(dict.fromkeys([*fields, modified]))
    snapshots: list[CrmSnapshot] = []
    after: str | None = None
    while len(snapshots) < limit:
        request = PublicObjectSearchRequest(
            filter_groups=[FilterGroup(filters=[Filter(property_name=modified, operator="GT", value=str(since_ms))])],
            sorts=[{"propertyName": modified, "direction": "ASCENDING"}],
            properties=properties,
            limit=min(MAX_SEARCH_PAGE, limit - len(snapshots)),
            after=after,
        )
        page = call_read_api(functools.partial(search.do_search, object_type, request, _request_timeout=timeout))
        snapshots += [snapshot(kind, object_type, result, fields) for result in page.results or []]
        after = _next_after(page)
        if after is None or not page.results:
            break
    return snapshots[:limit]


def find_ids(
    search: SearchApi, timeout: tuple[float, float], object_type: str, prop: str, values: list[str]
) -> dict[str, str]:
    """Lower-cased value -> id of the oldest record that has it."""
    found: dict[str, str] = {}
    for chunk in chunks(values, MAX_IN_VALUES):
        after: str | None = None
        while True:
            request = PublicObjectSearchRequest(
                filter_groups=[FilterGroup(filters=[Filter(property_name=prop, operator="IN", values=chunk)])],
                sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                properties=[prop],
                limit=MAX_SEARCH_PAGE,
                after=after,
            )
            page = call_read_api(functools.partial(search.do_search, object_type, request, _request_timeout=timeout))
            for result in page.results or []:
                value = ((result.properties or {}).get(prop) or "").lower()
                found.setdefault(value, str(result.id))
            after = _next_after(page)
            if after is None:
                break
    return found


def _next_after(page: Any) -> str | None:
    paging = getattr(page, "paging", None)
    following = getattr(paging, "next", None) if paging is not None else None
    after = getattr(following, "after", None) if following is not None else None
    if not after or (str(after).isdigit() and int(after) >= MAX_SEARCH_RESULTS):
        return None
    return str(after)
