"""Alarms (dead-letter depth, function errors, throttles and error log lines, API 5XX and latency) to one
encrypted SNS topic, and one dashboard for the API, the functions and the queues."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import METRICS_NAMESPACE, StageConfig, pascal
from infra.functions import DeployedFunction
from infra.security import Keys
from shared import handoff_metrics
from shared.catalog import physical_name

API_P95_LATENCY_MS = 1000
PERIOD = Duration.minutes(5)
# Every function logs JSON (Lambda's format for the runtime's logger, Powertools' for the others): both
# name the level `level`.
ERROR_LOG_LINES = logs.FilterPattern.string_value("$.level", "=", "ERROR")


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cfg: StageConfig,
        keys: Keys,
        api: apigateway.RestApi,
        functions: Mapping[str, DeployedFunction],
        queues: Mapping[str, sqs.Queue],
    ) -> None:
        super().__init__(scope, construct_id)
        self._cfg = cfg
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=physical_name(cfg.name, "alarms"),
            display_name=f"RevOps Hub {cfg.name} alarms",
            master_key=keys.alarms,
            enforce_ssl=True,
        )
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        for queue_name, queue in queues.items():
            self._alarm(
                f"Queue{pascal(queue_name)}Depth",
                f"{queue_name}-depth",
                queue.metric_approximate_number_of_messages_visible(statistic="Maximum", period=PERIOD),
                f"Messages are waiting in dead-letter queue {queue_name}: inspect and redrive them.",
            )
        for name, deployed in functions.items():
            fn = deployed.function
            # One alarm per function over its three signals (CloudFormation allows 500 resources a stack: an
            # alarm each would cost 3 per function); the dashboard and the description tell them apart.
            self._alarm(
                f"{pascal(name)}Failures",
                f"{deployed.spec.slug}-failures",
                cloudwatch.MathExpression(
                    expression="FILL(errors, 0) + FILL(throttles, 0) + FILL(error_logs, 0)",
                    using_metrics={
                        "errors": fn.metric_errors(statistic="Sum", period=PERIOD),
                        "throttles": fn.metric_throttles(statistic="Sum", period=PERIOD),
                        "error_logs": self._error_log_lines(name, deployed),
                    },
                    period=PERIOD,
                    label=f"{name} errors + throttles + ERROR log lines",
                ),
                f"{name} failed (Errors), was throttled (Throttles: requests or events rejected or delayed), or "
                "logged an error it answered without failing (ErrorLogLines, such as a vendor payload the webhook "
                "receiver could not read, answered 400): the function's metrics say which, its log the traceback.",
            )
        self._alarm(
            "Api5xx", "api-5xx", api.metric_server_error(statistic="Sum", period=PERIOD), "The API returned 5XX."
        )
        self._alarm(
            "ApiLatencyP95",
            "api-latency-p95",
            api.metric_latency(statistic="p95", period=PERIOD),
            f"API p95 latency is above {API_P95_LATENCY_MS} ms.",
            threshold=API_P95_LATENCY_MS,
            evaluation_periods=3,
        )
        self.dashboard = self._dashboard(api, functions, queues)

    def _error_log_lines(self, name: str, deployed: DeployedFunction) -> cloudwatch.Metric:
        """A count of the function's ERROR log lines: incidents a function survives raise no Errors metric."""
        metric_filter = deployed.log_group.add_metric_filter(
            f"{pascal(name)}ErrorLogLines",
            filter_name=physical_name(self._cfg.name, f"{deployed.spec.slug}-error-log-lines"),
            filter_pattern=ERROR_LOG_LINES,
            metric_namespace=METRICS_NAMESPACE,
            metric_name=f"{pascal(name)}ErrorLogLines",
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

    @staticmethod
    def _speed_to_lead(functions: Mapping[str, DeployedFunction]) -> list[cloudwatch.GraphWidget]:
        """The handoff figures sales leaders judge the hub by, from the metrics the handoff functions emit."""

        def metric(name: str, function: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=name,
                dimensions_map={"service": functions[function].spec.slug},
                statistic=statistic,
                period=PERIOD,
                label=f"{name} {statistic} ({function})",
            )

        if not {"handoff_router", "handoff_timers", "handoffs_api"} <= set(functions):
            return []
        return [
            cloudwatch.GraphWidget(
                title="Speed to lead (s): requested -> assigned, requested -> accepted",
                left=[
                    *(metric(handoff_metrics.ASSIGN_SECONDS, "handoff_router", s) for s in ("p50", "p95")),
                    *(metric(handoff_metrics.ACCEPT_SECONDS, fn, "p95") for fn in ("handoff_router", "handoffs_api")),
                ],
                width=16,
            ),
            cloudwatch.GraphWidget(
                title="Handoff SLA breaches",
                left=[metric(handoff_metrics.SLA_BREACHES, "handoff_timers", "Sum")],
                width=8,
            ),
        ]

    def _dashboard(
        self,
        api: apigateway.RestApi,
        functions: Mapping[str, DeployedFunction],
        queues: Mapping[str, sqs.Queue],
    ) -> cloudwatch.Dashboard:
        fns = [deployed.function for deployed in functions.values()]
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
                left=[
                    api.metric_count(statistic="Sum", period=PERIOD),
                    api.metric_client_error(statistic="Sum", period=PERIOD),
                    api.metric_server_error(statistic="Sum", period=PERIOD),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="API latency (ms)",
                left=[api.metric_latency(statistic=stat, period=PERIOD) for stat in ("p50", "p95", "p99")],
                right=[api.metric_integration_latency(statistic="p95", period=PERIOD)],
                left_annotations=[cloudwatch.HorizontalAnnotation(value=API_P95_LATENCY_MS, label="p95 alarm")],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Function invocations", left=[fn.metric_invocations(period=PERIOD) for fn in fns], width=8
            ),
            cloudwatch.GraphWidget(
                title="Function errors and throttles",
                left=[fn.metric_errors(period=PERIOD) for fn in fns],
                right=[fn.metric_throttles(period=PERIOD) for fn in fns],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Function duration p95 (ms)",
                left=[fn.metric_duration(statistic="p95", period=PERIOD) for fn in fns],
                width=8,
            ),
        )
        dashboard.add_widgets(*self._speed_to_lead(functions))
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Dead-letter queue depth",
                left=[
                    queue.metric_approximate_number_of_messages_visible(statistic="Maximum", period=PERIOD)
                    for queue in queues.values()
                ],
                width=24,
            )
        )
        return dashboard
