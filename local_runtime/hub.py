"""`make run`: the whole hub on localhost over an embedded AWS.

moto runs in server mode on loopback; the catalog's tables, bus, rules, queues and secrets are created in
it; the catalog's functions are imported and invoked in-process by a local API Gateway (HTTP) and by the
event dispatcher (EventBridge rules), with the same environment they get in AWS.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from local_runtime.auth import LocalUserPool
from local_runtime.dispatcher import EventDispatcher
from local_runtime.faults import PutEventsFaults
from local_runtime.gateway import LocalApiGateway, LocalRoute
from local_runtime.lambda_events import LOCAL_REGION, LocalLambdaContext
from local_runtime.provision import Provisioned, provision
from local_runtime.scheduler import LocalScheduler
from shared.catalog import CATALOG, Catalog, Function

STAGE = "local"
log = logging.getLogger("local_runtime")


class LocalHub:
    def __init__(
        self, catalog: Catalog = CATALOG, host: str = "127.0.0.1", port: int = 3000, aws_port: int = 0
    ) -> None:
        self.catalog = catalog
        self.host = host
        self.port = port
        self.aws_port = aws_port
        self._handlers: dict[str, Callable[[dict[str, Any], Any], Any]] = {}
        self._moto: Any = None
        self._server: Any = None
        self._dispatcher: EventDispatcher | None = None
        self._scheduler: LocalScheduler | None = None
        self.provisioned: Provisioned | None = None
        self.faults = PutEventsFaults()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.aws_port, verbose=False)
        self._moto.start()
        moto_host, moto_port = self._moto.get_host_and_port()
        self.aws_endpoint = f"http://{moto_host}:{moto_port}"
        # moto keeps its state per process, not per server: a hub starts from an empty embedded AWS.
        requests.post(f"{self.aws_endpoint}/moto-api/reset", timeout=10).raise_for_status()
        self._configure_environment()

        import boto3

        # Before any handler creates its clients: botocore copies a session's hooks into each new client.
        boto3.setup_default_session(region_name=LOCAL_REGION)
        assert boto3.DEFAULT_SESSION is not None
        self.faults.install(boto3.DEFAULT_SESSION.events)
        session = boto3.Session(region_name=LOCAL_REGION)
        self.provisioned = provision(self.catalog, STAGE, session)
        for fn in self.catalog.functions:
            self._handlers[fn.name] = importlib.import_module(fn.module).handler
        self._dispatcher = EventDispatcher(session.client("sqs"), self.provisioned, self.invoke)
        self._dispatcher.start()
        self._scheduler = LocalScheduler(self.catalog, self._dispatcher.deliver)
        self._scheduler.start()

        gateway = LocalApiGateway(self.catalog, self.invoke, LocalUserPool.from_config(), self._local_routes(), STAGE)
        self._server = make_server(self.host, self.port, gateway, threaded=True)
        self.port = self._server.server_port
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
        if self._dispatcher:
            self._dispatcher.stop()
        if self._scheduler:
            self._scheduler.stop()
        if self._moto:
            self._moto.stop()

    def invoke(self, fn: Function, event: dict[str, Any]) -> Any:
        context = LocalLambdaContext(f"revops-{STAGE}-{fn.slug}", fn.memory_mb, fn.timeout_seconds)
        return self._handlers[fn.name](event, context)

    def _configure_environment(self) -> None:
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.aws_endpoint,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": LOCAL_REGION,
                "AWS_REGION": LOCAL_REGION,
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": os.environ.get("HUB_LOG_LEVEL", "WARNING"),
            }
        )
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.pop("AWS_PROFILE", None)
        for fn in self.catalog.functions:
            # Every function runs in this one process; their variables agree (same stage, same names).
            os.environ.update(self.catalog.environment(fn, STAGE))
        os.environ["POWERTOOLS_SERVICE_NAME"] = f"revops-{STAGE}"

    def _local_routes(self) -> list[LocalRoute]:
        from aws_lambda_powertools.event_handler.openapi import swagger_ui
        from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

        from shared.http.openapi import openapi_document

        assets = Path(swagger_ui.__file__).parent

        def healthz(_: Request) -> Response:
            body = {"status": "ok", "stage": STAGE, "functions": [fn.slug for fn in self.catalog.functions]}
            return _json(body)

        def events(request: Request) -> Response:
            """Every event put on the bus, oldest first; `?detail-type=` filters, `?since=<seq>` skips ahead."""
            assert self._dispatcher is not None
            wanted = request.args.get("detail-type")
            since = int(request.args.get("since", "0") or 0)
            recorded = self._dispatcher.recorded()
            fields = ("id", "time", "source", "detail-type", "detail")
            return _json(
                [
                    {"seq": seq, **{k: event.get(k) for k in fields}}
                    for seq, event in enumerate(recorded[since:], start=since)
                    if wanted is None or event.get("detail-type") == wanted
                ]
            )

        def openapi(_: Request) -> Response:
            return _json(openapi_document(self.catalog, self.url))

        def docs(_: Request) -> Response:
            html = generate_swagger_html(
                json.dumps(openapi_document(self.catalog, self.url)),
                (assets / "swagger-ui-bundle.min.js").read_text(),
                (assets / "swagger-ui.min.css").read_text(),
                swagger_base_url="",
                oauth2_config=None,
                persist_authorization=True,
            )
            return Response(html, content_type="text/html; charset=utf-8")

        def redrive(_: Request, queue: str) -> Response:
            assert self._dispatcher is not None
            if queue not in {q.name for q in self.catalog.queues}:
                known = ", ".join(q.name for q in self.catalog.queues)
                return _json({"message": f"no queue {queue!r}; the hub's queues are: {known}"}, 404)
            return _json(self._dispatcher.redrive(queue))

        def refuse_put_events(request: Request) -> Response:
            calls = int((request.get_json(silent=True) or {}).get("calls", 1))
            self.faults.refuse_next(calls)
            return _json({"message": f"the bus will refuse the next {calls} PutEvents call(s)"})

        def fire_schedule(_: Request, name: str) -> Response:
            assert self._scheduler is not None
            if name not in self._scheduler.schedules:
                known = ", ".join(sorted(self._scheduler.schedules)) or "none"
                return _json({"message": f"no schedule {name!r}; the catalog's schedules: {known}"}, 404)
            delivered = self._scheduler.fire(name)
            return _json({"schedule": name, "delivered": bool(delivered)})

        return [
            ("GET", "/healthz", healthz),
            ("POST", "/_local/schedules/<name>", fire_schedule),
            ("POST", "/_local/faults/put-events", refuse_put_events),
            ("GET", "/_local/events", events),
            ("GET", "/openapi.json", openapi),
            ("GET", "/docs", docs),
            ("POST", "/_local/redrive/<queue>", redrive),
        ]


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status=status, content_type="application/json")


def banner(hub: LocalHub) -> str:
    return f"""
