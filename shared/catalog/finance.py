"""The finance domain's part of the catalog: the spend ledger, FX tables and budgets API, and the `finance`
table."""

from __future__ import annotations

from shared.catalog.handoffs import HANDOFF_NOTIFICATIONS
from shared.catalog.model import Domain, Function, Group, Index, Route, Rule, Table, ThrottleDomain

NOTIFICATIONS_SECRET = HANDOFF_NOTIFICATIONS.name  # the hub's Slack and SES settings, shared with handoffs

EVENT_SOURCE = "revops.finance"
SPEND_WRITERS = frozenset({Group.FINANCE, Group.MARKETING, Group.ADMIN})
FINANCE_ADMINS = frozenset({Group.FINANCE, Group.ADMIN})

FINANCE = Table(
    name="finance",
    partition_key="pk",
    sort_key="sk",
    indexes=(Index("by-period", partition_key="line_period", sort_key="line_sort"),),
    access_patterns=(
        "a spend line: get pk=SPEND#<spend_id>, sk=LINE (batch get for a batch's ids and the originals it reverses "
        "or corrects)",
        "record spend, all or nothing per chunk: one transaction of the new lines (conditional: new spend_id) with "
        "a service period's listing items sk=MONTH#<yyyy-mm>, the reversed or corrected originals (conditional: not "
        "reversed yet; reversed and not corrected yet), and ADD to the months' aggregates pk=PERIOD#<yyyy-mm>, "
        "sk=AGG#<department>#<channel>#<campaign> (its total `actual` and each day's `d<dd>`, one item per key and "
        "month; a service period adds each month's share of its days)",
        "a month's aggregates with their days: query pk=PERIOD#<yyyy-mm> (what a budget view reads: O(keys), never "
        "the lines; DAY#<yyyy-mm-dd> items of a ledger written before the days moved onto the aggregates are added)",
        "a month's lines: query by-period (line_period=PERIOD#<yyyy-mm>) on line_sort=<day>#<spend_id> (a "
        "service period's MONTH# listing items resolved to their LINE with one batch get)",
        "FX: get pk=FX#<period>, sk=TABLE",
        "budgets: get pk=BUDGET#<period>, sk=CURRENT; versions sk=V#<version>, written with CURRENT in one transaction",
        "threshold alerts: pk=ALERT#<period>, sk=<line>#<threshold>, a state (fired or armed) and an arm generation: "
        "conditional puts fire, re-arm (the next generation) and unfire, each at the state and generation read",
    ),
)

FINANCE_DOMAIN = Domain(
    name="finance",
    event_source=EVENT_SOURCE,
    tables=(FINANCE,),
    functions=(
        Function(
            name="finance_api",
            description="The spend ledger (record, list), FX tables and budgets with their figures and alerts",
            memory_mb=1024,
            timeout_seconds=29,
            routes=(
                Route(
                    method="POST",
                    path="/api/v1/integrations/finance/spend",
                    operation="record_spend",
                    summary="Record spend: one line or a batch of up to 500, idempotent per spend_id",
                    description="201 with the stored lines; 200 when every line was stored before with the same "
                    "body; 409 naming the fields that differ from a stored line of the same spend_id; 422 naming "
                    "each bad line and field (a batch with a bad line stores none of it).",
                    domain=ThrottleDomain.FINANCE,
                    groups=SPEND_WRITERS,
                    json_body=True,
                ),
                Route(
                    method="GET",
                    path="/api/v1/integrations/finance/spend",
                    operation="list_spend",
                    summary="Spend lines of a range of days (a month by default, a year at most), by campaign, channel",
                    domain=ThrottleDomain.FINANCE,
                    groups=SPEND_WRITERS,
                ),
                Route(
                    method="GET",
                    path="/api/v1/integrations/finance/fx/{period}",
                    operation="get_fx",
                    summary="The FX table of a month or quarter",
                    domain=ThrottleDomain.FINANCE,
                    groups=SPEND_WRITERS,
                ),
                Route(
                    method="PUT",
                    path="/api/v1/integrations/finance/fx/{period}",
                    operation="put_fx",
                    summary="The FX table of a month or quarter: one unit of each currency in the company currency",
                    domain=ThrottleDomain.FINANCE,
                    groups=FINANCE_ADMINS,
                    json_body=True,
                ),
                Route(
                    method="PUT",
                    path="/api/v1/integrations/finance/budget/{period}",
                    operation="put_budget",
                    summary="The budget of a month or quarter per department, channel and campaign (a new version)",
                    domain=ThrottleDomain.FINANCE,
                    groups=FINANCE_ADMINS,
                    json_body=True,
                ),
                Route(
                    method="GET",
                    path="/api/v1/integrations/finance/budget/{period}",
                    operation="get_budget",
                    summary="Budget against actual: remaining, consumption, variance, forecast, by line and department",
                    description="The current budget's figures as of `as_of` (default today). With `version`, that "
                    "version of the period's own budget as it was PUT (its lines, thresholds, `updated_at` and "
                    "`updated_by`) against the actuals as they are now; 404 when the budget never had that version.",
                    domain=ThrottleDomain.FINANCE,
                    groups=frozenset({Group.FINANCE, Group.MARKETING, Group.ADMIN}),
                ),
            ),
            tables={FINANCE.name: "read_write"},
            publishes_events=True,
        ),
        Function(
            name="budget_notifier",
            description="Tells a department's budget channel in Slack and emails its budget owner when a budget line "
            "crosses a threshold or will overrun",
            memory_mb=512,
            timeout_seconds=30,
            rules=(
                Rule(
                    name="budget-alerts",
                    description="Budget thresholds crossed and forecast overruns",
                    pattern={
                        "source": [EVENT_SOURCE],
                        "detail-type": ["budget.threshold_crossed", "budget.forecast_overrun"],
                    },
                    max_retries=8,
                    max_event_age_seconds=6 * 3600,
                ),
            ),
            secrets=(NOTIFICATIONS_SECRET,),
            sends_email=True,
        ),
    ),
)
