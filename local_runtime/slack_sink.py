"""A local stand-in for Slack's Web API, enough for the hub's notifications: slack_sdk's `WebClient` pointed at
`http://127.0.0.1:<port>/_local/slack/api/` posts here as it would to Slack, and every message is kept for
people and tests to read.

    POST   /_local/slack/api/chat.postMessage   as Slack: JSON (what slack_sdk sends) or form-encoded
    POST   /_local/slack/api/auth.test          as Slack: who the token is
    POST   /_local/slack/api/<other method>     {"ok": false, "error": "unknown_method"}
    GET    /_local/slack/messages[?channel=C1]  {"messages": [...]}, oldest first
    DELETE /_local/slack/messages               forgets them
    POST   /_local/slack/faults                 {"calls": N, "kind": "server_error" | "ratelimited",
                                                 "retry_after": S}: the next N posts fail that way

Answers are Slack's: HTTP 200 with `{"ok": false, "error": ...}` for what Slack refuses (`not_authed` without
a bearer token, `invalid_auth` for one that is not a bot token, `channel_not_found`, `no_text`,
`invalid_blocks` with the offending block named as Slack names it, `msg_too_long` ...); a fault is an HTTP 500
(`internal_error`) or an HTTP 429 (`ratelimited`, with `Retry-After`). Blocks are checked with slack_sdk's
Block Kit models. A message's `channel` is the one posted to, a user id included (Slack would answer with the
direct message's `D...` id). Thread-safe: werkzeug serves each request on a thread of its own.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local_runtime.gateway import LocalRoute

API_PATH = "/_local/slack/api"
MESSAGES_PATH = "/_local/slack/messages"
FAULTS_PATH = "/_local/slack/faults"

TEAM_ID = "T0LOCAL01"
BOT_USER_ID = "U0LOCALBOT"
BOT_ID = "B0LOCALBOT"
APP_ID = "A0LOCALAPP"

MAX_TEXT = 40_000  # chat.postMessage refuses longer text (msg_too_long)
MAX_BLOCKS = 50
MAX_FAULT_CALLS = 1000
MAX_RETRY_AFTER = 3600
MESSAGES_KEPT = 5000
FAULT_KINDS = ("server_error", "ratelimited")

# A conversation id (C..., D..., G...) or a user id (U..., W...), or a channel name with or without its `#`.
_CHANNEL = re.compile(r"[CDGUW][A-Z0-9]{2,}|#?[a-z0-9][a-z0-9._-]{0,79}")


class LocalSlack:
    def __init__(
        self, token: str | None = None, kept: int = MESSAGES_KEPT, clock: Callable[[], float] = time.time
    ) -> None:
        """`token`: the only bot token accepted (any `xoxb-...` when None); `kept`: how many messages are kept
        (the oldest are dropped first)."""
        self._token = token
        self._clock = clock
        self._lock = threading.Lock()
        self._messages: deque[dict[str, Any]] = deque(maxlen=kept)
        self._fault_calls = 0
        self._fault_kind = FAULT_KINDS[0]
        self._retry_after = 1
        self._last_micros = 0

    def routes(self) -> list[LocalRoute]:
        return [
            ("POST", f"{API_PATH}/chat.postMessage", self._post_message),
            ("POST", f"{API_PATH}/auth.test", self._auth_test),
            ("POST", f"{API_PATH}/<method>", self._unknown_method),
            ("GET", MESSAGES_PATH, self._list_messages),
            ("DELETE", MESSAGES_PATH, self._forget_messages),
            ("POST", FAULTS_PATH, self._set_faults),
        ]

    def wsgi(self) -> Callable[..., Any]:
        """The routes as a WSGI application of their own (the hub serves them through its gateway)."""
        routes = self.routes()
        urls = Map([Rule(path, methods=[method], endpoint=i) for i, (method, path, _) in enumerate(routes)])

        @Request.application
        def application(request: Request) -> Response:
            try:
                endpoint, arguments = urls.bind_to_environ(request.environ).match()
            except HTTPException as exc:
                return _json({"message": exc.description}, exc.code or 404)
            return routes[endpoint][2](request, **arguments)

        return application

    # What was posted, and faults, in-process ------------------------------------------------------------------

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Every message kept, oldest first; only those posted to `channel` when given."""
        with self._lock:
            return [dict(m) for m in self._messages if channel is None or m["channel"] == channel]

    def fail_next(self, calls: int = 1, kind: str = "server_error", retry_after: int = 1) -> None:
        """The next `calls` chat.postMessage calls fail: `server_error` (HTTP 500) or `ratelimited` (HTTP 429
        with `Retry-After: retry_after`)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}, not {kind!r}")
        with self._lock:
            self._fault_calls, self._fault_kind, self._retry_after = calls, kind, retry_after

    # Slack's Web API ---------------------------------------------------------------------------------------------

    def _post_message(self, request: Request) -> Response:
        fault = self._take_fault()
        if fault is not None:
            return fault
        refused = self._refused_token(request)
        if refused is not None:
            return _slack_error(refused)
        arguments = _arguments(request)
        if isinstance(arguments, str):
            return _slack_error(arguments)
        channel, text, blocks = arguments.get("channel"), arguments.get("text"), arguments.get("blocks")
        if not isinstance(channel, str) or not _CHANNEL.fullmatch(channel):
            return _slack_error("channel_not_found")
        if text is not None and not isinstance(text, str):
            return _slack_error("invalid_arguments")
        if isinstance(blocks, str):  # form-encoded: the blocks are a JSON string
            try:
                blocks = json.loads(blocks)
            except ValueError:
                return _slack_error("invalid_blocks_format")
        if blocks is not None and not isinstance(blocks, list):
            return _slack_error("invalid_blocks_format")
        if not text and not blocks and not arguments.get("attachments"):
            return _slack_error("no_text")
        if text and len(text) > MAX_TEXT:
            return _slack_error("msg_too_long")
        if blocks:
            errors = _block_errors(blocks)
            if errors:
                return _slack_error(
                    "invalid_blocks", errors=errors, response_metadata={"messages": [f"[ERROR] {e}" for e in errors]}
                )
        metadata = arguments.get("metadata")
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata)
            except ValueError:
                return _slack_error("invalid_metadata_format")
        if metadata is not None and not _is_metadata(metadata):
            return _slack_error("invalid_metadata_format")
        message: dict[str, Any] = {
            "type": "message",
            "text": text or "",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
        }
        if blocks:
            message["blocks"] = blocks
        if metadata is not None:
            message["metadata"] = metadata
        thread_ts = arguments.get("thread_ts")
        with self._lock:
            message["ts"] = self._next_ts()
            if isinstance(thread_ts, str) and thread_ts:
                message["thread_ts"] = thread_ts
            self._messages.append({"channel": channel, **message})
        return _json({"ok": True, "channel": channel, "ts": message["ts"], "message": message})

    def _auth_test(self, request: Request) -> Response:
        refused = self._refused_token(request)
        if refused is not None:
            return _slack_error(refused)
        return _json(
            {
                "ok": True,
                "url": "https://local-hub.slack.com/",
                "team": "Local hub",
                "user": "revops-hub",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        )

    def _unknown_method(self, _: Request, method: str) -> Response:
        return _slack_error("unknown_method", req_method=method)

    # The stand-in's own endpoints ---------------------------------------------------------------------------------

    def _list_messages(self, request: Request) -> Response:
        return _json({"messages": self.messages(request.args.get("channel") or None)})

    def _forget_messages(self, _: Request) -> Response:
        with self._lock:
            forgotten = len(self._messages)
            self._messages.clear()
        return _json({"forgotten": forgotten})

    def _set_faults(self, request: Request) -> Response:
        raw = request.get_data()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return _json({"message": 'the body must be JSON like {"calls": 2, "kind": "ratelimited"}'}, 400)
        if not isinstance(body, dict):
            return _json({"message": 'the body must be a JSON object like {"calls": 2, "kind": "ratelimited"}'}, 400)
        calls, kind, retry_after = body.get("calls", 1), body.get("kind", "server_error"), body.get("retry_after", 1)
        if not _is_count(calls, MAX_FAULT_CALLS):
            return _json({"message": f"calls must be an integer from 0 to {MAX_FAULT_CALLS}, not {_shown(calls)}"}, 400)
        if kind not in FAULT_KINDS:
            return _json({"message": f"kind must be one of {', '.join(FAULT_KINDS)}, not {_shown(kind)}"}, 400)
        if not _is_count(retry_after, MAX_RETRY_AFTER):
            message = f"retry_after must be an integer from 0 to {MAX_RETRY_AFTER} (seconds), not {_shown(retry_after)}"
            return _json({"message": message}, 400)
        self.fail_next(calls, kind, retry_after)
        return _json(
            {
                "message": f"the next {calls} chat.postMessage call(s) will fail: {kind}",
                "calls": calls,
                "kind": kind,
                "retry_after": retry_after,
            }
        )

    # ---------------------------------------------------------------------------------------------------------------

    def _take_fault(self) -> Response | None:
        with self._lock:
            if self._fault_calls <= 0:
                return None
            self._fault_calls -= 1
            kind, retry_after = self._fault_kind, self._retry_after
        if kind == "ratelimited":
            response = _json({"ok": False, "error": "ratelimited"}, 429)
            response.headers["Retry-After"] = str(retry_after)
            return response
        return _json({"ok": False, "error": "internal_error"}, 500)

    def _refused_token(self, request: Request) -> str | None:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return "not_authed"
        if not token.startswith("xoxb-") or (self._token is not None and token != self._token):
            return "invalid_auth"
        return None

    def _next_ts(self) -> str:
        """`<epoch seconds>.<6 digits>`, increasing: no two messages share a ts (called under the lock)."""
        micros = max(int(self._clock() * 1_000_000), self._last_micros + 1)
        self._last_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _arguments(request: Request) -> dict[str, Any] | str:
    """The call's arguments from a JSON or a form body; a Slack error code when they cannot be read."""
    if request.mimetype == "application/json":
        try:
            arguments = json.loads(request.get_data() or b"{}")
        except ValueError:
            return "invalid_json"
        return arguments if isinstance(arguments, dict) else "json_not_object"
    if request.mimetype in ("", "application/x-www-form-urlencoded", "multipart/form-data"):
        return {key: request.form[key] for key in request.form} | {
            key: request.args[key] for key in request.args if key not in request.form
        }
    return "invalid_post_type"


