"""Alarms (dead-letter depth, function errors, throttles and error log lines, API 5XX and latency) to one
encrypted SNS topic, and one dashboard for the API, the functions, the business figures (`infra/business_view.py`),
the work queues and the dead-letter queues.

The topic is in the main stack (`AlarmTopic`; people subscribe to it, so it stays where it is). The alarms, the
log metric filters they count and the dashboard are in the stage's monitoring stack (`Monitoring`): one of each
per function and an alarm per queue would otherwise take a sixth of the main stack's 500 resources. `Monitoring`
finds what it watches by the names the catalog gives it (`revops-<stage>-...`), never by reference, so the
stacks share no export; `tests/infra` checks that every name it watches is one the main stack creates.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.business_view import PRIORITIES, business_widgets, emits_handoff_figures, handoff_metric, handoff_search
from infra.config import METRICS_NAMESPACE, StageConfig, pascal
from infra.security import Keys
from shared import handoff_metrics
from shared.catalog import Catalog, Function, physical_name

API_P95_LATENCY_MS = 1000
PERIOD = Duration.minutes(5)
# Every function logs JSON (Lambda's format for the runtime's logger, Powertools' for the others): both
# name the level `level`.
ERROR_LOG_LINES = logs.FilterPattern.string_value("$.level", "=", "ERROR")


def alarm_topic_name(stage: str) -> str:
    return physical_name(stage, "alarms")


def api_name(stage: str) -> str:
    """The REST API's name, the `ApiName` dimension of its metrics (`infra/api.py` names it so)."""
    return physical_name(stage, "api")


def function_log_group_name(stage: str, fn: Function) -> str:
    """The log group `infra/functions.py` creates for the function, under the name Lambda gives it by default."""
    return f"/aws/lambda/{physical_name(stage, fn.slug)}"


class AlarmTopic(Construct):
    """In the main stack, under the construct id it has always had (`Observability`), so its logical id and the
    subscriptions made to it stay."""

    def __init__(self, scope: Construct, construct_id: str, *, cfg: StageConfig, keys: Keys) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=alarm_topic_name(cfg.name),
            display_name=f"RevOps Hub {cfg.name} alarms",
            master_key=keys.alarms,
            enforce_ssl=True,
        )


