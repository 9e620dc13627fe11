"""Python's cycle collector, paused while esmctl builds many objects that hold no cycles.

Reading a spec of thousands of mappings, parsing a listing's pages and comparing them, or judging 100,000
records allocate hundreds of thousands of acyclic containers that live until the step ends. The collector runs
each time 700 more have been made, and its passes walk the ones still alive: they found nothing, and took a
quarter to two thirds of those steps. Reference counting frees everything as before; the collector is back on
(and catches up) once the step is over.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
