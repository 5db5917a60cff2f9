"""How handoffs are laid out in the DynamoDB table `handoffs` (access patterns in `shared/catalog/handoffs.py`):
keys, items, the encodings of their values and the listing cursor. The repository (`dynamodb_handoffs.py`)
reads and writes through this.

Items, all under `pk` + `sk`:

- `HANDOFF#<id>` / `STATE`: the whole handoff (history, skips and details inside) with its `version`, plus the
  index keys `status_partition=STATUS#<status>` (by-status), `rep_partition=REP#<rep id>` (by-rep, only while
  a rep is assigned), `day_partition=DAY#<yyyy-mm-dd of requested_at in UTC>` (by-day) and, for all three,
  `requested_sort=<requested_at>#<id>`. Each history entry is a map; `state` (the team, priority, queue, rule
  and deadlines as the transition left them) and `cause_event_id` are absent on entries stored before them.
- `LEAD#<lead id>` / `OPEN_HANDOFF`: the open handoff holding the lead (`handoff_id`).
- `LEAD#customer:<account id>` / `ONBOARDED`: the handoff that last onboarded the customer (`handoff_id`).
- `UNANNOUNCED#<shard 0-7>` / `HANDOFF#<id>`: a handoff whose last commit left a transition unannounced
  (`announced < len(history)`), put in the same transaction as that commit and deleted in the one recording
  it announced; the sweep queries the eight shards to announce what a failure after a commit left unannounced.
- `REPS` / `REP#<rep id>`: a rep's load: `open_handoffs`, `assignments`, `rotation` (round robin's pass;
  absent: 0), the run-time overrides `available` and `capacity` (absent: no override), `overrides_version` and
  `version`.

Datetimes are stored as fixed-width UTC ISO strings with microseconds (they sort as they compare) and come
back aware in UTC. `details` is stored as a DynamoDB map, so its values must be JSON values: strings, numbers,
booleans, null, lists and maps with string keys. Numbers are DynamoDB numbers (at most 38 significant digits):
a float is stored as the shortest decimal that reads back as it; every number comes back as an `int` when it
is whole and as a `Decimal` otherwise.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, DecimalException
from typing import Any

from boto3.dynamodb.types import DYNAMODB_CONTEXT

from shared.adapters.dynamodb_items import MAX_ITEM_BYTES, iso, iso_or_none, item_size, when, when_or_none
from shared.errors import InvalidInput, TooLarge
from shared.handoffs.model import (
    EntryState,
    FirstTouch,
    Handoff,
    HandoffKind,
    HandoffStatus,
    HistoryEntry,
    Priority,
    RepLoad,
    Skip,
    SkipReason,
    SlaKind,
    TouchChannel,
)

STATE, OPEN_HANDOFF, ONBOARDED, REPS = "STATE", "OPEN_HANDOFF", "ONBOARDED", "REPS"
UNANNOUNCED_SHARDS = 8  # a burst of commits spreads its markers over this many partitions
BAD_CURSOR = "cursor is not one this API returned for this query; start again without it"


# ----------------------------------------------------------------------------------------------------- keys


def handoff_pk(handoff_id: str) -> str:
    return f"HANDOFF#{handoff_id}"


def lead_pk(lead_id: str) -> str:
    return f"LEAD#{lead_id}"


def unannounced_pk(handoff_id: str) -> str:
    return f"UNANNOUNCED#{zlib.crc32(handoff_id.encode()) % UNANNOUNCED_SHARDS}"


def unannounced_shards() -> list[str]:
    return [f"UNANNOUNCED#{shard}" for shard in range(UNANNOUNCED_SHARDS)]


def unannounced_item(handoff_id: str) -> dict[str, Any]:
    return {
        "pk": unannounced_pk(handoff_id),
        "sk": handoff_pk(handoff_id),
        "entity": "unannounced",
        "handoff_id": handoff_id,
    }


def rep_sk(rep_id: str) -> str:
    return f"REP#{rep_id}"


def status_partition(status: HandoffStatus) -> str:
    return f"STATUS#{HandoffStatus(status).value}"


def rep_partition(rep_id: str) -> str:
    return f"REP#{rep_id}"


def day_partition(day: date) -> str:
    return f"DAY#{day.isoformat()}"


def requested_sort(requested_at: datetime, handoff_id: str) -> str:
    """The three indexes' sort key: newest last in string order, ties (one instant) by handoff id."""
    return f"{iso(requested_at)}#{handoff_id}"


# ------------------------------------------------------------------------------------------------- handoffs


