"""A Lambda layer of the few pure-Python packages the functions need that neither the Lambda runtime (boto3)
nor the AWS-managed Powertools layer (Powertools, pydantic) provides: defusedxml (Salesforce's XML),
slack_sdk (handoff notifications) and tzdata (reps' working hours in their time zones).

Built by copying the packages installed in the synthesizing environment (`requirements.txt` pins them), so
synth needs neither Docker nor the network, and what deploys is the version the tests ran. A package with
compiled extensions is refused: built on this machine, it would not load on Lambda's arm64.
"""

from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

# In requirements.txt, and in neither the Lambda runtime nor the Powertools layer.
BUNDLED_PACKAGES = ("defusedxml", "slack_sdk", "tzdata")
_COMPILED = {".so", ".pyd", ".dylib"}


class CompiledPackage(ValueError):
    pass


@jsii.implements(ILocalBundling)
class CopyInstalledPackages:
    """CDK local bundling: the installed files of each distribution, under `python/` as layers want them."""

    def __init__(self, distributions: tuple[str, ...]) -> None:
        self._distributions = distributions

    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        target = Path(output_dir) / "python"
        for name in self._distributions:
            copy_distribution(name, target)
        return True


def copy_distribution(name: str, target: Path) -> list[Path]:
    """Copy the importable files of an installed distribution (not its metadata or scripts) into `target`."""
    distribution = metadata.distribution(name)
    copied = []
    for file in distribution.files or ():
        if file.parts[0].endswith((".dist-info", ".egg-info")) or file.parts[0] == ".." or "__pycache__" in file.parts:
            continue
        if file.suffix in _COMPILED:
            raise CompiledPackage(f"{name} holds compiled code ({file}); it cannot be copied into a layer for arm64")
        source = Path(str(file.locate()))
        destination = target / file
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
        copied.append(destination)
    if not copied:
        raise ValueError(f"{name} is installed with no files to copy")
    return copied


def dependencies_layer(scope: Construct, construct_id: str) -> lambda_.LayerVersion:
    source = Path(__file__).resolve().parent / "dependencies_layer"
    return lambda_.LayerVersion(
        scope,
        construct_id,
        description=f"Pure-Python dependencies of RevOps Hub functions: {', '.join(BUNDLED_PACKAGES)}",
        compatible_runtimes=[lambda_.Runtime.PYTHON_3_14],
        compatible_architectures=[lambda_.Architecture.ARM_64],
        code=lambda_.Code.from_asset(
            str(source),
            # the output, not the source directory, says what the layer holds: a new version is a new asset
            asset_hash_type=AssetHashType.OUTPUT,
            bundling=BundlingOptions(
                image=DockerImage.from_registry("scratch"),  # never pulled: local bundling always succeeds
                local=CopyInstalledPackages(BUNDLED_PACKAGES),
            ),
        ),
    )
