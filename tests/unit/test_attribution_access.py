"""Who may call the attribution and ROI APIs (issue 12 §3): marketing, sales, finance and admin, from the catalog."""

from __future__ import annotations

from typing import Any

import pytest

from shared.catalog import CATALOG
from shared.catalog.scopes import PERSON_SCOPE
from shared.http.rbac import denial

ATTRIBUTION_ROUTES = sorted((route.method, route.path) for fn, route in CATALOG.routes if fn.name == "attribution_api")


def person_calling(method: str, resource: str, group: str) -> dict[str, Any]:
    claims = {"sub": "u-1", "username": "u-1", "cognito:groups": group, "scope": PERSON_SCOPE}
    return {"httpMethod": method, "resource": resource, "requestContext": {"authorizer": {"claims": claims}}}


def test_the_attribution_api_has_the_roi_route() -> None:
    assert ("GET", "/api/v1/integrations/finance/roi/{campaign_id}") in ATTRIBUTION_ROUTES


@pytest.mark.parametrize("group", ["marketing", "sales", "finance", "admin"])
@pytest.mark.parametrize(("method", "path"), ATTRIBUTION_ROUTES)
def test_every_attribution_and_roi_route_is_open_to_marketing_sales_finance_and_admin(
    method: str, path: str, group: str
) -> None:
    # Given a person of one of the issue's four groups
    # When they call an attribution route (campaign ROI among them)
    refused = denial(person_calling(method, path, group))
    # Then RBAC lets them through
    assert refused is None, refused


@pytest.mark.parametrize(("method", "path"), ATTRIBUTION_ROUTES)
def test_a_group_the_issue_does_not_name_is_refused_naming_the_four(method: str, path: str) -> None:
    # Given a person of another group (customer success)
    # When they call an attribution route
    refused = denial(person_calling(method, path, "success"))
    # Then 403 names the groups it is for, sales among them
    assert refused is not None
    assert refused[0] == 403
    assert "admin, finance, marketing, sales" in refused[1]
