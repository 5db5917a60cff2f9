"""Composition root: binds each function's use case to its AWS adapters, from the environment the catalog
gives that function (`shared.function_environment`).

Each builder imports only what its function needs, inside the builder: the webhook receiver must start with
boto3 and the gateway's own small modules, without the lead and scoring domains, Powertools or pydantic.
Every client comes from boto3's default session, so botocore loads its endpoint data once per cold start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import boto3

from shared.adapters.clock import SystemClock, WallClock
from shared.catalog import (
    ATTRIBUTION,
    CRM_CREDENTIALS,
    CRM_SYNC,
    FINANCE,
    HANDOFF_NOTIFICATIONS,
    HANDOFFS,
    LEADS,
    SUCCESS,
    WEBHOOK_DELIVERIES,
    WEBHOOK_SIGNING_SECRETS,
)
from shared.function_environment import FunctionEnvironment

if TYPE_CHECKING:
    from shared.adapters.dynamodb_lead_nurture import DynamoDbNurtureCursors
    from shared.adapters.dynamodb_ledger import DynamoDbDeliveryLedger
    from shared.adapters.notification_channels import SecretChannels
    from shared.attribution.service import AttributionService
    from shared.crm.ports import CrmClient, CrmName
    from shared.crm.service import SyncService
    from shared.crm.store import SyncStore
    from shared.finance.config import FinanceConfig
    from shared.finance.service import FinanceService
    from shared.handoffs.notifier import HandoffNotifier
    from shared.handoffs.service import HandoffService
    from shared.leads.crm_changes import AccountOwners
    from shared.leads.service import LeadService
    from shared.success.accounts import LeadStoreAccounts
    from shared.success.alerts import Csm
    from shared.success.model import HealthModel
    from shared.success.product_service import ProductService
    from shared.success.service import HealthService
    from shared.webhooks.ingest import WebhookIngest
    from shared.webhooks.ports import EventPublisher
    from shared.webhooks.publishing import OutboxPublisher
    from shared.webhooks.vendor import Vendor


def webhook_ingest(environment: FunctionEnvironment, vendors: Mapping[str, Vendor] | None = None) -> WebhookIngest:
    from shared.adapters.secrets import SecretsManagerSecretSource
    from shared.webhooks.delivery_metrics import CountedDeliveryLedger
    from shared.webhooks.ingest import WebhookIngest
    from shared.webhooks.registry import VENDORS

    vendors = VENDORS if vendors is None else vendors
    return WebhookIngest(
        vendors=vendors,
        secrets=SecretsManagerSecretSource(
            environment.secret(WEBHOOK_SIGNING_SECRETS.name), boto3.client("secretsmanager")
        ),
        ledger=CountedDeliveryLedger(delivery_ledger(environment), vendors),  # deliveries by vendor and outcome
        clock=WallClock(),
    )


def delivery_ledger(environment: FunctionEnvironment) -> DynamoDbDeliveryLedger:
    from shared.adapters.dynamodb_ledger import DynamoDbDeliveryLedger

    client = delivery_ledger_client()
    return DynamoDbDeliveryLedger(client, environment.table(WEBHOOK_DELIVERIES.name), WallClock().now)


def delivery_ledger_client() -> Any:
    from botocore.config import Config

    # The ledger builds its requests itself, always well formed; botocore's client-side check of every
    # attribute of every item was a sixth of the receiver's CPU, and DynamoDB checks them anyway.
    return boto3.client("dynamodb", config=Config(parameter_validation=False))


def outbox_publisher(environment: FunctionEnvironment) -> OutboxPublisher:
    from shared.adapters.dynamodb_privacy_ledger import DynamoDbErasureLedger
    from shared.adapters.eventbridge_publisher import EventBridgePublisher
    from shared.catalog import LEADS
    from shared.events.canonical import WEBHOOK_EVENT_SOURCE
    from shared.webhooks.normalizers import normalize
    from shared.webhooks.publishing import OutboxPublisher
    from shared.webhooks.registry import ALL_VENDORS

    ledger = delivery_ledger(environment)
    return OutboxPublisher(
        vendors=ALL_VENDORS,
        normalize=normalize,
        ledger=ledger,
        bus=EventBridgePublisher(boto3.client("events"), environment.bus_name, WEBHOOK_EVENT_SOURCE),
        # events about people erased since they happened are held back, their stored bodies blanked
        tombstones=DynamoDbErasureLedger(boto3.client("dynamodb"), environment.table(LEADS.name)),
        erased_bodies=ledger,
    )


def lead_service(environment: FunctionEnvironment) -> LeadService:
    """The lead use cases. They publish nothing themselves: a change's lead events are committed with it into the
    lead table's outbox, and the lead publisher puts them on the bus (`lead_event_relay`)."""
    from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
    from shared.adapters.dynamodb_scoring_models import DynamoDbScoringModelStore
    from shared.leads.scoring_models import ScoringModels
    from shared.leads.service import LeadService
    from shared.scoring.model import load_model

    dynamodb = boto3.client("dynamodb")
    table = environment.table(LEADS.name)
    synced_fields, account_owners = _crm_mapped(environment)
    return LeadService(
        repository=DynamoDbLeadRepository(dynamodb, table),
        models=ScoringModels(load_model(), DynamoDbScoringModelStore(dynamodb, table)),
        clock=SystemClock(),
        crm_synced_fields=synced_fields,
        account_owners=account_owners,
    )


