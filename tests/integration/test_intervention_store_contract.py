"""One contract, two intervention stores: the DynamoDB adapter (over moto) and the in-memory fake behave alike.

The contract is `shared.success.ports.InterventionStore`: an intervention opened once per account and playbook
while open (its `OPEN#<playbook>` marker and the intervention written together, or neither), read back, listed
per account or per status across accounts, the due ones found, closed once. Where its docstrings are silent,
these tests pin what both implementations do: datetimes come back in UTC and absent fields as None; opening
again an intervention whose id is stored (closed: its marker gone; a retry of the cause that opened it) is the
stored one, nothing written, no marker left; an account's listing is newest opened first (ties by id,
descending); a status listing's cursor is None exactly when nothing follows, a cursor it did not make (or made
by another listing) InvalidInput naming `cursor`, a limit under 1 InvalidInput naming `limit`; listing every
account without a status is a ValueError naming `status`; closing one that is not open (closed, never opened)
is False, nothing written; an open intervention whose marker does not name it (which the stores never leave)
cannot be closed: RuntimeError, nothing written.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from shared.adapters.dynamodb_success import WRITE_ATTEMPTS, DynamoDbHealthStore, WriteConflict
from shared.errors import InvalidInput
from shared.leads.ports import TooLargeToStore
from shared.success.interventions import Intervention, InterventionStatus, Outcome
from shared.success.model import PlaybookTrigger
from shared.success.ports import SuccessStore
from tests.integration import success_store_fixtures as fixtures
from tests.integration.dynamodb_doubles import CancelledTransactions, SmallPages, WithoutItems, counted_calls
from tests.integration.success_store_fixtures import ACME, EAST, TABLE, all_pages, cursor_of, stored_item
from tests.success_fakes import InMemoryHealthStore

# The success store's fixtures: `store` (both stores), `dynamo` (the adapter and its client), `no_backoff`.
success_table, store, dynamo, no_backoff = fixtures.success_table, fixtures.store, fixtures.dynamo, fixtures.no_backoff

OPENED = datetime(2026, 11, 20, 9, 0, 0, 250000, tzinfo=UTC)
OTHER = "acct-globex"
SPONSOR, TRAINING = "exec-sponsor", "training"
OPEN, CLOSED = InterventionStatus.OPEN, InterventionStatus.CLOSED


# ------------------------------------------------------------------------------------------------- builders


def opening(
    intervention_id: str = "iv-1",
    tenant_id: str = ACME,
    playbook: str = SPONSOR,
    opened_at: datetime = OPENED,
    evaluate_after: timedelta = timedelta(days=30),
    **changes: Any,
) -> Intervention:
    fields: dict[str, Any] = {
        "intervention_id": intervention_id,
        "tenant_id": tenant_id,
        "playbook": playbook,
        "trigger": PlaybookTrigger.CHURN_RISK,
        "reason": "health fell to at_risk",
        "opened_at": opened_at,
        "task_title": "Call Acme's executive sponsor",
        "task_due_at": opened_at + timedelta(days=2),
        "evaluate_at": opened_at + evaluate_after,
        "score_before": 3125,
        "band_before": "at_risk",
    }
    return Intervention(**{**fields, **changes})


def closing(intervention: Intervention, closed_at: datetime | None = None, **changes: Any) -> Intervention:
    fields: dict[str, Any] = {
        "status": CLOSED,
        "closed_at": closed_at or intervention.evaluate_at + timedelta(hours=3),
        "score_after": 5500,
        "band_after": "watch",
        "outcome": Outcome.IMPROVED,
    }
    return replace(intervention, **{**fields, **changes})


def ids(interventions: list[Intervention]) -> list[str]:
    return [one.intervention_id for one in interventions]


def every_page(
    store: SuccessStore, limit: int, tenant_id: str | None = None, status: InterventionStatus | None = None
) -> tuple[list[str], list[int]]:
    """Every intervention a listing gives, page by page (by id), and each page's size."""
    return all_pages(
        lambda cursor: store.interventions(tenant_id, status, cursor, limit), lambda page: ids(page.interventions)
    )


