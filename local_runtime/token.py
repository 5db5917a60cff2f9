"""Prints a bearer token the local runtime accepts: `python -m local_runtime.token admin [marketing ...]`."""

from __future__ import annotations

import sys

from local_runtime.auth import LocalUserPool


def main(argv: list[str]) -> int:
    groups = [group for arg in argv for group in arg.replace(",", " ").split()]
    if not groups:
        print("usage: make -s token ROLE=<admin|marketing|sales|success|finance|product>", file=sys.stderr)
        return 2
    try:
        print(LocalUserPool.from_config().issue(groups))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