class Monitoring(Construct):
    """In the monitoring stack, which deploys after the main stack: the log groups it filters exist by then."""

    def __init__(self, scope: Construct, construct_id: str, *, cfg: StageConfig, catalog: Catalog) -> None:
        super().__init__(scope, construct_id)
        self._cfg = cfg
        self._catalog = catalog
        self.topic = sns.Topic.from_topic_arn(
            self, "AlarmTopic", Stack.of(self).format_arn(service="sns", resource=alarm_topic_name(cfg.name))
        )
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        for queue in catalog.queues:
            self._alarm(
                f"Queue{pascal(queue.name)}Depth",
                f"{queue.name}-depth",
                self._queue_depth(queue.name),
                f"Messages are waiting in dead-letter queue {queue.name}: inspect and redrive them.",
            )
        for fn in catalog.functions:
            name = fn.name
            # One alarm per function over its three signals (CloudFormation allows 500 resources a stack: an
            # alarm each would cost 3 per function); the dashboard and the description tell them apart.
            self._alarm(
                f"{pascal(name)}Failures",
                f"{fn.slug}-failures",
                cloudwatch.MathExpression(
                    expression="FILL(errors, 0) + FILL(throttles, 0) + FILL(error_logs, 0)",
                    using_metrics={
                        "errors": self._function_metric(fn, "Errors", "Sum"),
                        "throttles": self._function_metric(fn, "Throttles", "Sum"),
                        "error_logs": self._error_log_lines(fn),
                    },
                    period=PERIOD,
                    label=f"{name} errors + throttles + ERROR log lines",
                ),
                f"{name} failed (Errors), was throttled (Throttles: requests or events rejected or delayed), or "
                "logged an error it answered without failing (ErrorLogLines, such as a vendor payload the webhook "
                "receiver could not read, answered 400): the function's metrics say which, its log the traceback.",
            )
        self._alarm("Api5xx", "api-5xx", self._api_metric("5XXError", "Sum"), "The API returned 5XX.")
        self._alarm(
            "ApiLatencyP95",
            "api-latency-p95",
            self._api_metric("Latency", "p95"),
            f"API p95 latency is above {API_P95_LATENCY_MS} ms.",
            threshold=API_P95_LATENCY_MS,
            evaluation_periods=3,
        )
        self.dashboard = self._dashboard()

    def _function_metric(self, fn: Function, metric_name: str, statistic: str) -> cloudwatch.Metric:
        """What `lambda_.Function.metric_*` would give, for the function by its name."""
        return cloudwatch.Metric(
            namespace="AWS/Lambda",
            metric_name=metric_name,
            dimensions_map={"FunctionName": physical_name(self._cfg.name, fn.slug)},
            statistic=statistic,
            period=PERIOD,
        )

    def _api_metric(self, metric_name: str, statistic: str) -> cloudwatch.Metric:
        """What `apigateway.RestApi.metric_*` would give, for the API by its name."""
        return cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name=metric_name,
            dimensions_map={"ApiName": api_name(self._cfg.name)},
            statistic=statistic,
            period=PERIOD,
        )

    def _queue_depth(
        self, queue_name: str, metric_name: str = "ApproximateNumberOfMessagesVisible"
    ) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/SQS",
            metric_name=metric_name,
            dimensions_map={"QueueName": physical_name(self._cfg.name, queue_name)},
            statistic="Maximum",
            period=PERIOD,
        )

    def _error_log_lines(self, fn: Function) -> cloudwatch.Metric:
        """A count of the function's ERROR log lines: incidents a function survives raise no Errors metric."""
        log_group = logs.LogGroup.from_log_group_name(
            self, f"{pascal(fn.name)}Logs", function_log_group_name(self._cfg.name, fn)
        )
        metric_filter = log_group.add_metric_filter(
            f"{pascal(fn.name)}ErrorLogLines",
            filter_name=physical_name(self._cfg.name, f"{fn.slug}-error-log-lines"),
            filter_pattern=ERROR_LOG_LINES,
            metric_namespace=METRICS_NAMESPACE,
            metric_name=f"{pascal(fn.name)}ErrorLogLines",
            metric_value="1",
        )
        return metric_filter.metric(statistic="Sum", period=PERIOD)

    def _alarm(
        self,
        construct_id: str,
        name: str,
        metric: cloudwatch.Metric | cloudwatch.MathExpression,
        description: str,
        *,
        threshold: float = 0,
        evaluation_periods: int = 1,
    ) -> cloudwatch.Alarm:
        alarm = metric.create_alarm(
            self,
            construct_id,
            alarm_name=physical_name(self._cfg.name, name),
            alarm_description=description,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=evaluation_periods,
            # No datapoints means no messages, no invocations or no requests: nothing is wrong.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        alarm.add_ok_action(cw_actions.SnsAction(self.topic))
        self.alarms[name] = alarm
        return alarm

    def _speed_to_lead(self) -> list[list[cloudwatch.IWidget]]:
        """The handoff figures sales leaders judge the hub by (`shared/handoff_metrics.py`, `service=handoffs`
        whichever handoff function emitted them): speed to lead's p50 and p95 and the SLA breaches, in total,
        per priority (the three of `Priority`, a line each) and per team (found by SEARCH, so a team added to
        `config/routing.json` shows with its first handoff). Each is a series of its own: CloudWatch computes
        no percentile across series."""
        if not emits_handoff_figures(self._catalog):
            return []
        stages = (
            (handoff_metrics.ASSIGN_SECONDS, "requested -> assigned"),
            (handoff_metrics.ACCEPT_SECONDS, "requested -> accepted"),
            (handoff_metrics.FIRST_TOUCH_SECONDS, "assigned -> first touch"),
        )
        percentiles = ("p50", "p95")
        breaches = handoff_metrics.SLA_BREACHES
        totals: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(
                title="Speed to lead (s): requested -> assigned, requested -> accepted, assigned -> first touch",
                left=[
                    handoff_metric(name, stat, PERIOD, f"{stage} {stat}")
                    for name, stage in stages
                    for stat in percentiles
                ],
                width=16,
            ),
            cloudwatch.GraphWidget(
                title="Handoff SLA breaches by priority (stacked: the total), accept and first touch",
                left=[
                    handoff_metric(name, "Sum", PERIOD, f"{p} {sla}", priority=p)
                    for name, sla in ((breaches, "accept"), (handoff_metrics.FIRST_TOUCH_BREACHES, "first touch"))
                    for p in PRIORITIES
                ],
                stacked=True,
                width=8,
            ),
        ]
        by_priority: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(
                title=f"Speed to lead by priority (s): {stage}, p50 and p95",
                left=[
                    handoff_metric(name, stat, PERIOD, f"{p} {stat}", priority=p)
                    for p in PRIORITIES
                    for stat in percentiles
                ],
                width=24 // len(stages),
            )
            for name, stage in stages
        ]
        by_team: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(
                title=f"Speed to lead by team (s): {stage}, p50 and p95",
                left=[
                    handoff_search(name, stat, PERIOD, f"${{PROP('Dim.team')}} {stat}", "team") for stat in percentiles
                ],
                width=24 // (len(stages) + 1),
            )
            for name, stage in stages
        ]
        by_team.append(
            cloudwatch.GraphWidget(
                title="Handoff SLA breaches by team, accept and first touch",
                left=[
                    handoff_search(name, "Sum", PERIOD, f"${{PROP('Dim.team')}} {sla}", "team")
                    for name, sla in ((breaches, "accept"), (handoff_metrics.FIRST_TOUCH_BREACHES, "first touch"))
                ],
                width=24 // (len(stages) + 1),
            )
        )
        return [totals, by_priority, by_team]

    def _dashboard(self) -> cloudwatch.Dashboard:
        fns = self._catalog.functions
        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=physical_name(self._cfg.name, "overview"),
            default_interval=Duration.hours(3),
        )
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24, height=4)
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests and errors",
                left=[self._api_metric(name, "Sum") for name in ("Count", "4XXError", "5XXError")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="API latency (ms)",
                left=[self._api_metric("Latency", stat) for stat in ("p50", "p95", "p99")],
                right=[self._api_metric("IntegrationLatency", "p95")],
                left_annotations=[cloudwatch.HorizontalAnnotation(value=API_P95_LATENCY_MS, label="p95 alarm")],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Function invocations",
                left=[self._function_metric(fn, "Invocations", "Sum") for fn in fns],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Function errors and throttles",
                left=[self._function_metric(fn, "Errors", "Sum") for fn in fns],
                right=[self._function_metric(fn, "Throttles", "Sum") for fn in fns],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Function duration p95 (ms)",
                left=[self._function_metric(fn, "Duration", "p95") for fn in fns],
                width=8,
            ),
        )
        for row in self._speed_to_lead():
            dashboard.add_widgets(*row)
        for row in business_widgets(self, self._cfg.name, self._catalog):
            dashboard.add_widgets(*row)
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Dead-letter queue depth",
                left=[self._queue_depth(queue.name) for queue in self._catalog.queues],
                width=24,
            )
        )
        if self._catalog.work_queues:
            # A consumer that cannot keep up, or whose messages keep failing (retried, not yet dead-lettered).
            dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title="Work queues: messages waiting (left), age of the oldest in seconds (right)",
                    left=[self._queue_depth(queue.name) for queue in self._catalog.work_queues],
                    right=[
                        self._queue_depth(queue.name, "ApproximateAgeOfOldestMessage")
                        for queue in self._catalog.work_queues
                    ],
                    width=24,
                )
            )
        return dashboard
