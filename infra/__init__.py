"""AWS CDK infrastructure of RevOps Hub, built entirely from `shared.catalog.CATALOG`."""

from infra.app import add_checks, build_app, context_from_argv
from infra.config import STAGES, StageConfig, stage_config
from infra.stack import RevOpsHubStack

__all__ = ["STAGES", "RevOpsHubStack", "StageConfig", "add_checks", "build_app", "context_from_argv", "stage_config"]