def nurture_cursors(environment: FunctionEnvironment) -> DynamoDbNurtureCursors:
    """Where the hourly nurture clock stopped in each stage, kept in the lead table between runs."""
    from shared.adapters.dynamodb_lead_nurture import DynamoDbNurtureCursors

    return DynamoDbNurtureCursors(boto3.client("dynamodb"), environment.table(LEADS.name))


def lead_event_bus(environment: FunctionEnvironment) -> EventPublisher:
    """The lead publisher's bus: lead events, counted into the business figures as they go out."""
    from shared.adapters.eventbridge_publisher import EventBridgePublisher
    from shared.business_metrics import CountedPublisher
    from shared.events.lead_events import LEAD_EVENT_SOURCE

    return CountedPublisher(EventBridgePublisher(boto3.client("events"), environment.bus_name, LEAD_EVENT_SOURCE))


def _crm_mapped(environment: FunctionEnvironment) -> tuple[frozenset[str], AccountOwners | None]:
    """What the CRM mappings tell the lead service, for a function whose rules take CRM events (the lead
    processor): the profile fields the CRM sync decides, and how a CRM's account event names the account's
    owner. The others never apply one, and skip loading the mappings at cold start."""
    from shared.catalog.leads import SYNC_EVENT_SOURCE

    sources = [rule.pattern.get("source") for rule in environment.function.rules]
    if not any(isinstance(source, list) and SYNC_EVENT_SOURCE in source for source in sources):
        return frozenset(), None
    from shared.crm.account_owners import MappedAccountOwners
    from shared.crm.mappings import CRMS, load_crm_mappings
    from shared.leads.crm_changes import synced_profile_fields

    mappings = load_crm_mappings()
    inbound = [m for m in mappings.fields("contact") if m.inbound]
    # the CRMs whose webhooks the sync decides a contact's account link from (a mapping with links_to naming them)
    linked_from = [crm for m in inbound if m.links_to == "account" for crm in CRMS if m.crm_field(crm)]
    synced = synced_profile_fields((m.hub_field for m in inbound), linked_from)
    return synced, MappedAccountOwners(mappings)


