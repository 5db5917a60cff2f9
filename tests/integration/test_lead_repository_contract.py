"""One contract, two lead repositories: the DynamoDB adapter (over moto) and the in-memory fake behave alike.

The contract is `shared.leads.ports.LeadRepository`. Where its docstrings are silent, these tests pin what
both implementations do: scores are whole hundredths and an unscored contact ranks as 0; `by_stage` breaks
score ties by contact id, descending; history lists are oldest first (entries of one instant in the order
they were saved); engagements come back in no particular order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local_runtime.provision import Provisioned
from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
from shared.catalog import physical_name
from shared.errors import InvalidInput
from shared.leads.model import (
    PROFILE_FIELDS,
    Account,
    Contact,
    ContactProfile,
    EngagementRecord,
    Identity,
    MergeRecord,
    ScoreChange,
    ScoreSnapshot,
    Stage,
    Transition,
)
from shared.leads.ports import ChangeSet, ConcurrentUpdate, HistoryEntry, IdentityClaim, LeadRepository, TooLargeToStore
from tests.fakes import InMemoryLeadRepository
from tests.integration.conftest import STAGE
from tests.integration.dynamodb_doubles import counted_calls

T0 = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)
TABLE = physical_name(STAGE, "leads")


@pytest.fixture(params=["dynamodb", "in-memory"])
def repo(request: pytest.FixtureRequest) -> Iterator[LeadRepository]:
    if request.param == "in-memory":
        yield InMemoryLeadRepository()
        return
    aws = request.getfixturevalue("aws")
    assert aws.stage == STAGE
    yield DynamoDbLeadRepository(boto3.client("dynamodb", region_name="us-east-1"), TABLE, sleep=lambda _: None)


@pytest.fixture
def dynamo(aws: Provisioned) -> tuple[DynamoDbLeadRepository, Any]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    return DynamoDbLeadRepository(client, TABLE, sleep=lambda _: None), client


def snapshot(total: float, as_of: datetime = T0) -> ScoreSnapshot:
    return ScoreSnapshot(
        total=total,
        fit=round(total / 2, 2),
        engagement=round(total - round(total / 2, 2), 2),
        mql=total >= 50,
        handoff="standard" if total >= 50 else None,
        model_version="2026-11-01",
        as_of=as_of,
        email_engagement=3.25,
        content_pieces=2,
        website_sessions=7,
        icp_fit=True,
    )


def new_contact(contact_id: str, stage: Stage = Stage.LEAD, score: float | None = None) -> Contact:
    return Contact(
        contact_id, created_at=T0, updated_at=T0, stage=stage, score=None if score is None else snapshot(score)
    )


def save(
    repo: LeadRepository,
    *contacts: Contact,
    entries: tuple[HistoryEntry, ...] | list[HistoryEntry] = (),
    create: bool = False,
    claims: dict[str, list[Identity]] | None = None,
    engagements: tuple[EngagementRecord, ...] = (),
    accounts: tuple[Account, ...] = (),
    account_claims: dict[str, str] | None = None,
) -> None:
    """Commit one change made of these parts."""
    change = ChangeSet(entries=list(entries), engagements=list(engagements), account_claims=dict(account_claims or {}))
    for contact in contacts:
        change.contacts[contact.contact_id] = contact
        if create:
            change.created.add(contact.contact_id)
    for contact_id, identities in (claims or {}).items():
        for identity in identities:
            change.claims[identity.key] = IdentityClaim(identity, contact_id)
    for account in accounts:
        change.accounts[account.account_id] = account
    repo.commit(change)


def claim(repo: LeadRepository, contact_id: str, identities: list[Identity]) -> None:
    save(repo, claims={contact_id: identities})


def append(repo: LeadRepository, record: EngagementRecord) -> bool:
    """Log an engagement alone; False when it was logged already."""
    try:
        save(repo, engagements=(record,))
    except ConcurrentUpdate:
        return False
    return True


def stored(repo: LeadRepository, contact_id: str) -> Contact:
    found = repo.contact(contact_id)
    assert found is not None
    return found


def engagement(event_id: str, contact_id: str, minutes: int = 0, **properties: Any) -> EngagementRecord:
    return EngagementRecord(
        event_id=event_id,
        contact_id=contact_id,
        occurred_at=T0 + timedelta(minutes=minutes),
        kind="page_view",
        source_vendor="segment",
        name="Pricing",
        url="https://example.com/pricing?plan=team",
        path="/pricing",
        properties=properties,
    )


# ---------------------------------------------------------------------------------------------- identities


def test_the_first_claim_of_an_identity_wins(repo: LeadRepository) -> None:
    email, phone = Identity("email", "ada@example.com"), Identity("phone", "+4930123")
    hubspot = Identity("hubspot", "7")
    # Given contact c1 claimed an email and a phone
    claim(repo, "c1", [email, phone])
    # When c2 claims the phone and a HubSpot id in one change
    with pytest.raises(ConcurrentUpdate):
        claim(repo, "c2", [phone, hubspot])
    # Then the phone stays c1's, and the HubSpot id was not claimed either: the change is all or nothing
    assert repo.owners([email, phone, hubspot, Identity("email", "nobody@example.com")]) == {
        email.key: "c1",
        phone.key: "c1",
    }


def test_a_dangling_claim_is_taken_over_only_from_its_claimant(repo: LeadRepository) -> None:
    email = Identity("email", "ada@example.com")
    claim(repo, "ghost", [email])
    # When another contact takes it over, naming the claimant it replaces
    with pytest.raises(ConcurrentUpdate):
        repo.commit(ChangeSet(claims={email.key: IdentityClaim(email, "c2", replaces="someone-else")}))
    repo.commit(ChangeSet(claims={email.key: IdentityClaim(email, "c1", replaces="ghost")}))
    # Then it is the new claimant's
    assert repo.owners([email]) == {email.key: "c1"}


def test_owners_reads_any_number_of_identities(repo: LeadRepository) -> None:
    # Given 150 identities (more than one batch read), claimed by three contacts
    identities = [Identity("segment", f"user-{n:03d}") for n in range(150)]
    for owner in ("c0", "c1", "c2"):
        claim(repo, owner, [identity for n, identity in enumerate(identities) if f"c{n % 3}" == owner])
    # When their owners are read, together with unclaimed and repeated identities
    owners = repo.owners([*identities, Identity("segment", "unknown"), identities[0]])
    # Then every claimed one is there, and only those
    assert owners == {identity.key: f"c{n % 3}" for n, identity in enumerate(identities)}


# ------------------------------------------------------------------------------------------------ contacts

_zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
moments = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=_zones)
hundredths = st.integers(-(10**9), 10**9).map(lambda n: n / 100)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | hundredths
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | moments
)
json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
words = st.text(min_size=1, max_size=16)
scores = st.builds(
    ScoreSnapshot,
    total=hundredths,
    fit=hundredths,
    engagement=hundredths,
    mql=st.booleans(),
    handoff=st.none() | words,
    model_version=words,
    as_of=moments,
    email_engagement=hundredths,
    content_pieces=st.integers(0, 10**9),
    website_sessions=st.integers(0, 10**9),
    icp_fit=st.booleans(),
)


@st.composite
def contacts(draw: st.DrawFn) -> Contact:
    values = draw(st.dictionaries(st.sampled_from(PROFILE_FIELDS) | st.text(max_size=12), json_values, max_size=6))
    return Contact(
        contact_id="drawn",
        created_at=draw(moments),
        updated_at=draw(moments),
        stage=draw(st.sampled_from(Stage)),
        stage_entered_at=draw(st.none() | moments),
        lead_since=draw(st.none() | moments),
        profiles={
            origin: ContactProfile(
                values=values,
                updated_at={name: draw(moments) for name in values},
                attributes=draw(st.dictionaries(st.text(max_size=12), json_values, max_size=4)),
            )
            for origin in draw(st.lists(st.sampled_from(["drawn", "other", "ünï"]), max_size=2, unique=True))
        },
        identities=draw(st.sets(st.text(max_size=24), max_size=5)),
        account_id=draw(st.none() | words),
        score=draw(st.none() | scores),
        merged_into=draw(st.none() | words),
        members=draw(st.lists(words, max_size=4)),
        handoffs=draw(st.dictionaries(words, moments, max_size=3)),
        recycled_at=draw(st.none() | moments),
        never_merge=draw(st.sets(words, max_size=3)),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=contacts())
def test_a_contact_round_trips_every_field(repo: LeadRepository, drawn: Contact) -> None:
    # Given any contact: unicode, ints, floats, nested JSON and datetimes (microseconds, any offset)
    contact = replace(drawn, contact_id=uuid.uuid4().hex)
    # When it is created and read back, alone and in a batch
    save(repo, contact, create=True)
    # Then it is equal field for field, with the version moved on in memory and in storage
    assert contact.version == 1
    assert stored(repo, contact.contact_id) == contact
    assert repo.contacts([contact.contact_id, "missing"]) == {contact.contact_id: contact}


def test_datetimes_come_back_as_the_same_instant_and_numbers_as_their_types(repo: LeadRepository) -> None:
    # Given a contact with an offset datetime, a float with two decimals, an integral float and a big int
    at = datetime(2026, 3, 29, 1, 59, 59, 999999, tzinfo=timezone(timedelta(hours=2)))
    contact = new_contact("c1", score=12.34)
    own = contact.own_profile("c1")
    own.set("annual_revenue", 12.34, at)
    own.set("employee_count", 250, at)
    own.attributes.update({"ratio": 12.0, "big": 2**70, "tags": ["日本", {"straße": [1, 2.5]}], "seen": at})
    save(repo, contact, create=True)
    # When it is read back
    back = stored(repo, "c1")
    # Then instants are equal and aware (the DynamoDB adapter gives them back in UTC), and every number
    # keeps its type and value
    assert back.profile.updated_at["annual_revenue"] == at
    assert back.profile.updated_at["annual_revenue"].utcoffset() is not None
    assert back.profile.attributes["seen"] == at
    assert back.profile.values == {"annual_revenue": 12.34, "employee_count": 250}
    assert type(back.profile.values["employee_count"]) is int
    assert type(back.profile.attributes["ratio"]) is float
    assert back.profile.attributes["big"] == 2**70
    assert back.profile.attributes["tags"] == ["日本", {"straße": [1, 2.5]}]
    assert back.score is not None
    assert (back.score.total, back.score.content_pieces) == (12.34, 2)
    assert type(back.score.content_pieces) is int


def test_contacts_reads_more_than_one_batch(repo: LeadRepository) -> None:
    # Given 120 stored contacts
    ids = [f"c{n:03d}" for n in range(120)]
    for cid in ids:
        save(repo, new_contact(cid, score=1.0), create=True)
    # When they are read together, with ids that do not exist and a repeat
    found = repo.contacts([*ids, "ghost", ids[0]])
    # Then each stored one comes back once, in the order asked
    assert list(found) == ids
    assert all(found[cid].contact_id == cid for cid in ids)


# ------------------------------------------------------------------------------------- optimistic versions


def test_each_save_moves_the_version_and_a_stale_save_is_refused(repo: LeadRepository) -> None:
    # Given a contact created, then read twice
    save(repo, new_contact("c1"), create=True)
    first, second = stored(repo, "c1"), stored(repo, "c1")
    assert first.version == 1
    # When the first reader saves, then the second
    first.stage = Stage.MQL
    save(repo, first)
    second.stage = Stage.CUSTOMER
    with pytest.raises(ConcurrentUpdate):
        save(repo, second)
    # Then the first change holds, the loser keeps the version it read, and reading again lets it redo
    assert (stored(repo, "c1").stage, stored(repo, "c1").version, first.version, second.version) == (
        Stage.MQL,
        2,
        2,
        1,
    )
    again = stored(repo, "c1")
    again.stage = Stage.CUSTOMER
    save(repo, again)
    assert (stored(repo, "c1").stage, stored(repo, "c1").version) == (Stage.CUSTOMER, 3)


def test_a_contact_cannot_be_created_twice(repo: LeadRepository) -> None:
    # Given a created contact
    save(repo, new_contact("c1", score=5.0), create=True)
    # When another new contact with the same id is created, or saved as new (version 0)
    with pytest.raises(ConcurrentUpdate):
        save(repo, new_contact("c1", score=9.0), create=True)
    with pytest.raises(ConcurrentUpdate):
        save(repo, new_contact("c1", score=9.0))
    # Then the first one stands
    assert stored(repo, "c1").score == snapshot(5.0)


def test_a_contact_that_was_never_stored_cannot_be_updated(repo: LeadRepository) -> None:
    ghost = new_contact("ghost")
    ghost.version = 3
    with pytest.raises(ConcurrentUpdate):
        save(repo, ghost)
    assert repo.contact("ghost") is None


def test_a_change_is_all_or_nothing(repo: LeadRepository) -> None:
    # Given two stored contacts, one of which someone else saves after we read it
    save(repo, new_contact("a"), new_contact("b"))
    a, b = stored(repo, "a"), stored(repo, "b")
    meanwhile = stored(repo, "b")
    save(repo, meanwhile)
    # When both are saved together with a merge and a transition
    a.members.append("b")
    b.merged_into = "a"
    merge = MergeRecord("m1", "a", "b", T0, "same email")
    with pytest.raises(ConcurrentUpdate):
        save(
            repo,
            a,
            b,
            entries=[merge, Transition("a", T0, Stage.LEAD, Stage.MQL, "merged")],
            claims={"a": [Identity("email", "b@example.com")]},
            engagements=(engagement("e1", "a"),),
            accounts=(Account("acme", T0, T0),),
            account_claims={"domain#acme.com": "acme"},
        )
    # Then nothing was written (not even the identity, the engagement or the account) and no version moved
    assert repo.owners([Identity("email", "b@example.com")]) == {}
    assert repo.engagements(["a"]) == []
    assert repo.account("acme") is None
    assert repo.account_owners([Identity("domain", "acme.com")]) == {}
    assert (a.version, b.version) == (1, 1)
    assert stored(repo, "a").members == []
    assert stored(repo, "b").merged_into is None
    assert repo.history("a").merges == repo.history("b").merges == []
    assert repo.history("a").transitions == []


# --------------------------------------------------------------------------------------------- engagements


def test_an_engagement_is_appended_once(repo: LeadRepository) -> None:
    # Given an engagement in a contact's log
    first = engagement("e1", "c1", 0, plan="team", price=12.34, nested={"ü": [1, None, True]})
    assert append(repo, first) is True
    assert repo.has_engagement("c1", "e1")
    assert not repo.has_engagement("c1", "e2")
    assert not repo.has_engagement("c2", "e1")
    # When the same event arrives again, even with other content
    again = append(repo, replace(first, properties={"plan": "other"}))
    # Then it is refused and the first copy stays
    assert again is False
    assert repo.engagements(["c1"]) == [first]


def test_logs_are_read_across_contacts(repo: LeadRepository) -> None:
    # Given logs for two contacts (one record without the optional fields) and a third contact's log
    records = [engagement(f"e{n:02d}", "a" if n % 2 else "b", minutes=n, n=n) for n in range(30)]
    bare = EngagementRecord("bare", "a", T0, "email_open", "hubspot")
    for record in [*records, bare, engagement("x1", "c")]:
        assert append(repo, record)
    # When the logs of a and b are read
    found = repo.engagements(["a", "b"])
    # Then exactly their records come back, whatever the order
    key = lambda r: (r.contact_id, r.event_id)  # noqa: E731
    assert sorted(found, key=key) == sorted([*records, bare], key=key)
    assert repo.engagements(["nobody"]) == []
    assert {r.event_id for r in repo.engagements(["c"])} == {"x1"}


# ------------------------------------------------------------------------------------------------ history


def test_history_is_oldest_first_whatever_order_it_was_saved_in(repo: LeadRepository) -> None:
    t1, t2, t3 = T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)
    contact = new_contact("c1", stage=Stage.VISITOR)
    # Given entries saved late-first, and two transitions of one instant in two saves and in one save
    save(repo, contact, entries=[ScoreChange("c1", t3, 40.0, 55.5, 30.25, 25.25, "form")], create=True)
    save(repo, contact, entries=[ScoreChange("c1", t1, None, 40.0, 20.0, 20.0, "first touch")])
    moves = [
        Transition("c1", t2, Stage.VISITOR, Stage.LEAD, "identified"),
        Transition("c1", t2, Stage.LEAD, Stage.MQL, "MQL criteria met"),
    ]
    save(repo, contact, entries=[moves[0]])
    save(repo, contact, entries=[moves[1], Transition("c1", t2, Stage.MQL, Stage.SQL, "accepted")])
    # When the history is read
    history = repo.history("c1")
    # Then each list runs oldest first, entries of one instant in the order they were saved
    assert history.score_changes == [
        ScoreChange("c1", t1, None, 40.0, 20.0, 20.0, "first touch"),
        ScoreChange("c1", t3, 40.0, 55.5, 30.25, 25.25, "form"),
    ]
    assert history.transitions == [*moves, Transition("c1", t2, Stage.MQL, Stage.SQL, "accepted")]
    assert history.merges == []
    assert repo.history("someone-else") == type(history)([], [], [])


def test_merges_are_seen_from_both_sides_and_undone_in_place(repo: LeadRepository) -> None:
    # Given a survivor that absorbed z (merge id "zz") and then y (merge id "aa", later)
    for cid in ("s", "z", "y"):
        save(repo, new_contact(cid), create=True)
    s, z, y = stored(repo, "s"), stored(repo, "z"), stored(repo, "y")
    first = MergeRecord("zz", "s", "z", T0, "same email")
    second = MergeRecord("aa", "s", "y", T0 + timedelta(hours=1), "same phone")
    z.merged_into, y.merged_into, s.members = "s", "s", ["z"]
    save(repo, s, z, entries=[first, Transition("s", T0, Stage.LEAD, Stage.MQL, "merged")])
    s.members.append("y")
    save(repo, s, y, entries=[second])
    # When the first merge is undone
    undone = replace(first, undone_at=T0 + timedelta(days=1))
    z.merged_into = None
    s.members.remove("z")
    save(repo, s, z, entries=[undone])
    # Then both sides see one record per merge, oldest first, the undone one changed in place
    assert repo.history("s").merges == [undone, second]
    assert repo.history("z").merges == [undone]
    assert repo.history("y").merges == [second]
    assert repo.history("s").transitions == [Transition("s", T0, Stage.LEAD, Stage.MQL, "merged")]
    # And undoing the undo (a redo of the same record) rewrites it again
    save(repo, s, z, entries=[first])
    assert repo.history("z").merges == [first]


def test_a_save_with_more_entries_than_a_transaction_keeps_them_all(repo: LeadRepository) -> None:
    # Given a contact saved with 150 score changes and a merge (more than 100 items)
    entries = [
        ScoreChange("c1", T0 + timedelta(seconds=n), n - 1.0, float(n), n / 2, n / 2, f"r{n}") for n in range(150)
    ]
    contact = new_contact("c1")
    save(repo, contact, entries=[*entries, MergeRecord("m", "c1", "c2", T0, "batch")], create=True)
    # When its history is read
    history = repo.history("c1")
    # Then every entry is there in order, and the contact was saved once
    assert history.score_changes == entries
    assert [m.merge_id for m in history.merges] == ["m"]
    assert (contact.version, stored(repo, "c1").version) == (1, 1)


# ------------------------------------------------------------------------------------------ stage listing


def _stage_fixture(repo: LeadRepository) -> list[str]:
    """Ten leads (ties, negatives, an unscored one), an MQL and a merged lead; the leads' ids, best first."""
    scores = {
        "c0": 12.34,
        "c1": 50.0,
        "c2": 50.0,
        "c3": -3.5,
        "c4": 0.0,
        "c5": 99.99,
        "c6": 7.1,
        "c7": None,
        "c8": 50.0,
        "c9": -120.25,
    }
    for cid, score in scores.items():
        save(repo, new_contact(cid, Stage.LEAD, score), create=True)
    save(repo, new_contact("mql", Stage.MQL, 75.0), create=True)
    merged = new_contact("gone", Stage.LEAD, 1000.0)
    merged.merged_into = "c5"
    save(repo, merged, create=True)
    return sorted(scores, key=lambda cid: (scores[cid] or 0.0, cid), reverse=True)


