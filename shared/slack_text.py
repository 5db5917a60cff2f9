"""Text for Slack's mrkdwn, as every notifier of the hub writes it: values folded onto one line, escaped so
nothing in them is a mention or a link, and cut to Block Kit's limits with an ellipsis, never inside an
`&...;` entity or a `<...>` token."""

from __future__ import annotations

ELLIPSIS = "…"


def one_line(value: str) -> str:
    """A value on one line: line breaks, tabs and runs of spaces folded to one space."""
    return " ".join(value.split())


def mrkdwn(value: str) -> str:
    """A value inside mrkdwn: on one line, the three characters Slack asks to escape escaped."""
    return one_line(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(value: str, limit: int) -> str:
    """One line of at most `limit` characters, an ellipsis marking a cut."""
    value = one_line(value)
    return value if len(value) <= limit else value[: limit - 1].rstrip() + ELLIPSIS


def fit(text: str, limit: int) -> str:
    """`text` (escaped mrkdwn) cut to `limit` characters, never inside an `&...;` entity or a `<...>` token."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    for opener, closer in (("&", ";"), ("<", ">")):
        start = cut.rfind(opener)
        if start > cut.rfind(closer):
            cut = cut[:start]
    return cut.rstrip() + ELLIPSIS
