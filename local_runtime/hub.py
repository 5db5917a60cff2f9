"""`make run`: the whole hub on localhost over an embedded AWS.

moto runs in server mode on loopback; the catalog's tables, bus, rules, queues and secrets are created in
it; the catalog's functions are imported and invoked in-process by a local API Gateway (HTTP), by the
event dispatcher (EventBridge rules) and by the stream and queue triggers, with the same environment they get
in AWS.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from botocore.config import Config
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from local_runtime import dashboard as local_dashboard
from local_runtime import discovery
from local_runtime import oauth as local_oauth
from local_runtime import replay as local_replay
from local_runtime.access_log import LocalAccessLog
from local_runtime.auth import LocalUserPool
from local_runtime.crm_hubspot import LocalHubSpot, subscriptions_of
from local_runtime.crm_salesforce import LocalSalesforce
from local_runtime.dispatcher import EVENTS_KEPT, EventDispatcher
from local_runtime.example import local_secret
from local_runtime.faults import PutEventsFaults
from local_runtime.function_imports import import_handler
from local_runtime.gateway import LocalApiGateway, LocalRoute
from local_runtime.lambda_events import LOCAL_REGION, LocalLambdaContext
from local_runtime.provision import ROOT as PROVISION_ROOT
from local_runtime.provision import Provisioned, provision
from local_runtime.queues import QueueTriggerRunner
from local_runtime.scheduler import LocalScheduler
from local_runtime.slack_sink import LocalSlack
from local_runtime.streams import Redelivered, StreamReader, StreamTriggerRunner, item_reader
from local_runtime.timers import LocalTimers
from ops.audit_run import AuditedRun, audited_run
from ops.stages import LOCAL as LOCAL_STAGE
from ops.stages import CannotRun
from shared.adapters.clock import SystemClock
from shared.catalog import CATALOG, CRM_CREDENTIALS, Catalog, Function, Secret, physical_name
from shared.catalog.audit import AUDIT
from shared.crm.mappings import load_crm_mappings
from shared.redrive import DeadLetter

STAGE = "local"
MAX_REFUSED_PUT_EVENTS = 1000
MAX_CLOCK_ADVANCE = 10 * 365 * 24 * 3600
log = logging.getLogger("local_runtime")


class BadRequest(Exception):
    """A local route's input is wrong; the message says how (answered 400)."""


