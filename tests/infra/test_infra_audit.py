"""The audit trail in the synthesized stack: an append-only table that no function can change (an explicit IAM
Deny on every function role, which no Allow overrides), that every function serving /api/v1 may only put to,
whose records expire by the retention of `config/audit.json`, and an admin-only audit API that reads it."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match

from infra.functions import APPEND_ONLY_DENIED
from shared.catalog import CATALOG, physical_name
from shared.catalog.audit import AUDIT
from tests.infra.conftest import Synth

ITEM_CHANGES = {
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
}
COMPOSED = {fn.name for fn in CATALOG.functions}
TABLE_CHANGES = {"dynamodb:DeleteTable", "dynamodb:UpdateTable", "dynamodb:UpdateTimeToLive"}


def _statements(synth: Synth, role: object) -> list[dict[str, Any]]:
    role_id = synth.logical_id(role)
    policies = synth.template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": Match.array_with([{"Ref": role_id}])}}
    )
    return [s for policy in policies.values() for s in policy["Properties"]["PolicyDocument"]["Statement"]]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _table_arn(synth: Synth) -> dict[str, Any]:
    return {"Fn::GetAtt": [synth.logical_id(synth.stack.data.tables[AUDIT.name]), "Arn"]}


def test_every_function_role_is_denied_changing_the_audit_trail(synth: Synth) -> None:
    # Given every function's role
    for fn in synth.catalog.functions:
        statements = _statements(synth, synth.stack.functions.by_name[fn.name].role)
        # Then an explicit Deny names the audit table and every way to change or remove its items or itself
        denies = [s for s in statements if s["Effect"] == "Deny" and _table_arn(synth) in _listed(s["Resource"])]
        denied = {action for s in denies for action in _listed(s["Action"])}
        assert denied >= ITEM_CHANGES | TABLE_CHANGES, fn.name
        assert denied == set(APPEND_ONLY_DENIED)
        # And no Allow of the role grants any of them on the table (nor a wildcard that would)
        for statement in statements:
            if statement["Effect"] == "Allow" and _table_arn(synth) in _listed(statement["Resource"]):
                assert not set(_listed(statement["Action"])) & denied, fn.name
                assert "dynamodb:*" not in _listed(statement["Action"])


def test_api_functions_may_only_put_to_the_audit_trail_and_the_audit_api_read_it(synth: Synth) -> None:
    table_arn = _table_arn(synth)
    for fn in synth.catalog.functions:
        statements = _statements(synth, synth.stack.functions.by_name[fn.name].role)
        allowed = {
            action
            for s in statements
            if s["Effect"] == "Allow" and table_arn in _listed(s["Resource"])
            for action in _listed(s["Action"])
        }
        access = fn.tables.get(AUDIT.name)
        if access == "append":
            assert allowed == {"dynamodb:PutItem"}, fn.name
        elif access == "read_append":
            assert allowed == {
                "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query",
                "dynamodb:ConditionCheckItem",
            }  # fmt: skip
        else:
            assert allowed == set(), fn.name
        if fn.name in COMPOSED:  # (the test catalog adds functions past `compose`)
            serves_api = any(route.path.startswith("/api/v1/") for route in fn.routes)
            assert (access is not None) == serves_api, fn.name
        # An append names no index: it only puts
        rendered = json.dumps(statements)
        for index in AUDIT.indexes:
            index_arn = json.dumps({"Fn::Join": ["", [table_arn, f"/index/{index.name}"]]})
            assert (index_arn in rendered) == (access == "read_append"), fn.name


def test_the_audit_table_expires_records_and_is_encrypted_with_pitr(dev: Synth) -> None:
    dev.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": physical_name(dev.stage, AUDIT.name),
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": Match.object_like({"SSEEnabled": True, "SSEType": "KMS"}),
            "GlobalSecondaryIndexes": [
                Match.object_like({"IndexName": index.name, "Projection": {"ProjectionType": "ALL"}})
                for index in AUDIT.indexes
            ],
        },
    )


def test_the_audit_api_is_admin_only_behind_cognito(dev: Synth) -> None:
    method = dev.stack.api.methods["GET /api/v1/audit"]
    properties = dev.template.find_resources("AWS::ApiGateway::Method")[dev.logical_id(method)]["Properties"]
    assert properties["AuthorizationType"] == "COGNITO_USER_POOLS"
    audit_api = dev.catalog.function("audit_api")
    [route] = audit_api.routes
    assert {group.value for group in route.groups or ()} == {"admin"}
    assert route.audited_read
