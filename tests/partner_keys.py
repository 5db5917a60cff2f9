"""A partner's API key on a running local hub, issued as an operator issues it: `make -s rotate-api-key`, which prints
the new key's value alone on stdout (the e2e and fuzz tiers)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[1]
PARTNER = "example-lead-partner"  # config/api-clients.json
API_KEY_HEADER = "x-api-key"


def rotate_partner_key(state_file: Path, partner: str = PARTNER, overlap_hours: float | None = None) -> str:
    """A new key of `partner` on the hub whose state file is `state_file` (the previous one kept for the overlap,
    24 hours unless `overlap_hours` says otherwise)."""
    command = ["make", "-s", "rotate-api-key", f"PARTNER={partner}"]
    if overlap_hours is not None:
        command.append(f"OVERLAP_HOURS={overlap_hours:g}")
    result = subprocess.run(
        command,
        cwd=ROOT,
        env=os.environ | {"HUB_STATE_FILE": str(state_file)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    [key] = result.stdout.split()
    return key


def api_key_id(aws_endpoint: str, value: str) -> str:
    """The id of the key with that value, in the hub's embedded API Gateway."""
    apigateway: Any = boto3.client(
        "apigateway",
        endpoint_url=aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # the embedded AWS takes any
    )
    keys = apigateway.get_api_keys(includeValues=True, limit=500)["items"]
    [key_id] = [key["id"] for key in keys if key.get("value") == value]
    return str(key_id)