class LocalHub:
    def __init__(
        self,
        catalog: Catalog = CATALOG,
        host: str = "127.0.0.1",
        port: int = 3000,
        aws_port: int = 0,
        events_kept: int = EVENTS_KEPT,
    ) -> None:
        self.catalog = catalog
        self.host = host
        self.port = port
        self.aws_port = aws_port
        self.events_kept = events_kept
        self.aws_endpoint = ""
        self._handlers: dict[str, Callable[[dict[str, Any], Any], Any]] = {}
        self._environments: dict[str, threading.Lock] = {}
        self._moto: Any = None
        self._server: Any = None
        self._dispatcher: EventDispatcher | None = None
        self._scheduler: LocalScheduler | None = None
        self._timers: LocalTimers | None = None
        self.slack = LocalSlack()
        # The CRMs' stand-ins keep time as the hub's functions do (the clock `POST /_local/clock` moves), so a
        # change made "in the CRM" and one made in the hub compare as they would in AWS.
        crm_credentials = _local_values(CRM_CREDENTIALS)
        self.hubspot = LocalHubSpot(
            client_secret=local_secret("hubspot"),
            access_token=crm_credentials["hubspot"]["access_token"],
            clock=SystemClock().now,
            subscribed_properties=subscriptions_of(load_crm_mappings()),
        )
        self.salesforce = LocalSalesforce(
            organization_id=local_secret("salesforce"),
            client_id=crm_credentials["salesforce"]["client_id"],
            client_secret=crm_credentials["salesforce"]["client_secret"],
            clock=SystemClock().now,
        )
        self._streams: dict[str, StreamTriggerRunner] = {}
        self._queue_triggers: list[QueueTriggerRunner] = []
        self.provisioned: Provisioned | None = None
        self.faults = PutEventsFaults()
        # its lines queue up until the dispatcher, which delivers them, has started
        self._access_log = LocalAccessLog(catalog, STAGE, self._deliver_async)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, before_serving: Callable[[LocalHub], None] | None = None) -> None:
        """Everything up, then `before_serving` (main records the hub in its state file there), then the port
        answers: whoever finds `/healthz` answering also finds the state file written."""
        from moto.server import ThreadedMotoServer

        from local_runtime import moto_patches

        # Before the embedded AWS serves a request: moto alone fails under concurrent DynamoDB requests, copies
        # whole tables on every transaction and keeps every item and message it ever made (see moto_patches).
        moto_patches.install()
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
        # The server binds first, so the hub's URL (its port may be any free one) can go into the local secrets
        # that name it (the Slack stand-in's URL, links in notifications); it serves once everything is ready.
        gateway = LocalApiGateway(
            self.catalog,
            self.invoke,
            LocalUserPool.from_config(),
            self._local_routes(),
            STAGE,
            access_log=self._access_log.write,
        )
        self._server = make_server(self.host, self.port, gateway, threaded=True)
        self.port = self._server.server_port
        # the CRMs' webhooks go to the hub's own webhook routes, as HubSpot's and Salesforce's would
        self.hubspot.set_webhook_url(f"{self.url}/webhooks/hubspot")
        self.salesforce.set_webhook_url(f"{self.url}/webhooks/salesforce")
        self.provisioned = provision(self.catalog, STAGE, session, placeholders={"hub_url": self.url})
        verify_senders(self.catalog, STAGE, session)
        for fn in self.catalog.functions:
            module = import_handler(self.catalog, fn, STAGE, self.provisioned.work_queue_urls)
            self._handlers[fn.name] = module.handler
            self._environments[fn.name] = threading.Lock()
        # one connection per poller (each holds one through its long poll) and a few for deliveries' sends
        pollers = Config(max_pool_connections=len(self.provisioned.taps) + 8)
        self._dispatcher = EventDispatcher(
            session.client("sqs", config=pollers), self.provisioned, self.invoke, events_kept=self.events_kept
        )
        self._dispatcher.start()
        self._scheduler = LocalScheduler(self.catalog, self._dispatcher.deliver)
        self._scheduler.start()
        self._streams = self._stream_triggers(session)
        for trigger in self._streams.values():
            trigger.start()
        self._queue_triggers = self._work_queue_triggers(session)
        for queue_trigger in self._queue_triggers:
            queue_trigger.start()
        self._dispatcher.redrive_streams_with(self._redrive_stream)
        self._timers = LocalTimers(self.catalog, STAGE, session.client("scheduler"), self._dispatcher.deliver)
        self._timers.provision()
        self._timers.start()
        self._access_log.start()
        if before_serving is not None:
            before_serving(self)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
        for trigger in self._streams.values():
            trigger.stop()
        for queue_trigger in self._queue_triggers:
            queue_trigger.stop()
        if self._dispatcher:
            self._dispatcher.stop()
        if self._scheduler:
            self._scheduler.stop()
        if self._timers:
            self._timers.stop()
        self._access_log.stop()
        self.hubspot.close()
        self.salesforce.close()
        if self._moto:
            self._moto.stop()

    def _deliver_async(self, fn: Function, event: dict[str, Any]) -> bool:
        """An asynchronous invocation (retries, then the function's failure queue), as AWS services make them."""
        assert self._dispatcher is not None
        return self._dispatcher.deliver(fn, event)

    def invoke(self, fn: Function, event: dict[str, Any]) -> Any:
        """One invocation at a time per function, as in one Lambda execution environment: handlers keep the
        invocation's state in module globals (Powertools' resolver holds the current event), so two at once
        in this process would read each other's request."""
        context = LocalLambdaContext(f"revops-{STAGE}-{fn.slug}", fn.memory_mb, fn.timeout_seconds)
        with self._environments[fn.name]:
            return self._handlers[fn.name](event, context)

    def _stream_triggers(self, session: Any) -> dict[str, StreamTriggerRunner]:
        """The catalog's stream triggers, each reading its table's stream in moto (by function name)."""
        assert self.provisioned is not None
        dynamodb, streams, sqs = (session.client(name) for name in ("dynamodb", "dynamodbstreams", "sqs"))
        triggers = {}
        for fn, trigger in self.catalog.streams:
            table = dynamodb.describe_table(TableName=physical_name(STAGE, trigger.table))["Table"]
            arn = table["LatestStreamArn"]
            failures = self.provisioned.queue_urls[fn.failure_queue.name]

            def report(record: dict[str, Any], queue_url: str = failures) -> None:
                sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(record, default=str))

            read_item = item_reader(dynamodb, physical_name(STAGE, trigger.table))
            triggers[fn.name] = StreamTriggerRunner(
                fn, trigger, StreamReader(streams, arn), arn, self.invoke, report, read_item=read_item
            )
        return triggers

    def _work_queue_triggers(self, session: Any) -> list[QueueTriggerRunner]:
        """The catalog's queue triggers, each polling its work queue in moto."""
        assert self.provisioned is not None
        provisioned = self.provisioned
        return [
            QueueTriggerRunner(
                fn,
                trigger,
                session.client("sqs"),
                provisioned.work_queue_urls[trigger.queue],
                provisioned.work_queue_arns[trigger.queue],
                provisioned.region,
                self.invoke,
            )
            for fn, trigger in self.catalog.queue_triggers
        ]

    def audited_local_run(
        self, command: str, arguments: dict[str, Any]
    ) -> contextlib.AbstractContextManager[AuditedRun | None]:
        """An operator's run through a `/_local/*` route, recorded in the trail as the CLI's is (`audited_run`:
        route `CLI <command>`); None, and nothing recorded, for a test catalog's hub without the audit table."""
        if AUDIT.name not in {table.name for table in self.catalog.tables}:
            return contextlib.nullcontext()
        return audited_run(command, arguments, LOCAL_STAGE, endpoint_url=self.aws_endpoint)

    def _redrive_stream(self, letter: DeadLetter) -> Redelivered:
        """A stream-reading function's dead letter, handed back through its trigger (retries and reports alike):
        the records it holds, or those its position names, read again from the stream (gone: no longer there)."""
        trigger = self._streams[letter.function.name]
        if letter.stream_batch is None:
            return trigger.redeliver(letter.event.get("Records", []))
        batch = letter.stream_batch
        read = trigger.reader.between(batch.shard_id, batch.first, batch.last)
        if not read:
            log.warning(
                "redrive of %s: records %s..%s are no longer in the stream", letter.key, batch.first, batch.last
            )
            return "gone"
        return "taken" if trigger.deliver(read) else "failed"

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
                # botocore 1.44 puts the account id in DynamoDB Streams' endpoint, which moto does not serve
                "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            }
        )
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.pop("AWS_PROFILE", None)
        # Each function's own variables are set while it is imported, and only then (`function_imports`).

    def _local_routes(self) -> list[LocalRoute]:
        from aws_lambda_powertools.event_handler.openapi import swagger_ui
        from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html
        from aws_lambda_powertools.event_handler.openapi.swagger_ui.oauth2 import generate_oauth2_redirect_html

        from shared.http.openapi import openapi_document

        assets = Path(swagger_ui.__file__).parent

        def healthz(_: Request) -> Response:
            body = {
                "status": "ok",
                "stage": STAGE,
                "aws_endpoint": self.aws_endpoint,
                "functions": [fn.slug for fn in self.catalog.functions],
            }
            return _json(body)

        def events(request: Request) -> Response:
            """The recorded bus events, oldest first; `?detail-type=` filters, `?since=<seq>` answers only those
            after that seq. Only the latest `events_kept` are kept: `X-Events-Oldest-Seq` is the oldest seq still
            there (a reader whose `since` is below it has missed the ones in between; it gets the kept ones) and
            `X-Events-Last-Seq` the newest (-1 before the first)."""
            assert self._dispatcher is not None
            wanted = request.args.get("detail-type")
            since = _integer_argument(request, "since", "the seq of the last event you have read")
            recorded = self._dispatcher.recorded_after(since, wanted)
            fields = ("id", "time", "source", "detail-type", "detail")
            response = _json([{"seq": seq, **{k: event.get(k) for k in fields}} for seq, event in recorded.events])
            response.headers["X-Events-Oldest-Seq"] = str(recorded.oldest_seq)
            response.headers["X-Events-Last-Seq"] = str(recorded.last_seq)
            return response

        def openapi(_: Request) -> Response:
            return _json(openapi_document(self.catalog, self.url))

        def docs(request: Request) -> Response:
            # The page links `?format=json` (the document) and `?format=oauth2-redirect`, as Powertools serves it.
            if request.args.get("format") == "json":
                return openapi(request)
            if request.args.get("format") == "oauth2-redirect":
                return Response(generate_oauth2_redirect_html(), content_type="text/html; charset=utf-8")
            html = generate_swagger_html(
                # `</` escaped: the document sits inside a <script> element.
                json.dumps(openapi_document(self.catalog, self.url)).replace("</", "<\\/"),
                (assets / "swagger-ui-bundle.min.js").read_text(),
                (assets / "swagger-ui.min.css").read_text(),
                swagger_base_url="",
                oauth2_config=None,
                persist_authorization=True,
            )
            return Response(html, content_type="text/html; charset=utf-8")

        def redrive(request: Request, queue: str) -> Response:
            """A dead-letter queue's messages back to their function (or work queue), recorded in the audit trail
            as `make redrive` is (route `CLI redrive`, the queue as target, the counts as summary). The queue by its
            catalog name or its physical one (`revops-local-<name>`, `.fifo` for a FIFO queue's)."""
            assert self._dispatcher is not None
            assert self.provisioned is not None
            name = _catalog_queue_name(queue, self.provisioned)
            if name not in {q.name for q in self.catalog.queues}:
                known = ", ".join(q.name for q in self.catalog.queues)
                return _json({"message": f"no queue {queue!r}; the hub's queues are: {known}"}, 404)
            include_permanent = request.args.get("include_permanent", "").lower() in ("1", "true", "yes")
            arguments = {"queue": name, "include_permanent": include_permanent}
            if AUDIT.name not in {table.name for table in self.catalog.tables}:  # a test catalog's hub: no trail
                return _json(self._dispatcher.redrive(name, include_permanent=include_permanent))
            try:
                with audited_run("redrive", arguments, LOCAL_STAGE, endpoint_url=self.aws_endpoint) as run:
                    run.target("queue", name)
                    counts = self._dispatcher.redrive(name, include_permanent=include_permanent)
                    run.finish(1 if counts["failed_again"] or counts["left"] else 0, _redrive_summary(counts))
            except CannotRun as exc:  # the run cannot be recorded, so it did not run
                return _json({"message": str(exc)}, 503)
            return _json(counts)

        def refuse_put_events(request: Request) -> Response:
            calls = _refused_calls(request)
            self.faults.refuse_next(calls)
            return _json({"message": f"the bus will refuse the next {calls} PutEvents call(s)", "calls": calls})

        def fire_schedule(_: Request, name: str) -> Response:
            assert self._scheduler is not None
            if name not in self._scheduler.schedules:
                known = ", ".join(sorted(self._scheduler.schedules)) or "none"
                return _json({"message": f"no schedule {name!r}; the catalog's schedules: {known}"}, 404)
            delivered = self._scheduler.fire(name)
            return _json({"schedule": name, "delivered": bool(delivered)})

        def clock(request: Request) -> Response:
            """GET: the hub's clock. POST {"advance_seconds": N} (or "advance_minutes"): moves it forward for
            every function and fires the timers that came due, answering what fired."""
            assert self._timers is not None
            if request.method == "POST":
                seconds = _advance_seconds(request)
                fired = self._timers.advance(seconds)
                return _json({"now": self._timers.now().isoformat(), "advanced_seconds": seconds, "fired": fired})
            return _json({"now": self._timers.now().isoformat(), "offset_seconds": _offset_seconds()})

        def timers(_: Request) -> Response:
            assert self._timers is not None
            return _json({"now": self._timers.now().isoformat(), "timers": [t.view() for t in self._timers.pending()]})

        def emails(request: Request) -> Response:
            """What functions sent through the embedded SES, oldest first (`?to=` filters by recipient)."""
            from moto.ses.models import ses_backends

            assert self.provisioned is not None
            sent = ses_backends[self.provisioned.account][self.provisioned.region].sent_messages
            wanted = request.args.get("to")
            messages = [
                {
                    "message_id": message.id,
                    "from": message.source,
                    "to": list(getattr(message, "destinations", {}).get("ToAddresses", [])),
                    "subject": getattr(message, "subject", None),
                    "body": getattr(message, "body", None),
                }
                for message in list(sent)
            ]
            return _json({"messages": [m for m in messages if wanted is None or wanted in m["to"]]})

        routes: list[LocalRoute] = [
            ("GET", "/healthz", healthz),
            ("GET", "/_local/email/messages", emails),
            ("GET", "/_local/clock", clock),
            ("POST", "/_local/clock", clock),
            ("GET", "/_local/timers", timers),
            *self.slack.routes(),
            *self.hubspot.routes(),
            *self.salesforce.routes(),
            ("POST", "/_local/schedules/<name>", fire_schedule),
            ("POST", "/_local/faults/put-events", refuse_put_events),
            ("GET", "/_local/events", events),
            ("GET", "/openapi.json", openapi),
            ("GET", "/docs", docs),
            ("POST", "/_local/redrive/<queue>", redrive),
            *local_dashboard.routes(self),
            *local_replay.routes(self),
            *local_oauth.routes(self),
        ]
        return [(method, path, _answering_bad_requests(view)) for method, path, view in routes]


