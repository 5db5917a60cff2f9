"""Recompute what the attribution settings decide (the stored conversions of some months, the open deals'
pipeline, the months' funnel entries) with the settings in force, with a progress bar: after a change of
`config/attribution.json` (lookback, half-life, sessions, channel rules, company domains), a contact merge, or
touches that arrived late.

    python -m ops.reattribute                                # the last 12 months, on the hub `make run` started
    python -m ops.reattribute --from 2026-09 --to 2026-11    # those months, both inclusive
    python -m ops.reattribute --stage dev                    # a deployed stage (AWS credentials from the environment)

Everything the settings decide is recomputed, so that the stored figures end up exactly as if every event had
been recorded with the settings in force (the same journey rules, the latest data-driven fit):

- first, when the settings give some conversions of the data-driven window other channels than they have
  stored (a channel mapping change), the data-driven model is fitted again on the channels they give, and
  that fit is the latest the passes below credit with: one run converges, no scheduled fit and second run
  needed (nothing is fitted when no channel moves, or no fit was ever made);
- each conversion of the months is rebuilt exactly as recording it now would store it, keeping what it is:
  its id, kind, time, amount (and its amount in the company currency, at the rate used then), its deal and its
  people. When anything but the moment it was recorded differs, it is replaced, and its month's campaign,
  channel and overall totals move by the difference in the same write (a campaign it no longer credits keeps
  its totals at 0). When that changes what its `conversion.attributed` says (its touches, first and last
  campaigns, credits), the event is published again once the replacement is written (marked in the same
  write, the mark cleared once published: an outbox), with an id of its own (the conversion's, the settings
  version and the moment re-credited): the CRM sync writes the deal's attribution summary again, never ahead
  of the store. A bus refusal leaves the replacement marked, and the next run publishes it first;
- every open deal's pipeline (whatever the months) is computed again as the deal's latest event would set it
  now, and replaced when it differs, its campaigns' and the total pipeline moved by the difference;
- each funnel entry counted in the months is given the campaign counting it now would give it (its lead's last
  touch before it, within the lookback), and moved there when it differs (the campaigns' leads, MQLs, SQLs...:
  cost per lead). An entry whose lead was erased stays as counted.

Run it once the changed settings file is deployed: events recorded from then on use it too. Open deals and
funnel entries are found by scanning the attribution table (a read of the whole table, as an erasure's).

A thing replaced meanwhile by something else (the data-driven batch, a deal's own event, another run) is left
as it is and counted; run again to bring it over. Running again changes nothing once converged.
Exit status: 0 when everything is as recording it now would store it, 1 when some changed meanwhile or
could not be replaced (listed), 2 when it cannot run at all.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError
from tqdm import tqdm

from ops.audit_run import audited_run
from ops.rescore import one_line
from ops.stages import LOCAL, CannotRun, stage_clients
from shared.adapters.clock import SystemClock
from shared.adapters.dynamodb_attribution import DynamoDbAttributionStore, RecordConflict
from shared.adapters.dynamodb_finance import DynamoDbFinanceStore
from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
from shared.adapters.eventbridge_publisher import EventBridgePublisher
from shared.attribution.config import load_attribution_config
from shared.attribution.data_driven import window_conversions
from shared.attribution.ports import StoredFit
from shared.attribution.reattribution import CHANGED, STALE, UNCHANGED
from shared.attribution.reports import MonthRange
from shared.attribution.service import AttributionService, BusRefused
from shared.catalog import ATTRIBUTION, CATALOG, FINANCE, LEADS, physical_name
from shared.errors import InvalidInput
from shared.events.attribution_events import ATTRIBUTION_EVENT_SOURCE
from shared.finance.config import load_finance_config


@dataclass
class Tally:
    """What a pass did to each thing it recomputed: changed, unchanged, changed meanwhile (left for the next
    run), and the problems of those it could not (one line each)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys((CHANGED, UNCHANGED, STALE), 0))
    problems: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values()) + len(self.problems)

    def said(self, changed: str = "changed") -> str:
        counts = self.counts
        return f"{counts[CHANGED]} {changed}, {counts[UNCHANGED]} unchanged, {counts[STALE]} changed meanwhile"


@dataclass
class Summary:
    months: MonthRange
    settings: str
    conversions: Tally = field(default_factory=Tally)
    pipelines: Tally = field(default_factory=Tally)
    entries: Tally = field(default_factory=Tally)
    refit: StoredFit | None = None  # fitted again on the channels the settings give now, before crediting
    refit_problems: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [*self.refit_problems, *self.conversions.problems, *self.pipelines.problems, *self.entries.problems]

    @property
    def stale(self) -> int:
        return sum(tally.counts[STALE] for tally in (self.conversions, self.pipelines, self.entries))

    def __str__(self) -> str:
        months = f"{self.months.start} to {self.months.end}"
        lines = [
            f"reattributed {self.conversions.total} conversions of {months} with settings {self.settings}: "
            + self.conversions.said(),
            f"recomputed the pipeline of {self.pipelines.total} open deals: " + self.pipelines.said(),
            f"recounted {self.entries.total} funnel entries of {months}: "
            + self.entries.said("moved to another campaign"),
        ]
        if self.refit is not None:  # last, so the passes' lines keep their places
            lines.append(f"refitted the data-driven model on the channels the settings give now: {self.refit.fit_id}")
        said = "\n".join(lines) + (" (run again)" if self.stale else "")
        return said + (f", {len(self.problems)} refused (listed above)" if self.problems else "")

    @property
    def converged(self) -> bool:
        return not self.stale and not self.problems


