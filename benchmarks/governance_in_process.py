"""The fixture of the governance section's in-process parts (the audit per write and the audit search): moto (the
embedded AWS) in this process, patched as the local runtime runs it, with the catalog provisioned, the lead and
audit APIs' handlers imported as Lambda starts them and the DynamoDB calls counted (a botocore hook); an admin's
claims, and a call of a handler as API Gateway makes it."""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shared.catalog import CATALOG

STAGE = "bench"


class DynamoDbCalls:
    """A botocore hook on the default session: every DynamoDB call its clients make, with the tables it names,
    and what each Query read (its ScannedCount)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, frozenset[str]]] = []
        self.scanned = 0

    def before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        tables = {str(params["TableName"])} if "TableName" in params else set()
        for entry in params.get("TransactItems", ()):
            tables |= {str(action["TableName"]) for action in entry.values() if "TableName" in action}
        tables |= set(params.get("RequestItems", {}))
        self.calls.append((model.name, frozenset(tables)))

    def after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "Query":
            self.scanned += int(parsed.get("ScannedCount", 0))

    def clear(self) -> None:
        self.calls.clear()
        self.scanned = 0

    def on(self, table: str) -> list[str]:
        return [operation for operation, tables in self.calls if table in tables]


@contextmanager
def in_process_aws() -> Iterator[tuple[DynamoDbCalls, dict[str, Any]]]:
    """moto in this process, patched as the hub runs it, with the catalog provisioned, the lead and audit APIs'
    handlers imported as Lambda starts them, and the DynamoDB calls counted; everything undone after."""
    import boto3
    from moto import mock_aws

    from local_runtime import moto_patches
    from local_runtime.function_imports import import_handler
    from local_runtime.provision import provision
    from shared.http import api

    saved_environment, saved_session, saved_trails = dict(os.environ), boto3.DEFAULT_SESSION, dict(api.AUDIT_TRAILS)
    modules = [CATALOG.function(name).module for name in ("leads_api", "audit_api")]
    saved_modules = {module: sys.modules.pop(module) for module in modules if module in sys.modules}
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",  # moto serves no account-id endpoint for streams
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    moto_patches.install()
    calls = DynamoDbCalls()
    try:
        with mock_aws(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Powertools: "No application metrics to publish", per request
            boto3.setup_default_session(region_name="us-east-1")
            assert boto3.DEFAULT_SESSION is not None
            # on the default session before any client is made: the handlers' clients (and the audit store's,
            # made at the first audited request) inherit the hooks
            boto3.DEFAULT_SESSION.events.register("before-parameter-build.dynamodb", calls.before)
            boto3.DEFAULT_SESSION.events.register("after-call.dynamodb", calls.after)
            provision(CATALOG, STAGE, boto3.Session(region_name="us-east-1"))
            handlers = {
                name: import_handler(CATALOG, CATALOG.function(name), STAGE) for name in ("leads_api", "audit_api")
            }
            yield calls, handlers
    finally:
        for module in modules:
            sys.modules.pop(module, None)
        sys.modules.update(saved_modules)
        api.AUDIT_TRAILS.clear()
        api.AUDIT_TRAILS.update(saved_trails)
        boto3.DEFAULT_SESSION = saved_session
        os.environ.clear()
        os.environ.update(saved_environment)


def admin_claims() -> dict[str, str]:
    """An admin's claims as API Gateway hands them to a function (the local user pool's access token)."""
    from local_runtime.auth import LocalUserPool

    pool = LocalUserPool.from_config()
    return pool.verify(pool.issue(["admin"], username="bench-admin"))


def call_handler(handler: Any, claims: dict[str, str], method: str, resource: str, **fields: Any) -> tuple[int, Any]:
    from local_runtime.lambda_events import LocalLambdaContext, rest_proxy_event

    path = fields.pop("path", resource)
    body = fields.pop("body", None)
    event = rest_proxy_event(
        method=method,
        path=path,
        resource=resource,
        headers={"Content-Type": "application/json", "User-Agent": "bench"},
        body=json.dumps(body).encode() if body is not None else b"",
        claims=claims,
        **fields,
    )
    answer = handler.handler(event, LocalLambdaContext(handler.__name__.split(".")[1]))
    return int(answer["statusCode"]), json.loads(answer.get("body") or "null")
