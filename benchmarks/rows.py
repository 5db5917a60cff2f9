"""A row of `make bench`'s table (what, measure, figure, ratio / detail) and the mark a goal's row ends with."""

from __future__ import annotations

Row = tuple[str, str, str, str]


def mark(ok: bool) -> str:
    return " ✓" if ok else " ✗"
