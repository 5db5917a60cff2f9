"""AWS CDK infrastructure of RevOps Hub, built entirely from `shared.catalog.CATALOG`."""

from infra.app import add_checks, build_app, context_from_argv
from infra.config import STAGES, StageConfig, stage_config
from infra.stack import (
    RevOpsHubMonitoringStack,
    RevOpsHubRoutingStack,
    RevOpsHubSchemasStack,
    RevOpsHubStack,
    StageStacks,
)

__all__ = [
    "STAGES",
    "RevOpsHubMonitoringStack",
    "RevOpsHubRoutingStack",
    "RevOpsHubSchemasStack",
    "RevOpsHubStack",
    "StageConfig",
    "StageStacks",
    "add_checks",
    "build_app",
    "context_from_argv",
    "stage_config",
]
