"""The REST API: Cognito access tokens for `/api/v1` routes (people by group, systems by OAuth scope), partners' API
keys on partner routes, vendor signatures (checked in the function) for webhooks, per-domain throttling, JSON access
logs, X-Ray, a regional WAF web ACL, and optionally a custom domain served with TLS 1.3 only."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from aws_cdk import ArnFormat, Aws, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_logs_destinations as logs_destinations
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_wafv2 as wafv2
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.config import CustomDomain, StageConfig, pascal
from infra.functions import DeployedFunction
from shared.api_clients import ApiClients, Partner, load_api_clients, usage_plan_name
from shared.catalog import DOMAIN_THROTTLES, STAGE_THROTTLE, AccessLogTrigger, Catalog, Group, Route, physical_name
from shared.catalog.access_log import ACCESS_LOG_FIELDS
from shared.catalog.identity import pre_token_generation_trigger
from shared.catalog.partners import takes_api_key
from shared.catalog.scopes import RESOURCE_SERVER, Scope, SystemScopes, catalog_scopes, composed_domains
from shared.http.webhook_request import CORS_PREFLIGHT_HEADERS, answers_browsers

_GROUP_DESCRIPTIONS = {
    Group.ADMIN: "Operates the hub: webhook delivery log, replays, configuration",
    Group.MARKETING: "Marketing operations",
    Group.SALES: "Sales operations",
    Group.SUCCESS: "Customer success",
    Group.FINANCE: "Finance and billing",
    Group.PRODUCT: "Product analytics",
}

# Per source IP over five minutes, for the `/api/v1` routes only (people, systems and partners): vendors deliver
# webhooks and trackers send events from a few addresses in bursts that the per-method throttles already absorb, so
# the bulk of the 10,000 requests/s peak is never counted here. 3,000 is 10 requests/s from one address sustained for
# five minutes: far above a person's clicking, a BI extract paging 200 leads a request, or any partner's plan rate
# (`Api` refuses a partner whose plan would let it run into this limit).
API_RATE_LIMIT_PER_5_MINUTES = 3000
WAF_WINDOW_SECONDS = 300
# Enhanced security policy: TLS 1.3 only, with its three AEAD cipher suites; STRICT checks SNI against the domain.
TLS13_ONLY = apigateway.SecurityPolicy.TLS13_1_3_2025_09
TLS13_ONLY_POLICY_NAME = "SecurityPolicy_TLS13_1_3_2025_09"


def method_options_key(route: Route) -> str:
    """How StageOptions.method_options addresses one method: `<resource path>/<HTTP method>`."""
    return f"{route.path}/{route.method}"


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cfg: StageConfig,
        catalog: Catalog,
        functions: Mapping[str, DeployedFunction],
        clients: ApiClients | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._cfg = cfg
        # The methods take their catalog's scopes; the resource server offers every scope of the hub's catalog, which
        # config/api-clients.json is checked against (the same scopes unless a test synthesizes another catalog).
        self.scopes = SystemScopes.of(catalog, composed_domains())
        offered = catalog_scopes()
        self.clients = clients or load_api_clients(known_scopes=offered.names)
        self.user_pool = self._user_pool()
        self.pre_token_generation = self._pre_token_generation(catalog, functions)
        self.user_pool_client = self.user_pool.add_client(
            "ApiClient",
            user_pool_client_name=physical_name(cfg.name, "api-client"),
            auth_flows=cognito.AuthFlow(user_srp=True),
            # People sign in with SRP (and MFA) and send the access token as a bearer: the methods' OAuth scopes
            # make API Gateway refuse ID tokens. No hosted UI, so no OAuth flows on this client.
            disable_o_auth=True,
            generate_secret=False,
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.hours(12),
        )
        self.resource_server = self._resource_server(offered)
        # Cognito's token endpoint (`<domain>/oauth2/token`), where app clients trade their id and secret for a
        # token. A prefix domain is unique per region: the account id keeps it so across accounts.
        self.token_domain = self.user_pool.add_domain(
            "TokenDomain",
            cognito_domain=cognito.CognitoDomainOptions(domain_prefix=f"revops-{cfg.name}-{Aws.ACCOUNT_ID}"),
        )
        self.app_clients = {client.name: self._app_client(client.name) for client in self.clients.clients}
        self.authorizer = apigateway.CognitoUserPoolsAuthorizer(
            self,
            "Authorizer",
            authorizer_name=physical_name(cfg.name, "cognito"),
            cognito_user_pools=[self.user_pool],
            results_cache_ttl=Duration.minutes(5),
        )

        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=f"/aws/apigateway/{physical_name(cfg.name, 'api')}/access",
            retention=cfg.log_retention,
            removal_policy=cfg.removal_policy,
        )
        account = self._cloudwatch_account()
        self.rest_api = apigateway.RestApi(
            self,
            "RestApi",
            rest_api_name=physical_name(cfg.name, "api"),
            description="RevOps Hub: vendor webhooks and the /api/v1 operations API",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            # With a custom domain, only it serves the API: the execute-api URL would accept TLS 1.2.
            disable_execute_api_endpoint=cfg.custom_domain is not None,
            # Every body reaches the function base64-encoded with its exact bytes: webhook signatures
            # are computed over the raw body, which any text re-encoding would break.
            binary_media_types=["*/*"],
            cloud_watch_role=False,
            deploy_options=apigateway.StageOptions(
                stage_name=cfg.name,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=cfg.api_logging_level,
                # Full request/response logging would copy webhook bodies and bearer tokens into logs.
                data_trace_enabled=False,
                throttling_rate_limit=STAGE_THROTTLE.rate_per_second,
                throttling_burst_limit=STAGE_THROTTLE.burst,
                # A method's settings replace the stage's rather than inherit them, so each repeats the
                # logging and metrics and changes only the throttle.
                method_options={
                    method_options_key(route): apigateway.MethodDeploymentOptions(
                        throttling_rate_limit=DOMAIN_THROTTLES[route.domain].rate_per_second,
                        throttling_burst_limit=DOMAIN_THROTTLES[route.domain].burst,
                        logging_level=cfg.api_logging_level,
                        metrics_enabled=True,
                        data_trace_enabled=False,
                    )
                    for _, route in catalog.routes
                },
                access_log_destination=apigateway.LogGroupLogDestination(self.access_logs),
                access_log_format=apigateway.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
            ),
        )
        # ApiUrl below is the one endpoint output.
        self.rest_api.node.try_remove_child("Endpoint")
        # Execution logging fails to deploy until the account knows which role to log with.
        self.rest_api.deployment_stage.node.add_dependency(account)
        # One validator for every method: parameters always; bodies wherever a model is attached,
        # which is exactly the routes the catalog marks json_body.
        self.validator = self.rest_api.add_request_validator(
            "RequestValidator",
            request_validator_name=physical_name(cfg.name, "validate-request"),
            validate_request_parameters=True,
            validate_request_body=True,
        )
        self._json_object: apigateway.Model | None = None
        self.methods: dict[str, apigateway.Method] = {}
        for fn, route in catalog.routes:
            self.methods[route.key] = self._method(route, functions[fn.name])
        self.preflights = {
            path: self._cors_preflight(path)
            for path in sorted({route.path for _, route in catalog.routes if answers_browsers(route)})
        }
        for name in sorted({fn.name for fn, _ in catalog.routes}):
            self._allow_invoke(functions[name])
        self.access_log_subscriptions = {
            fn.name: self._access_log_subscription(fn.name, trigger, functions[fn.name])
            for fn, trigger in catalog.access_log_triggers
        }
        self.usage_plans = {partner.name: self._usage_plan(partner) for partner in self.clients.partners}
        self.web_acl = self._web_acl()
        self.domain = self._custom_domain(cfg.custom_domain) if cfg.custom_domain else None
        self._outputs()

    @property
    def stage(self) -> apigateway.Stage:
        return self.rest_api.deployment_stage

    @property
    def url(self) -> str:
        """Where callers reach the stage: the custom domain when there is one, else the execute-api URL."""
        return f"https://{self._cfg.custom_domain.name}/" if self._cfg.custom_domain else self.rest_api.url

    def _access_log_subscription(
        self, name: str, trigger: AccessLogTrigger, deployed: DeployedFunction
    ) -> logs.SubscriptionFilter:
        """The access log lines `trigger` matches, delivered to the function (CloudWatch Logs invokes it
        asynchronously: its retries and failure queue are the function's `EventInvokeConfig`)."""
        pattern = logs.FilterPattern.all(
            *(
                logs.FilterPattern.any(*(logs.FilterPattern.string_value(f"$.{field}", "=", value) for value in values))
                for field, values in trigger.matches.items()
            )
        )
        return logs.SubscriptionFilter(
            self,
            f"AccessLogTo{pascal(name)}",
            log_group=self.access_logs,
            destination=logs_destinations.LambdaDestination(deployed.function),
            filter_pattern=pattern,
            filter_name=physical_name(self._cfg.name, f"access-log-to-{deployed.spec.slug}"),
        )

    def _user_pool(self) -> cognito.UserPool:
        pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=physical_name(self._cfg.name, "users"),
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            # Administrative access needs MFA (seed 000). Cognito's MFA setting is pool-wide, so it is required of
            # every person, admins included: an optional MFA would need a trigger to keep admins without a TOTP
            # device out of their group, and every account here reads customer data. TOTP only: SMS codes can be
            # taken over with the phone number. App clients (client credentials) sign no one in, so MFA is moot there.
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=14,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
                password_history_size=5,
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            # Plus tier for threat protection: these accounts can read every vendor's delivery log.
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=self._cfg.threat_protection,
            deletion_protection=self._cfg.deletion_protection,
            removal_policy=self._cfg.removal_policy,
        )
        for precedence, group in enumerate(Group):
            cognito.UserPoolGroup(
                self,
                f"Group{group.value.capitalize()}",
                user_pool=pool,
                group_name=group.value,
                description=_GROUP_DESCRIPTIONS.get(group, f"RevOps Hub {group.value} role"),
                precedence=precedence,
            )
        return pool

    def _pre_token_generation(
        self, catalog: Catalog, functions: Mapping[str, DeployedFunction]
    ) -> DeployedFunction | None:
        """The catalog's pre token generation trigger on the pool, at event version V2_0: Cognito runs it before it
        issues a person's tokens and applies its answer to their access token too (V1_0 would reach the ID token
        only); it never runs for an app client's client-credentials grant (V3_0 would). CDK lets Cognito, from
        this pool only, invoke the function."""
        trigger = pre_token_generation_trigger(catalog)
        if trigger is None:
            return None
        deployed = functions[trigger.name]
        self.user_pool.add_trigger(
            cognito.UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG, deployed.function, cognito.LambdaVersion.V2_0
        )
        return deployed

    def _resource_server(self, offered: SystemScopes) -> cognito.UserPoolResourceServer:
        """The API as an OAuth 2.0 resource server: one scope per domain and access the catalog's routes take."""
        self._scope_objects = {
            scope.name: cognito.ResourceServerScope(scope_name=scope.name, scope_description=_describe(scope, offered))
            for scope in offered.scopes
        }
        return self.user_pool.add_resource_server(
            "ResourceServer",
            identifier=RESOURCE_SERVER,
            user_pool_resource_server_name=physical_name(self._cfg.name, "api"),
            scopes=list(self._scope_objects.values()),
        )

    def _app_client(self, name: str) -> cognito.UserPoolClient:
        """A system's app client: client credentials only (no user ever signs in through it), a generated secret, the
        scopes config/api-clients.json gives it."""
        client = self.clients.client(name)
        return self.user_pool.add_client(
            f"AppClient{pascal(name)}",
            user_pool_client_name=physical_name(self._cfg.name, f"client-{name}"),
            generate_secret=True,
            auth_flows=cognito.AuthFlow(user_srp=False, user_password=False, admin_user_password=False, custom=False),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(client_credentials=True),
                scopes=[
                    cognito.OAuthScope.resource_server(self.resource_server, self._scope_objects[scope])
                    for scope in client.scopes
                ],
            ),
            access_token_validity=Duration.minutes(client.access_token_minutes),
            enable_token_revocation=True,
            prevent_user_existence_errors=True,
        )

    def _usage_plan(self, partner: Partner) -> apigateway.UsagePlan:
        """A partner's usage plan on the stage: its keys (issued by `make rotate-api-key`, never by CloudFormation, so a
        rotation never fights a deploy) open the partner routes, at the plan's rate and within its quota."""
        if partner.rate_per_second * WAF_WINDOW_SECONDS > API_RATE_LIMIT_PER_5_MINUTES:
            raise ValueError(
                f"partner {partner.name}: {partner.rate_per_second} requests/s would run into the WAF's limit of "
                f"{API_RATE_LIMIT_PER_5_MINUTES} per address every {WAF_WINDOW_SECONDS} s; lower it or raise that"
            )
        return apigateway.UsagePlan(
            self,
            f"UsagePlan{pascal(partner.name)}",
            name=usage_plan_name(self._cfg.name, partner.name),
            description=partner.description,
            throttle=apigateway.ThrottleSettings(rate_limit=partner.rate_per_second, burst_limit=partner.burst),
            quota=apigateway.QuotaSettings(limit=partner.quota.limit, period=apigateway.Period(partner.quota.period)),
            api_stages=[apigateway.UsagePlanPerApiStage(api=self.rest_api, stage=self.stage)],
        )

    def _custom_domain(self, domain: CustomDomain) -> apigateway.DomainName:
        """The API at `https://<domain>/` (mapped at the root, so paths are the same as on execute-api), TLS 1.3
        only. The API's own security policy is TLS 1.3 too: whichever of the two API Gateway negotiates with, TLS 1.2
        and older are refused."""
        cfn_api = self.rest_api.node.default_child
        assert isinstance(cfn_api, apigateway.CfnRestApi)
        cfn_api.security_policy = TLS13_ONLY_POLICY_NAME
        cfn_api.endpoint_access_mode = apigateway.EndpointAccessMode.STRICT.value
        name = apigateway.DomainName(
            self,
            "CustomDomain",
            domain_name=domain.name,
            certificate=acm.Certificate.from_certificate_arn(self, "CustomDomainCertificate", domain.certificate_arn),
            endpoint_type=apigateway.EndpointType.REGIONAL,
            security_policy=TLS13_ONLY,
            endpoint_access_mode=apigateway.EndpointAccessMode.STRICT,
            mapping=self.rest_api,
        )
        if domain.hosted_zone_id and domain.hosted_zone_name:
            zone = route53.HostedZone.from_hosted_zone_attributes(
                self, "CustomDomainZone", hosted_zone_id=domain.hosted_zone_id, zone_name=domain.hosted_zone_name
            )
            route53.ARecord(
                self,
                "CustomDomainAlias",
                zone=zone,
                record_name=domain.name,
                target=route53.RecordTarget.from_alias(route53_targets.ApiGatewayDomain(name)),
            )
        return name

    def _outputs(self) -> None:
        """What operators hand to callers: the token endpoint, each app client's id (its secret stays in Cognito:
        `aws cognito-idp describe-user-pool-client`), and the custom domain's DNS target."""
        CfnOutput(
            self,
            "TokenEndpoint",
            value=f"{self.token_domain.base_url()}/oauth2/token",
            description="OAuth 2.0 token endpoint for the app clients (client credentials)",
        )
        for name, client in self.app_clients.items():
            CfnOutput(
                self,
                f"AppClient{pascal(name)}Id",
                value=client.user_pool_client_id,
                description=f"App client id of {name}",
            )
        if self.domain is not None:
            CfnOutput(self, "ApiDomainUrl", value=self.url, description="The API's URL (TLS 1.3 only)")
            CfnOutput(
                self,
                "ApiDomainTarget",
                value=self.domain.domain_name_alias_domain_name,
                description="Point the custom domain's DNS (alias or CNAME) here",
            )

    def _cloudwatch_account(self) -> apigateway.CfnAccount:
        """The account-wide role API Gateway writes execution logs with, without AWS managed policies."""
        stack = Stack.of(self)

        def log_group_arn(name: str) -> str:
            return stack.format_arn(
                service="logs", resource="log-group", resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME
            )

        role = iam.Role(
            self,
            "CloudWatchRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="API Gateway execution logging for this account and region",
        )
        execution_logs = log_group_arn("API-Gateway-Execution-Logs_*")
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                    "logs:GetLogEvents",
                    "logs:FilterLogEvents",
                ],
                resources=[execution_logs, f"{execution_logs}:log-stream:*"],
            )
        )
        role.add_to_policy(iam.PolicyStatement(actions=["logs:DescribeLogGroups"], resources=[log_group_arn("*")]))
        # The setting is account-wide and shared with any other stage deployed to this account, so the
        # role outlives this stack rather than leave API Gateway pointing at a deleted role.
        role.apply_removal_policy(RemovalPolicy.RETAIN)
        NagSuppressions.add_resource_suppressions(
            role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason=(
                        "API Gateway's account-level CloudWatch role serves every REST API in the account and "
                        "region (dev and prod may share one), and API Gateway names execution log groups "
                        "API-Gateway-Execution-Logs_<api id>/<stage>, so it is scoped to that name prefix; "
                        "DescribeLogGroups cannot be scoped below the account's log groups."
                    ),
                    applies_to=[
                        "Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:"
                        "log-group:API-Gateway-Execution-Logs_*",
                        "Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:"
                        "log-group:API-Gateway-Execution-Logs_*:log-stream:*",
                        "Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*",
                    ],
                )
            ],
            apply_to_children=True,
        )
        return apigateway.CfnAccount(self, "Account", cloud_watch_role_arn=role.role_arn)

    def _integration(self, target: DeployedFunction) -> apigateway.Integration:
        """A Lambda proxy integration without the invoke permission LambdaIntegration adds per method (one per
        route cost the stack a resource per route): `_allow_invoke` grants each function once."""
        stack = Stack.of(self)
        invocations = f"path/2015-03-31/functions/{target.function.function_arn}/invocations"
        uri = f"arn:{stack.partition}:apigateway:{stack.region}:lambda:{invocations}"
        return apigateway.Integration(
            type=apigateway.IntegrationType.AWS_PROXY, integration_http_method="POST", uri=uri
        )

    def _allow_invoke(self, target: DeployedFunction) -> None:
        """API Gateway may invoke the function through this API's deployed stage only: any of its routes there,
        never a console test invocation (its stage is `test-invoke-stage`), which would bypass the signature and
        token checks the hub relies on."""
        target.function.add_permission(
            f"Invoke{self.rest_api.node.id}",
            principal=iam.ServicePrincipal("apigateway.amazonaws.com"),
            action="lambda:InvokeFunction",
            source_arn=self.rest_api.arn_for_execute_api(
                method="*", path="/*", stage=self.rest_api.deployment_stage.stage_name
            ),
        )

    def _method(self, route: Route, target: DeployedFunction) -> apigateway.Method:
        resource = self.rest_api.root.resource_for_path(route.path)
        path_parameters = re.findall(r"{(\w+)}", route.path)
        method = resource.add_method(
            route.method,
            self._integration(target),
            authorization_type=(
                apigateway.AuthorizationType.NONE if route.is_public else apigateway.AuthorizationType.COGNITO
            ),
            authorizer=None if route.is_public else self.authorizer,
            # Scopes make API Gateway take access tokens (a person's or an app client's) and refuse ID tokens.
            authorization_scopes=None if route.is_public else self.scopes.method_scopes(route),
            api_key_required=takes_api_key(route),
            request_validator=self.validator,
            request_parameters={f"method.request.path.{name}": True for name in path_parameters} or None,
            request_models={"application/json": self._json_object_model()} if route.json_body else None,
        )
        if route.is_public:
            reason = (
                (
                    f"{route.key} is called by partners that can only send a key: API Gateway requires an enabled "
                    "API key of a partner's usage plan (rate and quota per partner), rotated by make rotate-api-key, "
                    f"and {target.spec.name} refuses a request without the key's id."
                )
                if takes_api_key(route)
                else (
                    f"{route.key} is called by SaaS vendors, which cannot present Cognito tokens; "
                    f"{target.spec.name} authenticates every delivery by verifying the vendor's signature over "
                    "the raw body against the secrets in Secrets Manager before storing or publishing anything."
                )
            )
            NagSuppressions.add_resource_suppressions(
                method,
                [
                    NagPackSuppression(id="AwsSolutions-APIG4", reason=reason),
                    NagPackSuppression(id="AwsSolutions-COG4", reason=reason),
                ],
            )
        return method

    def _cors_preflight(self, path: str) -> apigateway.Method:
        """OPTIONS answered by API Gateway itself (a mock integration), as api.segment.io answers it: browsers ask
        before a cross-site POST of JSON or with an Authorization header, and send no credentials when they ask."""
        allowed = CORS_PREFLIGHT_HEADERS
        method = self.rest_api.root.resource_for_path(path).add_cors_preflight(
            allow_origins=[allowed["Access-Control-Allow-Origin"]],
            allow_methods=[m.strip() for m in allowed["Access-Control-Allow-Methods"].split(",")],
            allow_headers=[h.strip() for h in allowed["Access-Control-Allow-Headers"].split(",")],
            max_age=Duration.seconds(int(allowed["Access-Control-Max-Age"])),
        )
        reason = (
            f"OPTIONS {path} is the CORS preflight of the tracking API, which browsers call from customers' sites "
            "(analytics.js): a browser sends no credentials with a preflight, so it cannot be authorized; API Gateway "
            "answers it itself (a mock integration, no function, no data) with the allowed origin, methods and "
            "headers, and the POST it precedes is authenticated by its write key in the function."
        )
        NagSuppressions.add_resource_suppressions(
            method,
            [
                NagPackSuppression(id="AwsSolutions-APIG4", reason=reason),
                NagPackSuppression(id="AwsSolutions-COG4", reason=reason),
            ],
        )
        return method

    def _json_object_model(self) -> apigateway.Model:
        if self._json_object is None:
            self._json_object = self.rest_api.add_model(
                "JsonObjectModel",
                content_type="application/json",
                model_name="JsonObject",
                schema=apigateway.JsonSchema(
                    schema=apigateway.JsonSchemaVersion.DRAFT4,
                    title="JsonObject",
                    type=apigateway.JsonSchemaType.OBJECT,
                ),
            )
        return self._json_object

    def _web_acl(self) -> wafv2.CfnWebACL:
        acl_name = physical_name(self._cfg.name, "api-acl")

        def visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
            )

        def managed(priority: int, name: str, count_rules: tuple[str, ...] = ()) -> wafv2.CfnWebACL.RuleProperty:
            overrides = [
                wafv2.CfnWebACL.RuleActionOverrideProperty(
                    name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                )
                for rule in count_rules
            ]
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=name, rule_action_overrides=overrides or None
                    )
                ),
                visibility_config=visibility(name),
            )

        api_rate_limit = wafv2.CfnWebACL.RuleProperty(
            name="ApiRateLimitPerIp",
            priority=1,
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    limit=API_RATE_LIMIT_PER_5_MINUTES,
                    aggregate_key_type="IP",
                    evaluation_window_sec=300,
                    scope_down_statement=wafv2.CfnWebACL.StatementProperty(
                        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                            positional_constraint="CONTAINS",
                            search_string="/api/v1/",
                            text_transformations=[
                                wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="LOWERCASE")
                            ],
                        )
                    ),
                )
            ),
            visibility_config=visibility("ApiRateLimitPerIp"),
        )
        acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=acl_name,
            description="RevOps Hub API: AWS managed rules and a per-IP rate limit on /api/v1",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility(acl_name),
            rules=[
                managed(0, "AWSManagedRulesAmazonIpReputationList"),
                api_rate_limit,
                # Vendor webhook bodies (HubSpot batches, Stripe events) exceed the rule set's 8 KB body
                # limit, and legitimately carry HTML (email bodies, ticket comments, form answers) that the
                # XSS body rule would block: a blocked webhook is a lost vendor event, and this API never
                # renders what it receives. Those two rules count; the others still block.
                managed(
                    2,
                    "AWSManagedRulesCommonRuleSet",
                    count_rules=("SizeRestrictions_BODY", "CrossSiteScripting_BODY"),
                ),
                managed(3, "AWSManagedRulesKnownBadInputsRuleSet"),
            ],
        )
        wafv2.CfnWebACLAssociation(
            self, "WebAclAssociation", resource_arn=self.stage.stage_arn, web_acl_arn=acl.attr_arn
        )
        return acl


def _describe(scope: Scope, scopes: SystemScopes) -> str:
    """A scope's description in Cognito (at most 256 characters): what it opens."""
    verb = "Read" if scope.access == "read" else "Change"
    return f"{verb} {scope.domain}: {len(scopes.routes_of(scope.name))} route(s) of the RevOps Hub API"[:256]
