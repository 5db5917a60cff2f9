"""One stack per stage, `RevOpsHub-<stage>`, assembled from the catalog."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from infra.api import Api
from infra.config import stage_config
from infra.data import Data
from infra.event_schemas import EventSchemas
from infra.events import Events, Triggers
from infra.functions import Functions
from infra.observability import Observability
from infra.security import Keys
from infra.streams import StreamTriggers
from infra.timers import Timers
from shared.catalog import CATALOG, Catalog


def stack_name(stage: str) -> str:
    return f"RevOpsHub-{stage}"


class RevOpsHubStack(Stack):
    """Environment-agnostic: no account, region, lookups or Docker at synth, so it synthesizes offline."""

    def __init__(
        self,
        scope: Construct,
        stage: str,
        *,
        catalog: Catalog = CATALOG,
        construct_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        cfg = stage_config(stage)
        super().__init__(
            scope,
            construct_id or stack_name(stage),
            stack_name=stack_name(stage),
            description=f"RevOps Hub ({stage}): webhooks in, canonical events out",
            **kwargs,
        )
        self.stage = stage
        self.catalog = catalog
        Tags.of(self).add("project", "revops-hub")
        Tags.of(self).add("stage", stage)

        self.keys = Keys(self, "Security", cfg=cfg)
        self.data = Data(self, "Data", cfg=cfg, catalog=catalog, keys=self.keys)
        self.events = Events(self, "Events", cfg=cfg, catalog=catalog, keys=self.keys)
        self.event_schemas = EventSchemas(self, "EventSchemas", cfg=cfg, catalog=catalog)
        self.functions = Functions(
            self, "Functions", cfg=cfg, catalog=catalog, keys=self.keys, data=self.data, bus=self.events.bus
        )
        self.triggers = Triggers(
            self,
            "Triggers",
            cfg=cfg,
            catalog=catalog,
            keys=self.keys,
            data=self.data,
            bus=self.events.bus,
            functions=self.functions.by_name,
        )
        self.streams = StreamTriggers(
            self, "Streams", catalog=catalog, keys=self.keys, data=self.data, functions=self.functions.by_name
        )
        self.timers = Timers(self, "Timers", cfg=cfg, catalog=catalog, functions=self.functions.by_name)
        self.api = Api(self, "Api", cfg=cfg, catalog=catalog, functions=self.functions.by_name)
        self.observability = Observability(
            self,
            "Observability",
            cfg=cfg,
            keys=self.keys,
            api=self.api.rest_api,
            functions=self.functions.by_name,
            queues=self.data.queues,
        )

        CfnOutput(self, "ApiUrl", value=self.api.rest_api.url, description="Base URL of the API stage")
        CfnOutput(self, "UserPoolId", value=self.api.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=self.api.user_pool_client.user_pool_client_id)
        CfnOutput(self, "EventBusName", value=self.events.bus.event_bus_name)
