"""The REST API stage's access log: one JSON line per request, every field a `$context` variable (quoted, so each
line is valid JSON for Logs Insights; API Gateway writes `-` for a variable without a value). The stage writes it
(`infra/api.py`), the local gateway writes the same lines, and the gateway-refusal audit reads them
(`shared.audit.gateway_refusals`): the one place the field names are spelled."""

from __future__ import annotations

NO_VALUE = "-"  # what API Gateway writes for a `$context` variable without a value

ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTime",
    "requestTimeEpoch": "$context.requestTimeEpoch",
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
    "clientId": "$context.authorizer.claims.client_id",
    "apiKeyId": "$context.identity.apiKeyId",
    "tlsVersion": "$context.tlsVersion",
    "xrayTraceId": "$context.xrayTraceId",
}
