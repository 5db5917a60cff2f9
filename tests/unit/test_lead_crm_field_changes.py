"""A CRM's change reaches a known lead through the CRM sync (`sync.field_changed`), not straight from the CRM's
webhook: the sync alone tells a person's change from an echo of the hub's own write, and applies the mappings'
rules. The lead service takes what the sync decided, once, timed when the CRM made it, and rescores; and the
lead events the sync reads are told apart even when captures move a score back to an earlier total."""

from __future__ import annotations

from datetime import timedelta

from shared.events.lead_events import LeadEventType
from shared.leads.crm_changes import CrmFieldChange, lead_id_of_record, synced_profile_fields
from tests.unit.test_lead_journey_fixes import Hub


def sync_change(lead_id: str, field: str, value: str | None, hub: Hub, ago: timedelta = timedelta(0), n: int = 1):  # type: ignore[no-untyped-def]
    return CrmFieldChange(lead_id, field, value, hub.clock.now() - ago, "hubspot", f"sync-event-{n}")


def test_a_change_the_sync_decided_sets_the_field_and_rescores_the_lead() -> None:
    # Given a captured lead whose title scores nothing in the model
    hub = Hub()
    lead_id = hub.capture("ana@acme.io", job_title="Intern")
    before = hub.lead("ana@acme.io").score
    hub.clock.advance(timedelta(minutes=5))
    # When the sync says a HubSpot user made her VP of Sales a minute ago
    outcome = hub.service.crm_field_changed(sync_change(lead_id, "job_title", "VP of Sales", hub, timedelta(minutes=1)))
    # Then the lead's title is the CRM's, timed when the CRM changed it
    lead = hub.lead("ana@acme.io")
    assert lead.profile.get("job_title") == "VP of Sales"
    assert lead.profile.updated_at["job_title"] == hub.clock.now() - timedelta(minutes=1)
    # And the lead was rescored, saying why
    assert lead.score.fit > before.fit
    [changed] = [e for e in outcome.published if e.event_type is LeadEventType.SCORE_CHANGED]
    assert "hubspot change of job_title, through the CRM sync" in (changed.reason or "")


def test_the_same_sync_event_twice_is_applied_once() -> None:
    # Given a change the lead took
    hub = Hub()
    lead_id = hub.capture("ana@acme.io", job_title="Intern")
    hub.clock.advance(timedelta(minutes=1))
    hub.service.crm_field_changed(sync_change(lead_id, "job_title", "VP of Sales", hub))
    # And a later change of the same field from elsewhere
    hub.clock.advance(timedelta(minutes=1))
    hub.service.crm_field_changed(sync_change(lead_id, "job_title", "CFO", hub, n=2))
    # When the first event is delivered again (a retry, a replay)
    again = hub.service.crm_field_changed(sync_change(lead_id, "job_title", "VP of Sales", hub, n=1))
    # Then nothing changes and nothing is published
    assert again.note == "duplicate event; applied once already"
    assert again.published == ()
    assert hub.lead("ana@acme.io").profile.get("job_title") == "CFO"


def test_a_change_older_than_what_the_lead_holds_does_not_override_it() -> None:
    # Given a lead whose title the person gave just now
    hub = Hub()
    lead_id = hub.capture("ana@acme.io", job_title="VP of Sales")
    # When the sync passes on a CRM change made an hour ago
    outcome = hub.service.crm_field_changed(sync_change(lead_id, "job_title", "Intern", hub, timedelta(hours=1)))
    # Then the newer title stands, and nothing is published
    assert hub.lead("ana@acme.io").profile.get("job_title") == "VP of Sales"
    assert outcome.published == ()


def test_fields_the_sync_does_not_keep_and_blanks_are_not_applied() -> None:
    hub = Hub()
    lead_id = hub.capture("ana@acme.io", job_title="VP of Sales")
    hub.clock.advance(timedelta(minutes=1))
    # the owner is the handoff domain's own, not a profile field
    assert "no profile field" in hub.service.crm_field_changed(sync_change(lead_id, "owner", "rep-1", hub)).note
    # a CRM's blank does not erase what the person told the hub
    assert "kept" in hub.service.crm_field_changed(sync_change(lead_id, "job_title", None, hub)).note
    assert hub.lead("ana@acme.io").profile.get("job_title") == "VP of Sales"


