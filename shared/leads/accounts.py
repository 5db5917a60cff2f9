"""Accounts: the companies contacts work for. A contact is linked to the account its vendor names (a CRM's
account id, a Stripe customer, a Segment group), else to the account of its work email's domain (never a free
mailbox's); an account that does not exist yet is created, and takes every identity it was found by."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from shared.leads.identity import company_domain
from shared.leads.model import Account, Contact, Identity
from shared.leads.ports import ChangeSet, LeadRepository

DOMAIN = "domain"


MAX_DOMAIN_CHARACTERS = 253  # a DNS name's limit; a longer "domain" is no domain, and would not key an account


def domain_identity(domain: str | None) -> Identity | None:
    return Identity(DOMAIN, domain.casefold()) if domain and len(domain) <= MAX_DOMAIN_CHARACTERS else None


def account_for(
    repo: LeadRepository,
    change: ChangeSet,
    found: Sequence[Identity],
    at: datetime,
    new_id: Callable[[], str],
) -> Account:
    """The account these identities (strongest first) belong to, created when none does; it claims the ones
    no account holds yet, in the change."""
    pending = {key: owner for key, owner in change.account_claims.items() if key in {i.key for i in found}}
    owners = {**repo.account_owners(found), **pending}
    owner = next((owners[i.key] for i in found if i.key in owners), None)
    account = _load(repo, change, owner) if owner else None
    if account is None:
        account = Account(new_id(), created_at=at, updated_at=at)
        change.accounts[account.account_id] = account
    for identity in found:
        if identity.key not in owners:
            change.account_claims[identity.key] = account.account_id
            account.identities.add(identity.key)
            if identity.kind == DOMAIN and account.domain is None:
                account.domain = identity.value
            change.accounts[account.account_id] = account  # its identities changed: saved with the claims
    return account


def link_contact(
    repo: LeadRepository,
    change: ChangeSet,
    contact: Contact,
    named: Identity | None,
    at: datetime,
    new_id: Callable[[], str],
    linked_at: datetime | None = None,
) -> None:
    """Link the contact to the account its vendor names, else (when it has none yet) to its work domain's;
    `linked_at`: when the link was made (the event's time; default `at`)."""
    if contact.account_id and named is None:
        return  # a domain never moves a contact a vendor or an earlier link put somewhere
    found = [i for i in (named, domain_identity(company_domain(contact.email))) if i is not None]
    if not found:
        return
    account = account_for(repo, change, found, at, new_id)
    linked(contact, account.account_id, linked_at or at)


def account_named(
    repo: LeadRepository,
    change: ChangeSet,
    contact: Contact,
    named: Identity,
    at: datetime,
    new_id: Callable[[], str],
) -> Account:
    """The account a vendor's id names for the contact (a CRM's company the hub did not know yet): the one holding
    that id; else, as `link_contact` finds it, its work domain's (which takes the id), unless that account holds
    another id of the same vendor (another of its companies: the vendor's id is then an account of its own);
    else a new one."""
    domain = domain_identity(company_domain(contact.email))
    found = [named]
    if domain is not None and named.key not in repo.account_owners([named]):
        owner = change.account_claims.get(domain.key) or repo.account_owners([domain]).get(domain.key)
        held = _load(repo, change, owner) if owner else None
        if held is None or not any(Identity.parse(key).kind == named.kind for key in held.identities):
            found.append(domain)
    return account_for(repo, change, found, at, new_id)


def linked(contact: Contact, account_id: str, at: datetime) -> None:
    """The contact's account is `account_id` as of `at` (kept as it was when it is that one already)."""
    if contact.account_id != account_id:
        contact.account_id = account_id
        contact.account_linked_at = at


def _load(repo: LeadRepository, change: ChangeSet, account_id: str) -> Account | None:
    return change.accounts.get(account_id) or repo.account(account_id)
