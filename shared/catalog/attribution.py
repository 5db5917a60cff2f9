"""The attribution domain's part of the catalog: the `attribution` table (deals, conversions with their credits,
monthly totals per campaign and channel and in all, open deals' pipeline per campaign, the funnel's monthly
stage counts, the data-driven model's fits)."""

from __future__ import annotations

from shared.catalog.finance import FINANCE
from shared.catalog.leads import EVENT_SOURCE as LEADS_EVENT_SOURCE
from shared.catalog.leads import LEADS
from shared.catalog.model import Domain, Function, Group, Index, Route, Rule, Schedule, Table, ThrottleDomain
from shared.catalog.webhooks import EVENT_SOURCE as WEBHOOK_EVENT_SOURCE

EVENT_SOURCE = "revops.attribution"

ATTRIBUTION = Table(
    name="attribution",
    partition_key="pk",
    sort_key="sk",
    indexes=(Index("by-period", partition_key="conversion_period", sort_key="conversion_sort"),),
    access_patterns=(
        "a deal: get pk=DEAL#<deal_id>, sk=DEAL (conditional on its version)",
        "a conversion with every touch's credits: get pk=CONVERSION#<conversion_id>, sk=CONVERSION",
        "record a conversion, all or nothing: one transaction of the conversion (conditional: new id) and ADDs to "
        "its month's totals pk=TOTALS#<yyyy-mm>, sk=CAMPAIGN#<campaign_id> / CHANNEL#<channel> and to its month's "
        "overall (revenue, conversions, influenced) pk=TOTALS#<yyyy-mm>, sk=ALL",
        "the months' overall: get pk=TOTALS#<yyyy-mm>, sk=ALL per month (batch get)",
        "a campaign's months: get pk=TOTALS#<yyyy-mm>, sk=CAMPAIGN#<campaign_id> per month (batch get)",
        "a month's channels or campaigns: query pk=TOTALS#<yyyy-mm>, sk begins_with CHANNEL# / CAMPAIGN#",
        "a month's conversions: query by-period (conversion_period=<yyyy-mm>) on conversion_sort=<iso time>#<id>",
        "the data-driven batch: one transaction of the conversion's data-driven credits (SET, conditional on the "
        "digest of the conversion as read) and ADDs of the differences to its month's totals",
        "reattribution: one transaction of the recomputed conversion (put, conditional on the digest as read) and "
        "ADDs of the differences to its month's campaign, channel and ALL totals",
        "a deal's pipeline contribution: get pk=PIPELINE#<deal_id>, sk=PIPELINE",
        "set a deal's pipeline, all or nothing: one transaction of its contribution (put or delete, conditional on "
        "its version and write id as read) and ADDs of the difference to pk=PIPELINE, sk=CAMPAIGN#<campaign_id> "
        "per campaign that moves and to pk=PIPELINE, sk=TOTAL (every campaign but (none))",
        "a campaign's pipeline, the total: get pk=PIPELINE, sk=CAMPAIGN#<campaign_id> / TOTAL",
        "count a funnel entry once: one transaction of its marker pk=FUNNEL_EVENT#<event_id>, sk=FUNNEL_EVENT "
        "(conditional: new id) and ADDs to pk=FUNNEL#<yyyy-mm>, sk=STAGE#<stage> and "
        "sk=CAMPAIGN#<campaign_id>#<stage>",
        "the months' funnel, a campaign's: get pk=FUNNEL#<yyyy-mm>, sk=STAGE#<stage> / "
        "CAMPAIGN#<campaign_id>#<stage> per month and stage (batch get)",
        "reattribution only (the operator CLI, no function): every open deal's contribution, scan for sk=PIPELINE; "
        "the funnel entries of some months, scan for sk=FUNNEL_EVENT with their month; moving an entry to another "
        "campaign, one transaction of its marker (conditional: unchanged since read) and ADDs of -1 and +1 to "
        "pk=FUNNEL#<yyyy-mm>, sk=CAMPAIGN#<campaign_id>#<stage> of the two campaigns",
        "the data-driven model: fits pk=FIT, sk=<period>#<fitted_at>; the latest, a copy, pk=FIT, sk=LATEST "
        "(conditional: not replacing a later-fitted one)",
        "a billing customer's subscriptions (LTV): get / put pk=CUSTOMER_REVENUE#<identity key>, "
        "sk=CUSTOMER_REVENUE (conditional on its version); a campaign's customers: batch get",
    ),
)

# Every attribution and ROI route is for marketing, sales, finance and admin (issue 12 §3).
READERS = frozenset({Group.MARKETING, Group.SALES, Group.FINANCE, Group.ADMIN})


