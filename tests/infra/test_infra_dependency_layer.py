"""The dependencies layer carries the CRM SDKs with all they need, compiled code only as built for the functions'
platform (from the wheels `make` downloads), and synth stays offline: a missing wheel stops it, naming the fix."""

from __future__ import annotations

import json
import re
import struct
import sysconfig
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk import App, Stack
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from infra.config import REPO_ROOT
from infra.dependencies import (
    ARCHITECTURE,
    BUNDLED_PACKAGES,
    CRM_PACKAGES,
    CRM_SDKS,
    LAMBDA_WHEELS,
    RUNTIME,
    CompiledPackage,
    MissingLambdaWheel,
    copy_distribution,
    dependencies_layer,
    find_lambda_wheel,
)

if TYPE_CHECKING:
    from tests.infra.conftest import Synth

ELF_MAGIC = b"\x7fELF"
ELF_MACHINES = {"arm64": 183, "x86_64": 62}  # e_machine: EM_AARCH64, EM_X86_64
# What the Lambda runtime (boto3) and the Powertools layer (Powertools, pydantic) already provide.
PROVIDED = {"boto3", "botocore", "jmespath", "s3transfer", "aws-lambda-powertools", "pydantic", "pydantic-core"}


def _layer(synth: Synth) -> tuple[dict[str, Any], Path]:
    [layer] = synth.template.find_resources("AWS::Lambda::LayerVersion").values()
    asset_hash = layer["Properties"]["Content"]["S3Key"].removesuffix(".zip")
    manifest = json.loads((synth.assembly_dir / f"{synth.stack.artifact_id}.assets.json").read_text())
    return layer["Properties"], synth.assembly_dir / manifest["files"][asset_hash]["source"]["path"]


def _elf_machine(path: Path) -> int | None:
    with path.open("rb") as file:
        header = file.read(20)
    if not header.startswith(ELF_MAGIC):
        return None
    byte_order = "<" if header[5] == 1 else ">"
    machine: int = struct.unpack(f"{byte_order}H", header[18:20])[0]
    return machine


def _lambda_environment() -> dict[str, str]:
    """Marker values on Lambda (Marker.evaluate takes the rest from this interpreter)."""
    python = RUNTIME.name.removeprefix("python")
    return {
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "python_version": python,
        "python_full_version": f"{python}.0",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": {"arm64": "aarch64"}.get(ARCHITECTURE.name, ARCHITECTURE.name),
    }


def test_the_layer_carries_the_crm_sdks_at_the_versions_installed_here(dev: Synth) -> None:
    # Given the dependencies layer's asset as the cloud assembly stages it
    _, staged = _layer(dev)
    python = staged / "python"
    # Then the CRM SDKs and what they import are there as packages
    for package in ("hubspot", "simple_salesforce", "zeep", "lxml", "requests", "jwt", "cryptography"):
        assert (python / package / "__init__.py").is_file(), package
    assert list((python / "lxml").glob("etree.*.so"))
    # And each distribution's metadata (hubspot reads its own version from it) says the version the tests ran with
    shipped = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions(path=[str(python)])}
    expected = {
        canonicalize_name(name): metadata.version(name) for name in (*BUNDLED_PACKAGES, *CRM_PACKAGES, *LAMBDA_WHEELS)
    }
    assert shipped == expected
    # And no installer record, nor anything compiled by Python on this machine
    files = [path.relative_to(python) for path in python.rglob("*") if path.is_file()]
    assert not [path for path in files if path.name in {"RECORD", "direct_url.json"} or path.suffix == ".pyc"]


def test_compiled_code_in_the_layer_is_built_for_the_functions_platform(dev: Synth) -> None:
    # Given every ELF file in the layer (extension modules and the libraries vendored beside them)
    properties, staged = _layer(dev)
    [architecture] = properties["CompatibleArchitectures"]
    elf = {path.relative_to(staged): _elf_machine(path) for path in staged.rglob("*") if path.is_file()}
    elf = {path: machine for path, machine in elf.items() if machine is not None}
    # Then lxml, cryptography, cffi and charset-normalizer are among them, all built for the functions' machine
    compiled_packages = {path.parts[1].split(".")[0] for path in elf}
    assert {"lxml", "cryptography", "_cffi_backend", "charset_normalizer"} <= compiled_packages
    assert set(elf.values()) == {ELF_MACHINES[architecture]}
    # And every extension module is for the runtime's CPython (or its stable ABI), none for this machine's
    python = RUNTIME.name.removeprefix("python").replace(".", "")
    here = sysconfig.get_config_var("EXT_SUFFIX")
    modules = [path.name for path in elf if path.suffix == ".so"]
    assert not [name for name in modules if name.endswith(here)]
    assert all(re.search(rf"\.(cpython-{python}-aarch64-linux-gnu|abi3)\.so$", name) for name in modules), modules
    # And the wheels they came from say so too
    lxml_wheel = next((staged / "python").glob("lxml-*.dist-info")) / "WHEEL"
    tags = [line.split(": ")[1] for line in lxml_wheel.read_text().splitlines() if line.startswith("Tag: ")]
    assert tags
    assert all(tag.startswith(f"cp{python}-cp{python}-manylinux") and tag.endswith("_aarch64") for tag in tags)