def drop_marker(store: SuccessStore, tenant_id: str, playbook: str) -> None:
    """Removes an open marker behind the store's back (a state its writes never leave)."""
    if isinstance(store, InMemoryHealthStore):
        del store.open_markers[(tenant_id, playbook)]
        return
    assert isinstance(store, DynamoDbHealthStore)
    store._client.delete_item(
        TableName=TABLE, Key={"pk": {"S": f"TENANT#{tenant_id}"}, "sk": {"S": f"OPEN#{playbook}"}}
    )


# -------------------------------------------------------------------------------------------------- opening


def test_opening_a_playbook_open_for_the_account_is_the_open_one(store: SuccessStore) -> None:
    # Given an intervention opened
    first = opening("iv-1")
    assert store.open_intervention(first) == first

    # When the same playbook is opened again for the account, for another cause (another id), later
    again = store.open_intervention(opening("iv-2", opened_at=OPENED + timedelta(days=1), reason="still at risk"))

    # Then the answer is the open one, and nothing is written
    assert again == first
    assert store.intervention(ACME, "iv-2") is None
    assert store.interventions(ACME).interventions == [first]
    # And opening the open one again (a retry of its cause) is the open one too, nothing written
    assert store.open_intervention(first) == first
    assert store.open_intervention(replace(first, reason="another reason")) == first
    assert store.interventions(ACME).interventions == [first]


def test_another_playbook_or_another_account_opens_its_own(store: SuccessStore) -> None:
    # Given an intervention of a playbook opened for an account
    first = store.open_intervention(opening("iv-1"))

    # When another playbook is opened for that account, and the same playbook for another account
    training = store.open_intervention(opening("iv-2", playbook=TRAINING))
    elsewhere = store.open_intervention(opening("iv-3", tenant_id=OTHER))

    # Then each is opened: three open interventions, each kept under its own account
    assert training == opening("iv-2", playbook=TRAINING)
    assert elsewhere == opening("iv-3", tenant_id=OTHER)
    assert sorted(ids(store.interventions(ACME).interventions)) == ["iv-1", "iv-2"]
    assert store.interventions(OTHER).interventions == [elsewhere]
    assert ids(store.interventions(status=OPEN).interventions) == ["iv-1", "iv-2", "iv-3"]
    assert store.intervention(ACME, "iv-1") == first
    assert store.intervention(OTHER, "iv-1") is None  # ids are read within their account
    assert store.intervention(OTHER, "iv-3") == elsewhere


def test_an_intervention_round_trips_exactly(store: SuccessStore) -> None:
    # Given a manual intervention without a score or band before, its times in another zone
    manual = opening(
        "iv-manual",
        trigger=PlaybookTrigger.MANUAL,
        requested_by="csm@example.com",
        score_before=None,
        band_before=None,
        opened_at=OPENED.astimezone(EAST),
        reason='café — "quoted" \\ \n text',
    )

    # When it is opened and read back
    opened = store.open_intervention(manual)
    read = store.intervention(ACME, "iv-manual")

    # Then it is as opened: every field, None ones None, its times in UTC, its enums enums
    assert read == opened == manual
    assert read is not None
    for moment in (read.opened_at, read.task_due_at, read.evaluate_at, opened.opened_at):
        assert moment.tzinfo == UTC
    assert (read.score_before, read.band_before, read.closed_at, read.score_after, read.outcome) == (None,) * 5
    assert read.requested_by == "csm@example.com"
    assert read.trigger is PlaybookTrigger.MANUAL
    assert read.status is OPEN
    assert read.reason == 'café — "quoted" \\ \n text'

    # When it is closed with a score of 0 after, in another zone, and read back
    closed = closing(read, closed_at=(OPENED + timedelta(days=31)).astimezone(EAST), score_after=0, band_after="")
    assert store.close_intervention(closed) is True
    after = store.intervention(ACME, "iv-manual")

    # Then it is as closed: 0 is a score (an int), the empty band a band, its closing time in UTC
    assert after == closed
    assert after is not None
    assert after.closed_at is not None
    assert after.closed_at.tzinfo == UTC
    assert after.score_after == 0
    assert type(after.score_after) is int
    assert after.band_after == ""
    assert after.status is CLOSED
    assert after.outcome is Outcome.IMPROVED

    # And large scores come back exact, as ints
    big = store.open_intervention(opening("iv-big", playbook=TRAINING, score_before=10**15 + 1))
    stored = store.intervention(ACME, "iv-big")
    assert stored == big
    assert stored is not None
    assert stored.score_before == 10**15 + 1
    assert type(stored.score_before) is int


