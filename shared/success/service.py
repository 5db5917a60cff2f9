"""The customer health use cases: keep a signal and recompute the account's health, take a usage report, keep a
customer's success plan and the completion of its milestones, answer an account's health, and recompute every
account at night. An account that becomes a churn risk has its churn playbooks opened (`intervention_service`)
in the same step.

Health is never stored as the truth: the signal log is. The stored snapshot is the memory of what was last
published, so a change (and a churn risk) is published once. The snapshot is saved first, on its version's
condition, with the events it has to tell and the churn playbooks it has to open in its outbox; only then are
the playbooks opened and the events published, and the outbox emptied. A recomputation that loses the save to
another writer (which read a fresher log) tells nothing and opens nothing from the state it lost with; a publish
that fails after the save leaves the outbox full, and the retry, or the next recomputation of the account,
delivers it before anything else. Event ids derive from the cause: told twice, they are the same ids, which
consumers de-duplicate."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.catalog.success import SEGMENT_VENDORS
from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.events.success_events import SuccessEvent, SuccessEventType
from shared.leads.identity import normalize_email, vendor_identity
from shared.leads.inputs import LEAD_INPUT_EVENTS
from shared.leads.ports import TooLargeToStore
from shared.scoring.results import points, points_or_none
from shared.success.carry import carried_signal, carry_due, carry_policy, copies_in, expanded, needs_whole_log
from shared.success.engine import TREND_DAYS, Health, Trend, evaluate, trend_of
from shared.success.expansion import Readiness, readiness_of
from shared.success.intervention_service import InterventionService
from shared.success.interventions import Intervention
from shared.success.model import HealthModel
from shared.success.onboarding import Milestone, PlanAnnounced, completion, latest_plan, milestones_at, plan_of_handoff
from shared.success.ports import (
    AccountDirectory,
    CustomerHandoffs,
    ParkedLog,
    StaleHealth,
    StoredHealth,
    SuccessStore,
)
from shared.success.renewals import RenewalAtRisk, renewal_at_risk
from shared.success.segments import segment_of
from shared.success.signals import Signal, SignalKind, engaged_parking, segment_group, signal_of, usage_values
from shared.webhooks.ports import Clock, EventPublisher

SAVE_ATTEMPTS = 3


PARKED = "unlinked:"  # the log of signals whose account was not known yet, per subject reference
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class UnknownTenant(LookupError):
    """A `{tenant_id}` that names no account the hub knows (404)."""


class MessageIdReused(Exception):
    """A report's message id was used before with another body (409)."""


class ReportOutOfRange(ValueError):
    """A usage report measured at a time health would never read: ahead of now (beyond the clock skew allowed)
    or older than the read window (422, naming `timestamp` and the bound)."""


# a reporter's clock may run this far ahead of the hub's
REPORT_CLOCK_SKEW = timedelta(minutes=5)
# how long after an `account.upserted` reached the hub the lead processor may still be behind it: the recorder
# retries it that long for the account to resolve, then leaves the parked signals to the next one about them
ACCOUNT_CATCH_UP = timedelta(minutes=15)
CATCH_UP_PAUSES = (0.1, 0.2, 0.4, 0.8)  # seconds: how long the recorder waits in place before it asks for a retry
# how long the nightly keeps looking for the account of a parked log (the lead processor links in minutes; past
# this, its signals wait for the account's `account.upserted` or the next signal naming the same reference)
PARKED_WATCH = timedelta(days=30)


class AccountNotCaughtUp(RuntimeError):
    """The lead store does not show the account an `account.upserted` names yet: retried, not the sender's error."""


class UnknownMilestone(LookupError):
    """A milestone the account's success plan does not have, or an account without a plan (404)."""


@dataclass(frozen=True)
class Outcome:
    tenant_id: str | None = None
    health: Health | None = None
    events: list[SuccessEvent] = field(default_factory=list)
    note: str = ""


@dataclass(frozen=True)
class HealthView:
    tenant_id: str
    health: Health
    trend: Trend
    risks: list[str]
    milestones: tuple[Milestone, ...] = ()  # the latest success plan's, as they stand (none without a plan)
    segment: str | None = None  # the model's segment it is in now (None: the model has no segments)


@dataclass(frozen=True)
class MilestoneCompletion:
    tenant_id: str
    handoff_id: str
    milestone: Milestone
    recorded: bool  # False: completed before (the first completion stands)
    health: Health | None


@dataclass(frozen=True)
class UsageReport:
    tenant_id: str
    message_id: str
    timestamp: datetime
    metrics: Mapping[str, Any]