def handoff_service(environment: FunctionEnvironment) -> HandoffService:
    from shared.adapters.dynamodb_handoffs import DynamoDbHandoffRepository
    from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
    from shared.adapters.eventbridge_publisher import EventBridgePublisher
    from shared.adapters.scheduler_timers import SchedulerTimers
    from shared.events.handoff_events import HANDOFF_EVENT_SOURCE
    from shared.handoffs.lead_facts import LeadStoreDirectory
    from shared.handoffs.routing import compile_routing
    from shared.handoffs.routing_config import load_routing
    from shared.handoffs.service import HandoffService
    from shared.handoffs.success_plans import load_success_plan

    dynamodb = boto3.client("dynamodb")
    router = compile_routing(load_routing())
    success_plan = load_success_plan()
    sts = boto3.client("sts")
    return HandoffService(
        repository=DynamoDbHandoffRepository(dynamodb, environment.table(HANDOFFS.name)),
        router=lambda: router,
        leads=LeadStoreDirectory(DynamoDbLeadRepository(dynamodb, environment.table(LEADS.name))),
        publisher=EventBridgePublisher(boto3.client("events"), environment.bus_name, HANDOFF_EVENT_SOURCE),
        timers=SchedulerTimers(
            boto3.client("scheduler"), environment.timers, lambda: str(sts.get_caller_identity()["Account"])
        ),
        clock=SystemClock(),
        success_plan=lambda: success_plan,
    )


def notification_channels(environment: FunctionEnvironment) -> SecretChannels:
    """Slack and SES as the notifications secret configures them, built when first used."""
    from shared.adapters.notification_channels import Channels, SecretChannels
    from shared.adapters.ses_notifier import SesEmailSender
    from shared.adapters.slack_notifier import SlackChatPoster, slack_client

    sesv2 = boto3.client("sesv2")

    def channels(settings: dict[str, object]) -> Channels:
        api_url = settings.get("slack_api_url")
        return Channels(
            chat=SlackChatPoster(slack_client(str(settings["slack_bot_token"]), str(api_url) if api_url else None)),
            email=SesEmailSender(sesv2, str(settings["email_from"])),
            hub_url=str(settings.get("hub_url") or ""),
        )

    return SecretChannels(environment.secret(HANDOFF_NOTIFICATIONS.name), boto3.client("secretsmanager"), channels)


def budget_alert_channels(environment: FunctionEnvironment) -> tuple[FinanceConfig, SecretChannels]:
    from shared.finance.config import load_finance_config

    return load_finance_config(), notification_channels(environment)


def handoff_notifier(environment: FunctionEnvironment) -> HandoffNotifier:
    from shared.adapters.dynamodb_handoffs import DynamoDbHandoffRepository
    from shared.adapters.dynamodb_notice_deliveries import DynamoDbNoticeDeliveries
    from shared.handoffs.notifier import HandoffNotifier
    from shared.handoffs.routing import compile_routing
    from shared.handoffs.routing_config import load_routing

    router = compile_routing(load_routing())
    dynamodb = boto3.client("dynamodb")
    return HandoffNotifier(
        handoffs=DynamoDbHandoffRepository(dynamodb, environment.table(HANDOFFS.name)),
        leads=lead_service(environment),
        router=lambda: router,
        channels=notification_channels(environment),
        deliveries=DynamoDbNoticeDeliveries(dynamodb, environment.table(HANDOFFS.name), SystemClock().now),
    )


def finance_service(environment: FunctionEnvironment) -> FinanceService:
    from shared.adapters.dynamodb_finance import DynamoDbFinanceStore
    from shared.adapters.eventbridge_publisher import EventBridgePublisher
    from shared.events.finance_events import FINANCE_EVENT_SOURCE
    from shared.finance.budget_engine import compile_budget_engine
    from shared.finance.config import load_finance_config
    from shared.finance.service import FinanceService

    config = load_finance_config()
    return FinanceService(
        store=DynamoDbFinanceStore(boto3.client("dynamodb"), environment.table(FINANCE.name)),
        config=config,
        engine=compile_budget_engine(config),
        publisher=EventBridgePublisher(boto3.client("events"), environment.bus_name, FINANCE_EVENT_SOURCE),
        clock=SystemClock(),
    )


