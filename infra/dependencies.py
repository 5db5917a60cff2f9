"""A Lambda layer of the packages the functions need that neither the Lambda runtime (boto3) nor the AWS-managed
Powertools layer (Powertools, pydantic) provides: defusedxml (Salesforce's XML), slack_sdk (handoff
notifications), tzdata (reps' working hours in their time zones) and the CRM SDKs (hubspot-api-client,
simple-salesforce) with everything they need at run time.

Pure-Python packages are copied from the synthesizing environment (`requirements.txt` and `constraints.txt` pin
them), with their `.dist-info` (hubspot reads its own version from it), so what deploys is the version the tests
ran. A package with compiled extensions is refused there: built on this machine, it would not load on Lambda's
arm64. The compiled ones (`LAMBDA_WHEELS`: lxml under zeep, cryptography and cffi for Salesforce's JWT sign-in,
charset-normalizer under requests) are unpacked instead from wheels built for the functions' platform (CPython
3.14, manylinux for aarch64), at the version installed here, that `make` downloads into `.cache/lambda-wheels/`.
Synth needs neither Docker nor the network: without those wheels it stops and names `make lambda-wheels`.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Sequence
from functools import cache
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from infra.config import REPO_ROOT

# The functions' runtime and architecture (infra/functions.py); the layer is built for them.
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
# Lambda's python3.12 and later run on Amazon Linux 2023: glibc 2.34, the newest manylinux a wheel may need.
_GLIBC_MINOR = 34
_MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}

# In requirements.txt, imported by the functions, and in neither the Lambda runtime nor the Powertools layer.
BUNDLED_PACKAGES = ("defusedxml", "slack_sdk", "tzdata")
# The CRM SDKs (requirements.txt), and the pure-Python packages they need at run time (constraints.txt), urllib3,
# python-dateutil and six among them: the runtime has those for boto3, but as its own detail, not an interface.
CRM_SDKS = ("hubspot-api-client", "simple-salesforce")
CRM_PACKAGES = (
    *CRM_SDKS,
    "zeep",
    "attrs",
    "isodate",
    "more-itertools",
    "platformdirs",
    "pycparser",
    "PyJWT",
    "requests",
    "requests-file",
    "requests-toolbelt",
    "certifi",
    "idna",
    "urllib3",
    "python-dateutil",
    "six",
    "typing_extensions",
)
# What they need that holds compiled code: from wheels for the functions' platform. The Makefile's
# LAMBDA_WHEELS downloads these.
LAMBDA_WHEELS = ("cffi", "charset-normalizer", "cryptography", "lxml")
WHEEL_CACHE = REPO_ROOT / ".cache" / "lambda-wheels"

_COMPILED = {".so", ".pyd", ".dylib"}
# Installer records and local paths: nothing the packages read, and they differ from one machine to the next.
_UNSHIPPED_METADATA = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


class CompiledPackage(ValueError):
    pass


class MissingLambdaWheel(ValueError):
    pass


@jsii.implements(ILocalBundling)
class BundleLayer:
    """CDK local bundling: installed distributions copied, wheels unpacked, under `python/` as layers want them."""

    def __init__(self, distributions: Sequence[str], wheels: Sequence[Path]) -> None:
        self._distributions = tuple(distributions)
        self._wheels = tuple(wheels)

    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        target = Path(output_dir) / "python"
        for name in self._distributions:
            copy_distribution(name, target)
        for wheel in self._wheels:
            unpack_wheel(wheel, target)
        return True


def _shipped(parts: tuple[str, ...]) -> bool:
    if parts[0] == ".." or "__pycache__" in parts:
        return False
    if parts[0].endswith(".egg-info"):
        return False
    return not (parts[0].endswith(".dist-info") and parts[-1] in _UNSHIPPED_METADATA)


def copy_distribution(name: str, target: Path) -> list[Path]:
    """Copy the importable files of an installed distribution and its `.dist-info` metadata (not its scripts nor
    installer records) into `target`."""
    distribution = metadata.distribution(name)
    copied = []
    for file in distribution.files or ():
        if not _shipped(file.parts):
            continue
        if file.suffix in _COMPILED:
            raise CompiledPackage(f"{name} holds compiled code ({file}); it cannot be copied into a layer for arm64")
        source = Path(str(file.locate()))
        destination = target / file
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
        copied.append(destination)
    if not any(not path.relative_to(target).parts[0].endswith(".dist-info") for path in copied):
        raise ValueError(f"{name} is installed with no files to copy")
    return copied


@cache
def lambda_tags() -> frozenset[Tag]:
    """The wheel tags the functions' runtime loads: CPython 3.14 (its ABI, abi3 or none), manylinux up to glibc
    2.34 on the functions' machine, or pure Python."""
    python = tuple(int(part) for part in RUNTIME.name.removeprefix("python").split("."))
    machine = _MACHINES[ARCHITECTURE.name]
    platforms = [f"manylinux_2_{minor}_{machine}" for minor in range(_GLIBC_MINOR, 16, -1)]
    platforms.append(f"manylinux2014_{machine}")
    interpreter = f"cp{python[0]}{python[1]}"
    return frozenset(
        [
            *cpython_tags(python, abis=[interpreter], platforms=platforms),
            *compatible_tags(python, interpreter=interpreter, platforms=platforms),
        ]
    )