# ------------------------------------------------------------------------------------------------- closing


def test_closing_removes_the_marker_so_the_playbook_opens_again(store: SuccessStore) -> None:
    # Given an open intervention
    first = store.open_intervention(opening("iv-1"))

    # When it is closed
    closed = closing(first)
    done = store.close_intervention(closed)

    # Then it is stored closed, and is no longer open
    assert done is True
    assert store.intervention(ACME, "iv-1") == closed
    assert store.interventions(ACME, OPEN).interventions == []
    assert store.interventions(status=OPEN).interventions == []
    # And its playbook can be opened again for the account (a new cause, a new id): a second intervention
    later = opening("iv-2", opened_at=OPENED + timedelta(days=40))
    assert store.open_intervention(later) == later
    assert store.interventions(ACME).interventions == [later, closed]
    # And the new one holds the playbook's marker now
    assert store.open_intervention(opening("iv-3", opened_at=OPENED + timedelta(days=41))) == later


def test_closing_again_is_false_and_changes_nothing(store: SuccessStore) -> None:
    # Given an intervention closed, and its playbook opened again since
    first = store.open_intervention(opening("iv-1"))
    closed = closing(first)
    assert store.close_intervention(closed) is True
    later = store.open_intervention(opening("iv-2", opened_at=OPENED + timedelta(days=40)))

    # When it is closed again, as before or with another outcome
    again = store.close_intervention(closed)
    other = store.close_intervention(closing(first, outcome=Outcome.WORSENED, score_after=1000))

    # Then False, nothing written: the closed one as first closed, the open one still open with its marker
    assert again is False
    assert other is False
    assert store.intervention(ACME, "iv-1") == closed
    assert store.interventions(ACME).interventions == [later, closed]
    assert store.open_intervention(opening("iv-3")) == later


def test_closing_one_never_opened_is_false(store: SuccessStore) -> None:
    # Given no intervention; When one is closed; Then False, nothing written
    assert store.close_intervention(closing(opening("iv-1"))) is False
    assert store.intervention(ACME, "iv-1") is None
    assert store.interventions(status=CLOSED).interventions == []


def test_a_retry_of_opening_a_closed_intervention_is_the_stored_one(store: SuccessStore) -> None:
    # Given an intervention opened then closed (its marker gone)
    first = store.open_intervention(opening("iv-1"))
    closed = closing(first)
    store.close_intervention(closed)

    # When it is opened again under its id (a retry of the cause that opened it)
    retried = store.open_intervention(first)

    # Then the answer is the stored one, closed, and nothing is written
    assert retried == closed
    assert store.interventions(ACME).interventions == [closed]
    assert store.interventions(status=OPEN).interventions == []
    # And no marker was written: the playbook opens for a new cause, and that one closes
    later = opening("iv-2", opened_at=OPENED + timedelta(days=40))
    assert store.open_intervention(later) == later
    assert store.close_intervention(closing(later)) is True


def test_an_open_intervention_whose_marker_is_gone_is_not_closed(store: SuccessStore) -> None:
    # Given an open intervention whose marker was removed behind the store's back
    first = store.open_intervention(opening("iv-1"))
    drop_marker(store, ACME, SPONSOR)
    # When it is closed; Then RuntimeError naming it, nothing written
    with pytest.raises(RuntimeError, match=r"iv-1.*open marker"):
        store.close_intervention(closing(first))
    assert store.intervention(ACME, "iv-1") == first


# ------------------------------------------------------------------------------------------------- listing


