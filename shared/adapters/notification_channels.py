"""The channels handoff notifications go out through, built from the `handoff-notifications` secret when first
needed and again every few minutes (a rotated Slack token or a new sender is picked up without a deploy; no
network at cold start)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.handoffs.ports import ChatPoster, EmailSender

CACHE_SECONDS = 300


@dataclass(frozen=True)
class Channels:
    chat: ChatPoster
    email: EmailSender
    hub_url: str


class MisconfiguredNotifications(RuntimeError):
    pass


class SecretChannels:
    def __init__(
        self,
        secret_name: str,
        secrets_client: Any,
        build: Callable[[dict[str, Any]], Channels],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._name = secret_name
        self._client = secrets_client
        self._build = build
        self._clock = clock
        self._lock = threading.Lock()
        self._channels: Channels | None = None
        self._built_at = float("-inf")

    def __call__(self) -> Channels:
        with self._lock:
            if self._channels is None or self._clock() - self._built_at >= CACHE_SECONDS:
                settings = json.loads(self._client.get_secret_value(SecretId=self._name)["SecretString"])
                missing = [key for key in ("slack_bot_token", "email_from") if not isinstance(settings.get(key), str)]
                if missing:
                    raise MisconfiguredNotifications(f"secret {self._name} lacks {', '.join(missing)}")
                self._channels, self._built_at = self._build(settings), self._clock()
            return self._channels
