"""The template agrees with the catalog it was built from: functions, routes, queues, tables, secrets,
rules and schedules, each with the settings the issue asks for."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_cdk.assertions import Match

from infra.api import ACCESS_LOG_FIELDS
from infra.events import messaging_key_alias
from infra.functions import ASYNC_RETRY_ATTEMPTS
from shared.api_clients import load_api_clients
from shared.catalog import DOMAIN_THROTTLES, METRICS_NAMESPACE, STAGE_THROTTLE, Group, Queue, physical_name
from shared.http.webhook_request import answers_browsers

if TYPE_CHECKING:
    from tests.infra.conftest import StackSynth, Synth


def _resource(synth: Synth, construct: object) -> dict[str, Any]:
    resource: dict[str, Any] = synth.template.to_json()["Resources"][synth.logical_id(construct)]
    return resource


def _policy_statements(synth: Synth, role: object) -> list[dict[str, Any]]:
    role_id = synth.logical_id(role)
    policies = synth.template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": Match.array_with([{"Ref": role_id}])}}
    )
    return [
        statement for policy in policies.values() for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _dead_letter_queue(synth: Synth, spec: Queue) -> tuple[StackSynth[Any], str]:
    """The stack a catalog dead-letter queue is in and its logical id there: a rule's beside the rule in the routing
    stack, the others in the main stack."""
    routed = synth.routing.stack.rules.dead_letter_queues
    if spec.name in routed:
        return synth.routing, synth.routing.logical_id(routed[spec.name])
    return synth.main, synth.logical_id(synth.stack.data.queues[spec.name])


def _spelled_arn(service: str, resource: str) -> dict[str, Any]:
    """An ARN in the stack's own account and region, spelled out from names as CDK writes it."""
    parts = ["arn:", {"Ref": "AWS::Partition"}, f":{service}:", {"Ref": "AWS::Region"}, ":"]
    return {"Fn::Join": ["", [*parts, {"Ref": "AWS::AccountId"}, f":{resource}"]]}


# --- functions ---------------------------------------------------------------------------------------


def test_one_lambda_per_catalog_function_with_catalog_settings(synth: Synth) -> None:
    # Given the catalog's functions (and its work queues, whose URLs the senders are told)
    synth.template.resource_count_is("AWS::Lambda::Function", len(synth.catalog.functions))
    queue_urls = {name: {"Ref": synth.logical_id(queue)} for name, queue in synth.stack.data.work_queues.items()}
    for fn in synth.catalog.functions:
        # Then each has its own Lambda with the catalog's memory/timeout on arm64 Python 3.14, traced,
        # logging JSON to its own log group, and told its resources through the catalog's environment
        synth.template.has_resource_properties(
            "AWS::Lambda::Function",
            {
                "FunctionName": physical_name(synth.stage, fn.slug),
                "Handler": fn.handler,
                "MemorySize": fn.memory_mb,
                "Timeout": fn.timeout_seconds,
                "Architectures": ["arm64"],
                "Runtime": "python3.14",
                "TracingConfig": {"Mode": "Active"},
                "LoggingConfig": Match.object_like({"LogFormat": "JSON", "LogGroup": Match.any_value()}),
                "Environment": {
                    "Variables": Match.object_like(
                        synth.catalog.environment(fn, synth.stage, queue_urls)
                        | {"POWERTOOLS_LOG_LEVEL": Match.any_value()}
                    )
                },
            },
        )
        synth.template.has_resource_properties(
            "AWS::Logs::LogGroup",
            {
                "LogGroupName": f"/aws/lambda/{physical_name(synth.stage, fn.slug)}",
                "RetentionInDays": Match.any_value(),
            },
        )


def test_async_failures_go_to_the_functions_own_queue(synth: Synth) -> None:
    for fn in synth.catalog.functions:
        deployed = synth.stack.functions.by_name[fn.name]
        queue = synth.stack.data.queues[fn.failure_queue.name]
        synth.template.has_resource_properties(
            "AWS::Lambda::EventInvokeConfig",
            {
                "FunctionName": {"Fn::GetAtt": [synth.logical_id(deployed.function), "Arn"]},
                "MaximumRetryAttempts": ASYNC_RETRY_ATTEMPTS,
                "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [synth.logical_id(queue), "Arn"]}}},
            },
        )


def test_no_aws_managed_policies_anywhere(synth: Synth) -> None:
    for role in synth.template.find_resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


