"""Where the nurture clock resumes: one contract, two stores (the DynamoDB adapter over moto and the in-memory
fake), and the hourly `lead_nurture` function resuming across runs through the DynamoDB one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import boto3
import pytest

from local_runtime.lambda_events import LocalLambdaContext
from local_runtime.provision import Provisioned
from shared.adapters.dynamodb_lead_nurture import NURTURE_PK, NURTURE_SK, DynamoDbNurtureCursors
from shared.catalog import LEADS, physical_name
from shared.leads.capture import LeadCapture
from shared.leads.model import Stage
from shared.leads.nurture import NurtureCursors
from tests.integration.conftest import STAGE, handler_module, only_table
from tests.lead_fakes import InMemoryNurtureCursors

TABLE = physical_name(STAGE, LEADS.name)


@pytest.fixture(params=["dynamodb", "in-memory"])
def cursors(request: pytest.FixtureRequest) -> Iterator[NurtureCursors]:
    if request.param == "in-memory":
        yield InMemoryNurtureCursors()
        return
    with only_table(LEADS) as client:
        yield DynamoDbNurtureCursors(client, TABLE)


def test_a_clock_that_never_ran_has_no_cursors(cursors: NurtureCursors) -> None:
    assert cursors.read() == {}


def test_saved_cursors_read_back_per_stage(cursors: NurtureCursors) -> None:
    # When the clock saves where it stopped in each stage
    cursors.save({Stage.MQL: "c-0042", Stage.LEAD: "c-0007"})
    # Then they read back as saved
    assert cursors.read() == {Stage.MQL: "c-0042", Stage.LEAD: "c-0007"}


def test_the_last_save_wins_whole(cursors: NurtureCursors) -> None:
    # Given cursors for both stages
    cursors.save({Stage.MQL: "c-0042", Stage.LEAD: "c-0007"})
    # When a later save names only one stage (the other's pass started over)
    cursors.save({Stage.MQL: "c-0043"})
    # Then only what it saved is kept
    assert cursors.read() == {Stage.MQL: "c-0043"}


def test_a_stage_this_version_does_not_know_is_left_out() -> None:
    with only_table(LEADS) as client:
        # Given the cursors item names a stage this version has no nurture clock for
        client.put_item(
            TableName=TABLE,
            Item={
                "pk": {"S": NURTURE_PK},
                "sk": {"S": NURTURE_SK},
                "cursors": {"M": {"MQL": {"S": "c-1"}, "Nurture": {"S": "c-2"}}},
            },
        )
        # Then it reads the stages it knows
        assert DynamoDbNurtureCursors(client, TABLE).read() == {Stage.MQL: "c-1"}


@dataclass
class Budgeted(LocalLambdaContext):
    """A Lambda context whose time runs out after `leads` checks: a run with time for that many leads."""

    leads: int = 0
    _checks: int = field(default=0, repr=False)

    def get_remaining_time_in_millis(self) -> int:
        self._checks += 1
        return 60_000 if self._checks <= self.leads else 1_000


def test_the_hourly_function_resumes_where_its_last_run_stopped(aws: Provisioned) -> None:
    # Given three Leads in the lead table
    nurture = handler_module("lead_nurture")
    ids = sorted(
        str(nurture.service.capture(LeadCapture(f"p{n}@other.io", "web form", job_title="Analyst")).contact_id)
        for n in range(3)
    )
    # When the function runs twice with time for two leads each
    first = nurture.handler({}, Budgeted("lead-nurture", leads=2))
    second = nurture.handler({}, Budgeted("lead-nurture", leads=2))
    # Then the first rescored the first two, and the second the third and then the first again
    assert [(s["rescored"], s["remaining"], s["complete"]) for s in (first, second)] == [(2, 1, 0), (2, 1, 0)]
    stored = DynamoDbNurtureCursors(boto3.client("dynamodb", region_name="us-east-1"), TABLE)
    assert stored.read() == {Stage.LEAD: ids[0]}
