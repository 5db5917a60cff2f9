"""What routing reads of a lead, from the lead domain's store: the person's profile and score, and the owner of
their account when the account has one. Read-only: the handoff domain never writes leads."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from shared.events.canonical import CanonicalEvent
from shared.handoffs.model import HandoffKind, LeadFacts
from shared.leads.crm_changes import ACCOUNT_OWNER
from shared.leads.identity import normalize_email, vendor_identity
from shared.leads.model import Account, Contact, Identity
from shared.leads.ports import LeadRepository

# Attribute names the hub's sources use for the facts routing reads beyond the standard profile fields.
_REGION = ("region", "sales_region")
_STATE = ("state", "state_code", "province")
_LANGUAGE = ("language", "locale", "preferred_language")
_PRODUCTS = ("product_interest", "products", "product")
_OWNER = ("owner_rep_id", "account_owner", "owner")  # a capture's attributes, when no CRM names the owner


class LeadStoreDirectory:
    """`LeadDirectory` over the lead repository (DynamoDB in AWS, the fake in tests)."""

    def __init__(self, leads: LeadRepository) -> None:
        self._leads = leads

    def facts(self, lead_id: str) -> LeadFacts | None:
        contact = self._leads.contact(lead_id)
        if contact is None:
            return None
        account = self._leads.account(contact.account_id) if contact.account_id else None
        return facts_of(contact, account)

    def account_facts(self, account_id: str) -> LeadFacts | None:
        account = self._leads.account(account_id)
        return None if account is None else account_facts_of(account)

    def customer_of(self, event: CanonicalEvent) -> str | None:
        """The hub's account a won deal is about: the account its vendor account id resolves to, else the
        account of its contact (by email), else an account id the sender gave that the hub knows."""
        identity = vendor_identity(event.subject.account_id)
        if identity is not None:
            owner = self._leads.account_owners([identity]).get(identity.key)
            if owner:
                return owner
        email = normalize_email(event.subject.email or _text(event.data.get("email")) or "")
        if email:
            contact_id = self._leads.owners([Identity("email", email)]).get(f"email#{email}")
            contact = self._leads.contact(contact_id) if contact_id else None
            if contact is not None and contact.account_id:
                return contact.account_id
        given = _text(event.data.get("account_id"))
        return given if given and self._leads.account(given) is not None else None


def facts_of(contact: Contact, account: Account | None) -> LeadFacts:
    profile = contact.profile
    attributes: dict[str, Any] = {**(account.profile.attributes if account else {}), **profile.attributes}
    account_values = account.profile.values if account else {}
    score = contact.score

    def value(name: str) -> Any:
        return profile.get(name) if profile.get(name) is not None else account_values.get(name)

    return LeadFacts(
        lead_id=contact.contact_id,
        email=contact.email,
        kind=HandoffKind.LEAD,
        country=_upper(value("country")),
        region=_upper(_first(attributes, _REGION)),
        state=_upper(_first(attributes, _STATE)),
        industry=_text(value("industry")),
        employee_count=_integer(value("employee_count")),
        annual_revenue=_decimal(value("annual_revenue")),
        product_interest=_products(_first(attributes, _PRODUCTS)),
        language=_lower(_first(attributes, _LANGUAGE)),
        score=_decimal(score.total if score else 0) or Decimal(0),
        fit_score=_decimal(score.fit if score else 0) or Decimal(0),
        source=_text(profile.get("source")),
        account_id=contact.account_id,
        account_owner=owner_of(account) if account else None,
    )


def account_facts_of(account: Account) -> LeadFacts:
    """The account's facts alone (no person): what routes a handoff about the account itself."""
    values, attributes = account.profile.values, account.profile.attributes
    return LeadFacts(
        lead_id=account.account_id,
        kind=HandoffKind.EXPANSION,
        country=_upper(values.get("country")),
        region=_upper(_first(attributes, _REGION)),
        state=_upper(_first(attributes, _STATE)),
        industry=_text(values.get("industry")),
        employee_count=_integer(values.get("employee_count")),
        annual_revenue=_decimal(values.get("annual_revenue")),
        product_interest=_products(_first(attributes, _PRODUCTS)),
        language=_lower(_first(attributes, _LANGUAGE)),
        account_id=account.account_id,
        account_owner=owner_of(account),
    )


def owner_of(account: Account) -> str | None:
    """The owner the CRMs name (last modified wins), else one a capture gave as an attribute."""
    return _text(account.profile.get(ACCOUNT_OWNER)) or _text(_first(account.profile.attributes, _OWNER))


def _first(attributes: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if attributes.get(name) not in (None, ""):
            return attributes[name]
    return None


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value not in (None, "") else None


def _upper(value: Any) -> str | None:
    text = _text(value)
    return text.upper() if text else None


def _lower(value: Any) -> str | None:
    text = _text(value)
    return text.split("-")[0].split("_")[0].lower() if text else None  # "de-DE" -> "de"


def _integer(value: Any) -> int | None:
    number = _decimal(value)
    return int(number) if number is not None else None


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _products(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip().lower() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple):
        return tuple(str(part).strip().lower() for part in value if str(part).strip())
    return ()
