"""Properties of scoring with consent, on random models, logs and consent histories: withheld engagements keep
the breakdown summing exactly and change the figures exactly as leaving them out would; the consent state does
not depend on the order records are read in; and through the lead service, whatever mix of tracking and consent
changes arrives, recomputing a lead's score from its logs gives the stored one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shared.events.canonical import EventType, Subject
from shared.leads.consent import ConsentTimeline
from shared.leads.consent_policy import load_consent_policy
from shared.leads.model import ConsentRecord, EngagementRecord
from shared.scoring import Engagement, Profile, ScoringModel, score, summarize
from tests.unit.test_consent import Hub, identify, segment_consent
from tests.unit.test_scoring_properties import SETTINGS, logs, models, profiles
from tests.unit.test_scoring_support import AS_OF

POLICY = load_consent_policy()
REASONS = [None, None, "excluded: consent withdrawn (test)", "excluded: collected while consent was withdrawn"]


@st.composite
def withheld_logs(draw: st.DrawFn) -> list[Engagement]:
    log = draw(logs)
    return [e._replace(withheld=draw(st.sampled_from(REASONS))) for e in log]


@SETTINGS
@given(models, profiles, withheld_logs())
def test_withheld_engagements_keep_the_breakdown_summing_exactly(
    model: ScoringModel, profile: Profile, log: list[Engagement]
) -> None:
    result = score(model, profile, log, AS_OF)
    group_caps = sum(a.points_hundredths for a in result.adjustments if a.kind == "group_cap")
    assert result.breakdown_hundredths() == result.total_hundredths
    assert sum(line.points_hundredths for line in result.engagement_lines) + group_caps == result.engagement_hundredths
    assert summarize(model, profile, log, AS_OF) == result.summary()
    for line in result.engagement_lines:
        if line.excluded is not None:
            assert (line.awarded_hundredths, line.points_hundredths, line.cap) == (0, 0, None)


@SETTINGS
@given(models, profiles, withheld_logs())
def test_withholding_scores_exactly_as_leaving_the_engagements_out(
    model: ScoringModel, profile: Profile, log: list[Engagement]
) -> None:
    # Of duplicated event ids the engine keeps one copy (the least by time and content): compare on a log
    # without duplicates, where "leaving out" is well defined
    unique = list({e.event_id: e for e in log}.values())
    kept = [e for e in unique if e.withheld is None]
    withheld = score(model, profile, unique, AS_OF)
    assert withheld.summary() == score(model, profile, kept, AS_OF).summary()
    counted = [line for line in withheld.engagement_lines if line.excluded is None]
    assert counted == list(score(model, profile, kept, AS_OF).engagement_lines)


moments = st.integers(0, 30 * 24).map(lambda hours: AS_OF - timedelta(hours=hours))
consent_records = st.lists(
    st.builds(
        lambda n, granted, at, source: ConsentRecord(
            f"e{n}:marketing", "lead-1", "marketing", granted, at, source, "x", at, f"e{n}"
        ),
        st.integers(0, 10**6),
        st.booleans(),
        moments,
        st.sampled_from(["segment", "hubspot", "salesforce", "capture"]),
    ),
    max_size=8,
    unique_by=lambda r: r.record_id,
)
tracked = st.lists(
    st.builds(
        lambda n, at, kind, vendor: EngagementRecord(f"g{n}", "lead-1", at, kind, vendor),
        st.integers(0, 10**6),
        moments,
        st.sampled_from(["page_view", "email_open", "demo_request", "track"]),
        st.sampled_from(["segment", "segment_api", "calendly"]),
    ),
    max_size=10,
)


@SETTINGS
@given(consent_records, tracked, st.data())
def test_what_consent_withholds_does_not_depend_on_the_order_of_the_log(
    records: list[ConsentRecord], engagements: list[EngagementRecord], data: st.DataObject
) -> None:
    timeline = ConsentTimeline(POLICY, records)
    shuffled = ConsentTimeline(POLICY, data.draw(st.permutations(records)))
    for engagement in engagements:
        reason = timeline.withheld_reason(engagement, AS_OF)
        assert shuffled.withheld_reason(engagement, AS_OF) == reason
        governed = engagement.source_vendor.startswith("segment") and engagement.kind != "demo_request"
        granted_then = timeline.state("marketing", engagement.occurred_at).granted
        granted_now = timeline.state("marketing", AS_OF).granted
        assert (reason is not None) == (governed and not (granted_then and granted_now))


steps = st.lists(
    st.one_of(
        st.tuples(st.just("page"), st.sampled_from([None, True, False])),
        st.tuples(st.just("demo"), st.sampled_from([None, False])),
        st.tuples(st.just("hubspot"), st.sampled_from(["true", "false"])),
        st.tuples(st.just("identify"), st.sampled_from([None, True, False])),
        st.tuples(st.just("wait"), st.integers(1, 72)),
    ),
    min_size=1,
    max_size=14,
)


@SETTINGS
@given(steps)
def test_a_leads_stored_score_is_what_its_logs_recompute(plan: list[tuple[str, Any]]) -> None:
    # Given a lead known to HubSpot and Segment
    hub = Hub()
    hubspot = Subject(contact_id="hubspot:501", email="ada@acme.io")
    hub.send("hubspot", EventType.CONTACT_UPSERTED, hubspot, {"property": "email", "value": "ada@acme.io"})
    identify(hub, "u1", "ada@acme.io")
    # When tracking, demo requests, opt-outs and consent changes arrive in any order, over days
    for step, value in plan:
        consent = segment_consent(Marketing=value) if isinstance(value, bool) else {}
        if step == "page":
            hub.page("u1", **({"Marketing": value} if isinstance(value, bool) else {}))
        elif step == "demo":
            data = {"kind": "demo_request", **consent}
            hub.send("segment_api", EventType.ENGAGEMENT_RECORDED, Subject(contact_id="segment:u1"), data)
        elif step == "hubspot":
            hub.send("hubspot", EventType.CONTACT_UPSERTED, hubspot, {"property": "hs_email_optout", "value": value})
        elif step == "identify":
            identify(hub, "u1", "ada@acme.io", **({"Marketing": value} if isinstance(value, bool) else {}))
        else:
            hub.clock.advance(timedelta(hours=value))
    # Then the stored score is the recomputed one, its breakdown sums exactly, and no tracked page view scores
    # while marketing consent is withdrawn now
    hub.check_recomputable("ada@acme.io")
    contact = hub.lead("ada@acme.io")
    assert contact.score is not None
    result = hub.service.score_of(contact, as_of=contact.score.as_of)
    if not hub.service.consent_of(contact).state("marketing", result.as_of).granted:
        assert all(line.points_hundredths == 0 for line in result.engagement_lines if line.kind == "page_view")
