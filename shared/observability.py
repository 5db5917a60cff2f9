"""Logger, metrics and tracing, one set per function; service name and namespace come from the environment.

Tracing: Lambda active tracing and API Gateway tracing give every request its X-Ray trace without any SDK.
The X-Ray SDK (Powertools Tracer) adds a subsegment per AWS call but costs ~250 ms of cold start (it builds
its own botocore sessions at import), so it is opt-in: set XRAY_SDK=true on a function to turn it on.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()

Handler = TypeVar("Handler", bound=Callable[..., Any])


def _passthrough(handler: Handler) -> Handler:
    return handler


def _tracing_decorator() -> Callable[[Handler], Handler]:
    if os.environ.get("XRAY_SDK", "").lower() != "true":
        return _passthrough
    from aws_lambda_powertools import Tracer

    return Tracer().capture_lambda_handler  # type: ignore[return-value]


traced = _tracing_decorator()