def _local_values(secret: Secret) -> dict[str, Any]:
    """A secret's committed dev-only values (`local_values_file`), as the local hub provisions them."""
    assert secret.local_values_file is not None
    values: dict[str, Any] = json.loads((PROVISION_ROOT / secret.local_values_file).read_text())
    return values


def _answering_bad_requests(view: Callable[..., Response]) -> Callable[..., Response]:
    def answer(request: Request, **arguments: Any) -> Response:
        try:
            return view(request, **arguments)
        except BadRequest as exc:
            return _json({"message": str(exc)}, 400)

    return answer


def _integer_argument(request: Request, name: str, meaning: str) -> int | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"{name} must be an integer ({meaning}), not {value[:40]!r}") from None


def _refused_calls(request: Request) -> int:
    """`{"calls": N}` from the body, whatever its content type; no body means 1."""
    raw = request.get_data()
    if not raw.strip():
        return 1
    try:
        body = json.loads(raw)
    except ValueError:
        raise BadRequest('the body must be JSON like {"calls": 3}') from None
    if not isinstance(body, dict):
        raise BadRequest('the body must be a JSON object like {"calls": 3}')
    calls = body.get("calls", 1)
    # bool is an int in Python, and `true` is not a number of calls
    if not isinstance(calls, int) or isinstance(calls, bool) or not 0 <= calls <= MAX_REFUSED_PUT_EVENTS:
        raise BadRequest(f"calls must be an integer from 0 to {MAX_REFUSED_PUT_EVENTS}, not {json.dumps(calls)[:40]}")
    return calls


