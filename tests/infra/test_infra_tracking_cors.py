"""The deployed API answers a browser's CORS preflight on the tracking API's routes itself, as api.segment.io does:
OPTIONS without auth, a mock integration, the allowed origin, methods and headers; and no other route gets one."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match

from shared.http.webhook_request import answers_browsers
from tests.infra.conftest import Synth

NAG_FINDING = Match.string_like_regexp(r"^(AwsSolutions|Serverless)-")


def _paths(synth: Synth) -> dict[str, str]:
    raw = synth.template.find_resources("AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        if logical_id not in paths:
            props = raw[logical_id]["Properties"]
            parent = props["ParentId"]
            prefix = path_of(parent["Ref"]) if isinstance(parent, dict) and "Ref" in parent else ""
            paths[logical_id] = f"{prefix}/{props['PathPart']}"
        return paths[logical_id]

    for logical_id in raw:
        path_of(logical_id)
    return paths


def _preflights(synth: Synth) -> dict[str, dict[str, Any]]:
    paths = _paths(synth)
    return {
        paths[m["Properties"]["ResourceId"]["Ref"]]: m["Properties"]
        for m in synth.template.find_resources("AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "OPTIONS"
    }


def test_every_tracking_route_and_only_those_answer_a_preflight_without_auth(synth: Synth) -> None:
    preflights = _preflights(synth)
    tracking = {route.path for _, route in synth.catalog.routes if answers_browsers(route)}
    assert tracking == {"/v1/{call}"}  # analytics.js's short paths; server SDKs post to the calls' own, asking none
    assert set(preflights) == tracking
    for path, method in preflights.items():
        assert method.get("AuthorizationType", "NONE") == "NONE", path
        assert method["Integration"]["Type"] == "MOCK", path
        headers = method["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
        assert headers["method.response.header.Access-Control-Allow-Origin"] == "'*'", path
        assert "POST" in headers["method.response.header.Access-Control-Allow-Methods"], path
        assert headers["method.response.header.Access-Control-Allow-Headers"] == "'Content-Type,Authorization'", path


def test_the_preflights_pass_cdk_nag(synth: Synth) -> None:
    findings = synth.annotations.find_error("*", NAG_FINDING) + synth.annotations.find_warning("*", NAG_FINDING)
    assert [f"{entry.id}: {entry.entry.data}" for entry in findings] == []
