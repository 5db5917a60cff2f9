"""Per-stage settings and the few constants the constructs share."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_logs as logs

from shared.catalog import METRICS_NAMESPACE as METRICS_NAMESPACE  # the functions emit under it

REPO_ROOT = Path(__file__).resolve().parent.parent

STAGES = ("dev", "prod")

# AWS publishes each Powertools layer's ARN under its version; the parameter is read at deploy time (a
# CloudFormation parameter), so synth needs no credentials. The version is the one requirements.txt pins and
# the tests ran with (never `latest`: what deploys is what was tested).
POWERTOOLS_VERSION = metadata.version("aws-lambda-powertools")
POWERTOOLS_LAYER_PARAMETER = f"/aws/service/powertools/python/arm64/python3.14/{POWERTOOLS_VERSION}"


@dataclass(frozen=True)
class CustomDomain:
    """The API under a domain of your own (`api.example.com`) instead of the execute-api URL. API Gateway serves it
    with a TLS 1.3 security policy (TLS 1.2 and older are refused) and only through it: the execute-api endpoint is
    switched off, so no caller can fall back to an older TLS version there. The certificate is an ACM certificate for
    the name in the stage's region (issued and validated beforehand); with `hosted_zone_id` and `hosted_zone_name`
    (a Route 53 public zone holding the name), an alias record points the name at the API, else point a CNAME at the
    `ApiDomainTarget` output yourself."""

    name: str
    certificate_arn: str
    hosted_zone_id: str | None = None
    hosted_zone_name: str | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", self.name):
            raise ValueError(f"custom domain {self.name!r} is not a lowercase DNS name such as api.example.com")
        if not self.certificate_arn.startswith("arn:") or ":acm:" not in self.certificate_arn:
            raise ValueError(f"custom domain {self.name}: certificate_arn must be an ACM certificate's ARN")
        if (self.hosted_zone_id is None) != (self.hosted_zone_name is None):
            raise ValueError(f"custom domain {self.name}: give both hosted_zone_id and hosted_zone_name, or neither")


@dataclass(frozen=True)
class StageConfig:
    name: str
    removal_policy: RemovalPolicy
    deletion_protection: bool
    log_retention: logs.RetentionDays
    log_level: str
    api_logging_level: apigateway.MethodLoggingLevel
    archive_retention_days: int
    threat_protection: cognito.StandardThreatProtectionMode
    custom_domain: CustomDomain | None = None  # None: the API answers on its execute-api URL


_CONFIGS = {
    # dev is disposable: stacks are torn down freely, so nothing is retained and logs are verbose.
    "dev": StageConfig(
        name="dev",
        removal_policy=RemovalPolicy.DESTROY,
        deletion_protection=False,
        log_retention=logs.RetentionDays.TWO_WEEKS,
        log_level="DEBUG",
        api_logging_level=apigateway.MethodLoggingLevel.INFO,
        archive_retention_days=14,
        # Audit-only so test sign-ins from odd networks are scored but never blocked.
        threat_protection=cognito.StandardThreatProtectionMode.AUDIT_ONLY,
    ),
    # prod holds the delivery log and vendor secrets: keep data when the stack goes, keep logs longer,
    # and log API executions at ERROR only because webhook volume makes INFO costly.
    "prod": StageConfig(
        name="prod",
        removal_policy=RemovalPolicy.RETAIN,
        deletion_protection=True,
        log_retention=logs.RetentionDays.THREE_MONTHS,
        log_level="INFO",
        api_logging_level=apigateway.MethodLoggingLevel.ERROR,
        archive_retention_days=90,
        threat_protection=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
    ),
}


def stage_config(stage: object) -> StageConfig:
    """The settings of `stage`; anything but a known stage name is a configuration error."""
    if not isinstance(stage, str) or stage not in _CONFIGS:
        raise ValueError(f"unknown stage {stage!r}: pass -c stage=<one of {', '.join(STAGES)}>")
    return _CONFIGS[stage]


def pascal(name: str) -> str:
    """Construct ids from catalog names (`webhook_receiver` -> `WebhookReceiver`), stable across synths."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)