def test_function_roles_grant_exactly_what_the_catalog_says(synth: Synth) -> None:
    for fn in synth.catalog.functions:
        deployed = synth.stack.functions.by_name[fn.name]
        # (what it is allowed: every role also carries explicit denies, tests/infra/test_infra_audit.py)
        statements = [s for s in _policy_statements(synth, deployed.role) if s["Effect"] == "Allow"]
        actions = {action for s in statements for action in _as_list(s["Action"])}
        # Only actions without resource-level permissions get "*": X-Ray's, and a stream reader's ListStreams
        # (Lambda's event source mapping asks for it; the stream itself is granted by ARN)
        unscoped = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
        if fn.streams:
            unscoped.add("dynamodb:ListStreams")
        for statement in statements:
            if "*" in _as_list(statement["Resource"]):
                assert set(_as_list(statement["Action"])) <= unscoped
        # Tables: write actions only for write access, and never Scan or table management
        wants_write = any(access in ("write", "read_write", "append", "read_append") for access in fn.tables.values())
        wants_read = any(access in ("read", "read_write", "read_append") for access in fn.tables.values())
        assert ("dynamodb:PutItem" in actions) == wants_write
        assert ("dynamodb:Query" in actions) == wants_read
        assert not {"dynamodb:Scan", "dynamodb:DeleteTable", "dynamodb:*"} & actions
        # Secrets, events and the failure queue only when the catalog says so
        assert ("secretsmanager:GetSecretValue" in actions) == bool(fn.secrets)
        assert ("events:PutEvents" in actions) == fn.publishes_events
        # And its own failure queue, to send to and look up (a consumer dead-letters permanent failures itself)
        queue_arn = {"Fn::GetAtt": [synth.logical_id(synth.stack.data.queues[fn.failure_queue.name]), "Arn"]}
        [to_queue] = [
            s for s in statements if "sqs:SendMessage" in _as_list(s["Action"]) and queue_arn in _as_list(s["Resource"])
        ]
        assert set(_as_list(to_queue["Action"])) == {"sqs:SendMessage", "sqs:GetQueueUrl"}
        # (with, for a work queue's consumer, that queue's dead-letter queue: it dead-letters what can never succeed)
        dead_letters = [
            {
                "Fn::GetAtt": [
                    synth.logical_id(synth.stack.data.queues[synth.catalog.work_queue(t.queue).dead_letter_queue.name]),
                    "Arn",
                ]
            }
            for t in fn.queue_triggers
        ]
        assert sorted(map(json.dumps, _as_list(to_queue["Resource"]))) == sorted(
            map(json.dumps, [queue_arn, *dead_letters])
        )
        # Work queues: send only to those the catalog says it sends to, consume only the one it is triggered by
        work_queue_arns = {
            name: json.dumps({"Fn::GetAtt": [synth.logical_id(queue), "Arn"]}, sort_keys=True)
            for name, queue in synth.stack.data.work_queues.items()
        }
        sent_to = {
            json.dumps(resource, sort_keys=True)
            for s in statements
            if "sqs:SendMessage" in _as_list(s["Action"])
            for resource in _as_list(s["Resource"])
            if json.dumps(resource, sort_keys=True) in work_queue_arns.values()
        }
        assert sent_to == {work_queue_arns[name] for name in fn.sends_to}
        secret_refs = [s["Resource"] for s in statements if "secretsmanager:GetSecretValue" in _as_list(s["Action"])]
        expected_secrets = [{"Ref": synth.logical_id(synth.stack.data.secrets[name])} for name in fn.secrets]
        assert [ref for refs in secret_refs for ref in _as_list(refs)] == expected_secrets


def test_a_function_whose_writes_are_confined_writes_only_items_of_its_key_prefix(synth: Synth) -> None:
    # Given the functions the catalog confines to a kind of item in a table they also read (the notifier's markers)
    confined = [
        (fn, table, prefix) for fn in synth.catalog.functions for table, prefix in fn.writes_confined_to.items()
    ]
    assert ("handoff_notifier", "handoffs", "NOTICE#") in [(fn.name, table, prefix) for fn, table, prefix in confined]
    writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
    for fn, table_name, prefix in confined:
        table_arn = {"Fn::GetAtt": [synth.logical_id(synth.stack.data.tables[table_name]), "Arn"]}
        statements = [
            s
            for s in _policy_statements(synth, synth.stack.functions.by_name[fn.name].role)
            if s["Effect"] == "Allow" and table_arn in _as_list(s["Resource"])
        ]
        # Then every statement that lets it write that table holds the partition key to the prefix
        writing = [s for s in statements if writes & set(_as_list(s["Action"]))]
        assert writing, fn.name
        for statement in writing:
            assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{prefix}*"]}}
            assert _as_list(statement["Resource"]) == [table_arn]
        # And its reads reach the whole table and its indexes, unconditioned
        reading = [s for s in statements if "dynamodb:Query" in _as_list(s["Action"])]
        assert reading, fn.name
        assert all("Condition" not in s for s in reading)