def test_a_stage_set_in_a_crm_moves_the_lead_forward_with_its_own_transition() -> None:
    # Given a captured lead (stage Lead)
    hub = Hub()
    lead_id = hub.capture("ana@acme.io", job_title="Intern")
    assert hub.lead("ana@acme.io").stage.value == "Lead"
    hub.clock.advance(timedelta(minutes=5))
    # When the sync says a HubSpot user marked her sales-qualified a minute ago
    moved = hub.service.crm_field_changed(sync_change(lead_id, "lifecycle_stage", "SQL", hub, timedelta(minutes=1)))
    # Then the lead is an SQL since then, and lead.stage_changed says the CRM set it
    lead = hub.lead("ana@acme.io")
    assert (lead.stage.value, lead.stage_entered_at) == ("SQL", hub.clock.now() - timedelta(minutes=1))
    [changed] = [e for e in moved.published if e.event_type is LeadEventType.STAGE_CHANGED]
    assert (changed.previous_stage, changed.stage) == ("Lead", "SQL")
    assert "set in hubspot, through the CRM sync (sync-event-1)" in (changed.reason or "")
    # And a CRM resetting her to Lead, the same stage again or a value that is no stage move nothing
    hub.clock.advance(timedelta(minutes=1))
    for n, value in enumerate(("Lead", "SQL", "Hot prospect"), start=2):
        kept = hub.service.crm_field_changed(sync_change(lead_id, "lifecycle_stage", value, hub, n=n))
        assert kept.published == ()
        assert "is not ahead of SQL: kept" in kept.note
    assert hub.lead("ana@acme.io").stage.value == "SQL"
    # And the first change delivered again is applied once
    again = hub.service.crm_field_changed(sync_change(lead_id, "lifecycle_stage", "SQL", hub, n=1))
    assert again.note == "duplicate event; applied once already"


def test_a_change_to_a_lead_merged_away_reaches_its_survivor() -> None:
    # Given an anonymous visitor merged into the lead it turned out to be
    hub = Hub()
    hub.segment("page", anonymousId="anon-1", name="Pricing", properties={"path": "/pricing"})
    [visitor] = hub.repo.contacts_by_id
    lead_id = hub.capture("ana@acme.io", job_title="Intern")
    hub.segment("identify", anonymousId="anon-1", userId="u-1", traits={"email": "ana@acme.io"})
    survivor = hub.lead("ana@acme.io")
    merged_away = visitor if visitor != survivor.contact_id else lead_id
    assert hub.repo.contact(merged_away).merged_into == survivor.contact_id  # type: ignore[union-attr]
    hub.clock.advance(timedelta(minutes=1))
    # When the sync names the merged-away lead (a record it keyed before the merge)
    hub.service.crm_field_changed(sync_change(merged_away, "company", "Acme Corp", hub))
    # Then the survivor takes it
    assert hub.lead("ana@acme.io").profile.get("company") == "Acme Corp"


def test_an_unknown_lead_is_noted_not_created() -> None:
    hub = Hub()
    outcome = hub.service.crm_field_changed(sync_change("no-such-lead", "job_title", "VP", hub))
    assert outcome.contact_id is None
    assert "not known" in outcome.note
    assert hub.repo.contacts_by_id == {}


