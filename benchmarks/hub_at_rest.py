"""The local hub at rest: what `make run` costs a developer's machine while nothing happens.

The hub polls the embedded AWS for its rule queues, work queues, table streams and timers, as Lambda's pollers
do in AWS; an idle hub's CPU is what those polls cost (and what a busy hub has less of for its work). Measured
as the share of one core the hub's process used (user + system time, from /proc) over a quiet window after
start; baseline in the same run: a moto server alone, at rest, the same way.

    python -m benchmarks.hub_at_rest [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.burst import ROOT, start_hub, stop_hub
from benchmarks.ports import free_port

WARM_SECONDS = 10.0  # after /healthz answers: every poller started and past its first round
GOAL_SHARE = 0.10  # of one core


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def share_at_rest(pid: int, seconds: float) -> float:
    """The share of one core `pid` used over `seconds` of quiet."""
    started, used = time.monotonic(), cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - used) / (time.monotonic() - started)


def hub_at_rest_rows(seconds: float = 20.0) -> list[tuple[str, str, str, str]]:
    port = free_port()
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(WARM_SECONDS)
        baseline = share_at_rest(moto.pid, seconds)
    finally:
        moto.terminate()
        moto.wait(timeout=30)
    with tempfile.TemporaryDirectory() as scratch:
        process, _ = start_hub(Path(scratch) / "hub.err")
        try:
            time.sleep(WARM_SECONDS)
            hub = share_at_rest(process.pid, seconds)
        finally:
            stop_hub(process)
    met = "✓" if hub <= GOAL_SHARE else "✗"
    return [
        ("hub at rest", f"moto server alone, {seconds:.0f} s at rest (baseline)", f"{baseline:.1%} of a core", "-"),
        (
            "hub at rest",
            f"local hub (make run), {seconds:.0f} s at rest: its pollers of the embedded AWS",
            f"{hub:.1%} of a core",
            f"{met} (goal <= {GOAL_SHARE:.0%}; +{hub - baseline:.1%} over moto alone)",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    for row in hub_at_rest_rows(parser.parse_args().seconds):
        print("  ".join(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
