"""Session fixtures for the infra tier: each stack is synthesized once, with cdk-nag applied, and every
test reads the same template, annotations and cloud assembly."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

# jsii starts its Node runtime on the first aws_cdk import; Node 20's end-of-life banner is noise here.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from aws_cdk import App
from aws_cdk.assertions import Annotations, Template

from infra import RevOpsHubStack, build_app
from infra.app import cdk_json_context
from shared.catalog import (
    CATALOG,
    WEBHOOK_DELIVERIES,
    Catalog,
    Function,
    Group,
    Route,
    Rule,
    Schedule,
    ThrottleDomain,
)

# The real catalog has no rules or schedules yet; this one adds a rule-and-schedule consumer and a
# JSON-body route so those code paths are synthesized, nagged and linted too. The consumer has no
# routes because one function invoked by both API Gateway and EventBridge trips cfn-lint WS1002.
CONTACT_SYNC = Function(
    name="contact_sync",
    description="Test-only consumer of canonical webhook events with a nightly reconciliation",
    memory_mb=256,
    timeout_seconds=30,
    rules=(
        Rule(
            name="contact-sync-on-contact-event",
            description="Contact events from any vendor",
            pattern={"source": ["revops.webhooks"], "detail-type": [{"prefix": "contact."}]},
            max_retries=3,
            max_event_age_seconds=900,
        ),
    ),
    schedules=(
        Schedule(name="contact-sync-nightly", description="Reconcile contacts", expression="cron(0 3 * * ? *)"),
    ),
    tables={WEBHOOK_DELIVERIES.name: "read"},
)
REPLAY_API = Function(
    name="webhook_replay_api",
    description="Test-only: replays one delivery",
    routes=(
        Route(
            method="POST",
            path="/api/v1/webhooks/deliveries/{delivery_id}/replay",
            operation="replay_delivery",
            summary="Replay a delivery",
            domain=ThrottleDomain.ADMIN,
            groups=frozenset({Group.ADMIN}),
            json_body=True,
        ),
    ),
    tables={WEBHOOK_DELIVERIES.name: "read_write"},
    publishes_events=True,
)
TEST_CATALOG = dataclasses.replace(CATALOG, functions=(*CATALOG.functions, CONTACT_SYNC, REPLAY_API))


@dataclass(frozen=True)
class Synth:
    stage: str
    catalog: Catalog
    stack: RevOpsHubStack
    template: Template
    annotations: Annotations
    assembly_dir: Path

    @property
    def template_path(self) -> Path:
        return self.assembly_dir / self.stack.template_file

    def logical_id(self, construct: object) -> str:
        """Logical id of an L2 construct's CloudFormation resource."""
        return str(self.stack.resolve(construct.node.default_child.logical_id))  # type: ignore[attr-defined]


def _synthesize(outdir: Path, stage: str, catalog: Catalog) -> Synth:
    # cdk.json makes error annotations fail synthesis (so `cdk synth` stops on a nag error); here they
    # must stay annotations, so the tests can list every finding instead of dying on the first.
    context = cdk_json_context() | {"stage": stage, "@aws-cdk/core:annotationsInValidationReport": False}
    app = App(outdir=str(outdir), context=context)
    stack = build_app(app, catalog=catalog)
    # Annotations.from_stack forces the one synthesis (running the nag aspects); the template and the
    # assembly below are read from that same, cached synthesis.
    annotations = Annotations.from_stack(stack)
    template = Template.from_stack(stack)
    assembly = app.synth()
    return Synth(stage, catalog, stack, template, annotations, Path(assembly.directory))


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The deployable dev stack from the real catalog."""
    return _synthesize(tmp_path_factory.mktemp("cdk-dev"), "dev", CATALOG)


@pytest.fixture(scope="session")
def prod_test_catalog(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """A prod stack from the test catalog: rules, schedules, JSON bodies and prod-only settings."""
    return _synthesize(tmp_path_factory.mktemp("cdk-prod"), "prod", TEST_CATALOG)


@pytest.fixture(scope="session", params=["dev", "prod_test_catalog"])
def synth(request: pytest.FixtureRequest) -> Synth:
    """Each synthesized stack in turn, for checks that hold for every stage and catalog."""
    result: Synth = request.getfixturevalue(request.param)
    return result