def attribution_service(environment: FunctionEnvironment) -> AttributionService:
    """The recorder's, the API's and the data-driven batch's use cases: the attribution store, the lead store
    (read only: journeys) and the finance store (read only: FX tables and spend)."""
    from shared.adapters.dynamodb_attribution import DynamoDbAttributionStore
    from shared.adapters.dynamodb_customer_revenue import DynamoDbCustomerRevenueStore
    from shared.adapters.dynamodb_finance import DynamoDbFinanceStore
    from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
    from shared.adapters.eventbridge_publisher import EventBridgePublisher
    from shared.attribution.config import load_attribution_config
    from shared.attribution.service import AttributionService
    from shared.events.attribution_events import ATTRIBUTION_EVENT_SOURCE
    from shared.finance.config import load_finance_config

    dynamodb = boto3.client("dynamodb")
    finance = load_finance_config()
    return AttributionService(
        store=DynamoDbAttributionStore(dynamodb, environment.table(ATTRIBUTION.name)),
        leads=DynamoDbLeadRepository(dynamodb, environment.table(LEADS.name)),
        fx=DynamoDbFinanceStore(dynamodb, environment.table(FINANCE.name)),
        config=load_attribution_config(finance=finance),
        company_currency=finance.company_currency,
        publisher=(
            EventBridgePublisher(boto3.client("events"), environment.bus_name, ATTRIBUTION_EVENT_SOURCE)
            if environment.function.publishes_events
            else None  # the API reads and compares; it never records
        ),
        clock=SystemClock(),
        spend=DynamoDbFinanceStore(dynamodb, environment.table(FINANCE.name)),
        finance=finance,
        revenue=DynamoDbCustomerRevenueStore(dynamodb, environment.table(ATTRIBUTION.name)),
    )


def success_service(environment: FunctionEnvironment) -> HealthService:
    """The health recorder's, the API's and the nightly's use cases: the success store, the lead store (read
    only: which account an event or a URL names) and the bus."""
    from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
    from shared.adapters.dynamodb_success import DynamoDbHealthStore
    from shared.adapters.eventbridge_publisher import EventBridgePublisher
    from shared.business_metrics import CountedPublisher
    from shared.events.success_events import SUCCESS_EVENT_SOURCE
    from shared.finance.config import load_finance_config
    from shared.success.accounts import LeadStoreAccounts
    from shared.success.intervention_service import InterventionService
    from shared.success.model import load_health_model
    from shared.success.service import HealthService

    dynamodb = boto3.client("dynamodb")
    store = DynamoDbHealthStore(dynamodb, environment.table(SUCCESS.name))
    accounts = LeadStoreAccounts(DynamoDbLeadRepository(dynamodb, environment.table(LEADS.name)))
    model = load_health_model()
    publisher = CountedPublisher(
        EventBridgePublisher(boto3.client("events"), environment.bus_name, SUCCESS_EVENT_SOURCE)
    )
    return HealthService(
        store=store,
        accounts=accounts,
        model=model,
        publisher=publisher,
        clock=SystemClock(),
        interventions=InterventionService(store, accounts, model, publisher),
        company_currency=load_finance_config().company_currency,
    )


def success_product_service(environment: FunctionEnvironment) -> ProductService:
    """The API's: the health service, and over it feedback, analytics, launches and CS campaigns."""
    from shared.finance.config import load_finance_config
    from shared.success.product_service import ProductService

    health = success_service(environment)
    return ProductService(health.store, health, load_finance_config().company_currency)


def success_alert_channels(
    environment: FunctionEnvironment,
) -> tuple[HealthModel, LeadStoreAccounts, Callable[[str], Csm | None], SecretChannels]:
    """The notifier's: the health model (its playbooks' alerts), the accounts' names, an account's CSM (the
    handoff store, read only, and the routing file's reps: their Slack user ids and emails), Slack and SES."""
    from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
    from shared.adapters.dynamodb_success_csms import DynamoDbAccountCsms
    from shared.handoffs.routing_config import load_routing
    from shared.success.accounts import LeadStoreAccounts
    from shared.success.alerts import account_csm
    from shared.success.model import load_health_model

    dynamodb = boto3.client("dynamodb")
    accounts = LeadStoreAccounts(DynamoDbLeadRepository(dynamodb, environment.table(LEADS.name)))
    csms = DynamoDbAccountCsms(dynamodb, environment.table(HANDOFFS.name))
    routing = load_routing()
    return (
        load_health_model(),
        accounts,
        lambda tenant_id: account_csm(tenant_id, csms, routing),
        notification_channels(environment),
    )


