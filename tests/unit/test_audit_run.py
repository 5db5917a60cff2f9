"""`ops.audit_run.audited_run`: an operator command's run is recorded before its work (or it does not run) and
after it, with how it ended; its arguments are kept without emails or secrets."""

from __future__ import annotations

import pytest

from ops.audit_run import REDACTED, audited_run, cli_route, recorded_arguments
from ops.stages import CannotRun
from shared.audit.record import Channel, Outcome, Phase
from tests.audit_fakes import InMemoryAuditStore

ACTOR = "arn:aws:sts::123456789012:assumed-role/Operator/ana"


def test_a_run_is_recorded_started_then_finished_under_one_run_id() -> None:
    store = InMemoryAuditStore()
    with audited_run("rescore", {"model": "config/scoring-model.json"}, "dev", store=store, actor=ACTOR) as run:
        [started] = store.records  # recorded before the work
        run.finish(0, "rescored 12 leads")
    started, finished = store.records
    assert (started.phase, started.outcome, finished.phase, finished.outcome) == (
        Phase.STARTED, Outcome.PENDING, Phase.FINISHED, Outcome.SUCCEEDED,
    )  # fmt: skip
    assert started.request_id == finished.request_id == run.run_id
    assert (finished.channel, finished.route, finished.actor, finished.status) == (
        Channel.CLI, cli_route("rescore"), ACTOR, 0,
    )  # fmt: skip
    assert finished.detail["stage"] == "dev"
    assert finished.detail["arg.model"] == "config/scoring-model.json"
    assert finished.detail["summary"] == "rescored 12 leads"


def test_a_non_zero_exit_or_an_exception_is_a_failed_run() -> None:
    store = InMemoryAuditStore()
    with audited_run("import_spend", {}, "local", store=store, actor="local:ana") as run:
        run.finish(1, "2 lines refused")
    assert (store.records[-1].outcome, store.records[-1].status) == (Outcome.FAILED, 1)
    with (
        pytest.raises(ValueError, match="2026-13"),
        audited_run("reattribute", {}, "local", store=store, actor="local:ana"),
    ):
        raise ValueError("month 2026-13 is not a month")
    assert store.records[-1].outcome is Outcome.FAILED
    assert "2026-13" in store.records[-1].detail["error"]


def test_a_run_that_cannot_be_recorded_does_not_run() -> None:
    store = InMemoryAuditStore(unavailable=True)
    ran = []
    with pytest.raises(CannotRun, match="audit trail"), audited_run("rescore", {}, "dev", store=store, actor=ACTOR):
        ran.append(True)
    assert ran == []


def test_arguments_keep_no_email_and_no_secret() -> None:
    kept = recorded_arguments(
        {"token": "eyJhbGciOi", "client_secret": "s3cr3t", "email": "ana@example.com", "max": 10, "dry_run": False}
    )
    assert kept["token"] == REDACTED
    assert kept["client_secret"] == REDACTED
    assert "ana@example.com" not in kept["email"]
    assert kept["email"].startswith("email:")
    assert kept["max"] == "10"
    assert "dry_run" not in kept


def test_a_run_by_an_sso_session_named_by_email_is_found_by_the_operators_arn() -> None:
    from datetime import UTC, datetime, timedelta

    from shared.audit.query import AuditQuery

    # Given an operator whose SSO role session is named by their email ran a command
    arn = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_abc/alice@example.com"
    store = InMemoryAuditStore()
    with audited_run("rescore", {"model": "m.json"}, "dev", store=store, actor=arn) as run:
        run.finish(0, "rescored 3 leads")
    # When the trail is searched by the ARN the operator knows
    now = datetime.now(UTC)
    page = store.search(AuditQuery(start=now - timedelta(hours=1), end=now + timedelta(hours=1), actor=arn))
    # Then both records of the run are found, and neither holds the email in clear
    assert sorted(r.phase for r, _ in page.records) == [Phase.FINISHED, Phase.STARTED]
    assert all("alice@example.com" not in r.actor for r, _ in page.records)
