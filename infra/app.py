"""Builds the CDK app for one stage, with cdk-nag's AwsSolutions and Serverless packs as aspects."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aws_cdk import App, Aspects
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from infra.config import REPO_ROOT, stage_config
from infra.stack import StageStacks, stage_stacks
from shared.catalog import CATALOG, Catalog


def add_checks(app: App) -> None:
    """Nag findings become error/warning annotations on the resources of every stack, so `cdk synth` prints
    them and the infra tests assert there are none."""
    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    Aspects.of(app).add(ServerlessChecks(verbose=True))


def build_app(app: App, *, catalog: Catalog = CATALOG) -> StageStacks:
    """The stacks of the stage named by the `stage` context (cdk.json defaults it to dev)."""
    stage = app.node.try_get_context("stage")
    stage_config(stage)  # fail before any construct exists when the stage is unknown
    stacks = stage_stacks(app, stage, catalog=catalog)
    add_checks(app)
    return stacks


def cdk_json_context() -> dict[str, Any]:
    """cdk.json's context (stage default and feature flags), for runs that do not go through the CLI."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return context


def context_from_argv(argv: Sequence[str]) -> dict[str, str]:
    """`-c key=value` / `--context key=value` pairs, so `python app.py -c stage=prod` works like the CLI."""
    context: dict[str, str] = {}
    args = iter(argv)
    for arg in args:
        if arg in ("-c", "--context"):
            key, sep, value = next(args, "").partition("=")
            if not sep:
                raise SystemExit(f"{arg} expects key=value")
            context[key] = value
    return context
