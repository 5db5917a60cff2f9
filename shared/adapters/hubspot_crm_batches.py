"""One batch call of a `write` (`hubspot_crm.py`): v3 objects `batch/update`, `batch/upsert` (on `email`) or
`batch/create` of up to 100 planned writes, each input traced by its write's position; each write's result
read from the answer (a 207 fails the inputs it names); a whole call refused for some writes' values fails
those and sends the others again, halves of it when it names none."""

from __future__ import annotations

from typing import Any

from hubspot.crm.objects import (
    AssociationSpec,
    BatchApi,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    PublicAssociationsForObject,
    PublicObjectId,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputUpsert,
)

from shared.adapters.hubspot_crm_errors import HubSpotError, call_api
from shared.adapters.hubspot_crm_plan import PlannedWrite, WriteRun, failed_result
from shared.adapters.hubspot_crm_refusals import culprits_of, items_named
from shared.adapters.hubspot_crm_values import (
    ASSOCIATION_TYPE_IDS,
    OBJECT_TYPES,
    created_properties,
    property_values,
)
from shared.crm.ports import ObjectKind, WriteResult

# A per-input error of these categories may pass on a retry; any other (a value HubSpot refuses, a record it
# does not have) will not.
TRANSIENT_CATEGORIES = frozenset({"RATE_LIMITS", "INTERNAL_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT", "LOCKED"})


class BatchSender:
    """The v3 objects batch endpoints, a call of one kind and op at a time."""

    def __init__(self, objects: BatchApi, timeout: tuple[float, float]) -> None:
        self._objects = objects
        self._timeout = timeout

    def send(self, run: WriteRun, object_type: str, op: str, items: list[PlannedWrite]) -> None:
        try:
            answer = call_api(lambda: self._batch(object_type, op, items))
        except HubSpotError as refused:
            self._refused(run, object_type, op, items, refused)
            return
        run.applied = True
        _collect(run, op, items, answer)
        if op == "create":
            run.linked |= {(item.position, kind) for item in items for kind in inline_kinds(object_type, item)}

    def _batch(self, object_type: str, op: str, items: list[PlannedWrite]) -> Any:
        if op == "update":
            update = BatchInputSimplePublicObjectBatchInput(
                inputs=[
                    SimplePublicObjectBatchInput(
                        id=item.crm_id, properties=property_values(item.write), object_write_trace_id=item.trace
                    )
                    for item in items
                ]
            )
            return self._objects.update(object_type, update, _request_timeout=self._timeout)
        if op == "upsert":
            upsert = BatchInputSimplePublicObjectBatchInputUpsert(
                inputs=[
                    SimplePublicObjectBatchInputUpsert(
                        id=(item.write.match_on or ("", ""))[1],
                        id_property="email",
                        properties=property_values(item.write),
                        object_write_trace_id=item.trace,
                    )
                    for item in items
                ]
            )
            return self._objects.upsert(object_type, upsert, _request_timeout=self._timeout)
        create = BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(
                    properties=created_properties(item.write),
                    object_write_trace_id=item.trace,
                    associations=inline_associations(object_type, item),
                )
                for item in items
            ]
        )
        return self._objects.create(object_type, create, _request_timeout=self._timeout)

    def _refused(
        self, run: WriteRun, object_type: str, op: str, items: list[PlannedWrite], refused: HubSpotError
    ) -> None:
        """A call refused as a whole (nothing of it applied): the writes it names fail, the others go again; when
        it names none, halves go again until the refused ones stand alone."""
        named = culprits_of(refused, items)
        if named and len(named) < len(items):
            for item in named:
                run.results[item.position] = failed_result(item.write, refused.describe())
            self.send(run, object_type, op, [item for item in items if item not in named])
        elif len(items) == 1 or named:
            for item in items:
                run.results[item.position] = failed_result(item.write, refused.describe())
        else:
            half = len(items) // 2
            self.send(run, object_type, op, items[:half])
            self.send(run, object_type, op, items[half:])


def inline_associations(object_type: str, item: PlannedWrite) -> list[PublicAssociationsForObject]:
    """A create's links, made with it (`associations`) when HubSpot defines a type for them: a task is created
    with its company, never left without it should the call that links it fail."""
    links = []
    for kind in inline_kinds(object_type, item):
        type_id = ASSOCIATION_TYPE_IDS[(object_type, OBJECT_TYPES.get(kind, kind))]
        spec = AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=type_id)
        links.append(PublicAssociationsForObject(to=PublicObjectId(id=str(item.write.associate[kind])), types=[spec]))
    return links


def inline_kinds(object_type: str, item: PlannedWrite) -> list[ObjectKind]:
    """The kinds a create links to inline (HubSpot defines a type for the pair); its other links are made after
    it, by v4 default associations (`hubspot_crm_associations.py`), link by link."""
    return [
        kind for kind in item.write.associate if (object_type, OBJECT_TYPES.get(kind, kind)) in ASSOCIATION_TYPE_IDS
    ]


def _collect(run: WriteRun, op: str, items: list[PlannedWrite], answer: Any) -> None:
    """Each item's fate from a 200/201/207: its result (by trace id, else by id or values) or its error."""
    by_trace = {item.trace: item for item in items}
    unanswered = {item.position: item for item in items}
    for result in getattr(answer, "results", None) or []:
        item = by_trace.get(str(getattr(result, "object_write_trace_id", None) or "")) or _by_record(
            op, result, list(unanswered.values())
        )
        if item is None or item.position not in unanswered:
            continue
        del unanswered[item.position]
        created = op == "create" or (op == "upsert" and bool(getattr(result, "new", False)))
        run.results[item.position] = WriteResult(item.write.write_id, True, crm_id=str(result.id), created=created)
        if item.matched_on is not None and created:
            run.created[(item.object_type, *item.matched_on)] = str(result.id)
    for error in getattr(answer, "errors", None) or []:
        category, message = str(error.category or ""), str(error.message or "")
        for item in items_named(error.context or {}, list(unanswered.values())):
            del unanswered[item.position]
            retryable = category in TRANSIENT_CATEGORIES
            run.results[item.position] = failed_result(item.write, f"HubSpot {category}: {message}", retryable)
    for item in unanswered.values():
        error = "HubSpot's answer names neither a result nor an error for this write"
        run.results[item.position] = failed_result(item.write, error, retryable=True)


def _by_record(op: str, result: Any, items: list[PlannedWrite]) -> PlannedWrite | None:
    """The item a result answers when HubSpot did not echo its trace id: by id, by email, or by the values
    written, when exactly one item fits."""
    properties = getattr(result, "properties", None) or {}
    if op == "update":
        fits = [item for item in items if item.crm_id == str(result.id)]
    elif op == "upsert":
        email = (properties.get("email") or "").lower()
        fits = [item for item in items if email and (item.write.match_on or ("", ""))[1].lower() == email]
    else:
        fits = [
            item
            for item in items
            if item.write.fields
            and all(
                (properties.get(name) or None) == value for name, value in property_values(item.write, True).items()
            )
        ]
    return fits[0] if len(fits) == 1 else None