def handoff_item(handoff: Handoff) -> dict[str, Any]:
    """The `STATE` item of a handoff, plain values (`serialize` makes it DynamoDB JSON)."""
    item: dict[str, Any] = {
        "pk": handoff_pk(handoff.handoff_id),
        "sk": STATE,
        "entity": "handoff",
        "handoff_id": handoff.handoff_id,
        "lead_id": handoff.lead_id,
        "kind": HandoffKind(handoff.kind).value,
        "priority": Priority(handoff.priority).value,
        "status": HandoffStatus(handoff.status).value,
        "team": handoff.team,
        "requested_at": iso(handoff.requested_at),
        "rep_id": handoff.rep_id,
        "queue": handoff.queue,
        "rule_id": handoff.rule_id,
        "strategy": handoff.strategy,
        "assigned_at": iso_or_none(handoff.assigned_at),
        "accepted_at": iso_or_none(handoff.accepted_at),
        "sla_due_at": iso_or_none(handoff.sla_due_at),
        "first_touch_due_at": iso_or_none(handoff.first_touch_due_at),
        "first_touch": _first_touch_map(handoff.first_touch) if handoff.first_touch else None,
        "reassignments": int(handoff.reassignments),
        "excluded_reps": list(handoff.excluded_reps),
        "skips": [{"rep_id": skip.rep_id, "reason": SkipReason(skip.reason).value} for skip in handoff.skips],
        "history": [_history_map(entry) for entry in handoff.history],
        "cause_event_id": handoff.cause_event_id,
        "customer_id": handoff.customer_id,
        "details": storable(handoff.details, "details"),
        "announced": int(handoff.announced),
        "version": int(handoff.version),
        "status_partition": status_partition(handoff.status),
        "day_partition": day_partition(handoff.requested_at.astimezone(UTC).date()),
        "requested_sort": requested_sort(handoff.requested_at, handoff.handoff_id),
    }
    if handoff.rep_id is not None:
        item["rep_partition"] = rep_partition(handoff.rep_id)
    return {name: value for name, value in item.items() if value is not None}


def handoff_from(item: Mapping[str, Any]) -> Handoff:
    return Handoff(
        handoff_id=item["handoff_id"],
        lead_id=item["lead_id"],
        kind=HandoffKind(item["kind"]),
        priority=Priority(item["priority"]),
        status=HandoffStatus(item["status"]),
        team=item["team"],
        requested_at=when(item["requested_at"]),
        rep_id=item.get("rep_id"),
        queue=item.get("queue"),
        rule_id=item.get("rule_id"),
        strategy=item.get("strategy"),
        assigned_at=when_or_none(item.get("assigned_at")),
        accepted_at=when_or_none(item.get("accepted_at")),
        sla_due_at=when_or_none(item.get("sla_due_at")),
        first_touch_due_at=when_or_none(item.get("first_touch_due_at")),
        first_touch=_first_touch(item["first_touch"]) if item.get("first_touch") else None,
        reassignments=int(item.get("reassignments", 0)),
        excluded_reps=tuple(item.get("excluded_reps", ())),
        skips=tuple(Skip(skip["rep_id"], SkipReason(skip["reason"])) for skip in item.get("skips", ())),
        history=tuple(_history_entry(entry) for entry in item.get("history", ())),
        cause_event_id=item.get("cause_event_id"),
        customer_id=item.get("customer_id"),
        details=_numbers_back(item.get("details", {})),
        announced=int(item.get("announced", 0)),
        version=int(item["version"]),
    )


def _history_map(entry: HistoryEntry) -> dict[str, Any]:
    mapped = {
        "at": iso(entry.at),
        "status": HandoffStatus(entry.status).value,
        "actor": entry.actor,
        "cause": entry.cause,
        "rep_id": entry.rep_id,
        "event": entry.event,
        "previous_rep_id": entry.previous_rep_id,
        "sla": SlaKind(entry.sla).value if entry.sla else None,
        "state": _state_map(entry.state) if entry.state is not None else None,
        "cause_event_id": entry.cause_event_id,
    }
    return {name: value for name, value in mapped.items() if value is not None}


def _state_map(state: EntryState) -> dict[str, Any]:
    mapped = {
        "team": state.team,
        "priority": Priority(state.priority).value,
        "queue": state.queue,
        "rule_id": state.rule_id,
        "sla_due_at": iso_or_none(state.sla_due_at),
        "first_touch_due_at": iso_or_none(state.first_touch_due_at),
    }
    return {name: value for name, value in mapped.items() if value is not None}


def _state(mapped: Mapping[str, Any]) -> EntryState:
    return EntryState(
        team=mapped["team"],
        priority=Priority(mapped["priority"]),
        queue=mapped.get("queue"),
        rule_id=mapped.get("rule_id"),
        sla_due_at=when_or_none(mapped.get("sla_due_at")),
        first_touch_due_at=when_or_none(mapped.get("first_touch_due_at")),
    )


def _history_entry(mapped: Mapping[str, Any]) -> HistoryEntry:
    return HistoryEntry(
        at=when(mapped["at"]),
        status=HandoffStatus(mapped["status"]),
        actor=mapped["actor"],
        cause=mapped["cause"],
        rep_id=mapped.get("rep_id"),
        event=mapped.get("event"),
        previous_rep_id=mapped.get("previous_rep_id"),
        sla=SlaKind(mapped["sla"]) if mapped.get("sla") else None,
        # absent on entries stored before a transition kept its fields: their events report the handoff's own
        state=_state(mapped["state"]) if mapped.get("state") else None,
        cause_event_id=mapped.get("cause_event_id"),
    )


