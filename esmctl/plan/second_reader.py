"""A second reader: a new mapping of a function on a stream that another alias or version of the function reads
already. Every record would be processed twice, so the plan refuses it and says how to switch (`MovedFrom`: the
mapping moves in place and keeps its position) or keep both (list the other one in the spec too).
"""

from __future__ import annotations

from esmctl import kinds
from esmctl.errors import Problem
from esmctl.mapping import identity
from esmctl.mapping.compare import Mapping
from esmctl.plan.known import Known


def second_reader(d: Mapping, known: Known, taken: set[str]) -> Problem | None:
    """The problem with a new mapping `d` of a stream that another alias or version of its function (or the
    function unqualified) reads already, where the spec accounts for that mapping nowhere (`taken`: the UUIDs
    it does); None when there is none."""
    readers = _other_qualifiers(d, known, taken)
    if not readers:
        return None
    what = ", ".join(f"{m.uuid} ({identity.short_arn(m.key.function)})" for m in readers)
    old = identity.short_arn(readers[0].key.function)
    return Problem(
        d.where, "FunctionName",
        f"{identity.short_arn(d.key.function)} would read {identity.short_arn(d.source_arn or d.key.source)}, which "
        f"{what} reads already: every record would be processed twice. To switch, add `MovedFrom: {old}` "
        f"(the mapping moves in place and keeps its position); to keep both, list {old}'s mapping in the spec "
        "too", code="second-reader")


def _other_qualifiers(d: Mapping, known: Known, taken: set[str]) -> list[Mapping]:
    """Live mappings of d's function under another alias or version (or none) reading d's stream, that the
    spec accounts for nowhere: a second mapping would have every record processed twice."""
    if d.kind not in kinds.STREAM_TYPES:
        return []
    here = identity.slot(d.key, d.kind)
    return [m for m in known.of_function(d.key.function)
            if m.key.function != d.key.function and m.uuid not in taken
            and (s := identity.slot(m.key, m.kind)) is not None and here is not None and s[1] == here[1]]