def _advance_seconds(request: Request) -> float:
    try:
        body = json.loads(request.get_data() or b"{}")
    except ValueError:
        raise BadRequest('the body must be JSON like {"advance_minutes": 31}') from None
    if not isinstance(body, dict) or not ({"advance_seconds", "advance_minutes"} & set(body)):
        raise BadRequest('the body must be a JSON object like {"advance_minutes": 31} or {"advance_seconds": 90}')
    value = body.get("advance_seconds", body.get("advance_minutes"))
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= MAX_CLOCK_ADVANCE:
        raise BadRequest(f"the clock moves forward by 0 to {MAX_CLOCK_ADVANCE} (seconds or minutes), not {value!r}")
    return float(value) * (60 if "advance_minutes" in body and "advance_seconds" not in body else 1)


def _offset_seconds() -> float:
    from shared.adapters.clock import SystemClock

    return SystemClock.offset.total_seconds()


def verify_senders(catalog: Catalog, stage: str, session: Any) -> None:
    """SES sends only from verified identities; locally the senders the notification secrets name are verified
    in the embedded SES (in AWS, verifying the domain is a deployment step, README)."""
    secrets, sesv2 = session.client("secretsmanager"), session.client("sesv2")
    for fn in (fn for fn in catalog.functions if fn.sends_email):
        for name in fn.secrets:
            values = json.loads(secrets.get_secret_value(SecretId=physical_name(stage, name))["SecretString"])
            if isinstance(values, dict) and isinstance(values.get("email_from"), str):
                with contextlib.suppress(sesv2.exceptions.AlreadyExistsException):
                    sesv2.create_email_identity(EmailIdentity=values["email_from"])


