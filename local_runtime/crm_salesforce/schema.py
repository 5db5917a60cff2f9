"""The org's objects and their fields: which fields each object has, their types, which are required, read-only
or lookups, each object's key prefix and what a new record holds before its fields are set."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SYSTEM = ("CreatedDate", "LastModifiedDate", "LastModifiedById", "SystemModstamp")
_REVOPS_PERSON = (
    "RevOps_Score__c",
    "RevOps_Score_Factors__c",
    "RevOps_Lifecycle_Stage__c",
    "RevOps_MQL_Date__c",
    "RevOps_Handoff_Status__c",
    "RevOps_Sync_Version__c",
)
DEFAULT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "Lead": (
        "Id",
        "Email",
        "FirstName",
        "LastName",
        "Company",
        "Title",
        "Phone",
        "Country",
        "Status",
        "LeadSource",
        "OwnerId",
        "Industry",
        "NumberOfEmployees",
        "AnnualRevenue",
        "IsConverted",
        *_SYSTEM,
        *_REVOPS_PERSON,
    ),
    "Contact": (
        "Id",
        "Email",
        "FirstName",
        "LastName",
        "AccountId",
        "Title",
        "Phone",
        "MailingCountry",
        "LeadSource",
        "OwnerId",
        *_SYSTEM,
        *_REVOPS_PERSON,
    ),
    "Account": (
        "Id",
        "Name",
        "Website",
        "Industry",
        "NumberOfEmployees",
        "AnnualRevenue",
        "BillingCountry",
        "OwnerId",
        *_SYSTEM,
        "RevOps_Health_Score__c",
        "RevOps_Health_Band__c",
        "RevOps_Sync_Version__c",
    ),
    "Opportunity": (
        "Id",
        "Name",
        "Amount",
        "StageName",
        "CloseDate",
        "AccountId",
        "OwnerId",
        "IsWon",
        "IsClosed",
        *_SYSTEM,
        "RevOps_Attribution_Summary__c",
        "RevOps_Sync_Version__c",
        "Description",
        "RevOps_Signal_Id__c",  # an opportunity the hub made of an expansion signal: the signal's id
    ),
    "Task": (
        "Id",
        "Subject",
        "WhoId",
        "WhatId",
        "OwnerId",
        "Status",
        "Priority",
        "Description",
        "ActivityDate",
        *_SYSTEM,
        "RevOps_Signal_Id__c",  # the hub's idempotency key: the expansion signal the task was made for
    ),
}
"""The fields each object has (its `Id` first): the default of `LocalSalesforce(fields=...)`."""

KEY_PREFIXES = {"Lead": "00Q", "Contact": "003", "Account": "001", "Opportunity": "006", "Task": "00T"}
REQUIRED = {
    "Lead": ("LastName", "Company"),
    "Contact": ("LastName",),
    "Account": ("Name",),
    "Opportunity": ("Name", "StageName", "CloseDate"),
}
READ_ONLY = frozenset({"Id", *_SYSTEM, "IsConverted", "IsWon", "IsClosed"})
# A field's type by name (any field not named here is text of up to 255 characters).
FIELD_TYPES = {
    "Id": "id",
    "OwnerId": "user",
    "LastModifiedById": "user",
    "AccountId": "reference",
    "WhoId": "reference",
    "WhatId": "reference",
    "CreatedDate": "datetime",
    "LastModifiedDate": "datetime",
    "SystemModstamp": "datetime",
    "CloseDate": "date",
    "ActivityDate": "date",
    "RevOps_MQL_Date__c": "date",
    "IsConverted": "boolean",
    "IsWon": "boolean",
    "IsClosed": "boolean",
    "NumberOfEmployees": "int",
    "AnnualRevenue": "double",
    "Amount": "double",
    "RevOps_Score__c": "double",
    "RevOps_Health_Score__c": "double",
    "RevOps_Sync_Version__c": "double",
    "Email": "email",
    "Description": "textarea",
    "RevOps_Score_Factors__c": "textarea",
    "RevOps_Attribution_Summary__c": "textarea",
}
LOOKUP_TARGETS = {"AccountId": ("Account",), "WhoId": ("Lead", "Contact"), "WhatId": ("Account", "Opportunity")}
MAX_LENGTHS = {"string": 255, "email": 80, "textarea": 131_072}
LABELS = {"OwnerId": "Owner ID", "AccountId": "Account ID", "WhoId": "Name ID", "WhatId": "Related To ID"}


def record_defaults(sobject: str) -> dict[str, Any]:
    defaults: dict[str, dict[str, Any]] = {
        "Lead": {"Status": "Open - Not Contacted", "IsConverted": False},
        "Opportunity": {"IsWon": False, "IsClosed": False},
        "Task": {"Status": "Not Started", "Priority": "Normal"},
    }
    return dict(defaults.get(sobject, {}))