def test_index_arns_are_granted_by_name_not_wildcard(synth: Synth) -> None:
    for fn in synth.catalog.functions:
        statements = _policy_statements(synth, synth.stack.functions.by_name[fn.name].role)
        rendered = json.dumps(statements)
        assert "/index/*" not in rendered
        for table_name, access in fn.tables.items():
            table_arn = {"Fn::GetAtt": [synth.logical_id(synth.stack.data.tables[table_name]), "Arn"]}
            for index in synth.catalog.table(table_name).indexes:
                index_arn = json.dumps({"Fn::Join": ["", [table_arn, f"/index/{index.name}"]]})
                assert (index_arn in rendered) == (access not in ("write", "append"))


# --- API -----------------------------------------------------------------------------------------


def test_one_api_method_per_catalog_route_with_the_right_authorization(synth: Synth) -> None:
    # Given the catalog's routes, and a CORS preflight on each path browsers call (the tracking API's: see
    # test_infra_tracking_cors.py)
    preflights = {route.path for _, route in synth.catalog.routes if answers_browsers(route)}
    synth.template.resource_count_is("AWS::ApiGateway::Method", len(synth.catalog.routes) + len(preflights))
    authorizer_id = synth.stack.resolve(synth.stack.api.authorizer.authorizer_id)
    for fn, route in synth.catalog.routes:
        method = _resource(synth, synth.stack.api.methods[route.key])["Properties"]
        # Then each is a Lambda proxy to its owning function
        assert method["HttpMethod"] == route.method
        assert method["Integration"]["Type"] == "AWS_PROXY"
        function_id = synth.logical_id(synth.stack.functions.by_name[fn.name].function)
        assert function_id in json.dumps(method["Integration"]["Uri"])
        # And webhooks pass the gateway unauthenticated while /api/v1 needs a Cognito token
        if route.is_public:
            assert method["AuthorizationType"] == "NONE"
            assert "AuthorizerId" not in method
        else:
            assert route.path.startswith("/api/v1/")
            assert method["AuthorizationType"] == "COGNITO_USER_POOLS"
            assert method["AuthorizerId"] == authorizer_id
        # And every method is validated; JSON bodies against a model
        assert "RequestValidatorId" in method
        assert ("RequestModels" in method) == route.json_body
        for name in [part[1:-1] for part in route.path.split("/") if part.startswith("{")]:
            assert method["RequestParameters"][f"method.request.path.{name}"] is True


def test_request_validator_checks_parameters_and_bodies(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::ApiGateway::RequestValidator", {"ValidateRequestParameters": True, "ValidateRequestBody": True}
    )


def test_raw_webhook_bytes_reach_the_function(synth: Synth) -> None:
    synth.template.has_resource_properties("AWS::ApiGateway::RestApi", {"BinaryMediaTypes": ["*/*"]})


def test_stage_throttles_per_domain_and_logs(synth: Synth) -> None:
    # Given the API stage
    stage = _resource(synth, synth.stack.api.stage)["Properties"]
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["MethodSettings"]}
    # Then the stage default comes from STAGE_THROTTLE with execution logging on and data tracing off
    default = settings[("/*", "*")]
    assert default["ThrottlingRateLimit"] == STAGE_THROTTLE.rate_per_second
    assert default["ThrottlingBurstLimit"] == STAGE_THROTTLE.burst
    assert default["LoggingLevel"] in ("INFO", "ERROR")
    assert default["DataTraceEnabled"] is False
    # And each route is throttled by its domain
    for _, route in synth.catalog.routes:
        setting = settings[(route.path.replace("/", "~1").join(["/", ""]), route.method)]
        throttle = DOMAIN_THROTTLES[route.domain]
        assert (setting["LoggingLevel"], setting["MetricsEnabled"]) == (default["LoggingLevel"], True)
        assert (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]) == (
            throttle.rate_per_second,
            throttle.burst,
        )
    # And access logs are JSON, with X-Ray on
    assert json.loads(stage["AccessLogSetting"]["Format"]) == ACCESS_LOG_FIELDS
    assert stage["TracingEnabled"] is True