def _first_touch_map(touch: FirstTouch) -> dict[str, Any]:
    mapped = {
        "at": iso(touch.at),
        "channel": TouchChannel(touch.channel).value,
        "actor": touch.actor,
        "rep_id": touch.rep_id,
        "note": touch.note,
    }
    return {name: value for name, value in mapped.items() if value is not None}


def _first_touch(mapped: Mapping[str, Any]) -> FirstTouch:
    return FirstTouch(
        at=when(mapped["at"]),
        channel=TouchChannel(mapped["channel"]),
        actor=mapped["actor"],
        rep_id=mapped.get("rep_id"),
        note=mapped.get("note"),
    )


def lock_item(lead_id: str, handoff_id: str) -> dict[str, Any]:
    return {
        "pk": lead_pk(lead_id),
        "sk": OPEN_HANDOFF,
        "entity": "open_handoff",
        "lead_id": lead_id,
        "handoff_id": handoff_id,
    }


def onboarded_item(subject: str, handoff_id: str) -> dict[str, Any]:
    return {"pk": lead_pk(subject), "sk": ONBOARDED, "entity": "onboarded", "handoff_id": handoff_id}


def rep_load_from(item: Mapping[str, Any]) -> RepLoad:
    capacity = item.get("capacity")
    return RepLoad(
        rep_id=item["rep_id"],
        open_handoffs=int(item.get("open_handoffs", 0)),
        assignments=int(item.get("assignments", 0)),
        available=item.get("available"),
        capacity=None if capacity is None else int(capacity),
        overrides_version=item.get("overrides_version"),
        rotation=int(item.get("rotation", 0)),
        version=int(item.get("version", 0)),
    )


def check_size(item: dict[str, Any], what: str) -> None:
    """DynamoDB refuses items over 400 KB: checked before writing, so the caller hears what is too big."""
    size = item_size(item)
    if size > MAX_ITEM_BYTES:
        largest = max(item, key=lambda name: item_size({name: item[name]}))
        raise TooLarge(
            f"{what} would be {size} bytes, over DynamoDB's item limit of 400 KB "
            f"(its `{largest}` takes {item_size({largest: item[largest]})})"
        )


# ------------------------------------------------------------------------------------------------ encodings


def storable(value: Any, path: str) -> Any:
    """A JSON value as DynamoDB stores it (tuples become lists, floats decimals); ValueError naming the path of
    anything else, and of numbers DynamoDB cannot hold (not finite, over 38 digits, out of range)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float | Decimal):
        return _number(value, path)
    if isinstance(value, list | tuple):
        return [storable(element, f"{path}[{n}]") for n, element in enumerate(value)]
    if isinstance(value, dict):
        for name in value:
            if not isinstance(name, str):
                raise ValueError(f"{path}: map keys must be strings, not {type(name).__name__}")
        return {name: storable(element, f"{path}.{name}") for name, element in value.items()}
    raise ValueError(f"{path}: {type(value).__name__} is not a JSON value (strings, numbers, lists, maps, null)")


def _number(value: int | float | Decimal, path: str) -> Decimal:
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise ValueError(f"{path}: {value!r} cannot be stored as a DynamoDB number")
    try:
        return DYNAMODB_CONTEXT.create_decimal(number)
    except DecimalException:
        raise ValueError(f"{path}: {value!r} has more digits or magnitude than a DynamoDB number holds") from None


def _numbers_back(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, list):
        return [_numbers_back(element) for element in value]
    if isinstance(value, dict):
        return {name: _numbers_back(element) for name, element in value.items()}
    return value


# --------------------------------------------------------------------------------------------------- cursor


@dataclass(frozen=True)
class Position:
    """Where a listing page ended: the `requested_sort` of its last handoff, and the query it was a page of
    (a cursor is refused by another query)."""

    after: str
    status: str | None
    rep_id: str | None
    priority: str | None
    oldest_first: bool = False  # the listing's order: `after` is then the last returned in ascending order


def encode_cursor(position: Position) -> str:
    document: dict[str, Any] = {
        "after": position.after,
        "status": position.status,
        "rep": position.rep_id,
        "p": position.priority,
    }
    if position.oldest_first:
        document["o"] = True  # newest-first cursors stay as they were issued before the order existed
    return base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str) -> Position:
    """InvalidInput unless the cursor is one `encode_cursor` made (the sort key it holds must parse)."""
    try:
        document = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        position = Position(
            document["after"], document["status"], document["rep"], document["p"], document.get("o", False)
        )
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeError):
        raise InvalidInput(BAD_CURSOR) from None
    if position.oldest_first is not True and position.oldest_first is not False:
        raise InvalidInput(BAD_CURSOR)
    if not isinstance(position.after, str) or not all(
        part is None or isinstance(part, str) for part in (position.status, position.rep_id, position.priority)
    ):
        raise InvalidInput(BAD_CURSOR)
    moment, hash_sign, handoff_id = position.after.partition("#")
    try:
        well_formed = bool(hash_sign) and requested_sort(datetime.fromisoformat(moment), handoff_id) == position.after
    except ValueError:
        well_formed = False
    if not well_formed:
        raise InvalidInput(BAD_CURSOR)
    return position
