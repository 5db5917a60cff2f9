"""The person's funnel entries in the `attribution` table (over moto): each counted stage entry's marker
(`FUNNEL_EVENT#<event id>`) names the lead that entered the stage. An export lists the person's; an erasure blanks
their lead id and keeps stage, time and campaign, so the funnel's counts do not move and the receipt's lead ids (and
the audit trail's) no longer rebuild their timeline. A replay of the same stage event cannot bring the lead id back:
the marker still holds the event id (counted before), and the erasure guard drops it anyway."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.adapters.dynamodb_attribution import DynamoDbAttributionStore
from shared.adapters.dynamodb_privacy_attribution import AttributionPrivacy
from shared.attribution.funnel_counts import StageEntry
from shared.catalog import ATTRIBUTION, physical_name
from shared.privacy.guard import ErasureGuard
from shared.privacy.model import Person
from shared.privacy.subject_keys import subject_hash
from tests.integration.conftest import STAGE, only_table
from tests.privacy_fakes import InMemoryErasureLedger

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
AT = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
GRETA = Person(email="greta@fjord.io", contact_ids=("c-greta", "c-greta-old"))


def entry(event_id: str, lead_id: str, stage: str, days: int = 0) -> StageEntry:
    return StageEntry(event_id, lead_id, stage, AT + timedelta(days=days), "cmp-spring", 3600 if days else None)


def markers(client: Any, table: str) -> dict[str, dict[str, Any]]:
    items = client.scan(TableName=table)["Items"]
    return {i["pk"]["S"]: i for i in items if i["pk"]["S"].startswith("FUNNEL_EVENT#")}


def test_her_funnel_entries_are_exported_and_the_erasure_blanks_her_lead_id_keeping_the_counts() -> None:
    table = physical_name(STAGE, ATTRIBUTION.name)
    with only_table(ATTRIBUTION) as client:
        # Given her stage entries (under her lead and a lead merged into it) and a colleague's, counted
        store = DynamoDbAttributionStore(client, table)
        entries = [
            entry("e-lead", "c-greta", "Lead"),
            entry("e-mql", "c-greta", "MQL", days=2),
            entry("e-old", "c-greta-old", "Lead", days=1),
            entry("e-olaf", "c-olaf", "Lead"),
        ]
        assert all(store.record_stage_entry(e) for e in entries)
        funnel_before = store.funnel(["2026-11"])
        privacy = AttributionPrivacy(client, table, lambda: NOW)
        # When she is exported
        exported = privacy.export(GRETA)["funnel_entries"]
        # Then her three entries are there (stage, time, campaign, lead), the colleague's not
        assert sorted((e["event_id"], e["lead_id"], e["stage"]) for e in exported) == [
            ("e-lead", "c-greta", "Lead"),
            ("e-mql", "c-greta", "MQL"),
            ("e-old", "c-greta-old", "Lead"),
        ]
        # When she is erased
        assert privacy.erase(GRETA) == 3
        # Then no marker names her leads; hers keep stage, time and campaign; the colleague's is untouched
        after = markers(client, table)
        assert [m for m in after.values() if m["lead_id"]["S"] in GRETA.contact_ids] == []
        mql = after["FUNNEL_EVENT#e-mql"]
        assert (mql["lead_id"]["S"], mql["stage"]["S"], mql["campaign_id"]["S"]) == ("", "MQL", "cmp-spring")
        assert mql["at"]["S"].startswith("2026-11-05T09:30")
        assert "erased_at" in mql
        assert after["FUNNEL_EVENT#e-olaf"]["lead_id"]["S"] == "c-olaf"
        # And the funnel counts as before, and a reattribution still reads every entry
        assert store.funnel(["2026-11"]) == funnel_before
        assert sorted(e.lead_id for e in store.stage_entries(["2026-11"])) == ["", "", "", "c-olaf"]
        # And a second erasure finds nothing more, and her export has no funnel entry left
        assert privacy.erase(GRETA) == 0
        assert privacy.export(GRETA)["funnel_entries"] == []
        # When the same stage event is replayed (past the guard): it was counted before, and names no one again
        assert store.record_stage_entry(entry("e-mql", "c-greta", "MQL", days=2)) is False
        assert markers(client, table)["FUNNEL_EVENT#e-mql"]["lead_id"]["S"] == ""
        assert store.funnel(["2026-11"]) == funnel_before


def test_a_replayed_stage_event_of_an_erased_lead_is_dropped_before_the_funnel() -> None:
    # Given her erasure tombstoned her lead ids (as `Person.subject_keys` names them: `contact#<lead id>`)
    ledger = InMemoryErasureLedger()
    ledger.tombstone([subject_hash(key) for key in GRETA.subject_keys], NOW, "er-1")
    guard = ErasureGuard(ledger)
    # When a stage event about her lead from before the erasure is replayed (an archive replay, a dead letter)
    replayed = {
        "source": "revops.leads",
        "detail": {
            "event_id": "e-mql",
            "event_type": "lead.stage_changed",
            "lead_id": "c-greta",
            "occurred_at": (AT + timedelta(days=2)).isoformat(),
        },
    }
    # Then the attribution recorder's guard drops it (no marker is written for it)
    assert guard.drops_event(replayed)
