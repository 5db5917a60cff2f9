"""The dashboard's business view: what RevOps looks at, from the metrics the functions emit.

Webhooks by vendor and outcome (`shared/webhooks/delivery_metrics.py`), the lead funnel and MQLs per day, health
bands and budget consumption per department (`shared/business_metrics.py`), SLA attainment in total, per priority,
per team and per priority and team (`shared/handoff_metrics.py`), and the CRM sync's errors, counted from the line
the sync writer logs for every batch (`"sync batch written"`, with `retry` and `dead_lettered`) by two log metric
filters. The daily figures show the last 30 days whatever the dashboard's range; the rest follow it.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import METRICS_NAMESPACE
from shared import business_metrics, handoff_metrics
from shared.catalog import Catalog, physical_name
from shared.finance.config import load_finance_config
from shared.handoffs.model import Priority
from shared.webhooks import delivery_metrics
from shared.webhooks.model import Outcome
from shared.webhooks.registry import ALL_VENDORS

DAY = Duration.days(1)
HOUR = Duration.hours(1)
LAST_30_DAYS = "-P30D"
SYNC_WRITER = "crm_sync_writer"
SYNC_BATCH_LINE = "sync batch written"  # functions/crm_sync_writer/handler.py logs it for every batch
# The sync writer's per-batch figures the filters count: (metric name, the log line's field)
SYNC_ERROR_FIELDS = (("SyncNoticesRetried", "retry"), ("SyncNoticesDeadLettered", "dead_lettered"))
ALERT_PCTS = (80, 100)  # lines on the consumption graph
# The functions that emit the handoff figures (under `service=handoffs`, whichever of them it was).
HANDOFF_FUNCTIONS = ("handoff_router", "handoff_timers", "handoffs_api")
PRIORITIES = tuple(priority.value for priority in Priority)  # fixed: a line each


def _metric(
    name: str,
    service: str,
    statistic: str = "Sum",
    period: Duration = DAY,
    label: str | None = None,
    **dimensions: str,
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": service, **dimensions},
        statistic=statistic,
        period=period,
        label=label,
    )


def handoff_metric(name: str, statistic: str, period: Duration, label: str, **dimensions: str) -> cloudwatch.Metric:
    """A handoff figure (`shared/handoff_metrics.py`): the total, or with `priority`, `team` or both."""
    return _metric(name, handoff_metrics.SERVICE, statistic, period, label, **dimensions)


def handoff_search(name: str, statistic: str, period: Duration, label: str, *by: str) -> cloudwatch.MathExpression:
    """A handoff figure per value of the `by` dimensions, one line each, found by a CloudWatch SEARCH: a team
    added to `config/routing.json` (or `none`, a lead no rule matched) gets its line with its first figure. The
    schema `{namespace, service, *by}` matches the metrics of exactly those dimensions, the series
    `shared/handoff_metrics.py` writes for that breakdown (percentiles never add up across series). `label`
    may name the dimensions' values as `${PROP('Dim.team')}` (a dynamic label, per line)."""
    schema = ",".join((METRICS_NAMESPACE, "service", *by))
    query = f'{{{schema}}} service="{handoff_metrics.SERVICE}" MetricName="{name}"'
    return cloudwatch.MathExpression(
        expression=f"SEARCH('{query}', '{statistic}', {int(period.to_seconds())})", label=label, period=period
    )


def emits_handoff_figures(catalog: Catalog) -> bool:
    return any(fn.name in HANDOFF_FUNCTIONS for fn in catalog.functions)


def business_widgets(scope: Construct, stage: str, catalog: Catalog) -> list[list[cloudwatch.IWidget]]:
    """The business view's rows, top to bottom; the sync errors' metric filters are created in `scope`."""
    functions = {fn.name: fn for fn in catalog.functions}
    rows: list[list[cloudwatch.IWidget]] = [
        [cloudwatch.TextWidget(markdown="## Business", width=24, height=1)],
        _webhooks(),
        _funnel(),
    ]
    if emits_handoff_figures(catalog):
        rows.append(_sla_attainment())
    rows.append([_budget_consumption(), _health_bands()])
    if SYNC_WRITER in functions:
        rows.append([_sync_errors(scope, stage, functions[SYNC_WRITER].slug)])
    return rows


def _webhooks() -> list[cloudwatch.IWidget]:
    name, service = delivery_metrics.METRIC, delivery_metrics.SERVICE
    return [
        cloudwatch.GraphWidget(
            title="Webhook deliveries by outcome",
            left=[_metric(name, service, period=HOUR, label=o.value, outcome=o.value) for o in Outcome],
            stacked=True,
            width=8,
        ),
        cloudwatch.GraphWidget(
            title="Webhook deliveries by vendor",
            left=[_metric(name, service, period=HOUR, label=v, vendor=v) for v in ALL_VENDORS],
            stacked=True,
            width=8,
        ),
        cloudwatch.GraphWidget(
            title="Webhook deliveries rejected, by vendor",
            left=[
                _metric(name, service, period=HOUR, label=v, vendor=v, outcome=Outcome.REJECTED.value)
                for v in ALL_VENDORS
            ],
            stacked=True,
            width=8,
        ),
    ]