CRM_SYNC_QUEUE = "crm-sync-changes"


def crm_sync_service(
    environment: FunctionEnvironment, queue: bool = False, paced: bool = False, scores: bool = False
) -> SyncService:
    """The sync recorder's, writer's, reconciler's and API's use cases: the sync store, the lead store (read
    only: who a CRM record is, a lead's or an account's profile), the bus, (`queue`) the sync queue, (`paced`, the
    writer's) a pacer that holds small batches back under load, and (`scores`, the recorder's: it writes a lead's
    score factors) the lead service that explains a lead's score."""
    from shared.adapters.dynamodb_crm_sync import DynamoDbSyncStore
    from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
    from shared.adapters.eventbridge_publisher import EventBridgePublisher
    from shared.adapters.sqs_change_queue import SqsChangeQueue
    from shared.business_metrics import CountedPublisher
    from shared.crm.lead_directory import LeadStoreDirectory, NoDirectory
    from shared.crm.mappings import load_crm_mappings
    from shared.crm.pacing import CallPacer
    from shared.crm.ports import HubDirectory
    from shared.crm.service import SyncService
    from shared.events.sync_events import SYNC_EVENT_SOURCE

    dynamodb = boto3.client("dynamodb")
    store = DynamoDbSyncStore(dynamodb, environment.table(CRM_SYNC.name))
    directory: HubDirectory = NoDirectory()
    if LEADS.name in environment.function.tables:
        repository = DynamoDbLeadRepository(dynamodb, environment.table(LEADS.name))
        # a lead's score factors are its score's breakdown, explained as the lead API explains it
        explain = lead_service(environment).score_of if scores else None
        directory = LeadStoreDirectory(repository, explain)
    publisher = (
        CountedPublisher(EventBridgePublisher(boto3.client("events"), environment.bus_name, SYNC_EVENT_SOURCE))
        if environment.function.publishes_events
        else None
    )
    changes = SqsChangeQueue(boto3.client("sqs"), environment.queue_url(CRM_SYNC_QUEUE)) if queue else None
    pacer = CallPacer() if paced else None
    return SyncService(load_crm_mappings(), store, directory, SystemClock(), changes, publisher, pacer)


def crm_sync_store(environment: FunctionEnvironment) -> SyncStore:
    """The sync store alone (the lead API reads a lead's audit trail from it)."""
    from shared.adapters.dynamodb_crm_sync import DynamoDbSyncStore

    return DynamoDbSyncStore(boto3.client("dynamodb"), environment.table(CRM_SYNC.name))


def crm_clients(environment: FunctionEnvironment) -> dict[CrmName, CrmClient]:
    """A client per CRM the credentials secret names (read at each call: a rotated token is picked up)."""
    import json

    secret = boto3.client("secretsmanager").get_secret_value(SecretId=environment.secret(CRM_CREDENTIALS.name))
    credentials = json.loads(secret["SecretString"])
    clients: dict[CrmName, CrmClient] = {}
    if isinstance(credentials.get("hubspot"), dict):
        from shared.adapters.hubspot_crm import hubspot_crm

        hubspot = credentials["hubspot"]
        clients["hubspot"] = hubspot_crm(str(hubspot["access_token"]), hubspot.get("api_url"))
    if isinstance(credentials.get("salesforce"), dict):
        from shared.adapters.salesforce_crm import salesforce_crm

        clients["salesforce"] = salesforce_crm(credentials["salesforce"])
    return clients
