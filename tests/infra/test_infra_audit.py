"""The audit trail in the synthesized stack: an append-only table that no function can change (an explicit IAM
Deny on every function role, which no Allow overrides), that every function serving /api/v1 may only put to,
whose records expire by the retention of `config/audit.json`, and an admin-only audit API that reads it."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
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
# All a function may do on the audit table (or on "*"), DynamoDB-wise: put a new item, read (the audit API), and
# what other statements on "*" need (streams are listed on "*": ListStreams names no resource).
READS_AND_PUT = {
    "dynamodb:PutItem",
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
    "dynamodb:ListStreams",
}


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


def _may_name_the_audit_table(synth: Synth, stack: Any, resource: Any) -> bool:
    """Whether a policy resource can match the audit table or its items: a wildcard, the table's ARN (its own or
    an index's, built from it), or a table ARN pattern or name that covers it."""
    if resource == "*":
        return True
    rendered = json.dumps(resource)
    audit_table = synth.stack.data.tables[AUDIT.name]
    if stack is synth.stack and synth.logical_id(audit_table) in rendered:
        return True
    return ":table/*" in rendered or physical_name(synth.stage, AUDIT.name) in rendered


def _grants(patterns: list[str], action: str) -> bool:
    return any(fnmatchcase(action.lower(), pattern.lower()) for pattern in patterns)


def test_no_lambda_function_in_any_stack_may_change_the_audit_trail(synth: Synth) -> None:
    """Read from the synthesized templates, not the catalog: every AWS::Lambda::Function of every stack (the catalog's
    and any a construct adds) runs with a role that is explicitly denied every item change of the audit table, and
    no statement of that role allows one, by name or by wildcard."""
    functions = 0
    for stack in synth.stacks:
        resources = stack.template.to_json()["Resources"]
        for logical_id, function in resources.items():
            if function["Type"] != "AWS::Lambda::Function":
                continue
            functions += 1
            role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
            role = resources[role_id]["Properties"]
            # Given everything the function's role is granted: its inline policies and the policies attached to it
            assert not role.get("ManagedPolicyArns"), f"{logical_id}: a managed policy is not reviewed here"
            statements = [s for policy in role.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]
            statements += [
                s
                for policy in resources.values()
                if policy["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in policy["Properties"]["Roles"]
                for s in policy["Properties"]["PolicyDocument"]["Statement"]
            ]
            on_the_trail = [
                s
                for s in statements
                if any(_may_name_the_audit_table(synth, stack.stack, r) for r in _listed(s["Resource"]))
            ]
            # Then an unconditional Deny on the table names every item change (inside a transaction too: a
            # transaction's updates and deletes are authorized as UpdateItem and DeleteItem)
            denied = {
                action
                for s in on_the_trail
                if s["Effect"] == "Deny" and "Condition" not in s and _table_arn(synth) in _listed(s["Resource"])
                for action in _listed(s["Action"])
            }
            assert denied >= ITEM_CHANGES | {"dynamodb:PartiQLInsert"}, logical_id
            # And no Allow that can reach the table grants any of them, nor anything past a put and reads
            for statement in on_the_trail:
                if statement["Effect"] != "Allow":
                    continue
                patterns = _listed(statement["Action"])
                for action in ITEM_CHANGES | TABLE_CHANGES | {"dynamodb:PartiQLInsert"}:
                    assert not _grants(patterns, action), f"{logical_id}: {action} by {patterns}"
                dynamodb = [p for p in patterns if p.lower().startswith("dynamodb:") or p == "*"]
                assert set(dynamodb) <= READS_AND_PUT, f"{logical_id}: {dynamodb}"
    assert functions >= len(synth.catalog.functions)


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
            records_refusals = fn.access_log is not None  # the API's requests API Gateway refused
            assert (access is not None) == (serves_api or records_refusals), fn.name
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


def test_the_gateways_own_refusals_reach_the_refusal_audit_through_the_access_log(synth: Synth) -> None:
    # Given the functions subscribed to the API's access log (the gateway-refusal audit, in the hub's catalog)
    triggers = synth.catalog.access_log_triggers
    assert [fn.name for fn, _ in triggers] == (
        ["audit_gateway_refusals"] if "audit_gateway_refusals" in COMPOSED else []
    )
    log_group = synth.logical_id(synth.stack.api.access_logs)
    filters = synth.template.find_resources("AWS::Logs::SubscriptionFilter")
    assert len(filters) == len(triggers)
    for fn, trigger in triggers:
        function = synth.logical_id(synth.stack.functions.by_name[fn.name].function)
        # Then a subscription filter on the access log delivers the lines the trigger matches to the function
        (subscription,) = [
            f["Properties"]
            for f in filters.values()
            if f["Properties"]["DestinationArn"] == {"Fn::GetAtt": [function, "Arn"]}
        ]
        assert subscription["LogGroupName"] == {"Ref": log_group}
        pattern = subscription["FilterPattern"]
        for field, values in trigger.matches.items():
            for value in values:
                assert f'$.{field} = "{value}"' in pattern, pattern
        assert pattern.count("&&") == len(trigger.matches) - 1
        # And CloudWatch Logs, from that log group only, may invoke it
        permissions = synth.template.find_resources(
            "AWS::Lambda::Permission",
            {"Properties": {"Principal": "logs.amazonaws.com", "FunctionName": {"Fn::GetAtt": [function, "Arn"]}}},
        )
        assert [p["Properties"]["SourceArn"] for p in permissions.values()] == [{"Fn::GetAtt": [log_group, "Arn"]}]
        # And it may only put to the audit table (no read: it searches nothing)
        statements = _statements(synth, synth.stack.functions.by_name[fn.name].role)
        on_table = {
            a
            for s in statements
            if s["Effect"] == "Allow" and _table_arn(synth) in _listed(s["Resource"])
            for a in _listed(s["Action"])
        }
        assert on_table == {"dynamodb:PutItem"}, on_table