def _get(path: str, operation: str, summary: str, domain: ThrottleDomain, groups: frozenset[Group]) -> Route:
    return Route(method="GET", path=path, operation=operation, summary=summary, domain=domain, groups=groups)


ATTRIBUTION_DOMAIN = Domain(
    name="attribution",
    event_source=EVENT_SOURCE,
    tables=(ATTRIBUTION,),
    functions=(
        Function(
            name="attribution_recorder",
            description="Folds deal events into deals, credits each won deal and first payment to its journey, and "
            "keeps customers' subscriptions for LTV",
            memory_mb=1024,
            timeout_seconds=60,
            rules=(
                Rule(
                    name="attribution-conversions",
                    description="Deal events and payments (the conversions attribution credits), subscription "
                    "changes (customers' revenue, for LTV)",
                    pattern={
                        "source": [WEBHOOK_EVENT_SOURCE],
                        "detail-type": [
                            "deal.stage_changed",
                            "deal.won",
                            "deal.lost",
                            "deal.updated",
                            "payment.succeeded",
                            "subscription.changed",
                        ],
                    },
                    max_retries=8,
                    max_event_age_seconds=6 * 3600,
                ),
                Rule(
                    name="attribution-funnel",
                    description="Leads entering funnel stages",
                    pattern={"source": [LEADS_EVENT_SOURCE], "detail-type": ["lead.stage_changed"]},
                    max_retries=8,
                    max_event_age_seconds=6 * 3600,
                ),
                Rule(
                    name="attribution-visitors",
                    # every score change, though only a contact's first counts (previous_score null): CDK drops
                    # a null from a pattern's list, so the rule cannot say it; the handler skips the rest cheaply
                    description="Score changes; a new contact's first score is the funnel's visitor",
                    pattern={"source": [LEADS_EVENT_SOURCE], "detail-type": ["lead.score_changed"]},
                    max_retries=8,
                    max_event_age_seconds=6 * 3600,
                ),
            ),
            tables={ATTRIBUTION.name: "read_write", LEADS.name: "read", FINANCE.name: "read"},
            publishes_events=True,
        ),
        Function(
            name="attribution_api",
            description="Attribution by deal, campaign and channel; campaign ROI; the funnel; model comparison",
            memory_mb=1024,
            timeout_seconds=29,
            routes=(
                _get(
                    "/api/v1/integrations/sales/attribution/{campaign_id}",
                    "campaign_attribution",
                    "A campaign's attributed revenue, deals, touches and pipeline, per model or all side by side",
                    ThrottleDomain.SALES,
                    READERS,
                ),
                _get(
                    "/api/v1/attribution/deals/{deal_id}",
                    "deal_attribution",
                    "A won deal's journey with every touch's roles and credit under every model",
                    ThrottleDomain.SALES,
                    READERS,
                ),
                _get(
                    "/api/v1/attribution/channels",
                    "channel_attribution",
                    "Attributed revenue and conversions per channel and model",
                    ThrottleDomain.MARKETING,
                    READERS,
                ),
                _get(
                    "/api/v1/integrations/sales/performance",
                    "sales_performance",
                    "The funnel with conversion rates and stage velocity, lead velocity, influenced pipeline and "
                    "revenue, top campaigns by ROI",
                    ThrottleDomain.SALES,
                    READERS,
                ),
                Route(
                    method="POST",
                    path="/api/v1/attribution/compare",
                    operation="compare_settings",
                    summary="The months' conversions under candidate settings beside the current ones; writes nothing",
                    description="Candidate `lookback_days`, `half_life_days`, `session_timeout_minutes` and "
                    "`channel_mapping` (replacing the whole list) over the file in force; each conversion's journey "
                    "is rebuilt both ways from the lead store. At most 2,000 conversions per call.",
                    domain=ThrottleDomain.MARKETING,
                    groups=READERS,
                    json_body=True,
                ),
                _get(
                    "/api/v1/integrations/finance/roi/{campaign_id}",
                    "campaign_roi",
                    "A campaign's spend, attributed revenue, ROI, ROAS, CAC, its customers' LTV and payback, per model",
                    ThrottleDomain.FINANCE,
                    READERS,
                ),
            ),
            tables={ATTRIBUTION.name: "read", FINANCE.name: "read", LEADS.name: "read"},
        ),
        Function(
            name="attribution_data_driven",
            description="Fits the data-driven (Markov) model on last month's journeys and re-credits its conversions",
            memory_mb=2048,
            timeout_seconds=900,
            schedules=(
                Schedule(
                    name="attribution-data-driven",
                    description="Fit the Markov model and recompute the data-driven credits",
                    expression="cron(30 2 * * ? *)",
                ),
            ),
            tables={ATTRIBUTION.name: "read_write", LEADS.name: "read", FINANCE.name: "read"},
            publishes_events=True,
        ),
    ),
)
