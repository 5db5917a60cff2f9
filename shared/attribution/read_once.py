"""The lead store as one request reads it: each contact's profile and stage history read the first time they
are asked for and kept for the rest of the request, so a request crediting many conversions of the same
people (an account's, a comparison's two sides) reads each person once instead of once per conversion.

Engagement logs are not kept (they are the bulk of a person's items): whoever reads a log more than once keeps
what it makes of it (`comparison.PersonTouches`: each person's touches under each side's settings).

A request's reads are the lead store as it stood when each was first made; a write during the request is not
seen by its later reads (one request, one view of each person). Never kept beyond a request.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from shared.attribution.journey_builder import LeadLog
from shared.leads.model import Account, Contact, EngagementRecord, Identity
from shared.leads.ports import History


class ReadOnce:
    """A `LeadLog` keeping each contact's profile (found or not) and history for the request it serves."""

    def __init__(self, leads: LeadLog) -> None:
        self._leads = leads
        self._contacts: dict[str, Contact | None] = {}
        self._histories: dict[str, History] = {}

    def contacts(self, contact_ids: Sequence[str]) -> dict[str, Contact]:
        wanted = [cid for cid in dict.fromkeys(contact_ids) if cid not in self._contacts]
        if wanted:
            found = self._leads.contacts(wanted)
            for cid in wanted:
                self._contacts[cid] = found.get(cid)
        return {cid: contact for cid in contact_ids if (contact := self._contacts[cid]) is not None}

    def history(self, contact_id: str) -> History:
        history = self._histories.get(contact_id)
        if history is None:
            history = self._histories[contact_id] = self._leads.history(contact_id)
        return history

    def engagements(self, contact_ids: Sequence[str]) -> list[EngagementRecord]:
        return self._leads.engagements(contact_ids)

    def owners(self, identities: Sequence[Identity]) -> dict[str, str]:
        return self._leads.owners(identities)

    def account(self, account_id: str) -> Account | None:
        return self._leads.account(account_id)

    def account_owners(self, identities: Sequence[Identity]) -> dict[str, str]:
        return self._leads.account_owners(identities)

    def account_contacts(self, account_id: str) -> list[str]:
        return self._leads.account_contacts(account_id)

    def contact_ids(self) -> Iterator[str]:
        return self._leads.contact_ids()
