"""The REST API: Cognito for `/api/v1` routes, vendor signatures (checked in the function) for webhooks,
per-domain throttling, JSON access logs, X-Ray and a regional WAF web ACL."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.config import StageConfig
from infra.functions import DeployedFunction
from shared.catalog import DOMAIN_THROTTLES, STAGE_THROTTLE, Catalog, Group, Route, physical_name

_GROUP_DESCRIPTIONS = {
    Group.ADMIN: "Operates the hub: webhook delivery log, replays, configuration",
    Group.MARKETING: "Marketing operations",
    Group.SALES: "Sales operations",
    Group.SUCCESS: "Customer success",
    Group.FINANCE: "Finance and billing",
    Group.PRODUCT: "Product analytics",
}

# Per source IP over five minutes, for the human-facing `/api/v1` routes only: vendors deliver
# webhooks from a few addresses in retry storms that the per-method throttles already absorb.
API_RATE_LIMIT_PER_5_MINUTES = 3000

# `$context` variables are quoted so every line is valid JSON for Logs Insights.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integration.latency",
    "integrationStatus": "$context.integration.status",
    "integrationError": "$context.integration.error",
    "errorType": "$context.error.responseType",
    "errorMessage": "$context.error.message",
    "wafResponseCode": "$context.wafResponseCode",
    "sourceIp": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "user": "$context.authorizer.claims.sub",
    "xrayTraceId": "$context.xrayTraceId",
}


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
    ) -> None:
        super().__init__(scope, construct_id)
        self._cfg = cfg
        self.user_pool = self._user_pool()
        self.user_pool_client = self.user_pool.add_client(
            "ApiClient",
            user_pool_client_name=physical_name(cfg.name, "api-client"),
            auth_flows=cognito.AuthFlow(user_srp=True),
            # The hub has no hosted UI: clients sign in with SRP and send the ID token as a bearer.
            disable_o_auth=True,
            generate_secret=False,
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.hours(12),
        )
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
        for name in sorted({fn.name for fn, _ in catalog.routes}):
            self._allow_invoke(functions[name])
        self.web_acl = self._web_acl()

    @property
    def stage(self) -> apigateway.Stage:
        return self.rest_api.deployment_stage

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
            request_validator=self.validator,
            request_parameters={f"method.request.path.{name}": True for name in path_parameters} or None,
            request_models={"application/json": self._json_object_model()} if route.json_body else None,
        )
        if route.is_public:
            reason = (
                f"{route.key} is called by SaaS vendors, which cannot present Cognito tokens; "
                f"{target.spec.name} authenticates every delivery by verifying the vendor's signature over "
                "the raw body against the secrets in Secrets Manager before storing or publishing anything."
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