def test_waf_protects_the_stage(synth: Synth) -> None:
    acl = synth.template.find_resources("AWS::WAFv2::WebACL")
    assert len(acl) == 1
    ((acl_id, web_acl),) = acl.items()
    rules = {rule["Name"]: rule for rule in web_acl["Properties"]["Rules"]}
    assert web_acl["Properties"]["Scope"] == "REGIONAL"
    assert {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"} <= set(rules)
    assert "AWSManagedRulesAmazonIpReputationList" in rules
    common = rules["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    assert common["RuleActionOverrides"] == [
        {"ActionToUse": {"Count": {}}, "Name": "SizeRestrictions_BODY"},
        {"ActionToUse": {"Count": {}}, "Name": "CrossSiteScripting_BODY"},
    ]
    assert any("RateBasedStatement" in rule["Statement"] for rule in rules.values())
    synth.template.has_resource_properties(
        "AWS::WAFv2::WebACLAssociation",
        {"WebACLArn": {"Fn::GetAtt": [acl_id, "Arn"]}, "ResourceArn": Match.any_value()},
    )


def test_cognito_pool_has_the_catalog_groups_and_strong_sign_in(synth: Synth) -> None:
    groups = synth.template.find_resources("AWS::Cognito::UserPoolGroup")
    assert sorted(g["Properties"]["GroupName"] for g in groups.values()) == sorted(g.value for g in Group)
    synth.template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "UserPoolName": physical_name(synth.stage, "users"),
            "MfaConfiguration": "ON",
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "UserPoolTier": "PLUS",
            "Policies": {"PasswordPolicy": Match.object_like({"MinimumLength": 14, "RequireSymbols": True})},
        },
    )
    # The people's client, and one per system of config/api-clients.json (tests/infra/test_infra_access.py)
    synth.template.resource_count_is("AWS::Cognito::UserPoolClient", 1 + len(load_api_clients().clients))


def test_api_gateway_logs_through_its_own_role(synth: Synth) -> None:
    (account,) = synth.template.find_resources("AWS::ApiGateway::Account").values()
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = synth.template.to_json()["Resources"][role_id]
    assert role["DeletionPolicy"] == "Retain"
    assert "ManagedPolicyArns" not in role["Properties"]


# --- data -----------------------------------------------------------------------------------------


def test_every_catalog_queue_exists_encrypted_with_a_depth_alarm(synth: Synth) -> None:
    # Given the dead-letter queues (and the work queues: tests/infra/test_infra_work_queues.py): the rules' in the
    # routing stack beside their rules, the others in the main stack
    rule_queues = len(synth.catalog.rule_queues)
    main_queues = len(synth.catalog.queues) - rule_queues + len(synth.catalog.work_queues)
    synth.template.resource_count_is("AWS::SQS::Queue", main_queues)
    synth.routing.template.resource_count_is("AWS::SQS::Queue", rule_queues)
    alarms = synth.monitoring.template.find_resources("AWS::CloudWatch::Alarm")
    # (the main stack's messaging key, which the routing stack names by the alias the main stack gives it)
    messaging_key = {
        synth.main.stack.stack_name: {"Fn::GetAtt": [synth.logical_id(synth.stack.keys.messaging), "Arn"]},
        synth.routing.stack.stack_name: _spelled_arn("kms", messaging_key_alias(synth.stage)),
    }
    for spec in synth.catalog.queues:
        stack, logical_id = _dead_letter_queue(synth, spec)
        # Then the queue exists under its stage name, KMS-encrypted with the messaging key, kept 14 days
        properties = stack.template.to_json()["Resources"][logical_id]["Properties"]
        assert properties["QueueName"] == physical_name(synth.stage, spec.name)
        assert properties["KmsMasterKeyId"] == messaging_key[stack.stack.stack_name], spec.name
        assert properties["MessageRetentionPeriod"] == 14 * 24 * 3600
        # And an alarm of the monitoring stack, watching the queue by that name, fires to the SNS topic as soon as
        # one message is visible
        depth_alarms = [
            a["Properties"]
            for a in alarms.values()
            if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
            and a["Properties"]["Dimensions"] == [{"Name": "QueueName", "Value": physical_name(synth.stage, spec.name)}]
        ]
        assert len(depth_alarms) == 1, spec.name
        alarm = depth_alarms[0]
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
        assert alarm["AlarmActions"] == [_alarm_topic_arn(synth)]


