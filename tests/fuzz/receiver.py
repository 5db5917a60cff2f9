"""The whole receiver in-process over moto: the deployed handlers (`webhook_receiver`, `tracking_api`) with the
API Gateway events AWS sends, through ingest, the DynamoDB ledger and the EventBridge publisher; and the
delivery log read back through `webhook_deliveries_api`.

Deliveries are signed here, when sent, over the exact bytes, with the secrets the embedded AWS was
provisioned with (`config/local.secrets.json`).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3

from local_runtime.lambda_events import LocalLambdaContext, rest_proxy_event
from local_runtime.provision import table_definition
from shared.catalog import CATALOG, WEBHOOK_DELIVERIES
from shared.observability import metrics
from shared.webhooks.vendors import calendly, hubspot, intercom, segment, slack, standard, stripe, typeform, zendesk
from tests.e2e.conftest import ROOT
from tests.fuzz.hostile import UID
from tests.fuzz.vendors import Delivery

HOST = "hub.example.com"
STAGE_PREFIX = "/prod"
SECRETS = json.loads((ROOT / "config" / "local.secrets.json").read_text())
ADMIN = {"cognito:groups": "admin", "sub": "fuzz", "cognito:username": "fuzz"}

Signer = Callable[[str, bytes, str, int, str], dict[str, str]]  # (secret, body, url, now, uid) -> headers


def _hubspot(secret: str, body: bytes, url: str, now: int, uid: str) -> dict[str, str]:
    millis = str(now * 1000)
    signature = hubspot.sign(secret, "POST", url, body, millis)
    return {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": millis}


def _zendesk(secret: str, body: bytes, url: str, now: int, uid: str) -> dict[str, str]:
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "X-Zendesk-Webhook-Signature": zendesk.sign(secret, body, stamp),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
    }


def _slack(secret: str, body: bytes, url: str, now: int, uid: str) -> dict[str, str]:
    return {"X-Slack-Signature": slack.sign(secret, body, now), "X-Slack-Request-Timestamp": str(now)}


def _standard(secret: str, body: bytes, url: str, now: int, uid: str) -> dict[str, str]:
    message_id = f"msg_{uid}"
    signature = standard.sign(secret, message_id, now, body)
    return {"webhook-id": message_id, "webhook-timestamp": str(now), "webhook-signature": signature}


def _write_key(secret: str, body: bytes, url: str, now: int, uid: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode()}


SIGNERS: dict[str, tuple[str, Signer]] = {
    "stripe": ("stripe", lambda secret, body, url, now, uid: {"Stripe-Signature": stripe.sign(secret, body, now)}),
    "hubspot": ("hubspot", _hubspot),
    "salesforce": ("salesforce", lambda secret, body, url, now, uid: {"SOAPAction": '""'}),
    "segment": ("segment", lambda secret, body, url, now, uid: {"X-Signature": segment.sign(secret, body)}),
    "segment_api": ("segment_write_key", _write_key),
    "calendly": (
        "calendly",
        lambda secret, body, url, now, uid: {"Calendly-Webhook-Signature": calendly.sign(secret, body, now)},
    ),
    "typeform": ("typeform", lambda secret, body, url, now, uid: {"Typeform-Signature": typeform.sign(secret, body)}),
    "zendesk": ("zendesk", _zendesk),
    "intercom": ("intercom", lambda secret, body, url, now, uid: {"X-Hub-Signature": intercom.sign(secret, body)}),
    "slack": ("slack", _slack),
    "standard": ("standard", _standard),
}


class Unhandled(AssertionError):
    """A delivery the receiver did not handle; `cause` is what failures are deduplicated on."""

    def __init__(self, message: str, cause: str) -> None:
        super().__init__(message)
        self.cause = cause


class FunctionFailed(Unhandled):
    """The function raised: API Gateway answers the vendor 502 and the vendor retries the same bytes."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    sent: bytes  # the exact bytes posted, placeholders filled in and gzip applied

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.sent).hexdigest()


@dataclass(frozen=True)
class Crash:
    """Where a function raised, as `file:function` frames of this repository, innermost last."""

    exception: str
    frames: tuple[str, ...]
    detail: str

    @classmethod
    def of(cls, exc: BaseException) -> Crash:
        extracted = traceback.extract_tb(exc.__traceback__)
        frames = tuple(f"{repo_path(frame.filename)}:{frame.name}" for frame in extracted)
        lines = traceback.format_exception(exc)
        return cls(type(exc).__name__, frames, "".join(lines[-6:]).rstrip())

    @property
    def where(self) -> str:
        return root_cause(self.exception, self.frames)


def root_cause(exception: str, frames: tuple[str, ...]) -> str:
    """`<exception> in <innermost frame of the repo> [via <innermost frame overall>]`: the key failures are
    deduplicated on."""
    ours = [frame for frame in frames if not frame.startswith(("<", "lib/", "tests/", "local_runtime/"))]
    inner = ours[-1] if ours else (frames[-1] if frames else "?")
    library = frames[-1] if frames else "?"
    return f"{exception} in {inner}" + (f" (raised in {library})" if library != inner else "")


def repo_path(filename: str) -> str:
    """A traceback's file as `shared/...` for this repository, `lib/...` for anything installed."""
    root = str(ROOT) + "/"
    if "/site-packages/" in filename:
        return "lib/" + filename.split("/site-packages/", 1)[1]
    if filename.startswith(root):
        return filename[len(root) :]
    return "lib/" + filename.rsplit("/", 1)[-1]