def test_by_stage_lists_a_stage_best_first(repo: LeadRepository) -> None:
    expected = _stage_fixture(repo)
    # When the LEAD stage is listed in one page
    page = repo.by_stage(Stage.LEAD, None, 10, None)
    # Then it holds the leads only, highest score first (ties by id descending, unscored as 0), and no more
    assert [c.contact_id for c in page.contacts] == expected
    assert expected[:4] == ["c5", "c8", "c2", "c1"]
    assert page.next_cursor is None
    assert page.contacts[0] == stored(repo, "c5")
    assert [c.contact_id for c in repo.by_stage(Stage.MQL, None, 10, None).contacts] == ["mql"]
    assert repo.by_stage(Stage.CUSTOMER, None, 10, None).contacts == []


@pytest.mark.parametrize("limit", [1, 3, 5, 9, 11])
def test_by_stage_pages_without_gaps_or_repeats(repo: LeadRepository, limit: int) -> None:
    expected = _stage_fixture(repo)
    # When the stage is read `limit` at a time until no cursor is returned
    seen, cursor, pages = [], None, 0
    while True:
        page = repo.by_stage(Stage.LEAD, None, limit, cursor)
        pages += 1
        assert 0 < len(page.contacts) <= limit
        seen += [c.contact_id for c in page.contacts]
        cursor = page.next_cursor
        if cursor is None:
            break
    # Then every lead came exactly once, in order, and no empty page was needed to learn it was the end
    assert seen == expected
    assert pages == -(-len(expected) // limit)


@pytest.mark.parametrize(
    ("min_score", "expected"),
    [
        (50, ["c5", "c8", "c2", "c1"]),
        (12.34, ["c5", "c8", "c2", "c1", "c0"]),
        (12.335, ["c5", "c8", "c2", "c1", "c0"]),
        (12.341, ["c5", "c8", "c2", "c1"]),
        (7.1, ["c5", "c8", "c2", "c1", "c0", "c6"]),
        (0, ["c5", "c8", "c2", "c1", "c0", "c6", "c7", "c4"]),
        (-3.5, ["c5", "c8", "c2", "c1", "c0", "c6", "c7", "c4", "c3"]),
        (-1e9, ["c5", "c8", "c2", "c1", "c0", "c6", "c7", "c4", "c3", "c9"]),
        (100, []),
        (1e30, []),
    ],
)
def test_by_stage_filters_by_min_score(repo: LeadRepository, min_score: float, expected: list[str]) -> None:
    _stage_fixture(repo)
    # When the stage is listed from a minimum score, two at a time
    seen, cursor = [], None
    while True:
        page = repo.by_stage(Stage.LEAD, min_score, 2, cursor)
        seen += [c.contact_id for c in page.contacts]
        if (cursor := page.next_cursor) is None:
            break
    # Then exactly the leads at or above it are listed, best first
    assert seen == expected


def test_a_contact_moves_between_listings_as_it_is_saved(repo: LeadRepository) -> None:
    _stage_fixture(repo)
    # Given c9 rescored to the top, c5 moved to MQL and c1 merged away
    c9, c5, c1 = stored(repo, "c9"), stored(repo, "c5"), stored(repo, "c1")
    c9.score = snapshot(500.0)
    c5.stage = Stage.MQL
    c1.merged_into = "c9"
    save(repo, c9, c5, c1)
    # Then the listings follow
    assert [c.contact_id for c in repo.by_stage(Stage.LEAD, 50, 10, None).contacts] == ["c9", "c8", "c2"]
    assert [c.contact_id for c in repo.by_stage(Stage.MQL, None, 10, None).contacts] == ["c5", "mql"]
    # And an unmerged contact is listed again
    c1 = stored(repo, "c1")
    c1.merged_into = None
    save(repo, c1)
    assert [c.contact_id for c in repo.by_stage(Stage.LEAD, 50, 10, None).contacts] == ["c9", "c8", "c2", "c1"]


@pytest.mark.parametrize("cursor", ["not-a-cursor!", "eyJwayI6MX0=", "", "-1", "e30="])
def test_a_cursor_the_repository_did_not_issue_is_invalid_input(repo: LeadRepository, cursor: str) -> None:
    _stage_fixture(repo)
    with pytest.raises(InvalidInput):
        repo.by_stage(Stage.LEAD, None, 3, cursor)


def test_a_page_needs_room_for_one_contact(repo: LeadRepository) -> None:
    with pytest.raises(InvalidInput):
        repo.by_stage(Stage.LEAD, None, 0, None)


def test_contact_ids_lists_every_contact_not_merged_away(repo: LeadRepository) -> None:
    # Given contacts, one merged away, plus identities, engagements, history and an account in storage
    _stage_fixture(repo)
    claim(repo, "c1", [Identity("email", "c1@example.com")])
    append(repo, engagement("e1", "c1"))
    save(repo, stored(repo, "c2"), entries=[Transition("c2", T0, Stage.VISITOR, Stage.LEAD, "identified")])
    save(repo, accounts=(Account("acme", T0, T0),), account_claims={"domain#acme.com": "acme"})
    # When every contact id is listed
    ids = list(repo.contact_ids())
    # Then each contact not merged away comes once, and nothing else
    assert sorted(ids) == sorted([f"c{n}" for n in range(10)] + ["mql"])


# ----------------------------------------------------------------------------------------------- accounts


def test_accounts_and_their_identities(repo: LeadRepository) -> None:
    sfdc, domain = Identity("salesforce", "001A"), Identity("domain", "acme.com")
    # Given an account saved with two identities
    acme = Account("acme", T0, T0, domain="acme.com", identities={sfdc.key, domain.key})
    acme.profile.set("name", "Acme GmbH", T0)
    acme.profile.set("annual_revenue", 1250000.5, T0)
    save(repo, accounts=(acme,), account_claims={sfdc.key: "acme", domain.key: "acme"})
    # When another account claims the same domain
    with pytest.raises(ConcurrentUpdate):
        save(repo, accounts=(Account("rival", T0, T0),), account_claims={domain.key: "rival", "hubspot#co-9": "rival"})
    # Then the account reads back whole (version moved on) and each identity belongs to its first claimant
    assert acme.version == 1
    assert repo.account("acme") == acme
    assert repo.account_owners([sfdc, domain, Identity("hubspot", "co-9")]) == {sfdc.key: "acme", domain.key: "acme"}
    assert repo.account("rival") is None
    assert repo.account("nope") is None
    # And saving the account again replaces it, unless someone saved it since it was read
    stale = repo.account("acme")
    acme.profile.set("name", "Acme AG", T0 + timedelta(days=1))
    acme.updated_at = T0 + timedelta(days=1)
    save(repo, accounts=(acme,))
    assert repo.account("acme") == acme
    assert stale is not None
    with pytest.raises(ConcurrentUpdate):
        save(repo, accounts=(stale,))


def _on_account(contact_id: str, account_id: str | None) -> Contact:
    contact = new_contact(contact_id)
    contact.account_id = account_id
    return contact


def test_account_contacts_lists_the_contacts_of_an_account_by_id(repo: LeadRepository) -> None:
    # Given contacts of two accounts, saved out of id order, and one contact with no account
    save(
        repo,
        _on_account("c3", "acme"),
        _on_account("c1", "acme"),
        _on_account("c2", "globex"),
        _on_account("c4", None),
        create=True,
    )
    # When each account's contacts are listed
    acme, globex = repo.account_contacts("acme"), repo.account_contacts("globex")
    # Then each lists its own contacts, sorted by id, and the account-less contact is in neither
    assert acme == ["c1", "c3"]
    assert globex == ["c2"]


def test_a_contact_leaves_an_account_listing_when_it_moves_or_loses_its_account(repo: LeadRepository) -> None:
    # Given two contacts of acme
    save(repo, _on_account("c1", "acme"), _on_account("c2", "acme"), create=True)
    # When c1 moves to globex
    c1 = stored(repo, "c1")
    c1.account_id = "globex"
    save(repo, c1)
    # Then it is listed under globex only
    assert repo.account_contacts("acme") == ["c2"]
    assert repo.account_contacts("globex") == ["c1"]
    # When c2 loses its account
    c2 = stored(repo, "c2")
    c2.account_id = None
    save(repo, c2)
    # Then acme has no contacts left
    assert repo.account_contacts("acme") == []
    assert repo.account_contacts("globex") == ["c1"]


def test_a_merged_away_contact_is_not_listed_but_its_survivor_is(repo: LeadRepository) -> None:
    # Given two contacts of acme
    save(repo, _on_account("a", "acme"), _on_account("b", "acme"), create=True)
    # When b is merged into a
    a, b = stored(repo, "a"), stored(repo, "b")
    b.merged_into = "a"
    a.members = ["b"]
    save(repo, a, b, entries=[MergeRecord("m1", "a", "b", T0, "same email")])
    # Then only the survivor is listed, and the absorbed one is reached through its members
    assert repo.account_contacts("acme") == ["a"]
    assert stored(repo, "a").members == ["b"]
    # When the merge is undone
    b = stored(repo, "b")
    b.merged_into = None
    save(repo, b)
    # Then b is listed again
    assert repo.account_contacts("acme") == ["a", "b"]


def test_an_account_with_no_contacts_lists_none(repo: LeadRepository) -> None:
    # Given an account and a contact of another account
    save(repo, accounts=(Account("acme", T0, T0),))
    save(repo, _on_account("c1", "globex"), create=True)
    # When the contacts of the account (and of an unknown one) are listed
    listed, unknown = repo.account_contacts("acme"), repo.account_contacts("nope")
    # Then both are empty
    assert listed == []
    assert unknown == []


def test_a_record_too_large_to_store_is_refused_before_anything_is_written(
    dynamo: tuple[DynamoDbLeadRepository, Any],
) -> None:
    repo, _ = dynamo
    contact = new_contact("c1")
    contact.own_profile("c1").attributes["blob"] = "x" * 500_000
    with pytest.raises(TooLargeToStore, match=r"lead c1 would be \d+ bytes, over DynamoDB's item limit of 400 KB"):
        save(repo, contact, create=True, claims={"c1": [Identity("email", "big@example.com")]})
    assert repo.owners([Identity("email", "big@example.com")]) == {}
    assert repo.contact("c1") is None


# -------------------------------------------------------------------------------- DynamoDB specifics only


def _item(client: Any, pk: str, sk: str) -> dict[str, Any]:
    return client.get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}})["Item"]


