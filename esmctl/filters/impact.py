"""`plan --sample FILE`: what a plan's filter changes do to sample records — how many each mapping whose
FilterCriteria changes keeps before and after, and examples of the records it would start dropping."""

from __future__ import annotations

from typing import Any

from esmctl.filters import envelopes, samples
from esmctl.filters.engine import FilterSet, PatternError
from esmctl.kinds import MSK
from esmctl.mapping import compare, values

EXAMPLES = 3


def _changed(plan: Any) -> list[tuple[Any, list | None, list]]:
    """(change, patterns before (None: unknown or none before), patterns after) of each change of the plan that
    sets new filters on a mapping of a source with filters."""
    out = []
    for change in plan.changes:
        after = change.after
        if after is None or after.kind not in envelopes.ENVELOPES:
            continue
        before = change.before[0] if change.before else None
        old, new = (compare.patterns_sent(before) if before else None), compare.patterns_sent(after)
        if new is None or (before is not None and old is not None and compare.written_alike(before, after)
                           and values.same_json(before.config.get("FilterCriteria"),
                                                after.config.get("FilterCriteria"))):
            continue
        out.append((change, old, new))
    return out


def lines(plan: Any, records: list[dict]) -> list[str]:
    """One line per mapping of the plan whose filters change (and whose kind of source the sample's records
    are of), then its examples of newly dropped records."""
    guessed = [envelopes.guess_kind(r) for r in records]
    kinds = {k for k in guessed if k}
    out: list[str] = []
    for change, old, new in _changed(plan):
        family = envelopes.KAFKA if change.after.kind == MSK else change.after.kind
        if not kinds or family in kinds:  # each mapping tried on the records of its kind (and those of no telling)
            mine = [i for i, k in enumerate(guessed) if k is None or k == family]
            out += _change_lines(change, old, new, [records[i] for i in mine], numbers=mine)
    return out


def lines_from_sources(aws: Any, plan: Any, limit: int) -> list[str]:
    """The same, each mapping tried on the newest `limit` records of its own source (streams only: a queue
    cannot be read without side effects)."""
    from esmctl.filters.streams import Unreadable, newest_records

    out: list[str] = []
    read: dict[str, list[dict]] = {}
    for change, old, new in _changed(plan):
        source = change.after.source_arn or ""
        if source not in read:
            try:
                read[source] = newest_records(aws, source, limit)[1]
            except Unreadable:
                out.append(f"{change.after.title()}: not sampled: its source cannot be read without side effects "
                           "(give --sample FILE)")
                continue
        out += _change_lines(change, old, new, read[source], "of its source's newest")
    return out


def _change_lines(change: Any, old: list | None, new: list, records: list[dict], what: str = "sample",
                  numbers: list[int] | None = None) -> list[str]:
    """`numbers`: each record's number in the sample (its place among them all), where `records` are some of them."""
    after, before = change.after, (change.before[0] if change.before else None)
    try:
        verdicts_after = list(FilterSet(new, after.kind).run(records))
        kept_after = [v.kept for v in verdicts_after]
        kept_before = [v.kept for v in FilterSet(old, after.kind).run(records)] if old is not None else None
    except PatternError as exc:
        return [f"{after.title()}: the filters cannot be tried on the records: {exc}"]
    n = len(records)
    if kept_before is None:
        how = "before: unknown (encrypted)" if before is not None else "as a new mapping"
        out = [f"{after.title()}: keeps {sum(kept_after)} of {n} {what} records ({how})"]
    else:
        out = [f"{after.title()}: keeps {sum(kept_before)} of {n} {what} records before, {sum(kept_after)} after"]
    lost = [i for i in range(n) if not kept_after[i] and (kept_before is None or kept_before[i])]
    for i in lost[:EXAMPLES]:
        name = samples.record_name(records[i])
        number = numbers[i] if numbers is not None else i
        out.append(f"    dropped: record {number}{f' ({name})' if name else ''}: {verdicts_after[i].reason}")
    if len(lost) > EXAMPLES:
        out.append(f"    ... and {len(lost) - EXAMPLES} more dropped")
    return out