def test_an_accounts_interventions_newest_opened_first_with_a_status_filter(store: SuccessStore) -> None:
    # Given an account's interventions opened on different days (out of order), two at the same moment, some
    # closed, and another account's
    day = timedelta(days=1)
    opened = {
        "iv-d2": opening("iv-d2", playbook="p2", opened_at=OPENED + 2 * day),
        "iv-d0": opening("iv-d0", playbook="p0", opened_at=OPENED),
        "iv-d3": opening("iv-d3", playbook="p3", opened_at=OPENED + 3 * day),
        "iv-d1a": opening("iv-d1a", playbook="p1a", opened_at=OPENED + day),
        "iv-d1b": opening("iv-d1b", playbook="p1b", opened_at=(OPENED + day).astimezone(EAST)),
    }
    for one in opened.values():
        store.open_intervention(one)
    for closed_id in ("iv-d0", "iv-d2"):
        store.close_intervention(closing(opened[closed_id]))
    store.open_intervention(opening("iv-other", tenant_id=OTHER, opened_at=OPENED + 9 * day))

    # When they are listed, every status or one
    every = store.interventions(ACME)
    still_open = store.interventions(ACME, OPEN)
    closed = store.interventions(ACME, CLOSED)

    # Then the newest opened come first (ties by id, descending), each with its status
    assert ids(every.interventions) == ["iv-d3", "iv-d2", "iv-d1b", "iv-d1a", "iv-d0"]
    assert every.next_cursor is None
    assert [one.status for one in every.interventions] == [OPEN, CLOSED, OPEN, OPEN, CLOSED]
    assert ids(still_open.interventions) == ["iv-d3", "iv-d1b", "iv-d1a"]
    assert ids(closed.interventions) == ["iv-d2", "iv-d0"]
    # And page by page, each comes once, in the same order; a page ending with the last has no cursor
    assert every_page(store, 2, ACME) == (ids(every.interventions), [2, 2, 1])
    assert every_page(store, 1, ACME, OPEN) == (ids(still_open.interventions), [1, 1, 1])
    assert every_page(store, 5, ACME) == (ids(every.interventions), [5])
    assert every_page(store, 2, ACME, CLOSED) == (ids(closed.interventions), [2])
    # And an account without any has none
    assert store.interventions("acct-nobody") == store.interventions("acct-nobody", CLOSED)
    assert store.interventions("acct-nobody").interventions == []
    assert store.interventions("acct-nobody").next_cursor is None


def test_every_accounts_interventions_of_a_status(store: SuccessStore) -> None:
    # Given open interventions across accounts, due at different moments (opened out of that order)
    due = {"iv-o3": 30, "iv-o1": 10, "iv-o4": 40, "iv-o2": 20, "iv-o5": 50}
    for n, (intervention_id, days) in enumerate(due.items()):
        store.open_intervention(
            opening(
                intervention_id, f"acct-{n}", opened_at=OPENED + timedelta(days=n), evaluate_after=timedelta(days=days)
            )
        )
    # And closed ones, closed at different moments (closed out of that order)
    closed_days = {"iv-c2": 2, "iv-c4": 4, "iv-c1": 1, "iv-c3": 3}
    for intervention_id, days in closed_days.items():
        one = store.open_intervention(opening(intervention_id, f"acct-{intervention_id}"))
        store.close_intervention(closing(one, closed_at=OPENED + timedelta(days=100 + days)))

    # When every account's are listed by status
    open_ones = store.interventions(status=OPEN)
    closed_ones = store.interventions(status=CLOSED)

    # Then the open ones come the due first, the closed ones the latest closed first
    assert ids(open_ones.interventions) == ["iv-o1", "iv-o2", "iv-o3", "iv-o4", "iv-o5"]
    assert ids(closed_ones.interventions) == ["iv-c4", "iv-c3", "iv-c2", "iv-c1"]
    assert all(one.status is OPEN for one in open_ones.interventions)
    assert all(one.status is CLOSED for one in closed_ones.interventions)
    assert open_ones.next_cursor is None
    assert closed_ones.next_cursor is None
    # And page by page each comes once, in the same order; a page ending with the last has no cursor
    assert every_page(store, 2, status=OPEN) == (ids(open_ones.interventions), [2, 2, 1])
    assert every_page(store, 2, status=CLOSED) == (ids(closed_ones.interventions), [2, 2])
    assert every_page(store, 1, status=CLOSED) == (ids(closed_ones.interventions), [1, 1, 1, 1])
    assert every_page(store, 5, status=OPEN) == (ids(open_ones.interventions), [5])


