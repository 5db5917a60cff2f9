"""Text normalization shared by the model's validation and the engine: one definition of "the same word"."""

from __future__ import annotations

import re

_NOT_WORD = re.compile(r"[\W_]+")


def words(text: str) -> str:
    """Case-folded words separated by single spaces: `"VP, Marketing-Ops"` -> `"vp marketing ops"`."""
    return _NOT_WORD.sub(" ", text.casefold()).strip()


def collapse(text: str) -> str:
    """Case-folded, trimmed, inner runs of whitespace collapsed: how `in` rules and conditions compare text."""
    return " ".join(text.casefold().split())


def domain_of(text: str) -> str:
    """The bare domain of an email address, URL or domain: `"Ada@Mail.Acme.com"` -> `"mail.acme.com"`,
    `"https://www.acme.com/about"` -> `"acme.com"`. Empty when there is none."""
    value = text.strip().casefold()
    if "://" in value:
        value = value.split("://", 1)[1]
    value = value.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    value = value.rsplit("@", 1)[-1].split(":", 1)[0].strip(".")
    if value.startswith("www."):
        value = value[4:]
    return value


def as_text(value: object) -> str | None:
    """How engagement attributes and condition operands compare: text trimmed and case-folded, booleans as
    `true` / `false`, numbers as their text; None for anything else (None, objects, lists)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().casefold()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return None