def test_a_crm_webhook_sets_synced_fields_only_while_the_sync_cannot_key_the_lead() -> None:
    # Given a HubSpot contact the hub knows by its id only: its name comes straight from HubSpot's webhook
    hub = Hub()
    hub.hubspot(88, "firstname", "Bea")
    [crm_contact] = hub.repo.contacts_by_id.values()
    assert crm_contact.profile.get("first_name") == "Bea"
    # When it has an email (the sync keys it from now on), and HubSpot reports a name and an industry
    hub.clock.advance(timedelta(minutes=1))
    hub.hubspot(88, "email", "bea@acme.io")
    hub.clock.advance(timedelta(minutes=1))
    hub.hubspot(88, "firstname", "Beatrice")
    hub.hubspot(88, "industry", "Software")
    # Then the synced field waits for the sync's decision; the field no mapping syncs is taken at once
    lead = hub.lead("bea@acme.io")
    assert lead.profile.get("first_name") == "Bea"
    assert lead.profile.get("industry") == "Software"


def test_the_synced_fields_are_the_profile_fields_and_the_stage_among_the_mappings_inbound_ones() -> None:
    # the email among them: a CRM's change of it reaches a known lead only as the sync decided it; not the owner
    assert synced_profile_fields(["email", "job_title", "owner", "lifecycle_stage", "phone"]) == {
        "email",
        "job_title",
        "lifecycle_stage",
        "phone",
    }
    assert lead_id_of_record("contact:abc") == "abc"
    assert lead_id_of_record("account:abc") is None
    assert lead_id_of_record("contact:") is None


def test_a_crm_webhook_does_not_change_a_known_leads_email_nor_name_it_by_the_new_address() -> None:
    # Given a lead HubSpot knows (its contact 88 carries the lead's email)
    hub = Hub()
    lead_id = hub.capture("ana@acme.io")
    hub.clock.advance(timedelta(minutes=1))
    hub.hubspot(88, "email", "ana@acme.io")
    # When HubSpot reports another email for that contact
    hub.clock.advance(timedelta(minutes=1))
    hub.hubspot(88, "email", "ana@silva.dev")
    # Then the lead's email waits for the sync's decision (a critical field: it may be a conflict)
    stored = hub.repo.contact(lead_id)
    assert stored is not None
    assert stored.email == "ana@acme.io"
    # And so does the address as the lead's identity: it finds no one until the sync decides
    assert hub.service.find_by_email("ana@silva.dev") is None
    assert "email#ana@silva.dev" not in stored.identities
    # And HubSpot's contact still names the lead by its id
    hub.hubspot(88, "industry", "Software")
    assert hub.lead("ana@acme.io").profile.get("industry") == "Software"
    assert len(hub.repo.contacts_by_id) == 1
    # When the sync decides the change is the lead's
    hub.service.crm_field_changed(sync_change(lead_id, "email", "ana@silva.dev", hub))
    # Then the address is the lead's, and finds it
    assert hub.lead("ana@silva.dev").contact_id == lead_id


def test_a_crm_webhook_with_a_crm_id_not_known_yet_still_finds_the_lead_by_its_email() -> None:
    # Given a captured lead
    hub = Hub()
    lead_id = hub.capture("ana@acme.io")
    hub.clock.advance(timedelta(minutes=1))
    # When HubSpot's contact 88, new to the hub, names the lead's email
    hub.hubspot(88, "email", "ana@acme.io")
    # Then it is the same lead, known by HubSpot's id from now on
    assert len(hub.repo.contacts_by_id) == 1
    stored = hub.repo.contact(lead_id)
    assert stored is not None
    assert "hubspot#88" in stored.identities


def test_an_email_the_sync_decided_is_the_leads_and_finds_it() -> None:
    # Given a captured lead
    hub = Hub()
    lead_id = hub.capture("ana@acme.io")
    hub.clock.advance(timedelta(minutes=1))
    # When a person resolves a conflict on its email with an address no event named before
    resolution = CrmFieldChange(
        lead_id, "email", "Ana@Third.dev", hub.clock.now(), "hubspot", "sync-resolved-1", "sales-ops@example.com"
    )
    hub.service.crm_field_changed(resolution)
    # Then the lead holds it, as the sync does (lower case), and is found by it
    assert hub.repo.contact(lead_id).email == "ana@third.dev"  # type: ignore[union-attr]
    assert hub.lead("ana@third.dev").contact_id == lead_id
    # And an address that is none is not taken
    bad = CrmFieldChange(lead_id, "email", "not-an-address", hub.clock.now(), "hubspot", "sync-2")
    assert "is no address" in hub.service.crm_field_changed(bad).note
    assert hub.repo.contact(lead_id).email == "ana@third.dev"  # type: ignore[union-attr]