def test_listing_every_account_needs_a_status(store: SuccessStore) -> None:
    with pytest.raises(ValueError, match="status"):
        store.interventions()


def test_a_cursor_of_another_listing_is_invalid_input(store: SuccessStore) -> None:
    # Given cursors of an account's listing, of the open ones' and of the closed ones'
    for n in range(3):
        one = store.open_intervention(opening(f"iv-{n}", playbook=f"p{n}", opened_at=OPENED + timedelta(days=n)))
        store.open_intervention(opening(f"iv-other-{n}", OTHER, playbook=f"p{n}"))
        store.close_intervention(closing(one))
    store.open_intervention(opening("iv-open-1", playbook="p-open-1"))
    store.open_intervention(opening("iv-open-2", playbook="p-open-2"))
    account = store.interventions(ACME, limit=1).next_cursor
    opened = store.interventions(status=OPEN, limit=1).next_cursor
    closed = store.interventions(status=CLOSED, limit=1).next_cursor
    assert account
    assert opened
    assert closed

    # When each is given to another listing; Then InvalidInput naming the cursor
    for listing, cursor in [
        (lambda c: store.interventions(OTHER, cursor=c), account),  # another account's
        (lambda c: store.interventions(status=OPEN, cursor=c), account),
        (lambda c: store.interventions(status=CLOSED, cursor=c), opened),  # another status's
        (lambda c: store.interventions(status=OPEN, cursor=c), closed),
        (lambda c: store.interventions(ACME, cursor=c), opened),
    ]:
        with pytest.raises(InvalidInput, match="cursor"):
            listing(cursor)


_POSITION = {"intervention_status": "open", "status_sort": "2026-12-20T09:00:00.250000+00:00#iv-1"}
_POSITION |= {"pk": f"TENANT#{ACME}", "sk": "INTERVENTION#iv-1"}


@pytest.mark.parametrize(
    "cursor",
    [
        *fixtures.GARBLED_CURSORS,
        cursor_of("text"),
        cursor_of({"tenant": ACME, "before": 3}),
        cursor_of({"tenant": ACME, "before": ""}),
        cursor_of({"tenant": ACME, "before": "x", "more": 1}),
        cursor_of({**_POSITION, "sk": "INTERVENTION#iv-2"}),
        cursor_of({**_POSITION, "pk": "HEALTH"}),
        cursor_of({**_POSITION, "sk": "OPEN#iv-1"}),
        cursor_of({**_POSITION, "status_sort": 5}),
        cursor_of({key: value for key, value in _POSITION.items() if key != "pk"}),
    ],
)
def test_a_garbled_cursor_is_invalid_input(store: SuccessStore, cursor: str) -> None:
    # Given interventions
    store.open_intervention(opening("iv-1"))
    # When a listing is asked to continue from a cursor it did not make; Then InvalidInput naming the cursor
    with pytest.raises(InvalidInput, match="cursor"):
        store.interventions(ACME, cursor=cursor)
    with pytest.raises(InvalidInput, match="cursor"):
        store.interventions(status=OPEN, cursor=cursor)


@pytest.mark.parametrize("limit", [0, -1])
def test_a_limit_under_one_is_invalid_input(store: SuccessStore, limit: int) -> None:
    with pytest.raises(InvalidInput, match="limit"):
        store.interventions(ACME, limit=limit)
    with pytest.raises(InvalidInput, match="limit"):
        store.interventions(status=OPEN, limit=limit)
    with pytest.raises(InvalidInput, match="limit"):
        store.due_interventions(OPENED, limit)


# ----------------------------------------------------------------------------------------------------- due


