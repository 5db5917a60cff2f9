"""`LocalHubSpot`'s records and their associations: found, checked as HubSpot checks values, created, changed
(each change firing its webhook events) and associated."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from local_runtime.crm_hubspot.portal import (
    CREATED_PROPERTY,
    DATE_PROPERTIES,
    DEFAULT_ASSOCIATION_TYPES,
    DEFAULT_RETURNED,
    EMAIL_PATTERN,
    ENUMERATIONS,
    MODIFIED_PROPERTY,
    NUMBER_PROPERTIES,
    PRIMARY_ASSOCIATION_TYPES,
    READ_ONLY_PROPERTIES,
    REQUIRED_PROPERTIES,
    SINGULAR,
    WEBHOOK_OBJECT_TYPES,
)
from local_runtime.crm_hubspot.records import Record
from local_runtime.crm_hubspot.responses import Problem, Refused, problem_response, shown_value, validation_error
from local_runtime.crm_hubspot.values import is_number, iso, parse_time
from local_runtime.crm_hubspot.webhooks import Source, WebhookEvents


class RecordStore(WebhookEvents):
    """`LocalHubSpot`'s records and associations; its methods are called under the lock. `LocalHubSpot.__init__`
    makes the state; it is declared here so that the type checker sees what these methods use."""

    _known: dict[str, frozenset[str]]
    _subscribed: dict[str, frozenset[str]]
    _multi_status: bool
    _records: dict[str, dict[str, Record]]
    _emails: dict[str, str]
    _associations: set[tuple[str, str, str, str, int]]
    _next_id: int
    _last_ms: int

    def _tick(self) -> datetime:
        """Now, in whole milliseconds, later than any write before: two writes never share a modified date."""
        ms = max(int(self._clock().timestamp() * 1000), self._last_ms + 1)
        self._last_ms = ms
        return datetime.fromtimestamp(ms / 1000, UTC)

    def _api_source(self) -> Source:
        return Source("INTEGRATION", str(self.app_id))

    def _id_property(self, object_type: str, id_property: object, where: str = "") -> str | None:
        if id_property in (None, "", "hs_object_id"):
            return None
        if not isinstance(id_property, str) or id_property not in self._known[object_type]:
            raise Refused(
                validation_error(f"{where}idProperty {shown_value(id_property)} is not a property of {object_type}")
            )
        if (object_type, id_property) != ("contacts", "email"):
            raise Refused(validation_error(f"{id_property} is not a property with unique values of {object_type}"))
        return id_property

    def _lookup(self, object_type: str, key: str, id_property: str | None) -> Record | None:
        if id_property == "email":
            found = self._emails.get(key.strip().lower())
            return self._records[object_type].get(found) if found else None
        return self._records[object_type].get(key)

    def _find(self, object_type: str, record_id: str | None, email: str | None) -> Record | None:
        if record_id is not None:
            return self._records[object_type].get(record_id)
        return self._lookup(object_type, email or "", "email") if object_type == "contacts" else None

    def _returned(self, object_type: str, wanted: list[str] | None) -> list[str]:
        always = [CREATED_PROPERTY[object_type], MODIFIED_PROPERTY[object_type], "hs_object_id"]
        names = list(DEFAULT_RETURNED[object_type]) if wanted is None else wanted
        # HubSpot leaves out what the portal does not have, silently, when reading
        return [name for name in dict.fromkeys([*names, *always]) if name in self._known[object_type] or name in always]

    def _property_problem(self, object_type: str, values: Mapping[str, str], record: Record | None) -> Problem | None:
        invalid = []
        for name, value in values.items():
            error = None
            if name not in self._known[object_type]:
                error = ("PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
            elif name in READ_ONLY_PROPERTIES or (record is not None and name == CREATED_PROPERTY[object_type]):
                error = ("READ_ONLY_VALUE", f'"{name}" is a read only property; its value cannot be set.')
            elif value == "":
                continue
            elif name == "email" and not EMAIL_PATTERN.fullmatch(value):
                error = ("INVALID_EMAIL", f"Email address {value} is invalid")
            elif name in NUMBER_PROPERTIES and not is_number(value):
                error = (
                    "INVALID_INTEGER" if name == "associatedcompanyid" else "INVALID_FLOAT",
                    f"{value} was not a valid number.",
                )
            elif name in DATE_PROPERTIES and parse_time(value) is None:
                error = ("INVALID_DATE", f"{value} was not a valid long or ISO 8601 date.")
            elif name in ENUMERATIONS and value not in ENUMERATIONS[name]:
                options = ", ".join(sorted(ENUMERATIONS[name]))
                error = ("INVALID_OPTION", f"{value} was not one of the allowed options: [{options}]")
            if error is not None:
                code, message = error
                invalid.append(self._invalid(name, code, message))
        for name in REQUIRED_PROPERTIES.get(object_type, ()) if record is None else ():
            if not values.get(name):
                message = f"{name} is required to create a {SINGULAR[object_type]}"
                invalid.append(self._invalid(name, "REQUIRED_PROPERTY", message))
        if not invalid:
            return None
        return Problem(
            400,
            "VALIDATION_ERROR",
            "Property values were not valid: " + json.dumps(invalid, separators=(",", ":")),
            tuple(
                {"message": i["message"], "code": i["error"], "context": {"propertyName": [i["name"]]}} for i in invalid
            ),
        )

    def _invalid(self, name: str, code: str, message: str) -> dict[str, Any]:
        """One property's entry in HubSpot's "Property values were not valid" list."""
        return {
            "isValid": False,
            "message": message,
            "error": code,
            "name": name,
            "localizedErrorMessage": message,
            "portalId": self.portal_id,
        }

    def _values_problem(
        self,
        object_type: str,
        values: Mapping[str, str],
        record: Record | None,
        claimed: set[str] | None = None,
        checked: Mapping[str, str] | None = None,
    ) -> Problem | None:
        """Why HubSpot refuses the values for the record (None: a new one): a property's (of `checked`, the
        values when None), or the email taken in the portal or by an input before (`claimed`)."""
        return self._property_problem(object_type, values if checked is None else checked, record) or self._email_taken(
            object_type, values, record.id if record is not None else None, claimed
        )

    def _email_taken(
        self, object_type: str, values: Mapping[str, str], own_id: str | None, claimed: set[str] | None = None
    ) -> Problem | None:
        email = values.get("email", "").strip().lower()
        if object_type != "contacts" or not email:
            return None
        holder = self._emails.get(email)
        if holder is not None and holder != own_id:
            return Problem(409, "CONFLICT", f"Contact already exists. Existing ID: {holder}")
        if claimed is not None and email in claimed:
            return Problem(409, "CONFLICT", f"Contact already exists. Duplicate email in batch input: {email}")
        return None

    def _inline_associations(
        self, object_type: str, raw: object, where: str = ""
    ) -> tuple[Problem | None, list[tuple[str, str, int]]]:
        """The `associations` of a create: [{"to": {"id"}, "types": [{"associationCategory", "associationTypeId"}]}]."""
        if raw in (None, []):
            return None, []
        if not isinstance(raw, list):
            raise Refused(validation_error(f"{where}associations must be a list"))
        found: list[tuple[str, str, int]] = []
        by_type_id = {v: k for k, v in (DEFAULT_ASSOCIATION_TYPES | PRIMARY_ASSOCIATION_TYPES).items()}
        for position, item in enumerate(raw):
            to = item.get("to") if isinstance(item, dict) else None
            types = item.get("types") if isinstance(item, dict) else None
            if not isinstance(to, dict) or not isinstance(to.get("id"), str | int) or not isinstance(types, list):
                raise Refused(validation_error(f"{where}associations[{position}] must have to.id and types"))
            for kind in types:
                type_id = kind.get("associationTypeId") if isinstance(kind, dict) else None
                pair = by_type_id.get(type_id) if isinstance(type_id, int) else None
                if pair is None or pair[0] != object_type or not isinstance(type_id, int):
                    return Problem(
                        400,
                        "VALIDATION_ERROR",
                        f"{shown_value(type_id)} is not a valid association type from {object_type}",
                    ), []
                if str(to["id"]) not in self._records[pair[1]]:
                    message = f"No {SINGULAR[pair[1]]} with ID {to['id']} exists"
                    return Problem(400, "VALIDATION_ERROR", message, (), {"toObjectId": [str(to["id"])]}), []
                found.append((pair[1], str(to["id"]), type_id))
        return None, found

    def _refuse_unless_traced(self, problems: list[tuple[str | None, str | None, Problem]]) -> None:
        """HubSpot answers a batch's refused inputs one by one (207) only when every one of them carries an
        `objectWriteTraceId`; otherwise the whole batch is refused, nothing of it applied."""
        for trace, _, problem in problems:
            if trace is None or not self._multi_status:
                raise Refused(problem_response(problem))

    def _create(self, object_type: str, values: Mapping[str, str], when: datetime, source: Source) -> Record:
        record_id = str(self._next_id)
        self._next_id += 1
        record = Record(record_id, {CREATED_PROPERTY[object_type]: iso(when), "hs_object_id": record_id}, when, when)
        record.properties[MODIFIED_PROPERTY[object_type]] = iso(when)
        self._records[object_type][record_id] = record
        if object_type in WEBHOOK_OBJECT_TYPES:  # no app subscribes to tasks: HubSpot's webhooks have none
            self._emit([self._event(object_type, record_id, "creation", when, source)])
        self._apply(object_type, record, values, when, source)
        return record

    def _create_associated(
        self,
        object_type: str,
        values: Mapping[str, str],
        associations: Sequence[tuple[str, str, int]],
        when: datetime,
        source: Source,
    ) -> Record:
        record = self._create(object_type, values, when, source)
        for to_type, to_id, type_id in associations:
            self._associate(object_type, record.id, to_type, to_id, type_id)
        return record

    def _apply(
        self, object_type: str, record: Record, values: Mapping[str, str], when: datetime, source: Source
    ) -> list[str]:
        """Sets the values that differ; a change moves the modified date to `when` and fires one propertyChange
        event per property changed that the app subscribed to. Returns the names changed."""
        changed = []
        for name, raw in values.items():
            value = raw.strip().lower() if name == "email" else raw
            old = record.properties.get(name)
            if value == (old or ""):
                continue
            if name == "email" and object_type == "contacts":
                if old:
                    self._emails.pop(old, None)
                if value:
                    self._emails[value] = record.id
            if value:
                record.properties[name] = value
            else:
                del record.properties[name]
            changed.append(name)
        if changed:
            record.properties[MODIFIED_PROPERTY[object_type]] = iso(when)
            record.updated_at = when
            self._emit(
                [
                    self._event(
                        object_type, record.id, "propertyChange", when, source, name, record.properties.get(name, "")
                    )
                    for name in changed
                    if name in self._subscribed.get(object_type, frozenset())
                ]
            )
        return changed

    def _associate_default(
        self, from_type: str, to_type: str, pairs: Sequence[tuple[str, str]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        type_id = DEFAULT_ASSOCIATION_TYPES.get((from_type, to_type))
        reverse_id = DEFAULT_ASSOCIATION_TYPES.get((to_type, from_type))
        results, errors = [], []
        for from_id, to_id in pairs:
            missing = [
                (kind, object_id)
                for kind, object_id in ((from_type, from_id), (to_type, to_id))
                if object_id not in self._records[kind]
            ]
            if type_id is None or reverse_id is None:
                problem = f"No default association from {from_type} to {to_type}"
            elif missing:
                problem = f"No {SINGULAR[missing[0][0]]} with ID {missing[0][1]} exists"
            else:
                self._associate(from_type, from_id, to_type, to_id, type_id)
                for a, b, kind in ((from_id, to_id, type_id), (to_id, from_id, reverse_id)):
                    results.append(
                        {
                            "from": {"id": a},
                            "to": {"id": b},
                            "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": kind},
                        }
                    )
                continue
            errors.append(
                {
                    "status": "error",
                    "category": "VALIDATION_ERROR",
                    "message": problem,
                    "context": {"fromObjectId": [from_id], "toObjectId": [to_id]},
                    "errors": [],
                    "links": {},
                }
            )
        return results, errors

    def _associate(self, from_type: str, from_id: str, to_type: str, to_id: str, type_id: int) -> None:
        primary = type_id == PRIMARY_ASSOCIATION_TYPES.get((from_type, to_type))
        reverse_id = (PRIMARY_ASSOCIATION_TYPES if primary else DEFAULT_ASSOCIATION_TYPES)[(to_type, from_type)]
        contact, company = _contact_and_company(from_type, from_id, to_type, to_id)
        if primary and contact is not None:
            self._unmark_primary(contact, company)
        self._associations |= {
            (from_type, from_id, to_type, to_id, type_id),
            (to_type, to_id, from_type, from_id, reverse_id),
        }
        # A contact's first company becomes its primary one: `associatedcompanyid`, a property change; a primary
        # association (type 1) makes its company the primary one whatever it was.
        if contact is not None and company is not None:
            record = self._records["contacts"][contact]
            if primary or not record.properties.get("associatedcompanyid"):
                self._apply("contacts", record, {"associatedcompanyid": company}, self._tick(), self._api_source())

    def _unmark_primary(self, contact: str, company: str | None) -> None:
        """A contact has one primary company (as HubSpot keeps it): the one it had before stays associated, its
        primary label (type 1, and 2 the other way) gone."""
        contact_to, company_to = (
            PRIMARY_ASSOCIATION_TYPES[("contacts", "companies")],
            PRIMARY_ASSOCIATION_TYPES[("companies", "contacts")],
        )
        old = {
            a[3]
            for a in self._associations
            if a[:3] == ("contacts", contact, "companies") and a[4] == contact_to and a[3] != company
        }
        for former in old:
            self._associations -= {
                ("contacts", contact, "companies", former, contact_to),
                ("companies", former, "contacts", contact, company_to),
            }
            self._associations |= {
                ("contacts", contact, "companies", former, DEFAULT_ASSOCIATION_TYPES[("contacts", "companies")]),
                ("companies", former, "contacts", contact, DEFAULT_ASSOCIATION_TYPES[("companies", "contacts")]),
            }

    def _dissociate(self, from_type: str, to_type: str, pairs: Sequence[tuple[str, str]]) -> None:
        """v4 `batch/archive`: every association between each pair removed (none there: nothing to do). A contact
        losing its primary company takes another of its companies as primary (the lowest id), else none."""
        for from_id, to_id in pairs:
            self._associations = {
                a
                for a in self._associations
                if (a[0], a[1], a[2], a[3])
                not in ((from_type, from_id, to_type, to_id), (to_type, to_id, from_type, from_id))
            }
            contact, company = _contact_and_company(from_type, from_id, to_type, to_id)
            record = self._records["contacts"].get(contact or "")
            if record is None or record.properties.get("associatedcompanyid") != company:
                continue
            left = min(
                (int(a[3]) for a in self._associations if a[:3] == ("contacts", record.id, "companies")), default=None
            )
            successor = str(left) if left is not None else ""
            self._apply("contacts", record, {"associatedcompanyid": successor}, self._tick(), self._api_source())


def _contact_and_company(from_type: str, from_id: str, to_type: str, to_id: str) -> tuple[str | None, str | None]:
    if (from_type, to_type) == ("contacts", "companies"):
        return from_id, to_id
    if (from_type, to_type) == ("companies", "contacts"):
        return to_id, from_id
    return None, None
