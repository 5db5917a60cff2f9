"""The links of one `write` (`hubspot_crm.py`): v4 default associations (`batch/associate/default`, per pair
of kinds) between the records written and the records they name, a contact's company as its primary one
(`batch/create`, HUBSPOT_DEFINED type 1: its `associatedcompanyid`); then the links the hub made before and
moved are removed (`batch/archive`: a contact's old company). A write whose link is not made (or not removed)
fails, its record kept."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from hubspot.crm.associations.v4 import (
    AssociationSpec,
    BatchApi,
    BatchInputPublicAssociationMultiArchive,
    BatchInputPublicAssociationMultiPost,
    BatchInputPublicDefaultAssociationMultiPost,
    PublicAssociationMultiArchive,
    PublicAssociationMultiPost,
    PublicDefaultAssociationMultiPost,
    PublicObjectId,
)

from shared.adapters.hubspot_crm_errors import HubSpotError, call_api, is_retryable
from shared.adapters.hubspot_crm_plan import WriteRun
from shared.adapters.hubspot_crm_values import MAX_BATCH, OBJECT_TYPES, PRIMARY_TYPE_IDS, chunks, write_object_type
from shared.crm.ports import CrmRefused, CrmUnavailable, OutboundWrite, RateLimited


def associate(
    associations: BatchApi, timeout: tuple[float, float], run: WriteRun, writes: Sequence[OutboundWrite]
) -> None:
    """Default associations of the records written; a write whose link is not made fails (its record kept)."""
    links: dict[tuple[str, str], list[tuple[int, str, str, str]]] = {}
    for position, write in enumerate(writes):
        result = run.results[position]
        if not result.ok or not result.crm_id:
            continue
        for linked_kind, linked_id in write.associate.items():
            if (position, linked_kind) in run.linked:
                continue  # made inline with the record's create
            pair = (write_object_type(write) or write.kind, OBJECT_TYPES.get(linked_kind, linked_kind))
            links.setdefault(pair, []).append((position, result.crm_id, linked_kind, str(linked_id)))
    stopped: Exception | None = None
    for (from_type, to_type), pairs in links.items():
        for chunk in chunks(pairs, MAX_BATCH):
            if stopped is not None:
                for position, _, to_kind, to_id in chunk:
                    _link_failed(run, position, to_kind, to_id, str(stopped), is_retryable(stopped))
                continue
            try:
                answer = call_api(functools.partial(_link, associations, timeout, from_type, to_type, chunk))
            except (RateLimited, CrmUnavailable, CrmRefused, HubSpotError) as exc:
                # a refusal of this call alone (HubSpotError) does not stop the others
                stopped = None if isinstance(exc, HubSpotError) else exc
                for position, _, to_kind, to_id in chunk:
                    _link_failed(run, position, to_kind, to_id, str(exc), is_retryable(exc))
                continue
            _collect_links(run, chunk, answer)


def dissociate(
    associations: BatchApi, timeout: tuple[float, float], run: WriteRun, writes: Sequence[OutboundWrite]
) -> None:
    """Removes the links the writes name in `dissociate` (per pair of kinds, one `batch/archive` call per 100); a
    link already gone is removed all the same (HubSpot answers 204), and so is one whose record is gone (a 404:
    nothing left to remove). A write whose link is not removed fails, its record kept: retried (the link removed
    again with its next write) when HubSpot was unavailable or limited the rate, not when it refused the call."""
    links: dict[tuple[str, str], list[tuple[int, str, str, str]]] = {}
    for position, write in enumerate(writes):
        result = run.results[position]
        if not result.ok or not result.crm_id:
            continue
        for linked_kind, linked_id in write.dissociate.items():
            pair = (write_object_type(write) or write.kind, OBJECT_TYPES.get(linked_kind, linked_kind))
            links.setdefault(pair, []).append((position, result.crm_id, linked_kind, str(linked_id)))
    stopped: Exception | None = None
    for (from_type, to_type), pairs in links.items():
        for chunk in chunks(pairs, MAX_BATCH):
            if stopped is not None:
                _unlink_failed(run, chunk, stopped)
                continue
            body = BatchInputPublicAssociationMultiArchive(
                inputs=[
                    PublicAssociationMultiArchive(_from=PublicObjectId(id=from_id), to=[PublicObjectId(id=to_id)])
                    for _, from_id, _, to_id in chunk
                ]
            )
            try:
                call_api(functools.partial(associations.archive, from_type, to_type, body, _request_timeout=timeout))
            except (RateLimited, CrmUnavailable, CrmRefused, HubSpotError) as exc:
                if isinstance(exc, HubSpotError) and exc.status == 404:
                    continue  # the association (or a record of it) is not there: nothing to remove
                # a refusal of this call alone (HubSpotError) does not stop the others
                stopped = None if isinstance(exc, HubSpotError) else exc
                _unlink_failed(run, chunk, exc)


def _unlink_failed(run: WriteRun, chunk: list[tuple[int, str, str, str]], exc: Exception) -> None:
    for position, _, to_kind, to_id in chunk:
        result = run.results[position]
        message = f"written, but still associated with {to_kind} {to_id}: {exc}"
        run.results[position] = replace(result, ok=False, error=message[:1000], retryable=is_retryable(exc))


def _link(
    associations: BatchApi,
    timeout: tuple[float, float],
    from_type: str,
    to_type: str,
    chunk: list[tuple[int, str, str, str]],
) -> Any:
    primary = PRIMARY_TYPE_IDS.get((from_type, to_type))
    if primary is not None:
        # a contact's company is its primary one (`associatedcompanyid`): a default link would leave another there
        spec = AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=primary)
        labeled = BatchInputPublicAssociationMultiPost(
            inputs=[
                PublicAssociationMultiPost(_from=PublicObjectId(id=from_id), to=PublicObjectId(id=to_id), types=[spec])
                for _, from_id, _, to_id in chunk
            ]
        )
        return associations.create(from_type, to_type, labeled, _request_timeout=timeout)
    body = BatchInputPublicDefaultAssociationMultiPost(
        inputs=[
            PublicDefaultAssociationMultiPost(_from=PublicObjectId(id=from_id), to=PublicObjectId(id=to_id))
            for _, from_id, _, to_id in chunk
        ]
    )
    return associations.create_default(from_type, to_type, body, _request_timeout=timeout)


def _link_failed(run: WriteRun, position: int, to_kind: str, to_id: str, error: str, retryable: bool) -> None:
    result = run.results[position]
    message = f"written, but not associated with {to_kind} {to_id}: {error}"
    run.results[position] = replace(result, ok=False, error=message[:1000], retryable=retryable)


def _collect_links(run: WriteRun, chunk: list[tuple[int, str, str, str]], answer: Any) -> None:
    """A link HubSpot's answer does not list failed: for good when an error names one of its ends, retryable
    when none does."""
    linked = set()
    for result in getattr(answer, "results", None) or []:
        if hasattr(result, "from_object_id"):  # a labeled create's answer names the pair by its ids
            ends = (str(result.from_object_id), str(result.to_object_id))
        else:
            ends = (str(getattr(result._from, "id", "")), str(getattr(result.to, "id", "")))
        linked |= {ends, ends[::-1]}
    errors = [
        (
            {str(i) for i in (error.context or {}).get("fromObjectId") or []},
            {str(i) for i in (error.context or {}).get("toObjectId") or (error.context or {}).get("ids") or []},
            f"HubSpot {error.category}: {error.message}",
        )
        for error in getattr(answer, "errors", None) or []
    ]
    for position, from_id, to_kind, to_id in chunk:
        if (from_id, to_id) in linked:
            continue
        named = [message for starts, ends, message in errors if from_id in starts or to_id in ends]
        if named:
            _link_failed(run, position, to_kind, to_id, named[0], retryable=False)
        else:
            error = "HubSpot's answer names neither the association nor an error for it"
            _link_failed(run, position, to_kind, to_id, error, retryable=True)
