"""README's examples run as written, in order, on a hub of their own that is not on port 3000."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, started_hub

README = (ROOT / "README.md").read_text()
BASH = shutil.which("bash") or "/bin/bash"


@pytest.fixture(scope="module")
def hub_state_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The walkthroughs' own hub, as a reader's `make run` is: what other tests sent (spend in this month, leads)
    would change the figures README promises."""
    return tmp_path_factory.mktemp("readme-hub") / "local.json"


@pytest.fixture(scope="module")
def hub(hub_state_file: Path) -> Iterator[str]:
    with started_hub(hub_state_file) as (url, _):
        yield url


def bash_block(after_heading: str) -> str:
    start = README.index(after_heading)
    match = re.search(r"```bash\n(.*?)```", README[start:], re.S)
    assert match, f"no bash block after {after_heading!r}"
    return match.group(1)


def run(script: str, hub_state_file: Path) -> subprocess.CompletedProcess[str]:
    """The script pasted into bash, with the e2e hub (never port 3000) as the one `make -s url` finds."""
    env = os.environ | {"HUB_STATE_FILE": str(hub_state_file), "MAKEFLAGS": ""}
    return subprocess.run(
        [BASH, "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_leads_journey_by_hand_runs_as_written(hub: str, hub_state_file: Path) -> None:
    # Given the README's walkthrough, and the e2e hub (on a free port, never 3000) recorded in its state file
    assert not hub.endswith(":3000")
    script = bash_block("### A lead's journey, by hand")
    # When it is pasted into bash
    done = run(script, hub_state_file)
    # Then every step answers, the lead is scored, and sales were handed Sam with priority
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    [listed] = json.loads(lines[-2])["items"]
    assert listed["email"] == "sam@northwind.io"
    assert listed["fit_score"] > 0
    assert listed["stage"] == "Lead"
    assert listed["score"] == listed["fit_score"] + listed["engagement_score"] == 195  # the demo request scored
    handoffs = json.loads(lines[-1])
    assert any(h["detail"]["email"] == "sam@northwind.io" and h["detail"]["priority"] == "priority" for h in handoffs)


def test_a_handoff_by_hand_runs_as_written_after_the_journey(hub: str, hub_state_file: Path) -> None:
    # Given the lead's journey has run (the test above), and the README's handoff walkthrough
    script = bash_block("### A handoff, by hand")
    # When it is pasted into bash on the same hub
    done = run(script, hub_state_file)
    # Then Sam's handoff was assigned to a rep who was told in Slack, and the admin's accept made it accepted
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    handoff, slack, accepted = json.loads(lines[0]), json.loads(lines[1]), json.loads(lines[-1])
    assert handoff["rep_id"]
    assert handoff["lead"]["profile"]["email"] == "sam@northwind.io"
    assert any(handoff["handoff_id"] in json.dumps(message["blocks"]) for message in slack["messages"])
    assert accepted["status"] == "accepted"


def test_spend_by_hand_runs_as_written(hub: str, hub_state_file: Path) -> None:
    # Given the README's finance walkthrough
    script = bash_block("### Spend, by hand")
    # When it is pasted into bash
    done = run(script, hub_state_file)
    # Then the budget shows the two lines converted and summed, and the 50 % alert was published once
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    view, alerts, slack = json.loads(lines[-3]), json.loads(lines[-2]), json.loads(lines[-1])
    assert view["totals"]["actual"] == "3302.00"
    assert view["totals"]["consumption_pct"] == "66.04"
    crossed = [a["detail"]["threshold"] for a in alerts if a["detail"]["line"] == "marketing/paid_social/*"]
    assert crossed == [50]
    # and marketing's budget channel was told of the 50 % once, with the figures README quotes (early in a month
    # the forecast overruns too, and is told beside it)
    [told] = [m for m in slack["messages"] if "threshold" in m["metadata"]["event_payload"]]
    assert told["text"].startswith("marketing/paid_social/* reached 50% of its ")
    assert told["metadata"]["event_payload"]["threshold"] == 50
    figures = [field["text"] for field in told["blocks"][1]["fields"]]
    assert figures == ["*Budget*\n5,000.00 USD", "*Actual*\n3,302.00 USD", "*Consumption*\n66.04 %"]


def test_attribution_by_hand_runs_as_written(hub: str, hub_state_file: Path) -> None:
    # Given the README's attribution walkthrough
    script = bash_block("### Attribution, by hand")
    # When it is pasted into bash
    done = run(script, hub_state_file)
    # Then the deal's three touches are credited as the README computes by hand, and the ROI follows
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    deal, roi = json.loads(lines[-2]), json.loads(lines[-1])
    credits = {model: [t["credits"][model] for t in deal["touches"]] for model in deal["touches"][0]["credits"]}
    assert [t["campaign_id"] for t in deal["touches"]] == ["q4-social", "brand-search", "webinar-mail"]
    assert credits["linear"] == ["4000.00", "4000.00", "4000.00"]
    assert credits["u_shaped"] == ["4800.00", "4800.00", "2400.00"]
    assert credits["w_shaped"] == ["4000.00", "4000.00", "4000.00"]
    assert credits["full_path"] == ["3000.00", "3000.00", "6000.00"]
    assert roi["models"]["linear"]["roi"] == "0.3333"
    assert roi["spend"] == "3000.00"


def test_health_by_hand_runs_as_written(hub: str, hub_state_file: Path) -> None:
    # Given the README's health walkthrough
    script = bash_block("### Health, by hand")
    # When it is pasted into bash
    done = run(script, hub_state_file)
    # Then the usage is stored, the account is green at 100 as computed by hand, then red at 35 by the cap
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    usage, healthy, red = json.loads(lines[-3]), json.loads(lines[-2]), json.loads(lines[-1])
    assert usage["recorded"] is True
    assert (healthy["score"], healthy["band"], healthy["risks"]) == (100.0, "green", [])
    assert sorted(line["measure"] for line in healthy["breakdown"] if line["score"] is not None) == [
        "days_past_due",
        "failed_payments",
        "feature_adoption",
        "nps",
        "seat_utilization",
    ]
    assert (red["score"], red["band"], red["caps"][0]["cap"]) == (35.0, "red", "detractor_with_failed_payment")
    assert "turned red" in red["risks"]
    mean = sum(line["contribution"] for line in red["breakdown"] if line["group"] != "cap")
    assert round(mean, 2) == 70.83
    assert red["breakdown"][-1]["group"] == "cap"
    assert round(sum(line["contribution"] for line in red["breakdown"]), 2) == 35.0


def test_crm_sync_by_hand_runs_as_written(hub: str, hub_state_file: Path) -> None:
    # Given the README's CRM sync walkthrough
    script = bash_block("### CRM sync, by hand")
    # When it is pasted into bash
    done = run(script, hub_state_file)
    # Then HubSpot holds the lead with the hub's score and stage, owned by Daniel, and the audit says why
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    contact, entry = json.loads(lines[-2]), json.loads(lines[-1])
    assert contact["firstname"] == "Dana"
    assert contact["lifecyclestage"] == "lead"
    assert float(contact["revops_score"]) > 0
    assert contact["revops_score_factors"]
    assert contact["hubspot_owner_id"] == "71000012"
    assert (entry["outcome"], entry["rule"], entry["new_value"]) == ("applied", "last_modified_wins", "ae-daniel-kim")
    assert entry["actor"] == "salesforce:005000000000099AAA"


def test_audit_by_hand_runs_as_written(hub: str, hub_state_file: Path) -> None:
    # Given the README's audit walkthrough
    script = bash_block("### Audit, by hand")
    # When it is pasted into bash
    done = run(script, hub_state_file)
    # Then the lead's capture and the refused unmerge are both in its trail, the operator run and the rep change too
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "POST /api/v1/integrations/sales/leads 201" in out
    assert "POST /api/v1/leads/{lead_id}/unmerge 403" in out
    assert "finished succeeded local:" in out
    assert "ines@tern.io" not in out  # the trail keeps no email in clear
    # And the sales caller's 403 names the groups that may search it
    assert out.rstrip().endswith("}")
    assert "admin" in out.splitlines()[-1]


def test_privacy_by_hand_runs_as_written(hub: str, hub_state_file: Path) -> None:
    # Given the README's privacy walkthrough
    script = bash_block("### Privacy, by hand")
    # When it is pasted into bash
    done = run(script, hub_state_file)
    # Then the export named her, the erasure and its repeat are one erasure with nothing more erased, and she is gone
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines[0].startswith("Duarte ")
    first, again, found = json.loads(lines[1]), json.loads(lines[2]), json.loads(lines[3])
    assert first["erasure_id"] == again["erasure_id"]
    assert first["erased"]["leads"] > 0
    assert first["erased"]["crm"] == 2  # her records in HubSpot and Salesforce, deleted through the sync
    assert set(again["erased_now"].values()) == {0}, again
    assert found["items"] == []


def test_consent_by_hand_runs_as_written(hub: str, hub_state_file: Path) -> None:
    # Given the README's consent walkthrough
    script = bash_block("### Consent, by hand")
    # When it is pasted into bash
    done = run(script, hub_state_file)
    # Then the two page views read while consent was withdrawn score nothing, the one read after the opt-in scores
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.count("collected while consent was withdrawn") == 2
    assert "(2.0, None)" in last


def test_replay_by_hand_runs_as_written(hub: str, hub_state_file: Path) -> None:
    # Given the README's replay walkthrough
    script = bash_block("### Replay, by hand")
    # When it is pasted into bash
    done = run(script, hub_state_file)
    # Then both replays ran to the end and the hub lists them
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1].count("'COMPLETED'") >= 2


def test_access_for_systems_by_hand_runs_as_written(hub: str, hub_state_file: Path) -> None:
    # Given the README's access walkthrough: a leads.read system, a web-forms system, an admin-only route, a partner
    script = bash_block("### Access for systems, by hand")
    # When it is pasted into bash
    done = run(script, hub_state_file)
    # Then reads pass, a write without leads.write and an admin route are refused, the partner's keys work until retired
    assert done.returncode == 0, done.stderr
    codes = [line for line in done.stdout.splitlines() if line.strip()]
    assert codes[0] == "200"
    assert codes[1] == "401"
    assert codes[2] in ("200", "201")
    assert codes[3] == "401"
    assert codes[4] in ("200", "201")
    assert codes[5] == "403"


def test_who_a_person_is_by_hand_runs_as_written(hub: str, hub_state_file: Path) -> None:
    # Given the README's example of a person's access token, with the email the pre-token trigger adds
    script = bash_block("### Who a person is to the functions")
    # When it is pasted into bash
    done = run(script, hub_state_file)
    # Then the token names Maya by her generated username and her verified email, as an access token
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first == "c0ffee00-5e1f-4b1e-9a55-0123456789ab maya.chen@example.com access"
    # And a handoff of hers, when there is one, is accepted by her
    if len(done.stdout.splitlines()) > 1:
        assert json.loads(done.stdout.splitlines()[1])["status"] == "accepted"
