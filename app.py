#!/usr/bin/env python3
"""CDK entry point. `npx cdk synth -c stage=prod` or `python app.py -c stage=prod` (writes ./cdk.out)."""

from __future__ import annotations

import os
import sys

from aws_cdk import App

from infra import build_app, context_from_argv
from infra.app import cdk_json_context
from infra.config import REPO_ROOT


def main() -> None:
    if "CDK_CONTEXT_JSON" in os.environ:
        # Run by the CDK CLI: it passes cdk.json and -c context itself, and sets CDK_OUTDIR.
        app = App()
    else:
        context = cdk_json_context() | context_from_argv(sys.argv[1:])
        app = App(context=context, outdir=os.environ.get("CDK_OUTDIR") or str(REPO_ROOT / "cdk.out"))
    try:
        build_app(app)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    app.synth()


if __name__ == "__main__":
    main()
