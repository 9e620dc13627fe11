"""Python's cycle collector, paused while esmctl builds many objects that hold no cycles.

Reading a spec of thousands of mappings, parsing a listing's pages and comparing them, or judging 100,000
records allocate hundreds of thousands of acyclic containers that live until the step ends. The collector runs
each time 700 more have been made, and its passes walk the ones still alive: they found nothing, and took a
quarter to two thirds of those steps. Reference counting frees everything as before; the collector is back on
(and catches up) once the step is over.
"""

from __future__ import annotations

import atexit
import functools
import gc
from collections.abc import Iterator
from contextlib import contextmanager


@functools.cache
def skip_the_last_collection() -> None:
    """What a command read and keeps to the end (botocore's models, moto's in the sandbox: tens of thousands of
    objects) would be walked by the interpreter's last garbage collection (~55 ms of a command, ~0.5 s of the
    sandbox). Frozen at exit, they are left to the operating system, which frees the process's memory anyway."""
    atexit.register(gc.freeze)


@contextmanager
def paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
