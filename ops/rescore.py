"""Rescore every lead after a model change, with a progress bar. Scores, stages and handoffs are
recomputed from the stored engagement logs with the shipped model (config/scoring-model.json), and the
resulting lead events are published, exactly as the lead processor would.

    python -m ops.rescore --stage dev                 # a deployed stage (AWS credentials from the environment)
    python -m ops.rescore --stage local               # the hub `make run` started (its embedded AWS)
"""

from __future__ import annotations

import argparse
import os
import sys

import boto3
from tqdm import tqdm

from shared.adapters.clock import SystemClock
from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
from shared.adapters.eventbridge_publisher import EventBridgePublisher
from shared.catalog import CATALOG, physical_name
from shared.events.lead_events import LEAD_EVENT_SOURCE
from shared.leads.service import LeadService
from shared.scoring.model import ModelError, load_model

LOCAL_AWS = f"http://127.0.0.1:{os.environ.get('HUB_AWS_PORT', '3001')}"


def service_for(stage: str, endpoint_url: str | None) -> LeadService:
    if stage == "local":
        endpoint_url = endpoint_url or LOCAL_AWS
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    session = boto3.Session(region_name=os.environ.get("AWS_REGION", "us-east-1"))
    dynamodb = session.client("dynamodb", endpoint_url=endpoint_url)
    events = session.client("events", endpoint_url=endpoint_url)
    return LeadService(
        DynamoDbLeadRepository(dynamodb, physical_name(stage, CATALOG.table("leads").name)),
        EventBridgePublisher(events, physical_name(stage, CATALOG.bus_name), LEAD_EVENT_SOURCE),
        load_model(),
        SystemClock(),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", required=True, help="local, dev, prod")
    parser.add_argument("--endpoint-url", help="AWS endpoint (default for local: the hub's embedded AWS)")
    args = parser.parse_args(argv)
    try:
        service = service_for(args.stage, args.endpoint_url)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ids = list(tqdm(service.repository.contact_ids(), desc="listing leads", unit=" leads", leave=False))
    moved = handoffs = 0
    for contact_id in tqdm(ids, desc=f"rescoring with model {service.model.version}", unit=" leads"):
        outcome = service.rescore(contact_id, cause=f"rescored with model {service.model.version}")
        moved += sum(event.event_type.value == "lead.stage_changed" for event in outcome.published)
        handoffs += sum(event.event_type.value == "lead.handoff_requested" for event in outcome.published)
    print(f"rescored {len(ids)} leads with model {service.model.version}: {moved} stage moves, {handoffs} handoffs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
