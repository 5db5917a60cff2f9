"""Recompute the stored conversions of some months with the attribution settings in force, with a progress bar:
after a change of `config/attribution.json` (lookback, half-life, sessions, channel rules, company domains),
a contact merge, or touches that arrived late.

    python -m ops.reattribute                                # the last 12 months, on the hub `make run` started
    python -m ops.reattribute --from 2026-09 --to 2026-11    # those months, both inclusive
    python -m ops.reattribute --stage dev                    # a deployed stage (AWS credentials from the environment)

Each conversion of the months is rebuilt exactly as recording it now would store it (the journey rules of the
settings file of this checkout, the latest data-driven fit), keeping what it is: its id, kind, time, amount
(and its amount in the company currency, at the rate used then), its deal and its people. When anything but
the moment it was recorded differs, it is replaced, and its month's campaign, channel and overall totals move
by the difference in the same write (a campaign it no longer credits keeps its totals at 0). Run it once the
changed settings file is deployed: conversions recorded from then on use it too, so the stored figures end up
exactly as if every conversion had been recorded with it.

Nothing is published (no `conversion.attributed` again): the stored conversions and the totals the reports and
APIs read are what changes. A conversion replaced meanwhile by something else (the data-driven batch, another
run) is left as it is and counted; run again to bring it over. Running again changes nothing once converged.
Exit status: 0 when every conversion is as recording it now would store it, 1 when some changed meanwhile or
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
from shared.attribution.config import load_attribution_config
from shared.attribution.data_driven import window_conversions
from shared.attribution.reattribution import CHANGED, STALE, UNCHANGED
from shared.attribution.reports import MonthRange
from shared.attribution.service import AttributionService
from shared.catalog import ATTRIBUTION, FINANCE, LEADS, physical_name
from shared.errors import InvalidInput
from shared.finance.config import load_finance_config


@dataclass
class Summary:
    months: MonthRange
    settings: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys((CHANGED, UNCHANGED, STALE), 0))
    problems: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values()) + len(self.problems)

    def __str__(self) -> str:
        said = (
            f"reattributed {self.total} conversions of {self.months.start} to {self.months.end} with settings "
            f"{self.settings}: {self.counts[CHANGED]} changed, {self.counts[UNCHANGED]} unchanged, "
            f"{self.counts[STALE]} changed meanwhile"
        )
        said += " (run again)" if self.counts[STALE] else ""
        return said + (f", {len(self.problems)} refused (listed above)" if self.problems else "")

    @property
    def converged(self) -> bool:
        return not self.counts[STALE] and not self.problems


def reattribute(service: AttributionService, months: MonthRange) -> Summary:
    summary = Summary(months, service.config.version)
    listed = window_conversions(service.store, list(months.months))
    first = next(listed, None)  # the first read before the bar: a stage out of reach is one line, nothing else
    conversions = listed if first is None else itertools.chain([first], listed)
    desc = f"reattributing {months.start} to {months.end}"
    for conversion in tqdm(conversions, desc=desc, unit=" conversions"):
        try:
            summary.counts[service.reattribute(conversion)] += 1
        except (ValueError, RecordConflict) as exc:  # this conversion only: too wide or too large, or contended
            summary.problems.append(f"conversion {conversion.conversion_id}: {exc}")
    return summary


def service_for(stage: str, endpoint_url: str | None) -> AttributionService:
    """The attribution use cases over the stage's attribution, leads (journeys) and finance (FX) tables, with no
    publisher: a reattribution publishes nothing."""
    dynamodb = stage_clients(stage, endpoint_url)("dynamodb")
    finance = load_finance_config()
    finance_store = DynamoDbFinanceStore(dynamodb, physical_name(stage, FINANCE.name))
    return AttributionService(
        store=DynamoDbAttributionStore(dynamodb, physical_name(stage, ATTRIBUTION.name)),
        leads=DynamoDbLeadRepository(dynamodb, physical_name(stage, LEADS.name)),
        fx=finance_store,
        config=load_attribution_config(finance=finance),
        company_currency=finance.company_currency,
        publisher=None,
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