def test_the_due_interventions_are_the_open_ones_come_due_earliest_first(store: SuccessStore) -> None:
    # Given open interventions due long before now, just before, at now, just after; a closed one due before;
    # across accounts
    now = OPENED + timedelta(days=30)
    evaluate_at = {
        "iv-at-now": now,
        "iv-after": now + timedelta(microseconds=1),
        "iv-long-before": now - timedelta(days=5),
        "iv-just-before": now - timedelta(microseconds=1),
    }
    for n, (intervention_id, moment) in enumerate(evaluate_at.items()):
        store.open_intervention(opening(intervention_id, f"acct-{n}", evaluate_after=moment - OPENED))
    gone = store.open_intervention(opening("iv-closed", evaluate_after=timedelta(days=1)))
    store.close_intervention(closing(gone, closed_at=now - timedelta(days=2)))

    # When the due ones are asked for at now
    due = store.due_interventions(now)

    # Then only the open ones due at or before now, the earliest first
    assert ids(due) == ["iv-long-before", "iv-just-before", "iv-at-now"]
    assert all(one.status is OPEN for one in due)
    # And up to the limit; now in another zone is the same instant
    assert ids(store.due_interventions(now, 2)) == ["iv-long-before", "iv-just-before"]
    assert store.due_interventions(now.astimezone(EAST)) == due
    assert store.due_interventions(now - timedelta(days=6)) == []
    # And once closed, one is no longer due
    store.close_intervention(closing(due[0], closed_at=now))
    assert ids(store.due_interventions(now)) == ["iv-just-before", "iv-at-now"]


# --------------------------------------------------------------------------------------------------- refused


def test_what_cannot_be_stored_is_refused_before_writing(store: SuccessStore) -> None:
    # Given interventions the store cannot keep; When opened or closed; Then refused, naming why
    with pytest.raises(ValueError, match="naive"):
        store.open_intervention(opening(opened_at=datetime(2026, 11, 20, 9, 0)))
    with pytest.raises(ValueError, match="only an open intervention is opened"):
        store.open_intervention(closing(opening()))
    with pytest.raises(ValueError, match="only a closed intervention is closed"):
        store.close_intervention(opening())
    with pytest.raises(ValueError, match="closed_at"):
        store.close_intervention(replace(opening(), status=CLOSED))
    with pytest.raises(ValueError, match="playbook is empty"):
        store.open_intervention(opening(playbook=""))
    with pytest.raises(TooLargeToStore, match=r"iv-huge.*400 KB"):
        store.open_intervention(opening("iv-huge", reason="x" * 500_000))
    with pytest.raises(TooLargeToStore, match="open marker of playbook"):
        store.open_intervention(opening("iv-long", playbook="p" * 1100))
    # And nothing was written: the playbook opens
    assert store.interventions(ACME).interventions == []
    assert store.interventions(status=OPEN).interventions == []
    assert store.open_intervention(opening("iv-1")) == opening("iv-1")


# ------------------------------------------------------------------------------------------ DynamoDB only


