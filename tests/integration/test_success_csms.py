"""The account's CSM read from the handoff table (`DynamoDbAccountCsms`), as the success notifier reads it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shared.adapters.dynamodb_handoffs import DynamoDbHandoffRepository
from shared.adapters.dynamodb_success_csms import DynamoDbAccountCsms
from shared.catalog import physical_name
from shared.catalog.handoffs import HANDOFFS
from shared.handoffs.model import HandoffStatus
from shared.handoffs.ports import HandoffChange, LeadLock
from tests.integration.conftest import STAGE, only_table
from tests.success_fakes import customer_handoff

TABLE = physical_name(STAGE, HANDOFFS.name)


@pytest.fixture
def handoffs_table() -> Iterator[Any]:
    with only_table(HANDOFFS) as client:
        yield client


def test_the_csm_of_an_account_is_read_from_its_customer_handoff_in_the_handoff_table(handoffs_table: Any) -> None:
    # Given an account a CSM onboarded, one whose handoff is assigned, and one whose handoff waits in a queue
    handoffs = DynamoDbHandoffRepository(handoffs_table, TABLE)
    onboarded = customer_handoff("acct-1", "csm-emma-johansson", HandoffStatus.ACCEPTED)
    handoffs.commit(HandoffChange(onboarded, lead_lock=LeadLock.CLAIM, onboarded=True))
    assigned = customer_handoff("acct-2", "csm-grace-lee", HandoffStatus.ASSIGNED)
    handoffs.commit(HandoffChange(assigned, lead_lock=LeadLock.CLAIM))
    handoffs.commit(HandoffChange(customer_handoff("acct-3", None, HandoffStatus.QUEUED), lead_lock=LeadLock.CLAIM))

    # When the notifier asks for each account's CSM
    csms = DynamoDbAccountCsms(handoffs_table, TABLE)
    found = {tenant_id: csms.csm_of(tenant_id) for tenant_id in ("acct-1", "acct-2", "acct-3", "acct-4")}

    # Then the onboarding CSM, the assignee, and none for the queued handoff and the account without one
    assert found == {"acct-1": "csm-emma-johansson", "acct-2": "csm-grace-lee", "acct-3": None, "acct-4": None}
