"""Operator CLIs answer a mistake with one line that says what is wrong and what to do, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from segment.analytics.client import Client

from shared.scoring.model import DEFAULT_MODEL_PATH
from tests.e2e.conftest import ROOT, eventually, free_port, send_standard_webhook, settle, started_hub, token

NO_AWS = {
    "AWS_ACCESS_KEY_ID": "",
    "AWS_SECRET_ACCESS_KEY": "",
    "AWS_SESSION_TOKEN": "",
    "AWS_PROFILE": "",
    "AWS_EC2_METADATA_DISABLED": "true",  # a laptop has no instance metadata to ask
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
}


def run(*args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in (os.environ | environment).items() if value != ""}
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def assert_one_line(done: subprocess.CompletedProcess[str], *mentions: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    for mention in mentions:
        assert mention in done.stderr, done.stderr


def test_simulate_without_a_hub_says_to_start_one() -> None:
    done = run("ops.simulate", str(DEFAULT_MODEL_PATH), "--hub", f"http://127.0.0.1:{free_port()}")
    assert_one_line(done, "no hub answers", "make run")


def test_rescore_without_a_running_local_hub_says_to_start_one(tmp_path: Path) -> None:
    done = run("ops.rescore", HUB_STATE_FILE=str(tmp_path / "none.json"))
    assert_one_line(done, "no local hub is running", "make run", "STAGE=dev")


def test_rescore_of_a_deployed_stage_without_credentials_says_so() -> None:
    done = run("ops.rescore", "--stage", "dev", **NO_AWS)
    assert_one_line(done, "no AWS credentials for stage dev")


def test_rescore_of_a_model_that_does_not_validate_names_the_rule(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(DEFAULT_MODEL_PATH.read_text().replace('"max_per_day": 10', '"max_per_day": -1', 1))
    done = run("ops.rescore", "--model", str(bad), HUB_STATE_FILE=str(tmp_path / "none.json"))
    assert_one_line(done, "email-open")


def test_reattribute_without_a_running_local_hub_says_to_start_one(tmp_path: Path) -> None:
    done = run("ops.reattribute", HUB_STATE_FILE=str(tmp_path / "none.json"))
    assert_one_line(done, "no local hub is running", "make run", "STAGE=dev")
    assert done.returncode == 2


def test_reattribute_of_months_that_do_not_parse_names_them(tmp_path: Path) -> None:
    done = run("ops.reattribute", "--from", "2026-13", HUB_STATE_FILE=str(tmp_path / "none.json"))
    assert_one_line(done, "from", "2026-13")
    done = run("ops.reattribute", "--from", "2026-11", "--to", "2026-09", HUB_STATE_FILE=str(tmp_path / "none.json"))
    assert_one_line(done, "from (2026-11) is after to (2026-09)")


def test_reattribute_of_a_deployed_stage_without_credentials_says_so() -> None:
    done = run("ops.reattribute", "--stage", "dev", **NO_AWS)
    assert_one_line(done, "no AWS credentials for stage dev")


def test_reattribute_takes_in_a_touch_that_arrived_after_its_conversion(tmp_path: Path) -> None:
    """On a running hub: a deal won after one touch is credited to it; a page view from before the win arrives
    after it; `make reattribute` rebuilds the conversion with both touches, and a second run changes nothing."""
    state = tmp_path / "hub.json"
    key = uuid.uuid4().hex[:8]
    won_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    email, user, month = f"ana.{key}@acme-{key}.io", f"user-{key}", won_at.strftime("%Y-%m")
    with started_hub(state) as (url, _):
        headers = {"Authorization": f"Bearer {token('marketing', 'finance')}"}

        def get(path: str, **params: str) -> Any:
            answer = requests.get(f"{url}{path}", params=params, headers=headers, timeout=10)
            return answer.json() if answer.status_code == 200 else None

        def reattribute(*args: str) -> subprocess.CompletedProcess[str]:
            return run("ops.reattribute", *args, HUB_STATE_FILE=str(state))

        segment = Client("local-write-key-dev-only", host=url, sync_mode=True, max_retries=0)
        segment.identify(user, {"email": email}, timestamp=won_at - timedelta(days=3))
        first = f"https://www.acme.test/pricing?utm_campaign=first-{key}&utm_medium=cpc"
        segment.page(user, name="Pricing", properties={"url": first}, timestamp=won_at - timedelta(days=2))
        segment.flush()
        eventually(lambda: (get("/api/v1/leads", email=email) or {}).get("items"), every=0.5)
        settle(url)
        _deal_won(url, {"deal_id": f"D-{key}", "email": email, "amount": "900.00", "won_at": won_at.isoformat()})
        deal = f"/api/v1/attribution/deals/standard:D-{key}"
        view = eventually(lambda: get(deal), every=0.5)
        assert [t["campaign_id"] for t in view["touches"]] == [f"first-{key}"]
        # When a page view from the day before the win arrives now
        late = f"https://www.acme.test/webinar?utm_campaign=late-{key}&utm_medium=email"
        segment.page(user, name="Webinar", properties={"url": late}, timestamp=won_at - timedelta(days=1))
        segment.flush()
        settle(url)
        # Then reattributing takes it in (the hub may still be logging it: run until it is)
        changed = eventually(
            lambda: (
                (done := reattribute()).stdout.splitlines()[0].endswith(", 0 changed meanwhile")
                and (": 1 changed, 0 unchanged" in done.stdout)
                and done
            ),
            every=0.5,  # each poll runs the CLI: a process start
        )
        assert changed.returncode == 0, changed.stderr
        assert changed.stdout.startswith("reattributed 1 conversions of "), changed.stdout
        assert f"to {month} with settings " in changed.stdout
        view = get(deal)
        assert [t["campaign_id"] for t in view["touches"]] == [f"first-{key}", f"late-{key}"]
        # And running again changes nothing
        again = reattribute("--from", month, "--to", month)
        assert again.returncode == 0, again.stderr
        conversions, pipeline, funnel = again.stdout.splitlines()  # a line per pass: conversions, pipeline, funnel
        assert conversions.endswith(": 0 changed, 1 unchanged, 0 changed meanwhile"), again.stdout
        assert pipeline.startswith("recomputed the pipeline of "), again.stdout
        assert pipeline.endswith(": 0 changed, 0 unchanged, 0 changed meanwhile"), again.stdout  # no open deal
        assert ": 0 moved to another campaign, " in funnel, again.stdout
        assert funnel.endswith(" unchanged, 0 changed meanwhile"), again.stdout
        assert get(deal)["touches"] == view["touches"]


def _deal_won(url: str, data: dict[str, Any]) -> None:
    """A Standard Webhooks `deal.won`, signed with the local secret."""
    answer = send_standard_webhook(url, "deal.won", data["won_at"], data)
    assert answer.status_code in (200, 202), answer.text


def test_redrive_without_a_running_local_hub_says_to_start_one(tmp_path: Path) -> None:
    done = run("ops.redrive", "--queue", "lead-processor-async-failures", HUB_STATE_FILE=str(tmp_path / "none.json"))
    assert_one_line(done, "no local hub is running", "make run", "STAGE=dev")


def test_redrive_of_a_deployed_stage_without_credentials_says_so() -> None:
    done = run("ops.redrive", "--stage", "dev", "--queue", "lead-processor-async-failures", **NO_AWS)
    assert_one_line(done, "no AWS credentials for stage dev")
    assert done.returncode == 2


def test_make_redrive_goes_to_the_local_hub_unless_a_stage_is_given() -> None:
    def command(*variables: str) -> str:
        command = ["make", "-n", "redrive", "QUEUE=lead-processor-async-failures", *variables]
        done = subprocess.run(
            command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            env={key: value for key, value in os.environ.items() if key != "STAGE"},
        )
        [line] = [line for line in done.stdout.splitlines() if "ops.redrive" in line]
        return line

    assert "--stage" not in command()
    assert "--stage dev" in command("STAGE=dev")
    assert "--include-permanent" in command("INCLUDE_PERMANENT=1")


def test_the_local_hubs_redrive_ends_leaves_a_permanent_failure_and_is_audited(hub: str, hub_state_file: Path) -> None:
    import json

    import boto3

    from shared.permanent_failures import PERMANENT_CONDITION
    from shared.redrive import destination_record
    from tests.e2e.test_audit import everything

    queue = "lead-processor-async-failures"
    state = json.loads(hub_state_file.read_text())
    sqs = boto3.client(
        "sqs",
        endpoint_url=state["aws_endpoint"],
        region_name="us-east-1",
        aws_access_key_id="l",
        aws_secret_access_key="l",
    )
    url = sqs.get_queue_url(QueueName=f"revops-local-{queue}")["QueueUrl"]
    event_id = f"poison-{uuid.uuid4()}"
    event = {
        "version": "0",
        "id": event_id,
        "source": "revops.webhooks",
        "detail-type": "contact.upserted",
        "time": "2026-12-02T20:00:00Z",
        "account": "123456789012",
        "region": "us-east-1",
        "resources": [],
        "detail": {"event_id": event_id, "nonsense": True},
    }
    # Given an event the lead processor set aside as one that can never succeed as it is (it fails validation)
    record = destination_record("revops-local-lead-processor", event, ValueError("invalid"), PERMANENT_CONDITION, 1)
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
    # When `make redrive QUEUE=...` runs without a stage
    done = run("ops.redrive", "--queue", queue, HUB_STATE_FILE=str(hub_state_file))
    # Then the local hub's redrive leaves it in the queue, and the run says so (exit 1)
    assert done.returncode == 1, done.stderr
    assert "left 1" in done.stdout
    # And POST /_local/redrive with the queue's physical name, permanent failures included, hands it back and ends
    answer = requests.post(f"{hub}/_local/redrive/revops-local-{queue}?include_permanent=1", timeout=60)
    assert answer.status_code == 200, answer.text
    assert answer.json()["redriven"] >= 1

    # And both runs are in the audit trail, the queue their target, their counts the summary
    def finished_runs() -> list[dict[str, Any]] | None:
        runs = [r for r in everything(hub, route="CLI redrive") if r["phase"] == "finished"]
        return runs if len(runs) >= 2 else None

    runs = eventually(finished_runs)  # newest first
    assert all({"field": "queue", "id": queue} in r["targets"] for r in runs[:2]), runs[:2]
    summaries = [r["detail"].get("summary", "") for r in runs[:2]]
    assert any("left 1" in summary for summary in summaries), summaries
    # (what it put back, set aside again, is taken out of the shared hub's queue)
    for _ in range(5):
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            if event_id in message["Body"]:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