class MotoReceiver:
    """The receiver and the delivery log API, over the moto AWS the caller has started and provisioned."""

    def __init__(self, stage: str, on_crash: Callable[[Crash, Delivery], None] = lambda crash, delivery: None) -> None:
        from tests.integration.conftest import handler_module

        self._receiver = handler_module("webhook_receiver").handler
        self._publisher = handler_module("webhook_publisher").handler
        self._reader: tuple[str, Any] | None = None  # the delivery table's stream and where reading stopped
        self.published = 0  # stored events the publisher took (published, unmapped or set aside)
        self._tracking = handler_module("tracking_api").handler
        self._deliveries = handler_module("webhook_deliveries_api").handler
        self._on_crash = on_crash
        self._stage = stage

    def clear_delivery_log(self) -> None:
        """Starts over with an empty webhook-deliveries table: moto's index queries slow down as it fills."""
        dynamodb = boto3.client("dynamodb")
        definition = table_definition(WEBHOOK_DELIVERIES, self._stage, streamed=True)
        dynamodb.delete_table(TableName=definition["TableName"])
        dynamodb.create_table(**definition)

    def send(self, delivery: Delivery) -> Answer:
        """Posts the delivery, signed now; a function that raises is a `FunctionFailed` (API Gateway's 502)."""
        uid = uuid.uuid4().hex
        body = delivery.body.replace(UID.encode(), uid.encode())
        url = f"https://{HOST}{STAGE_PREFIX}{delivery.path}"
        secret_key, signer = SIGNERS[delivery.vendor]
        headers = {
            "Host": HOST,
            "X-Forwarded-Proto": "https",
            "Content-Type": delivery.content_type,
            "User-Agent": "revops-fuzz",
        } | signer(SECRETS[secret_key][0], body, url, int(time.time()), uid)
        if delivery.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        tracking = delivery.vendor == "segment_api"
        event = rest_proxy_event(
            method="POST",
            path=delivery.path,
            resource=delivery.path if tracking else "/webhooks/{vendor}",
            path_parameters=None if tracking else {"vendor": delivery.vendor},
            headers=headers,
            body=body,
            stage=STAGE_PREFIX.strip("/"),
        )
        event["requestContext"]["path"] = f"{STAGE_PREFIX}{delivery.path}"
        handler = self._tracking if tracking else self._receiver
        try:
            result = handler(event, LocalLambdaContext("tracking-api" if tracking else "webhook-receiver"))
        except Exception as exc:
            crash = Crash.of(exc)
            self._on_crash(crash, delivery)
            message = f"{delivery!r}\nthe function raised (API Gateway answers 502):\n{crash.detail}"
            raise FunctionFailed(message, crash.where) from exc
        self.publish_stored(delivery)
        text = result.get("body") or ""
        if result.get("isBase64Encoded"):
            text = base64.b64decode(text).decode(errors="replace")
        return Answer(int(result["statusCode"]), text, body)

    def publish_stored(self, delivery: Delivery) -> None:
        """What the receiver stored, through the webhook publisher as its stream trigger hands it over. Every
        stored event must be published (mapped or `vendor.unmapped`) or set aside: one the publisher asks to
        retry would be retried until it ages out, so it counts as a failure here."""
        from local_runtime.streams import StreamReader, matches

        table = boto3.client("dynamodb").describe_table(
            TableName=table_definition(WEBHOOK_DELIVERIES, self._stage)["TableName"]
        )
        arn = table["Table"]["LatestStreamArn"]
        if self._reader is None or self._reader[0] != arn:
            self._reader = (arn, StreamReader(boto3.client("dynamodbstreams"), arn))
        [trigger] = [trigger for fn, trigger in CATALOG.streams if fn.name == "webhook_publisher"]
        records = [record for record in self._reader[1].read() if matches(trigger.filter_pattern, record)]
        if not records:
            return
        try:
            answer = self._publisher({"Records": records}, LocalLambdaContext("webhook-publisher"))
        except Exception as exc:
            crash = Crash.of(exc)
            self._on_crash(crash, delivery)
            raise FunctionFailed(f"{delivery!r}\nthe publisher raised:\n{crash.detail}", crash.where) from exc
        finally:
            # Each Lambda invocation starts with no metrics. With metrics disabled (as here) Powertools' flush keeps
            # what was added, so a long run of examples reached 100 values of one metric, whose forced flush
            # raised for want of the namespace this process never set ("Must contain a metric namespace").
            metrics.clear_metrics()
        self.published += len(records)
        if answer.get("batchItemFailures"):
            raise FunctionFailed(f"{delivery!r}\nthe publisher asked to retry {answer}", "webhook_publisher")

    def newest_delivery(self) -> dict[str, Any] | None:
        """The newest attempt in the delivery log, as `GET /api/v1/webhooks/deliveries?limit=1` shows it."""
        event = rest_proxy_event(
            method="GET",
            path="/api/v1/webhooks/deliveries",
            resource="/api/v1/webhooks/deliveries",
            query={"limit": ["1"]},
            claims=ADMIN,
        )
        result = self._deliveries(event, LocalLambdaContext("webhook-deliveries-api"))
        assert result["statusCode"] == 200, result["body"]
        items = json.loads(result["body"])["items"]
        return items[0] if items else None