def test_queues_are_ssl_only(synth: Synth) -> None:
    for spec in synth.catalog.queues:
        stack, queue_id = _dead_letter_queue(synth, spec)
        stack.template.has_resource_properties(
            "AWS::SQS::QueuePolicy",
            {
                "Queues": Match.array_with([{"Ref": queue_id}]),
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                    )
                },
            },
        )


def test_every_table_is_on_demand_with_pitr_and_a_rotating_cmk(synth: Synth) -> None:
    synth.template.resource_count_is("AWS::DynamoDB::Table", len(synth.catalog.tables))
    data_key = synth.logical_id(synth.stack.keys.data)
    for spec in synth.catalog.tables:
        expected: dict[str, Any] = {
            "TableName": physical_name(synth.stage, spec.name),
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {
                "SSEEnabled": True,
                "SSEType": "KMS",
                "KMSMasterKeyId": {"Fn::GetAtt": [data_key, "Arn"]},
            },
            "KeySchema": Match.array_with([{"AttributeName": spec.partition_key, "KeyType": "HASH"}]),
        }
        if spec.ttl_attribute:
            expected["TimeToLiveSpecification"] = {"AttributeName": spec.ttl_attribute, "Enabled": True}
        if spec.indexes:
            expected["GlobalSecondaryIndexes"] = [
                Match.object_like({"IndexName": index.name}) for index in spec.indexes
            ]
        synth.template.has_resource_properties("AWS::DynamoDB::Table", expected)
    synth.template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    for key in synth.template.find_resources("AWS::KMS::Key").values():
        assert key["Properties"]["EnableKeyRotation"] is True


def test_data_is_retained_in_prod_only(synth: Synth) -> None:
    expected = "Retain" if synth.stage == "prod" else "Delete"
    for resource_type in ("AWS::DynamoDB::Table", "AWS::SecretsManager::Secret", "AWS::SQS::Queue", "AWS::KMS::Key"):
        for logical_id, resource in synth.template.find_resources(resource_type).items():
            assert resource["DeletionPolicy"] == expected, logical_id
    # the rules' dead-letter queues too, in the routing stack
    for logical_id, resource in synth.routing.template.find_resources("AWS::SQS::Queue").items():
        assert resource["DeletionPolicy"] == expected, logical_id


def test_every_secret_is_named_by_stage_encrypted_and_starts_empty(synth: Synth) -> None:
    synth.template.resource_count_is("AWS::SecretsManager::Secret", len(synth.catalog.secrets))
    for spec in synth.catalog.secrets:
        synth.template.has_resource_properties(
            "AWS::SecretsManager::Secret",
            {
                "Name": physical_name(synth.stage, spec.name),
                "KmsKeyId": {"Fn::GetAtt": [synth.logical_id(synth.stack.keys.secrets), "Arn"]},
                "SecretString": "{}",
            },
        )


# --- events ---------------------------------------------------------------------------------------


def test_event_bus_is_named_by_stage_encrypted_and_archived(synth: Synth) -> None:
    bus_id = synth.logical_id(synth.stack.events.bus)
    synth.template.has_resource_properties(
        "AWS::Events::EventBus",
        {"Name": physical_name(synth.stage, synth.catalog.bus_name), "KmsKeyIdentifier": Match.any_value()},
    )
    synth.template.has_resource_properties(
        "AWS::Events::Archive",
        {
            "SourceArn": {"Fn::GetAtt": [bus_id, "Arn"]},
            "EventPattern": {"source": list(synth.catalog.event_sources)},
            "KmsKeyIdentifier": Match.any_value(),
        },
    )


def test_every_catalog_rule_targets_its_function_with_retries_and_a_dlq(synth: Synth) -> None:
    # Given the catalog's rules, which are the routing stack's (the main stack has none)
    routing = synth.routing
    synth.template.resource_count_is("AWS::Events::Rule", 0)
    routing.template.resource_count_is("AWS::Events::Rule", len(synth.catalog.rules))
    main = synth.template.to_json()["Resources"]
    bus_name = main[synth.logical_id(synth.stack.events.bus)]["Properties"]["Name"]
    for fn, rule in synth.catalog.rules:
        # (the function the main stack creates, by its name there)
        function = main[synth.logical_id(synth.stack.functions.by_name[fn.name].function)]["Properties"]
        function_arn = _spelled_arn("lambda", f"function:{function['FunctionName']}")
        dlq_id = routing.logical_id(routing.stack.rules.dead_letter_queues[fn.rule_dlq(rule).name])
        # Then each is on the main stack's bus, named by the catalog, with its exact pattern, and delivers to the
        # function with the catalog's retries, dead-lettering to its own queue
        routing.template.has_resource_properties(
            "AWS::Events::Rule",
            {
                "Name": physical_name(synth.stage, rule.name),
                "EventBusName": bus_name,
                "EventPattern": rule.pattern,
                "Targets": [
                    Match.object_like(
                        {
                            "Arn": function_arn,
                            "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [dlq_id, "Arn"]}},
                            "RetryPolicy": {
                                "MaximumRetryAttempts": rule.max_retries,
                                "MaximumEventAgeInSeconds": rule.max_event_age_seconds,
                            },
                        }
                    )
                ],
            },
        )


