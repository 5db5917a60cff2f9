"""The SOQL `SalesforceCrm` (`salesforce_crm.py`) sends, and the checks that keep what goes into it a name or a
quoted value: a record's fields to ask for, the changes since a time, the records a batch of writes matches."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime

from simple_salesforce.format import format_soql

from shared.crm.ports import CrmRefused

MAX_IN_CHARACTERS = 6_000  # of a match query's IN list: the query goes in a GET's URL (16 KB at most, encoded)

FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")


def asked_fields(fields: Sequence[str]) -> list[str]:
    """The fields to ask for: Id and LastModifiedDate first, each once (SOQL names have no case)."""
    for name in fields:
        if not FIELD_NAME.fullmatch(name):
            raise CrmRefused(f"{name[:80]!r} is not a Salesforce field name")
    asked: dict[str, str] = {}
    for name in ("Id", "LastModifiedDate", *fields):
        asked.setdefault(name.lower(), name)
    return list(asked.values())


def changes_query(sobject: str, fields: Sequence[str], since: datetime, limit: int) -> str:
    """The records of `sobject` changed after `since` (in UTC), oldest change first, at most `limit`."""
    # SOQL's date-times have whole seconds: the query starts at the second, and what changed within it
    # before `since` is left out by the caller
    literal = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    # field names are checked to be names (`asked_fields`), the object is one of SOBJECTS
    return (
        f"SELECT {', '.join(asked_fields(fields))} FROM {sobject} WHERE LastModifiedDate > {literal} "  # noqa: S608
        f"ORDER BY LastModifiedDate ASC LIMIT {int(limit)}"
    )


def match_query(sobject: str, field: str, values: list[str]) -> str:
    """The records of `sobject` whose `field` (checked to be a name) is one of the values, oldest first;
    converted Leads left out."""
    unconverted = " AND IsConverted = false" if sobject == "Lead" else ""
    # the field is checked to be a name, the values quoted by simple-salesforce's format_soql
    return (
        f"SELECT Id, {field} FROM {sobject} WHERE {field} IN {format_soql('{}', values)}"  # noqa: S608
        f"{unconverted} ORDER BY CreatedDate ASC"
    )


def in_lists(values: Sequence[str], most: int) -> Iterator[list[str]]:
    """The values in lists for `IN (...)`: at most `most` a list, and MAX_IN_CHARACTERS once quoted."""
    chunk: list[str] = []
    size = 0
    for value in values:
        quoted = len(format_soql("{}", value)) + 1
        if chunk and (len(chunk) == most or size + quoted > MAX_IN_CHARACTERS):
            yield chunk
            chunk, size = [], 0
        chunk.append(value)
        size += quoted
    if chunk:
        yield chunk
