"""Every function starts with only its own environment, as Lambda starts it: what `Catalog.environment`
gives it and the variables every Lambda has (region, credentials), nothing of another function's. Each runs
in a fresh interpreter, so no module another function imported first can hide a variable it lacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from local_runtime.function_imports import own_environment
from shared.catalog import CATALOG, Function

ROOT = Path(__file__).resolve().parents[2]
STAGE = "envcheck"
LAMBDA_COMMON = {  # what the Lambda service sets in every function (the parts the handlers' SDKs read)
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "envcheck",
    "AWS_SECRET_ACCESS_KEY": "envcheck",
    "AWS_LAMBDA_FUNCTION_NAME": "envcheck",
}


def cold_start(function: Function, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Imports the function's handler in a fresh interpreter given exactly `environment` (plus PATH)."""
    return subprocess.run(
        [sys.executable, "-c", f"import {function.module}"],
        env={"PATH": os.environ["PATH"], **LAMBDA_COMMON, **environment},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("function", CATALOG.functions, ids=lambda fn: fn.name)
def test_every_function_starts_with_only_its_own_environment(function: Function) -> None:
    # Given only the variables the catalog gives this function
    # When its handler is imported (its cold start)
    started = cold_start(function, CATALOG.environment(function, STAGE))
    # Then it starts
    assert started.returncode == 0, started.stderr[-3000:]


RESOURCE_VARIABLES = ("TABLE_", "SECRET_", "EVENT_")
# A function told of no table, secret or bus (the user pool's pre token generation trigger) has none to miss.
WITH_RESOURCES = [
    fn
    for fn in CATALOG.functions
    if any(name.startswith(RESOURCE_VARIABLES) for name in CATALOG.environment(fn, STAGE))
]


@pytest.mark.parametrize("function", WITH_RESOURCES, ids=lambda fn: fn.name)
def test_a_function_missing_one_of_its_variables_fails_its_cold_start_naming_it(function: Function) -> None:
    # Given the function's environment without its last resource variable (a table, secret or bus)
    environment = CATALOG.environment(function, STAGE)
    missing = [name for name in environment if name.startswith(RESOURCE_VARIABLES)][-1]
    del environment[missing]
    # When its handler is imported
    started = cold_start(function, environment)
    # Then the import fails, naming the function and the variable
    assert started.returncode != 0
    assert "MisconfiguredFunction" in started.stderr
    assert f"{function.name}: environment is missing {missing}" in started.stderr


def test_the_local_runtime_imports_each_function_with_its_own_variables_only() -> None:
    # Given a process holding some common variable, as the local hub's does
    receiver, leads_api = CATALOG.function("webhook_receiver"), CATALOG.function("leads_api")
    os.environ["HUB_ENVCHECK_COMMON"] = "kept"
    try:
        # When the receiver's environment is in force (as while the hub imports it)
        with own_environment(CATALOG, receiver, STAGE):
            inside = dict(os.environ)
        # Then it holds the receiver's variables and the common one, and none only the leads API has
        assert inside.items() >= CATALOG.environment(receiver, STAGE).items()
        assert inside["HUB_ENVCHECK_COMMON"] == "kept"
        leads_only = CATALOG.environment(leads_api, STAGE).keys() - CATALOG.environment(receiver, STAGE).keys()
        assert leads_only, "the two functions differ in some variable (the leads table)"
        assert not leads_only & inside.keys()
        # And afterwards no function's variables are left behind, and the common one is
        everyones = {name for fn in CATALOG.functions for name in CATALOG.environment(fn, STAGE)}
        assert not everyones & os.environ.keys()
        assert os.environ["HUB_ENVCHECK_COMMON"] == "kept"
    finally:
        del os.environ["HUB_ENVCHECK_COMMON"]
