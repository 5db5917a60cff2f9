"""Privacy's part of the catalog (issue 15): erasure, export and consent of a person across every domain."""

from __future__ import annotations

from shared.catalog.model import Domain

PRIVACY_DOMAIN = Domain(name="privacy", event_source=None)
