"""Product and CS <-> marketing on the running hub: feedback ranked by the ARR of the accounts asking (their
Stripe payments), kept once; an account's product analytics; a launch published for marketing and its
adoption followed; the marketing view of an account's health; a CS campaign whose audience is resolved by band,
NPS and customer segment. Every route refuses the groups it should."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import settle, started_hub, token
from tests.e2e.customers import Customer


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("product") / "hub.json"
    with started_hub(Path(state)) as (url, _):
        yield url


def call(hub: str, method: str, path: str, group: str, body: Any = None, **params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token(group)}"}
    return requests.request(method, f"{hub}{path}", json=body, params=params, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def accounts(hub: str) -> dict[str, Customer]:
    """A large customer that paid 12,000.00 this year, two small ones that paid 100.00 each; the large one a
    promoter using its seats heavily, the small ones silent."""
    large, small_1, small_2 = (Customer(hub).create() for _ in range(3))
    large.pays("annual", 1_200_000)
    small_1.pays("m1", 10_000)
    small_2.pays("m1", 10_000)
    assert (
        large.usage(
            "u-1", active=18, seats=20, features=6, names=["reports", "dashboards", "sso", "api", "alerts", "exports"]
        ).status_code
        == 201
    )
    large.nps(10)
    settle(hub)
    return {"large": large, "small_1": small_1, "small_2": small_2}


def feedback(hub: str, customer: Customer, feature: str, text: str, **extra: Any) -> requests.Response:
    body = {
        "tenant_id": customer.domain,
        "feature": feature,
        "kind": "request",
        "text": text,
        "source": "call",
        **extra,
    }
    return call(hub, "POST", "/api/v1/integrations/product/feedback", "product", body)


def test_requests_rank_by_the_arr_of_the_accounts_asking(hub: str, accounts: dict[str, Customer]) -> None:
    # Given SSO asked for three times by the two small accounts, exports once by the large one
    for customer, text in (
        (accounts["small_1"], "need SAML"),
        (accounts["small_1"], "SSO for Okta"),
        (accounts["small_2"], "SSO"),
    ):
        assert feedback(hub, customer, "sso", text).status_code == 201
    assert feedback(hub, accounts["large"], "exports", "CSV exports of every report").status_code == 201
    # When the requests are ranked
    answer = call(hub, "GET", "/api/v1/integrations/product/feedback", "sales")
    assert answer.status_code == 200, answer.text
    ranking = answer.json()["ranking"]
    # Then the large account's one request outranks the small accounts' three: demand weighs ARR, not mentions
    assert [(r["feature"], r["mentions"], r["arr_weighted_demand"]) for r in ranking] == [
        ("exports", 1, "12000.00"),
        ("sso", 3, "200.00"),
    ]
    assert [a["arr"] for a in ranking[1]["accounts"]] == ["100.00", "100.00"]


def test_feedback_is_kept_once(hub: str, accounts: dict[str, Customer]) -> None:
    small = accounts["small_2"]
    again = feedback(hub, small, "sso", "  sso ")  # the same words, spacing and case aside
    assert (again.status_code, again.json()["text"]) == (200, "SSO")
    assert feedback(hub, small, "alerts", "Slack alerts", feedback_id="fb-1").status_code == 201
    assert feedback(hub, small, "alerts", "Teams alerts", feedback_id="fb-1").status_code == 409
    assert feedback(hub, Customer(hub), "alerts", "x").status_code == 404  # an account the hub does not know


def test_product_analytics_show_use_seats_and_expansion(hub: str, accounts: dict[str, Customer]) -> None:
    answer = call(hub, "GET", f"/api/v1/integrations/product/analytics/{accounts['large'].domain}", "product")
    assert answer.status_code == 200, answer.text
    analytics = answer.json()
    assert len(analytics["features"]) == 6
    assert (analytics["licensed_seats"], analytics["seat_utilization"]) == (20, "0.9000")
    assert analytics["expansion_ready"] is True
    assert "analytics_pro" in analytics["suggestions"]


def test_a_launch_is_published_for_marketing_and_its_adoption_followed(hub: str, accounts: dict[str, Customer]) -> None:
    launch_id = f"launch-{uuid.uuid4().hex[:8]}"
    body = {
        "launch_id": launch_id,
        "feature": "sso",
        "launch_date": datetime.now(UTC).date().isoformat(),
        "target_bands": ["green"],
        "messaging": "Single sign-on on every plan",
    }
    created = call(hub, "POST", "/api/v1/integrations/product/launches", "marketing", body)
    assert created.status_code == 201, created.text
    assert call(hub, "POST", "/api/v1/integrations/product/launches", "product", body).status_code == 200
    events = requests.get(f"{hub}/_local/events", params={"detail-type": "product.launch_scheduled"}, timeout=10).json()
    (scheduled,) = [e for e in events if e["detail"]["launch_id"] == launch_id]
    large = accounts["large"]
    assert large.tenant in scheduled["detail"]["tenant_ids"]
    # When the large account uses SSO after the launch
    assert large.usage(f"u-{launch_id}", active=18, seats=20, features=1, names=["sso"]).status_code == 201
    view = call(hub, "GET", f"/api/v1/integrations/product/launches/{launch_id}", "product").json()
    assert large.tenant in view["adopted"]


def test_marketing_sees_advocacy_and_requests_a_campaign_for_promoters(hub: str, accounts: dict[str, Customer]) -> None:
    large = accounts["large"]
    view = call(hub, "GET", f"/api/v1/cs-marketing/health/{large.domain}", "marketing").json()
    assert (view["band"], view["nps"], view["advocacy_eligible"], view["suppressed"]) == ("green", 10, True, False)
    campaign_id = f"advocacy-{uuid.uuid4().hex[:8]}"
    body = {
        "campaign_id": campaign_id,
        "kind": "advocacy",
        "name": "Q1 case studies",
        "audience": {"advocates_only": True},
    }
    answer = call(hub, "POST", "/api/v1/cs-marketing/campaigns", "success", body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["tenant_ids"] == [large.tenant]
    settle(hub)
    events = requests.get(
        f"{hub}/_local/events", params={"detail-type": "marketing.campaign_requested"}, timeout=10
    ).json()
    (requested,) = [e for e in events if e["detail"]["campaign_id"] == campaign_id]
    assert requested["detail"]["tenant_ids"] == [large.tenant]
    assert requested["detail"]["contact_ids"]


def test_a_campaign_audience_with_an_empty_nps_range_is_refused_and_its_id_stays_free(hub: str) -> None:
    # Given a campaign whose audience asks for an NPS of at least 9 and at most 3
    body = {
        "campaign_id": f"nps-{uuid.uuid4().hex[:8]}",
        "kind": "advocacy",
        "name": "Nobody",
        "audience": {"min_nps": 9, "max_nps": 3},
    }
    # When it is requested
    refused = call(hub, "POST", "/api/v1/cs-marketing/campaigns", "success", body)
    # Then it is a 422 naming the range, and the id is still free for the corrected request
    assert refused.status_code == 422, refused.text
    assert "min_nps 9 is above max_nps 3" in refused.text
    body["audience"] = {"min_nps": 3, "max_nps": 9}
    assert call(hub, "POST", "/api/v1/cs-marketing/campaigns", "success", body).status_code == 201


def test_a_campaigns_audience_and_a_launch_can_name_customer_segments(hub: str, accounts: dict[str, Customer]) -> None:
    # Given three accounts that paid 12,000.00 and 100.00 this year: all SMB by the shipped model's segments
    large = accounts["large"]
    view = call(hub, "GET", f"/api/v1/cs-marketing/health/{large.domain}", "marketing").json()
    assert view["segment"] == "smb"
    health = call(hub, "GET", f"/api/v1/integrations/success/health/{large.domain}", "success").json()
    assert health["segment"] == "smb"

    # When a retention campaign names the enterprise segment, another the SMB one, and a third a segment no one has
    def campaign(segments: list[str]) -> requests.Response:
        body = {
            "campaign_id": f"seg-{uuid.uuid4().hex[:8]}",
            "kind": "retention",
            "name": "Renewal check",
            "audience": {"segments": segments},
        }
        return call(hub, "POST", "/api/v1/cs-marketing/campaigns", "success", body)

    enterprise, smb, unknown = campaign(["enterprise"]), campaign(["smb"]), campaign(["giant"])
    # Then the enterprise one reaches no one, the SMB one every account, and the unknown one is a 422 naming it
    assert enterprise.status_code == 201, enterprise.text
    assert enterprise.json()["tenant_ids"] == []
    assert {c.tenant for c in accounts.values()} <= set(smb.json()["tenant_ids"])
    assert unknown.status_code == 422
    assert "audience.segments" in unknown.text
    assert "giant" in unknown.text
    # And a launch for enterprise accounts targets none of them, and says so on its event
    launch_id = f"launch-{uuid.uuid4().hex[:8]}"
    body = {
        "launch_id": launch_id,
        "feature": "audit_log",
        "launch_date": datetime.now(UTC).date().isoformat(),
        "target_segments": ["enterprise"],
        "messaging": "Audit log for enterprise plans",
    }
    created = call(hub, "POST", "/api/v1/integrations/product/launches", "product", body)
    assert created.status_code == 201, created.text
    assert (created.json()["target_segments"], created.json()["targeted"]) == (["enterprise"], 0)
    events = requests.get(f"{hub}/_local/events", params={"detail-type": "product.launch_scheduled"}, timeout=10).json()
    (scheduled,) = [e for e in events if e["detail"]["launch_id"] == launch_id]
    assert scheduled["detail"]["target_segments"] == ["enterprise"]


@pytest.mark.parametrize(
    ("method", "path", "allowed", "refused"),
    [
        (
            "GET",
            "/api/v1/integrations/product/feedback",
            ("product", "success", "sales", "admin"),
            ("marketing", "finance"),
        ),
        (
            "GET",
            "/api/v1/integrations/product/analytics/{domain}",
            ("product", "success", "admin"),
            ("sales", "marketing", "finance"),
        ),
        (
            "GET",
            "/api/v1/cs-marketing/health/{domain}",
            ("marketing", "success", "admin"),
            ("sales", "product", "finance"),
        ),
        (
            "GET",
            "/api/v1/integrations/success/playbooks",
            ("success", "admin"),
            ("sales", "marketing", "product", "finance"),
        ),
        (
            "GET",
            "/api/v1/cs-sales/expansion/{domain}",
            ("sales", "success", "admin"),
            ("marketing", "product", "finance"),
        ),
    ],
)
def test_every_read_route_refuses_the_groups_it_should(
    hub: str, accounts: dict[str, Customer], method: str, path: str, allowed: tuple[str, ...], refused: tuple[str, ...]
) -> None:
    route = path.format(domain=accounts["large"].domain)
    for group in refused:
        assert call(hub, method, route, group).status_code == 403, group
    for group in allowed:
        answer = call(hub, method, route, group)
        assert answer.status_code == 200, (group, answer.text)
    assert requests.request(method, f"{hub}{route}", timeout=10).status_code == 401
