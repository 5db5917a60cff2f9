"""Local stand-in for API Gateway's API key check on partner routes: the key sent as `x-api-key` must be an enabled
key of a configured partner's usage plan in the embedded API Gateway, where `make rotate-api-key` (without STAGE)
issues them. Locally the key is checked, not its plan's rate or quota."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.api_clients import ApiClients, usage_plan_name


@dataclass(frozen=True)
class PartnerKey:
    key_id: str
    partner: str


class LocalPartnerKeys:
    def __init__(self, clients: ApiClients, stage: str) -> None:
        self._plans = {usage_plan_name(stage, partner.name): partner.name for partner in clients.partners}

    def check(self, value: str) -> PartnerKey | None:
        """The partner whose enabled key this is, or None (API Gateway answers 403 then)."""
        if not value:
            return None
        import boto3

        apigateway: Any = boto3.client("apigateway")
        keys = apigateway.get_api_keys(includeValues=True, limit=500)["items"]
        found = next((key for key in keys if key.get("value") == value and key.get("enabled")), None)
        if found is None:
            return None
        for plan in apigateway.get_usage_plans(limit=500)["items"]:
            partner = self._plans.get(plan["name"])
            if partner and any(
                k["id"] == found["id"] for k in apigateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
            ):
                return PartnerKey(found["id"], partner)
        return None
