"""The audit trail's part of the catalog (issue 15): the append-only `audit` table and the audit API."""

from __future__ import annotations

from shared.catalog.model import Domain

AUDIT_DOMAIN = Domain(name="audit", event_source=None)
