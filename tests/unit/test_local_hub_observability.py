"""The local hub imports no function's observability itself: Powertools' metrics take their namespace from the
environment when `shared.observability` is first imported, and the hub sets each function's environment only
while importing that function. A hub module importing it first would leave every function's metrics without a
namespace, and the first flush of 100 metrics would fail whatever handler added the 100th (a webhook publisher's
batch, retried, publishes its events again)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_hub_and_the_openapi_document_import_no_function_observability() -> None:
    # Given a fresh interpreter, When the hub's modules and the OpenAPI document are imported, as the hub does at start
    code = (
        "import sys; import local_runtime.hub, local_runtime.dashboard, local_runtime.replay, local_runtime.oauth; "
        "import shared.http.openapi; print('shared.observability' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    # Then no function's logger or metrics were set up outside a function's environment
    assert done.stdout.strip() == "False"
