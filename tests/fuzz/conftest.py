"""Fuzz tier: the local runtime started as `make run` starts it (as in tests/e2e) for schemathesis, and the
receiver in-process over moto (as in tests/integration) for the vendor payloads.

Every server error either test provokes is collected under its root cause (exception and innermost frame of
this repository) and printed once, with its shortest reproduction, at the end of the run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from _pytest.nodeid import coerce_node_id
from _pytest.nodes import Node
from moto import mock_aws

from local_runtime.provision import provision
from shared.catalog import CATALOG
from tests.e2e import conftest as e2e
from tests.fuzz.receiver import Crash, MotoReceiver, repo_path, root_cause
from tests.fuzz.vendors import Delivery

# The integration tier's conftest sets the common environment (fake credentials, region) and imports each
# handler with its own variables (`handler_module`).
from tests.integration.conftest import STAGE

# The local runtime exactly as the e2e tier starts it: on a free port, with a state file and a log of its own.
hub_state_file = e2e.hub_state_file
hub_process = e2e.hub_process
hub = e2e.hub

# schemathesis 4.32.5's `from_fixture` names each operation's subtest by rewriting `Node._nodeid`, which
# pytest 9.2 replaced with `Node._id` (a NodeId). This alias keeps it working; drop it once schemathesis
# follows pytest.
if not hasattr(Node, "_nodeid"):
    Node._nodeid = property(  # type: ignore[attr-defined]
        lambda node: node.nodeid, lambda node, value: setattr(node, "_id", coerce_node_id(value))
    )


@dataclass
class Finding:
    where: str
    repro: str
    detail: str
    seen: int = 0
    sources: set[str] = field(default_factory=set)  # vendors or operations that showed it


@dataclass
class ServerErrors:
    """Distinct server errors by root cause, each with the shortest reproduction seen."""

    findings: dict[str, Finding] = field(default_factory=dict)

    def record(self, where: str, repro: str, detail: str, source: str) -> None:
        found = self.findings.setdefault(where, Finding(where, repro, detail))
        found.seen += 1
        found.sources.add(source)
        if len(repro) < len(found.repro):
            found.repro, found.detail = repro, detail


SERVER_ERRORS = pytest.StashKey[ServerErrors]()


@pytest.fixture(scope="session")
def server_errors(request: pytest.FixtureRequest) -> ServerErrors:
    return request.config.stash.setdefault(SERVER_ERRORS, ServerErrors())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    errors = terminalreporter.config.stash.get(SERVER_ERRORS, None)
    if not errors or not errors.findings:
        return
    terminalreporter.section(f"{len(errors.findings)} distinct server errors (by root cause)")
    for number, finding in enumerate(sorted(errors.findings.values(), key=lambda f: f.where), start=1):
        sources = ", ".join(sorted(finding.sources))
        terminalreporter.write_line(f"{number}. {finding.where}  [seen {finding.seen}x: {sources}]")
        terminalreporter.write_line(f"   reproduce: {finding.repro}")
        for line in finding.detail.splitlines()[-4:]:
            terminalreporter.write_line(f"   | {line[:300]}")


# The local runtime over HTTP -----------------------------------------------------------------------------------


_FRAME = re.compile(r'^  File "(?P<file>[^"]+)", line \d+, in (?P<name>\S+)', re.MULTILINE)


class HubLog:
    """The local runtime's output (a file: an unread pipe would fill up with tracebacks and block the hub)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self) -> int:
        return self.path.stat().st_size

    def since(self, mark: int) -> str:
        with self.path.open("rb") as log:
            log.seek(mark)
            return log.read().decode(errors="replace")

    @staticmethod
    def root_cause(text: str) -> tuple[str, str] | None:
        """(root cause, last lines) of the last traceback in `text`; None when it holds none."""
        start = text.rfind("Traceback (most recent call last):")
        if start < 0:
            return None
        block = text[start:]
        lines = block.splitlines()
        ending = next(
            (n for n, line in enumerate(lines[1:], start=1) if line and not line.startswith((" ", "\t"))), None
        )
        exception_line = lines[ending] if ending is not None else "?"
        frames = tuple(
            f"{repo_path(m['file'])}:{m['name']}" for m in _FRAME.finditer("\n".join(lines[: ending or len(lines)]))
        )
        detail = "\n".join(lines[max(0, (ending or len(lines)) - 5) : (ending or len(lines)) + 1])
        return root_cause(exception_line.split(":", 1)[0], frames), detail


@pytest.fixture(scope="session")
def hub_log(hub_state_file: Path) -> HubLog:
    """The output of the e2e tier's hub (`started_hub` writes it beside the hub's state file)."""
    return HubLog(hub_state_file.with_suffix(".log"))


# The receiver in-process over moto --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def receiver(server_errors: ServerErrors) -> Iterator[MotoReceiver]:
    """The receiver over a fresh embedded AWS, shared by a module's examples (the ledger fills up as a real
    one does)."""

    def on_crash(crash: Crash, delivery: Delivery) -> None:
        server_errors.record(crash.where, repr(delivery), crash.detail, delivery.vendor)

    with mock_aws():
        provision(CATALOG, STAGE, boto3.Session(region_name="us-east-1"))
        yield MotoReceiver(STAGE, on_crash)
