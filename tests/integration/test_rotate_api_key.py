"""`make rotate-api-key` over moto's API Gateway: a partner's new key joins its usage plan, the old one stays enabled
for the overlap window and is retired by the first run after it; the key's value is printed once and never recorded."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

import ops.rotate_api_key as rotate_api_key
from ops.rotate_api_key import OVERLAP_UNTIL_TAG, PARTNER_TAG, REPLACES_TAG, main, rotate
from shared.api_clients import Partner, Quota, usage_plan_name
from tests.audit_fakes import InMemoryAuditStore

STAGE = "dev"
PARTNER = Partner(
    name="acme-leads",
    description="A partner posting leads",
    rate_per_second=5,
    burst=10,
    quota=Quota(limit=1000, period="DAY"),
)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


@pytest.fixture
def apigateway() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("apigateway", region_name="us-east-1")
        # Given the partner's usage plan, as the stack creates it from config/api-clients.json
        client.create_usage_plan(
            name=usage_plan_name(STAGE, PARTNER.name),
            throttle={"rateLimit": PARTNER.rate_per_second, "burstLimit": PARTNER.burst},
            quota={"limit": PARTNER.quota.limit, "period": PARTNER.quota.period},
        )
        yield client


def plan_keys(apigateway: Any) -> dict[str, dict[str, Any]]:
    """The keys of the partner's plan, by id, with their value, state and tags."""
    [plan] = [p for p in apigateway.get_usage_plans()["items"] if p["name"] == usage_plan_name(STAGE, PARTNER.name)]
    ids = [k["id"] for k in apigateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]]
    return {key_id: apigateway.get_api_key(apiKey=key_id, includeValue=True) for key_id in ids}


def all_key_ids(apigateway: Any) -> set[str]:
    return {key["id"] for key in apigateway.get_api_keys()["items"]}


def test_the_first_rotation_issues_the_partners_first_key(apigateway: Any) -> None:
    # When the partner's key is rotated for the first time
    rotation = rotate(apigateway, STAGE, PARTNER, DAY, T0)
    # Then its plan holds one enabled key, whose value the run returns, tagged with the partner and replacing nothing
    keys = plan_keys(apigateway)
    assert list(keys) == [rotation.issued]
    key = keys[rotation.issued]
    assert (key["enabled"], key["value"]) == (True, rotation.value)
    assert key["tags"][PARTNER_TAG] == PARTNER.name
    assert REPLACES_TAG not in key["tags"]
    assert (rotation.kept_until, rotation.retired) == ({}, [])


def test_the_old_key_stays_enabled_for_the_overlap_and_the_first_run_after_it_retires_it(apigateway: Any) -> None:
    # Given the partner's current key
    first = rotate(apigateway, STAGE, PARTNER, DAY, T0 - timedelta(days=30))
    # When it is rotated with a day of overlap
    second = rotate(apigateway, STAGE, PARTNER, DAY, T0)
    # Then both keys are in the plan and enabled, the new one naming the old and the end of the overlap
    keys = plan_keys(apigateway)
    assert set(keys) == {first.issued, second.issued}
    assert all(key["enabled"] for key in keys.values())
    assert keys[second.issued]["tags"][REPLACES_TAG] == first.issued
    assert datetime.fromisoformat(keys[second.issued]["tags"][OVERLAP_UNTIL_TAG]) == T0 + DAY
    assert second.kept_until == {first.issued: T0 + DAY}
    # And a run before the overlap ends retires nothing
    early = rotate(apigateway, STAGE, PARTNER, DAY, T0 + DAY - timedelta(minutes=1), issue=False)
    assert early.retired == []
    assert set(plan_keys(apigateway)) == {first.issued, second.issued}
    # And the first run after it retires the old key: out of the plan and deleted; the new one stays
    due = rotate(apigateway, STAGE, PARTNER, DAY, T0 + DAY, issue=False)
    assert due.retired == [first.issued]
    assert set(plan_keys(apigateway)) == {second.issued}
    assert first.issued not in all_key_ids(apigateway)
    assert due.issued is None
    assert due.value is None


def test_no_overlap_retires_the_old_key_in_the_same_run(apigateway: Any) -> None:
    first = rotate(apigateway, STAGE, PARTNER, DAY, T0 - DAY)
    second = rotate(apigateway, STAGE, PARTNER, timedelta(0), T0)
    assert set(plan_keys(apigateway)) == {second.issued}
    assert second.retired == [first.issued]
    assert first.issued not in all_key_ids(apigateway)


