"""What-if from the command line: send a candidate scoring model to the hub's simulate API and print what
would change (nothing is written). The twin of `POST /api/v1/scoring/simulate`.

    python -m ops.simulate config/candidate.json                        # the local hub `make run` started
    python -m ops.simulate candidate.json --hub https://.../prod --token "$ID_TOKEN"
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import requests

from ops.audit_run import AuditedRun, audited_run
from ops.stages import LOCAL, CannotRun


def local_token() -> str:
    from local_runtime.auth import LocalUserPool

    return LocalUserPool.from_config().issue(["marketing"])


def local_hub_url() -> str:
    from local_runtime.discovery import hub_url

    return hub_url()


def _message(response: requests.Response) -> str:
    try:
        return str(response.json().get("message", response.text))
    except ValueError:
        return response.text[:200]


def render(report: dict[str, Any]) -> str:
    lines = [
        f"model {report['current_model']} -> {report['candidate_model']}, as of {report['as_of']}",
        f"leads evaluated: {report['leads_evaluated']}" + (" (truncated)" if report["truncated"] else ""),
        f"mean score change: {report['mean_delta']:+.2f}",
        f"would reach MQL: {len(report['would_reach_mql'])}",
        f"would drop below MQL: {len(report['would_drop_below_mql'])}",
    ]
    for change, count in report["stage_changes"].items():
        lines.append(f"  stage {change}: {count}")
    for title, key in (("largest increases", "largest_increases"), ("largest decreases", "largest_decreases")):
        if report[key]:
            lines.append(f"{title}:")
            lines += [
                f"  {d['lead_id']} {d['email'] or '-'}: {d['current']:.2f} -> {d['candidate']:.2f} ({d['delta']:+.2f})"
                for d in report[key][:10]
            ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "model", type=Path, help="candidate scoring model (JSON, the format of config/scoring-model.json)"
    )
    parser.add_argument("--hub", help="the hub's URL (default: the local hub `make run` started)")
    parser.add_argument("--token", default=os.environ.get("HUB_TOKEN"), help="bearer token (default: a local one)")
    parser.add_argument("--json", action="store_true", help="print the raw report")
    args = parser.parse_args(argv)
    try:
        model = json.loads(args.model.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"error: cannot read {args.model}: {exc}", file=sys.stderr)
        return 2
    hub = args.hub or local_hub_url()
    token = args.token or local_token()
    # On the local hub the run is recorded in its audit trail; on a deployed one, the API records the request
    # with the token's identity (POST /api/v1/scoring/simulate), the stage's operator record of it.
    audit: contextlib.AbstractContextManager[AuditedRun | None] = (
        audited_run("simulate", vars(args), LOCAL) if not args.hub else contextlib.nullcontext()
    )
    try:
        with audit as run:
            response = requests.post(
                f"{hub}/api/v1/scoring/simulate",
                json={"model": model},
                headers={"Authorization": f"Bearer {token}"},
                timeout=300,
            )
            if run is not None:
                run.finish(0 if response.status_code == 200 else 1, f"HTTP {response.status_code}")
    except CannotRun as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except requests.RequestException as exc:
        print(
            f"error: no hub answers at {hub} ({type(exc).__name__}): start one with `make run`, or pass HUB=<url>",
            file=sys.stderr,
        )
        return 2
    if response.status_code != 200:
        print(f"error {response.status_code}: {_message(response)}", file=sys.stderr)
        return 1
    print(json.dumps(response.json(), indent=2) if args.json else render(response.json()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
