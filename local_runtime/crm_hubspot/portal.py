"""The portal the stand-in emulates: its ids, the API's limits, its objects and their properties (the property
schema), the default association types and the webhook subscriptions."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime

from shared.crm.mappings import CrmMappings

BASE_PATH = "/_local/crm/hubspot"
DEFAULT_CLIENT_SECRET = "local-hubspot-client-secret-dev-only"  # noqa: S105 - the stand-in's own, for local use only
PORTAL_ID = 62515
APP_ID = 1_160_452
DEFAULT_USER_ID = 7_100_001  # the "user" an edit is made by when none is named

MAX_BATCH = 100
MAX_ASSOCIATION_BATCH = 2000
MAX_SEARCH_LIMIT = 200
MAX_SEARCH_RESULTS = 10_000
MAX_FILTER_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18
MAX_BODY = 1024 * 1024
MAX_FAULT_CALLS = 1000
MAX_RETRY_AFTER = 3600
MAX_EVENTS_PER_DELIVERY = 100
CALLS_KEPT = 100_000
EVENTS_KEPT = 10_000
DELIVERIES_KEPT = 5000
DELIVERY_TIMEOUT_SECONDS = 5.0
RETRY_DELAYS = (0.1, 0.5, 1.0)
FAULT_KINDS = ("ratelimited", "server_error")

OBJECT_TYPES = ("contacts", "companies", "deals", "tasks")
# The objects an app can subscribe to webhooks of (HubSpot's webhooks API has no task events)
WEBHOOK_OBJECT_TYPES = ("contacts", "companies", "deals")
TYPE_ALIASES = {
    **{name: name for name in OBJECT_TYPES},
    "contact": "contacts",
    "company": "companies",
    "deal": "deals",
    "task": "tasks",
    "0-1": "contacts",
    "0-2": "companies",
    "0-3": "deals",
    "0-27": "tasks",
}
OBJECT_TYPE_IDS = {"contacts": "0-1", "companies": "0-2", "deals": "0-3", "tasks": "0-27"}
SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal", "tasks": "task"}

DEFAULT_KNOWN_PROPERTIES: Mapping[str, frozenset[str]] = {
    "contacts": frozenset(
        {
            "email",
            "firstname",
            "lastname",
            "company",
            "jobtitle",
            "phone",
            "country",
            "lifecyclestage",
            "hs_lead_status",
            "hubspot_owner_id",
            "associatedcompanyid",
            "num_conversion_events",
            "createdate",
            "lastmodifieddate",
            "hs_object_id",
            # made by the portal's admin for the hub
            "revops_score",
            "revops_score_factors",
            "revops_lifecycle_stage",
            "revops_mql_date",
            "revops_handoff_status",
            "revops_sync_version",
        }
    ),
    "companies": frozenset(
        {
            "name",
            "domain",
            "industry",
            "numberofemployees",
            "annualrevenue",
            "country",
            "hubspot_owner_id",
            "lifecyclestage",
            "createdate",
            "hs_lastmodifieddate",
            "hs_object_id",
            "revops_health_score",
            "revops_health_band",
            "revops_sync_version",
        }
    ),
    "deals": frozenset(
        {
            "dealname",
            "amount",
            "dealstage",
            "pipeline",
            "closedate",
            "hubspot_owner_id",
            "createdate",
            "hs_lastmodifieddate",
            "hs_object_id",
            "revops_attribution_summary",
            "revops_sync_version",
            "description",  # HubSpot's own deal description
            # the hub's idempotency key when expansion signals are made deals (README: a deal property to create)
            "revops_signal_id",
        }
    ),
    "tasks": frozenset(
        {
            "hs_timestamp",  # the due date: required to create one
            "hs_task_subject",
            "hs_task_body",
            "hs_task_status",
            "hs_task_priority",
            "hs_task_type",
            "hubspot_owner_id",
            "hs_createdate",
            "hs_lastmodifieddate",
            "hs_object_id",
            "revops_signal_id",  # the hub's idempotency key: the expansion signal a task was made for
        }
    ),
}
MODIFIED_PROPERTY = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
    "tasks": "hs_lastmodifieddate",
}
# Where HubSpot keeps a record's creation date: an activity's (a task's) is `hs_createdate`.
CREATED_PROPERTY = {
    "contacts": "createdate",
    "companies": "createdate",
    "deals": "createdate",
    "tasks": "hs_createdate",
}
# What a create must set (HubSpot's tasks API: `hs_timestamp`, the due date, is required).
REQUIRED_PROPERTIES: Mapping[str, tuple[str, ...]] = {"tasks": ("hs_timestamp",)}
# What HubSpot keeps itself: an input setting one of these is refused.
READ_ONLY_PROPERTIES = frozenset({"hs_object_id", "lastmodifieddate", "hs_lastmodifieddate"})
# What a read returns when it names no properties (plus createdate, the last-modified date and hs_object_id).
DEFAULT_RETURNED = {
    "contacts": ("email", "firstname", "lastname"),
    "companies": ("domain", "name"),
    "deals": ("amount", "closedate", "dealname", "dealstage", "pipeline"),
    "tasks": (),
}
# What a search's free-text `query` looks in.
SEARCHABLE = {
    "contacts": ("firstname", "lastname", "email", "phone", "company"),
    "companies": ("name", "domain", "phone"),
    "deals": ("dealname", "pipeline", "dealstage"),
    "tasks": ("hs_task_subject", "hs_task_body"),
}
# Typed properties, checked where the portal knows them (the others are text).
DATE_PROPERTIES = frozenset(
    {
        "createdate",
        "hs_createdate",
        "lastmodifieddate",
        "hs_lastmodifieddate",
        "closedate",
        "revops_mql_date",
        "hs_timestamp",
    }
)
NUMBER_PROPERTIES = frozenset(
    {
        "num_conversion_events",
        "numberofemployees",
        "annualrevenue",
        "amount",
        "associatedcompanyid",
        "revops_score",
        "revops_health_score",
        "revops_sync_version",
    }
)
NUMERIC = NUMBER_PROPERTIES | {"hs_object_id"}
ENUMERATIONS: Mapping[str, frozenset[str]] = {
    "lifecyclestage": frozenset(
        {
            "subscriber",
            "lead",
            "marketingqualifiedlead",
            "salesqualifiedlead",
            "opportunity",
            "customer",
            "evangelist",
            "other",
        }
    ),
    "hs_lead_status": frozenset(
        {"NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT", "CONNECTED", "BAD_TIMING"}
    ),
    "pipeline": frozenset({"default"}),
    "dealstage": frozenset(
        {
            "appointmentscheduled",
            "qualifiedtobuy",
            "presentationscheduled",
            "decisionmakerboughtin",
            "contractsent",
            "closedwon",
            "closedlost",
        }
    ),
    "hs_task_status": frozenset({"NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"}),
    "hs_task_priority": frozenset({"NONE", "LOW", "MEDIUM", "HIGH"}),
    "hs_task_type": frozenset({"TODO", "CALL", "EMAIL"}),
}
# HubSpot's default (unlabeled) association types between the standard objects.
DEFAULT_ASSOCIATION_TYPES = {
    ("contacts", "companies"): 279,
    ("companies", "contacts"): 280,
    ("deals", "contacts"): 3,
    ("contacts", "deals"): 4,
    ("deals", "companies"): 341,
    ("companies", "deals"): 342,
    ("tasks", "companies"): 192,
    ("companies", "tasks"): 191,
    ("tasks", "contacts"): 204,
    ("contacts", "tasks"): 203,
    ("tasks", "deals"): 216,
    ("deals", "tasks"): 215,
}
# HubSpot's labeled (HUBSPOT_DEFINED) types the stand-in takes too: a contact's primary company, and its reverse
PRIMARY_ASSOCIATION_TYPES = {("contacts", "companies"): 1, ("companies", "contacts"): 2}
SUBSCRIPTION_IDS = {
    f"{SINGULAR[object_type]}.{action}": 1000 + 10 * position + offset
    for position, object_type in enumerate(WEBHOOK_OBJECT_TYPES)
    for offset, action in enumerate(("creation", "propertyChange"))
}
SEARCH_OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    }
)
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")

Clock = Callable[[], datetime]


def subscriptions_of(mappings: CrmMappings) -> dict[str, frozenset[str]]:
    """The properties the hub's HubSpot app subscribes to (`propertyChange`), as README tells a portal's admin:
    every property but those the hub writes and never reads back. Subscribed to those too, every write of the
    hub's score would come back as a webhook per property, each taken through the gateway, the lead processor
    and the sync for nothing."""
    written_only = mappings.written_only("hubspot")
    return {
        object_type: frozenset(known - written_only.get(object_type, frozenset()))
        for object_type, known in DEFAULT_KNOWN_PROPERTIES.items()
        if object_type in WEBHOOK_OBJECT_TYPES
    }


def resolve_object_type(object_type: str) -> str:
    try:
        return TYPE_ALIASES[object_type]
    except KeyError:
        raise ValueError(f"object type must be one of {', '.join(OBJECT_TYPES)}, not {object_type!r}") from None
