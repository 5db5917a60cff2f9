"""The org the stand-in plays: where its instance URL is served, the API versions it answers, its id, its
connected app's credentials and the users its writes are by."""

from __future__ import annotations

BASE_PATH = "/_local/crm/salesforce"
API_VERSION = "59.0"
ORGANIZATION_ID = "00D000000000001AAA"
CLIENT_ID = "local-salesforce-client-id"
CLIENT_SECRET = "local-salesforce-client-secret-dev-only"  # noqa: S105 - the stand-in's own, for local use only
INTEGRATION_USER_ID = "005000000000000AAA"  # whom tokens are issued to: API writes are theirs
DEFAULT_EDITOR_ID = "005000000000009AAA"  # who an edit is by when it names nobody and the record has no owner


def api_versions(latest: str) -> tuple[str, ...]:
    try:
        major = int(float(latest))
    except ValueError:
        raise ValueError(f"api_version must look like 59.0, not {latest!r}") from None
    return tuple(f"{v}.0" for v in range(min(55, major), major + 1))
