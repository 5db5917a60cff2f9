"""Which hub account an event or a URL names, read from the lead store: the accounts leads creates and links
contacts to (a CRM's account id, a Stripe customer, a Zendesk organization, a work email's domain)."""

from __future__ import annotations

from shared.events.canonical import Subject
from shared.leads.accounts import domain_identity
from shared.leads.identity import normalize_email, vendor_identity
from shared.leads.model import Identity
from shared.leads.ports import LeadRepository

MERGE_HOPS = 20  # a chain of merged contacts longer than this is not followed (a cycle written by a bug)


class LeadStoreAccounts:
    def __init__(self, leads: LeadRepository) -> None:
        self._leads = leads

    def account_of(self, subject: Subject) -> str | None:
        named = vendor_identity(subject.account_id)
        if named is not None:
            owner = self._leads.account_owners([named]).get(named.key)
            if owner:
                return owner
        person = [i for i in (vendor_identity(subject.contact_id), _email(subject.email)) if i is not None]
        for contact_id in self._leads.owners(person).values():
            account = self._account_of_contact(contact_id)
            if account:
                return account
        return None

    def name_of(self, tenant_id: str) -> str:
        account = self._leads.account(tenant_id)
        return account.domain if account is not None and account.domain else tenant_id

    def contacts_of(self, tenant_id: str) -> list[str]:
        return self._leads.account_contacts(tenant_id)

    def resolve(self, reference: str) -> str | None:
        reference = reference.strip()
        if not reference or len(reference) > 300:
            return None
        if ":" in reference:
            named = vendor_identity(reference)
            return self._leads.account_owners([named]).get(named.key) if named else None
        account = self._leads.account(reference)
        if account is not None:
            return account.account_id
        domain = domain_identity(reference) if "." in reference else None
        return self._leads.account_owners([domain]).get(domain.key) if domain else None

    def _account_of_contact(self, contact_id: str) -> str | None:
        contact = self._leads.contact(contact_id)
        for _ in range(MERGE_HOPS):
            if contact is None or contact.merged_into is None:
                break
            contact = self._leads.contact(contact.merged_into)
        return contact.account_id if contact is not None else None


def _email(value: str | None) -> Identity | None:
    email = normalize_email(value)
    return Identity("email", email) if email else None