RevOps Hub (local) on {hub.url}   embedded AWS (moto) on {hub.aws_endpoint}
  health      curl {hub.url}/healthz
  API docs    {hub.url}/docs   (OpenAPI: {hub.url}/openapi.json)
  bus events  curl {hub.url}/_local/events
  redrive     curl -X POST {hub.url}/_local/redrive/<queue>   (dead letters back to their function)
  schedules   curl -X POST {hub.url}/_local/schedules/lead-nurture-hourly   (fire one now)
  a token     TOKEN=$(make -s token ROLE=admin)
  deliveries  curl -H "Authorization: Bearer $TOKEN" {hub.url}/api/v1/webhooks/deliveries
  a webhook   python -m local_runtime.example stripe | sh     (signed with config/local.secrets.json)
Ctrl-C stops it; all state lives in memory.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("HUB_PORT", "3000")))
    parser.add_argument(
        "--aws-port", type=int, default=int(os.environ.get("HUB_AWS_PORT", "0")), help="embedded AWS (0: any free)"
    )
    args = parser.parse_args(argv)
    level = os.environ.get("HUB_LOG_LEVEL", "WARNING")
    logging.basicConfig(level=level, format="%(levelname)s %(name)s %(message)s")
    logging.getLogger("werkzeug").setLevel(level)
    hub = LocalHub(host=args.host, port=args.port, aws_port=args.aws_port)
    try:
        hub.start()
    except OSError as exc:
        print(f"cannot start the local hub on {args.host}:{args.port}: {exc} (set HUB_PORT)", file=sys.stderr)
        return 1
    print(banner(hub), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        hub.stop()
    return 0
