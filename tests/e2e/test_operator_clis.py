"""Operator CLIs answer a mistake with one line that says what is wrong and what to do, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shared.scoring.model import DEFAULT_MODEL_PATH
from tests.e2e.conftest import ROOT, free_port

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
