"""An account's expansion signal (`customer.expansion_signal`) as a record the hub creates in each CRM: a task for
the account's rep, or an opportunity, as the mappings' `expansion` object says (`config/crm-mappings.json`). The
hub computes the record's fields once, from the signal; the CRMs hold it from then on (a rep closing the task is
theirs to do: nothing comes back, and the hub writes a field again only if the hub's value changes, which a
signal's never does). One signal is one record (`expansion:<signal event id>`): its CRM id is kept once created,
and the signal's id is written to an idempotency key field that finds the task when that id was lost."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

# What the hub computes for an expansion, each a hub field a mapping of the `expansion` object may write:
EXPANSION_FIELDS = frozenset(
    {
        "signal_id",  # the signal's event id: the idempotency key (the object's `match_on`)
        "subject",  # "Expansion: Acme is ready to expand (readiness 84)": a task's subject, an opportunity's name
        "notes",  # the evidence, the products its use suggests and where the breakdown is
        "due_at",  # when the rep should have acted, ISO 8601 date-time (HubSpot's hs_timestamp, closedate)
        "due_date",  # the same as a date (Salesforce's ActivityDate, CloseDate)
        "status",  # "open": mapped to each CRM's picklist (a task's status, an opportunity's stage)
        "priority",  # "high": mapped to each CRM's picklist
        "owner",  # the account's owner as the CRMs report it (`account.owner`), when the hub knows one
    }
)
# The CRM objects an expansion can be, and the fields each CRM requires to create one (HubSpot refuses a task
# without `hs_timestamp`, a deal without a name and stage; Salesforce an Opportunity without these three)
EXPANSION_OBJECTS: Mapping[str, Mapping[str, frozenset[str]]] = {
    "hubspot": {"tasks": frozenset({"hs_timestamp"}), "deals": frozenset({"dealname", "dealstage"})},
    "salesforce": {"Task": frozenset(), "Opportunity": frozenset({"Name", "StageName", "CloseDate"})},
}
EXPANSION_PARENT = "account"  # an expansion is its account's: linked to it in each CRM, written once it is there
# A signal is worth a rep's call within days, not weeks: the task is due this long after the signal
DUE_AFTER = timedelta(days=3)
OPEN = "open"
HIGH = "high"
# The hub's values of the picklist fields: a mapping of one must say what each CRM it names holds for it
EXPANSION_PICKLISTS: Mapping[str, str] = {"status": OPEN, "priority": HIGH}
# What each CRM holds at most in a field an expansion writes, by its object (Salesforce: an Opportunity's Name 120
# characters, a Task's Subject 255; HubSpot's text properties hold far more, a task's subject is kept to 255 as
# its app shows it): a longer value is cut to fit, ending in an ellipsis, rather than refused
FIELD_LIMITS: Mapping[str, Mapping[str, Mapping[str, int]]] = {
    "hubspot": {"tasks": {"hs_task_subject": 255}, "deals": {"dealname": 255}},
    "salesforce": {"Task": {"Subject": 255}, "Opportunity": {"Name": 120}},
}
ELLIPSIS = "…"


def fitted(crm: str, crm_object: str, crm_field: str, value: str | None) -> str | None:
    """`value` as `crm`'s field of `crm_object` can hold it: cut to its limit, ending in an ellipsis."""
    limit = FIELD_LIMITS.get(crm, {}).get(crm_object, {}).get(crm_field)
    if value is None or limit is None or len(value) <= limit:
        return value
    return value[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def expansion_values(
    signal_id: str,
    tenant_id: str,
    account_name: str | None,
    readiness: float | None,
    reasons: list[str],
    suggestions: list[str],
    occurred_at: datetime,
) -> dict[str, str]:
    """The fields of the expansion a signal creates (all but its owner, which the account's record gives)."""
    name = account_name or tenant_id
    ready = f" (readiness {_points(readiness)})" if readiness is not None else ""
    due = (occurred_at + DUE_AFTER).astimezone(UTC).replace(microsecond=0)
    notes = [f"{name} became ready to expand on {occurred_at.date().isoformat()}{ready}."]
    if reasons:
        notes.append("Evidence: " + "; ".join(reasons) + ".")
    if suggestions:
        notes.append("Its use suggests: " + ", ".join(suggestions) + ".")
    notes.append(f"Breakdown: GET /api/v1/cs-sales/expansion/{tenant_id}")
    return {
        "signal_id": signal_id,
        "subject": f"Expansion: {name} is ready to expand{ready}",
        "notes": " ".join(notes),
        "due_at": due.isoformat().replace("+00:00", "Z"),
        "due_date": due.date().isoformat(),
        "status": OPEN,
        "priority": HIGH,
    }


def _points(readiness: float) -> str:
    return f"{readiness:.2f}".rstrip("0").rstrip(".")
