"""The person's part of the `success` table (a `shared.privacy.ports.PersonalStore`, access patterns in
`shared/catalog/success.py`): signals found by key, under the person's references and in their accounts' logs,
and the product feedback they gave or that names them (`dynamodb_privacy_feedback.py`, which says how it is found
and why it is anonymized rather than deleted); what is deleted and what is kept, and why, at the class."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import suppress
from typing import Any

from shared.adapters.dynamodb_items import plain
from shared.adapters.dynamodb_privacy_feedback import FeedbackPrivacy
from shared.adapters.dynamodb_privacy_items import (
    delete_items,
    exported,
    item_key,
    json_ready,
    query_partition,
    string_attribute,
)
from shared.adapters.dynamodb_success_items import FILED, PARKED_LOGS
from shared.privacy.model import Needles, Person
from shared.privacy.redaction import mentions, redact
from shared.success.signals import SignalKind, engaged_parking


class SuccessPrivacy:
    """Table `success`: signals parked under one of the person's references (`TENANT#unlinked:<reference>`, and
    the engagements parked under `unlinked:engaged:<email>` until a plan names them the sponsor), with those
    logs' index entries (`PARKED`, naming what the person's event named), are deleted; in their accounts' logs,
    the signals their own events made (a survey answer: the signal id is the event id) are deleted with their
    claims (`FILED#<event id>`), and any other signal value naming them is anonymized field by field (a signal
    keeps the shape health reads: a milestone the person owns stays, its owner erased). A `carried` signal (copies of
    older signals, `shared.success.carry`) loses the copies of the person's own events and has its other copies
    anonymized the same way, each copy whole: the copies are the log past the read window, and an erased copy
    would put back what the erasure took. Health snapshots are the account's and stay (the next signal
    recomputes them from what is left). Product feedback the person gave loses their email and its text,
    feedback naming them the text naming them; each stays in the ranking (`FeedbackPrivacy`). An export lists
    the signals (of a `carried` signal, only the person's copies), then the feedback items."""

    name = "success"

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table
        self._feedback = FeedbackPrivacy(client, table)

    def _parked(self, person: Person) -> Iterator[dict[str, Any]]:
        references = [person.email] + [k.replace("#", ":", 1) for k in person.identity_keys]
        references.append(engaged_parking(person.email))
        for reference in dict.fromkeys(references):
            yield from query_partition(self._client, self._table, f"TENANT#unlinked:{reference}")
            # the parked log's index entry names the person too (what their event named: the nightly's adoption)
            key = {"pk": {"S": PARKED_LOGS}, "sk": {"S": f"unlinked:{reference}"}}
            entry = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
            if entry:
                yield entry

    def _theirs(self, person: Person) -> Iterator[tuple[dict[str, Any], bool]]:
        """The account signals that came from the person's events (True) or that name them or hold a copy of
        one of their events (False)."""
        needles = person.needles
        for account in person.account_ids:
            for item in query_partition(self._client, self._table, f"TENANT#{account}", "SIGNAL#"):
                if string_attribute(item, "signal_id") in person.event_ids:
                    yield item, True
                elif mentions(json_ready(plain(item)), needles, strong_only=False) or _copies_of(item, person):
                    yield item, False

    def export(self, person: Person) -> list[dict[str, Any]]:
        signals = [exported(item) for item in self._parked(person)]
        signals += [_exported_signal(item, person) for item, _ in self._theirs(person)]
        return signals + self._feedback.export(person)

    def erase(self, person: Person) -> int:
        parked = [item_key(i) for i in self._parked(person)]
        own: list[dict[str, Any]] = []
        named: list[dict[str, Any]] = []
        for item, from_them in self._theirs(person):
            (own if from_them else named).append(item)
        # The claims those signals were filed with (`FILED#<event id>`) name the person's events too: deleted with
        # them, their keys from the signals themselves (no read), not counted (they hold nothing else of theirs)
        claims = [_claim_key(i) for i in own]
        erased = delete_items(self._client, self._table, parked + [item_key(i) for i in own] + claims) - len(claims)
        for item in named:
            self._rewrite(item, person)
            erased += 1
        # A second pass over the carried signals: a recomputation that read the log before the first pass may
        # have written one copying what it erased (the health service checks the other way round: a carried
        # signal written after this pass is dropped again when what it copied changed, `HealthService`)
        for item, _ in self._theirs(person):
            if string_attribute(item, "kind") == SignalKind.CARRIED.value:
                self._rewrite(item, person)
                erased += 1
        return erased + self._feedback.erase(person)

    def _rewrite(self, item: Mapping[str, Any], person: Person) -> None:
        """A signal's values without the person (of a carried signal, also without the copies of their events)."""
        values = _values(item)
        if string_attribute(item, "kind") == SignalKind.CARRIED.value:
            values = _carried_without(values, person)
        else:
            values = _anonymized(values, person.needles)
        with suppress(self._client.exceptions.ConditionalCheckFailedException):  # dropped meanwhile: nothing left
            self._client.update_item(
                TableName=self._table,
                Key=item_key(item),
                UpdateExpression="SET #values = :values",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#values": "values"},
                ExpressionAttributeValues={":values": {"S": json.dumps(values, separators=(",", ":"))}},
            )


def _claim_key(item: Mapping[str, Any]) -> dict[str, Any]:
    """The key of the claim a signal's item was filed with (`dynamodb_success_items.claim_key`: its id, and its
    time as the item's `at` holds it)."""
    signal_id, at = string_attribute(item, "signal_id"), string_attribute(item, "at")
    return {"pk": {"S": f"{FILED}{signal_id}"}, "sk": {"S": str(at)}}


def _values(item: Mapping[str, Any]) -> dict[str, Any]:
    values = json.loads(string_attribute(item, "values") or "{}")
    return values if isinstance(values, dict) else {}


def _anonymized(value: Any, needles: Needles) -> Any:
    """`value` without the person, field by field: never an element of a list replaced whole (`redact` would), as
    a signal's values are a record health reads (a plan's milestones, a usage report's features)."""
    if isinstance(value, Mapping):
        return {name: _anonymized(inner, needles) for name, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_anonymized(inner, needles) for inner in value]
    return redact(value, needles)[0]


def _copies(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    copies = values.get("signals")
    return [c for c in copies if isinstance(c, dict)] if isinstance(copies, list) else []


def _is_theirs(copy: Mapping[str, Any], person: Person) -> bool:
    return str(copy.get("signal_id")) in person.event_ids


def _copies_of(item: Mapping[str, Any], person: Person) -> list[dict[str, Any]]:
    """The copies a `carried` signal holds of the person's events or naming them (none for another signal)."""
    if string_attribute(item, "kind") != SignalKind.CARRIED.value:
        return []
    needles = person.needles
    return [c for c in _copies(_values(item)) if _is_theirs(c, person) or mentions(c, needles, strong_only=False)]


def _carried_without(values: Mapping[str, Any], person: Person) -> dict[str, Any]:
    """A `carried` signal's values without the copies of the person's events, its other copies anonymized."""
    kept = [
        {**copy, "values": _anonymized(copy.get("values") or {}, person.needles)}
        for copy in _copies(values)
        if not _is_theirs(copy, person)
    ]
    return {**values, "signals": kept}


def _exported_signal(item: Mapping[str, Any], person: Person) -> dict[str, Any]:
    """A signal as the person's export shows it: a `carried` signal with only the person's copies (the others
    are other people's and the account's)."""
    shown = exported(item)
    if string_attribute(item, "kind") == SignalKind.CARRIED.value:
        shown["values"] = json.dumps({"signals": _copies_of(item, person)}, separators=(",", ":"))
    return shown
