"""A CRM's change of a lead's synced field, as the CRM sync decided it (`shared.leads.crm_changes` says why only
through the sync): a profile field (the email becoming the lead's identity), the account link, the lifecycle
stage. Part of `LeadService` (its use cases over the same repository, resolver and progression), kept apart
because it is one concern of its own."""

from __future__ import annotations

from collections.abc import Callable

from shared.leads.accounts import account_named, linked
from shared.leads.crm_changes import ACCOUNT_LINK, CRM_VENDORS, LIFECYCLE_STAGE, CrmFieldChange
from shared.leads.identity import identities, vendor_identity
from shared.leads.lifecycle import crm_stage
from shared.leads.model import Contact
from shared.leads.outcome import Outcome
from shared.leads.ports import ChangeSet, LeadRepository
from shared.leads.progression import LeadProgression
from shared.leads.resolution import ContactResolver
from shared.leads.scoring_models import ScoringModels
from shared.webhooks.ports import Clock


class CrmFieldChanges:
    """`LeadService`'s use cases of the CRM sync's decisions; the service provides what is declared here."""

    _repo: LeadRepository
    _models: ScoringModels
    _clock: Clock
    _new_id: Callable[[], str]
    _crm_synced_fields: frozenset[str]
    _resolver: ContactResolver
    _progression: LeadProgression

    def _commit(self, change: ChangeSet, contact_id: str | None) -> Outcome:
        raise NotImplementedError  # LeadService's

    def _retrying(self, attempt: Callable[[], Outcome]) -> Outcome:
        raise NotImplementedError  # LeadService's

    def _once(self, change_of: CrmFieldChange, apply: Callable[[Contact, ChangeSet], Outcome]) -> Outcome:
        """`apply` to the lead the change names (its survivor, when merged away), once per sync event, retried as
        every use case is; an unknown lead or an event applied before changes nothing."""

        def attempt() -> Outcome:
            change = ChangeSet()
            contact = self._resolver.head(change_of.lead_id, change, missing_ok=True)
            if contact is None:
                return Outcome(None, note=f"lead {change_of.lead_id} is not known")
            if self._repo.applied("contact", contact.contact_id, change_of.event_id):
                return Outcome(contact.contact_id, note="duplicate event; applied once already")
            return apply(contact, change)

        return self._retrying(attempt)

    def crm_field_changed(self, change_of: CrmFieldChange) -> Outcome:
        """A CRM's change the CRM sync decided wins (not an echo of the hub's, not a conflict a person holds), or
        a person's resolution of a conflict on the field: the lead's field takes it, timed when the CRM made it
        (when the person resolved it), and the lead is rescored. A lead merged away changes its survivor; a blank
        is not applied (a CRM's blank does not erase what a person told the hub).

        An email becomes the lead's identity here, and only here (a CRM's webhook does not resolve a known lead's
        new address: `_crm_identities`), as an identification naming the lead and the address would make it: the
        lead claims it when no one holds it, and merges with the lead that holds it (the known, then the oldest,
        survives; the merge is recorded with this change as its cause, and `unmerge` undoes it). An address held
        by a lead an unmerge keeps apart from this one is not taken (the outcome's note says so): the email stays
        that lead's, and two leads never share one."""
        if change_of.field not in self._crm_synced_fields:
            return Outcome(None, note=f"{change_of.field} is no profile field the CRM sync keeps in step")
        if change_of.field == ACCOUNT_LINK:
            return self._crm_account_changed(change_of)
        if change_of.field == LIFECYCLE_STAGE:
            return self._crm_stage_changed(change_of)
        value = (change_of.value or "").strip()
        if not value:
            return Outcome(None, note=f"{change_of.crm} blanked {change_of.field}: kept")
        email = identities(value)[:1] if change_of.field == "email" else []
        if change_of.field == "email":
            if not email or email[0].kind != "email":
                return Outcome(None, note=f"{change_of.crm}'s email {value!r} is no address: kept")
            value = email[0].value
        model = self._models.current()
        if change_of.resolved_by is not None:
            cause = f"{change_of.field} conflict resolved by {change_of.resolved_by}, through the CRM sync"
        else:
            cause = f"{change_of.crm} change of {change_of.field}, through the CRM sync"
        cause = f"{cause} ({change_of.event_id})"

        def apply(contact: Contact, change: ChangeSet) -> Outcome:
            own = contact.own_profile(contact.contact_id)
            if not own.set(change_of.field, value, change_of.changed_at):
                return Outcome(contact.contact_id, note=f"{change_of.field} already holds it, or a later value")
            for identity in email:
                taken = self._resolver.take(contact, identity, cause, self._clock.now(), change)
                if taken is None:
                    owner = self._repo.owners([identity])[identity.key]
                    holder = self._resolver.head(owner, change, missing_ok=True)
                    held_by = holder.contact_id if holder is not None else owner
                    note = f"{value} is lead {held_by}'s, which an unmerge keeps apart from this one: kept"
                    return Outcome(contact.contact_id, note=note)
                contact = taken  # the survivor, when the address's holder merged with this lead
            change.applied.append(("contact", contact.contact_id, change_of.event_id))
            self._progression.rescore(contact, change, model, cause=cause, cause_event=None)
            return self._commit(change, contact.contact_id)

        return self._once(change_of, apply)

    def _crm_account_changed(self, change_of: CrmFieldChange) -> Outcome:
        """The lead's account as the CRM sync decided it: the hub's account id, or a CRM's account id the hub did
        not know when the sync decided (`hubspot:501`), found by that id, else by the lead's work domain (whose
        account takes the id, unless it holds another of that CRM's), else made: as the webhook naming it would have
        found it. A blank is not applied (a CRM unlinking the contact leaves it with the account the hub knows)."""
        value = (change_of.value or "").strip()
        if not value:
            return Outcome(None, note=f"{change_of.crm} unlinked the account: kept")
        model = self._models.current()
        by = f"resolved by {change_of.resolved_by}" if change_of.resolved_by is not None else f"{change_of.crm} change"
        cause = f"account {by}, through the CRM sync ({change_of.event_id})"

        def apply(contact: Contact, change: ChangeSet) -> Outcome:
            if contact.account_linked_at is not None and change_of.changed_at < contact.account_linked_at:
                return Outcome(contact.contact_id, note="the account link holds a later value")
            account = self._repo.account(value)
            if account is None:
                named = vendor_identity(value)
                if named is None or named.kind not in CRM_VENDORS:
                    return Outcome(contact.contact_id, note=f"no account {value!r}: kept")
                # found by its domain as the webhook's link would have (the company joins the domain's account)
                account = account_named(self._repo, change, contact, named, self._clock.now(), self._new_id)
            if contact.account_id == account.account_id:
                if not change.accounts:
                    return Outcome(contact.contact_id, note="the lead's account already")
                # the lead's account (its domain's) takes the CRM's id: the lead stays, and is not rescored
                change.applied.append(("contact", contact.contact_id, change_of.event_id))
                return self._commit(change, contact.contact_id)
            linked(contact, account.account_id, change_of.changed_at)
            contact.updated_at = self._clock.now()
            change.contacts[contact.contact_id] = contact
            change.applied.append(("contact", contact.contact_id, change_of.event_id))
            self._progression.rescore(contact, change, model, cause=cause, cause_event=None)
            return self._commit(change, contact.contact_id)

        return self._once(change_of, apply)

    def _crm_stage_changed(self, change_of: CrmFieldChange) -> Outcome:
        """The lead's lifecycle stage as the CRM sync decided it: a stage ahead of the lead's moves it there, timed
        when the CRM made the change (never before the stage it leaves was entered), with a `lead.stage_changed`
        naming the CRM (or the person who resolved a conflict on it); an earlier stage, the same one or a value that
        is no stage is not applied (stages never fall back), and the note says so."""
        value = (change_of.value or "").strip()
        by = f"resolved by {change_of.resolved_by}" if change_of.resolved_by is not None else f"set in {change_of.crm}"
        cause = f"{by}, through the CRM sync ({change_of.event_id})"

        def apply(contact: Contact, change: ChangeSet) -> Outcome:
            move = crm_stage(contact.stage, value, cause)
            if move is None:
                note = f"{change_of.crm}'s stage {value[:40]!r} is not ahead of {contact.stage.value}: kept"
                return Outcome(contact.contact_id, note=note)
            now = self._clock.now()
            happened = min(now, change_of.changed_at)
            if contact.stage_entered_at is not None:
                happened = max(happened, contact.stage_entered_at)
            self._progression.enter(contact, change, move, happened, now, change_of.event_id)
            contact.updated_at = now
            change.contacts[contact.contact_id] = contact
            change.applied.append(("contact", contact.contact_id, change_of.event_id))
            return self._commit(change, contact.contact_id)

        return self._once(change_of, apply)
