"""What a real lead journey exposed (issue 7), at the lead service over in-memory adapters: vendor events as
the vendors' own adapters normalize them, so each test reads like the journey it guards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.leads.capture import LeadCapture, LeadType
from shared.leads.identity import identities
from shared.leads.model import ContactProfile, Identity
from shared.leads.ports import ChangeSet
from shared.leads.scoring_models import ScoringModels
from shared.leads.service import LeadService
from shared.scoring.model import load_model, parse_model
from tests.fakes import FixedClock, InMemoryLeadRepository, InMemoryScoringModelStore, RecordingPublisher
from tests.lead_journey_hub import ICP_FIELDS, MODEL, Hub


@pytest.fixture
def hub() -> Hub:
    return Hub()


# 1. ---------------------------------------------------------------------------- page and track rename no one


def test_page_and_track_names_never_rename_the_person(hub: Hub) -> None:
    # Given Sam identified with their name
    hub.segment("identify", userId="u-sam", traits={"email": "sam@acme.io", "firstName": "Sam", "lastName": "Ortiz"})
    # When they view a page named "Pricing" and an "Email Opened" is tracked
    hub.segment("page", userId="u-sam", name="Pricing", properties={"path": "/pricing"})
    hub.segment("track", userId="u-sam", event="Email Opened")
    # Then the profile still reads Sam Ortiz
    profile = hub.lead("sam@acme.io").profile
    assert (profile.get("first_name"), profile.get("last_name")) == ("Sam", "Ortiz")


def test_context_traits_of_a_track_call_do_update_the_profile(hub: Hub) -> None:
    hub.segment("identify", userId="u-sam", traits={"email": "sam@acme.io", "firstName": "Sam"})
    hub.clock.advance(timedelta(minutes=1))
    hub.segment("track", userId="u-sam", event="Clicked", context={"traits": {"title": "CRO"}})
    assert hub.lead("sam@acme.io").profile.get("job_title") == "CRO"


def test_a_full_name_trait_is_split_into_first_and_last(hub: Hub) -> None:
    hub.segment("identify", userId="u-sam", traits={"email": "sam@acme.io", "name": "Sam Ortiz"})
    profile = hub.lead("sam@acme.io").profile
    assert (profile.get("first_name"), profile.get("last_name")) == ("Sam", "Ortiz")


def test_a_trait_that_cannot_be_the_field_it_names_is_dropped_not_kept(hub: Hub) -> None:
    # Given a known user whose SDK sends an email trait that is no address, a number for it, and a negative revenue
    hub.segment("identify", userId="u-rep", traits={"email": "not-an-email", "firstName": "Rep", "annualRevenue": -1})
    hub.segment("identify", userId="u-rep", traits={"email": 12345})
    # Then the profile keeps neither (a CRM would refuse the email; a revenue is never negative), its name stays
    [contact] = hub.repo.contacts_by_id.values()
    assert contact.profile.get("email") is None
    assert contact.profile.get("annual_revenue") is None
    assert contact.profile.get("first_name") == "Rep"
    # And a real address later is the person's email, as ever
    hub.clock.advance(timedelta(minutes=1))
    hub.segment("identify", userId="u-rep", traits={"email": "Rep@Acme.io"})
    assert hub.lead("rep@acme.io").profile.get("email") == "Rep@Acme.io"


# 2. ------------------------------------------------------------------------------- fit fields on lead capture


def test_a_captured_icp_lead_scores_its_company(hub: Hub) -> None:
    # When a lead is captured with the company data the model reads
    hub.capture("ada@acme.io", **ICP_FIELDS)
    # Then every fit rule about the company scores, and the lead is an ICP fit
    result = hub.service.score_of(hub.lead("ada@acme.io"))
    rules = {line.rule_id for line in result.fit_lines}
    assert {"industry-core", "employees-200-999", "country-core", "title-vp"} <= rules
    assert result.icp_fit


def test_fit_fields_sent_as_usual_attribute_names_are_read_too(hub: Hub) -> None:
    hub.capture("ada@acme.io", attributes={"Industry": "Software", "employees": "1,200", "annualRevenue": 7_500_000})
    profile = hub.lead("ada@acme.io").profile
    assert (profile.get("industry"), profile.get("employee_count"), profile.get("annual_revenue")) == (
        "Software",
        1200,
        7_500_000,
    )


# 3. --------------------------------------------------------------------------------------- a Stripe trial


def test_a_stripe_trial_reaches_the_lead_links_its_account_and_hands_off_with_priority(hub: Hub) -> None:
    # Given a captured ICP lead
    lead_id = hub.capture("sam@acme.io", **ICP_FIELDS)
    # When Stripe reports the customer (by their email) and a trialing subscription for it
    hub.stripe("customer.created", {"object": "customer", "id": "cus_9", "email": "sam@acme.io", "name": "Sam"})
    hub.stripe(
        "customer.subscription.created",
        {"object": "subscription", "id": "sub_1", "customer": "cus_9", "status": "trialing"},
    )
    # Then the trial is scored on the lead, the lead has the account, and sales get a priority handoff
    lead = hub.lead("sam@acme.io")
    assert lead.contact_id == lead_id
    assert "trial_signup" in hub.kinds("sam@acme.io")
    assert lead.account_id is not None
    assert "stripe#cus_9" in hub.repo.accounts[lead.account_id].identities
    assert [(h.lead_id, h.priority) for h in hub.handoffs()] == [(lead_id, "priority")]


def test_a_trial_that_arrives_before_its_customer_still_counts_for_the_lead(hub: Hub) -> None:
    lead_id = hub.capture("sam@acme.io", **ICP_FIELDS)
    hub.stripe(
        "customer.subscription.created",
        {"object": "subscription", "id": "sub_1", "customer": "cus_9", "status": "trialing"},
    )
    hub.stripe("customer.created", {"object": "customer", "id": "cus_9", "email": "sam@acme.io"})
    assert hub.lead("sam@acme.io").contact_id == lead_id
    assert "trial_signup" in hub.kinds("sam@acme.io")


def test_an_active_subscription_makes_the_lead_a_customer(hub: Hub) -> None:
    hub.capture("sam@acme.io")
    hub.stripe("customer.created", {"object": "customer", "id": "cus_9", "email": "sam@acme.io"})
    hub.stripe(
        "customer.subscription.created",
        {"object": "subscription", "id": "sub_1", "customer": "cus_9", "status": "active"},
    )
    assert hub.lead("sam@acme.io").stage.value == "Customer"


# 4. ---------------------------------------------------------------------------------- HubSpot form submissions


def test_a_hubspot_form_submission_scores_a_form_submit(hub: Hub) -> None:
    hub.hubspot(501, "email", "ada@acme.io")
    hub.hubspot(501, "num_conversion_events", "1")
    assert hub.kinds("ada@acme.io") == ["form_submit"]


# 5. ------------------------------------------------------------------------------------------------- accounts


def test_contacts_of_one_company_share_one_account_by_their_work_domain(hub: Hub) -> None:
    hub.capture("ada@acme.io")
    hub.capture("grace@acme.io")
    hub.stripe("customer.created", {"object": "customer", "id": "cus_9", "email": "billing@acme.io"})
    accounts = {hub.lead(email).account_id for email in ("ada@acme.io", "grace@acme.io", "billing@acme.io")}
    assert len(accounts) == 1
    assert None not in accounts
    [account] = hub.repo.accounts.values()
    assert account.domain == "acme.io"
    assert account.identities == {"domain#acme.io", "stripe#cus_9"}


def test_free_mail_domains_never_make_an_account(hub: Hub) -> None:
    hub.capture("jane@gmail.com", lead_type=LeadType.B2C)
    hub.capture("john@gmail.com", lead_type=LeadType.B2C)
    assert hub.lead("jane@gmail.com").account_id is None
    assert hub.repo.accounts == {}


def test_a_crm_association_links_the_contact_to_the_crm_account(hub: Hub) -> None:
    # Given a HubSpot company with a domain, and one of its contacts
    hub.hubspot(9001, "domain", "initech.com", subscription="company.propertyChange")
    hub.hubspot(9001, "name", "Initech", subscription="company.propertyChange")
    hub.hubspot(501, "email", "peter@initech-mail.com")
    # When HubSpot associates the contact with the company
    hub.hubspot(501, "associatedcompanyid", "9001")
    # Then the lead is on that account, named as HubSpot names it
    account = hub.repo.accounts[hub.lead("peter@initech-mail.com").account_id]
    assert account.profile.get("name") == "Initech"
    assert {"hubspot#9001", "domain#initech.com"} <= account.identities


# 6. -------------------------------------------------------------------------------------------------- unmerge


def test_unmerge_gives_the_crm_contact_back_the_fields_its_own_events_set(hub: Hub) -> None:
    # Given a captured lead, and a HubSpot contact the CRM knows by name only
    lead_id = hub.capture("ada@acme.io", first_name="Ada")
    hub.hubspot(77, "firstname", "Adeline")
    hub.hubspot(77, "jobtitle", "Head of RevOps")
    # When HubSpot sets that contact's email (merging it into the lead), then changes its industry (a field no
    # mapping syncs: a synced one, such as the phone, reaches a lead with an email through the CRM sync)
    hub.clock.advance(timedelta(minutes=1))
    hub.hubspot(77, "email", "ada@acme.io")
    hub.hubspot(77, "industry", "Software")
    merged = hub.lead("ada@acme.io")
    [crm_id] = merged.members
    # And the merge is undone
    hub.service.unmerge(lead_id)
    # Then the CRM side has every field its own events set, including after the merge
    crm = hub.repo.contact(crm_id)
    assert crm is not None
    assert (
        crm.profile.values.items()
        >= {
            "first_name": "Adeline",
            "job_title": "Head of RevOps",
            "industry": "Software",
        }.items()
    )
    # And the captured lead keeps only its own
    lead = hub.repo.contact(lead_id)
    assert lead is not None
    assert lead.profile.get("first_name") == "Ada"
    assert lead.profile.get("job_title") == "VP of Sales"
    assert lead.profile.get("industry") is None


# 7. ------------------------------------------------------------------------------------------- noisy handoffs


def test_a_demo_request_by_an_anonymous_user_id_hands_off_no_one_until_they_identify(hub: Hub) -> None:
    # When a known-user id with no email requests a demo
    hub.segment("track", userId="u-9", event="Demo Requested")
    # Then sales are not handed an email-less lead
    assert hub.handoffs() == []
    # And when that user identifies as an ICP lead, the demo request hands them off
    traits = {"email": "sam@acme.io", "title": "VP of Sales", "industry": "Software", "employees": 500, "country": "US"}
    hub.segment("identify", userId="u-9", traits=traits)
    [handoff] = hub.handoffs()
    assert (handoff.email, handoff.priority) == ("sam@acme.io", "priority")


def test_a_buying_signal_far_below_the_icp_line_is_handed_to_routing_only_when_the_model_says_so() -> None:
    # Given the shipped model, which hands below-ICP buying signals to routing (its fit gate sends them to the
    # qualification queue, never to an AE: tests/unit/test_handoff_gates.py), and the same model with that off
    off = parse_model(
        {
            **MODEL.model_dump(mode="json"),
            "handoff": {**MODEL.handoff.model_dump(mode="json"), "priority_below_icp_fit": False},
        }
    )
    for model, expected in ((MODEL, ["priority"]), (off, [])):
        hub = Hub(model=model)
        # When an intern at a company of three visits the pricing page
        hub.capture("kim@tiny.io", job_title="Intern", company="Tiny", employee_count=3)
        context = {"traits": {"email": "kim@tiny.io"}}
        hub.segment("page", userId="u-kim", properties={"path": "/pricing"}, context=context)
        # Then a priority handoff is requested only when the model says so
        assert [handoff.priority for handoff in hub.handoffs()] == expected, model.handoff.priority_below_icp_fit


# 8. -------------------------------------------------------------------------------------------------- B2C leads


def test_a_b2c_lead_is_captured_without_company_or_title(hub: Hub) -> None:
    outcome = hub.service.capture(LeadCapture(email="jane@gmail.com", source="app", lead_type=LeadType.B2C))
    assert outcome.created
    assert hub.lead("jane@gmail.com").profile.get("lead_type") == "b2c"


# 9. ---------------------------------------------------------------------------- reads after a rescore agree


def test_after_a_model_is_applied_every_read_uses_the_version_the_lead_was_scored_with() -> None:
    # Given a lead scored with the shipped model, and functions that share a model store
    store = InMemoryScoringModelStore()
    hub = Hub(store)
    reader = LeadService(hub.repo, ScoringModels(MODEL, store), hub.clock)  # another function
    lead_id = hub.capture("ada@acme.io", **ICP_FIELDS)
    # When a model that doubles the industry points is applied and the lead rescored (what `make rescore` does)
    document = MODEL.model_dump(mode="json")
    document["version"] = "2026.2"
    document["fit"]["rules"][0]["points"] = 30
    candidate = parse_model(document)
    hub.service.models.apply(candidate, hub.clock.now())
    hub.service.rescore(lead_id)
    # Then the other function scores and explains the lead with the applied version, matching the stored score
    contact = hub.repo.contact(lead_id)
    assert contact is not None
    assert contact.score is not None
    assert contact.score.model_version == "2026.2"
    explained = reader.score_of(contact, as_of=contact.score.as_of)
    assert (explained.model_version, explained.total) == ("2026.2", contact.score.total)
    assert reader.model.version == "2026.2"


# issue 8.1 ------------------------------------------------------------------------------- nothing half-written


def test_a_claim_left_dangling_by_an_older_version_is_taken_over(hub: Hub) -> None:
    # Given an identity claimed for a contact that was never written
    hub.repo.identity_owners["email#ada@acme.io"] = "ghost"
    # When the person is captured and looked up
    lead_id = hub.capture("ada@acme.io")
    # Then the lead exists, owns its email, and is found by it
    assert hub.repo.identity_owners["email#ada@acme.io"] == lead_id
    assert hub.lead("ada@acme.io").contact_id == lead_id


def test_a_change_that_cannot_be_stored_leaves_nothing_behind() -> None:
    # Given a repository that refuses the commit
    hub = Hub()

    def refuse(change: ChangeSet) -> None:
        raise RuntimeError("store unavailable")

    hub.repo.commit = refuse  # type: ignore[method-assign]
    # When a lead is captured
    with pytest.raises(RuntimeError):
        hub.capture("ada@acme.io")
    # Then no identity, contact or account was left behind
    assert (hub.repo.identity_owners, hub.repo.contacts_by_id, hub.repo.accounts) == ({}, {}, {})


def test_profile_parts_combine_last_modified_wins() -> None:
    early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    first, second = ContactProfile(), ContactProfile()
    first.set("job_title", "CTO", late)
    second.set("job_title", "Engineer", early)
    second.set("phone", "+15555550100", early)
    combined = ContactProfile.combined([first, second])
    assert combined.values == {"job_title": "CTO", "phone": "+15555550100"}
    assert identities("a@b.io") == [Identity("email", "a@b.io")]


def test_an_engagement_delivered_twice_is_logged_once(hub: Hub) -> None:
    hub.capture("ada@acme.io")
    event = CanonicalEvent(
        event_id="e-1",
        event_type=EventType.ENGAGEMENT_RECORDED,
        occurred_at=hub.clock.now(),
        received_at=hub.clock.now(),
        source_vendor="segment",
        vendor_event_id="m-1",
        vendor_event_type="track",
        subject=Subject(email="ada@acme.io"),
        data={"kind": "email_click"},
        correlation_id="c",
        delivery_id="d",
    )
    hub.service.handle(event)
    again = hub.service.handle(event)
    assert "duplicate" in again.note
    assert hub.kinds("ada@acme.io") == ["email_click"]


def test_a_crm_records_bare_creation_makes_no_contact() -> None:
    # Given HubSpot's contact.creation, which names only the record's id (the hub's own CRM sync causes one for
    # every lead it writes there)
    from shared.events.canonical import CanonicalEvent, EventType, Subject
    from shared.leads.scoring_models import ScoringModels
    from shared.leads.service import LeadService
    from tests.fakes import InMemoryScoringModelStore

    repository = InMemoryLeadRepository()
    service = LeadService(repository, ScoringModels(load_model(), InMemoryScoringModelStore()), FixedClock())
    at = FixedClock().now()
    event = CanonicalEvent(
        event_id="e-1",
        event_type=EventType.CONTACT_UPSERTED,
        occurred_at=at,
        received_at=at,
        source_vendor="hubspot",
        vendor_event_id="1",
        vendor_event_type="contact.creation",
        subject=Subject(contact_id="hubspot:1000001"),
        data={"action": "creation", "property": None, "value": None},
        correlation_id="c-1",
        delivery_id="d-1",
    )
    # When the lead processor takes it
    outcome = service.handle(event)
    # Then no contact is made: the next property change that names the person links the record to them
    assert outcome.contact_id is None
    assert list(repository.contact_ids()) == []


def test_a_crm_placeholder_is_not_taken_for_the_persons_name() -> None:
    # Given a Salesforce Lead whose LastName and Company are the placeholder integrations write when none is known
    from shared.events.canonical import CanonicalEvent, EventType, Subject
    from shared.leads.profile_updates import profile_updates

    at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    fields = {"Id": "00Q1", "Email": "ana@example.com", "LastName": "[not provided]", "Company": "[not provided]"}
    event = CanonicalEvent(
        event_id="e-2",
        event_type=EventType.CONTACT_UPSERTED,
        occurred_at=at,
        received_at=at,
        source_vendor="salesforce",
        vendor_event_id="n-1",
        vendor_event_type="Lead",
        subject=Subject(contact_id="salesforce:00Q1", email="ana@example.com"),
        data={"sobject_type": "Lead", "fields": fields},
        correlation_id="c-2",
        delivery_id="d-2",
    )
    # Then the profile takes the email, and neither placeholder
    updates = profile_updates(event)
    assert updates.get("email") == "ana@example.com"
    assert "last_name" not in updates
    assert "company" not in updates


def test_a_crm_telling_what_the_hub_knows_does_not_rescore_the_lead() -> None:
    # Given a lead HubSpot has reported once (its contact linked), and time passing (its score decays)
    from shared.events.canonical import CanonicalEvent, EventType, Subject
    from shared.leads.scoring_models import ScoringModels
    from shared.leads.service import LeadService
    from tests.fakes import InMemoryScoringModelStore

    clock = FixedClock()
    publisher = RecordingPublisher()
    service = LeadService(
        InMemoryLeadRepository(publisher), ScoringModels(load_model(), InMemoryScoringModelStore()), clock
    )

    def hubspot_says(event_id: str) -> CanonicalEvent:
        at = clock.now()
        return CanonicalEvent(
            event_id=event_id,
            event_type=EventType.CONTACT_UPSERTED,
            occurred_at=at,
            received_at=at,
            source_vendor="hubspot",
            vendor_event_id=event_id,
            vendor_event_type="contact.propertyChange",
            subject=Subject(contact_id="hubspot:501", email="ana@example.com"),
            data={"action": "propertyChange", "property": "jobtitle", "value": "VP Sales"},
            correlation_id="c",
            delivery_id="d",
        )

    first = service.handle(hubspot_says("e-1"))
    published = len(publisher.published)
    clock.advance(timedelta(days=3))
    # When HubSpot reports the same title again (the hub's own write coming back, say)
    again = service.handle(hubspot_says("e-2"))
    # Then the lead is left as it is: no rescoring, nothing published for the sync to write back
    assert again.contact_id == first.contact_id
    assert again.note == "nothing new about the person"
    assert len(publisher.published) == published
