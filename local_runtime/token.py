"""Prints a bearer token the local runtime accepts:

python -m local_runtime.token admin [marketing ...]       a person's access token with those groups
                              [--username sdr-maya-chen]  (signed in as that user)
                              [--email maya.chen@example.com]  (whose verified email is that)
python -m local_runtime.token --client bi-reporting       an app client's client-credentials access token
                              [--scope leads.read ...]    (its scopes, or only those asked for)
"""

from __future__ import annotations

import argparse
import sys

from local_runtime.auth import InvalidScope, LocalUserPool, UnknownClient
from shared.api_clients import InvalidApiClients

USAGE = "make -s token ROLE=<admin|marketing|sales|success|finance|product> | make -s token CLIENT=<app client>"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="local_runtime.token", usage=USAGE, description=__doc__)
    parser.add_argument("groups", nargs="*", help="a person's groups (comma- or space-separated)")
    parser.add_argument("--client", help="an app client of config/api-clients.json")
    parser.add_argument("--scope", action="append", default=[], help="ask for only these of the client's scopes")
    parser.add_argument("--username", help="a person's username (default: local-<groups>)")
    parser.add_argument("--email", help="a person's verified email, which their access token then carries")
    args = parser.parse_args(argv)
    groups = [group for arg in args.groups for group in arg.replace(",", " ").split()]
    person_only = args.username or args.email
    if bool(groups) == bool(args.client) or (args.scope and not args.client) or (person_only and args.client):
        print(f"usage: {USAGE}", file=sys.stderr)
        return 2
    try:
        pool = LocalUserPool.from_config()
        scopes = [scope for arg in args.scope for scope in arg.replace(",", " ").split()]
        if args.client:
            print(pool.issue_for_client(args.client, scopes))
        else:
            print(pool.issue(groups, username=args.username, email=args.email))
    except (ValueError, UnknownClient, InvalidScope, InvalidApiClients) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