def test_intervention_item_layout(dynamo: tuple[DynamoDbHealthStore, Any]) -> None:
    repo, client = dynamo
    # An open intervention: its fields, no attribute for None, its status and the index's sort key (when due)
    repo.open_intervention(opening("iv-1", opened_at=OPENED.astimezone(EAST), band_before=None))
    opened_item = stored_item(client, "TENANT#acct-acme", "INTERVENTION#iv-1")
    assert opened_item == {
        "pk": {"S": "TENANT#acct-acme"},
        "sk": {"S": "INTERVENTION#iv-1"},
        "intervention_id": {"S": "iv-1"},
        "tenant_id": {"S": ACME},
        "playbook": {"S": SPONSOR},
        "trigger": {"S": "churn_risk"},
        "reason": {"S": "health fell to at_risk"},
        "opened_at": {"S": "2026-11-20T09:00:00.250000+00:00"},
        "task_title": {"S": "Call Acme's executive sponsor"},
        "task_due_at": {"S": "2026-11-22T09:00:00.250000+00:00"},
        "evaluate_at": {"S": "2026-12-20T09:00:00.250000+00:00"},
        "score_before": {"N": "3125"},
        "intervention_status": {"S": "open"},
        "status_sort": {"S": "2026-12-20T09:00:00.250000+00:00#iv-1"},
    }
    # Its playbook's open marker, naming it
    assert stored_item(client, "TENANT#acct-acme", f"OPEN#{SPONSOR}") == {
        "pk": {"S": "TENANT#acct-acme"},
        "sk": {"S": f"OPEN#{SPONSOR}"},
        "intervention_id": {"S": "iv-1"},
    }
    # Closed: the closing fields, the status and the index's sort key (when closed); the marker gone
    read = repo.intervention(ACME, "iv-1")
    assert read is not None
    repo.close_intervention(closing(read, closed_at=OPENED + timedelta(days=31), requested_by="csm@example.com"))
    assert stored_item(client, "TENANT#acct-acme", "INTERVENTION#iv-1") == {
        **opened_item,
        "requested_by": {"S": "csm@example.com"},
        "intervention_status": {"S": "closed"},
        "status_sort": {"S": "2026-12-21T09:00:00.250000+00:00#iv-1"},
        "closed_at": {"S": "2026-12-21T09:00:00.250000+00:00"},
        "score_after": {"N": "5500"},
        "band_after": {"S": "watch"},
        "outcome": {"S": "improved"},
    }
    marker = client.get_item(TableName=TABLE, Key={"pk": {"S": "TENANT#acct-acme"}, "sk": {"S": f"OPEN#{SPONSOR}"}})
    assert "Item" not in marker


def test_intervention_aws_calls_per_method(dynamo: tuple[DynamoDbHealthStore, Any]) -> None:
    repo, client = dynamo
    _, count = counted_calls(client)
    first = opening("iv-1")
    assert count(lambda: repo.open_intervention(first)) == ["TransactWriteItems"]
    # the same one again: the marker and the intervention both refused, the intervention from the cancellation
    assert count(lambda: repo.open_intervention(first)) == ["TransactWriteItems"]
    # another cause: the marker from the cancellation, the open one it names read
    assert count(lambda: repo.open_intervention(opening("iv-2"))) == ["TransactWriteItems", "GetItem"]
    assert count(lambda: repo.intervention(ACME, "iv-1")) == ["GetItem"]
    assert count(lambda: repo.interventions(ACME)) == ["Query"]
    assert count(lambda: repo.interventions(status=OPEN)) == ["Query"]
    assert count(lambda: repo.due_interventions(OPENED + timedelta(days=60))) == ["Query"]
    assert count(lambda: repo.close_intervention(closing(first))) == ["TransactWriteItems"]
    assert count(lambda: repo.close_intervention(closing(first))) == ["TransactWriteItems"]
    # a retry of a closed one: the intervention from the cancellation
    assert count(lambda: repo.open_intervention(first)) == ["TransactWriteItems"]
    with pytest.raises(TooLargeToStore):
        count(lambda: repo.open_intervention(opening("iv-3", reason="x" * 500_000)))
    assert count(lambda: repo.intervention(ACME, "iv-1")) == ["GetItem"]


def test_intervention_reads_follow_every_page_dynamodb_returns(dynamo: tuple[DynamoDbHealthStore, Any]) -> None:
    repo, client = dynamo
    for n in range(7):
        one = repo.open_intervention(
            opening(
                f"iv-{n}", playbook=f"p{n}", opened_at=OPENED + timedelta(hours=n), evaluate_after=timedelta(days=n)
            )
        )
        repo.open_intervention(opening(f"iv-other-{n}", OTHER, playbook=f"p{n}", evaluate_after=timedelta(days=9 - n)))
        if n % 3 == 0:
            repo.close_intervention(closing(one, closed_at=OPENED + timedelta(days=20 - n)))
    paged = SmallPages(client)
    small = DynamoDbHealthStore(paged, TABLE)
    now = OPENED + timedelta(days=6)
    assert small.interventions(ACME) == repo.interventions(ACME)
    assert len(repo.interventions(ACME).interventions) == 7
    for status in (OPEN, CLOSED):
        assert every_page(small, 3, status=status) == every_page(repo, 3, status=status)
    assert every_page(repo, 3, status=OPEN)[1] == [3, 3, 3, 2]
    assert small.due_interventions(now) == repo.due_interventions(now)
    assert len(repo.due_interventions(now)) == 8  # iv-1, -2, -4, -5 (-0, -3, -6 closed), iv-other-3 to -6
    assert small.due_interventions(now, 3) == repo.due_interventions(now, 3)
    assert paged.queries > 10


