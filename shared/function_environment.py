"""What a function is told through its environment, read back by the names the catalog gives them.

`Catalog.environment` says what each function's environment holds (its stage, the physical names of its
tables, secrets and bus); here a handler reads exactly its own entries, found by its module, at cold start.
A variable missing fails the import with a message naming it, so a misconfigured function fails on its
first invocation, and locally the same way as in AWS (the local runtime gives each function only its own
environment). Plain data and `os.environ`: the webhook receiver imports this, so no pydantic.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from shared.catalog import CATALOG
from shared.catalog.model import (
    BUS_VARIABLE,
    FIFO_SUFFIX,
    STAGE_VARIABLE,
    TIMER_FUNCTION_VARIABLE,
    TIMER_GROUP_VARIABLE,
    TIMER_ROLE_VARIABLE,
    Catalog,
    Function,
    WorkQueue,
    env_key,
)


class MisconfiguredFunction(RuntimeError):
    pass


@dataclass(frozen=True)
class TimerTarget:
    """Where a function's one-time timers go: the Scheduler group, the function they invoke, the role they
    invoke it with (names; the adapter makes the ARNs with the account it runs in)."""

    function_name: str
    group: str
    role_name: str


@dataclass(frozen=True)
class FunctionEnvironment:
    function: Function
    values: Mapping[str, str]

    @property
    def stage(self) -> str:
        return self.values[STAGE_VARIABLE]

    def table(self, name: str) -> str:
        """The physical name of one of the function's tables."""
        return self._resource("table", name, self.function.tables)

    def secret(self, name: str) -> str:
        return self._resource("secret", name, self.function.secrets)

    def queue_url(self, name: str) -> str:
        """The URL of a work queue the function sends to."""
        if name not in self.function.sends_to:
            raise KeyError(f"the catalog gives {self.function.name} no work queue {name!r} to send to")
        return self.values[WorkQueue(name, "", fifo=name.endswith(FIFO_SUFFIX)).url_variable]

    @property
    def bus_name(self) -> str:
        if not self.function.publishes_events:
            raise KeyError(f"{self.function.name} does not publish events; the catalog gives it no bus")
        return self.values[BUS_VARIABLE]

    @property
    def timers(self) -> TimerTarget:
        if self.function.sets_timers_for is None:
            raise KeyError(f"{self.function.name} sets no timers; the catalog gives it no timer group")
        return TimerTarget(
            function_name=self.values[TIMER_FUNCTION_VARIABLE],
            group=self.values[TIMER_GROUP_VARIABLE],
            role_name=self.values[TIMER_ROLE_VARIABLE],
        )

    def _resource(self, kind: str, name: str, granted: Mapping[str, object] | tuple[str, ...]) -> str:
        if name not in granted:
            raise KeyError(f"the catalog gives {self.function.name} no {kind} {name!r}")
        return self.values[env_key(kind, name)]


def environment_of(module: str, catalog: Catalog = CATALOG) -> FunctionEnvironment:
    """The environment of the function whose handler is `module` (pass `__name__`)."""
    function = catalog.function_of_module(module)
    expected = catalog.environment(function, stage="-")  # only its keys matter here
    missing = sorted(name for name in expected if not os.environ.get(name))
    if missing:
        raise MisconfiguredFunction(f"{function.name}: environment is missing {', '.join(missing)}")
    return FunctionEnvironment(function, {name: os.environ[name] for name in expected})
