"""README's examples run as written, on a hub that is not on port 3000."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.e2e.conftest import ROOT

README = (ROOT / "README.md").read_text()
BASH = shutil.which("bash") or "/bin/bash"


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
    view, alerts = json.loads(lines[-2]), json.loads(lines[-1])
    assert view["totals"]["actual"] == "3302.00"
    assert view["totals"]["consumption_pct"] == "66.04"
    crossed = [a["detail"]["threshold"] for a in alerts if a["detail"]["line"] == "marketing/paid_social/*"]
    assert crossed == [50]


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
    mean = sum(line["contribution"] for line in red["breakdown"])
    assert round(mean, 2) == 70.83


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
