"""An account's owner as a CRM's webhook about the account names it, read with the `account.owner` mapping
(HubSpot's `hubspot_owner_id`, Salesforce's `OwnerId`, translated to the hub's rep ids). The lead processor
applies it to the account (`shared.leads.crm_changes` says why not through the sync)."""

from __future__ import annotations

from shared.crm.inbound import crm_report
from shared.crm.mappings import CrmMappings
from shared.events.canonical import CanonicalEvent
from shared.leads.crm_changes import ACCOUNT_OWNER, AccountOwnerChange


class MappedAccountOwners:
    """`AccountOwners` by the CRM mappings; names nothing when they map no inbound account owner."""

    def __init__(self, mappings: CrmMappings) -> None:
        self._mappings = mappings
        mapping = mappings.field("account", ACCOUNT_OWNER)
        self._mapping = mapping if mapping is not None and mapping.inbound else None

    def owner_change(self, event: CanonicalEvent) -> AccountOwnerChange | None:
        if self._mapping is None:
            return None
        report = crm_report(event, self._mappings)
        if report is None or report.kind != "account":
            return None
        crm_field = self._mapping.crm_field(report.crm)
        if crm_field is None or crm_field not in report.values:
            return None
        owner = self._mapping.to_hub(report.crm, report.values[crm_field])
        return None if owner is None else AccountOwnerChange(owner, report.at, report.crm)