def test_rotating_twice_within_the_overlap_keeps_each_old_key_for_its_own_window(apigateway: Any) -> None:
    # Given keys rotated at T0 and again 6 hours later, each with a day of overlap
    first = rotate(apigateway, STAGE, PARTNER, DAY, T0 - DAY * 10)
    second = rotate(apigateway, STAGE, PARTNER, DAY, T0)
    third = rotate(apigateway, STAGE, PARTNER, DAY, T0 + timedelta(hours=6))
    assert set(plan_keys(apigateway)) == {first.issued, second.issued, third.issued}
    # When a run comes after the first overlap and before the second ends
    run = rotate(apigateway, STAGE, PARTNER, DAY, T0 + DAY + timedelta(hours=1), issue=False)
    # Then only the first key is retired; the second stays until its own window ends
    assert run.retired == [first.issued]
    assert set(plan_keys(apigateway)) == {second.issued, third.issued}
    later = rotate(apigateway, STAGE, PARTNER, DAY, T0 + DAY + timedelta(hours=6), issue=False)
    assert later.retired == [second.issued]
    assert set(plan_keys(apigateway)) == {third.issued}


def test_a_stage_without_the_partners_plan_is_refused_and_nothing_is_issued(apigateway: Any) -> None:
    stranger = PARTNER.model_copy(update={"name": "not-deployed"})
    with pytest.raises(rotate_api_key.CannotRun, match="deploy the stage"):
        rotate(apigateway, STAGE, stranger, DAY, T0)
    assert all_key_ids(apigateway) == set()


@contextlib.contextmanager
def recorded(store: InMemoryAuditStore, monkeypatch: pytest.MonkeyPatch, apigateway: Any) -> Iterator[None]:
    """main() against moto's API Gateway, its run recorded in `store`; the configured partner is PARTNER."""
    real_audited_run = rotate_api_key.audited_run

    def audited_run(command: str, args: dict[str, object], stage: str | None = None) -> Any:
        return real_audited_run(command, args, stage, store=store, actor="arn:aws:iam::123456789012:user/ops")

    class Config:
        def partner(self, name: str) -> Partner:
            if name != PARTNER.name:
                raise KeyError(f"no partner {name!r} in config/api-clients.json (configured: {PARTNER.name})")
            return PARTNER

    monkeypatch.setattr(rotate_api_key, "audited_run", audited_run)
    monkeypatch.setattr(rotate_api_key, "load_api_clients", Config)
    monkeypatch.setattr(rotate_api_key, "stage_clients", lambda stage, endpoint: lambda service: apigateway)
    yield


def test_the_command_prints_the_new_key_once_and_records_the_run_without_it(
    apigateway: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = InMemoryAuditStore()
    with recorded(store, monkeypatch, apigateway):
        # When an operator rotates the partner's key on dev
        status = main([PARTNER.name, "--stage", STAGE, "--overlap-hours", "12"])
    out, err = capsys.readouterr()
    # Then stdout is the new key's value alone, the summary is on stderr
    [key] = plan_keys(apigateway).values()
    assert status == 0
    assert out == f"{key['value']}\n"
    assert f"new key {key['id']} issued" in err
    assert key["value"] not in err
    # And the run is in the audit trail, started and finished, naming the key by id and never its value
    assert [(r.phase.value, r.outcome.value) for r in store.records] == [
        ("started", "pending"),
        ("finished", "succeeded"),
    ]
    assert [(t.field, t.id) for t in store.records[-1].targets] == [("api_key", key["id"])]
    assert key["value"] not in repr(store.records)
    assert store.records[0].detail["arg.partner"] == PARTNER.name


def test_an_unknown_partner_is_a_one_line_error(
    apigateway: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = InMemoryAuditStore()
    with recorded(store, monkeypatch, apigateway):
        status = main(["nobody", "--stage", STAGE])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1
    assert "no partner 'nobody'" in err
    assert "acme-leads" in err
    assert all_key_ids(apigateway) == set()
    assert store.records == []


def test_an_overlap_out_of_range_is_refused_before_anything_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([PARTNER.name, "--stage", STAGE, "--overlap-hours", "-1"])
    assert exit_.value.code == 2
