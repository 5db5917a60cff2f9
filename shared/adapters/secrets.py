"""Vendor signing secrets from Secrets Manager, cached in the warm function (Powertools parameters)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters

CACHE_SECONDS = 300  # a rotated secret is picked up within 5 minutes; the previous one stays valid meanwhile

logger = Logger(child=True)


class SecretsManagerSecretSource:
    def __init__(self, secret_name: str, client: Any) -> None:
        self._name = secret_name
        self._provider = parameters.SecretsProvider(boto3_client=client)

    def secrets_for(self, vendor: str) -> list[str]:
        document: Any = self._provider.get(self._name, transform="json", max_age=CACHE_SECONDS)
        if not isinstance(document, dict):
            logger.error("webhook secret document is not a JSON object; every vendor is rejected")
            return []
        value = document.get(vendor)
        values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return [secret for secret in values if isinstance(secret, str) and secret]
