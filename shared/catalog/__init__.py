"""The one catalog: every function, API route, EventBridge rule, schedule, stream and queue trigger, table, work
queue, dead-letter queue and secret of the hub, one module per domain (`webhooks`, `leads`), composed into `CATALOG`.

The CDK stack (`infra/`), the embedded local runtime (`local_runtime/`), the handlers' routes and each
function's environment are all built from it; nothing restates it. Adding a route or a rule is one entry in
its domain's module plus the handler code; adding a domain is one module and one line below. Plain data:
nothing from AWS, no pydantic, so every function can read its own entry.
"""

from shared.catalog.attribution import ATTRIBUTION, ATTRIBUTION_DOMAIN
from shared.catalog.audit import AUDIT_DOMAIN
from shared.catalog.crm import CRM_CREDENTIALS, CRM_DOMAIN, CRM_SYNC
from shared.catalog.finance import FINANCE, FINANCE_DOMAIN
from shared.catalog.handoffs import HANDOFF_NOTIFICATIONS, HANDOFFS, HANDOFFS_DOMAIN
from shared.catalog.identity import IDENTITY_DOMAIN
from shared.catalog.leads import LEAD_GROUPS, LEADS, LEADS_DOMAIN
from shared.catalog.model import (
    BUS_VARIABLE,
    DOMAIN_THROTTLES,
    METRICS_NAMESPACE,
    STAGE_THROTTLE,
    STAGE_VARIABLE,
    Access,
    AccessLogTrigger,
    Catalog,
    Domain,
    Function,
    Group,
    HttpMethod,
    Index,
    Queue,
    QueueTrigger,
    Route,
    Rule,
    Schedule,
    Secret,
    StreamTrigger,
    Table,
    Throttle,
    ThrottleDomain,
    WorkQueue,
    compose,
    env_key,
    physical_name,
)
from shared.catalog.privacy import PRIVACY_DOMAIN
from shared.catalog.success import SUCCESS, SUCCESS_DOMAIN
from shared.catalog.webhooks import (
    OUTBOX_CLAIM_KIND,
    TRACKING_CALLS,
    WEBHOOK_DELIVERIES,
    WEBHOOK_SIGNING_SECRETS,
    WEBHOOKS,
)

# Every domain of the hub, composed into CATALOG; the OAuth scopes are named after them (`shared.catalog.scopes`).
DOMAINS: tuple[Domain, ...] = (
    WEBHOOKS,
    LEADS_DOMAIN,
    HANDOFFS_DOMAIN,
    FINANCE_DOMAIN,
    ATTRIBUTION_DOMAIN,
    SUCCESS_DOMAIN,
    CRM_DOMAIN,
    AUDIT_DOMAIN,
    PRIVACY_DOMAIN,
    IDENTITY_DOMAIN,
)
CATALOG = compose("events", DOMAINS)

__all__ = [
    "ATTRIBUTION",
    "ATTRIBUTION_DOMAIN",
    "AUDIT_DOMAIN",
    "BUS_VARIABLE",
    "CATALOG",
    "CRM_CREDENTIALS",
    "CRM_DOMAIN",
    "CRM_SYNC",
    "DOMAINS",
    "DOMAIN_THROTTLES",
    "FINANCE",
    "HANDOFFS",
    "HANDOFF_NOTIFICATIONS",
    "IDENTITY_DOMAIN",
    "LEADS",
    "LEAD_GROUPS",
    "METRICS_NAMESPACE",
    "OUTBOX_CLAIM_KIND",
    "PRIVACY_DOMAIN",
    "STAGE_THROTTLE",
    "STAGE_VARIABLE",
    "SUCCESS",
    "SUCCESS_DOMAIN",
    "TRACKING_CALLS",
    "WEBHOOK_DELIVERIES",
    "WEBHOOK_SIGNING_SECRETS",
    "Access",
    "AccessLogTrigger",
    "Catalog",
    "Domain",
    "Function",
    "Group",
    "HttpMethod",
    "Index",
    "Queue",
    "QueueTrigger",
    "Route",
    "Rule",
    "Schedule",
    "Secret",
    "StreamTrigger",
    "Table",
    "Throttle",
    "ThrottleDomain",
    "WorkQueue",
    "compose",
    "env_key",
    "physical_name",
]