def test_captures_moving_the_score_back_to_an_earlier_total_publish_events_of_their_own() -> None:
    # Given a lead captured as a VP, then as a Director, then as a VP again (its score back where it was)
    hub = Hub()
    for title in ("VP of Data", "Director of Data", "VP of Data"):
        hub.clock.advance(timedelta(seconds=1))
        hub.capture("ana@acme.io", job_title=title)
    # Then each capture's score change is an event of its own: the third is no redelivery of the first (every
    # consumer, the CRM sync's first, de-duplicates on event_id and would drop the lead's last title)
    changes = [e for e in hub.bus.published if e.event_type is LeadEventType.SCORE_CHANGED]
    assert len(changes) == 3
    assert changes[0].score == changes[2].score
    assert len({e.event_id for e in changes}) == 3


def test_an_email_another_lead_holds_merges_the_two_as_an_identification_would() -> None:
    # Given two leads, bob's holding bob@beta.io
    hub = Hub()
    ana_id = hub.capture("ana@acme.io")
    hub.clock.advance(timedelta(minutes=1))
    bob_id = hub.capture("bob@beta.io")
    hub.clock.advance(timedelta(minutes=1))
    # When the sync says a HubSpot user gave ana's lead bob's address
    outcome = hub.service.crm_field_changed(sync_change(ana_id, "email", "Bob@Beta.io", hub))
    # Then the two merge (ana's lead, the older, survives), the change named as the merge's cause
    assert outcome.contact_id == ana_id
    assert hub.repo.contact(bob_id).merged_into == ana_id  # type: ignore[union-attr]
    [merged] = [e for e in outcome.published if e.event_type is LeadEventType.MERGED]
    assert merged.other_lead_id == bob_id
    assert "hubspot change of email, through the CRM sync (sync-event-1)" in (merged.reason or "")
    # And the address finds that one lead, whose email it is
    assert hub.lead("bob@beta.io").contact_id == ana_id
    assert hub.lead("bob@beta.io").email == "bob@beta.io"
    # And the same event again changes nothing
    again = hub.service.crm_field_changed(sync_change(ana_id, "email", "Bob@Beta.io", hub))
    assert (again.note, again.published) == ("duplicate event; applied once already", ())


def test_an_email_held_by_a_lead_an_unmerge_keeps_apart_is_not_taken_and_says_why() -> None:
    # Given two leads merged once (one Segment user named with both addresses) and unmerged since
    hub = Hub()
    ana_id = hub.capture("ana@acme.io")
    hub.clock.advance(timedelta(minutes=1))
    bob_id = hub.capture("bob@beta.io")
    hub.segment("identify", userId="u-1", traits={"email": "ana@acme.io"})
    hub.segment("identify", userId="u-1", traits={"email": "bob@beta.io"})
    assert hub.repo.contact(bob_id).merged_into == ana_id  # type: ignore[union-attr]
    hub.service.unmerge(ana_id)
    hub.clock.advance(timedelta(minutes=1))
    published = len(hub.bus.published)
    # When the sync says a HubSpot user gave ana's lead bob's address
    outcome = hub.service.crm_field_changed(sync_change(ana_id, "email", "bob@beta.io", hub))
    # Then nothing changes, and the outcome says why: the address stays bob's, the two stay apart
    assert outcome.note == f"bob@beta.io is lead {bob_id}'s, which an unmerge keeps apart from this one: kept"
    assert outcome.published == ()
    assert len(hub.bus.published) == published
    assert hub.lead("bob@beta.io").contact_id == bob_id
    assert hub.repo.contact(ana_id).email == "ana@acme.io"  # type: ignore[union-attr]
    assert hub.repo.contact(bob_id).merged_into is None  # type: ignore[union-attr]
