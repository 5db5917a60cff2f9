"""Events an archive replay delivers again: EventBridge sets `replay-name` on every replayed event (the local
hub's replays do too), and `make replay` re-applies the hub's history to its consumers (README, "Replay").

A consumer that keeps state de-duplicates on `detail.event_id` and takes a replay as the duplicate it is. A
notifier tells people: a Slack message or an e-mail about something that happened a week ago, sent again
because a replay went by, is wrong whether or not it was sent the first time. Notifiers wrap their handler
with `told_once_not_on_replay`, which answers a replayed event without invoking it; a notification that failed
to go out sits in the function's failure queue, and `make redrive` is what sends it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from shared.observability import logger

REPLAY_NAME = "replay-name"  # the EventBridge envelope's field naming the replay that delivered the event

Handler = Callable[[dict[str, Any], Any], Any]


def replay_of(event: dict[str, Any]) -> str | None:
    """The name of the replay that delivered `event` (an EventBridge event as the target receives it); None
    for a live event."""
    name = event.get(REPLAY_NAME)
    return str(name) if name else None


def told_once_not_on_replay(handler: Handler) -> Handler:
    """For a notifier's handler: a replayed event tells no one again."""

    @functools.wraps(handler)
    def wrapped(event: dict[str, Any], context: Any) -> Any:
        replay = replay_of(event)
        if replay is None:
            return handler(event, context)
        logger.info("a replayed event tells no one", extra={"replay": replay, "detail_type": event.get("detail-type")})
        return {"note": f"replayed by {replay}: people were told when it happened, not again"}

    return wrapped
