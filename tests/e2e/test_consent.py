"""Consent on the running hub, over real HTTP: a Segment identify that withdraws marketing keeps later tracking
from raising the score (the breakdown says why and still sums to it), and a later grant brings back only what
came under consent; a HubSpot opt-out property change withdraws consent on the lead and its opt-in restores
the score; a captured lead keeps the consent its form collected, and a malformed consent is refused naming it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

from tests.e2e.conftest import eventually, send_hubspot_property_change, token

WRITE_KEY = "local-write-key-dev-only"


def api(hub: str, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token('marketing')}"}
    return requests.request(method, f"{hub}{path}", headers=headers, timeout=30, **kwargs)


class Person:
    def __init__(self, hub: str) -> None:
        run = uuid.uuid4().hex[:10]
        self.hub, self.run = hub, run
        self.email = f"lee.{run}@heron-{run}.io"
        self.user_id = f"user-{run}"
        self.hubspot_id = int(run, 16) % 10**9
        self.lead_id = ""

    def capture(self, **extra: Any) -> requests.Response:
        body = {"email": self.email, "source": "e2e consent form", "lead_type": "b2c", **extra}
        response = api(self.hub, "POST", "/api/v1/integrations/sales/leads", json=body)
        if response.status_code in (200, 201):
            self.lead_id = response.json()["lead_id"]
        return response

    def segment(self, call: str, marketing: bool | None = None, **fields: Any) -> None:
        """A Segment call as analytics.js sends it, with the CMP's consent object when `marketing` is given."""
        context: dict[str, Any] = {}
        if marketing is not None:
            context["consent"] = {"categoryPreferences": {"Marketing": marketing, "Analytics": True}}
        message = {
            "userId": self.user_id,
            "messageId": uuid.uuid4().hex,
            "timestamp": datetime.now(UTC).isoformat(),
            "context": context,
            **fields,
        }
        response = requests.post(f"{self.hub}/v1/{call}", json=message, auth=(WRITE_KEY, ""), timeout=10)
        assert response.status_code == 200, response.text

    def identify(self, marketing: bool | None = None) -> None:
        self.segment("identify", marketing, traits={"email": self.email})

    def page(self, marketing: bool | None, n: int) -> None:
        self.segment("page", marketing, name=f"Post {n}", properties={"path": f"/blog/post-{n}"})

    def hubspot(self, prop: str, value: str) -> None:
        response = send_hubspot_property_change(self.hub, self.hubspot_id, prop, value, change_source="CRM_UI")
        assert response.status_code == 202, response.text

    def lead(self) -> dict[str, Any]:
        response = api(self.hub, "GET", f"/api/v1/leads/{self.lead_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def once(self, condition: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The lead, once `condition` holds of it (the bus delivers in the background)."""
        return dict(eventually(lambda: (lead := self.lead()) and condition(lead) and lead))

    def page_views(self, lead: dict[str, Any]) -> list[dict[str, Any]]:
        return [line for line in lead["breakdown"] if line["detail"].startswith("page_view")]


def sums_exactly(lead: dict[str, Any]) -> bool:
    return round(sum(line["points"] for line in lead["breakdown"]), 2) == lead["score"]


def test_a_segment_withdrawal_keeps_later_tracking_from_scoring_and_a_grant_restores_only_consented(hub: str) -> None:
    # Given a captured lead who identifies and reads a post with consent
    person = Person(hub)
    assert person.capture().status_code == 201
    person.identify(marketing=True)
    person.page(marketing=True, n=0)
    browsed = person.once(lambda lead: len(person.page_views(lead)) == 1)
    assert browsed["score"] > 0
    # When they withdraw marketing consent in the CMP (the next identify says so) and keep reading
    person.identify(marketing=False)
    eventually(lambda: person.lead()["consent"]["purposes"]["marketing"]["state"] == "withdrawn")
    for n in (1, 2, 3):
        person.page(marketing=False, n=n)
    lead = person.once(lambda lead: len(person.page_views(lead)) == 4)
    # Then no page view scores: each is in the breakdown at 0 with why, and the breakdown sums to the score
    assert lead["score"] < browsed["score"]
    assert all(line["points"] == 0 and "consent withdrawn" in line["excluded"] for line in person.page_views(lead))
    assert sums_exactly(lead)
    consent = lead["consent"]
    assert consent["purposes"]["marketing"]["source"] == "segment"
    assert "Marketing = false" in consent["purposes"]["marketing"]["detail"]
    assert (consent["tracked_engagement_scored"], consent["nurtured"]) == (False, False)
    assert [(c["purpose"], c["state"]) for c in consent["history"] if c["purpose"] == "marketing"] == [
        ("marketing", "granted"),
        ("marketing", "withdrawn"),
    ]
    # When they grant it again and read once more
    person.identify(marketing=True)
    eventually(lambda: person.lead()["consent"]["purposes"]["marketing"]["state"] == "granted")
    person.page(marketing=True, n=4)
    lead = person.once(lambda lead: len(person.page_views(lead)) == 5)
    # Then what came under consent scores again; what came while it was withdrawn never does
    excluded = [line["excluded"] for line in person.page_views(lead)]
    assert excluded.count(None) == 2
    assert all("collected while consent was withdrawn" in reason for reason in excluded if reason)
    assert lead["score"] > browsed["score"]
    assert sums_exactly(lead)


def test_a_hubspot_opt_out_withdraws_consent_on_the_lead_and_its_opt_in_restores_the_score(hub: str) -> None:
    # Given a lead HubSpot knows (its email property names the contact) who reads a post
    person = Person(hub)
    assert person.capture().status_code == 201
    person.hubspot("email", person.email)
    eventually(lambda: f"hubspot#{person.hubspot_id}" in person.lead()["identities"])
    person.identify()
    person.page(marketing=None, n=0)
    browsed = person.once(lambda lead: bool(person.page_views(lead)))
    # When the contact unsubscribes from all email in HubSpot
    person.hubspot("hs_email_optout", "true")
    withdrawn = person.once(lambda lead: lead["consent"]["purposes"]["marketing"]["state"] == "withdrawn")
    # Then the lead's marketing consent is withdrawn by HubSpot, and the post no longer scores
    marketing = withdrawn["consent"]["purposes"]["marketing"]
    assert (marketing["source"], "hs_email_optout = true" in marketing["detail"]) == ("hubspot", True)
    assert withdrawn["score"] < browsed["score"]
    assert sums_exactly(withdrawn)
    # When they subscribe again
    person.hubspot("hs_email_optout", "false")
    restored = person.once(lambda lead: lead["consent"]["purposes"]["marketing"]["state"] == "granted")
    # Then the score is what it was
    assert restored["score"] == browsed["score"]
    assert [c["state"] for c in restored["consent"]["history"]] == ["withdrawn", "granted"]


def test_a_captured_lead_keeps_the_consent_its_form_collected(hub: str) -> None:
    # Given a form that asked for marketing consent and was refused
    person = Person(hub)
    response = person.capture(consent={"marketing": False, "source": "newsletter box, unticked"})
    assert response.status_code == 201, response.text
    # Then the lead's consent is withdrawn, from the capture, and it is not nurtured
    consent = person.lead()["consent"]
    assert consent["purposes"]["marketing"]["state"] == "withdrawn"
    assert consent["purposes"]["analytics"] == {
        "state": "granted",
        "since": None,
        "source": None,
        "detail": "analytics: the default (granted), nothing stated",
    }
    [change] = consent["history"]
    assert (change["source"], change["detail"]) == ("capture", "captured marketing = false (newsletter box, unticked)")
    assert consent["nurtured"] is False


def test_a_consent_the_hub_cannot_read_is_refused_naming_it(hub: str) -> None:
    person = Person(hub)
    for consent, named in [
        ({"marketting": False}, "marketting: not a consent purpose"),
        ({"marketing": "no"}, "consent.marketing"),
        ({"marketing": False, "at": "2999-01-01T00:00:00Z"}, "consent.at"),
    ]:
        response = person.capture(consent=consent)
        assert response.status_code in (400, 422), response.text
        assert named in response.text
