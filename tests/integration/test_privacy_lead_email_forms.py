"""Privacy finds a person's leads exactly as the lead processor filed the address (over moto, the `leads` table):
`shared.leads.identity.normalize_email` trims and lower-cases it (`str.lower`, not `str.casefold`) and does not
normalize its Unicode form. So `Straße@Fjord.io` is the lead of `straße@fjord.io`, not of `strasse@fjord.io` (a
different lead to the lead processor, which `casefold` would have erased in its place); and the NFC and NFD forms of
`é@x.io` are two leads to the lead processor, each found (and erased) by its own form only."""

from __future__ import annotations

import itertools
import unicodedata
from datetime import UTC, datetime

import pytest

from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
from shared.adapters.dynamodb_privacy_leads import LeadsPrivacy
from shared.catalog import LEADS, physical_name
from shared.leads.capture import LeadCapture
from shared.leads.identity import normalize_email
from shared.leads.scoring_models import ScoringModels
from shared.leads.service import LeadService
from shared.privacy.service import PrivacyService
from shared.scoring.model import load_model
from tests.fakes import FixedClock
from tests.integration.conftest import STAGE, only_table
from tests.privacy_fakes import FakeStore, InMemoryErasureLedger, RecordedCrmErasures

TABLE = physical_name(STAGE, LEADS.name)
NFC, NFD = unicodedata.normalize("NFC", "é@x.io"), unicodedata.normalize("NFD", "é@x.io")


def captured(client: object, *emails: str) -> dict[str, str]:
    """Each email captured as a lead by the lead processor: its lead id."""
    clock = FixedClock()
    clock.moment = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    repo = DynamoDbLeadRepository(client, TABLE, sleep=lambda _: None)
    ids = itertools.count(1)
    service = LeadService(repo, ScoringModels(load_model()), clock, lambda: f"lead-{next(ids):03d}")
    return {email: str(service.capture(LeadCapture(email, "web form")).contact_id) for email in emails}


def privacy(client: object) -> PrivacyService:
    return PrivacyService(
        directory=LeadsPrivacy(client, TABLE),
        deliveries=FakeStore("webhook-deliveries"),
        others=[],
        synced=FakeStore("crm-sync"),
        crm=RecordedCrmErasures(),
        ledger=InMemoryErasureLedger(),
        clock=lambda: datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("asked", "filed"),
    [
        ("Straße@Fjord.io", "straße@fjord.io"),  # ß: `lower` keeps it, `casefold` makes it `ss`
        ("STRASSE@fjord.io", "strasse@fjord.io"),
        ("ΟΔΥΣΣΕΑΣ@x.io", "οδυσσεας@x.io"),  # a final sigma: `lower` makes it final, `casefold` not
        ("ﬁn@x.io", "ﬁn@x.io"),  # a ligature: `lower` keeps it, `casefold` makes it `fi`
        (NFC, NFC),
        (NFD, NFD),
    ],
)
def test_the_export_finds_the_lead_the_lead_processor_filed_the_address_under(asked: str, filed: str) -> None:
    with only_table(LEADS) as client:
        # Given leads captured under look-alike addresses that the lead processor files apart
        alike = ["straße@fjord.io", "strasse@fjord.io", "οδυσσεας@x.io", "οδυσσεασ@x.io", "fin@x.io", "ﬁn@x.io"]
        leads = captured(client, *alike, NFC, NFD)
        assert len(set(leads.values())) == 8
        assert normalize_email(asked) == filed
        # When the address is exported, then erased, as the person typed it
        export = privacy(client).export(asked)
        # Then the export is of the lead the lead processor filed it under, and of no other
        assert export["known"] is True
        assert export["lead_ids"] == [leads[filed]]
        receipt = privacy(client).erase(asked).receipt
        assert receipt.contact_ids == (leads[filed],)
        # And every other lead is still found by its own address
        for other, lead_id in leads.items():
            if other != filed:
                assert privacy(client).export(other)["lead_ids"] == [lead_id], other