def _catalog_queue_name(queue: str, provisioned: Provisioned) -> str:
    """A dead-letter queue's catalog name from its catalog name or its physical one (`revops-local-<name>`, `.fifo`
    for a FIFO queue's), with or without `.fifo`; `queue` itself when it is none of the hub's."""
    for name, url in provisioned.queue_urls.items():
        physical = url.rstrip("/").rsplit("/", 1)[-1]
        if queue in (name, physical) or queue.removesuffix(".fifo") in (name, physical.removesuffix(".fifo")):
            return name
    return queue


def _redrive_summary(counts: dict[str, int]) -> str:
    return f"redriven {counts['redriven']}, failed again {counts['failed_again']}, left {counts['left']}"


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status=status, content_type="application/json")


def banner(hub: LocalHub, found_by: str) -> str:
    return f"""
RevOps Hub (local) on {hub.url}   embedded AWS (moto) on {hub.aws_endpoint}
  this hub    python -m local_runtime.url   ({found_by})
  health      curl {hub.url}/healthz
  API docs    {hub.url}/docs   (OpenAPI: {hub.url}/openapi.json)
  bus events  curl {hub.url}/_local/events
  redrive     curl -X POST {hub.url}/_local/redrive/<queue>   (dead letters back to their function)
  schedules   curl -X POST {hub.url}/_local/schedules/lead-nurture-hourly   (fire one now)
  clock       curl -X POST {hub.url}/_local/clock -d '{{"advance_minutes": 31}}'   (timers due by then fire)
  slack       curl {hub.url}/_local/slack/messages   (what the hub posted to Slack)
  email       curl {hub.url}/_local/email/messages   (what the hub sent through SES)
  CRMs        curl {hub.url}/_local/crm/hubspot/_records/contacts ; curl {hub.url}/_local/crm/salesforce/_records/Lead
  a token     TOKEN=$(make -s token ROLE=admin)
  deliveries  curl -H "Authorization: Bearer $TOKEN" {hub.url}/api/v1/webhooks/deliveries
  a webhook   python -m local_runtime.example stripe | sh     (signed with config/local.secrets.json)
Ctrl-C stops it; all state lives in memory.
"""