def find_lambda_wheel(name: str, directory: Path = WHEEL_CACHE) -> Path:
    """The wheel in `directory` of the version of `name` installed here, built for the functions' platform."""
    version = Version(metadata.version(name))
    for wheel in sorted(directory.glob("*.whl")):
        wheel_name, wheel_version, _, tags = parse_wheel_filename(wheel.name)
        if wheel_name == canonicalize_name(name) and wheel_version == version and tags & lambda_tags():
            return wheel
    where = directory.relative_to(REPO_ROOT) if directory.is_relative_to(REPO_ROOT) else directory
    raise MissingLambdaWheel(
        f"no {name} {version} wheel for Lambda ({RUNTIME.name}, {ARCHITECTURE.name}) in {where}/: "
        "run `make lambda-wheels`"
    )


def unpack_wheel(wheel: Path, target: Path) -> list[Path]:
    """Unpack a wheel's importable files and its `.dist-info` metadata into `target`, as pip would install them."""
    unpacked = []
    with zipfile.ZipFile(wheel) as archive:
        for entry in archive.infolist():
            path = PurePosixPath(entry.filename)
            if entry.is_dir() or path.is_absolute() or ".." in path.parts:
                continue
            if path.parts[0].endswith(".data"):
                # purelib and platlib install beside the packages; scripts, headers and data are not imported
                if len(path.parts) < 3 or path.parts[1] not in {"purelib", "platlib"}:
                    continue
                path = PurePosixPath(*path.parts[2:])
            if not _shipped(path.parts):
                continue
            destination = target.joinpath(*path.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(entry) as source, destination.open("wb") as sink:
                shutil.copyfileobj(source, sink)
            unpacked.append(destination)
    return unpacked


def dependencies_layer(scope: Construct, construct_id: str, *, wheel_cache: Path = WHEEL_CACHE) -> lambda_.LayerVersion:
    source = Path(__file__).resolve().parent / "dependencies_layer"
    # Found before the asset is staged, so a missing wheel stops synth with its one-line message (app.py).
    wheels = [find_lambda_wheel(name, wheel_cache) for name in LAMBDA_WHEELS]
    return lambda_.LayerVersion(
        scope,
        construct_id,
        description=(
            f"Dependencies of RevOps Hub functions: {', '.join((*BUNDLED_PACKAGES, *CRM_SDKS))}, with what they "
            f"need (compiled ones built for Lambda {ARCHITECTURE.name})"
        ),
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[ARCHITECTURE],
        code=lambda_.Code.from_asset(
            str(source),
            # the output, not the source directory, says what the layer holds: a new version is a new asset
            asset_hash_type=AssetHashType.OUTPUT,
            bundling=BundlingOptions(
                image=DockerImage.from_registry("scratch"),  # never pulled: local bundling always succeeds
                local=BundleLayer((*BUNDLED_PACKAGES, *CRM_PACKAGES), wheels),
            ),
        ),
    )