def _sks(client: Any, pk: str) -> list[str]:
    items = client.query(
        TableName=TABLE, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": pk}}
    )["Items"]
    return [item["sk"]["S"] for item in items]


def test_the_item_layout_follows_the_catalog(dynamo: tuple[DynamoDbLeadRepository, Any]) -> None:
    repo, client = dynamo
    # Given a lead with a negative score, a merged contact, an engagement, history and a merge
    claim(repo, "a", [Identity("email", "a@example.com")])
    a, b = new_contact("a", Stage.MQL, -3.5), new_contact("b", Stage.LEAD, 12.34)
    a.account_id = b.account_id = "acme"
    b.merged_into = "a"
    merge = MergeRecord("m1", "a", "b", T0, "same email")
    save(repo, a, b, entries=[merge, Transition("a", T0, Stage.LEAD, Stage.MQL, "merged")], create=True)
    append(repo, engagement("e1", "a"))
    # Then the identity, profile, log and history items sit where the catalog says
    assert _item(client, "IDENTITY#email#a@example.com", "OWNER")["contact_id"] == {"S": "a"}
    profile = _item(client, "CONTACT#a", "PROFILE")
    assert profile["stage_partition"] == {"S": "STAGE#MQL"}
    assert profile["stage_sort"] == {"S": f"{10**15 - 350:016d}#a"}
    assert profile["contact_account"] == {"S": "acme"}
    assert profile["version"] == {"N": "1"}
    assert _sks(client, "CONTACT#a") == [
        "ENG#e1",
        "MERGE#m1",
        "PROFILE",
        f"TRANSITION#{T0.isoformat()}#000000000001#0001",
    ]
    assert _sks(client, "CONTACT#b") == ["MERGE#m1", "PROFILE"]
    # And the merged contact carries no index keys, so the index never holds it
    absorbed = _item(client, "CONTACT#b", "PROFILE")
    assert "stage_partition" not in absorbed
    assert "stage_sort" not in absorbed
    assert "contact_account" not in absorbed
    assert absorbed["account_id"] == {"S": "acme"}
    assert absorbed["merged_into"] == {"S": "a"}
    # And datetimes are stored as fixed-width UTC strings and come back aware in UTC
    assert profile["created_at"] == {"S": "2026-11-25T12:00:00.123456+00:00"}
    c = new_contact("c")
    c.created_at = datetime(2026, 11, 25, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    save(repo, c, create=True)
    assert _item(client, "CONTACT#c", "PROFILE")["created_at"] == {"S": "2026-11-25T12:00:00.000000+00:00"}
    assert stored(repo, "c").created_at.tzinfo is UTC


def test_aws_calls_per_method(dynamo: tuple[DynamoDbLeadRepository, Any]) -> None:
    repo, client = dynamo
    _, count = counted_calls(client)
    ids = [Identity("email", f"{n}@example.com") for n in range(3)]
    a, b = new_contact("a", score=10.0), new_contact("b", score=10.0)
    merge = MergeRecord("m", "a", "b", T0, "same email")
    many = [ScoreChange("a", T0 + timedelta(seconds=n), None, 1.0, 1.0, 0.0, "x") for n in range(150)]
    # a whole change (contact, its identities, its engagement, its account, its history) is one call
    everything = ChangeSet(
        contacts={"a": a},
        created={"a"},
        claims={i.key: IdentityClaim(i, "a") for i in ids},
        engagements=[engagement("e1", "a")],
        accounts={"acme": Account("acme", T0, T0)},
        account_claims={"domain#acme.com": "acme"},
        entries=[Transition("a", T0, Stage.VISITOR, Stage.LEAD, "x")],
    )
    assert count(lambda: repo.commit(everything)) == ["TransactWriteItems"]
    assert count(lambda: repo.owners(ids)) == ["BatchGetItem"]
    assert count(lambda: save(repo, b, create=True)) == ["TransactWriteItems"]
    b.merged_into = "a"
    assert count(lambda: save(repo, a, b, entries=[merge])) == ["TransactWriteItems"]
    assert count(lambda: save(repo, a, entries=many)) == ["TransactWriteItems"] * 2
    assert count(lambda: repo.contact("a")) == ["GetItem"]
    assert count(lambda: repo.contacts(["a", "b", "c"])) == ["BatchGetItem"]
    assert count(lambda: repo.has_engagement("a", "e1")) == ["GetItem"]
    assert count(lambda: repo.engagements(["a", "b"])) == ["Query"] * 2
    assert count(lambda: repo.history("a")) == ["Query"]
    assert count(lambda: repo.by_stage(Stage.LEAD, 5, 10, None)) == ["Query"]
    assert count(lambda: list(repo.contact_ids())) == ["Scan"]
    assert count(lambda: repo.account("acme")) == ["GetItem"]
    assert count(lambda: repo.account_contacts("acme")) == ["Query"]
    assert count(lambda: repo.account_owners([Identity("domain", "acme.com"), ids[0]])) == ["BatchGetItem"]


class _Flaky:
    """A client that leaves half of each batch read unprocessed the first time, like a throttled table."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.batch_calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.batch_calls += 1
        if self.batch_calls > 1:
            return self._client.batch_get_item(RequestItems=RequestItems)
        [(table, wanted)] = RequestItems.items()
        half = len(wanted["Keys"]) // 2
        response = self._client.batch_get_item(RequestItems={table: {**wanted, "Keys": wanted["Keys"][:half]}})
        response["UnprocessedKeys"] = {table: {**wanted, "Keys": wanted["Keys"][half:]}}
        return response


def test_unprocessed_keys_are_read_again(dynamo: tuple[DynamoDbLeadRepository, Any]) -> None:
    repo, client = dynamo
    identities = [Identity("email", f"{n}@example.com") for n in range(10)]
    claim(repo, "c1", identities)
    flaky = _Flaky(client)
    naps: list[float] = []
    owners = DynamoDbLeadRepository(flaky, TABLE, sleep=naps.append).owners(identities)
    assert owners == {identity.key: "c1" for identity in identities}
    assert (flaky.batch_calls, len(naps)) == (2, 1)


class _SmallPages:
    """A client whose queries return at most two items a page, as a large result would come in pages."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.queries = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def query(self, **request: Any) -> dict[str, Any]:
        self.queries += 1
        return self._client.query(**{**request, "Limit": 2})


def test_account_contacts_follows_every_page(dynamo: tuple[DynamoDbLeadRepository, Any]) -> None:
    repo, client = dynamo
    # Given five contacts of acme and a client that pages every two items
    save(repo, *(_on_account(f"c{n}", "acme") for n in range(5)), create=True)
    paged = _SmallPages(client)
    # When the account's contacts are listed
    listed = DynamoDbLeadRepository(paged, TABLE, sleep=lambda _: None).account_contacts("acme")
    # Then every page was read
    assert listed == ["c0", "c1", "c2", "c3", "c4"]
    assert paged.queries == 3


def test_a_cursor_from_another_listing_is_invalid_input(dynamo: tuple[DynamoDbLeadRepository, Any]) -> None:
    repo, _ = dynamo
    for n in range(3):
        save(repo, new_contact(f"l{n}", Stage.LEAD, 10.0 * n), create=True)
        save(repo, new_contact(f"m{n}", Stage.MQL, 10.0 * n), create=True)
    lead_cursor = repo.by_stage(Stage.LEAD, None, 2, None).next_cursor
    assert lead_cursor is not None
    with pytest.raises(InvalidInput):
        repo.by_stage(Stage.MQL, None, 2, lead_cursor)
    with pytest.raises(InvalidInput):  # the cursor lies below the minimum of this query
        repo.by_stage(Stage.LEAD, 15, 2, lead_cursor)


class _Conflicting:
    """A client whose next transaction is cancelled by a concurrent one."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, TransactItems: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        response: Any = {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": [{"Code": "TransactionConflict"}] + [{"Code": "None"}] * (len(TransactItems) - 1),
        }
        raise ClientError(response, "TransactWriteItems")


def test_a_transaction_conflict_is_a_concurrent_update(dynamo: tuple[DynamoDbLeadRepository, Any]) -> None:
    _, client = dynamo
    contact = new_contact("c1")
    with pytest.raises(ConcurrentUpdate):
        save(DynamoDbLeadRepository(_Conflicting(client), TABLE), contact, create=True)
    assert contact.version == 0


def test_more_contacts_than_one_transaction_holds_are_refused(dynamo: tuple[DynamoDbLeadRepository, Any]) -> None:
    repo, _ = dynamo
    with pytest.raises(ValueError, match="at most 100"):
        save(repo, *[new_contact(f"c{n}") for n in range(101)])