def test_the_functions_run_where_the_layer_is_built_for(dev: Synth) -> None:
    properties, _ = _layer(dev)
    assert properties["CompatibleRuntimes"] == [RUNTIME.name]
    assert properties["CompatibleArchitectures"] == [ARCHITECTURE.name]
    for function in dev.template.find_resources("AWS::Lambda::Function").values():
        assert function["Properties"]["Runtime"] == RUNTIME.name
        assert function["Properties"]["Architectures"] == [ARCHITECTURE.name]


def test_the_layer_holds_everything_the_packages_need_on_lambda_and_nothing_more() -> None:
    # Given the installed metadata, read with Lambda's environment markers (extras followed, as pyjwt[crypto])
    environment = _lambda_environment()
    needed: set[str] = set()
    seen: set[tuple[str, frozenset[str]]] = set()
    pending = [Requirement(name) for name in (*BUNDLED_PACKAGES, *CRM_SDKS)]
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in PROVIDED or (name, frozenset(requirement.extras)) in seen:
            continue
        seen.add((name, frozenset(requirement.extras)))
        needed.add(name)
        for line in metadata.requires(name) or ():
            dependency = Requirement(line)
            extras = requirement.extras or {""}
            if dependency.marker is None or any(
                dependency.marker.evaluate(environment | {"extra": extra}) for extra in extras
            ):
                pending.append(dependency)
    # Then the layer bundles exactly that: the closure, less what the runtime and the Powertools layer carry
    bundled = [canonicalize_name(name) for name in (*BUNDLED_PACKAGES, *CRM_PACKAGES, *LAMBDA_WHEELS)]
    assert len(bundled) == len(set(bundled))
    assert set(bundled) == needed


def test_the_makefile_downloads_the_wheels_the_layer_unpacks() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    [names] = re.findall(r"^LAMBDA_WHEELS := (.*)$", makefile, re.MULTILINE)
    assert names.split() == list(LAMBDA_WHEELS)
    assert f"--python-version {RUNTIME.name.removeprefix('python')} " in makefile
    assert "_aarch64" in makefile
    assert ARCHITECTURE.name == "arm64"
    assert re.search(r"^\$\(STAMP\):.*\n(\t.*\n)*\t@\$\(LAMBDA_WHEELS_DOWNLOAD\)$", makefile, re.MULTILINE)


def test_a_missing_wheel_stops_synth_with_one_line_naming_the_make_target(tmp_path: Path) -> None:
    # Given an empty wheel cache
    stack = Stack(App(outdir=str(tmp_path / "out")), "Layer")
    # When the layer is built, Then it stops before staging anything, saying what to run
    with pytest.raises(MissingLambdaWheel) as raised:
        dependencies_layer(stack, "Dependencies", wheel_cache=tmp_path)
    message = str(raised.value)
    assert "\n" not in message
    assert "make lambda-wheels" in message
    assert isinstance(raised.value, ValueError)  # app.py prints it as one `error:` line


@pytest.mark.parametrize(
    "wheel",
    [
        "lxml-{version}-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",  # this machine's
        "lxml-{version}-cp313-cp313-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",  # another Python
        "lxml-{version}-cp314-cp314-manylinux_2_39_aarch64.whl",  # a newer glibc than Lambda's
        "lxml-{version}-cp314-cp314-musllinux_1_2_aarch64.whl",
        "lxml-0.0.1-cp314-cp314-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",  # not the version tested
    ],
)
def test_only_a_wheel_for_lambda_at_the_tested_version_is_taken(tmp_path: Path, wheel: str) -> None:
    (tmp_path / wheel.format(version=metadata.version("lxml"))).touch()
    with pytest.raises(MissingLambdaWheel, match="no lxml"):
        find_lambda_wheel("lxml", tmp_path)
    good = tmp_path / f"lxml-{metadata.version('lxml')}-cp314-cp314-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
    good.touch()
    assert find_lambda_wheel("lxml", tmp_path) == good


@pytest.mark.parametrize("name", LAMBDA_WHEELS)
def test_compiled_packages_installed_here_are_never_copied(tmp_path: Path, name: str) -> None:
    with pytest.raises(CompiledPackage, match="compiled code"):
        copy_distribution(name, tmp_path)
