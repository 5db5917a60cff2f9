"""Prints the running local hub's URL (`--aws`: its embedded AWS endpoint), for scripts and `make -s url`:

    curl -s "$(python -m local_runtime.url)/healthz"

Exits 1 with a one-line message on stderr when no hub answers there. Where it looks: see
`local_runtime.discovery` ($HUB_URL, then the state file `make run` writes, then $HUB_PORT or 3000).
"""

from __future__ import annotations

import argparse
import sys

import requests

from local_runtime.discovery import hub_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--aws", action="store_true", help="print the embedded AWS endpoint instead")
    args = parser.parse_args(argv)
    url = hub_url()
    try:
        health = requests.get(f"{url}/healthz", timeout=2)
        health.raise_for_status()
        body = health.json()
    except (requests.RequestException, ValueError):
        body = None
    if not isinstance(body, dict) or body.get("status") != "ok":
        print(f"no local hub is running at {url} (start one with `make run`)", file=sys.stderr)
        return 1
    print(body.get("aws_endpoint", "") if args.aws else url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
