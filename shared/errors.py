"""Domain errors that carry a message the caller can act on; the HTTP layer maps them to 4xx."""


class InvalidInput(ValueError):
    """The caller sent something to fix; the message says what."""


class TooLarge(InvalidInput):
    """What the caller sent is more than the hub can hold; the message names what and the limit."""