def test_each_rule_may_invoke_its_function_and_write_to_its_dead_letter_queue_and_nothing_more(synth: Synth) -> None:
    routing = synth.routing
    resources = routing.template.to_json()["Resources"]
    permissions = routing.template.find_resources("AWS::Lambda::Permission")
    main = synth.template.to_json()["Resources"]
    # Then there is one invoke permission per rule, for EventBridge, from that rule only, on its function
    assert len(permissions) == len(synth.catalog.rules)
    for fn, rule in synth.catalog.rules:
        rule_id = routing.logical_id(routing.stack.rules.rules[rule.name])
        function_name = physical_name(synth.stage, fn.slug)
        [permission] = [
            p["Properties"]
            for p in permissions.values()
            if p["Properties"]["SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}
        ]
        assert permission == {
            "Action": "lambda:InvokeFunction",
            "FunctionName": _spelled_arn("lambda", f"function:{function_name}"),
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]},
        }
        # And the function it invokes asynchronously sends what fails every retry to its on-failure destination:
        # the EventInvokeConfig beside it in the main stack (cfn-lint-serverless ES1007 asks for one in the same
        # template, so this test makes that check across the two)
        deployed = synth.stack.functions.by_name[fn.name].function
        assert main[synth.logical_id(deployed)]["Properties"]["FunctionName"] == function_name
        synth.template.has_resource_properties(
            "AWS::Lambda::EventInvokeConfig",
            {
                "FunctionName": {"Fn::GetAtt": [synth.logical_id(deployed), "Arn"]},
                "DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}},
            },
        )
        # And only EventBridge, for that rule, may send to the rule's dead-letter queue, and only over TLS
        dlq_id = routing.logical_id(routing.stack.rules.dead_letter_queues[fn.rule_dlq(rule).name])
        [policy] = [
            r["Properties"]["PolicyDocument"]["Statement"]
            for r in resources.values()
            if r["Type"] == "AWS::SQS::QueuePolicy" and r["Properties"]["Queues"] == [{"Ref": dlq_id}]
        ]
        allowed = [statement for statement in policy if statement["Effect"] == "Allow"]
        assert [{k: v for k, v in statement.items() if k != "Sid"} for statement in allowed] == [
            {
                "Action": "sqs:SendMessage",
                "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}},
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Resource": {"Fn::GetAtt": [dlq_id, "Arn"]},
            }
        ]