def _block_errors(blocks: list[Any]) -> list[str]:
    """What Slack would say of the blocks, by JSON pointer; nothing when slack_sdk's models take them all."""
    from slack_sdk.errors import SlackObjectFormationError
    from slack_sdk.models.blocks import Block

    if len(blocks) > MAX_BLOCKS:
        return [f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]"]
    errors = []
    for position, block in enumerate(blocks):
        pointer = f"[json-pointer:/blocks/{position}]"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errors.append(f"must be an object with a type {pointer}")
            continue
        try:
            parsed = Block.parse(block)
            if parsed is None:
                errors.append(f"unsupported type: {block['type'][:40]} {pointer}")
                continue
            parsed.validate_json()
        except (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError) as exc:
            errors.append(f"{str(exc)[:200]} {pointer}")
    return errors


def _is_metadata(metadata: object) -> bool:
    return (
        isinstance(metadata, dict)
        and isinstance(metadata.get("event_type"), str)
        and isinstance(metadata.get("event_payload"), dict)
    )


def _is_count(value: object, most: int) -> bool:
    # bool is an int in Python, and `true` is not a count
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= most


def _shown(value: object) -> str:
    return json.dumps(value, default=str)[:40]


def _slack_error(error: str, **more: Any) -> Response:
    return _json({"ok": False, "error": error, **more})


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")
