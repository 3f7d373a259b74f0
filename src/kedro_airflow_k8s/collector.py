"""Python's cycle collector, paused while compile builds many small objects.

A full pass of the collector scans the whole heap, and after Kedro has loaded a large project
the heap is large: each pass triggered by the allocations of reading the catalog, planning or
rendering costs more the larger the pipeline, so those steps would grow faster than the
pipeline. They allocate no reference cycles worth collecting, so the collector is paused for
them and runs again afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cycle collector inside the block (and restore it as it was)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
