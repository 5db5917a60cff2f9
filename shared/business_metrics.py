"""The business figures the CloudWatch dashboard's business view graphs, as EMF metrics (Powertools).

Each figure is emitted under `service=<domain>` (leads, success, finance, crm-sync), not under the function that
happened to produce it, so a figure is one metric whatever number of functions feed it (a lead reaches MQL in
the lead processor, the leads API or a rescore): the dashboard reads `{service: "leads", stage: "MQL"}`, never
a sum over functions. Every other dimension has a few known values (a lifecycle stage, a health band, a
department of `config/finance.json`, a CRM); anything else is counted as `other`, so no input can mint metrics.

Counts come from the events a use case published (`CountedPublisher` wraps a domain's bus publisher, so every
function of the domain counts without a line of its own). An event published again by a retry is counted again:
these are the business's trends, not its ledger (the APIs are exact). Gauges (accounts per band, budget
consumption) are set by the function that has the figure in hand. Each call writes its EMF lines at once, so
nothing waits for a handler's `log_metrics` flush; `POWERTOOLS_METRICS_DISABLED` (the local hub) silences it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from shared.webhooks.ports import BusEvent, EventPublisher, PublishResult

if TYPE_CHECKING:
    from shared.finance.budget_engine import BudgetFigures

LEADS, SUCCESS, FINANCE, CRM_SYNC = "leads", "success", "finance", "crm-sync"

STAGE_ENTERED = "LeadStageEntered"  # leads, stage: a lead.stage_changed
MQL_REACHED = "LeadMqlReached"  # leads: a lead.mql_reached
HEALTH_BAND_ENTERED = "HealthBandEntered"  # success, band: a customer.health_changed that changed band
ACCOUNTS_IN_BAND = "AccountsInHealthBand"  # success, band: gauge, after the nightly recompute
BUDGET_CONSUMPTION = "BudgetConsumptionPercent"  # finance, department: gauge, after spend is recorded
SYNC_CONFLICTS = "SyncConflictsFlagged"  # crm-sync, crm: a sync.conflict_flagged

STAGES = ("Visitor", "Lead", "MQL", "SQL", "Opportunity", "Customer", "Advocate")
BANDS = ("green", "yellow", "red")
CRMS = ("hubspot", "salesforce")
OTHER = "other"

_Key = tuple[str, str, tuple[tuple[str, str], ...]]  # (service, metric, dimensions)


def known(value: object, values: Iterable[str]) -> str:
    """The value when it is one of `values`, else `other`: a dimension never takes a value nobody listed."""
    return value if isinstance(value, str) and value in tuple(values) else OTHER


def _event_figure(event: Any) -> _Key | None:
    kind = str(getattr(event, "event_type", ""))
    if kind == "lead.stage_changed":
        return LEADS, STAGE_ENTERED, (("stage", known(event.stage, STAGES)),)
    if kind == "lead.mql_reached":
        return LEADS, MQL_REACHED, ()
    if kind == "customer.health_changed" and event.band and event.band != event.previous_band:
        return SUCCESS, HEALTH_BAND_ENTERED, (("band", known(event.band, BANDS)),)
    if kind == "sync.conflict_flagged":
        return CRM_SYNC, SYNC_CONFLICTS, (("crm", known(event.crm, CRMS)),)
    return None


def record_events(events: Iterable[Any]) -> None:
    """Counts the published events that are business figures; every other event is ignored."""
    counts = Counter(figure for event in events if (figure := _event_figure(event)) is not None)
    for (service, metric, dimensions), count in sorted(counts.items()):
        _emit(service, dict(dimensions), {metric: count}, MetricUnit.Count)


def record_health_bands(accounts_per_band: Mapping[str, int]) -> None:
    """How many accounts are in each band now (every band, zero included, so a band emptying shows)."""
    counts = Counter(dict.fromkeys(BANDS, 0))
    for band, accounts in accounts_per_band.items():
        counts[known(band, BANDS)] += accounts
    for band, accounts in counts.items():
        _emit(SUCCESS, {"band": band}, {ACCOUNTS_IN_BAND: accounts}, MetricUnit.Count)


def record_budget(figures: BudgetFigures | None, departments: Sequence[str]) -> None:
    """Each department's consumption of its budget (actual / budget, in %) in the period just written to; a
    department without a budget there (no percentage), or a period without a budget, is left out."""
    for department in figures.departments if figures is not None else ():
        pct = department.figures.consumption_pct
        if pct is not None:
            dimensions = {"department": known(department.department, departments)}
            _emit(FINANCE, dimensions, {BUDGET_CONSUMPTION: float(pct)}, MetricUnit.Percent)


def _emit(service: str, dimensions: Mapping[str, str], values: Mapping[str, float], unit: MetricUnit) -> None:
    figures = EphemeralMetrics(service=service)
    for dimension, label in dimensions.items():
        figures.add_dimension(name=dimension, value=label)
    for metric, value in values.items():
        figures.add_metric(name=metric, unit=unit, value=value)
    figures.flush_metrics()


class CountedPublisher:
    """A domain's bus publisher that counts, as business figures, the events it did publish."""

    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher

    def publish(self, events: Sequence[BusEvent]) -> PublishResult:
        result = self._publisher.publish(events)
        record_events(event for event in events if event.event_id not in result.failed)
        return result