def _funnel() -> list[cloudwatch.IWidget]:
    def entered(stage: str) -> cloudwatch.Metric:
        return _metric(business_metrics.STAGE_ENTERED, business_metrics.LEADS, label=stage, stage=stage)

    return [
        cloudwatch.GraphWidget(
            title="Lead funnel: leads entering each stage per day",
            left=[entered(stage) for stage in business_metrics.STAGES],
            stacked=True,
            start=LAST_30_DAYS,
            width=10,
        ),
        cloudwatch.GraphWidget(
            title="Lead funnel: leads entering each stage, last 30 days",
            left=[entered(stage) for stage in business_metrics.STAGES],
            view=cloudwatch.GraphWidgetView.BAR,
            set_period_to_time_range=True,
            start=LAST_30_DAYS,
            width=8,
        ),
        cloudwatch.GraphWidget(
            title="MQLs per day",
            left=[_metric(business_metrics.MQL_REACHED, business_metrics.LEADS, label="MQLs")],
            start=LAST_30_DAYS,
            width=6,
        ),
    ]


def _sla_attainment() -> list[cloudwatch.IWidget]:
    """`GET /api/v1/handoffs/metrics`'s attainment per day: accepted within the SLA / (that + breached), as the
    average of `HandoffSlaAttainment` (100 an acceptance within the SLA, 0 a breach), in total and per priority,
    per team, and per priority and team (the API's `sla` rows). An average of each series, unlike a ratio of
    two counts, needs no pairing of series, so it holds for the teams found by SEARCH too."""
    name = handoff_metrics.SLA_ATTAINMENT

    def graph(title: str, lines: list[cloudwatch.IMetric]) -> cloudwatch.IWidget:
        return cloudwatch.GraphWidget(
            title=title,
            left=lines,
            left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
            start=LAST_30_DAYS,
            width=8,
        )

    return [
        graph(
            "Handoff SLA attainment per day (%), in total and by priority; first touch in total",
            [
                handoff_metric(name, "Average", DAY, "all priorities"),
                *(handoff_metric(name, "Average", DAY, p, priority=p) for p in PRIORITIES),
                handoff_metric(handoff_metrics.FIRST_TOUCH_ATTAINMENT, "Average", DAY, "first touch, all priorities"),
            ],
        ),
        graph(
            "Handoff SLA attainment per day (%), by team",
            [handoff_search(name, "Average", DAY, "${PROP('Dim.team')}", "team")],
        ),
        graph(
            "Handoff SLA attainment per day (%), by priority and team",
            [handoff_search(name, "Average", DAY, "${PROP('Dim.priority')} ${PROP('Dim.team')}", "priority", "team")],
        ),
    ]


def _budget_consumption() -> cloudwatch.IWidget:
    return cloudwatch.GraphWidget(
        title="Budget consumption by department (% of the month's budget)",
        left=[
            _metric(
                business_metrics.BUDGET_CONSUMPTION,
                business_metrics.FINANCE,
                statistic="Maximum",
                label=department,
                department=department,
            )
            for department in load_finance_config().department_ids
        ],
        left_annotations=[cloudwatch.HorizontalAnnotation(value=pct, label=f"{pct} %") for pct in ALERT_PCTS],
        start=LAST_30_DAYS,
        width=12,
    )


def _health_bands() -> cloudwatch.IWidget:
    return cloudwatch.GraphWidget(
        title="Accounts per health band (nightly); band changes per day (right)",
        left=[
            _metric(business_metrics.ACCOUNTS_IN_BAND, business_metrics.SUCCESS, "Maximum", label=band, band=band)
            for band in business_metrics.BANDS
        ],
        right=[
            _metric(business_metrics.HEALTH_BAND_ENTERED, business_metrics.SUCCESS, label=f"turned {band}", band=band)
            for band in business_metrics.BANDS
        ],
        start=LAST_30_DAYS,
        width=12,
    )


def _sync_errors(scope: Construct, stage: str, writer_slug: str) -> cloudwatch.IWidget:
    log_group_name = f"/aws/lambda/{physical_name(stage, writer_slug)}"
    log_group = logs.LogGroup.from_log_group_name(scope, "CrmSyncWriterBatchLogs", log_group_name)
    errors = [
        log_group.add_metric_filter(
            f"{name}Filter",
            filter_name=physical_name(stage, f"{writer_slug}-{field.replace('_', '-')}"),
            filter_pattern=logs.FilterPattern.string_value("$.message", "=", SYNC_BATCH_LINE),
            metric_namespace=METRICS_NAMESPACE,
            metric_name=name,
            metric_value=f"$.{field}",
        ).metric(statistic="Sum", period=HOUR, label=name)
        for name, field in SYNC_ERROR_FIELDS
    ]
    conflicts = [
        _metric(business_metrics.SYNC_CONFLICTS, business_metrics.CRM_SYNC, period=HOUR, label=crm, crm=crm)
        for crm in business_metrics.CRMS
    ]
    return cloudwatch.GraphWidget(
        title="CRM sync: notices retried and dead-lettered (left), critical conflicts flagged (right)",
        left=errors,
        right=conflicts,
        width=24,
    )
