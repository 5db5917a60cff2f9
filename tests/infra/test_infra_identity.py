"""The user pool's pre token generation trigger in the synthesized stack (issue 15 §5): the catalog's
`access_token_claims` function, at event version V2_0 (so Cognito applies its answer to people's access tokens, and
never runs it for app clients), invocable by Cognito from this pool only, and allowed nothing but its logs, its
failure queue and tracing."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_cdk.assertions import Match

from shared.catalog.identity import pre_token_generation_trigger

if TYPE_CHECKING:
    from tests.infra.conftest import Synth


def _trigger(synth: Synth) -> tuple[str, Any]:
    spec = pre_token_generation_trigger(synth.catalog)
    assert spec is not None, "the catalog declares no pre token generation trigger"
    deployed = synth.stack.functions.by_name[spec.name]
    return synth.logical_id(deployed.function), deployed


def test_the_pool_runs_the_catalogs_trigger_at_event_version_2_and_no_other_trigger(synth: Synth) -> None:
    function_id, _ = _trigger(synth)
    [pool] = synth.template.find_resources("AWS::Cognito::UserPool").values()
    assert pool["Properties"]["LambdaConfig"] == {
        "PreTokenGenerationConfig": {"LambdaArn": {"Fn::GetAtt": [function_id, "Arn"]}, "LambdaVersion": "V2_0"}
    }


def test_only_cognito_from_this_pool_may_invoke_the_trigger(synth: Synth) -> None:
    function_id, _ = _trigger(synth)
    pool_id = synth.logical_id(synth.stack.api.user_pool)
    permissions = [
        permission["Properties"]
        for permission in synth.template.find_resources("AWS::Lambda::Permission").values()
        if permission["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]
    assert permissions == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [function_id, "Arn"]},
            "Principal": "cognito-idp.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [pool_id, "Arn"]},
        }
    ]


def test_the_trigger_is_allowed_its_logs_failure_queue_and_tracing_only(synth: Synth) -> None:
    _, deployed = _trigger(synth)
    role_id = synth.logical_id(deployed.role)
    policies = synth.template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": Match.array_with([{"Ref": role_id}])}}
    )
    statements = [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    allowed = {
        action
        for statement in statements
        if statement["Effect"] == "Allow"
        for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    }
    assert allowed == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sqs:SendMessage",
        "sqs:GetQueueUrl",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    # (no table, secret, bus, mail or Cognito API: what it adds comes from the event Cognito sends)
    assert not any(service in json.dumps(statements) for service in ("dynamodb:Get", "secretsmanager:", "cognito-idp:"))


def test_cognito_gets_an_answer_within_its_5_seconds(synth: Synth) -> None:
    function_id, _ = _trigger(synth)
    function = synth.template.to_json()["Resources"][function_id]["Properties"]
    assert function["Timeout"] <= 5
