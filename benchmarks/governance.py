"""Governance (issue 15): what the audit trail, a person's erasure and a replay cost, each beside a baseline
measured in the same run. The section `make bench` runs; each part is a module of its own.

- audit per write (`governance_audit_write.py`), in process over moto: N lead captures through the lead API's
  handler with the real audit trail against the same trail over a store that keeps nothing (the baseline), in
  interleaved rounds; and the calls each audited write makes to the audit table.
- audit search (`governance_audit_search.py`), in the same embedded AWS (`governance_in_process.py`): 20,000
  records seeded through the adapter, then searched by target, actor and one day through the audit API's handler,
  beside reading one lead (the baseline); with the items each search read.
- erasure (`governance_erasure.py`), on the local runtime (`governance_hub.py`): a person's export (reads only:
  the baseline), then their erasure, each timed; then how many items of the hub's tables still hold their email
  (must be 0), beside how many did before.
- replay (`governance_replay.py`), on a local runtime of its own: an hour of events processed until the hub is
  quiet (the baseline), then a replay of that hour until it is quiet again; and how many items the replay changed
  (must be 0).

A part that fails is a FAILED row; the others still run. Progress goes to stderr.

    python -m benchmarks.governance [--captures 40] [--audit-records 20000] [--erasure-events 200]
                                    [--replay-events 500]
    # or BENCH_AUDIT_CAPTURES, BENCH_AUDIT_RECORDS, BENCH_ERASURE_EVENTS, BENCH_REPLAY_EVENTS (`make bench`)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.governance_audit_search import DEFAULT_AUDIT_RECORDS, audit_search_rows  # noqa: E402
from benchmarks.governance_audit_write import DEFAULT_CAPTURES, audit_per_write_rows  # noqa: E402
from benchmarks.governance_erasure import DEFAULT_ERASURE_EVENTS, erasure_rows  # noqa: E402
from benchmarks.governance_in_process import admin_claims, in_process_aws  # noqa: E402
from benchmarks.governance_replay import DEFAULT_REPLAY_EVENTS, replay_rows  # noqa: E402
from benchmarks.rows import Row  # noqa: E402


def audit_rows(captures: int = DEFAULT_CAPTURES, records: int = DEFAULT_AUDIT_RECORDS) -> list[Row]:
    """Both in-process parts (one embedded AWS): the audit trail's cost per write, then searching it."""
    with in_process_aws() as (calls, handlers):
        claims = admin_claims()
        rows, lead_id = audit_per_write_rows(handlers["leads_api"], calls, claims, captures)
        rows += audit_search_rows(handlers, calls, claims, records, lead_id)
        return rows


KNOBS = {  # governance_rows' arguments, from the environment (`make bench`) or the command line
    "captures": ("BENCH_AUDIT_CAPTURES", DEFAULT_CAPTURES),
    "audit_records": ("BENCH_AUDIT_RECORDS", DEFAULT_AUDIT_RECORDS),
    "erasure_events": ("BENCH_ERASURE_EVENTS", DEFAULT_ERASURE_EVENTS),
    "replay_events": ("BENCH_REPLAY_EVENTS", DEFAULT_REPLAY_EVENTS),
}


def knobs_from_environment() -> dict[str, int]:
    return {name: int(os.environ.get(variable, default)) for name, (variable, default) in KNOBS.items()}


def governance_rows(
    captures: int = DEFAULT_CAPTURES,
    audit_records: int = DEFAULT_AUDIT_RECORDS,
    erasure_events: int = DEFAULT_ERASURE_EVENTS,
    replay_events: int = DEFAULT_REPLAY_EVENTS,
) -> list[Row]:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    parts: list[tuple[str, Callable[[], list[Row]]]] = [
        ("audit", lambda: audit_rows(captures, audit_records)),
        ("erasure", lambda: erasure_rows(erasure_events)),
        ("replay", lambda: replay_rows(replay_events)),
    ]
    rows: list[Row] = []
    for name, measure in parts:
        try:
            rows += measure()
        except Exception as exc:  # a part that fails is a row of the table; the others still run
            rows.append((name, "FAILED", type(exc).__name__, str(exc)[:160]))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, value in knobs_from_environment().items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=value)
    rows = governance_rows(**vars(parser.parse_args()))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return 1 if any(row[1] == "FAILED" for row in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
