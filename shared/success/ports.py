"""What the health service needs from the outside: where signals and health snapshots are kept, who an event's
or a URL's account is, and where its events go."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.events.canonical import Subject
from shared.events.success_events import SuccessEvent
from shared.handoffs.model import Handoff
from shared.success.campaigns import CsCampaign
from shared.success.feedback import Feedback
from shared.success.interventions import Intervention, InterventionStatus
from shared.success.product import Launch
from shared.success.signals import Signal


class StaleHealth(Exception):
    """The stored health snapshot is not the version the writer read (another writer saved one since)."""


@dataclass(frozen=True)
class StoredHealth:
    """An account's latest health as last computed: what the events compare against (the score itself is always
    recomputed from the signal log; this is the memory of what was published).

    It is saved before anything is told (on its version's condition), with what it has to tell: its outbox,
    `pending_events` and the churn playbooks to open (`pending_interventions`). Once those are opened and the
    events published, the outbox is emptied (a save at the next version); a snapshot read with a full outbox
    (a publish that failed after the save) has it delivered first by whoever reads it next."""

    tenant_id: str
    as_of: datetime
    model_version: str
    score_hundredths: int | None
    band: str | None
    at_risk: bool  # churn risk flagged (and published) and not cleared since
    version: int = 0  # 0: never stored
    expansion_ready: bool = False  # an expansion signal published and the readiness not fallen below since
    renewal_at_risk_told: str | None = None  # the renewal date (ISO) whose risk was published last
    pending_events: tuple[SuccessEvent, ...] = ()  # saved with the snapshot, not published yet
    pending_interventions: tuple[Intervention, ...] = ()  # churn playbooks to open, then tell (their events)

    @property
    def pending(self) -> bool:
        return bool(self.pending_events or self.pending_interventions)


@dataclass(frozen=True)
class TenantPage:
    tenant_ids: list[str]
    next_cursor: str | None


@dataclass(frozen=True)
class ParkedLog:
    """A parked log's index entry: the log (`unlinked:<reference>`), what the latest event parked in it named
    (its account, contact, email: any may resolve to an account once the lead processor links it), when that
    signal happened, and its mark (the signal's place in the log: a parking since changes it)."""

    log: str
    names: tuple[str, ...]
    parked_at: datetime
    mark: str


@dataclass(frozen=True)
class ParkedPage:
    logs: list[ParkedLog]
    next_cursor: str | None


class HealthStore(Protocol):
    def append_signal(self, tenant_id: str, signal: Signal) -> bool:
        """Keep the signal in the account's log; False (nothing written) when a signal of that id at that time is
        already there. Raises TooLargeToStore before writing when it would not fit one item."""
        ...

    def file_signal(self, tenant_id: str, signal: Signal) -> str | None:
        """Keep an event's signal in the account's log with its claim (the account it was filed under, found by
        the signal's id and time: `filed_under`), together or neither. None when written; the account it was
        filed under before otherwise, nothing written: the claim's account, or `tenant_id` itself when the
        signal is in its log without a claim (kept before claims were written: no claim is written either)."""
        ...

    def filed_under(self, signal: Signal) -> str | None:
        """The account whose log the signal (same id and time) was filed in (`file_signal`), wherever it is;
        None when it was filed nowhere (parked, or kept without a claim)."""
        ...

    def append_reported(self, tenant_id: str, signal: Signal, message_id: str, digest: str) -> str | None:
        """Keep a signal a caller reported under its own message id (usage reports): the message's marker and
        the signal written together, or neither. None when written; when the message id was used before,
        nothing is written and the answer is the digest stored with it (the caller compares it with its own:
        the same body again, or another body under a used id)."""
        ...

    def park_signal(self, log: str, signal: Signal, names: Sequence[str]) -> bool:
        """Keep the signal in a parked log (`unlinked:<reference>`, as `append_signal` keeps it) and index the
        log (`parked`) with what the signal's event named, together or neither; False (nothing written) when a
        signal of that id at that time is in the log already."""
        ...

    def parked(self, cursor: str | None = None, limit: int = 100) -> ParkedPage:
        """The indexed parked logs, a page at a time, in log order (for the nightly's adoption)."""
        ...

    def unindex_parked(self, parked: ParkedLog) -> bool:
        """Remove a parked log's index entry, on condition that no signal was parked in it since it was listed
        (its mark unchanged); False (nothing removed) otherwise. The log itself is untouched."""
        ...

    def drop_signals(self, tenant_id: str, signals: Sequence[Signal]) -> None:
        """Remove these signals from the log (a parked log, once its signals are adopted); absent ones are no
        error."""
        ...

    def signals(self, tenant_id: str, since: datetime) -> list[Signal]:
        """The account's signals after `since`, oldest first (ties by signal id)."""
        ...

    def health(self, tenant_id: str) -> StoredHealth | None: ...

    def save_health(self, health: StoredHealth) -> StoredHealth:
        """Store the snapshot at `health.version + 1`, on condition that the stored one is at `health.version`
        (absent for 0); StaleHealth otherwise. Returns the snapshot as stored."""
        ...

    def tenants(self, cursor: str | None = None, limit: int = 100) -> TenantPage:
        """The accounts that have a health snapshot, a page at a time (for the nightly recomputation)."""
        ...


@dataclass(frozen=True)
class InterventionPage:
    interventions: list[Intervention]
    next_cursor: str | None


class InterventionStore(Protocol):
    def open_intervention(self, intervention: Intervention) -> Intervention:
        """Keep a new open intervention, unless one of its playbook is open for its account already: then
        nothing is written and the answer is that open one. The open marker (one per account and playbook)
        and the intervention are written together, or neither."""
        ...

    def intervention(self, tenant_id: str, intervention_id: str) -> Intervention | None: ...

    def interventions(
        self,
        tenant_id: str | None = None,
        status: InterventionStatus | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> InterventionPage:
        """An account's interventions (every status, or one), newest first; or, without an account, every
        account's of one status (required then), the ones to evaluate first for open ones, the latest closed
        first for closed ones."""
        ...

    def due_interventions(self, now: datetime, limit: int = 100) -> list[Intervention]:
        """Open interventions whose `evaluate_at` has come, the earliest first."""
        ...

    def close_intervention(self, intervention: Intervention) -> bool:
        """Store the closed intervention on condition that it is still open, and remove its playbook's open
        marker for the account, together; False (nothing written) when it was closed already."""
        ...


class ProductStore(Protocol):
    """Feedback, launches and CS campaigns: each kept once under its key (a repeat writes nothing)."""

    def add_feedback(self, feedback: Feedback) -> Feedback | None:
        """None when kept now; the feedback kept under its `feedback_key` before otherwise (nothing written)."""
        ...

    def feedback(self, feature: str | None = None) -> list[Feedback]:
        """Every feedback kept (of one feature), by feature, then in the order received."""
        ...

    def add_launch(self, launch: Launch) -> Launch | None:
        """None when kept now; the launch kept under its id before otherwise (nothing written)."""
        ...

    def launch(self, launch_id: str) -> Launch | None: ...

    def add_campaign(self, campaign: CsCampaign) -> CsCampaign | None:
        """None when kept now; the campaign kept under its id before otherwise (nothing written)."""
        ...

    def campaign(self, campaign_id: str) -> CsCampaign | None: ...


class AccountDirectory(Protocol):
    def account_of(self, subject: Subject) -> str | None:
        """The hub account an event is about: its subject's account (vendor-qualified), else its contact's
        (by contact id or email); None when the hub knows none."""
        ...

    def name_of(self, tenant_id: str) -> str:
        """How people know the account: its domain, else its id."""
        ...

    def contacts_of(self, tenant_id: str) -> list[str]:
        """The account's contacts (the hub's lead ids), sorted."""
        ...

    def resolve(self, reference: str) -> str | None:
        """A URL's `{tenant_id}`: the hub's account id, a vendor-qualified id (`stripe:cus_…`) or the company's
        domain; None when it names no account the hub knows."""
        ...


class SuccessStore(HealthStore, InterventionStore, ProductStore, Protocol):
    """Everything the success domain keeps: signal logs, health snapshots, interventions, feedback, launches and
    CS campaigns."""


class CustomerHandoffs(Protocol):
    """The handoff store, read only: a customer handoff's success plan and executive sponsor."""

    def handoff(self, handoff_id: str) -> Handoff | None: ...


class AccountCsms(Protocol):
    def csm_of(self, tenant_id: str) -> str | None:
        """The rep id of the account's CSM: the assignee of its customer handoff (sales -> CS), the one a CSM
        accepted (the customer's onboarding) first, else its open one while assigned or accepted; None when
        the account has none (or it waits unassigned)."""
        ...