class HealthService:
    def __init__(
        self,
        store: SuccessStore,
        accounts: AccountDirectory,
        model: HealthModel,
        publisher: EventPublisher | None,
        clock: Clock,
        interventions: InterventionService | None = None,
        company_currency: str | None = None,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self._pause = pause
        self.store = store
        self.company_currency = company_currency  # what segments' `min_arr` is in
        self.accounts = accounts
        self.model = model
        self._publisher = publisher
        self._clock = clock
        self.interventions = interventions

    # ------------------------------------------------------------------------------------------ signals

    def handle(self, event: CanonicalEvent) -> Outcome:
        """A canonical event from the bus: kept as its account's signal, and the account's health recomputed.

        A signal is filed once, under one account: the account its person was in when it was filed (handled, or
        adopted from a parked log), with a claim (`SuccessStore.file_signal`). The same event again (a replay, a
        redrive: the same signal id and time) after its person moved to another account (relinked, merged into
        a contact of another account) changes nothing: it stays where it was filed, and is not added to the new
        account's log (it would count twice), nor adopts anything there. The move itself is no signal: what the
        person did before it stays their old account's history. Any new event about them (another event id) is
        the account they are in now, as every signal is. Replayed under the account it was filed in, it is kept
        before, as always."""
        signal = signal_of(event, self.model)
        if signal is None:
            return Outcome(note=f"{event.event_type} says nothing health reads")
        references = _references(event)
        if references and self._parked_already(references[0], signal):
            # The same event again (a replay, a redrive): it was parked when first handled, and stays where it was
            # filed; taken as the next signal about its subject, it would move what waits for its account's
            # `account.upserted` or the nightly (`adopt_parked_logs`), and a replay must change nothing.
            return Outcome(note=f"{signal.kind} parked before under {references[0]}: nothing changes")
        filed = self.store.filed_under(signal)  # one read of the signal's claim, wherever it was filed
        tenant_id = self._account_of(event)
        if filed is not None and filed != tenant_id:
            # The same event again, filed before under the account its person was in then (moved since)
            return Outcome(filed, note=f"{signal.kind} filed before under {filed}: nothing changes")
        if tenant_id is None and _linked_by_lead_processor(event):
            # The lead processor handles this event too, and links the person it names (a survey answer from a
            # new contact): most often a moment behind. Wait in place, reading the directory again, before parking.
            for pause in CATCH_UP_PAUSES:
                self._pause(pause)
                tenant_id = self._account_of(event)
                if tenant_id is not None:
                    break
        if tenant_id is None:
            # The lead processor may not have linked the account yet (or never will: a Stripe customer the hub
            # never saw created). Parked under the subject, not retried: a retry would hold the rule's other
            # events back and end in a dead-letter queue for what is no failure. The account's `account.upserted`
            # (`adopt_parked`), the next signal about the same subject whose account is known, or the nightly
            # (`adopt_parked_logs`: the parked log is indexed with what the event named) adopts it.
            if not references:
                return Outcome(note=f"{signal.kind} names no account, contact nor email: not kept")
            self.store.park_signal(PARKED + references[0], signal, references)
            # The account's `account.upserted` may have looked for parked signals between this event's read of
            # the directory and its parking: read again, one of the two sees the other.
            tenant_id = self._account_of(event)
            if tenant_id is None:
                return Outcome(note=f"{signal.kind} parked: no account is known for {references[0]} yet")
        adopted = self._adopt(tenant_id, references)
        if not self._is_sponsors(tenant_id, signal):
            self._park_engagement(tenant_id, signal)
            note = f"{signal.kind} not by the executive sponsor of the account's plan: parked until a plan names them"
            return Outcome(tenant_id, note=note + (f", {adopted} parked before adopted" if adopted else ""))
        filed = self.store.file_signal(tenant_id, signal)
        if filed is not None and filed != tenant_id:
            # Filed under another account a moment ago (the same event handled twice at once, the person moving)
            return Outcome(filed, note=f"{signal.kind} filed before under {filed}: nothing changes")
        outcome = self.recompute(tenant_id, cause=event.event_id)
        note = f"{signal.kind} {'kept' if filed is None else 'kept before'}"
        note += f", {adopted} parked before adopted" if adopted else ""
        return Outcome(tenant_id, outcome.health, outcome.events, f"{note}; {outcome.note}")

    def adopt_parked(self, event: CanonicalEvent) -> Outcome:
        """An `account.upserted`: the signals parked under what it names (the account, its contact, its email)
        because they reached the recorder before the lead processor linked the account (a Stripe payment in the
        same second as its customer's creation) are adopted into the account's log, and its health recomputed.
        The lead processor handles the same event and links the account id it names: while the lead store does
        not show it yet, the recorder waits a moment in place (`CATCH_UP_PAUSES`); still behind, and with signals
        parked under what the event names, it raises `AccountNotCaughtUp` for a retry (Lambda's asynchronous
        retries, then the function's failure queue, whose redrive adopts them), within `ACCOUNT_CATCH_UP` of the
        event reaching the hub (a replayed or redriven one older than that is let go). With nothing parked there
        is nothing to adopt: a signal parked later reads the directory again once parked (`handle`). An
        account.upserted without an account id is never linked by it: whatever its contact or email resolves to
        adopts, else nothing."""
        references = _references(event)
        if not references:
            return Outcome(note="account.upserted names no account, contact nor email")
        tenant_id = self._account_of(event)
        # The lead processor links every account id an account.upserted names; one without stays unlinked.
        linked_later = vendor_identity(event.subject.account_id) is not None
        for pause in CATCH_UP_PAUSES if linked_later else ():
            if tenant_id is not None:
                break
            self._pause(pause)  # the lead processor is most often a moment behind: cheaper than a retry
            tenant_id = self._account_of(event)
        if tenant_id is None:
            recent = self._clock.now() - event.received_at < ACCOUNT_CATCH_UP
            if linked_later and recent and any(self.store.signals(PARKED + ref, EPOCH) for ref in references):
                raise AccountNotCaughtUp(
                    f"{references[0]}: signals are parked for it and the lead store does not show its account yet"
                )
            return Outcome(note=f"no account is known for {references[0]}: its parked signals wait for the next one")
        adopted = self._adopt(tenant_id, references)
        if not adopted:
            return Outcome(tenant_id, note="no signal was parked for it")
        outcome = self.recompute(tenant_id, cause=event.event_id)
        return Outcome(tenant_id, outcome.health, outcome.events, f"{adopted} parked adopted; {outcome.note}")

    def report_usage(self, report: UsageReport) -> tuple[bool, Outcome]:
        """A usage report through the API: (True, ...) when new, (False, ...) when the same message was reported
        before with the same body; MessageIdReused for another body under a used id; UnknownTenant for
        an account the hub does not know (UnknownTenant)."""
        self._in_range(report.timestamp)
        tenant_id = self.tenant(report.tenant_id)
        values = usage_values(report.metrics)
        signal = Signal(f"usage:{report.message_id}", SignalKind.USAGE, report.timestamp, values)
        digest = body_digest({"tenant_id": tenant_id, "timestamp": report.timestamp.isoformat(), "metrics": values})
        stored = self.store.append_reported(tenant_id, signal, report.message_id, digest)
        if stored is not None and stored != digest:
            raise MessageIdReused(
                f"message_id: {report.message_id!r} was reported before with another body; send a new message_id"
            )
        outcome = self.recompute(tenant_id, cause=signal.signal_id)
        return stored is None, outcome

    def _in_range(self, at: datetime) -> None:
        """A report is recorded only when health and product analytics will read it: not ahead of now (beyond
        the skew allowed), not older than the read window (`carry_policy(...).look_back_days`); else it would be
        answered "recorded" and count nowhere."""
        now = self._clock.now()
        if at > now + REPORT_CLOCK_SKEW:
            minutes = int(REPORT_CLOCK_SKEW.total_seconds() // 60)
            raise ReportOutOfRange(
                f"timestamp: {at.isoformat()} is ahead of the hub's clock ({now.isoformat()}) by more than the "
                f"{minutes} minutes of skew allowed"
            )
        days = carry_policy(self.model).look_back_days
        if at <= now - timedelta(days=days):
            raise ReportOutOfRange(
                f"timestamp: {at.isoformat()} is more than {days} days old: health and product analytics read "
                f"the last {days} days only"
            )

    def record_feature_request(self, tenant_id: str, feedback_key: str, feature: str, at: datetime) -> Outcome:
        """Product feedback asking for a feature, kept in the account's log (its feature only: the words and who
        said them stay with the feedback) once per feedback, and the health recomputed when it is new: expansion
        readiness reads it."""
        signal = Signal(f"feature-request:{feedback_key}", SignalKind.FEATURE_REQUESTED, at, {"feature": feature})
        if not self.store.append_signal(tenant_id, signal):
            return Outcome(tenant_id=tenant_id, note=f"feature request {feedback_key} kept before")
        return self.recompute(tenant_id, cause=signal.signal_id)

    # ------------------------------------------------------------------------------------------ onboarding

    def record_plan(self, announced: PlanAnnounced, handoffs: CustomerHandoffs) -> Outcome:
        """A customer handoff's `success_plan.created`: the plan (its milestones, the executive sponsor), read from
        the handoff, kept in the customer's log at the event's time, and the health recomputed. A customer the
        hub does not know yet is parked under the handoff's `customer_id`, as other signals are."""
        handoff = handoffs.handoff(announced.handoff_id)
        plan = plan_of_handoff(handoff) if handoff is not None else None
        if plan is None:
            return Outcome(note=f"handoff {announced.handoff_id} has no success plan to keep")
        signal = Signal(
            announced.event_id, SignalKind.SUCCESS_PLAN, announced.occurred_at.astimezone(UTC), plan.values()
        )
        reference = announced.customer_id or (handoff.customer_id if handoff is not None else None) or ""
        tenant_id = self._customer(reference)
        if tenant_id is None:
            if not reference:
                return Outcome(note=f"handoff {announced.handoff_id} names no customer: its plan is not kept")
            parked = normalize_email(reference) or reference
            self.store.park_signal(PARKED + parked, signal, [parked])
            return Outcome(note=f"success plan parked: no account is known for {reference} yet")
        kept = self.store.append_signal(tenant_id, signal)
        self._adopt_engagements(tenant_id)
        outcome = self.recompute(tenant_id, cause=announced.event_id)
        note = f"success plan of handoff {plan.handoff_id} {'kept' if kept else 'kept before'}; {outcome.note}"
        return Outcome(tenant_id, outcome.health, outcome.events, note)

    def complete_milestone(self, reference: str, milestone_id: str) -> MilestoneCompletion:
        """A milestone of the account's latest success plan completed now, once: completing it again changes
        nothing (the first completion stands). UnknownTenant, or UnknownMilestone (no plan, or not its milestone)."""
        tenant_id = self.tenant(reference)
        found = latest_plan(self.log(tenant_id))
        if found is None:
            raise UnknownMilestone(
                f"customer_id: {reference!r} has no success plan (a customer handoff assigned to a CSM starts one)"
            )
        plan = found[1]
        if plan.milestone(milestone_id) is None:
            known = ", ".join(m.milestone_id for m in plan.milestones) or "none"
            raise UnknownMilestone(
                f"milestone_id: the success plan of handoff {plan.handoff_id} has no milestone {milestone_id!r} "
                f"(it has {known})"
            )
        now = self._clock.now().astimezone(UTC)
        done = completion(plan.handoff_id, milestone_id, now)
        # kept once per plan and milestone: the marker's id cannot be a usage report's (those have no blank)
        stored = self.store.append_reported(
            tenant_id, done, f"milestone {plan.handoff_id} {milestone_id}", done.signal_id
        )
        outcome = self.recompute(tenant_id, cause=done.signal_id)
        milestones = milestones_at(plan, self.log(tenant_id), now)
        milestone = next(m for m in milestones if m.milestone_id == milestone_id)
        return MilestoneCompletion(tenant_id, plan.handoff_id, milestone, stored is None, outcome.health)

    # ------------------------------------------------------------------------------------------ health

    def now(self) -> datetime:
        return self._clock.now()

    def tenant(self, reference: str) -> str:
        tenant_id = self.accounts.resolve(reference)
        if tenant_id is None:
            raise UnknownTenant(f"tenant_id: no account is known as {reference!r}")
        return tenant_id

    def health_of(self, reference: str) -> HealthView:
        """The account's health now, from its signal log (computed, never read from the snapshot)."""
        return self.view_of(self.tenant(reference))[0]

    def view_of(self, tenant_id: str) -> tuple[HealthView, list[Signal]]:
        """The account's health now, and the log it was computed from."""
        signals = self.log(tenant_id)
        now = self._clock.now()
        health = evaluate(self.model, signals, now)
        trend = trend_of(self.model, signals, health)
        found = latest_plan([s for s in signals if s.at <= now])
        milestones = tuple(milestones_at(found[1], signals, now)) if found else ()
        segment = self.segment_of(signals, now)
        risks = self._risks(signals, health, trend)
        return HealthView(tenant_id, health, trend, risks, milestones, segment), signals

    def segment_of(self, signals: Sequence[Signal], now: datetime) -> str | None:
        """The account's segment at `now` (`shared.success.segments`)."""
        return segment_of(self.model.segments, signals, now, self.company_currency)

    def recompute(self, tenant_id: str, cause: str) -> Outcome:
        """Recompute from the log; save the snapshot with what changed since the last one in its outbox (on its
        version's condition), then open the churn playbooks and publish, then empty the outbox. A snapshot read
        with a full outbox (a publish that failed after its save) is delivered first. A recomputation that loses
        the save to another writer tells nothing and opens nothing: it reads again."""
        for _ in range(SAVE_ATTEMPTS):
            previous = self.store.health(tenant_id)
            if previous is not None and previous.pending:
                try:
                    previous = self._deliver(previous)[1]
                except StaleHealth:
                    continue  # another writer delivered it and saved meanwhile: read again
            now = self._clock.now()
            signals = self._carried_log(tenant_id, now)
            health = evaluate(self.model, signals, now)
            trend = trend_of(self.model, signals, health)
            risks = self._risks(signals, health, trend)
            events = self._events(tenant_id, cause, health, trend, previous, risks)
            # A risk's playbooks are the band's: opened when the risk is detected, and again when an account still at
            # risk moves to another band (flagged by a fall while green, then red: red's playbooks). One already
            # open for the account is not opened twice (`InterventionStore.open_intervention`). Kept in the outbox,
            # opened once the snapshot is saved.
            detected = any(e.event_type is SuccessEventType.CHURN_RISK_DETECTED for e in events)
            moved_band = previous is not None and previous.band != health.band
            candidates: list[Intervention] = []
            if self.interventions is not None and risks and (detected or moved_band):
                segment = self.segment_of(signals, now)
                candidates = self.interventions.churn_candidates(tenant_id, health, risks, cause, segment)
            readiness = readiness_of(self.model, health, signals)
            if readiness.ready and not (previous and previous.expansion_ready):
                events.append(self._expansion_event(tenant_id, cause, health, readiness))
            # A renewal at risk is told once per renewal date, when it first is (a nightly finds it coming closer)
            renewal = renewal_at_risk(self.model, health, signals)
            renewal_told = previous.renewal_at_risk_told if previous else None
            if renewal is not None and renewal.renews_at.date().isoformat() != renewal_told:
                events.append(self._renewal_event(tenant_id, health, renewal))
                renewal_told = renewal.renews_at.date().isoformat()
            at_risk = bool(risks)
            unchanged = previous is not None and (
                (previous.score_hundredths, previous.band, previous.at_risk, previous.model_version)
                == (health.score_hundredths, health.band, at_risk, self.model.version)
                and (previous.expansion_ready, previous.renewal_at_risk_told) == (readiness.ready, renewal_told)
            )
            if unchanged:
                return Outcome(tenant_id, health, [], "health unchanged")
            try:
                saved = self.store.save_health(
                    StoredHealth(
                        tenant_id=tenant_id,
                        as_of=health.as_of,
                        model_version=self.model.version,
                        score_hundredths=health.score_hundredths,
                        band=health.band,
                        at_risk=at_risk,
                        version=previous.version if previous else 0,
                        expansion_ready=readiness.ready,
                        renewal_at_risk_told=renewal_told,
                        pending_events=tuple(events),
                        pending_interventions=tuple(candidates),
                    )
                )
            except StaleHealth:
                continue  # another writer saved meanwhile: nothing told, read again (the events' ids are the same)
            with suppress(StaleHealth):  # another writer read the outbox since, and delivered it before its save
                events = self._deliver(saved)[0]
            note = f"health {_shown(health.score_hundredths)} ({health.band})"
            return Outcome(tenant_id, health, events, note)
        raise StaleHealth(f"the health of {tenant_id} kept changing under {SAVE_ATTEMPTS} attempts")

    def _deliver(self, saved: StoredHealth) -> tuple[list[SuccessEvent], StoredHealth]:
        """A saved snapshot's outbox told: its churn playbooks opened, its events and theirs published, then the
        outbox emptied on the snapshot's version (StaleHealth: another writer saved since, having delivered it).
        A failure to publish raises and leaves the outbox full, for the retry or the next recomputation."""
        events = list(saved.pending_events)
        if saved.pending_interventions:
            if self.interventions is None:  # emptied here, its playbooks would never open
                raise RuntimeError("this function opens no playbooks: it cannot deliver a health snapshot's outbox")
            events += self.interventions.open_churn(saved.pending_interventions)
        self.publish(events)
        emptied = self.store.save_health(replace(saved, pending_events=(), pending_interventions=()))
        return events, emptied

    def recompute_all(
        self,
        cause: str,
        progress: Callable[[str], None] | None = None,
        failed: Callable[[str, Exception], None] | None = None,
    ) -> int:
        """Every account with a snapshot recomputed (the nightly): time-based measures age without signals; how
        many were. An account whose recomputation fails does not stop the others: it is told to `failed` (the
        nightly logs it and counts it), or, without one, the first failure is raised once every other account
        is recomputed."""
        count, cursor, first_failure = 0, None, None
        try:
            self.adopt_parked_logs(cause)
        except Exception as error:  # the parked logs' failure is not the night's: the accounts are recomputed
            if failed is None:
                first_failure = error
            else:
                failed(PARKED, error)
        while True:
            page = self.store.tenants(cursor)
            for tenant_id in page.tenant_ids:
                try:
                    self.recompute(tenant_id, cause)
                except Exception as error:  # one account's failure is not the night's
                    if failed is None:
                        first_failure = first_failure or error
                    else:
                        failed(tenant_id, error)
                    continue
                count += 1
                if progress:
                    progress(tenant_id)
            cursor = page.next_cursor
            if cursor is None:
                if first_failure is not None:
                    raise first_failure
                return count

    def adopt_parked_logs(self, cause: str) -> int:
        """The nightly's pass over the parked logs' index: a log whose event named someone the lead processor has
        linked since (a survey answer from a new contact, which reached the recorder first, and which no later
        event names) is adopted into the account's log and the account recomputed; its index entry is removed
        once adopted, or once it has waited `PARKED_WATCH` unresolved (its signals stay parked for the account's
        `account.upserted` or the next signal naming it), each on condition that nothing was parked in it since.
        How many logs were adopted."""
        adopted, cursor, first_failure = 0, None, None
        horizon = self._clock.now() - PARKED_WATCH
        while True:
            page = self.store.parked(cursor)
            for parked in page.logs:
                try:
                    adopted += self._adopt_parked_log(parked, cause, horizon)
                except Exception as error:  # one log's failure is not the others': its entry stays for tomorrow
                    first_failure = first_failure or error
            cursor = page.next_cursor
            if cursor is None:
                if first_failure is not None:
                    raise first_failure
                return adopted

    def _adopt_parked_log(self, parked: ParkedLog, cause: str, horizon: datetime) -> int:
        tenant_id = next(filter(None, (self._resolve_parked(name) for name in parked.names)), None)
        if tenant_id is None:
            if parked.parked_at < horizon:
                self.store.unindex_parked(parked)
            return 0
        adopted = self._adopt(tenant_id, [parked.log.removeprefix(PARKED)])
        # recomputed even with nothing left to adopt: a night whose recomputation failed after the adoption
        # leaves the entry, and the account may have no snapshot for the nightly to list it by
        self.recompute(tenant_id, cause)
        self.store.unindex_parked(parked)  # after the recomputation: a failure leaves it for the next night
        return 1 if adopted else 0

    def _resolve_parked(self, name: str) -> str | None:
        """The account one of a parked event's references names now: a usage report's `tenant:<reference>`, an
        email (its contact's account), an account or contact id, a Segment group, a handoff's customer."""
        if name.startswith("tenant:"):
            return self.accounts.resolve(name.removeprefix("tenant:"))
        if normalize_email(name) is not None:
            return self._customer(name)
        return self.accounts.account_of(Subject(account_id=name, contact_id=name)) or self._customer(name)

    def open_interventions(self, tenant_id: str) -> list[Intervention]:
        """The account's playbooks running now (none where this service runs no playbooks)."""
        return [] if self.interventions is None else self.interventions.open_for(tenant_id)

    def evaluate_interventions(self) -> list[Intervention]:
        """The interventions whose evaluation time has come, closed with the health now (the nightly)."""
        if self.interventions is None:
            return []
        return self.interventions.evaluate_due(self._clock.now(), lambda tenant: self.health_of(tenant).health)

    # ------------------------------------------------------------------------------------------ internals

    def _adopt(self, tenant_id: str, references: Sequence[str]) -> int:
        """The signals parked under any of the subject's references, moved into the account's log (an engagement
        not by the sponsor of the account's plan to the account's parked engagements; a plan brings those of its
        sponsor along), each filed there with its claim (`file_signal`): one filed under another account
        already only leaves the parked log."""
        adopted, plans = 0, False
        for reference in references:
            parked = self.store.signals(PARKED + reference, EPOCH)
            for signal in parked:
                plans |= signal.kind is SignalKind.SUCCESS_PLAN
                if self._is_sponsors(tenant_id, signal):
                    self.store.file_signal(tenant_id, signal)  # filed elsewhere already: it counts there only
                else:
                    self._park_engagement(tenant_id, signal)
            if parked:
                self.store.drop_signals(PARKED + reference, parked)
                adopted += len(parked)
        if plans:
            self._adopt_engagements(tenant_id)
        return adopted

    def _parked_already(self, reference: str, signal: Signal) -> bool:
        """Whether the signal (its id and time) waits in the parked log of `reference` (one read of the log from
        just before its time: a parked log holds few)."""
        since = signal.at - timedelta(microseconds=1)
        return any(
            (s.signal_id, s.at) == (signal.signal_id, signal.at) for s in self.store.signals(PARKED + reference, since)
        )

    def _is_sponsors(self, tenant_id: str, signal: Signal) -> bool:
        """Whether the signal is for the account's log: anything but an engagement, and an engagement by the
        executive sponsor the account's latest plan names. Anyone else's engagements (every prospect's webinar)
        would fill the log, keep people's emails the health never reads, and start nothing (`_park_engagement`)."""
        if signal.kind is not SignalKind.ENGAGED:
            return True
        found = latest_plan(self.log(tenant_id))
        sponsor = found[1].sponsor_email if found is not None else None
        return sponsor is not None and sponsor == signal.values.get("email")

    def _park_engagement(self, tenant_id: str, signal: Signal) -> None:
        """An engagement kept aside under its email (its account in `account_id`) until a plan names that email the
        account's sponsor (the plan may be recorded after it: its `success_plan.created` delayed, retried or
        parked): only the latest per account is kept (the measure reads the sponsor's latest engagement), and the
        person's erasure deletes it with what is parked under their email."""
        email = signal.values.get("email")
        if not isinstance(email, str) or not email:
            return
        parking = PARKED + engaged_parking(email)
        self.store.append_signal(parking, replace(signal, values={**signal.values, "account_id": tenant_id}))
        older = [s for s in self.store.signals(parking, EPOCH) if s.values.get("account_id") == tenant_id][:-1]
        if older:
            self.store.drop_signals(parking, older)

    def _adopt_engagements(self, tenant_id: str) -> int:
        """The engagements parked for the sponsor the account's latest plan names, moved into its log."""
        found = latest_plan(self.log(tenant_id))
        sponsor = found[1].sponsor_email if found is not None else None
        if sponsor is None:
            return 0
        parking = PARKED + engaged_parking(sponsor)
        parked = [s for s in self.store.signals(parking, EPOCH) if s.values.get("account_id") == tenant_id]
        for signal in parked:
            values = {name: value for name, value in signal.values.items() if name != "account_id"}
            self.store.file_signal(tenant_id, replace(signal, values=values))
        if parked:
            self.store.drop_signals(parking, parked)
        return len(parked)

    def _account_of(self, event: CanonicalEvent) -> str | None:
        """A usage report may name its account as the API's body does (`data.tenant_id`: the hub's id, a
        vendor-qualified id or the domain), a Segment call by its `context.groupId` (`segment:<groupId>`, the
        account of the `group` call: a person may use several accounts); anything else is the subject's
        account, else its contact's."""
        reference = event.data.get("tenant_id")
        if event.event_type is EventType.PRODUCT_USAGE_REPORTED and isinstance(reference, str):
            return self.accounts.resolve(reference)
        group = segment_group(event)
        if group is not None:
            return self.accounts.resolve(group)
        return self.accounts.account_of(event.subject)

    def _customer(self, reference: str) -> str | None:
        """A handoff's `customer_id`: the hub's account id, a vendor-qualified id, a domain, or an email."""
        email = normalize_email(reference)
        if email is not None:
            return self.accounts.account_of(Subject(email=email))
        return self.accounts.resolve(reference) if reference else None

    def log(self, tenant_id: str) -> list[Signal]:
        """Enough of the log for every measure's window at every moment the trend and the risk look back to, with
        the older signals that still say something (an open ticket, an unpaid failure, the success plan) put
        back from the `carried` signal the window holds (`shared.success.carry`)."""
        return self._read(tenant_id, self._clock.now())[0]

    def _read(self, tenant_id: str, now: datetime, without: Signal | None = None) -> tuple[list[Signal], list[Signal]]:
        """The log as `log` gives it, and as read (with its carried signals; `without` one of them, as if it
        were not written). The whole log only for an account whose window holds no fresh carried signal and may
        not hold all it says (`needs_whole_log`)."""
        policy = carry_policy(self.model)

        def kept(signals: list[Signal]) -> list[Signal]:
            return [s for s in signals if without is None or (s.signal_id, s.at) != (without.signal_id, without.at)]

        read = kept(self.store.signals(tenant_id, now - timedelta(days=policy.look_back_days)))
        if needs_whole_log(read, now, policy):
            read = kept([s for s in self.store.signals(tenant_id, EPOCH) if s.at <= now])
        return expanded(read), read

    def _carried_log(self, tenant_id: str, now: datetime) -> list[Signal]:
        """The log, after writing a new carried signal when one is due, so that what it says never falls out of
        the window (the nightly's recomputation writes it for a silent account)."""
        policy = carry_policy(self.model)
        log, read = self._read(tenant_id, now)
        if carry_due(read, log, now, policy):
            carried = carried_signal(self.model, log, now, policy)
            # Too large never in practice (the copies are bounded); the health is right until they age out anyway
            with suppress(TooLargeToStore):
                if self.store.append_signal(tenant_id, carried):
                    self._unless_erased_meanwhile(tenant_id, carried, now)
        return log

    def _unless_erased_meanwhile(self, tenant_id: str, carried: Signal, now: datetime) -> None:
        """The carried signal just written dropped again when what it copies changed since it was read: a
        person's erasure deleted their events or anonymized what names them between the read and the write, and
        the erasure's pass may have missed the copy. With the erasure's second pass over the carried signals
        (`dynamodb_privacy_success`), one of the two sees it: written before that pass, the pass anonymizes it;
        after, this read sees the erasure done. Dropped, the next recomputation writes it again from the log."""
        now_said = {(s.signal_id, s.at): s.values for s in self._read(tenant_id, now, without=carried)[0]}
        copies = [c for c in copies_in(carried) if c.kind is not SignalKind.CARRIED]  # not the first signal's mark
        if any(now_said.get((c.signal_id, c.at)) != c.values for c in copies):
            self.store.drop_signals(tenant_id, [carried])

    def _risks(self, signals: Sequence[Signal], health: Health, trend: Trend) -> list[str]:
        if health.score_hundredths is None:
            return []
        risks = ["turned red"] if health.band == "red" else []
        rule = self.model.churn_risk
        if rule.within_days in TREND_DAYS:  # the trend evaluated that moment already
            change = trend.change_over(rule.within_days)
        else:
            then = evaluate(self.model, signals, health.as_of - timedelta(days=rule.within_days)).score_hundredths
            change = None if then is None else health.score_hundredths - then
        if change is not None and -change >= rule.drop_points * 100:
            risks.append(f"fell {_shown(-change)} points in {rule.within_days} days")
        return risks

    def _events(
        self,
        tenant_id: str,
        cause: str,
        health: Health,
        trend: Trend,
        previous: StoredHealth | None,
        risks: list[str],
    ) -> list[SuccessEvent]:
        events: list[SuccessEvent] = []
        common = {
            "occurred_at": health.as_of,
            "tenant_id": tenant_id,
            "model_version": self.model.version,
            "score": points_or_none(health.score_hundredths),
            "band": health.band,
            "previous_score": points_or_none(previous.score_hundredths) if previous else None,
            "previous_band": previous.band if previous else None,
            "trend_d30": points_or_none(trend.d30_hundredths),
            "cause": cause,
        }
        moved = previous is None or (previous.score_hundredths, previous.band) != (health.score_hundredths, health.band)
        if moved and health.score_hundredths is not None:
            kind = SuccessEventType.HEALTH_CHANGED
            events.append(SuccessEvent(event_id=SuccessEvent.id_for(tenant_id, cause, kind), event_type=kind, **common))
        if risks and not (previous and previous.at_risk):
            kind = SuccessEventType.CHURN_RISK_DETECTED
            events.append(
                SuccessEvent(
                    event_id=SuccessEvent.id_for(tenant_id, cause, kind), event_type=kind, reasons=risks, **common
                )
            )
        return events

    def _expansion_event(self, tenant_id: str, cause: str, health: Health, readiness: Readiness) -> SuccessEvent:
        kind = SuccessEventType.EXPANSION_SIGNAL
        return SuccessEvent(
            event_id=SuccessEvent.id_for(tenant_id, cause, kind),
            event_type=kind,
            occurred_at=health.as_of,
            tenant_id=tenant_id,
            model_version=self.model.version,
            score=points_or_none(health.score_hundredths),
            band=health.band,
            cause=cause,
            readiness=points(readiness.score_hundredths),
            suggestions=[s.product for s in readiness.suggestions],
            reasons=[f"{e.component}: {e.value}" for e in readiness.evidence if e.score > 0 and e.value is not None],
        )

    def _renewal_event(self, tenant_id: str, health: Health, renewal: RenewalAtRisk) -> SuccessEvent:
        """Its id is the account's and the renewal date's: told again as the health moves, it is the same event
        to a consumer that de-duplicates, once per renewal."""
        kind = SuccessEventType.RENEWAL_AT_RISK
        renews = renewal.renews_at.date().isoformat()
        return SuccessEvent(
            event_id=SuccessEvent.id_for(tenant_id, renews, kind),
            event_type=kind,
            occurred_at=health.as_of,
            tenant_id=tenant_id,
            model_version=self.model.version,
            score=points_or_none(health.score_hundredths),
            band=health.band,
            cause=f"renewal:{renews}",
            renews_at=renewal.renews_at,
            reasons=[f"renews in {renewal.days_left} days while {health.band}"],
        )

    def expansion_of(self, reference: str) -> tuple[HealthView, Readiness]:
        """The account's expansion readiness now, with its evidence and suggestions (computed, never stored)."""
        view, signals = self.view_of(self.tenant(reference))
        return view, readiness_of(self.model, view.health, signals)

    def publish(self, events: list[SuccessEvent]) -> None:
        if not events:
            return
        if self._publisher is None:
            raise RuntimeError("this function publishes nothing: it cannot recompute health")
        failed = self._publisher.publish(events).failed
        if failed:
            raise RuntimeError(f"the bus refused {len(failed)} success event(s): {next(iter(failed.values()))}")


def _linked_by_lead_processor(event: CanonicalEvent) -> bool:
    """Whether the lead processor handles this event too and links the person it names (by contact or email),
    so that waiting a moment for it is worth it. Not Segment's calls: product tracks come by the thousand, and a
    user's next one adopts what the first parked."""
    subject = event.subject
    named = subject.contact_id or normalize_email(subject.email)
    lead_input = event.event_type.value in LEAD_INPUT_EVENTS and event.source_vendor not in SEGMENT_VENDORS
    return lead_input and bool(named)


def _references(event: CanonicalEvent) -> list[str]:
    """How the event names who it is about, strongest first: a usage report's `tenant_id`, the account, the
    contact, the email; a Segment call naming its account by `context.groupId`, that account only."""
    subject = event.subject
    group = segment_group(event)
    if group is not None:
        return [group]  # the account it names, never the person's (who may use several)
    named = event.data.get("tenant_id") if event.event_type is EventType.PRODUCT_USAGE_REPORTED else None
    tenant = f"tenant:{named}" if isinstance(named, str) and named else None
    email = normalize_email(subject.email)
    # A Stripe customer is both the account and the contact: each reference once (one parked-log read each)
    return list(dict.fromkeys(ref for ref in (tenant, subject.account_id, subject.contact_id, email) if ref))


def _shown(hundredths: int | None) -> str:
    return "n/a" if hundredths is None else f"{hundredths / 100:.2f}"


def body_digest(body: Mapping[str, Any]) -> str:
    """Of a request's body as it means it: the same body sent again is the same digest."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()
