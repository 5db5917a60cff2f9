"""Session fixtures for the infra tier: each stage's app (its main, routing, schemas and monitoring stacks) is
synthesized once, with cdk-nag applied, and every test reads the same templates, annotations and cloud assembly."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import pytest

# jsii starts its Node runtime on the first aws_cdk import; Node 20's end-of-life banner is noise here.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from aws_cdk import App, Stack
from aws_cdk.assertions import Annotations, Template

from infra import RevOpsHubMonitoringStack, RevOpsHubRoutingStack, RevOpsHubSchemasStack, RevOpsHubStack, build_app
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

# The test catalog adds to the real one a rule-and-schedule consumer of its own and a
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


S = TypeVar("S", bound=Stack)


@dataclass(frozen=True)
class StackSynth(Generic[S]):
    """One synthesized stack: its template, its annotations (cdk-nag's findings among them) and its file."""

    stack: S
    template: Template
    annotations: Annotations
    template_path: Path

    def logical_id(self, construct: object) -> str:
        """Logical id of an L2 construct's CloudFormation resource."""
        return str(self.stack.resolve(construct.node.default_child.logical_id))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Synth:
    """A stage's stacks. `stack`, `template`, `annotations` and `template_path` are the main stack's."""

    stage: str
    catalog: Catalog
    main: StackSynth[RevOpsHubStack]
    routing: StackSynth[RevOpsHubRoutingStack]
    schemas: StackSynth[RevOpsHubSchemasStack]
    monitoring: StackSynth[RevOpsHubMonitoringStack]
    assembly_dir: Path

    @property
    def stacks(self) -> tuple[StackSynth[Any], ...]:
        """Every stack of the stage, in deploy order."""
        return (self.main, self.routing, self.schemas, self.monitoring)

    @property
    def stack(self) -> RevOpsHubStack:
        return self.main.stack

    @property
    def template(self) -> Template:
        return self.main.template

    @property
    def annotations(self) -> Annotations:
        return self.main.annotations

    @property
    def template_path(self) -> Path:
        return self.main.template_path

    def logical_id(self, construct: object) -> str:
        """Logical id of an L2 construct's CloudFormation resource in the main stack."""
        return self.main.logical_id(construct)


def _synthesize(outdir: Path, stage: str, catalog: Catalog) -> Synth:
    # cdk.json makes error annotations fail synthesis (so `cdk synth` stops on a nag error); here they
    # must stay annotations, so the tests can list every finding instead of dying on the first.
    context = cdk_json_context() | {"stage": stage, "@aws-cdk/core:annotationsInValidationReport": False}
    app = App(outdir=str(outdir), context=context)
    stacks = build_app(app, catalog=catalog)
    # The first Annotations.from_stack synthesizes the app, running the nag aspects; each later one synthesizes it
    # again (aspects run once per construct, so no finding is added twice). Templates and the assembly are read
    # from the latest synthesis.
    annotations = {stack.stack_name: Annotations.from_stack(stack) for stack in stacks}
    assembly_dir = Path(app.synth().directory)

    def synthesized(stack: S) -> StackSynth[S]:
        return StackSynth(
            stack, Template.from_stack(stack), annotations[stack.stack_name], assembly_dir / stack.template_file
        )

    return Synth(
        stage,
        catalog,
        synthesized(stacks.main),
        synthesized(stacks.routing),
        synthesized(stacks.schemas),
        synthesized(stacks.monitoring),
        assembly_dir,
    )


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The deployable dev stacks from the real catalog."""
    return _synthesize(tmp_path_factory.mktemp("cdk-dev"), "dev", CATALOG)


@pytest.fixture(scope="session")
def prod_test_catalog(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The prod stacks from the test catalog: rules, schedules, JSON bodies and prod-only settings."""
    return _synthesize(tmp_path_factory.mktemp("cdk-prod"), "prod", TEST_CATALOG)


@pytest.fixture(scope="session", params=["dev", "prod_test_catalog"])
def synth(request: pytest.FixtureRequest) -> Synth:
    """Each synthesized stage in turn, for checks that hold for every stage and catalog."""
    result: Synth = request.getfixturevalue(request.param)
    return result
