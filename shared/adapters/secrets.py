"""Vendor signing secrets from Secrets Manager, cached in the warm function.

A small cache of its own rather than Powertools' parameters utility: the webhook receiver reads this on every
delivery and keeps Powertools (and its import time) off its cold start; one GetSecretValue per five minutes
is all the caching it needs.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

CACHE_SECONDS = 300  # a rotated secret is picked up within 5 minutes; the previous one stays valid meanwhile

_log = logging.getLogger(__name__)


class SecretsManagerSecretSource:
    def __init__(self, secret_name: str, client: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self._name = secret_name
        self._client = client
        self._clock = clock
        self._lock = threading.Lock()
        self._document: Any = None
        self._fetched_at = float("-inf")

    def secrets_for(self, vendor: str) -> list[str]:
        document = self._current()
        if not isinstance(document, dict):
            _log.error("webhook secret document %s is not a JSON object; every vendor is rejected", self._name)
            return []
        value = document.get(vendor)
        values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return [secret for secret in values if isinstance(secret, str) and secret]

    def _current(self) -> Any:
        with self._lock:
            if self._clock() - self._fetched_at >= CACHE_SECONDS:
                secret = self._client.get_secret_value(SecretId=self._name)["SecretString"]
                try:
                    self._document = json.loads(secret)
                except ValueError:
                    self._document = None
                self._fetched_at = self._clock()
            return self._document
