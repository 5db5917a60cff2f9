"""The org's records: what each object holds, the checks Salesforce makes of a record's values, saves (with the
workflow rule's notifications they bring) and the records as the REST API shows them."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from local_runtime.crm_salesforce.field_values import coerce_value, json_value, millis
from local_runtime.crm_salesforce.outbound_messages import NOTIFIED, Notification
from local_runtime.crm_salesforce.record_ids import ID, USER_ID, id18, new_pod, numbered_id
from local_runtime.crm_salesforce.refusals import record_error, refusal, shown, shown_name
from local_runtime.crm_salesforce.schema import (
    FIELD_TYPES,
    KEY_PREFIXES,
    LABELS,
    LOOKUP_TARGETS,
    MAX_LENGTHS,
    READ_ONLY,
    REQUIRED,
    record_defaults,
)

_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")


class RecordStore:
    """The records of each object, by id. Not thread-safe by itself: `LocalSalesforce` calls it under its lock."""

    def __init__(self, fields: Mapping[str, Sequence[str]], clock: Callable[[], datetime], api_version: str) -> None:
        self.fields = {sobject: tuple(dict.fromkeys(("Id", *names))) for sobject, names in fields.items()}
        self.by_lower = {sobject: {n.lower(): n for n in names} for sobject, names in self.fields.items()}
        self._clock = clock
        self._api_version = api_version
        self._records: dict[str, dict[str, dict[str, Any]]] = {sobject: {} for sobject in self.fields}
        self._deleted: dict[str, str] = {}
        # A pod of its own per stand-in, so ids from two runs do not collide.
        self._pod = new_pod()
        self._sequence = itertools.count(1)
        self._uncommitted: list[Notification] = []  # saved, queued when the call ends (`LocalSalesforce._transaction`)

    def take_uncommitted(self) -> list[Notification]:
        """The notifications of the saves made since the last call, in the order of the saves."""
        notifications, self._uncommitted = self._uncommitted, []
        return notifications

    def known(self, sobject: str, status: int = 400) -> None:
        if sobject not in self.fields:
            if status == 404:
                raise refusal("NOT_FOUND", "The requested resource does not exist", 404)
            raise refusal("INVALID_TYPE", f"sObject type '{shown(sobject)}' is not supported.")

    def records_of(self, sobject: str) -> dict[str, dict[str, Any]]:
        if sobject not in self._records:
            raise LookupError(f"no such object {sobject!r}; objects: {', '.join(self._records)}")
        return self._records[sobject]

    def find(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        """The record of `sobject` with the id (15 or 18 characters), or None."""
        return self.records_of(sobject).get(id18(record_id) if len(record_id) == 15 else record_id)

    def existing(self, sobject: str, record_id: str) -> dict[str, Any]:
        key = id18(record_id) if len(record_id) == 15 and ID.fullmatch(record_id) else record_id
        found = self._records[sobject].get(key)
        if found is not None:
            return found
        if key in self._deleted:
            raise refusal("ENTITY_IS_DELETED", "entity is deleted", 404)
        raise refusal("NOT_FOUND", "The requested resource does not exist", 404)

    def delete(self, sobject: str, record_id: str) -> None:
        existing = self.existing(sobject, record_id)
        del self._records[sobject][existing["Id"]]
        self._deleted[existing["Id"]] = sobject

    def record_type(self, record: object) -> str:
        if not isinstance(record, dict):
            raise refusal("JSON_PARSER_ERROR", "each record must be a JSON object")
        attributes = record.get("attributes")
        sobject = attributes.get("type") if isinstance(attributes, dict) else None
        if not isinstance(sobject, str) or not sobject:
            raise refusal("INVALID_TYPE", "Must send a concrete entity type.")
        self.known(sobject)
        return sobject

    def update_target(
        self, sobject: str, record_id: object, seen: set[str]
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        if not isinstance(record_id, str) or not record_id:
            return None, [record_error("MISSING_ARGUMENT", "Id not specified in an update call")]
        if not ID.fullmatch(record_id) or not record_id.startswith(KEY_PREFIXES[sobject]):
            return None, [record_error("MALFORMED_ID", f"malformed id {record_id[:40]}", ["Id"])]
        key = id18(record_id) if len(record_id) == 15 else record_id
        if key in seen:
            return None, [record_error("DUPLICATE_VALUE", f"Duplicate id in list: {key}", ["Id"])]
        seen.add(key)
        found = self._records[sobject].get(key)
        if found is None:
            if key in self._deleted:
                return None, [record_error("ENTITY_IS_DELETED", "entity is deleted")]
            return None, [record_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")]
        return found, []

    def find_for_edit(
        self, sobject: str | None, record_id: str | None, email: str | None
    ) -> tuple[str, dict[str, Any]]:
        if sobject is not None and sobject not in self.fields:
            raise refusal("INVALID_TYPE", f"sObject type '{shown(sobject)}' is not supported.")
        if record_id is not None:
            key = id18(record_id) if len(record_id) == 15 and ID.fullmatch(record_id) else record_id
            for name in [sobject] if sobject else list(self._records):
                found = self._records[name].get(key)
                if found is not None:
                    return name, found
            raise LookupError(f"no {sobject or 'record'} has the id {record_id[:40]}")
        wanted = (email or "").casefold()
        for name in [sobject] if sobject else ["Lead", "Contact"]:
            for record in self._records.get(name, {}).values():
                if isinstance(record.get("Email"), str) and record["Email"].casefold() == wanted:
                    return name, record
        raise LookupError(f"no {sobject or 'Lead or Contact'} has the email {(email or '')[:80]}")

    def coerce(self, sobject: str, body: Mapping[str, Any], allowed: Sequence[str] = ()) -> dict[str, Any]:
        """The body's fields by their names, their values as the field's type holds them; a field the object
        does not have, or a value its type cannot take, refuses the whole call (as Salesforce's JSON parser does)."""
        values: dict[str, Any] = {}
        for key, value in body.items():
            if key in allowed:
                continue
            name = self.by_lower[sobject].get(str(key).lower())
            if name is None:
                raise refusal("INVALID_FIELD", f"No such column '{shown_name(key)}' on sobject of type {sobject}")
            values[name] = coerce_value(name, FIELD_TYPES.get(name, "string"), value)
        return values

    def errors(
        self, sobject: str, values: Mapping[str, Any], existing: Mapping[str, Any] | None
    ) -> list[dict[str, Any]]:
        """What Salesforce says of this record's values: nothing when it saves them."""
        errors = []
        read_only = [name for name in values if name in READ_ONLY and name != "Id"]
        if read_only:
            message = (
                f"Unable to create/update fields: {', '.join(read_only)}. Please check the security settings of "
                "this field and verify that it is read/write for your profile or permission set."
            )
            errors.append(record_error("INVALID_FIELD_FOR_INSERT_UPDATE", message, read_only))
        merged = {**(existing or {}), **values}
        missing = [n for n in REQUIRED.get(sobject, ()) if n in self.fields[sobject] and merged.get(n) in (None, "")]
        if missing:
            errors.append(
                record_error("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
            )
        for name, value in values.items():
            if value is None or name in READ_ONLY:
                continue
            kind = FIELD_TYPES.get(name, "string")
            if kind == "email" and not _EMAIL.fullmatch(value):
                errors.append(
                    record_error("INVALID_EMAIL_ADDRESS", f"Email: invalid email address: {value[:80]}", [name])
                )
            elif kind in MAX_LENGTHS and len(value) > MAX_LENGTHS[kind]:
                message = f"{name}: data value too large: {value[:40]}... (max length={MAX_LENGTHS[kind]})"
                errors.append(record_error("STRING_TOO_LONG", message, [name]))
            elif (kind == "user" and not USER_ID.fullmatch(value)) or (
                kind == "reference" and not self._references(name, value)
            ):
                message = f"{LABELS.get(name, name)}: id value of incorrect type: {value[:40]}"
                errors.append(record_error("INVALID_CROSS_REFERENCE_KEY", message, [name]))
        return errors

    def _references(self, name: str, value: str) -> bool:
        key = id18(value) if len(value) == 15 and ID.fullmatch(value) else value
        return any(key in self._records.get(target, {}) for target in LOOKUP_TARGETS.get(name, ()))

    def save(
        self,
        sobject: str,
        existing: dict[str, Any] | None,
        values: Mapping[str, Any],
        user: str,
        modified_at: datetime | None,
    ) -> dict[str, Any]:
        now = millis(self._clock())
        if existing is None:
            record: dict[str, Any] = dict.fromkeys(self.fields[sobject])
            record |= {"CreatedDate": now, "OwnerId": user} | record_defaults(sobject)
            record["Id"] = self.new_id(KEY_PREFIXES[sobject])
            self._records[sobject][record["Id"]] = record
        else:
            record = existing
        record.update({k: v for k, v in values.items() if k != "Id"})
        if sobject == "Opportunity":
            stage = str(record.get("StageName") or "").strip().lower()
            record["IsWon"] = stage == "closed won"
            record["IsClosed"] = stage in ("closed won", "closed lost")
        record["LastModifiedDate"] = millis(modified_at) if modified_at is not None else now
        record["LastModifiedById"] = user
        record["SystemModstamp"] = now
        for name in [n for n in record if n not in self.fields[sobject]]:
            del record[name]
        if sobject in NOTIFIED:  # the workflow rule: created, and every time it's edited
            self._uncommitted.append(Notification(self.new_id("04l"), sobject, dict(record)))
        return record

    def new_id(self, prefix: str) -> str:
        return numbered_id(prefix, self._pod, next(self._sequence))

    def field_list(self, sobject: str, requested: str | None) -> tuple[str, ...]:
        if not requested:
            return self.fields[sobject]
        names = []
        for raw in requested.split(","):
            name = self.by_lower[sobject].get(raw.strip().lower())
            if name is None:
                raise refusal("INVALID_FIELD", f"No such column '{shown_name(raw.strip())}' on entity '{sobject}'")
            names.append(name)
        return tuple(dict.fromkeys(names))

    def view(
        self,
        sobject: str,
        record: Mapping[str, Any],
        names: Iterable[str] | None = None,
        version: str | None = None,
    ) -> dict[str, Any]:
        url = f"/services/data/v{version or self._api_version}/sobjects/{sobject}/{record['Id']}"
        view: dict[str, Any] = {"attributes": {"type": sobject, "url": url}}
        for name in names if names is not None else self.fields[sobject]:
            view[name] = json_value(record.get(name))
        return view