def test_the_messaging_key_lets_the_rules_write_their_encrypted_dead_letters(synth: Synth) -> None:
    # Given the main stack's messaging key, which encrypts the routing stack's dead-letter queues by its alias
    key_id = synth.logical_id(synth.stack.keys.messaging)
    synth.template.has_resource_properties(
        "AWS::KMS::Alias",
        {"AliasName": messaging_key_alias(synth.stage), "TargetKeyId": {"Fn::GetAtt": [key_id, "Arn"]}},
    )
    # Then its policy lets EventBridge use it for exactly the catalog's rules, whose ARNs it spells out by name
    statements = synth.template.to_json()["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
    [statement] = [s for s in statements if s.get("Sid") == "AllowEventBridgeRulesToWriteDeadLetters"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert sorted(_as_list(statement["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]
    bus = physical_name(synth.stage, synth.catalog.bus_name)
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        _spelled_arn("events", f"rule/{bus}/{physical_name(synth.stage, rule.name)}") for _, rule in synth.catalog.rules
    ]
    # And those are the names the routing stack gives its rules
    names = {r["Properties"]["Name"] for r in synth.routing.template.find_resources("AWS::Events::Rule").values()}
    assert names == {physical_name(synth.stage, rule.name) for _, rule in synth.catalog.rules}


def test_the_routing_stack_holds_the_rules_their_queues_and_permissions_and_nothing_else(synth: Synth) -> None:
    # Four resources a rule: none of them may take room in the main stack's 500 resources
    moved = {"AWS::Events::Rule", "AWS::SQS::Queue", "AWS::SQS::QueuePolicy", "AWS::Lambda::Permission"}
    resources = synth.routing.template.to_json()["Resources"].values()
    assert {resource["Type"] for resource in resources} == moved
    assert len(resources) == 4 * len(synth.catalog.rules)
    synth.template.resource_count_is("AWS::Events::Rule", 0)
    main_queues = {q["Properties"]["QueueName"] for q in synth.template.find_resources("AWS::SQS::Queue").values()}
    assert not main_queues & {physical_name(synth.stage, queue.name) for queue in synth.catalog.rule_queues}
    main_permissions = synth.template.find_resources("AWS::Lambda::Permission").values()
    assert not [p for p in main_permissions if p["Properties"]["Principal"] == "events.amazonaws.com"]


def test_every_stream_trigger_reads_its_tables_stream_filtered_bisected_and_with_a_failure_queue(synth: Synth) -> None:
    # Given the catalog's stream triggers (the webhook publisher on the delivery ledger)
    assert synth.catalog.streams, "the outbox publisher reads a stream"
    mappings = len(synth.catalog.streams) + len(synth.catalog.queue_triggers)  # queue triggers: test_infra_work_queues
    synth.template.resource_count_is("AWS::Lambda::EventSourceMapping", mappings)
    for fn, trigger in synth.catalog.streams:
        deployed = synth.stack.functions.by_name[fn.name]
        table_id = synth.logical_id(synth.stack.data.tables[trigger.table])
        queue_id = synth.logical_id(synth.stack.data.queues[fn.failure_queue.name])
        # Then the table streams new images
        synth.template.has_resource_properties(
            "AWS::DynamoDB::Table", {"StreamSpecification": {"StreamViewType": "NEW_IMAGE"}}
        )
        # And the function reads that stream with the catalog's filter, batch, retries and age, bisecting
        # failed batches, reporting item failures, and sending what never succeeds to its own queue
        synth.template.has_resource_properties(
            "AWS::Lambda::EventSourceMapping",
            {
                "FunctionName": {"Ref": synth.logical_id(deployed.function)},
                "EventSourceArn": {"Fn::GetAtt": [table_id, "StreamArn"]},
                "StartingPosition": "TRIM_HORIZON",
                "BatchSize": trigger.batch_size,
                "BisectBatchOnFunctionError": True,
                "MaximumRetryAttempts": trigger.max_retries,
                "MaximumRecordAgeInSeconds": trigger.max_record_age_seconds,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "FilterCriteria": {"Filters": [{"Pattern": json.dumps(trigger.filter_pattern, separators=(",", ":"))}]},
                "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}},
            },
        )
        # And its role may read that one stream, and nothing else of the table
        statements = _policy_statements(synth, deployed.role)
        stream_reads = [s for s in statements if "dynamodb:GetRecords" in _as_list(s["Action"])]
        assert [s["Resource"] for s in stream_reads] == [{"Fn::GetAtt": [table_id, "StreamArn"]}]


def test_every_catalog_schedule_invokes_its_function_with_retries_and_a_dlq(synth: Synth) -> None:
    schedules = [(fn, schedule) for fn in synth.catalog.functions for schedule in fn.schedules]
    synth.template.resource_count_is("AWS::Scheduler::Schedule", len(schedules))
    for fn, schedule in schedules:
        function_id = synth.logical_id(synth.stack.functions.by_name[fn.name].function)
        dlq_id = synth.logical_id(synth.stack.data.queues[fn.failure_queue.name])
        synth.template.has_resource_properties(
            "AWS::Scheduler::Schedule",
            {
                "Name": physical_name(synth.stage, schedule.name),
                "ScheduleExpression": schedule.expression,
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "Target": Match.object_like(
                    {
                        "Arn": {"Fn::GetAtt": [function_id, "Arn"]},
                        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [dlq_id, "Arn"]}},
                        "RetryPolicy": Match.object_like({"MaximumRetryAttempts": Match.any_value()}),
                    }
                ),
            },
        )


def test_the_test_catalog_really_exercises_rules_schedules_and_json_bodies(prod_test_catalog: Synth) -> None:
    # Guards the guard: if the test catalog lost these, the checks above would pass vacuously.
    catalog = prod_test_catalog.catalog
    assert catalog.rules
    assert any(fn.schedules for fn in catalog.functions)
    assert any(route.json_body for _, route in catalog.routes)


# --- observability and outputs ------------------------------------------------------------------------


def _alarm_topic_arn(synth: Synth) -> Any:
    """The topic's ARN as the monitoring stack writes it: built from the name the main stack gives the topic."""
    arn = synth.monitoring.stack.resolve(synth.monitoring.stack.monitoring.topic.topic_arn)
    topic_name = _resource(synth, synth.stack.observability.topic)["Properties"]["TopicName"]
    assert arn == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":sns:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":{topic_name}",
            ],
        ]
    }
    return arn


