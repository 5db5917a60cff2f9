"""Guard rails: cdk-nag (AwsSolutions + Serverless) and cfn-lint (+ cfn-lint-serverless) report nothing on any
stack of a stage, and every suppression is a reviewed one on a named resource with a reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_cdk.assertions import Match
from cfnlint.api import ManualArgs, lint_file

if TYPE_CHECKING:
    from tests.infra.conftest import Synth

NAG_FINDING = Match.string_like_regexp(r"^(AwsSolutions|Serverless)-")
ANY_MESSAGE = Match.string_like_regexp(r".*")
LINT_ARGS = ManualArgs(append_rules=["cfn_lint_serverless.rules"], regions=["us-east-1", "eu-west-1"])

# Adding a suppression means adding it here too, so each one is reviewed once.
REVIEWED_NAG_SUPPRESSIONS = {
    "AwsSolutions-IAM5",  # X-Ray "*" on function roles; execution-log prefixes on the API Gateway role
    "AwsSolutions-SQS3",  # the queues are the dead-letter queues
    "Serverless-SQSRedrivePolicy",  # same
    "Serverless-LambdaDLQ",  # on-failure destinations instead of DeadLetterConfig
    "Serverless-LambdaEventSourceMappingDestination",  # an SQS mapping's failures go to its queue's redrive DLQ
    "AwsSolutions-SMG4",  # vendor-issued secrets rotate at the vendor
    "AwsSolutions-APIG4",  # webhook routes: signature-authenticated in the function
    "AwsSolutions-COG4",  # same
}
REVIEWED_LINT_IGNORES = {
    "ES6000",  # the queues are the dead-letter queues
    "ES1001",  # an SQS event source mapping takes no on-failure destination: its queue's redrive policy does
    "W3005",  # CDK's DependsOn on a function's whole role construct
    "ES1007",  # a rule's invoke permission (routing stack): its function's EventInvokeConfig is in the main stack
}


def _messages(found: list[Any]) -> list[str]:
    return [f"{entry.id}: {entry.entry.data}" for entry in found]


def _metadata(synth: Synth) -> list[tuple[str, dict[str, Any]]]:
    """Every resource's metadata, in every stack of the stage (logical ids prefixed with the stack's name)."""
    return [
        (f"{stack.stack.stack_name}/{logical_id}", resource.get("Metadata", {}))
        for stack in synth.stacks
        for logical_id, resource in stack.template.to_json()["Resources"].items()
    ]


def test_every_stack_is_checked(synth: Synth) -> None:
    # Guards the guard: the checks below loop over synth.stacks, which must be every stack of the app.
    stack_names = {stack.stack.stack_name for stack in synth.stacks}
    manifest = json.loads((synth.assembly_dir / "manifest.json").read_text())
    templates = {
        artifact["properties"]["templateFile"]
        for artifact in manifest["artifacts"].values()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    assert templates == {f"{name}.template.json" for name in stack_names}
    assert {stack.template_path for stack in synth.stacks} == {synth.assembly_dir / name for name in templates}


def test_nag_finds_no_unsuppressed_errors(synth: Synth) -> None:
    # Given the stacks synthesized with AwsSolutionsChecks and ServerlessChecks as aspects
    # When their error annotations are read
    errors = [error for stack in synth.stacks for error in stack.annotations.find_error("*", NAG_FINDING)]
    # Then every finding is either fixed or suppressed
    assert _messages(errors) == []


def test_nag_finds_no_unsuppressed_warnings(synth: Synth) -> None:
    warnings = [warning for stack in synth.stacks for warning in stack.annotations.find_warning("*", NAG_FINDING)]
    assert _messages(warnings) == []


def test_cdk_itself_reports_no_errors_or_warnings(synth: Synth) -> None:
    # Deprecated props and CDK validation problems surface as annotations too.
    found = [
        message
        for stack in synth.stacks
        for message in stack.annotations.find_error("*", ANY_MESSAGE) + stack.annotations.find_warning("*", ANY_MESSAGE)
    ]
    assert _messages(found) == []


def test_every_nag_suppression_is_reviewed_named_and_reasoned(synth: Synth) -> None:
    # Given every cdk-nag suppression in the template (they sit on the suppressed resources themselves)
    suppressions = [
        (logical_id, rule)
        for logical_id, metadata in _metadata(synth)
        for rule in metadata.get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    # Then there are some, only reviewed rules are suppressed, each with a real reason,
    # and wildcard (IAM5) suppressions name exactly the wildcards they accept
    assert suppressions
    for logical_id, rule in suppressions:
        assert rule["id"] in REVIEWED_NAG_SUPPRESSIONS, f"{logical_id}: unreviewed suppression {rule['id']}"
        assert len(rule["reason"]) >= 60, f"{logical_id}: {rule['id']} needs a project-specific reason"
        if rule["id"] == "AwsSolutions-IAM5":
            assert rule.get("applies_to"), f"{logical_id}: IAM5 suppressed without applies_to"
    # And no stack-wide suppression exists
    for stack in synth.stacks:
        assert "cdk_nag" not in stack.template.to_json().get("Metadata", {}), stack.stack.stack_name


def test_cfn_lint_ignores_are_reviewed(synth: Synth) -> None:
    ignored = {
        check
        for _, metadata in _metadata(synth)
        for check in metadata.get("cfn-lint", {}).get("config", {}).get("ignore_checks", [])
    }
    assert ignored <= REVIEWED_LINT_IGNORES


def test_the_async_destination_check_is_ignored_only_where_the_destination_is_in_the_main_stack(synth: Synth) -> None:
    # cfn-lint-serverless ES1007 pairs an asynchronous invoke permission with an EventInvokeConfig in the same
    # template; the rules' permissions are the routing stack's, their functions' EventInvokeConfigs the main stack's
    # (test_infra_catalog checks each one there). Anywhere else, the check stands.
    ignoring = {
        (stack.stack.stack_name, resource["Type"], resource["Properties"].get("Principal"))
        for stack in synth.stacks
        for resource in stack.template.to_json()["Resources"].values()
        if "ES1007" in resource.get("Metadata", {}).get("cfn-lint", {}).get("config", {}).get("ignore_checks", [])
    }
    expected = {(synth.routing.stack.stack_name, "AWS::Lambda::Permission", "events.amazonaws.com")}
    assert ignoring == (expected if synth.catalog.rules else set())


def test_cfn_lint_with_serverless_rules_reports_no_errors_or_warnings(synth: Synth) -> None:
    # Given each synthesized template file
    # When cfn-lint runs with the cfn-lint-serverless rules appended
    matches = [(stack, m) for stack in synth.stacks for m in lint_file(stack.template_path, LINT_ARGS)]
    # Then only informational findings (I*) remain
    problems = [
        f"{stack.stack.stack_name} {m.rule.id} {m.path_string}: {m.message}"
        for stack, m in matches
        if not m.rule.id.startswith("I")
    ]
    assert problems == []


def test_cfn_lint_serverless_rules_are_really_loaded(tmp_path: Path) -> None:
    # Given a Lambda function with default memory, timeout, tracing and logs
    template = tmp_path / "bad.json"
    template.write_text(
        json.dumps(
            {
                "Resources": {
                    "Fn": {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {
                            "Role": "arn:aws:iam::123456789012:role/example",
                            "Runtime": "python3.13",
                            "Handler": "index.handler",
                            "Code": {"ZipFile": "def handler(event, context): pass"},
                        },
                    }
                }
            }
        )
    )
    # When it is linted the same way
    found = {match.rule.id for match in lint_file(template, LINT_ARGS)}
    # Then the serverless rules speak, so the clean result above means something
    assert {"WS1000", "ES1005", "ES1006"} <= found
