"""`plan --sample FILE`: what a plan's filter changes do to sample records — how many each mapping whose
FilterCriteria changes keeps before and after, and examples of the records it would start dropping."""

from __future__ import annotations

from typing import Any

from esmctl import model
from esmctl.filters import envelopes, samples
from esmctl.filters.engine import FilterSet, PatternError

EXAMPLES = 3


def _patterns(config: dict[str, Any] | None) -> list[Any] | None:
    """The patterns of a mapping's canonical FilterCriteria; None when they cannot be read (KMS)."""
    value = (config or {}).get("FilterCriteria")
    if model.is_unreadable(value):
        return None
    return [f.get("Pattern") for f in (value or {}).get("Filters") or [] if isinstance(f, dict)]


def lines(plan: Any, records: list[dict]) -> list[str]:
    """One line per mapping of the plan whose filters change (and whose kind of source the sample's records
    are of), then its examples of newly dropped records."""
    kinds = {k for k in map(envelopes.guess_kind, records) if k}
    out: list[str] = []
    for change in plan.changes:
        after = change.after
        if after is None or after.kind not in envelopes.ENVELOPES:
            continue
        before = change.before[0] if change.before else None
        old, new = (_patterns(before.config) if before else None), _patterns(after.config)
        if new is None or (before is not None and old == new):
            continue
        family = envelopes.KAFKA if after.kind == model.MSK else after.kind
        if kinds and family not in kinds:
            continue
        try:
            verdicts_after = list(FilterSet(new, after.kind).run(records))
            kept_after = [v.kept for v in verdicts_after]
            kept_before = [v.kept for v in FilterSet(old, after.kind).run(records)] if old is not None else None
        except PatternError as exc:
            out.append(f"{after.title()}: the filters cannot be tried on the sample: {exc}")
            continue
        n = len(records)
        if kept_before is None:
            what = "before: unknown (encrypted)" if before is not None else "as a new mapping"
            out.append(f"{after.title()}: keeps {sum(kept_after)} of {n} sample records ({what})")
        else:
            out.append(f"{after.title()}: keeps {sum(kept_before)} of {n} sample records before, "
                       f"{sum(kept_after)} after")
        lost = [i for i in range(n) if not kept_after[i] and (kept_before is None or kept_before[i])]
        for i in lost[:EXAMPLES]:
            name = samples.record_name(records[i])
            out.append(f"    dropped: record {i}{f' ({name})' if name else ''}: {verdicts_after[i].reason}")
        if len(lost) > EXAMPLES:
            out.append(f"    ... and {len(lost) - EXAMPLES} more dropped")
    return out
