"""`ChatPoster` over Slack's Web API (`chat.postMessage`, with slack_sdk's `WebClient`).

One attempt per post: an answer that is not `ok` (a `channel_not_found`, an `invalid_auth`, a 5xx, a 429
`ratelimited`) raises slack_sdk's `SlackApiError` as it is, and the caller's retries (the function's event
retries with backoff, then its dead-letter queue) decide what happens next. No rate-limit retry handler is
installed, so a Lambda never sleeps through a `Retry-After`; slack_sdk's default handler retries a connection
that failed to open, once.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from shared.handoffs.notifications import SlackMessage

DEFAULT_TIMEOUT_SECONDS = 10


def slack_client(token: str, base_url: str | None = None, timeout: int = DEFAULT_TIMEOUT_SECONDS) -> WebClient:
    """A Web API client with the bot token (`xoxb-...`). `base_url` None is Slack itself; locally it is the
    hub's stand-in, `http://127.0.0.1:<port>/_local/slack/api/`."""
    return WebClient(token=token, base_url=base_url or WebClient.BASE_URL, timeout=timeout)


class SlackChatPoster:
    def __init__(self, client: WebClient) -> None:
        self._client = client

    def post(self, message: SlackMessage) -> str:
        """Posts the message (a direct message when `channel` is a user id); returns its `ts`."""
        arguments: dict[str, Any] = {
            "channel": message.channel,
            "text": message.text,
            "blocks": list(message.blocks),
            # the link is the hub's API: nothing to preview
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if message.metadata is not None:
            arguments["metadata"] = message.metadata
        response = self._client.chat_postMessage(**arguments)
        return str(response["ts"])
