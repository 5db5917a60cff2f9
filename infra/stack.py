"""The stacks of a stage, assembled from the catalog:

- `RevOpsHub-<stage>`: the hub itself (API, functions, data, bus and archive, schedules, timers, keys, the alarm
  topic);
- `RevOpsHub-<stage>-routing`: the EventBridge rules on the bus, their dead-letter queues and their permissions to
  invoke the functions;
- `RevOpsHub-<stage>-schemas`: the EventBridge schema registry of the events on the bus, one schema per type;
- `RevOpsHub-<stage>-monitoring`: the alarms, the log metric filters they count and the dashboard.

CloudFormation refuses a stack of more than 500 resources. The rules grow with every consumer (four resources a
rule), the registry with every event type and the monitoring with every function and queue; in stacks of their own
they take no room from the main stack. None is referenced by the main stack, and each finds what it needs in it by
the names the catalog gives everything (`revops-<stage>-...`), so no stack exports anything to another and nothing
blocks a later change. They deploy after the main stack; `cdk deploy --all` (`make deploy`) deploys the four and
`cdk destroy --all` (`make destroy`) removes them, the main stack last.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnOutput, CfnWaitConditionHandle, Stack, Tags
from constructs import Construct

from infra.api import Api
from infra.config import StageConfig, stage_config
from infra.data import Data
from infra.event_schemas import EventSchemas
from infra.events import Events, Rules, Schedules
from infra.functions import Functions
from infra.observability import AlarmTopic, Monitoring
from infra.queues import QueueTriggers
from infra.security import Keys
from infra.streams import StreamTriggers
from infra.timers import Timers
from shared.catalog import CATALOG, Catalog


def stack_name(stage: str) -> str:
    return f"RevOpsHub-{stage}"


def routing_stack_name(stage: str) -> str:
    return f"{stack_name(stage)}-routing"


def schemas_stack_name(stage: str) -> str:
    return f"{stack_name(stage)}-schemas"


def monitoring_stack_name(stage: str) -> str:
    return f"{stack_name(stage)}-monitoring"


class _StageStack(Stack):
    """Environment-agnostic: no account, region, lookups or Docker at synth, so it synthesizes offline. Each
    stack of a stage names itself (`stack_name_of`) and says what it holds (`holds`), and builds its constructs
    in `build`."""

    holds = ""

    @staticmethod
    def stack_name_of(stage: str) -> str:
        raise NotImplementedError

    def __init__(
        self,
        scope: Construct,
        stage: str,
        *,
        catalog: Catalog = CATALOG,
        construct_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        name = self.stack_name_of(stage)
        super().__init__(
            scope, construct_id or name, stack_name=name, description=f"RevOps Hub ({stage}): {self.holds}", **kwargs
        )
        self.stage = stage
        self.catalog = catalog
        Tags.of(self).add("project", "revops-hub")
        Tags.of(self).add("stage", stage)
        self.build(stage_config(stage), catalog)

    def build(self, cfg: StageConfig, catalog: Catalog) -> None:
        raise NotImplementedError


class RevOpsHubStack(_StageStack):
    holds = "webhooks in, canonical events out"
    stack_name_of = staticmethod(stack_name)

    def build(self, cfg: StageConfig, catalog: Catalog) -> None:
        self.keys = Keys(self, "Security", cfg=cfg)
        self.data = Data(self, "Data", cfg=cfg, catalog=catalog, keys=self.keys)
        self.events = Events(self, "Events", cfg=cfg, catalog=catalog, keys=self.keys)
        self.functions = Functions(
            self, "Functions", cfg=cfg, catalog=catalog, keys=self.keys, data=self.data, bus=self.events.bus
        )
        # The construct id they had when the rules were beside them, so the schedules keep their logical ids.
        self.schedules = Schedules(
            self,
            "Triggers",
            cfg=cfg,
            catalog=catalog,
            keys=self.keys,
            data=self.data,
            functions=self.functions.by_name,
        )
        self.streams = StreamTriggers(
            self, "Streams", catalog=catalog, keys=self.keys, data=self.data, functions=self.functions.by_name
        )
        self.queue_triggers = QueueTriggers(
            self, "Queues", catalog=catalog, keys=self.keys, data=self.data, functions=self.functions.by_name
        )
        self.timers = Timers(self, "Timers", cfg=cfg, catalog=catalog, functions=self.functions.by_name)
        self.api = Api(self, "Api", cfg=cfg, catalog=catalog, functions=self.functions.by_name)
        self.observability = AlarmTopic(self, "Observability", cfg=cfg, keys=self.keys)

        CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the API stage")
        CfnOutput(self, "UserPoolId", value=self.api.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=self.api.user_pool_client.user_pool_client_id)
        CfnOutput(self, "EventBusName", value=self.events.bus.event_bus_name)


class RevOpsHubRoutingStack(_StageStack):
    holds = "EventBridge rules on the hub bus, their dead-letter queues and their permissions to invoke the functions"
    stack_name_of = staticmethod(routing_stack_name)

    def build(self, cfg: StageConfig, catalog: Catalog) -> None:
        self.rules = Rules(self, "Rules", cfg=cfg, catalog=catalog)
        if not catalog.rules:
            # CloudFormation refuses a stack without resources: a catalog without rules (a test's) keeps the stack
            # with a handle that costs nothing, so a stage is always the same four stacks.
            CfnWaitConditionHandle(self, "NoRules")


class RevOpsHubSchemasStack(_StageStack):
    holds = "EventBridge schema registry of the events on the hub bus"
    stack_name_of = staticmethod(schemas_stack_name)

    def build(self, cfg: StageConfig, catalog: Catalog) -> None:
        # The construct id it had in the main stack, so the registry and the schemas keep their logical ids.
        self.event_schemas = EventSchemas(self, "EventSchemas", cfg=cfg, catalog=catalog)


class RevOpsHubMonitoringStack(_StageStack):
    holds = "alarms to the alarm topic, log metric filters and the dashboard"
    stack_name_of = staticmethod(monitoring_stack_name)

    def build(self, cfg: StageConfig, catalog: Catalog) -> None:
        # The construct id they had in the main stack, so the alarms keep their logical ids.
        self.monitoring = Monitoring(self, "Observability", cfg=cfg, catalog=catalog)


@dataclass(frozen=True)
class StageStacks:
    """The stacks of one stage, in deploy order."""

    main: RevOpsHubStack
    routing: RevOpsHubRoutingStack
    schemas: RevOpsHubSchemasStack
    monitoring: RevOpsHubMonitoringStack

    def __iter__(self) -> Iterator[Stack]:
        return iter((self.main, self.routing, self.schemas, self.monitoring))


def stage_stacks(scope: Construct, stage: str, *, catalog: Catalog = CATALOG) -> StageStacks:
    main = RevOpsHubStack(scope, stage, catalog=catalog)
    routing = RevOpsHubRoutingStack(scope, stage, catalog=catalog)
    schemas = RevOpsHubSchemasStack(scope, stage, catalog=catalog)
    monitoring = RevOpsHubMonitoringStack(scope, stage, catalog=catalog)
    # The rules and their dead-letter queues, the registry, the alarms, the metric filters and the dashboard used
    # to be in the main stack, under the same names: deploying the main stack first deletes them there before the
    # other stack creates them again (a rule, queue, registry, alarm or filter name is taken until then). The rules
    # also need the bus and the functions, the metric filters the functions' log groups, the alarms the topic.
    # SQS frees a deleted queue's name only a minute later, and prod retains its queues (DeletionPolicy Retain):
    # README ("Deploying to AWS") says how a stage deployed before the routing stack moves its rules' queues. (The
    # monitoring stack watches those queues by name, in metrics that need no queue to exist: it does not wait for
    # the routing stack.)
    moved = "it holds resources that were in the main stack under the same names"
    routing.add_stack_dependency(main, f"{moved}; its rules deliver to the main stack's functions on its bus")
    schemas.add_stack_dependency(main, moved)
    monitoring.add_stack_dependency(main, f"{moved}; it filters the main stack's log groups")
    return StageStacks(main, routing, schemas, monitoring)
