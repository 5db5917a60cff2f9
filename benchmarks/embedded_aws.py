"""A boto3 client of the embedded AWS a local hub or a bench's moto server runs (it takes any credentials)."""

from __future__ import annotations

from typing import Any

import boto3


def embedded_client(service: str, endpoint: str) -> Any:
    # The stubs type boto3.client by each service's literal name; this takes any.
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 (the embedded AWS takes any)
    )
