"""Domain errors that carry a message the caller can act on; the HTTP layer maps them to 4xx."""


class InvalidInput(ValueError):
    """The caller sent something to fix; the message says what."""
