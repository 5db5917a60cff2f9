"""Each function imported with its own environment only, as Lambda starts it.

Locally every function shares one process. Were the environment the union of all functions' variables, a
function whose catalog entry lacks a table, secret or bus it reads would find the variable anyway and pass
every local tier, then fail on its first cold start in AWS. So each handler module is imported (its cold
start, when it reads its environment: `shared.function_environment`) with the process's common variables
(region, endpoint, credentials, log level) plus exactly what `Catalog.environment` gives that function, and
the function-specific variables are gone again once it is imported.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType

from shared.catalog import Catalog, Function


@contextmanager
def own_environment(
    catalog: Catalog, function: Function, stage: str, queue_urls: Mapping[str, str] | None = None
) -> Iterator[None]:
    """Within: the common environment plus `function`'s own variables, and no other function's. `queue_urls` are
    the provisioned work queues' URLs (name -> URL), which the functions sending to them are given."""
    everyones = {name for fn in catalog.functions for name in catalog.environment(fn, stage)}
    saved = dict(os.environ)
    for name in everyones:
        os.environ.pop(name, None)
    os.environ.update(catalog.environment(function, stage, queue_urls))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update({name: value for name, value in saved.items() if name not in everyones})


def import_handler(
    catalog: Catalog, function: Function, stage: str, queue_urls: Mapping[str, str] | None = None
) -> ModuleType:
    """The function's handler module, imported (its cold start) with only its own environment."""
    with own_environment(catalog, function, stage, queue_urls):
        return importlib.import_module(function.module)