def test_functions_and_api_have_alarms_to_the_encrypted_topic(synth: Synth) -> None:
    # Given the alarms, which live in the monitoring stack and name what they watch, and the main stack's resources
    alarms = [a["Properties"] for a in synth.monitoring.template.find_resources("AWS::CloudWatch::Alarm").values()]
    main = synth.template.to_json()["Resources"]
    topic_arn = [_alarm_topic_arn(synth)]
    assert all(alarm["AlarmActions"] == topic_arn for alarm in alarms)
    for fn in synth.catalog.functions:
        deployed = synth.stack.functions.by_name[fn.name]
        function_name = main[synth.logical_id(deployed.function)]["Properties"]["FunctionName"]
        log_group_name = main[synth.logical_id(deployed.log_group)]["Properties"]["LogGroupName"]
        # Then there is one alarm per function over its Errors, its Throttles and its ERROR log lines (an incident
        # answered without failing raises no Errors), of the function the main stack creates under that name
        metric_name = f"{fn.name.title().replace('_', '')}ErrorLogLines"
        watched = [
            {
                (stat["Metric"]["MetricName"], json.dumps(stat["Metric"].get("Dimensions", []), sort_keys=True))
                for query in a.get("Metrics", [])
                if (stat := query.get("MetricStat"))
            }
            for a in alarms
        ]
        dimensions = json.dumps([{"Name": "FunctionName", "Value": function_name}], sort_keys=True)
        assert any(
            {("Errors", dimensions), ("Throttles", dimensions), (metric_name, "[]")} <= metrics for metrics in watched
        ), fn.name
        # And the ERROR lines are counted on the log group the main stack creates for the function
        synth.monitoring.template.has_resource_properties(
            "AWS::Logs::MetricFilter",
            {
                "LogGroupName": log_group_name,
                "FilterPattern": '{ $.level = "ERROR" }',
                "MetricTransformations": [
                    {"MetricNamespace": METRICS_NAMESPACE, "MetricName": metric_name, "MetricValue": "1"}
                ],
            },
        )
    api_name = _resource(synth, synth.stack.api.rest_api)["Properties"]["Name"]
    api_metrics = {
        (a.get("MetricName"), a.get("ExtendedStatistic"))
        for a in alarms
        if a.get("Namespace") == "AWS/ApiGateway" and a["Dimensions"] == [{"Name": "ApiName", "Value": api_name}]
    }
    assert {("5XXError", None), ("Latency", "p95")} <= api_metrics
    synth.template.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [synth.logical_id(synth.stack.keys.alarms), "Arn"]}}
    )
    synth.monitoring.template.resource_count_is("AWS::CloudWatch::Dashboard", 1)


def test_the_monitoring_stack_holds_alarms_filters_and_the_dashboard_and_nothing_else(synth: Synth) -> None:
    # They grow with every function and queue: none of them may take room in the main stack's 500 resources
    moved = {"AWS::CloudWatch::Alarm", "AWS::Logs::MetricFilter", "AWS::CloudWatch::Dashboard"}
    assert {resource["Type"] for resource in synth.monitoring.template.to_json()["Resources"].values()} == moved
    for resource_type in moved:
        synth.template.resource_count_is(resource_type, 0)
        synth.schemas.template.resource_count_is(resource_type, 0)


def test_stack_outputs(synth: Synth) -> None:
    outputs = synth.template.to_json()["Outputs"]
    # The API's own outputs (the token endpoint, each app client's id) carry the construct path in their ids
    own = {key for key in outputs if key.startswith(("ApiTokenEndpoint", "ApiAppClient"))}
    assert set(outputs) - own == {"ApiUrl", "UserPoolId", "UserPoolClientId", "EventBusName"}
    assert len(own) == 1 + len(load_api_clients().clients)
    assert outputs["EventBusName"]["Value"] == {"Ref": synth.logical_id(synth.stack.events.bus)}
    # (the API's URL: its custom domain when the stage has one, tests/infra/test_infra_access.py)
    assert outputs["ApiUrl"]["Value"] == synth.stack.resolve(synth.stack.api.url)
