"""How one `write` goes to HubSpot in calls (`hubspot_crm.py`): each write as an update (it has a CRM id), an
upsert (a contact matched on its email) or a create, a write matched on another property looked up first
(an update of the record found, else a create); the key that keeps one record out of a call twice; and the
run that gathers each write's result."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from hubspot.crm.objects import SearchApi

from shared.adapters.hubspot_crm_errors import is_retryable
from shared.adapters.hubspot_crm_reads import find_ids
from shared.adapters.hubspot_crm_values import write_object_type
from shared.crm.ports import OutboundWrite, WriteResult


@dataclass
class PlannedWrite:
    """One write on its way: how it goes (`op`) and what makes it one record within a call (`key`)."""

    position: int
    write: OutboundWrite
    object_type: str
    op: str  # update | upsert | create
    crm_id: str | None = None
    key: str | None = None  # two items of one key never go in one call; None: unique
    matched_on: tuple[str, str] | None = None  # (property, lower-cased value) for a create found by no search

    @property
    def trace(self) -> str:
        return str(self.position)


@dataclass
class WriteRun:
    results: dict[int, WriteResult] = field(default_factory=dict)
    applied: bool = False  # some call of this write succeeded: no exception may lose what it did
    created: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (type, property, value) -> new id
    # (write position, linked kind) of the links made inline with a create: linked already, each link on its own
    linked: set[tuple[int, str]] = field(default_factory=set)


def plan(
    search: SearchApi, timeout: tuple[float, float], run: WriteRun, writes: Sequence[OutboundWrite]
) -> list[PlannedWrite]:
    items, searched = [], []
    for position, write in enumerate(writes):
        object_type = write_object_type(write)
        if object_type is None:
            run.results[position] = failed_result(write, f"no HubSpot object for kind {write.kind!r}")
        elif write.crm_id:
            items.append(
                PlannedWrite(position, write, object_type, "update", write.crm_id, f"id:{object_type}:{write.crm_id}")
            )
        elif write.match_on and _upserted(write) and not write.match_also:
            items.append(PlannedWrite(position, write, object_type, "upsert", key=f"email:{write.match_on[1].lower()}"))
        elif write.match_on:
            searched.append(PlannedWrite(position, write, object_type, "create"))
        else:
            items.append(PlannedWrite(position, write, object_type, "create"))
    if searched:
        items += _matched(search, timeout, searched)
    return sorted(items, key=lambda item: item.position)


def _matched(search: SearchApi, timeout: tuple[float, float], items: list[PlannedWrite]) -> list[PlannedWrite]:
    """Items matched on a property: updates of the records found (by the write's value, else by one of the values
    an earlier create of it may have left, `match_also`), creates of the others (the first of a value creates; the
    others of that value update what it created, in a later call), or a contact's upsert by its email."""
    wanted: dict[tuple[str, str], set[str]] = {}
    for item in items:
        prop, value = item.write.match_on or ("", "")
        wanted.setdefault((item.object_type, prop), set()).update(v.lower() for v in (value, *item.write.match_also))
    found: dict[tuple[str, str, str], str] = {}
    for (object_type, prop), values in wanted.items():
        for value, record_id in find_ids(search, timeout, object_type, prop, sorted(values)).items():
            found[(object_type, prop, value)] = record_id
    for item in items:
        prop, value = item.write.match_on or ("", "")
        crm_id = next(
            (
                found[(item.object_type, prop, v.lower())]
                for v in (value, *item.write.match_also)
                if (item.object_type, prop, v.lower()) in found
            ),
            None,
        )
        if crm_id is not None:
            item.op, item.crm_id, item.key = "update", crm_id, f"id:{item.object_type}:{crm_id}"
        elif _upserted(item.write):
            item.op, item.key = "upsert", f"email:{value.lower()}"
        else:
            item.matched_on = (prop, value.lower())
            item.key = f"match:{item.object_type}:{prop}:{value.lower()}"
    return items


def _upserted(write: OutboundWrite) -> bool:
    """A contact matched on its email: upserted by it (`idProperty=email`), HubSpot's own create-or-update."""
    return write.match_on is not None and write.kind == "contact" and write.match_on[0] == "email"


def again(run: WriteRun, item: PlannedWrite) -> PlannedWrite:
    """An item held for a later call: a create whose value another item just created becomes an update."""
    if item.matched_on is not None:
        created = run.created.get((item.object_type, *item.matched_on))
        if created is not None:
            return replace(item, op="update", crm_id=created, key=f"id:{item.object_type}:{created}", matched_on=None)
    return item


def one_per_key(items: list[PlannedWrite]) -> tuple[list[PlannedWrite], list[PlannedWrite]]:
    now, later, seen = [], [], set()
    for item in items:
        if item.key is not None and item.key in seen:
            later.append(item)
        else:
            now.append(item)
            if item.key is not None:
                seen.add(item.key)
    return now, later


def grouped(items: list[PlannedWrite]) -> Iterator[tuple[tuple[str, str], list[PlannedWrite]]]:
    groups: dict[tuple[str, str], list[PlannedWrite]] = {}
    for item in items:
        groups.setdefault((item.object_type, item.op), []).append(item)
    return iter(groups.items())


def failed_result(write: OutboundWrite, error: str, retryable: bool = False) -> WriteResult:
    return WriteResult(write.write_id, False, error=error[:1000], retryable=retryable)


def fail_rest(run: WriteRun, writes: Sequence[OutboundWrite], stopped: Exception) -> None:
    for position, write in enumerate(writes):
        if position not in run.results:
            run.results[position] = failed_result(write, f"not sent: {stopped}", is_retryable(stopped))