def _recorded(state: discovery.HubState) -> str:
    """Records the hub in the state file; says how examples and tools will find it (or why they will not)."""
    path = discovery.state_file()
    if path is None:
        return "HUB_STATE_FILE is empty: examples and tools need HUB_URL to find this hub"
    try:
        shown = str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        shown = str(path)
    if discovery.write_state(state) is None:
        return f"{shown} names another hub that is running: examples and tools need HUB_URL to find this one"
    return f"examples and tools find this hub through {shown}"


def _loopback(host: str) -> bool:
    """Whether `host` is `localhost` or a loopback address (127.0.0.0/8, ::1): a name is not resolved."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to serve on: loopback unless --allow-remote (or HUB_ALLOW_REMOTE=1)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        default=os.environ.get("HUB_ALLOW_REMOTE") == "1",
        help="serve on a non-loopback --host (/dashboard/data and /_local/* answer anyone, unauthenticated)",
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("HUB_PORT", "3000")))
    parser.add_argument(
        "--aws-port", type=int, default=int(os.environ.get("HUB_AWS_PORT", "0")), help="embedded AWS (0: any free)"
    )
    parser.add_argument(
        "--events-kept",
        type=int,
        default=os.environ.get("HUB_EVENTS_KEPT", str(EVENTS_KEPT)),  # a string: argparse checks it as --events-kept
        help="bus events kept for /_local/events (HUB_EVENTS_KEPT); older ones are dropped",
    )
    args = parser.parse_args(argv)
    if args.events_kept < 1:
        parser.error(f"--events-kept (HUB_EVENTS_KEPT) must be at least 1, not {args.events_kept}")
    if not _loopback(args.host) and not args.allow_remote:
        parser.error(
            f"--host {args.host} is not a loopback address: /dashboard/data and /_local/* (the clock, events, redrive,"
            " fault injection) take no credentials, so anyone who reaches it could use them; give --allow-remote"
            " (or HUB_ALLOW_REMOTE=1) to serve there anyway"
        )
    level = os.environ.get("HUB_LOG_LEVEL", "WARNING")
    logging.basicConfig(level=level, format="%(levelname)s %(name)s %(message)s")
    logging.getLogger("werkzeug").setLevel(level)
    hub = LocalHub(host=args.host, port=args.port, aws_port=args.aws_port, events_kept=args.events_kept)
    found_by: list[str] = []

    def record(started: LocalHub) -> None:
        state = discovery.HubState(url=started.url, aws_endpoint=started.aws_endpoint, pid=os.getpid())
        found_by.append(_recorded(state))

    try:
        hub.start(before_serving=record)
    except OSError as exc:
        print(f"cannot start the local hub on {args.host}:{args.port}: {exc} (set HUB_PORT)", file=sys.stderr)
        return 1
    # `kill` (SIGTERM) stops the hub as Ctrl-C does, so the state file goes with it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(banner(hub, found_by[0]), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        discovery.remove_state(os.getpid())
        hub.stop()
    return 0
