"""The webhook receiver's side of every vendor (verify, parse, handshake, reply) runs without pydantic or
Powertools, so the receiver's cold start stays near a bare boto3 handler's (issue 9: `import pydantic` alone
costs about half of that again). Checked in a fresh interpreter, which has imported nothing yet."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def probe(*flags: str) -> list[str]:
    """What `tests/receiver_probe.py` finds loaded, run in a fresh interpreter."""
    ran = subprocess.run(
        [sys.executable, "-m", "tests.receiver_probe", *flags], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    loaded: list[str] = json.loads(ran.stdout.strip().splitlines()[-1])
    return loaded


def test_the_receiver_side_of_every_vendor_runs_without_pydantic_or_powertools() -> None:
    # Given a fresh interpreter
    # When it imports the receiver's modules (the registry and everything it pulls in, the signature schemes,
    # the bounded JSON reader) and every vendor verifies, answers handshakes, parses and replies
    loaded = probe()
    # Then none of pydantic, Powertools, the canonical event model or the normalizers was loaded
    assert loaded == []


def test_the_probe_sees_pydantic_when_it_is_loaded() -> None:
    # Given the same probe, importing the publisher's side (the normalizers) too
    # Then it does see pydantic and the canonical model: an empty answer above means something
    assert {"pydantic", "shared.events.canonical", "shared.webhooks.normalizers"} <= set(probe("--with-normalizers"))