def reattribute(service: AttributionService, months: MonthRange) -> Summary:
    """Everything the settings decide, recomputed with the settings in force: the months' conversions (and
    their campaign, channel and overall totals), every open deal's pipeline (the campaigns' and the total
    pipeline), and the months' funnel entries (the campaign each counts for), each thing replaced on condition
    that it is still what was read."""
    summary = Summary(months, service.config.version)
    with tqdm(desc="checking the data-driven fit's channels", unit=" contacts") as bar:
        try:
            summary.refit = service.refit_on_current_channels(bar.update)
        except BusRefused as exc:  # the fit is saved and credited with; only its announcement is lost
            summary.refit_problems.append(f"attribution.model_fitted: {exc}")
    listed = window_conversions(service.store, list(months.months))
    first = next(listed, None)  # the first read before the bar: a stage out of reach is one line, nothing else
    conversions = listed if first is None else itertools.chain([first], listed)
    desc = f"reattributing {months.start} to {months.end}"
    for conversion in tqdm(conversions, desc=desc, unit=" conversions"):
        try:
            summary.conversions.counts[service.reattribute(conversion)] += 1
        except (ValueError, RecordConflict) as exc:  # this conversion only: too wide or too large, or contended
            summary.conversions.problems.append(f"conversion {conversion.conversion_id}: {exc}")
        except BusRefused as exc:  # replaced, its new conversion.attributed still marked: the next run publishes it
            summary.conversions.problems.append(
                f"conversion {conversion.conversion_id}: replaced, its conversion.attributed left for the next run: "
                f"{exc}"
            )
    for contribution in tqdm(service.store.pipelines(), desc="recomputing open deals' pipeline", unit=" deals"):
        try:
            summary.pipelines.counts[service.repipeline(contribution)] += 1
        except (ValueError, RecordConflict) as exc:
            summary.pipelines.problems.append(f"pipeline of deal {contribution.deal_id}: {exc}")
    entries = service.store.stage_entries(list(months.months))
    for entry in tqdm(entries, desc=f"recounting the funnel of {months.start} to {months.end}", unit=" entries"):
        try:
            summary.entries.counts[service.recount(entry)] += 1
        except (ValueError, RecordConflict) as exc:
            summary.entries.problems.append(f"funnel entry {entry.event_id}: {exc}")
    return summary


def service_for(stage: str, endpoint_url: str | None) -> AttributionService:
    """The attribution use cases over the stage's attribution, leads (journeys) and finance (FX) tables,
    publishing to the stage's bus (a re-credited conversion's `conversion.attributed`)."""
    client = stage_clients(stage, endpoint_url)
    dynamodb = client("dynamodb")
    finance = load_finance_config()
    finance_store = DynamoDbFinanceStore(dynamodb, physical_name(stage, FINANCE.name))
    return AttributionService(
        store=DynamoDbAttributionStore(dynamodb, physical_name(stage, ATTRIBUTION.name)),
        leads=DynamoDbLeadRepository(dynamodb, physical_name(stage, LEADS.name)),
        fx=finance_store,
        config=load_attribution_config(finance=finance),
        company_currency=finance.company_currency,
        publisher=EventBridgePublisher(
            client("events"), physical_name(stage, CATALOG.bus_name), ATTRIBUTION_EVENT_SOURCE
        ),
        clock=SystemClock(),
        spend=finance_store,
        finance=finance,
    )


def _one_line(error: BaseException, stage: str) -> str:
    if isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
        return f"stage {stage} has no attribution tables in this account and region: is it deployed (`make deploy`)?"
    return one_line(error, stage)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="start", help="the first month (2026-09; default: 11 months before --to)")
    parser.add_argument("--to", dest="end", help="the last month (2026-11; default: the current month, in UTC)")
    parser.add_argument("--stage", help="local (default: the hub `make run` started), dev, prod")
    parser.add_argument("--endpoint-url", help="AWS endpoint (default for local: the running hub's embedded AWS)")
    args = parser.parse_args(argv)
    stage = args.stage or LOCAL
    try:
        months = MonthRange.of(datetime.now(UTC).date(), args.start, args.end)
        with audited_run("reattribute", vars(args), stage, endpoint_url=args.endpoint_url) as audit:
            summary = reattribute(service_for(stage, args.endpoint_url), months)
            audit.finish(0 if summary.converged else 1, str(summary))
    except (CannotRun, InvalidInput, BotoCoreError, ClientError) as exc:
        print(f"error: {_one_line(exc, stage)}", file=sys.stderr)
        return 2
    for problem in summary.problems:
        print(problem, file=sys.stderr)
    print(summary)
    return 0 if summary.converged else 1


if __name__ == "__main__":
    raise SystemExit(main())
