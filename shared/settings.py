"""Function configuration: environment variables validated into a pydantic model at cold start, so a
misconfigured function fails on its first invocation with a message naming what is missing."""

from __future__ import annotations

import os
from typing import TypeVar

from pydantic import BaseModel, ValidationError

Settings = TypeVar("Settings", bound=BaseModel)


class MisconfiguredFunction(RuntimeError):
    pass


def load_settings(model: type[Settings]) -> Settings:
    environment = {key.lower(): value for key, value in os.environ.items()}
    try:
        return model.model_validate(environment)
    except ValidationError as exc:
        problems = ", ".join(f"{'.'.join(map(str, e['loc'])).upper()} ({e['msg']})" for e in exc.errors())
        raise MisconfiguredFunction(f"environment is missing or invalid: {problems}") from None


class WebhookReceiverSettings(BaseModel):
    table_webhook_deliveries: str
    secret_webhook_signing_secrets: str
    event_bus_name: str


class DeliveryLogSettings(BaseModel):
    table_webhook_deliveries: str


class LeadSettings(BaseModel):
    table_leads: str
    event_bus_name: str
