"""MQL metrics from the engagement log: website sessions and distinct content pieces.

- A *website session* is a run of page views (the model's `mql.session_kinds`, by default `page_view` and
  `pricing_page_visit`) in which no two consecutive views are `gap` or more apart: 30 minutes of inactivity
  (a gap of exactly 30:00) starts a new session, 29:59 does not.
- A *content piece* is identified by the engagement's `name` (case and spacing ignored) or, when it has no
  name, by its `url` without query string, fragment or trailing slash. An engagement with neither is not a
  countable piece. Downloading the same piece twice, or downloading and attending a webinar of that name,
  is one piece.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.scoring.text import collapse


def count_sessions(timestamps: Iterable[int], gap: int) -> int:
    """Sessions among `timestamps` (ascending, any unit) split wherever consecutive ones are >= `gap` apart."""
    sessions = 0
    last: int | None = None
    for at in timestamps:
        if last is None or at - last >= gap:
            sessions += 1
        last = at
    return sessions


def content_key(name: object, url: object) -> str | None:
    """What makes two content engagements the same piece; None when the engagement names no piece."""
    if isinstance(name, str):
        key = collapse(name)
        if key:
            return "name:" + key
    if isinstance(url, str):
        key = url.strip().split("#", 1)[0].split("?", 1)[0].rstrip("/").casefold()
        if key:
            return "url:" + key
    return None
