"""Every operator command run is recorded in the stage's audit trail, like every API write: who ran it (the AWS
identity of the credentials, or the local user for the local hub), what with (its arguments, emails digested,
secrets left out), when, and how it ended.

    from ops.audit_run import audited_run

    with audited_run("rescore", {"model": args.model}, stage) as run:
        ...                       # the command's work
        run.finish(1, "3 leads refused")   # optional: a non-zero exit status and a one-line summary

A run is two records under one run id (the audit trail is append-only): `started` before the work, stored
durably or the command does not run at all (`CannotRun`: an unaudited operator run would be a hole in the
trail), and `finished` after it, with its outcome: `succeeded` (exit status 0), `failed` (a non-zero status set
with `finish`, or an exception, which is recorded and raised again). A `finished` record that cannot be stored
is reported on stderr and does not change the command's result: its work is done, and the `started` record
says who did it. Search them with `GET /api/v1/audit?route=CLI%20rescore` (or `actor=<ARN>`).
"""

from __future__ import annotations

import getpass
import json
import platform
import socket
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ops.stages import LOCAL, CannotRun, stage_clients
from shared.audit.ports import AuditStore, AuditUnavailable
from shared.audit.privacy import kept
from shared.audit.record import AuditRecord, Channel, Outcome, Phase, Target

CLI_METHOD = "CLI"
_SECRET_NAMES = ("token", "secret", "password", "passwd", "credential", "private")
REDACTED = "<redacted>"


def cli_route(command: str) -> str:
    """The route an operator command's records carry (`GET /api/v1/audit?route=CLI%20<command>`)."""
    return f"{CLI_METHOD} {command}"


@dataclass
class AuditedRun:
    """A run being recorded: `run_id` (its records' request id), who runs it; `finish` sets how it ends."""

    run_id: str
    command: str
    stage: str
    actor: str
    exit_status: int = 0
    summary: str | None = None
    targets: list[Target] = field(default_factory=list)

    def finish(self, exit_status: int, summary: str | None = None) -> None:
        """The exit status the command will return (0: succeeded) and a one-line summary for the trail."""
        self.exit_status = exit_status
        self.summary = summary

    def target(self, field_name: str, target_id: str) -> None:
        """Something the run is about (a queue, an API key id), searchable with `target=`."""
        self.targets.append(Target(field_name, str(target_id)))


@contextmanager
def audited_run(
    command: str,
    args: Mapping[str, object],
    stage: str | None = None,
    *,
    endpoint_url: str | None = None,
    store: AuditStore | None = None,
    actor: str | None = None,
) -> Iterator[AuditedRun]:
    """Record the run of `command` (its `make` target or module name: "rescore") with `args` (its parsed
    arguments) in the audit trail of `stage` (None: the local hub). `endpoint_url`, `store` and `actor` are for
    tests and for commands that reach AWS elsewhere. Before the work: raises CannotRun when the run cannot be
    recorded (no local hub, the table refuses), and botocore's errors when the stage's AWS cannot be reached (no
    credentials), as the command's own first call would."""
    stage = stage or LOCAL
    store = store or _store(stage, endpoint_url)
    actor = actor or _actor(stage, endpoint_url)
    run = AuditedRun(run_id=str(uuid.uuid4()), command=command, stage=stage, actor=actor)
    arguments = {f"arg.{name}": value for name, value in recorded_arguments(args).items()}
    try:
        store.append(_record(run, Phase.STARTED, Outcome.PENDING, None, arguments))
    except AuditUnavailable as exc:
        raise CannotRun(f"cannot record this run in stage {stage}'s audit trail, so it did not run: {exc}") from None
    try:
        yield run
    except BaseException as exc:
        failed = {"error": kept(f"{type(exc).__name__}: {exc}", 500) or ""}
        _finish(store, _record(run, Phase.FINISHED, Outcome.FAILED, 2, arguments | failed))
        raise
    outcome = Outcome.SUCCEEDED if run.exit_status == 0 else Outcome.FAILED
    summary = {"summary": kept(run.summary, 500) or ""} if run.summary else {}
    _finish(store, _record(run, Phase.FINISHED, outcome, run.exit_status, arguments | summary))


def recorded_arguments(args: Mapping[str, object]) -> dict[str, str]:
    """The arguments as the trail keeps them: text, emails digested, at most 256 characters each, anything named
    like a secret (a token, a password) left out, unset ones dropped."""
    recorded: dict[str, str] = {}
    for name, value in args.items():
        if value is None or value is False:
            continue
        if any(secret in name.lower() for secret in _SECRET_NAMES):
            recorded[name] = REDACTED
            continue
        text = json.dumps(value, default=str) if isinstance(value, list | tuple | dict) else str(value)
        recorded[name] = kept(text) or ""
    return recorded


def _record(
    run: AuditedRun, phase: Phase, outcome: Outcome, status: int | None, detail: Mapping[str, str]
) -> AuditRecord:
    user = _local_user()
    return AuditRecord(
        request_id=run.run_id,
        at=datetime.now(UTC),
        channel=Channel.CLI,
        phase=phase,
        outcome=outcome,
        actor=kept(run.actor) or run.actor,
        route=cli_route(run.command),
        method=CLI_METHOD,
        path=run.command,
        status=status,
        username=kept(user),
        targets=tuple(Target(t.field, kept(t.id) or t.id) for t in run.targets),
        source_ip=None,
        user_agent=kept(f"ops/{run.command} on {socket.gethostname()} (Python {platform.python_version()})"),
        detail={"stage": run.stage, **detail},
    )


def _finish(store: AuditStore, record: AuditRecord) -> None:
    try:
        store.append(record)
    except AuditUnavailable as exc:
        print(f"warning: the end of this run could not be recorded in the audit trail: {exc}", file=sys.stderr)


def _store(stage: str, endpoint_url: str | None) -> AuditStore:
    from shared.adapters.dynamodb_audit import DynamoDbAuditStore
    from shared.audit.config import load_audit_config
    from shared.catalog import physical_name
    from shared.catalog.audit import AUDIT

    retention = timedelta(days=load_audit_config().retention_days)
    client = stage_clients(stage, endpoint_url)("dynamodb")
    return DynamoDbAuditStore(client, physical_name(stage, AUDIT.name), retention)


def _actor(stage: str, endpoint_url: str | None) -> str:
    """The local user for the local hub (its embedded AWS takes any credentials); else the ARN of the AWS identity
    the command runs as (STS GetCallerIdentity)."""
    if stage == LOCAL:
        return f"local:{_local_user()}"
    identity: dict[str, Any] = stage_clients(stage, None)("sts").get_caller_identity()
    return str(identity["Arn"])


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or the password database (a bare container)
        return "unknown"
