"""One contract, two product stores: the DynamoDB adapter (over moto) and the in-memory fake behave alike.

The contract is `shared.success.ports.ProductStore`: feedback, launches and CS campaigns, each kept once under
its key, a repeat answering with the one kept (nothing written); feedback listed (all, or a feature's) by
feature, then in the order received. Where its docstrings are silent, these tests pin what both
implementations do: feedback is kept once per feature and key (its sort key `<feature>#<key>`), a feature's
listing never takes another feature's feedback, even one whose name it begins (`sso`, `sso-admin`) or one with
`#` or `%` in its name; ties in time are ordered by key; datetimes come back in UTC, absent fields as None, empty
lists as empty tuples; an unknown id is None; an empty key or id, a naive datetime, a launch date that is a
datetime or a list holding other than text is a ValueError, an item or key over DynamoDB's limits
TooLargeToStore, nothing written.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from shared.adapters.dynamodb_success import WRITE_ATTEMPTS, DynamoDbHealthStore, WriteConflict
from shared.leads.ports import TooLargeToStore
from shared.success.campaigns import Audience, CampaignKind, CsCampaign
from shared.success.feedback import Feedback, FeedbackKind
from shared.success.ports import SuccessStore
from shared.success.product import Launch
from tests.integration import success_store_fixtures as fixtures
from tests.integration.dynamodb_doubles import SmallPages, counted_calls
from tests.integration.success_store_fixtures import ACME, EAST, TABLE, stored_item

# The success store's fixtures: `store` (both stores), `dynamo` (the adapter and its client).
success_table, store, dynamo = fixtures.success_table, fixtures.store, fixtures.dynamo

RECEIVED = datetime(2026, 11, 20, 9, 0, 0, 250000, tzinfo=UTC)
OTHER = "acct-globex"


# ------------------------------------------------------------------------------------------------- builders


def said(key: str = "fb-1", feature: str = "sso", received_at: datetime = RECEIVED, **changes: Any) -> Feedback:
    fields: dict[str, Any] = {
        "feedback_key": f"id:{key}",
        "tenant_id": ACME,
        "feature": feature,
        "kind": FeedbackKind.REQUEST,
        "text": "SAML for the admin console",
        "source": "call",
        "received_at": received_at,
        "digest": f"digest-{key}",
    }
    return Feedback(**{**fields, **changes})


def launching(launch_id: str = "ln-1", **changes: Any) -> Launch:
    fields: dict[str, Any] = {
        "launch_id": launch_id,
        "feature": "sso",
        "launch_date": date(2026, 12, 1),
        "target_bands": ("green", "yellow"),
        "messaging": "Single sign-on is here",
        "created_at": RECEIVED,
        "digest": f"digest-{launch_id}",
        "target_tenants": (ACME, OTHER),
        "target_segments": ("enterprise", "mid_market"),
    }
    return Launch(**{**fields, **changes})


def requesting(campaign_id: str = "cp-1", **changes: Any) -> CsCampaign:
    fields: dict[str, Any] = {
        "campaign_id": campaign_id,
        "kind": CampaignKind.ADVOCACY,
        "name": "Spring references",
        "audience": Audience(bands=("green",), min_nps=9, max_nps=None, advocates_only=True),
        "requested_by": "csm@example.com",
        "created_at": RECEIVED,
        "tenants": (ACME,),
        "digest": f"digest-{campaign_id}",
    }
    return CsCampaign(**{**fields, **changes})


def keys(feedback: list[Feedback]) -> list[tuple[str, str]]:
    return [(one.feature, one.feedback_key) for one in feedback]


# ------------------------------------------------------------------------------------------------- feedback


def test_feedback_is_kept_once(store: SuccessStore) -> None:
    # Given feedback kept
    first = said("fb-1")
    assert store.add_feedback(first) is None

    # When the same feedback is added again, and another body under its feature and key, later
    again = store.add_feedback(first)
    other = store.add_feedback(said("fb-1", text="Teams alerts", digest="another", received_at=RECEIVED + timedelta(1)))

    # Then each answer is the first, unchanged, and only the first is kept
    assert again == first
    assert other == first
    assert store.feedback() == [first]
    assert store.feedback("sso") == [first]


def test_the_same_key_under_another_feature_is_other_feedback(store: SuccessStore) -> None:
    # Given feedback kept under a key
    assert store.add_feedback(said("fb-1", feature="sso")) is None

    # When feedback of another feature comes under that key
    answer = store.add_feedback(said("fb-1", feature="alerts"))

    # Then it is kept too (feedback is kept once per feature and key)
    assert answer is None
    assert keys(store.feedback()) == [("alerts", "id:fb-1"), ("sso", "id:fb-1")]


def test_feedback_round_trips_exactly(store: SuccessStore) -> None:
    # Given feedback without contact or campaign, received in another zone, and feedback with both
    bare = said("fb-bare", received_at=RECEIVED.astimezone(EAST), kind=FeedbackKind.BUG, digest="")
    full = said(
        "fb-full",
        received_at=RECEIVED + timedelta(minutes=1),
        kind=FeedbackKind.PRAISE,
        text='café — "quoted" \\ \n text',
        source="ticket",
        contact_email="ana@acme.example",
        campaign_id="cp-1",
    )

    # When both are added and read back
    assert store.add_feedback(bare) is None
    assert store.add_feedback(full) is None
    read = store.feedback("sso")

    # Then each is as added: every field, None ones None, the time in UTC, the kind an enum
    assert read == [bare, full]
    for one in read:
        assert one.received_at.tzinfo == UTC
        assert isinstance(one.kind, FeedbackKind)
    assert (read[0].contact_email, read[0].campaign_id, read[0].digest) == (None, None, "")
    assert read[0].kind is FeedbackKind.BUG
    assert (read[1].contact_email, read[1].campaign_id) == ("ana@acme.example", "cp-1")
    assert read[1].text == 'café — "quoted" \\ \n text'
    # And a repeat answers with the stored one as exactly
    assert store.add_feedback(bare) == bare


def test_a_features_feedback_is_its_own(store: SuccessStore) -> None:
    # Given feedback of features whose names begin with another's, or hold `#` or `%`
    features = ["sso", "sso-admin", "sso#admin", "sso%23admin", "sso%", "ss", "sso#", "#"]
    for n, feature in enumerate(features):
        assert store.add_feedback(said(f"fb-{n}", feature=feature)) is None

    # When each feature's feedback is read
    # Then it is exactly that feature's
    for n, feature in enumerate(features):
        assert keys(store.feedback(feature)) == [(feature, f"id:fb-{n}")], feature
    # And a feature without feedback has none; every feature's is listed without a feature
    assert store.feedback("sso-") == []
    assert store.feedback("s") == []
    assert sorted(keys(store.feedback())) == sorted((feature, f"id:fb-{n}") for n, feature in enumerate(features))


def test_a_feature_with_a_separator_does_not_take_anothers_key(store: SuccessStore) -> None:
    # Given feedback whose feature and key joined by `#` read as another feature's and key's
    one = said("x", feature="a#b", feedback_key="c")
    other = said("y", feature="a", feedback_key="b#c")

    # When both are added
    assert store.add_feedback(one) is None
    assert store.add_feedback(other) is None

    # Then both are kept, each under its own feature
    assert store.feedback("a#b") == [one]
    assert store.feedback("a") == [other]
    assert store.feedback() == [other, one]


def test_feedback_is_listed_by_feature_then_in_the_order_received(store: SuccessStore) -> None:
    # Given feedback added out of order, its times in other zones (their local text would sort otherwise), two
    # at the same moment
    added = [
        said("b-late", feature="beta", received_at=(RECEIVED + timedelta(hours=3)).astimezone(EAST)),
        said("a-2", feature="alpha", received_at=RECEIVED + timedelta(minutes=5)),
        said("b-early", feature="beta", received_at=RECEIVED),
        said("a-1-z", feature="alpha", received_at=RECEIVED.astimezone(EAST)),
        said("a-1-a", feature="alpha", received_at=RECEIVED),
        said("a-0", feature="alpha", received_at=(RECEIVED - timedelta(hours=2)).astimezone(EAST)),
    ]
    for one in added:
        assert store.add_feedback(one) is None

    # When all, and one feature's, are read
    # Then by feature, then by time received, ties by key
    expected = [
        ("alpha", "id:a-0"),
        ("alpha", "id:a-1-a"),
        ("alpha", "id:a-1-z"),
        ("alpha", "id:a-2"),
        ("beta", "id:b-early"),
        ("beta", "id:b-late"),
    ]
    assert keys(store.feedback()) == expected
    assert keys(store.feedback("beta")) == expected[4:]
    assert keys(store.feedback("alpha")) == expected[:4]


def test_no_feedback(store: SuccessStore) -> None:
    assert store.feedback() == []
    assert store.feedback("sso") == []


# ------------------------------------------------------------------------------------------------- launches


def test_a_launch_is_kept_once(store: SuccessStore) -> None:
    # Given a launch kept
    first = launching()
    assert store.add_launch(first) is None

    # When it is added again, and another body under its id
    again = store.add_launch(first)
    other = store.add_launch(launching(feature="alerts", target_bands=(), target_tenants=(), digest="another"))

    # Then each answer is the first, unchanged, and the first is kept
    assert again == first
    assert other == first
    assert store.launch("ln-1") == first


def test_a_launch_round_trips_exactly(store: SuccessStore) -> None:
    # Given a launch targeting every band (none named) and no account, created in another zone
    empty = launching(
        "ln-empty",
        target_bands=(),
        target_tenants=(),
        target_segments=(),
        created_at=RECEIVED.astimezone(EAST),
        digest="",
    )

    # When it and a launch with targets are added and read back
    assert store.add_launch(empty) is None
    assert store.add_launch(launching("ln-full")) is None
    read = store.launch("ln-empty")
    full = store.launch("ln-full")

    # Then each is as added: empty tuples empty tuples, the date a date, the time in UTC
    assert read == empty
    assert read is not None
    assert (read.target_bands, read.target_tenants) == ((), ())
    assert type(read.launch_date) is date
    assert read.created_at.tzinfo == UTC
    assert full == launching("ln-full")
    assert full is not None
    assert isinstance(full.target_bands, tuple)
    assert isinstance(full.target_tenants, tuple)
    assert full.target_segments == ("enterprise", "mid_market")
    assert store.add_launch(empty) == empty


def test_an_unknown_launch_is_none(store: SuccessStore) -> None:
    store.add_launch(launching("ln-1"))
    assert store.launch("ln-2") is None
    assert store.launch("ln") is None


# ------------------------------------------------------------------------------------------------ campaigns


def test_a_campaign_is_kept_once(store: SuccessStore) -> None:
    # Given a campaign kept
    first = requesting()
    assert store.add_campaign(first) is None

    # When it is added again, and another body under its id
    again = store.add_campaign(first)
    other = store.add_campaign(requesting(kind=CampaignKind.RETENTION, audience=Audience(), tenants=()))

    # Then each answer is the first, unchanged, and the first is kept
    assert again == first
    assert other == first
    assert store.campaign("cp-1") == first


def test_a_campaign_round_trips_exactly(store: SuccessStore) -> None:
    # Given a campaign to any audience (no band, no NPS bounds) and no account, created in another zone; and one
    # with both bounds, one of them 0
    anyone = requesting("cp-any", audience=Audience(), tenants=(), created_at=RECEIVED.astimezone(EAST), digest="")
    bounded = requesting(
        "cp-bounded",
        kind=CampaignKind.RETENTION,
        audience=Audience(bands=("yellow", "red"), min_nps=0, max_nps=6, advocates_only=False, segments=("smb",)),
        tenants=(ACME, OTHER),
    )

    # When both are added and read back
    assert store.add_campaign(anyone) is None
    assert store.add_campaign(bounded) is None
    read = store.campaign("cp-any")
    other = store.campaign("cp-bounded")

    # Then each is as added: empty tuples, None bounds None, 0 a bound (an int), the time in UTC
    assert read == anyone
    assert read is not None
    assert read.audience == Audience((), None, None, False)
    assert read.tenants == ()
    assert read.created_at.tzinfo == UTC
    assert other == bounded
    assert other is not None
    assert (other.audience.min_nps, other.audience.max_nps) == (0, 6)
    assert type(other.audience.min_nps) is int
    assert other.kind is CampaignKind.RETENTION
    assert store.campaign("cp-1") is None
    # And the first campaign's bounds: a minimum without a maximum, advocates only
    assert store.add_campaign(requesting()) is None
    assert store.campaign("cp-1") == requesting()


# ------------------------------------------------------------------------------------------------- refusals


def test_what_cannot_be_stored_is_refused_before_writing(store: SuccessStore) -> None:
    # Given records the store cannot keep; When added; Then refused, naming why
    with pytest.raises(ValueError, match="naive"):
        store.add_feedback(said(received_at=datetime(2026, 11, 20, 9, 0)))
    for name in ("feedback_key", "tenant_id", "feature"):
        empty: dict[str, Any] = {name: ""}
        with pytest.raises(ValueError, match=f"{name} is empty"):
            store.add_feedback(said(**empty))
    with pytest.raises(ValueError, match="nope"):
        store.add_feedback(said(kind="nope"))
    with pytest.raises(TooLargeToStore, match=r"feedback id:fb-huge.*400 KB"):
        store.add_feedback(said("fb-huge", text="x" * 500_000))
    with pytest.raises(TooLargeToStore, match="its key `sk`"):
        store.add_feedback(said("fb-long", feature="f" * 1100))
    with pytest.raises(ValueError, match="launch_id is empty"):
        store.add_launch(launching(""))
    with pytest.raises(ValueError, match="launch_date is a date"):
        store.add_launch(launching(launch_date=RECEIVED))
    with pytest.raises(ValueError, match="naive"):
        store.add_launch(launching(created_at=datetime(2026, 11, 20, 9, 0)))
    with pytest.raises(ValueError, match="target_tenants holds text only"):
        store.add_launch(launching(target_tenants=(ACME, 7)))
    with pytest.raises(TooLargeToStore, match=r"launch ln-huge.*target_tenants"):
        store.add_launch(launching("ln-huge", target_tenants=tuple(f"acct-{n:08d}" for n in range(40_000))))
    with pytest.raises(TooLargeToStore, match="its key `pk`"):
        store.add_launch(launching("l" * 2100))
    with pytest.raises(ValueError, match="campaign_id is empty"):
        store.add_campaign(requesting(""))
    with pytest.raises(ValueError, match="bands holds text only"):
        store.add_campaign(requesting(audience=Audience(bands=(None,))))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="nope"):
        store.add_campaign(requesting(kind="nope"))
    with pytest.raises(TooLargeToStore, match=r"campaign cp-huge.*400 KB"):
        store.add_campaign(requesting("cp-huge", name="x" * 500_000))

    # And nothing was written
    assert store.feedback() == []
    for launch_id in ("ln-1", "ln-huge"):
        assert store.launch(launch_id) is None
    for campaign_id in ("cp-1", "cp-huge"):
        assert store.campaign(campaign_id) is None


# ------------------------------------------------------------------------------------------ DynamoDB only


class BareRefusals:
    """A client whose PutItem refusals carry no item (as without ALL_OLD), and whose next `phantoms` PutItems
    are refused by their condition without being tried (as when the item found is gone by the time it is
    read)."""

    def __init__(self, client: Any, phantoms: int = 0) -> None:
        self._client, self.phantoms = client, phantoms

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_item(self, **request: Any) -> dict[str, Any]:
        refusal: Any = {"Error": {"Code": "ConditionalCheckFailedException", "Message": "The condition failed"}}
        if self.phantoms > 0:
            self.phantoms -= 1
            raise ClientError(refusal, "PutItem")
        try:
            result: dict[str, Any] = self._client.put_item(**request)
        except ClientError as exc:
            response: Any = exc.response
            response.pop("Item", None)
            raise
        return result


def test_item_layout(dynamo: tuple[DynamoDbHealthStore, Any]) -> None:
    repo, client = dynamo
    # Feedback: in the FEEDBACK partition under `<feature>#<key>`, its time in UTC; no attribute for None
    repo.add_feedback(said("fb-1", received_at=RECEIVED.astimezone(EAST)))
    assert stored_item(client, "FEEDBACK", "sso#id:fb-1") == {
        "pk": {"S": "FEEDBACK"},
        "sk": {"S": "sso#id:fb-1"},
        "feedback_key": {"S": "id:fb-1"},
        "tenant_id": {"S": ACME},
        "feature": {"S": "sso"},
        "kind": {"S": "request"},
        "text": {"S": "SAML for the admin console"},
        "source": {"S": "call"},
        "received_at": {"S": "2026-11-20T09:00:00.250000+00:00"},
        "digest": {"S": "digest-fb-1"},
    }
    repo.add_feedback(said("fb-2", contact_email="ana@acme.example", campaign_id="cp-1"))
    stored = stored_item(client, "FEEDBACK", "sso#id:fb-2")
    assert (stored["contact_email"], stored["campaign_id"]) == ({"S": "ana@acme.example"}, {"S": "cp-1"})
    # A feature's `%` and `#` are escaped in the sort key, kept as given in `feature`
    repo.add_feedback(said("fb-3", feature="sso#100%"))
    escaped = stored_item(client, "FEEDBACK", "sso%23100%25#id:fb-3")
    assert escaped["feature"] == {"S": "sso#100%"}
    # A launch: its date ISO text, its targets lists of text (an empty one empty)
    repo.add_launch(launching(target_bands=()))
    assert stored_item(client, "LAUNCH#ln-1", "LAUNCH") == {
        "pk": {"S": "LAUNCH#ln-1"},
        "sk": {"S": "LAUNCH"},
        "launch_id": {"S": "ln-1"},
        "feature": {"S": "sso"},
        "launch_date": {"S": "2026-12-01"},
        "target_bands": {"L": []},
        "target_tenants": {"L": [{"S": ACME}, {"S": OTHER}]},
        "target_segments": {"L": [{"S": "enterprise"}, {"S": "mid_market"}]},  # only when it names some
        "messaging": {"S": "Single sign-on is here"},
        "created_at": {"S": "2026-11-20T09:00:00.250000+00:00"},
        "digest": {"S": "digest-ln-1"},
    }
    # A campaign: its audience's fields, no attribute for a None bound
    repo.add_campaign(requesting())
    assert stored_item(client, "CAMPAIGN#cp-1", "CAMPAIGN") == {
        "pk": {"S": "CAMPAIGN#cp-1"},
        "sk": {"S": "CAMPAIGN"},
        "campaign_id": {"S": "cp-1"},
        "kind": {"S": "advocacy"},
        "name": {"S": "Spring references"},
        "bands": {"L": [{"S": "green"}]},
        "min_nps": {"N": "9"},
        "advocates_only": {"BOOL": True},
        "tenants": {"L": [{"S": ACME}]},
        "requested_by": {"S": "csm@example.com"},
        "created_at": {"S": "2026-11-20T09:00:00.250000+00:00"},
        "digest": {"S": "digest-cp-1"},
    }


def test_aws_calls_per_method(dynamo: tuple[DynamoDbHealthStore, Any]) -> None:
    repo, client = dynamo
    _, count = counted_calls(client)
    assert count(lambda: repo.add_feedback(said())) == ["PutItem"]
    # the stored one comes with the refusal: no read after it
    assert count(lambda: repo.add_feedback(said())) == ["PutItem"]
    assert count(lambda: repo.feedback()) == ["Query"]
    assert count(lambda: repo.feedback("sso")) == ["Query"]
    assert count(lambda: repo.add_launch(launching())) == ["PutItem"]
    assert count(lambda: repo.add_launch(launching())) == ["PutItem"]
    assert count(lambda: repo.launch("ln-1")) == ["GetItem"]
    assert count(lambda: repo.add_campaign(requesting())) == ["PutItem"]
    assert count(lambda: repo.add_campaign(requesting())) == ["PutItem"]
    assert count(lambda: repo.campaign("cp-1")) == ["GetItem"]
    with pytest.raises(TooLargeToStore):
        count(lambda: repo.add_feedback(said("fb-huge", text="x" * 500_000)))
    assert count(lambda: None) == []


def test_the_reads_are_strongly_consistent(dynamo: tuple[DynamoDbHealthStore, Any]) -> None:
    repo, client = dynamo
    asked: list[dict[str, Any]] = []
    client.meta.events.register("provide-client-params.dynamodb.*", lambda params, **_: asked.append(params))
    repo.feedback()
    repo.feedback("sso")
    repo.launch("ln-1")
    repo.campaign("cp-1")
    assert [params.get("ConsistentRead") for params in asked] == [True] * 4


def test_feedback_reads_follow_every_page(dynamo: tuple[DynamoDbHealthStore, Any]) -> None:
    # Given more feedback than a page holds, of two features
    repo, client = dynamo
    for n in range(7):
        repo.add_feedback(said(f"fb-{n}", feature="sso" if n % 2 else "alerts", received_at=RECEIVED - timedelta(n)))
    paged = SmallPages(client)
    small = DynamoDbHealthStore(paged, TABLE)

    # When read a page of 2 at a time; Then every one is read, in the listing's order
    assert small.feedback() == repo.feedback()
    assert len(small.feedback()) == 7
    assert small.feedback("sso") == repo.feedback("sso")
    assert len(small.feedback("sso")) == 3
    assert paged.queries >= 4 + 2


def test_a_refusal_without_its_item_is_read(dynamo: tuple[DynamoDbHealthStore, Any]) -> None:
    # Given records kept, and a client whose refusals carry no item (as without ALL_OLD)
    repo, client = dynamo
    repo.add_feedback(said())
    repo.add_launch(launching())
    repo.add_campaign(requesting())
    bare = DynamoDbHealthStore(BareRefusals(client), TABLE)
    _, count = counted_calls(client)

    # When each is added again; Then the stored one is read (a strongly consistent GetItem) and answers
    assert count(lambda: bare.add_feedback(said(text="other"))) == ["PutItem", "GetItem"]
    assert bare.add_feedback(said(text="other")) == said()
    assert bare.add_launch(launching(feature="other")) == launching()
    assert bare.add_campaign(requesting(name="other")) == requesting()


def test_a_refusal_whose_item_is_gone_is_written_again(dynamo: tuple[DynamoDbHealthStore, Any]) -> None:
    repo, client = dynamo
    # Given refusals whose item is gone by the read, fewer times than the attempts; When added; Then written
    flaky = BareRefusals(client, phantoms=WRITE_ATTEMPTS - 1)
    assert DynamoDbHealthStore(flaky, TABLE).add_launch(launching()) is None
    assert flaky.phantoms == 0
    assert repo.launch("ln-1") == launching()
    # Given such refusals every time; When added; Then WriteConflict, nothing written
    always = BareRefusals(client, phantoms=WRITE_ATTEMPTS)
    with pytest.raises(WriteConflict, match=r"campaign cp-1 was found stored and then gone, 4 times"):
        DynamoDbHealthStore(always, TABLE).add_campaign(requesting())
    assert repo.campaign("cp-1") is None


def test_other_errors_propagate(dynamo: tuple[DynamoDbHealthStore, Any]) -> None:
    # Given a client whose writes DynamoDB refuses for another cause than the condition (throttled)
    repo, client = dynamo

    class Throttled:
        def __getattr__(self, name: str) -> Any:
            return getattr(client, name)

        def put_item(self, **request: Any) -> dict[str, Any]:
            error: Any = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}
            raise ClientError(error, "PutItem")

    # When added through a throttled client; Then the error propagates, nothing written
    with pytest.raises(ClientError, match="ProvisionedThroughputExceeded"):
        DynamoDbHealthStore(Throttled(), TABLE).add_feedback(said())
    assert repo.feedback() == []
