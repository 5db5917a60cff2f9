"""Access for systems, not only people (issue 15 §5), in the synthesized stacks: the OAuth 2.0 resource server and
the app clients of config/api-clients.json, every /api/v1 method's scopes, MFA for people, the 10,000 requests/s
stage, the partners' usage plans, partner routes that take a key, and (on a stage configured for it) a custom domain
served with TLS 1.3 only."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk.assertions import Match

import infra.config
from infra.api import API_RATE_LIMIT_PER_5_MINUTES, TLS13_ONLY_POLICY_NAME, WAF_WINDOW_SECONDS
from infra.config import CustomDomain
from shared.api_clients import load_api_clients, usage_plan_name
from shared.catalog import CATALOG, DOMAIN_THROTTLES, STAGE_THROTTLE, Group, physical_name
from shared.catalog.partners import PartnerRoute
from shared.catalog.scopes import PERSON_SCOPE, RESOURCE_SERVER, SystemScopes, catalog_scopes, composed_domains
from tests.infra.conftest import Synth, _synthesize
from tests.infra.test_infra_guard_rails import NAG_FINDING

if TYPE_CHECKING:
    from aws_cdk.assertions import Template

SEED_PEAK_REQUESTS_PER_SECOND = 10_000
CLIENTS = load_api_clients()
# The lead API's partner route (shared/catalog/leads.py)
PARTNER_ROUTE = CATALOG.route_for("POST", "/api/v1/partners/leads")
assert isinstance(PARTNER_ROUTE, PartnerRoute)
DOMAIN = CustomDomain(
    name="api.revops.example.com",
    certificate_arn="arn:aws:acm:eu-west-1:123456789012:certificate/0d7c3b3e-5c2a-4c57-9d7e-3f1c2b0a9e11",
    hosted_zone_id="Z0123456789ABCDEFGHIJ",
    hosted_zone_name="revops.example.com",
)


def _resources(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = template.find_resources(kind)
    return found


def _full_scopes(names: tuple[str, ...], server_id: str) -> list[dict[str, Any]]:
    return [{"Fn::Join": ["", [{"Ref": server_id}, f"/{name}"]]} for name in names]


# --- OAuth 2.0 for systems ---------------------------------------------------------------------------------------


def test_the_resource_server_offers_one_scope_per_domain_and_access(synth: Synth) -> None:
    # Given the hub's catalog's scopes
    expected = catalog_scopes()
    # Then the user pool's one resource server is `revops`, offering exactly those
    [server] = _resources(synth.template, "AWS::Cognito::UserPoolResourceServer").values()
    assert server["Properties"]["Identifier"] == RESOURCE_SERVER
    offered = sorted(scope["ScopeName"] for scope in server["Properties"]["Scopes"])
    assert offered == sorted(expected.names)
    assert {"leads.read", "leads.write", "finance.read", "finance.write"} <= set(offered)
    # And no scope opens a route only admins may call
    assert not any(name.startswith(("audit.", "privacy.", "webhooks.")) for name in offered)


def test_each_system_gets_an_app_client_for_client_credentials_with_its_scopes_only(synth: Synth) -> None:
    [server_id] = _resources(synth.template, "AWS::Cognito::UserPoolResourceServer")
    clients = {
        resource["Properties"]["ClientName"]: resource["Properties"]
        for resource in _resources(synth.template, "AWS::Cognito::UserPoolClient").values()
    }
    # Then people keep their one SRP client, and each configured system has its own
    assert set(clients) == {physical_name(synth.stage, "api-client")} | {
        physical_name(synth.stage, f"client-{client.name}") for client in CLIENTS.clients
    }
    assert CLIENTS.clients, "config/api-clients.json configures no system: nothing here would be checked"
    for client in CLIENTS.clients:
        properties = clients[physical_name(synth.stage, f"client-{client.name}")]
        # with a secret, the client-credentials grant and nothing else, exactly its scopes, short-lived tokens
        assert properties["GenerateSecret"] is True
        assert properties["AllowedOAuthFlows"] == ["client_credentials"]
        assert properties["AllowedOAuthFlowsUserPoolClient"] is True
        assert properties["AllowedOAuthScopes"] == _full_scopes(client.scopes, server_id)
        assert set(properties.get("ExplicitAuthFlows", [])) <= {"ALLOW_REFRESH_TOKEN_AUTH"}
        assert (properties["AccessTokenValidity"], properties["TokenValidityUnits"]["AccessToken"]) == (
            client.access_token_minutes,
            "minutes",
        )
    # And the people's client still takes no OAuth flow (no hosted UI: SRP sign-in with MFA)
    people = clients[physical_name(synth.stage, "api-client")]
    assert "AllowedOAuthFlows" not in people
    assert people["ExplicitAuthFlows"] == ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


def test_the_token_endpoint_has_a_domain_per_stage_and_account(synth: Synth) -> None:
    [domain] = _resources(synth.template, "AWS::Cognito::UserPoolDomain").values()
    assert domain["Properties"]["Domain"] == {"Fn::Join": ["", [f"revops-{synth.stage}-", {"Ref": "AWS::AccountId"}]]}
    outputs = synth.template.to_json()["Outputs"]
    token_output = next(value for key, value in outputs.items() if key.startswith("ApiTokenEndpoint"))
    assert "/oauth2/token" in json.dumps(token_output["Value"])
    for client in CLIENTS.clients:
        assert any(key.startswith(f"ApiAppClient{_pascal(client.name)}Id") for key in outputs)


def test_every_api_v1_method_takes_its_routes_scope_and_the_persons_and_admin_routes_only_the_persons(
    synth: Synth,
) -> None:
    # Given the scopes of the synthesized catalog
    scopes = SystemScopes.of(synth.catalog, composed_domains())
    people_only = 0
    for _, route in synth.catalog.routes:
        method = synth.template.to_json()["Resources"][synth.logical_id(synth.stack.api.methods[route.key])]
        properties = method["Properties"]
        if route.is_public:
            # Then a vendor's or tracker's route takes no token at all
            assert "AuthorizationScopes" not in properties, route.key
            continue
        scope = scopes.scope_of(route)
        if route.groups and route.groups <= {Group.ADMIN}:
            # Then a route only admins may call takes a person's access token only
            assert properties["AuthorizationScopes"] == [PERSON_SCOPE], route.key
            people_only += 1
        else:
            # Then any other takes its domain's scope for its access (GET: read) or a person's token
            assert scope is not None, route.key
            assert scope.access == ("read" if route.method == "GET" else "write"), route.key
            assert properties["AuthorizationScopes"] == [f"{RESOURCE_SERVER}/{scope.name}", PERSON_SCOPE], route.key
        assert properties["AuthorizationType"] == "COGNITO_USER_POOLS"
        assert properties.get("ApiKeyRequired", False) is False
    assert people_only >= 1


def test_leads_read_opens_the_lead_reads_and_no_lead_write(dev: Synth) -> None:
    by_key = {route.key: route for _, route in dev.catalog.routes}

    def scopes_of(key: str) -> list[str]:
        method = dev.template.to_json()["Resources"][dev.logical_id(dev.stack.api.methods[key])]
        return list(method["Properties"]["AuthorizationScopes"])

    assert "revops/leads.read" in scopes_of("GET /api/v1/leads")
    assert "revops/leads.read" in scopes_of("GET /api/v1/leads/{lead_id}")
    assert "POST /api/v1/integrations/sales/leads" in by_key
    assert "revops/leads.read" not in scopes_of("POST /api/v1/integrations/sales/leads")
    assert "revops/leads.write" in scopes_of("POST /api/v1/integrations/sales/leads")


# --- MFA, throttles, WAF -----------------------------------------------------------------------------------------


def test_people_must_sign_in_with_a_totp_code_so_admins_do(synth: Synth) -> None:
    # Cognito's MFA setting is pool-wide: ON requires it of every person, admins included; TOTP only, never SMS
    [pool] = _resources(synth.template, "AWS::Cognito::UserPool").values()
    assert pool["Properties"]["MfaConfiguration"] == "ON"
    assert pool["Properties"]["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    groups = {g["Properties"]["GroupName"] for g in _resources(synth.template, "AWS::Cognito::UserPoolGroup").values()}
    assert Group.ADMIN.value in groups


def test_the_stage_allows_the_seeds_peak_and_keeps_the_per_domain_limits(synth: Synth) -> None:
    stage = synth.template.to_json()["Resources"][synth.logical_id(synth.stack.api.stage)]["Properties"]
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["MethodSettings"]}
    default = settings[("/*", "*")]
    # Then the stage takes 10,000 requests/s, with at least a second of it as burst
    assert default["ThrottlingRateLimit"] >= SEED_PEAK_REQUESTS_PER_SECOND
    assert default["ThrottlingBurstLimit"] >= SEED_PEAK_REQUESTS_PER_SECOND
    assert (STAGE_THROTTLE.rate_per_second, STAGE_THROTTLE.burst) == (10_000, 20_000)
    # And each method keeps its domain's limit, none above the stage's
    limits = []
    for _, route in synth.catalog.routes:
        setting = settings[(route.path.replace("/", "~1").join(["/", ""]), route.method)]
        throttle = DOMAIN_THROTTLES[route.domain]
        assert (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]) == (
            throttle.rate_per_second,
            throttle.burst,
        )
        assert throttle.rate_per_second <= STAGE_THROTTLE.rate_per_second
        limits.append(throttle.rate_per_second)
    # And the methods together can take the peak (the stage's limit is what caps it, not theirs)
    assert sum(limits) >= SEED_PEAK_REQUESTS_PER_SECOND


def test_the_waf_limits_each_address_on_api_v1_only_and_above_every_partners_plan(synth: Synth) -> None:
    [acl] = _resources(synth.template, "AWS::WAFv2::WebACL").values()
    [rate] = [rule for rule in acl["Properties"]["Rules"] if "RateBasedStatement" in rule["Statement"]]
    statement = rate["Statement"]["RateBasedStatement"]
    # Then only /api/v1 is counted, per address, so webhooks and tracking (the bulk of the peak) never are
    assert (statement["AggregateKeyType"], statement["Limit"]) == ("IP", API_RATE_LIMIT_PER_5_MINUTES)
    assert statement["EvaluationWindowSec"] == WAF_WINDOW_SECONDS
    assert statement["ScopeDownStatement"]["ByteMatchStatement"]["SearchString"] == "/api/v1/"
    # And no partner's plan lets it run into that limit from one address
    for partner in CLIENTS.partners:
        assert partner.rate_per_second * WAF_WINDOW_SECONDS <= API_RATE_LIMIT_PER_5_MINUTES, partner.name


# --- partners' API keys ------------------------------------------------------------------------------------------


def test_each_partner_has_a_usage_plan_on_the_stage_and_no_key_is_in_the_template(synth: Synth) -> None:
    plans = {
        plan["Properties"]["UsagePlanName"]: plan["Properties"]
        for plan in _resources(synth.template, "AWS::ApiGateway::UsagePlan").values()
    }
    assert set(plans) == {usage_plan_name(synth.stage, partner.name) for partner in CLIENTS.partners}
    for partner in CLIENTS.partners:
        plan = plans[usage_plan_name(synth.stage, partner.name)]
        assert plan["Throttle"] == {"RateLimit": partner.rate_per_second, "BurstLimit": partner.burst}
        assert plan["Quota"] == {"Limit": partner.quota.limit, "Period": partner.quota.period}
        [api_stage] = plan["ApiStages"]
        assert api_stage["ApiId"] == {"Ref": synth.logical_id(synth.stack.api.rest_api)}
        assert api_stage["Stage"] == {"Ref": synth.logical_id(synth.stack.api.stage)}
    # Keys are issued and rotated by make rotate-api-key: a key in the template would be undone by every deploy
    synth.template.resource_count_is("AWS::ApiGateway::ApiKey", 0)
    synth.template.resource_count_is("AWS::ApiGateway::UsagePlanKey", 0)


# --- a stage with a partner route and a custom domain ------------------------------------------------------------


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    """dev, configured with a custom domain."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(
            infra.config._CONFIGS, "dev", dataclasses.replace(infra.config.stage_config("dev"), custom_domain=DOMAIN)
        )
        yield _synthesize(Path(tmp_path_factory.mktemp("cdk-access")), "dev", CATALOG)


