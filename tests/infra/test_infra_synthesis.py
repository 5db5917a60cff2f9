"""Synthesis itself: offline and environment-agnostic, stage validated, one shared source-only asset."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aws_cdk import App

from infra import build_app, context_from_argv, stage_config
from infra.config import POWERTOOLS_LAYER_PARAMETER, REPO_ROOT
from infra.dependencies import BUNDLED_PACKAGES
from shared.catalog import CATALOG, Function

if TYPE_CHECKING:
    from tests.infra.conftest import Synth


def test_unknown_stage_is_rejected_with_a_clear_error() -> None:
    # Given a stage that is neither dev nor prod
    app = App(context={"stage": "qa"})
    # When the app is built, Then it fails before creating anything, naming the allowed stages
    with pytest.raises(ValueError, match=r"unknown stage 'qa'.*dev, prod"):
        build_app(app)
    assert app.node.children == []


def test_missing_stage_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown stage None"):
        stage_config(None)


def test_app_py_exits_non_zero_for_an_unknown_stage() -> None:
    # Given the CLI entry point run the way `python app.py -c stage=staging` would
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDK_")}
    result = subprocess.run(
        [sys.executable, "app.py", "-c", "stage=staging"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Then it stops with the stage error rather than a traceback
    assert result.returncode != 0
    assert "unknown stage 'staging'" in result.stderr
    assert "Traceback" not in result.stderr


def test_context_arguments_are_parsed_like_the_cdk_cli() -> None:
    assert context_from_argv(["-c", "stage=prod", "--context", "x=1=2"]) == {"stage": "prod", "x": "1=2"}
    with pytest.raises(SystemExit):
        context_from_argv(["-c", "stage"])


def test_stack_is_named_per_stage_and_environment_agnostic(synth: Synth) -> None:
    assert synth.stack.stack_name == f"RevOpsHub-{synth.stage}"
    manifest = json.loads((synth.assembly_dir / "manifest.json").read_text())
    artifact = manifest["artifacts"][synth.stack.artifact_id]
    # No account or region, and no context lookups that would need credentials at synth time
    assert artifact["environment"] == "aws://unknown-account/unknown-region"
    assert "missing" not in manifest


def test_powertools_layer_is_the_tested_version_resolved_at_deploy_time(synth: Synth) -> None:
    # Given the template's parameters
    parameters = synth.template.to_json()["Parameters"]
    layer_params = [
        name
        for name, parameter in parameters.items()
        if parameter.get("Default") == POWERTOOLS_LAYER_PARAMETER
        and parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    ]
    # Then the public SSM parameter of the Powertools version the tests ran with is a CloudFormation parameter
    assert len(layer_params) == 1
    assert POWERTOOLS_LAYER_PARAMETER.endswith(f"/{metadata.version('aws-lambda-powertools')}")
    # And every function has that layer and the dependencies layer, and no other
    [dependencies] = synth.template.find_resources("AWS::Lambda::LayerVersion")
    for function in synth.template.find_resources("AWS::Lambda::Function").values():
        layers = sorted(layer["Ref"] for layer in function["Properties"]["Layers"])
        assert layers == sorted([layer_params[0], dependencies])


def test_the_dependencies_layer_holds_the_installed_pure_python_packages(synth: Synth) -> None:
    # Given the dependencies layer's asset as the cloud assembly stages it
    [layer] = synth.template.find_resources("AWS::Lambda::LayerVersion").values()
    asset_hash = layer["Properties"]["Content"]["S3Key"].removesuffix(".zip")
    manifest = json.loads((synth.assembly_dir / f"{synth.stack.artifact_id}.assets.json").read_text())
    staged = synth.assembly_dir / manifest["files"][asset_hash]["source"]["path"]
    files = {path.relative_to(staged) for path in staged.rglob("*") if path.is_file()}
    # Then each bundled package is there under python/, exactly as installed
    for package in BUNDLED_PACKAGES:
        installed = metadata.distribution(package)
        assert Path("python", package, "__init__.py") in files
        module = next(f for f in installed.files or () if f.name == "__init__.py" and f.parts[0] == package)
        assert (staged / "python" / module).read_bytes() == Path(str(module.locate())).read_bytes()
    # And compiled code only from the wheels built for Lambda (test_infra_dependency_layer.py checks the platform)
    compiled = {path.parts[1].split(".")[0] for path in files if path.suffix in {".so", ".pyd"}}
    assert compiled <= {"lxml", "cryptography", "_cffi_backend", "charset_normalizer"}
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.14"]


def test_functions_share_one_asset_with_only_code_and_runtime_config(synth: Synth) -> None:
    # Given the asset every function points at, as the assets manifest stages it
    functions = synth.template.find_resources("AWS::Lambda::Function").values()
    keys = {fn["Properties"]["Code"]["S3Key"] for fn in functions}
    assert len(keys) == 1
    asset_hash = keys.pop().removesuffix(".zip")
    manifest = json.loads((synth.assembly_dir / f"{synth.stack.artifact_id}.assets.json").read_text())
    source = manifest["files"][asset_hash]["source"]
    assert source["packaging"] == "zip"
    staged = synth.assembly_dir / source["path"]
    # When the staged directory in the cloud assembly is inspected
    files = [path.relative_to(staged) for path in staged.rglob("*") if path.is_file()]
    # Then it holds the two packages the handlers import and the run-time config, and nothing else
    assert sorted(entry.name for entry in staged.iterdir()) == ["config", "functions", "shared"]
    assert sorted(path.name for path in (staged / "config").iterdir()) == [
        "attribution.json",
        "audit.json",
        "consent.json",
        "crm-mappings.json",
        "finance.json",
        "health-model.json",
        "routing.json",
        "scoring-model.json",
        "success-plan.json",
    ]
    assert Path("shared/catalog/__init__.py") in files
    assert Path("functions/__init__.py") in files
    junk = [
        path
        for path in files
        if "__pycache__" in path.parts
        or path.suffix in {".pyc", ".pyo"}
        or "tests" in path.parts
        or path.name.startswith("test_")
        or path.name == "conftest.py"
    ]
    assert junk == []
    # And the handler module of every catalog function is in it, when that function's code exists yet
    for fn in synth.catalog.functions:
        source = REPO_ROOT / "functions" / fn.name / "handler.py"
        if source.exists():
            assert Path("functions", fn.name, "handler.py") in files


@dataclasses.dataclass(frozen=True)
class _FixtureFunction(Function):
    """A function whose handler lives outside the deployed packages, like the e2e fixture functions."""

    @property
    def handler(self) -> str:
        return f"tests.fixture_functions.{self.name}.handler.handler"


def test_a_handler_outside_the_deployed_packages_is_rejected() -> None:
    # Given a catalog function whose code would not be in the functions/ + shared/ asset
    catalog = dataclasses.replace(CATALOG, functions=(_FixtureFunction(name="recording_consumer", description="x"),))
    # When the stack is built, Then synthesis refuses instead of deploying a function that cannot import
    with pytest.raises(ValueError, match="outside the deployed packages"):
        build_app(App(context={"stage": "dev"}), catalog=catalog)
