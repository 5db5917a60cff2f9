"""The consent policy (config/consent.json): the shipped file loads, and a bad one is refused naming the purpose,
the processing or the vendor it is about."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from shared.leads.consent_policy import (
    DEFAULT_CONSENT_PATH,
    InvalidConsentPolicy,
    load_consent_policy,
    parse_consent_policy,
)


def shipped() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_CONSENT_PATH.read_text())
    return data


def test_the_shipped_policy_loads_with_marketing_governing_tracking_and_nurture() -> None:
    policy = load_consent_policy()
    assert policy.purpose_ids == ("marketing", "analytics")
    assert policy.processing.tracked_engagement.requires == ("marketing",)
    assert policy.processing.nurture.requires == ("marketing",)
    assert {"segment", "segment_api"} <= set(policy.processing.tracked_engagement.sources)
    assert "demo_request" in policy.processing.tracked_engagement.exempt_kinds
    hubspot, salesforce, segment = (policy.vendor_for(v) for v in ("hubspot", "salesforce", "segment_api"))
    assert hubspot is not None
    assert hubspot.opt_out_fields == {"hs_email_optout": ("marketing",)}
    assert salesforce is not None
    assert salesforce.opt_out_fields == {"HasOptedOutOfEmail": ("marketing",)}
    assert segment is not None
    assert segment.categories["Advertising"] == ("marketing",)
    assert policy.vendor_for("stripe") is None


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: d["purposes"].append(dict(d["purposes"][0])), 'purpose "marketing": listed twice'),
        (lambda d: d["purposes"][1].update(default="maybe"), 'purpose "analytics": default'),
        (lambda d: d["purposes"][0].update(id="Marketing"), 'purpose "Marketing": id'),
        (
            lambda d: d["processing"]["nurture"].update(requires=["newsletter"]),
            "processing \"nurture\": requires 'newsletter', which is not among the purposes",
        ),
        (
            lambda d: d["processing"]["tracked_engagement"].update(requires=[]),
            "processing: tracked_engagement.requires",
        ),
        (
            lambda d: d["vendors"][1]["opt_out_fields"].update(hs_email_optout=["emails"]),
            "vendor \"hubspot\": hs_email_optout: 'emails' is not among the purposes",
        ),
        (
            lambda d: d["vendors"][0].update(opt_out_fields={"x": ["marketing"]}),
            'vendor "segment": Segment states consent by `categories`',
        ),
        (lambda d: d["vendors"][2].update(id="zendesk"), 'vendor "zendesk": id'),
        (lambda d: d["vendors"].append(dict(d["vendors"][2])), 'vendor "salesforce": listed twice'),
        (lambda d: d["vendors"][2].update(colour="blue"), 'vendor "salesforce": colour'),
        (lambda d: d.pop("version"), "version"),
    ],
)
def test_an_invalid_policy_is_refused_naming_the_entry(change: Callable[[dict[str, Any]], Any], named: str) -> None:
    data = shipped()
    change(data)
    with pytest.raises(InvalidConsentPolicy) as refused:
        parse_consent_policy(data)
    assert named in str(refused.value)


def test_a_policy_that_is_not_json_is_refused_saying_so() -> None:
    with pytest.raises(InvalidConsentPolicy, match="not valid JSON"):
        parse_consent_policy("{")
