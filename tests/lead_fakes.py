"""In-memory fakes of the lead domain's smaller ports (the lead repository's is `tests.fakes`)."""

from __future__ import annotations

from shared.leads.model import Stage


class InMemoryNurtureCursors:
    """The nurture clock's cursors (`shared.leads.nurture.NurtureCursors`) in memory: the last save wins."""

    def __init__(self) -> None:
        self.saved: dict[Stage, str] = {}

    def read(self) -> dict[Stage, str]:
        return dict(self.saved)

    def save(self, cursors: dict[Stage, str]) -> None:
        self.saved = dict(cursors)