@pytest.mark.parametrize("action", ["open", "close"])
def test_an_intervention_transaction_conflict_is_tried_again(
    dynamo: tuple[DynamoDbHealthStore, Any], no_backoff: None, action: str
) -> None:
    repo, client = dynamo
    first = opening("iv-1")
    if action == "close":
        repo.open_intervention(first)

    def write(store: DynamoDbHealthStore) -> object:
        return store.open_intervention(first) if action == "open" else store.close_intervention(closing(first))

    # Given conflicts every time; When written; Then WriteConflict, nothing written
    always = CancelledTransactions(client, "TransactionConflict", WRITE_ATTEMPTS)
    with pytest.raises(WriteConflict, match=r"is being written by another transaction \(4 attempts\)"):
        write(DynamoDbHealthStore(always, TABLE))
    assert always.times == 0
    assert repo.interventions(ACME).interventions == ([] if action == "open" else [first])
    # Given conflicts fewer times than the attempts; When written; Then written
    flaky = CancelledTransactions(client, "TransactionConflict", WRITE_ATTEMPTS - 1)
    assert write(DynamoDbHealthStore(flaky, TABLE)) == (first if action == "open" else True)
    assert flaky.times == 0
    assert repo.interventions(ACME).interventions == [first if action == "open" else closing(first)]


@pytest.mark.parametrize("code", ["ValidationError", "ThrottlingError"])
def test_other_cancellations_of_an_intervention_propagate(dynamo: tuple[DynamoDbHealthStore, Any], code: str) -> None:
    _, client = dynamo
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        DynamoDbHealthStore(CancelledTransactions(client, code, 1), TABLE).open_intervention(opening())


def test_what_a_cancellation_names_without_its_items_is_read(dynamo: tuple[DynamoDbHealthStore, Any]) -> None:
    # Given an open intervention, and a client whose cancellations carry no item
    repo, client = dynamo
    first = repo.open_intervention(opening("iv-1"))
    bare = DynamoDbHealthStore(WithoutItems(client), TABLE)
    _, count = counted_calls(client)
    # When its playbook is opened for another cause; Then the marker is read, then the open one it names
    assert count(lambda: bare.open_intervention(opening("iv-2"))) == ["TransactWriteItems", "GetItem", "GetItem"]
    assert bare.open_intervention(opening("iv-2")) == first
    # When it is closed and opened again under its id; Then the stored one is read
    repo.close_intervention(closing(first))
    assert count(lambda: bare.open_intervention(first)) == ["TransactWriteItems", "GetItem"]
    assert bare.open_intervention(first) == closing(first)


def test_an_open_one_closed_since_the_cancellation_is_tried_again(
    dynamo: tuple[DynamoDbHealthStore, Any], no_backoff: None
) -> None:
    # Given a cancellation by the open marker's condition, without its item, though the marker is gone by the
    # time it is read (the open one was closed in between)
    repo, client = dynamo
    meanwhile = CancelledTransactions(client, "ConditionalCheckFailed", 1, on="first")
    _, count = counted_calls(client)
    # When the playbook is opened; Then the marker is read (the first, made-up, cancellation is no call), it
    # is tried again, and opened
    assert count(lambda: DynamoDbHealthStore(meanwhile, TABLE).open_intervention(opening("iv-2"))) == [
        "GetItem",
        "TransactWriteItems",
    ]
    assert meanwhile.times == 0
    assert repo.interventions(ACME).interventions == [opening("iv-2")]
