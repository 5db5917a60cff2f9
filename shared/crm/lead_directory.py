"""The hub's directory for CRM sync, read from the lead store: which lead or account a CRM record is (the
identities the lead domain linked, or the email), and what the hub knows of a lead (its profile fields, each
with its own time; its score's top factors) or of an account (its name and domain)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from shared.crm.ports import CrmName, HubProfile
from shared.leads.crm_changes import ACCOUNT_LINK
from shared.leads.identity import normalize_email, vendor_identity
from shared.leads.model import Contact, Identity
from shared.leads.ports import LeadRepository
from shared.scoring.results import Score, points

PROFILE_FIELDS = ("email", "first_name", "last_name", "company", "job_title", "phone", "country")
TOP_FACTORS = 3
MERGE_HOPS = 20  # a chain of merged contacts longer than this is not followed (a cycle written by a bug)


class LeadStoreDirectory:
    def __init__(self, leads: LeadRepository, explain: Callable[[Contact], Score] | None = None) -> None:
        """`explain`: a lead's score with its breakdown (the lead service's `score_of`); without it no factors."""
        self._leads = leads
        self._explain = explain

    def lead_for(self, crm: CrmName, crm_id: str, email: str | None) -> str | None:
        found: list[Identity] = [i for i in (vendor_identity(f"{crm}:{crm_id}"),) if i is not None]
        normalized = normalize_email(email) if email else None
        if normalized:
            found.append(Identity("email", normalized))
        for identity in found:
            owner = self._leads.owners([identity]).get(identity.key)
            if owner:
                contact = self._head(owner)
                return contact.contact_id if contact else owner
        return None

    def account_for(self, crm: CrmName, crm_id: str) -> str | None:
        named = vendor_identity(f"{crm}:{crm_id}")
        return self._leads.account_owners([named]).get(named.key) if named else None

    def contact_profile(self, lead_id: str) -> HubProfile | None:
        contact = self._head(lead_id)
        if contact is None:
            return None
        profile = contact.profile
        values: dict[str, tuple[str | None, datetime]] = {}
        for name in PROFILE_FIELDS:
            value = profile.get(name)
            if value not in (None, "") and name in profile.updated_at:
                text = str(value).strip()
                values[name] = (text.lower() if name == "email" else text, profile.updated_at[name])
        if contact.account_id:
            # the contact's account link (`contact.account`): as of when it was made (before that was kept, when
            # the contact was made)
            values[ACCOUNT_LINK] = (contact.account_id, contact.account_linked_at or contact.created_at)
        return HubProfile(values)

    def score_factors(self, lead_id: str) -> str | None:
        contact = self._head(lead_id)
        if contact is None or self._explain is None:
            return None
        score = self._explain(contact)
        lines = [(line.rule_id, line.points_hundredths) for line in score.fit_lines]
        by_rule: dict[str, int] = {}
        for line in score.engagement_lines:
            by_rule[line.rule_id] = by_rule.get(line.rule_id, 0) + line.points_hundredths
        lines += list(by_rule.items())
        top = sorted((line for line in lines if line[1]), key=lambda line: (-abs(line[1]), line[0]))[:TOP_FACTORS]
        return "; ".join(f"{rule} {points(hundredths):+g}" for rule, hundredths in top) or None

    def account_profile(self, account_id: str) -> HubProfile | None:
        account = self._leads.account(account_id)
        if account is None:
            return None
        values: dict[str, tuple[str | None, datetime]] = {}
        name = account.profile.get("name") or account.profile.get("company")
        if name:
            at = (
                account.profile.updated_at.get("name")
                or account.profile.updated_at.get("company")
                or account.updated_at
            )
            values["name"] = (str(name), at)
        if account.domain:
            values["domain"] = (account.domain, account.created_at)
        return HubProfile(values)

    def account_contacts(self, account_id: str) -> list[str]:
        return self._leads.account_contacts(account_id)

    def _head(self, contact_id: str) -> Contact | None:
        contact = self._leads.contact(contact_id)
        for _ in range(MERGE_HOPS):
            if contact is None or contact.merged_into is None:
                break
            contact = self._leads.contact(contact.merged_into)
        return contact


class NoDirectory:
    """For functions that decide nothing new about who a record is (the API): knows no one."""

    def lead_for(self, crm: CrmName, crm_id: str, email: str | None) -> str | None:
        return None

    def account_for(self, crm: CrmName, crm_id: str) -> str | None:
        return None

    def contact_profile(self, lead_id: str) -> HubProfile | None:
        return None

    def score_factors(self, lead_id: str) -> str | None:
        return None

    def account_profile(self, account_id: str) -> HubProfile | None:
        return None

    def account_contacts(self, account_id: str) -> list[str]:
        return []
