"""Apply a scoring model and rescore every lead with it, with a progress bar.

The model (default: the shipped `config/scoring-model.json`) is validated, stored as the model in force (every
function scores and explains with it from then on), and every lead's score, stage and handoffs are
recomputed from its stored engagement log; the resulting lead events are committed with each lead's change, and
the lead publisher puts them on the bus, exactly as for the lead processor's.

    python -m ops.rescore                             # the hub `make run` started, if one is running
    python -m ops.rescore --stage dev                 # a deployed stage (AWS credentials from the environment)
    python -m ops.rescore --model candidate.json      # apply another model (give it a new version)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from tqdm import tqdm

from ops.audit_run import audited_run
from ops.stages import LOCAL, CannotRun, stage_clients
from shared.adapters.clock import SystemClock
from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
from shared.adapters.dynamodb_scoring_models import DynamoDbScoringModelStore
from shared.catalog import CATALOG, physical_name
from shared.errors import InvalidInput
from shared.events.lead_events import LeadEventType
from shared.leads.scoring_models import ScoringModels
from shared.leads.service import LeadService
from shared.scoring.model import ScoringModel, load_model


def service_for(stage: str, endpoint_url: str | None) -> LeadService:
    client = stage_clients(stage, endpoint_url)
    dynamodb = client("dynamodb")
    table = physical_name(stage, CATALOG.table("leads").name)
    return LeadService(
        DynamoDbLeadRepository(dynamodb, table),
        ScoringModels(load_model(), DynamoDbScoringModelStore(dynamodb, table)),
        SystemClock(),
    )


def rescore_all(service: LeadService, model: ScoringModel) -> str:
    service.models.apply(model, datetime.now(UTC))
    ids = list(tqdm(service.repository.contact_ids(), desc="listing leads", unit=" leads", leave=False))
    moved = handoffs = 0
    for contact_id in tqdm(ids, desc=f"rescoring with model {model.version}", unit=" leads"):
        outcome = service.rescore(contact_id, cause=f"rescored with model {model.version}", model=model)
        moved += sum(event.event_type is LeadEventType.STAGE_CHANGED for event in outcome.published)
        handoffs += sum(event.event_type is LeadEventType.HANDOFF_REQUESTED for event in outcome.published)
    return f"model {model.version} is in force; rescored {len(ids)} leads: {moved} stage moves, {handoffs} handoffs"


def one_line(error: BaseException, stage: str) -> str:
    """What an operator reads instead of a traceback."""
    if isinstance(error, NoCredentialsError):
        return f"no AWS credentials for stage {stage}: export AWS_PROFILE (or keys), or use the local hub (`make run`)"
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            return f"stage {stage} has no leads table in this account and region: is it deployed (`make deploy`)?"
        return f"AWS refused the call ({code}): {error.response.get('Error', {}).get('Message', error)}"
    if isinstance(error, BotoCoreError):
        return f"cannot reach AWS for stage {stage}: {error}"
    return str(error)


def main(argv: list[str] | None = None, run: Callable[[LeadService, ScoringModel], str] = rescore_all) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", help="local (default when a local hub runs), dev, prod")
    parser.add_argument("--model", type=Path, help="the scoring model to apply (default: config/scoring-model.json)")
    parser.add_argument("--endpoint-url", help="AWS endpoint (default for local: the running hub's embedded AWS)")
    args = parser.parse_args(argv)
    stage = args.stage or LOCAL
    try:
        model = load_model(args.model)
        with audited_run("rescore", vars(args), stage, endpoint_url=args.endpoint_url) as audit:
            service = service_for(stage, args.endpoint_url)
            summary = run(service, model)
            audit.finish(0, summary)
        print(summary)
    except (CannotRun, InvalidInput, BotoCoreError, ClientError) as exc:
        print(f"error: {one_line(exc, stage)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
