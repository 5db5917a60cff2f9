"""Where the operator commands reach a stage: the local hub's embedded AWS (`make run`), or a deployed stage's
AWS account with the credentials of the environment."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import boto3

LOCAL = "local"


class CannotRun(Exception):
    """What is wrong and what to do, in one line."""


def local_aws_endpoint() -> str:
    from local_runtime.discovery import NoLocalHub, running_hub

    try:
        return running_hub().aws_endpoint
    except NoLocalHub as exc:
        raise CannotRun(f"{exc}; start one with `make run`, or pass STAGE=dev for a deployed stage") from None


def stage_clients(stage: str, endpoint_url: str | None) -> Callable[[str], Any]:
    """`client(service)`: a boto3 client of the stage's AWS. For the local stage, the running hub's embedded AWS
    (unless `endpoint_url` says otherwise), which takes any credentials: placeholders when none are set."""
    if stage == LOCAL:
        endpoint_url = endpoint_url or local_aws_endpoint()
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    session = boto3.Session(region_name=os.environ.get("AWS_REGION", "us-east-1"))
    # boto3's stubs type `client` per service name literal; the name here is the caller's
    return lambda service: session.client(service, endpoint_url=endpoint_url)  # type: ignore[call-overload]