def test_a_partner_route_takes_an_api_key_and_no_token(configured: Synth) -> None:
    method = configured.template.to_json()["Resources"][
        configured.logical_id(configured.stack.api.methods[PARTNER_ROUTE.key])
    ]["Properties"]
    assert method["ApiKeyRequired"] is True
    assert method["AuthorizationType"] == "NONE"
    assert "AuthorizationScopes" not in method
    # And every other method still takes a token, never a key
    for _, route in configured.catalog.routes:
        if route.key != PARTNER_ROUTE.key:
            other = configured.template.to_json()["Resources"][
                configured.logical_id(configured.stack.api.methods[route.key])
            ]
            assert other["Properties"].get("ApiKeyRequired", False) is False, route.key


def test_the_custom_domain_is_served_with_tls_1_3_only_and_is_the_only_way_in(configured: Synth) -> None:
    [domain] = _resources(configured.template, "AWS::ApiGateway::DomainName").values()
    properties = domain["Properties"]
    # Then the domain is regional, TLS 1.3 only (an enhanced policy, which needs an endpoint access mode), with its cert
    assert properties["DomainName"] == DOMAIN.name
    assert properties["SecurityPolicy"] == TLS13_ONLY_POLICY_NAME
    assert properties["EndpointAccessMode"] == "STRICT"
    assert properties["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert properties["RegionalCertificateArn"] == DOMAIN.certificate_arn
    # And it maps the stage at the root, so paths are those of the execute-api URL
    [mapping] = _resources(configured.template, "AWS::ApiGateway::BasePathMapping").values()
    assert mapping["Properties"]["RestApiId"] == {"Ref": configured.logical_id(configured.stack.api.rest_api)}
    assert mapping["Properties"]["Stage"] == {"Ref": configured.logical_id(configured.stack.api.stage)}
    assert "BasePath" not in mapping["Properties"] or mapping["Properties"]["BasePath"] in ("", "(none)")
    # And the execute-api URL is off, the API's own policy TLS 1.3 as well: nothing falls back to TLS 1.2
    api = configured.template.to_json()["Resources"][configured.logical_id(configured.stack.api.rest_api)]
    assert api["Properties"]["DisableExecuteApiEndpoint"] is True
    assert api["Properties"]["SecurityPolicy"] == TLS13_ONLY_POLICY_NAME
    # And the zone's alias record points the name at the domain, whose URL is an output
    configured.template.has_resource_properties(
        "AWS::Route53::RecordSet",
        {
            "Name": f"{DOMAIN.name}.",
            "Type": "A",
            "HostedZoneId": DOMAIN.hosted_zone_id,
            "AliasTarget": Match.any_value(),
        },
    )
    outputs = configured.template.to_json()["Outputs"]
    url = next(value for key, value in outputs.items() if key.startswith("ApiApiDomainUrl"))
    assert url["Value"] == f"https://{DOMAIN.name}/"


def test_the_configured_stage_passes_cdk_nag(configured: Synth) -> None:
    findings = configured.annotations.find_error("*", NAG_FINDING) + configured.annotations.find_warning(
        "*", NAG_FINDING
    )
    assert [f"{entry.id}: {entry.entry.data}" for entry in findings] == []


def test_stages_serve_the_execute_api_url_unless_a_domain_is_configured(synth: Synth) -> None:
    api = synth.template.to_json()["Resources"][synth.logical_id(synth.stack.api.rest_api)]["Properties"]
    assert api.get("DisableExecuteApiEndpoint", False) is False
    assert "SecurityPolicy" not in api
    synth.template.resource_count_is("AWS::ApiGateway::DomainName", 0)


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))
