"""A function's start-up with Python's cycle collector paused.

A cold start allocates hundreds of thousands of objects that live as long as the process (botocore's service
models, every module's code and classes). The collector, counting those allocations, runs a full collection
over them several times during start-up and finds nothing to free: on the webhook functions that is a
quarter of the cold import (`make bench`). Pausing it for the start-up, then freezing what the start-up built
(`gc.freeze`: moved out of the collector's sight for good), saves that time and makes every later collection,
in the requests, cheaper too. Only long-lived objects are built here, so nothing is kept that would have been
freed. Cycle collection resumes as normal for the requests.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
